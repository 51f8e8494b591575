//! Owns the reading of values below the query's structure: MBQL clause trees (filters,
//! aggregations, join conditions, parameter targets), where a `metric` clause names a saved
//! question, and free values (metadata, parameter values, options maps), where a key that carries
//! a query would let a query hide from the inspector, so it is denied.

use serde_json::Value;

use super::walk::{At, as_integer, loosely_normalise};
use super::{InspectError, QueryFacts};

/// How a value below the query's structure is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reading {
    /// An MBQL clause tree: arrays headed by `metric` are saved-question references.
    Clause,
    /// Data (metadata, parameter values, options): only checked for query-bearing keys.
    Free,
}

/// Keys that carry (part of) a query; none belongs in a clause, an options map or metadata.
const QUERY_BEARING_KEYS: [&str; 9] =
    ["source-query", "source-table", "source-card", "stages", "native", "query", "joins", "database", "template-tags"];

/// `lib/type` values that mark a query, a stage or a join.
const QUERY_LIB_TYPES: [&str; 4] = ["mbql/query", "mbql.stage/mbql", "mbql.stage/native", "mbql/join"];

/// Walks a clause tree or a free value, recording metric references and denying query-bearing keys.
pub(super) fn walk(value: &Value, at: &At, reading: Reading, facts: &mut QueryFacts) -> Result<(), InspectError> {
    match value {
        Value::Array(items) => {
            if reading == Reading::Clause {
                metric(items, at, facts)?;
            }
            for (index, item) in items.iter().enumerate() {
                if is_container(item) {
                    walk(item, &at.index(index)?, reading, facts)?;
                }
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if is_query_bearing(key, item) {
                    return Err(at.deny_key(key));
                }
                if is_container(item) {
                    walk(item, &at.named(key)?, reading, facts)?;
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
    Ok(())
}

/// Returns whether a key (with its value) carries a query: one of [`QUERY_BEARING_KEYS`], a
/// `type` of `native`, or a `lib/type` of a query, stage or join.
pub(super) fn is_query_bearing(key: &str, value: &Value) -> bool {
    let name = loosely_normalise(key);
    if QUERY_BEARING_KEYS.contains(&name.as_str()) {
        return true;
    }
    let Some(keyword) = value.as_str().map(loosely_normalise) else { return false };
    match name.as_str() {
        "type" => keyword == "native",
        "lib/type" => QUERY_LIB_TYPES.contains(&keyword.as_str()),
        _ => false,
    }
}

fn is_container(value: &Value) -> bool {
    matches!(value, Value::Array(_) | Value::Object(_))
}

/// Records `["metric", N]` (MBQL 4) or `["metric", {options}, N]` (MBQL 5): metrics are saved
/// questions since Metabase 0.50. A metric clause without an integer id is denied.
fn metric(items: &[Value], at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let Some(head) = items.first().and_then(Value::as_str) else { return Ok(()) };
    if loosely_normalise(head) != "metric" {
        return Ok(());
    }
    let id = items.iter().skip(1).find(|item| !item.is_object()).and_then(as_integer);
    match id {
        Some(card) => {
            facts.cards.insert(card);
            Ok(())
        }
        None => Err(at.deny("has a metric clause without an integer id")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn clause(value: Value) -> Result<QueryFacts, InspectError> {
        let mut facts = QueryFacts::default();
        walk(&value, &At::root(), Reading::Clause, &mut facts).map(|()| facts)
    }

    #[test]
    fn metric_clauses_in_both_dialects_name_cards() {
        let facts = clause(json!([["metric", 5], ["sum", ["METRIC", {"lib/uuid": "u"}, 12.0]]])).unwrap();
        assert_eq!(facts.cards.into_iter().collect::<Vec<_>>(), [5, 12]);
    }

    #[test]
    fn a_metric_without_an_integer_id_is_denied() {
        for value in [json!(["metric", "ga:users"]), json!(["metric"]), json!(["metric", {}, 1.5])] {
            assert!(clause(value.clone()).is_err(), "{value}");
        }
    }

    #[test]
    fn query_bearing_keys_in_options_maps_are_denied_and_others_pass() {
        for value in [
            json!(["=", ["field", 1, {"Source_Query": {"native": "x"}}], 1]),
            json!(["field", {":native": "x"}, 1]),
            json!(["field", {"type": ":NATIVE"}, 1]),
            json!(["field", {"lib/type": "mbql.stage/native"}, 1]),
        ] {
            let error = clause(value.clone()).unwrap_err();
            assert!(error.message.ends_with("is not understood"), "{value}: {}", error.message);
        }
        let facts = clause(json!(["field", {"lib/uuid": "u", "base-type": "type/Text", "type": "category"}, 1]));
        assert_eq!(facts, Ok(QueryFacts::default()));
    }
}
