//! Result columns: Metabase's column metadata, the header sent to callers, and how a column's
//! values are typed (by `base_type`, since exports carry only text).

use serde_json::Value;

use super::wire::RowEncoder;
use crate::pb::v1::{Column, ResultHeader};

/// How a column's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Integers (`type/Integer`, `type/BigInteger`); exact to 64 bits.
    Integer,
    /// Floating-point and decimal numbers.
    Number,
    /// Booleans.
    Boolean,
    /// Everything else, as text (temporals keep Metabase's ISO-8601 rendering).
    Text,
}

impl CellKind {
    /// Returns the kind for a Metabase base type.
    pub fn for_base_type(base_type: &str) -> Self {
        match base_type {
            "type/Integer" | "type/BigInteger" => CellKind::Integer,
            "type/Float" | "type/Decimal" | "type/Number" | "type/Currency" => CellKind::Number,
            "type/Boolean" => CellKind::Boolean,
            _ => CellKind::Text,
        }
    }
}

/// The metadata of one result column.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    /// The header entry sent to callers.
    pub column: Column,
    /// How values are read.
    pub kind: CellKind,
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl ColumnInfo {
    /// Reads one of Metabase's column maps (`data.cols[i]` or `result_metadata[i]`).
    pub fn from_metabase(value: &Value) -> Self {
        let base_type = value.get("base_type").and_then(Value::as_str).unwrap_or("type/*").to_owned();
        let effective_type =
            value.get("effective_type").and_then(Value::as_str).map_or_else(|| base_type.clone(), str::to_owned);
        let name = text(value, "name");
        let display_name =
            value.get("display_name").and_then(Value::as_str).map_or_else(|| name.clone(), str::to_owned);
        ColumnInfo {
            kind: CellKind::for_base_type(&effective_type),
            column: Column {
                name,
                display_name,
                base_type,
                effective_type,
                semantic_type: value.get("semantic_type").and_then(Value::as_str).map(str::to_owned),
                database_type: text(value, "database_type"),
            },
        }
    }

    /// Returns a column known only by its title, read as text.
    pub fn untyped(title: &str) -> Self {
        ColumnInfo {
            kind: CellKind::Text,
            column: Column {
                name: title.to_owned(),
                display_name: title.to_owned(),
                base_type: "type/*".into(),
                effective_type: "type/*".into(),
                semantic_type: None,
                database_type: String::new(),
            },
        }
    }
}

/// Returns the header message for columns.
pub(crate) fn header(columns: &[ColumnInfo]) -> ResultHeader {
    ResultHeader { columns: columns.iter().map(|column| column.column.clone()).collect() }
}

/// Appends an export field's text as a typed value. CSV cannot tell an empty text from a null,
/// so an empty field is a null for every kind.
pub fn push_text_cell(encoder: &mut impl RowEncoder, kind: CellKind, field: &str) {
    if field.is_empty() {
        encoder.null();
        return;
    }
    match kind {
        CellKind::Integer => match field.parse::<i64>() {
            Ok(value) => encoder.int(value),
            Err(_) => encoder.text(field),
        },
        CellKind::Number => match field.parse::<f64>() {
            Ok(value) => encoder.double(value),
            Err(_) => encoder.text(field),
        },
        CellKind::Boolean => match field {
            "true" => encoder.boolean(true),
            "false" => encoder.boolean(false),
            other => encoder.text(other),
        },
        CellKind::Text => encoder.text(field),
    }
}

/// Appends a JSON value from the query route as a typed value. Integers beyond 2^53 arrive as
/// strings there; an integer column reads them back as integers.
pub(crate) fn push_json_cell(encoder: &mut impl RowEncoder, kind: CellKind, value: &Value) {
    match value {
        Value::Null => encoder.null(),
        Value::Bool(flag) => encoder.boolean(*flag),
        Value::Number(number) => match (kind, number.as_i64()) {
            (CellKind::Number, _) | (_, None) => encoder.double(number.as_f64().unwrap_or_default()),
            (_, Some(integer)) => encoder.int(integer),
        },
        Value::String(text) if kind == CellKind::Integer => match text.parse::<i64>() {
            Ok(integer) => encoder.int(integer),
            Err(_) => encoder.text(text),
        },
        Value::String(text) => encoder.text(text),
        other => encoder.text(&other.to_string()),
    }
}
