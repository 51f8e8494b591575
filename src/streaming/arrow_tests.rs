//! Tests of `arrow`, kept beside it so the module itself stays short.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use serde_json::json;

use super::*;
use crate::streaming::columns::{push_json_cell, push_text_cell};

fn column(name: &str, base_type: &str, semantic_type: Option<&str>) -> ColumnInfo {
    ColumnInfo::from_metabase(&json!({
        "name": name, "display_name": name.to_lowercase(), "base_type": base_type, "semantic_type": semantic_type,
    }))
}

fn events() -> Vec<ColumnInfo> {
    vec![
        column("ID", "type/BigInteger", Some("type/PK")),
        column("AMOUNT", "type/Float", None),
        column("PRICE", "type/Decimal", None),
        column("IS_MOBILE", "type/Boolean", None),
        column("EVENT_TYPE", "type/Text", Some("type/Category")),
        column("DAY", "type/Date", None),
        column("OCCURRED_AT", "type/DateTime", None),
        column("SHAPE", "type/Structured", None),
    ]
}

#[test]
fn metabase_types_map_to_arrow_types_with_their_metadata() {
    let schema = schema(&events());
    let types: Vec<DataType> = schema.fields().iter().map(|field| field.data_type().clone()).collect();
    assert_eq!(
        types,
        vec![
            DataType::Int64,
            DataType::Float64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Utf8,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            DataType::Utf8,
        ]
    );
    let id = schema.field(0);
    assert_eq!(id.name(), "ID");
    assert_eq!(id.metadata()["metabase.display_name"], "id");
    assert_eq!(id.metadata()["metabase.base_type"], "type/BigInteger");
    assert_eq!(id.metadata()["metabase.semantic_type"], "type/PK");
    assert!(!schema.field(1).metadata().contains_key("metabase.semantic_type"));
}

#[test]
fn export_text_becomes_typed_arrays() {
    let columns = events();
    let mut encoder = ArrowRows::new(&columns);
    let row = ["9007199254740993", "12.5", "0.1", "true", "view", "2024-03-01", "2024-03-01T10:00:00.250Z", "{}"];
    for (info, field) in columns.iter().zip(row) {
        push_text_cell(&mut encoder, info.kind, field);
    }
    encoder.end_row();
    for info in &columns {
        push_text_cell(&mut encoder, info.kind, "");
    }
    encoder.end_row();
    let batch = encoder.take().unwrap();

    assert_eq!(batch.num_rows(), 2);
    assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 9_007_199_254_740_993);
    assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 12.5);
    assert!(batch.column(3).as_boolean().value(0));
    assert_eq!(batch.column(4).as_string::<i32>().value(0), "view");
    assert_eq!(batch.column(5).as_primitive::<Date32Type>().value(0), 19_783);
    assert_eq!(batch.column(6).as_primitive::<TimestampMicrosecondType>().value(0), 1_709_287_200_250_000);
    assert!((0..columns.len()).all(|index| batch.column(index).is_null(1)));
    assert_eq!(encoder.mistyped(), 0);
}

#[test]
fn json_values_fill_the_same_arrays_and_offsets_are_applied() {
    let columns = events();
    let mut encoder = ArrowRows::new(&columns);
    let row = json!([
        "9007199254740993", 12, 3.25, false, "click", "2024-03-01T00:00:00-08:00", "2024-03-01T02:00:00-08:00",
        {"a": 1}
    ]);
    for (info, value) in columns.iter().zip(row.as_array().unwrap()) {
        push_json_cell(&mut encoder, info.kind, value);
    }
    encoder.end_row();
    let batch = encoder.take().unwrap();

    assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 9_007_199_254_740_993);
    assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 12.0);
    assert_eq!(batch.column(5).as_primitive::<Date32Type>().value(0), 19_783);
    assert_eq!(batch.column(6).as_primitive::<TimestampMicrosecondType>().value(0), 1_709_287_200_000_000);
    assert_eq!(batch.column(7).as_string::<i32>().value(0), r#"{"a":1}"#);
}

#[test]
fn values_that_do_not_fit_their_column_become_counted_nulls() {
    let columns = events();
    let mut encoder = ArrowRows::new(&columns);
    let row = ["12abc", "n/a", "1.5", "maybe", "ok", "yesterday", "soon", "x"];
    for (info, field) in columns.iter().zip(row) {
        push_text_cell(&mut encoder, info.kind, field);
    }
    encoder.end_row();
    encoder.int(1);
    encoder.end_row();
    let batch = encoder.take().unwrap();

    assert_eq!(encoder.mistyped(), 5, "id, amount, is_mobile, day and occurred_at");
    for index in [0, 1, 3, 5, 6] {
        assert!(batch.column(index).is_null(0), "column {index}");
    }
    assert_eq!(batch.column(2).as_primitive::<Float64Type>().value(0), 1.5);
    assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(1), 1);
    assert!(batch.column(1).is_null(1), "a short row ends in nulls");
}

#[test]
fn batches_restart_empty_and_a_result_without_columns_still_counts_rows() {
    let mut encoder = ArrowRows::new(&events()[..1]);
    encoder.int(7);
    encoder.end_row();
    assert!(encoder.byte_len() > 0);
    assert_eq!(encoder.take().unwrap().num_rows(), 1);
    assert_eq!((encoder.rows(), encoder.byte_len()), (0, 0));
    assert_eq!(encoder.take().unwrap().num_rows(), 0);

    let mut empty = ArrowRows::new(&[]);
    empty.end_row();
    empty.end_row();
    assert_eq!(empty.take().unwrap().num_rows(), 2);
}
