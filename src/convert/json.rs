//! Conversions between Metabase's JSON and protobuf's well-known types: `Struct`, `Value`,
//! `ListValue` and `Timestamp`, and the message's `extra` Struct that carries every key a model
//! does not type, so nothing Metabase sends is lost.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Timestamp};
use serde_json::{Map, Number, Value};

/// Converts a JSON value to a protobuf `Value`.
pub fn to_proto_value(value: Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(flag) => Kind::BoolValue(flag),
        Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or_default()),
        Value::String(text) => Kind::StringValue(text),
        Value::Array(items) => Kind::ListValue(to_list(items)),
        Value::Object(map) => Kind::StructValue(to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// Converts a JSON object to a protobuf `Struct`.
pub fn to_struct(map: Map<String, Value>) -> Struct {
    Struct { fields: map.into_iter().map(|(key, value)| (key, to_proto_value(value))).collect() }
}

/// Converts a JSON array to a protobuf `ListValue`.
pub fn to_list(items: Vec<Value>) -> ListValue {
    ListValue { values: items.into_iter().map(to_proto_value).collect() }
}

/// Converts a protobuf `Value` back to JSON. Whole numbers become JSON integers, because
/// Metabase ids and limits must stay integers (protobuf carries every number as a double).
pub(crate) fn from_proto_value(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(flag)) => Value::Bool(flag),
        Some(Kind::NumberValue(number)) => number_to_json(number),
        Some(Kind::StringValue(text)) => Value::String(text),
        Some(Kind::ListValue(list)) => from_list(list),
        Some(Kind::StructValue(object)) => Value::Object(from_struct(object)),
    }
}

fn number_to_json(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9.007_199_254_740_992e15 {
        Value::Number(Number::from(number as i64))
    } else {
        Number::from_f64(number).map_or(Value::Null, Value::Number)
    }
}

/// Converts a protobuf `Struct` to a JSON object, keeping the caller's key order stable.
pub(crate) fn from_struct(object: Struct) -> Map<String, Value> {
    object.fields.into_iter().map(|(key, value)| (key, from_proto_value(value))).collect()
}

/// Converts a protobuf `ListValue` to a JSON array.
pub(crate) fn from_list(list: ListValue) -> Value {
    Value::Array(list.values.into_iter().map(from_proto_value).collect())
}

/// Parses Metabase's ISO-8601 timestamp text.
pub(crate) fn to_timestamp(text: &str) -> Option<Timestamp> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(Timestamp { seconds: parsed.timestamp(), nanos: parsed.timestamp_subsec_nanos() as i32 })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_round_trips_through_struct_with_integers_kept_as_integers() {
        let original = json!({"database": 1, "stages": [{"limit": 50, "ratio": 0.5, "flag": true, "none": null}]});
        let converted = from_struct(to_struct(original.as_object().cloned().unwrap()));
        assert_eq!(Value::Object(converted), original);
    }

    #[test]
    fn metabase_timestamps_become_protobuf_timestamps() {
        let timestamp = to_timestamp("2023-07-19T19:44:56.582-04:00").unwrap();
        assert_eq!(timestamp.seconds, 1_689_810_296);
        assert_eq!(timestamp.nanos, 582_000_000);
    }
}
