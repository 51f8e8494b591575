//! Converts between legacy MBQL 4 (`{"type": "query", "query": {...}}`) and MBQL 5
//! (`{"lib/type": "mbql/query", "stages": [...]}`). Metabase 0.57+ stores and returns MBQL 5 and
//! accepts both; `?legacy-mbql=true` asks for MBQL 4 back.

use serde_json::{Map, Value, json};

/// Clauses whose legacy form carries an options map as the last argument.
const TRAILING_OPTIONS: &[&str] = &["contains", "starts-with", "ends-with", "does-not-contain", "time-interval"];

/// Returns a query in MBQL 5, converting legacy queries; MBQL 5 input is returned as is.
pub fn to_mbql5(query: &Value) -> Result<Value, String> {
    if query.get("lib/type").and_then(Value::as_str) == Some("mbql/query") {
        return Ok(query.clone());
    }
    let database = query.get("database").cloned().unwrap_or(Value::Null);
    let stage = match query.get("type").and_then(Value::as_str) {
        Some("native") => {
            let native = query.get("native").cloned().unwrap_or_else(|| json!({}));
            let mut stage = Map::new();
            stage.insert("lib/type".into(), json!("mbql.stage/native"));
            stage.insert("native".into(), native.get("query").cloned().unwrap_or(Value::Null));
            stage.insert("template-tags".into(), native.get("template-tags").cloned().unwrap_or_else(|| json!({})));
            Value::Object(stage)
        }
        Some("query") => {
            let inner = query.get("query").unwrap_or(&Value::Null);
            if let Some(source) = inner.get("source-query").filter(|source| source.get("native").is_some()) {
                let mut native_stage = Map::new();
                native_stage.insert("lib/type".into(), json!("mbql.stage/native"));
                native_stage.insert("native".into(), source.get("native").cloned().unwrap_or(Value::Null));
                native_stage
                    .insert("template-tags".into(), source.get("template-tags").cloned().unwrap_or_else(|| json!({})));
                let mut outer = inner.as_object().cloned().unwrap_or_default();
                outer.remove("source-query");
                let outer = legacy_stage_to_mbql5(&Value::Object(outer))?;
                return Ok(
                    json!({"lib/type": "mbql/query", "database": database, "stages": [Value::Object(native_stage), outer]}),
                );
            }
            legacy_stage_to_mbql5(inner)?
        }
        Some(other) => return Err(format!("Invalid query type: {other}")),
        None => return Err("Invalid query: missing :type".into()),
    };
    Ok(json!({"lib/type": "mbql/query", "database": database, "stages": [stage]}))
}

fn legacy_stage_to_mbql5(inner: &Value) -> Result<Value, String> {
    let Some(inner) = inner.as_object() else {
        return Err("Invalid query: :query must be a map".into());
    };
    let mut stage = Map::new();
    stage.insert("lib/type".into(), json!("mbql.stage/mbql"));
    let mut counter = 0usize;
    let mut aggregation_uuids = Vec::new();
    for (key, value) in inner {
        match key.as_str() {
            "aggregation" => {
                let clauses = as_list(value)
                    .iter()
                    .map(|clause| {
                        let converted = clause_to_mbql5(clause, &mut counter, &[]);
                        aggregation_uuids.push(converted[1]["lib/uuid"].clone());
                        converted
                    })
                    .collect();
                stage.insert(key.clone(), Value::Array(clauses));
            }
            "filter" => {
                let filters = match value.as_array() {
                    Some(clause) if clause.first().and_then(Value::as_str) == Some("and") => clause[1..].to_vec(),
                    _ => vec![value.clone()],
                };
                let converted = filters.iter().map(|clause| clause_to_mbql5(clause, &mut counter, &[])).collect();
                stage.insert("filters".into(), Value::Array(converted));
            }
            "breakout" | "fields" | "order-by" => {
                stage.insert(key.clone(), json!(null));
            }
            _ => {
                stage.insert(key.clone(), value.clone());
            }
        }
    }
    for key in ["breakout", "fields", "order-by"] {
        if let Some(value) = inner.get(key) {
            let converted =
                as_list(value).iter().map(|clause| clause_to_mbql5(clause, &mut counter, &aggregation_uuids)).collect();
            stage.insert(key.into(), Value::Array(converted));
        }
    }
    Ok(Value::Object(stage))
}

