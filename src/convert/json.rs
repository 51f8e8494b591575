//! Conversions between Metabase's JSON and protobuf's well-known types: `Struct`, `Value`,
//! `ListValue` and `Timestamp`, plus a reader that takes typed fields out of a JSON object and
//! leaves every other key for the message's `extra` Struct, so nothing Metabase sends is lost.

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
pub fn from_proto_value(value: prost_types::Value) -> Value {
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
pub fn from_struct(object: Struct) -> Map<String, Value> {
    object.fields.into_iter().map(|(key, value)| (key, from_proto_value(value))).collect()
}

/// Converts a protobuf `ListValue` to a JSON array.
pub fn from_list(list: ListValue) -> Value {
    Value::Array(list.values.into_iter().map(from_proto_value).collect())
}

/// Parses Metabase's ISO-8601 timestamp text.
pub fn to_timestamp(text: &str) -> Option<Timestamp> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(Timestamp { seconds: parsed.timestamp(), nanos: parsed.timestamp_subsec_nanos() as i32 })
}

/// Converts an optional JSON object to a `Struct`; absent, null or not an object is none.
pub fn object_struct(value: Option<Value>) -> Option<Struct> {
    match value {
        Some(Value::Object(map)) => Some(to_struct(map)),
        _ => None,
    }
}

/// Builds a message's `extra` from a model's untyped keys plus the keys the model types but the
/// message has no field for; an absent typed key is left out.
pub fn extra_struct<const N: usize>(
    mut extra: Map<String, Value>,
    unmapped: [(&str, Option<Value>); N],
) -> Option<Struct> {
    for (key, value) in unmapped {
        if let Some(value) = value {
            extra.insert(key.to_owned(), value);
        }
    }
    Some(to_struct(extra))
}

/// Takes typed fields out of one Metabase JSON object; what is left becomes `extra`.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Reads an object; anything that is not an object reads as empty.
    pub fn new(value: Value) -> Self {
        match value {
            Value::Object(map) => Fields(map),
            _ => Fields(Map::new()),
        }
    }

    /// Takes a key's raw value, leaving nothing behind.
    pub fn take(&mut self, key: &str) -> Value {
        self.0.shift_remove(key).unwrap_or(Value::Null)
    }

    /// Takes an integer; absent, null or not an integer is 0.
    pub fn int(&mut self, key: &str) -> i64 {
        self.opt_int(key).unwrap_or_default()
    }

    /// Takes an optional integer; numeric strings (Metabase's large integers) are read too.
    pub fn opt_int(&mut self, key: &str) -> Option<i64> {
        match self.take(key) {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// Takes an optional integer as `i32`.
    pub fn opt_i32(&mut self, key: &str) -> Option<i32> {
        self.opt_int(key).and_then(|value| i32::try_from(value).ok())
    }

    /// Takes a string; absent or null is empty.
    pub fn string(&mut self, key: &str) -> String {
        self.opt_string(key).unwrap_or_default()
    }

    /// Takes an optional string.
    pub fn opt_string(&mut self, key: &str) -> Option<String> {
        match self.take(key) {
            Value::String(text) => Some(text),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// Takes a boolean; absent or null is false.
    pub fn bool(&mut self, key: &str) -> bool {
        self.opt_bool(key).unwrap_or_default()
    }

    /// Takes an optional boolean.
    pub fn opt_bool(&mut self, key: &str) -> Option<bool> {
        self.take(key).as_bool()
    }

    /// Takes an object as a `Struct`; absent or null is none.
    pub fn structure(&mut self, key: &str) -> Option<Struct> {
        match self.take(key) {
            Value::Object(map) => Some(to_struct(map)),
            _ => None,
        }
    }

    /// Takes an array as a `ListValue`; absent or null is none.
    pub fn list(&mut self, key: &str) -> Option<ListValue> {
        match self.take(key) {
            Value::Array(items) => Some(to_list(items)),
            _ => None,
        }
    }

    /// Takes an array of strings.
    pub fn strings(&mut self, key: &str) -> Vec<String> {
        match self.take(key) {
            Value::Array(items) => items.into_iter().filter_map(|item| item.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    }

    /// Takes an array of objects, each to be converted by the caller.
    pub fn objects(&mut self, key: &str) -> Vec<Value> {
        match self.take(key) {
            Value::Array(items) => items,
            _ => Vec::new(),
        }
    }

    /// Takes a timestamp.
    pub fn timestamp(&mut self, key: &str) -> Option<Timestamp> {
        self.opt_string(key).as_deref().and_then(to_timestamp)
    }

    /// Returns every key not taken, as the `extra` Struct.
    pub fn extra(self) -> Option<Struct> {
        Some(to_struct(self.0))
    }
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
    fn fields_left_untaken_become_extra_verbatim() {
        let mut fields = Fields::new(json!({"id": 7, "name": "Orders", "newer_metabase_key": {"a": [1, 2]}}));
        assert_eq!((fields.int("id"), fields.string("name")), (7, "Orders".to_owned()));
        let extra = fields.extra().unwrap();
        assert_eq!(extra.fields.keys().collect::<Vec<_>>(), vec!["newer_metabase_key"]);
    }

    #[test]
    fn metabase_timestamps_become_protobuf_timestamps() {
        let timestamp = to_timestamp("2023-07-19T19:44:56.582-04:00").unwrap();
        assert_eq!(timestamp.seconds, 1_689_810_296);
        assert_eq!(timestamp.nanos, 582_000_000);
    }
}
