use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::*;
use crate::convert::json::to_proto_value;
use crate::metabase::Card;

/// Writes `value` both ways: straight into protobuf, and as JSON converted to protobuf.
fn both<T: Serialize>(value: &T) -> (prost_types::Value, prost_types::Value) {
    (to_proto(value).unwrap(), to_proto_value(serde_json::to_value(value).unwrap()))
}

#[derive(Serialize)]
enum Shape {
    Empty,
    Wrapped(i32),
    Pair(u8, String),
    Named { width: f32, tags: Vec<&'static str> },
}

#[derive(Serialize)]
struct Typed {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    absent: Option<i64>,
    present: Option<i64>,
    shapes: Vec<Shape>,
    bytes: serde_bytes_like::Bytes,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

/// A byte string serialized with `serialize_bytes`, as `serde_bytes` would.
mod serde_bytes_like {
    pub(super) struct Bytes(pub(super) Vec<u8>);

    impl serde::Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(&self.0)
        }
    }
}

#[test]
fn a_typed_value_written_straight_equals_its_json_converted() {
    let typed = Typed {
        id: u64::MAX,
        absent: None,
        present: None,
        shapes: vec![
            Shape::Empty,
            Shape::Wrapped(-3),
            Shape::Pair(7, "seven".to_owned()),
            Shape::Named { width: 0.5, tags: vec!["a", "b"] },
        ],
        bytes: serde_bytes_like::Bytes(vec![0, 255]),
        rest: BTreeMap::from([("nested".to_owned(), json!({"deep": [1, {"x": null}], "text": "naïve \u{1F600}"}))]),
    };

    let (straight, converted) = both(&typed);

    assert_eq!(straight, converted);
}

#[test]
fn a_cards_typed_parts_written_straight_equal_their_json_converted() {
    let card: Card = serde_json::from_value(json!({
        "id": 1, "name": "Orders",
        "collection": {"id": 4, "name": "Sales", "location": "/1/", "authority_level": null, "is_personal": false},
        "last-edit-info": {"id": 1, "email": "a@example.com", "timestamp": "2024-01-02T03:04:05Z", "extra": [1]}
    }))
    .unwrap();

    let (collection, collection_converted) = both(&card.collection);
    let (last_edit, last_edit_converted) = both(&card.last_edit_info);
    let (whole, whole_converted) = both(&card);

    assert_eq!(collection, collection_converted);
    assert_eq!(last_edit, last_edit_converted);
    assert_eq!(whole, whole_converted);
}

#[test]
fn numbers_that_json_cannot_hold_become_null_and_keys_become_text() {
    let keyed = (BTreeMap::from([(-2_i64, "minus two"), (10, "ten")]), BTreeMap::from([(true, 1)]));

    assert_eq!(to_proto(&f64::NAN).unwrap(), to_proto_value(Value::Null));
    assert_eq!(to_proto(&f32::INFINITY).unwrap(), to_proto_value(Value::Null));
    assert_eq!(to_proto(&keyed).unwrap(), to_proto_value(json!([{"-2": "minus two", "10": "ten"}, {"true": 1}])));
}

#[test]
fn a_map_keyed_by_something_that_is_not_text_is_refused_with_a_reason() {
    let keyed_by_lists = BTreeMap::from([(vec![1], "one")]);

    let refused = to_proto(&keyed_by_lists).unwrap_err();

    assert!(serde_json::to_value(&keyed_by_lists).is_err(), "serde_json refuses it too");
    assert_eq!(refused.to_string(), "a map key must be text, a whole number or a boolean");
}