fn as_list(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

fn is_clause(value: &Value) -> bool {
    value.as_array().and_then(|items| items.first()).is_some_and(Value::is_string)
}

fn clause_to_mbql5(clause: &Value, counter: &mut usize, aggregation_uuids: &[Value]) -> Value {
    let Some(items) = clause.as_array().filter(|_| is_clause(clause)) else {
        return clause.clone();
    };
    let operator = items[0].as_str().unwrap_or_default();
    *counter += 1;
    let mut options = Map::new();
    options.insert("lib/uuid".into(), json!(format!("00000000-0000-4000-8000-{:012}", counter)));
    let mut arguments: Vec<Value> = items[1..].to_vec();
    match operator {
        "field" => {
            let id_or_name = arguments.first().cloned().unwrap_or(Value::Null);
            if let Some(Value::Object(field_options)) = arguments.get(1) {
                options.extend(field_options.clone());
            }
            return json!(["field", options, id_or_name]);
        }
        "aggregation" => {
            let index = arguments.first().and_then(Value::as_u64).unwrap_or(0) as usize;
            let target = aggregation_uuids.get(index).cloned().unwrap_or_else(|| json!(index));
            return json!(["aggregation", options, target]);
        }
        "aggregation-options" => {
            let inner = arguments.first().cloned().unwrap_or(Value::Null);
            let mut converted = clause_to_mbql5(&inner, counter, aggregation_uuids);
            if let (Some(Value::Object(extra)), Some(target)) = (arguments.get(1), converted.get_mut(1)) {
                for (key, value) in extra {
                    target[key] = value.clone();
                }
            }
            return converted;
        }
        _ => {}
    }
    if TRAILING_OPTIONS.contains(&operator)
        && let Some(Value::Object(trailing)) = arguments.last()
    {
        options.extend(trailing.clone());
        arguments.pop();
    }
    let mut converted = vec![json!(operator), Value::Object(options)];
    converted.extend(arguments.iter().map(|argument| clause_to_mbql5(argument, counter, aggregation_uuids)));
    Value::Array(converted)
}

/// Returns a query in legacy MBQL 4, converting MBQL 5; legacy input is returned as is.
pub fn to_legacy(query: &Value) -> Value {
    let Some(stage) = query.get("stages").and_then(|stages| stages.get(0)) else {
        return query.clone();
    };
    let database = query.get("database").cloned().unwrap_or(Value::Null);
    if stage.get("lib/type").and_then(Value::as_str) == Some("mbql.stage/native") {
        let template_tags = stage.get("template-tags").cloned().unwrap_or_else(|| json!({}));
        return json!({
            "database": database,
            "type": "native",
            "native": {"query": stage.get("native").cloned().unwrap_or(Value::Null), "template-tags": template_tags}
        });
    }
    let aggregation_uuids: Vec<Value> = stage
        .get("aggregation")
        .map(as_list)
        .unwrap_or_default()
        .iter()
        .map(|clause| clause.get(1).and_then(|options| options.get("lib/uuid")).cloned().unwrap_or(Value::Null))
        .collect();
    let mut inner = Map::new();
    for (key, value) in stage.as_object().into_iter().flatten() {
        match key.as_str() {
            "lib/type" => {}
            "filters" => {
                let mut filters: Vec<Value> =
                    as_list(value).iter().map(|clause| clause_to_legacy(clause, &aggregation_uuids)).collect();
                let filter = if filters.len() == 1 {
                    filters.remove(0)
                } else {
                    let mut combined = vec![json!("and")];
                    combined.extend(filters);
                    Value::Array(combined)
                };
                inner.insert("filter".into(), filter);
            }
            "aggregation" | "breakout" | "fields" | "order-by" => {
                let converted =
                    as_list(value).iter().map(|clause| clause_to_legacy(clause, &aggregation_uuids)).collect();
                inner.insert(key.clone(), Value::Array(converted));
            }
            _ => {
                inner.insert(key.clone(), value.clone());
            }
        }
    }
    json!({"database": database, "type": "query", "query": inner})
}

fn clause_to_legacy(clause: &Value, aggregation_uuids: &[Value]) -> Value {
    let Some(items) = clause.as_array().filter(|items| is_clause(clause) && items.len() >= 2) else {
        return clause.clone();
    };
    let operator = items[0].as_str().unwrap_or_default();
    let mut options = items[1].as_object().cloned().unwrap_or_default();
    options.retain(|key, _| !key.starts_with("lib/") && key != "effective-type");
    let arguments = &items[2..];
    match operator {
        "field" => {
            let options = if options.is_empty() { Value::Null } else { Value::Object(options) };
            return json!(["field", arguments.first().cloned().unwrap_or(Value::Null), options]);
        }
        "aggregation" => {
            let target = arguments.first().cloned().unwrap_or(Value::Null);
            let index = aggregation_uuids.iter().position(|uuid| *uuid == target).unwrap_or(0);
            return json!(["aggregation", index]);
        }
        _ => {}
    }
    let mut converted = vec![json!(operator)];
    converted.extend(arguments.iter().map(|argument| clause_to_legacy(argument, aggregation_uuids)));
    if TRAILING_OPTIONS.contains(&operator) && !options.is_empty() {
        converted.push(Value::Object(options));
    }
    Value::Array(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_query_round_trips_through_mbql5() {
        let legacy = json!({
            "database": 1,
            "type": "query",
            "query": {
                "source-table": 2,
                "aggregation": [["sum", ["field", 15, null]]],
                "breakout": [["field", 17, {"temporal-unit": "month"}]],
                "filter": ["and", [">", ["field", 15, null], 10], ["contains", ["field", 3, null], "a", {"case-sensitive": false}]],
                "order-by": [["desc", ["aggregation", 0]]],
                "limit": 5
            }
        });
        let modern = to_mbql5(&legacy).expect("converts");
        assert_eq!(modern["stages"][0]["filters"].as_array().map(Vec::len), Some(2));
        assert_eq!(modern["stages"][0]["breakout"][0][1]["temporal-unit"], "month");
        assert_eq!(modern["stages"][0]["order-by"][0][2][2], modern["stages"][0]["aggregation"][0][1]["lib/uuid"]);
        assert_eq!(to_legacy(&modern), legacy);
    }

    #[test]
    fn native_query_converts_both_ways() {
        let legacy = json!({"database": 1, "type": "native", "native": {"query": "SELECT 1", "template-tags": {}}});
        let modern = to_mbql5(&legacy).expect("converts");
        assert_eq!(modern["stages"][0]["native"], "SELECT 1");
        assert_eq!(to_legacy(&modern), legacy);
    }
}
