//! Small pieces every model-to-message conversion uses: JSON-valued model fields to protobuf's
//! well-known types, narrow integers, timestamps, and the `extra` Struct that carries what the
//! message has no field for (the model's own `extra` plus typed fields the message does not name).

use std::collections::BTreeMap;

use prost_types::{ListValue, Struct, Timestamp};
use serde::Serialize;
use serde_json::Value;

use super::json::{from_proto_value, to_timestamp};
use super::proto_json::IntoProto;
use super::proto_ser::to_proto;
use crate::metabase::CollectionKey;

/// Returns a JSON object field as a `Struct`; anything that is not an object reads as unset.
pub(crate) fn object<J: IntoProto>(value: Option<J>) -> Option<Struct> {
    value.and_then(IntoProto::into_struct)
}

/// Returns a JSON array field as a `ListValue`.
pub(crate) fn list<J: IntoProto>(items: Vec<J>) -> Option<ListValue> {
    Some(ListValue { values: items.into_iter().map(IntoProto::into_proto).collect() })
}

/// Returns the items of a caller's `ListValue` as JSON values.
pub(crate) fn list_items(list: ListValue) -> Vec<Value> {
    list.values.into_iter().map(from_proto_value).collect()
}

/// Returns Metabase's ISO-8601 text as a timestamp; unset when absent or unreadable.
pub(crate) fn timestamp(text: Option<&str>) -> Option<Timestamp> {
    text.and_then(to_timestamp)
}

/// Returns an integer as the `int32` a message carries; unset when absent or out of range.
pub(crate) fn small(value: Option<i64>) -> Option<i32> {
    value.and_then(|value| i32::try_from(value).ok())
}

/// Returns a collection key's numeric id; `None` for the root (`"root"`).
pub(crate) fn key_id(key: &CollectionKey) -> Option<i64> {
    match key {
        CollectionKey::Id(id) => Some(id.get()),
        CollectionKey::Named(name) => name.parse().ok(),
    }
}

/// Returns a typed model part (a summary, a name, a count) as a protobuf `Value`, for the `extra`
/// Struct; written straight, without a JSON tree between.
pub(crate) fn proto_of<T: Serialize>(value: Option<&T>) -> Option<prost_types::Value> {
    value.and_then(|value| to_proto(value).ok())
}

/// Builds a message's `extra`: the model's untyped keys, plus the typed fields the message has
/// no field for (`unmapped`, under Metabase's key; those that are unset are left out).
pub(crate) fn extra<J: IntoProto, const N: usize>(
    untyped: impl IntoIterator<Item = (String, J)>,
    unmapped: [(&str, Option<prost_types::Value>); N],
) -> Option<Struct> {
    let mut fields: BTreeMap<String, prost_types::Value> =
        untyped.into_iter().map(|(key, value)| (key, value.into_proto())).collect();
    for (key, value) in unmapped {
        if let Some(value) = value {
            fields.insert(key.to_owned(), value);
        }
    }
    Some(Struct { fields })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn extra_keeps_untyped_keys_and_adds_only_the_unmapped_fields_that_are_set() {
        let untyped = json!({"new_key": 1}).as_object().cloned().unwrap();

        let built = extra(untyped, [("view_count", proto_of(Some(&4))), ("last-edit-info", None)]).unwrap();

        assert_eq!(built.fields.keys().collect::<Vec<_>>(), ["new_key", "view_count"]);
    }

    #[test]
    fn object_fields_that_are_not_objects_read_as_unset_and_wide_integers_as_unset() {
        assert_eq!(object(Some(json!([1]))), None);
        assert!(object(Some(json!({"a": 1}))).is_some());
        assert_eq!((small(Some(7)), small(Some(i64::from(i32::MAX) + 1)), small(None)), (Some(7), None, None));
    }
}
