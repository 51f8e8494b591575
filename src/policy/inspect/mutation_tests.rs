//! A seeded random-mutation test of [`inspect`]: it builds queries in both dialects with native
//! parts at random depths (source queries, joins, stages), scrambles key and keyword casing, and
//! corrupts them; whenever a native part is present anywhere, the inspector must report native
//! SQL or deny the query, never call it MBQL.

use serde_json::{Map, Value, json};

use super::clauses::is_query_bearing;
use super::walk::loosely_normalise;
use super::*;

/// A xorshift64 generator: enough randomness for a reproducible test, with no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).expect("below a usize bound")
    }

    fn one_in(&mut self, chance: usize) -> bool {
        self.below(chance) == 0
    }
}

const SQL: &str = "SELECT secret FROM t";

fn native_source() -> Value {
    json!({"native": SQL, "template-tags": {"x": {"type": "text", "name": "x"}}})
}

fn native_stage() -> Value {
    json!({"lib/type": "mbql.stage/native", "native": SQL})
}

fn condition() -> Value {
    json!(["=", ["field", 1, null], ["field", 2, {"join-alias": "j"}]])
}

/// Builds a legacy inner query whose sources nest further queries, some native, at random depths.
fn legacy_inner(rng: &mut XorShift, depth: usize) -> Value {
    let mut query = Map::new();
    let (key, source) = match if depth > 5 { 0 } else { rng.below(4) } {
        0 => ("source-table", json!(2)),
        1 => ("source-table", json!("card__9")),
        2 => ("source-query", legacy_inner(rng, depth + 1)),
        _ => ("source-query", native_source()),
    };
    query.insert(key.to_owned(), source);
    if depth <= 5 && rng.one_in(3) {
        let join_source = if rng.one_in(2) { native_source() } else { legacy_inner(rng, depth + 1) };
        query
            .insert("joins".to_owned(), json!([{"source-query": join_source, "alias": "j", "condition": condition()}]));
    }
    if rng.one_in(2) {
        query.insert("filter".to_owned(), json!(["=", ["field", 3, null], 1]));
    }
    Value::Object(query)
}

/// Builds MBQL 5 stages with native stages and joins at random depths.
fn random_stages(rng: &mut XorShift, depth: usize) -> Value {
    let mut stages = Vec::new();
    for index in 0..=rng.below(3) {
        if depth <= 4 && rng.one_in(4) {
            stages.push(native_stage());
            continue;
        }
        let mut stage = json!({"lib/type": "mbql.stage/mbql", "filters": [["=", {}, ["field", {}, 3], 1]]});
        if index == 0 {
            let source = if rng.one_in(2) { ("source-table", json!(2)) } else { ("source-card", json!(9)) };
            stage[source.0] = source.1;
        }
        if depth <= 4 && rng.one_in(3) {
            stage["joins"] = json!([{"lib/type": "mbql/join", "stages": random_stages(rng, depth + 1), "alias": "j"}]);
        }
        stages.push(stage);
    }
    Value::Array(stages)
}

fn random_query(rng: &mut XorShift) -> Value {
    match rng.below(4) {
        0 => json!({"database": 1, "type": "query", "query": legacy_inner(rng, 0)}),
        1 => json!({"database": 1.0, "type": "native", "native": {"query": SQL, "template-tags": {}}}),
        2 => json!({"lib/type": "mbql/query", "database": 1, "stages": random_stages(rng, 0)}),
        _ => json!({"database": 1, "stages": [native_stage()]}),
    }
}

/// Returns a spelling of a key or keyword that Metabase reads as the same name.
fn respell(rng: &mut XorShift, token: &str) -> String {
    match rng.below(5) {
        0 => token.to_uppercase().replace('-', "_"),
        1 => token.replace('-', "_"),
        2 => format!(":{token}"),
        3 => token.chars().enumerate().map(|(at, c)| if at % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect(),
        _ => token.to_owned(),
    }
}

/// Respells keys, and the values of `type` and `lib/type`, throughout a value.
fn scramble_casing(rng: &mut XorShift, value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(|item| scramble_casing(rng, item)).collect()),
        Value::Object(map) => {
            let mut scrambled = Map::new();
            for (key, item) in map {
                let item = match (loosely_normalise(&key).as_str(), item) {
                    ("type" | "lib/type", Value::String(keyword)) => Value::String(respell(rng, &keyword)),
                    (_, item) => scramble_casing(rng, item),
                };
                scrambled.insert(respell(rng, &key), item);
            }
            Value::Object(scrambled)
        }
        other => other,
    }
}

