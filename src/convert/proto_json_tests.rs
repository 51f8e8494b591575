use serde_json::json;

use super::*;
use crate::metabase::Card;

/// Every kind of JSON value Metabase sends, nested as a card's result metadata nests it.
fn sample() -> Value {
    json!({
        "null": null, "yes": true, "int": 42, "negative": -7, "wide": 9_007_199_254_740_993_u64,
        "ratio": 0.25, "text": "naïve \"quoted\" \\ \u{1F600}", "empty": {}, "none": [],
        "nested": [{"fingerprint": {"type": {"type/Number": {"min": 1, "avg": 2.5}}}}, [1, [2, [3]]]]
    })
}

#[test]
fn reading_straight_into_protobuf_equals_reading_json_and_converting_it() {
    let text = sample().to_string();

    let straight: ProtoJson = serde_json::from_str(&text).unwrap();
    let converted = to_proto_value(serde_json::from_str(&text).unwrap());

    assert_eq!(straight.0, converted);
}

#[test]
fn a_card_read_straight_into_protobuf_converts_as_the_json_card_does() {
    let text = json!({
        "id": 3, "name": "Orders", "dataset_query": {"database": 1, "type": "query"},
        "result_metadata": [sample()], "visualization_settings": {"table.pivot": false},
        "parameters": [{"id": "p", "type": "category"}], "parameter_mappings": [],
        "some_new_key": {"nested": [1, 2]}, "creator": {"id": 1, "email": "admin@example.com"}
    })
    .to_string();

    let straight: Card<ProtoJson> = serde_json::from_str(&text).unwrap();
    let json: Card = serde_json::from_str(&text).unwrap();

    assert_eq!(crate::pb::v1::Card::from(straight), crate::pb::v1::Card::from(json));
}

#[test]
fn only_objects_read_as_structs() {
    let object: ProtoJson = serde_json::from_str(r#"{"a": 1}"#).unwrap();
    let list: ProtoJson = serde_json::from_str("[1]").unwrap();

    assert!(object.into_struct().is_some_and(|object| object.fields.contains_key("a")));
    assert_eq!(list.into_struct(), None);
    assert_eq!(json!("text").into_struct(), None);
}

#[test]
fn hostile_nesting_is_refused_as_a_json_tree_refuses_it() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));

    assert!(serde_json::from_str::<ProtoJson>(&deep).is_err());
    assert!(serde_json::from_str::<Value>(&deep).is_err());
}