fn object_count(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(object_count).sum(),
        Value::Object(map) => 1 + map.values().map(object_count).sum::<usize>(),
        _ => 0,
    }
}

fn nth_object<'v>(value: &'v mut Value, nth: &mut usize) -> Option<&'v mut Map<String, Value>> {
    match value {
        Value::Array(items) => items.iter_mut().find_map(|item| nth_object(item, nth)),
        Value::Object(map) => {
            if *nth == 0 {
                return Some(map);
            }
            *nth -= 1;
            map.values_mut().find_map(|item| nth_object(item, nth))
        }
        _ => None,
    }
}

/// Corrupts one random object: a key removed, an unknown key, a native query hidden under a key
/// (structural or not), a second spelling of a key, or a value replaced by a native query.
fn corrupt(rng: &mut XorShift, query: &mut Value) {
    let mut nth = rng.below(object_count(query).max(1));
    let Some(object) = nth_object(query, &mut nth) else { return };
    let keys: Vec<String> = object.keys().cloned().collect();
    let some_key = (!keys.is_empty()).then(|| keys[rng.below(keys.len())].clone());
    match rng.below(5) {
        0 => {
            if let Some(key) = some_key {
                object.remove(&key);
            }
        }
        1 => {
            object.insert("foo".to_owned(), json!(1));
        }
        2 => {
            let hiding = ["source-query", "filter", "lib/options", "info", "source-metadata", "options", "x", "native"];
            let key = hiding[rng.below(hiding.len())];
            let hidden =
                if rng.one_in(2) { native_source() } else { json!(["=", {"source-query": native_source()}, 1]) };
            object.insert(respell(rng, key), hidden);
        }
        3 => {
            if let Some(key) = some_key {
                object.insert(
                    key.to_uppercase().replace('-', "_") + if rng.one_in(2) { "" } else { " " },
                    native_source(),
                );
            }
        }
        _ => {
            if let Some(key) = some_key {
                object.insert(key, if rng.one_in(2) { native_source() } else { native_stage() });
            }
        }
    }
}

/// The oracle: whether any object anywhere holds a native part, however it is spelt.
fn contains_native(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(contains_native),
        Value::Object(map) => map.iter().any(|(key, item)| {
            let name = loosely_normalise(key);
            let native_keyword = item.as_str().map(loosely_normalise);
            name == "native"
                || (name == "type" && native_keyword.as_deref() == Some("native"))
                || (name == "lib/type" && native_keyword.as_deref() == Some("mbql.stage/native"))
                || contains_native(item)
        }),
        _ => false,
    }
}

#[test]
fn native_parts_are_reported_or_denied_in_2000_mutated_queries() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut native_reported, mut mbql_reported, mut denied) = (0, 0, 0);
    for case in 0..2_000 {
        let mut query = random_query(&mut rng);
        assert!(inspect(&query).is_ok(), "case {case}: a generated query is valid: {query}");
        if rng.one_in(2) {
            query = scramble_casing(&mut rng, query);
        }
        for _ in 0..rng.below(3) {
            corrupt(&mut rng, &mut query);
        }
        let has_native = contains_native(&query);
        match inspect(&query) {
            Ok(facts) => {
                assert_eq!(facts.native, has_native, "case {case}: {query}");
                assert_eq!(facts.databases.iter().copied().collect::<Vec<_>>(), [1], "case {case}: {query}");
                if facts.native { native_reported += 1 } else { mbql_reported += 1 }
            }
            Err(error) => {
                assert!(!error.message.contains("secret"), "case {case}: {}", error.message);
                denied += 1;
            }
        }
    }
    // Each outcome must be common, or the test would pass without testing anything.
    assert!(native_reported > 300 && mbql_reported > 100 && denied > 300, "{native_reported} {mbql_reported} {denied}");
}

#[test]
fn the_oracle_sees_native_parts_however_they_are_spelt() {
    assert!(contains_native(&json!({"a": [{"SOURCE_QUERY": {":NATIVE": "x"}}]})));
    assert!(contains_native(&json!([{"lib/type": "MBQL.STAGE/NATIVE"}])));
    assert!(!contains_native(&json!({"type": "query", "query": {"source-table": 1}})));
    assert!(is_query_bearing(" ::Source_Query", &json!(1)));
}
