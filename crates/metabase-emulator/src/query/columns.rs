//! Result columns as Metabase describes them in `data.cols` and `results_metadata`.

use serde_json::{Map, Value, json};

use crate::catalog::FieldDef;

/// One result column with the metadata Metabase reports for it.
#[derive(Debug, Clone)]
pub struct ResultColumn {
    /// The column name (deduplicated: `sum`, `sum_2`).
    pub name: String,
    /// The display name; may repeat across columns.
    pub display_name: String,
    /// Metabase's base type.
    pub base_type: String,
    /// Metabase's effective type.
    pub effective_type: String,
    /// Metabase's semantic type.
    pub semantic_type: Option<String>,
    /// The warehouse's type.
    pub database_type: String,
    /// `native`, `fields`, `breakout` or `aggregation`.
    pub source: &'static str,
    /// The column's field reference, in legacy form.
    pub field_ref: Value,
    /// The catalog field behind the column, if any.
    pub field: Option<FieldDef>,
    /// The temporal unit of a breakout.
    pub unit: Option<String>,
    /// Whether the type should be inferred from the first non-null value.
    pub infer_type: bool,
    /// The position among the stage's aggregations, for aggregation columns.
    pub aggregation_index: Option<usize>,
}

impl ResultColumn {
    /// Returns a column read from a catalog field.
    pub fn from_field(field: &FieldDef, source: &'static str) -> Self {
        ResultColumn {
            name: field.name.into(),
            display_name: field.display_name.into(),
            base_type: field.base_type.into(),
            effective_type: field.base_type.into(),
            semantic_type: field.semantic_type.map(Into::into),
            database_type: field.database_type.into(),
            source,
            field_ref: json!(["field", field.id, null]),
            field: Some(field.clone()),
            unit: None,
            infer_type: false,
            aggregation_index: None,
        }
    }

    /// Returns a native query column, typed from its declared SQLite type when it has one.
    pub fn native(name: &str, declared_type: Option<&str>) -> Self {
        let (base_type, database_type, infer_type) = match declared_type {
            Some(declared) => (base_type_for_declared(declared), declared.to_uppercase(), false),
            None => ("type/*", "NULL".to_owned(), true),
        };
        ResultColumn {
            name: name.into(),
            display_name: name.into(),
            base_type: base_type.into(),
            effective_type: base_type.into(),
            semantic_type: None,
            database_type,
            source: "native",
            field_ref: json!(["field", name, {"base-type": base_type}]),
            field: None,
            unit: None,
            infer_type,
            aggregation_index: None,
        }
    }

    /// Sets the type of an untyped native column from a value SQLite returned.
    pub fn infer_from(&mut self, value: &rusqlite::types::ValueRef<'_>) {
        use rusqlite::types::ValueRef;
        let (base_type, database_type) = match value {
            ValueRef::Null => return,
            ValueRef::Integer(_) => ("type/BigInteger", "BIGINT"),
            ValueRef::Real(_) => ("type/Float", "DOUBLE PRECISION"),
            ValueRef::Text(_) => ("type/Text", "CHARACTER VARYING"),
            ValueRef::Blob(_) => ("type/*", "BLOB"),
        };
        self.base_type = base_type.into();
        self.effective_type = base_type.into();
        self.database_type = database_type.into();
        self.field_ref = json!(["field", self.name, {"base-type": base_type}]);
        self.infer_type = false;
    }

    /// Returns whether values of this column are booleans stored as 0 and 1.
    pub fn is_boolean(&self) -> bool {
        self.base_type == "type/Boolean"
    }

    /// Returns the `data.cols` entry for the column.
    pub fn to_json(&self) -> Value {
        let mut column = Map::new();
        if let Some(field) = &self.field {
            column.insert("description".into(), Value::Null);
            column.insert("database_type".into(), json!(self.database_type));
            column.insert("semantic_type".into(), json!(self.semantic_type));
            column.insert("table_id".into(), json!(field.table_id));
            column.insert("coercion_strategy".into(), Value::Null);
            column.insert("name".into(), json!(self.name));
            column.insert("settings".into(), Value::Null);
            column.insert("source".into(), json!(self.source));
            column.insert("fk_target_field_id".into(), json!(field.fk_target_field_id));
            column.insert("field_ref".into(), self.field_ref.clone());
            column.insert("effective_type".into(), json!(self.effective_type));
            column.insert("active".into(), json!(true));
            column.insert("nfc_path".into(), Value::Null);
            column.insert("parent_id".into(), Value::Null);
            column.insert("id".into(), json!(field.id));
            column.insert("ident".into(), json!(format!("field__{}", field.id)));
            column.insert("position".into(), json!(field.position));
            column.insert("visibility_type".into(), json!("normal"));
            column.insert("display_name".into(), json!(self.display_name));
            column.insert("fingerprint".into(), Value::Null);
            column.insert("base_type".into(), json!(self.base_type));
            if let Some(unit) = &self.unit {
                column.insert("unit".into(), json!(unit));
            }
            return Value::Object(column);
        }
        column.insert("display_name".into(), json!(self.display_name));
        column.insert("source".into(), json!(self.source));
        column.insert("field_ref".into(), self.field_ref.clone());
        column.insert("name".into(), json!(self.name));
        column.insert("base_type".into(), json!(self.base_type));
        column.insert("database_type".into(), json!(self.database_type));
        column.insert("effective_type".into(), json!(self.effective_type));
        if let Some(index) = self.aggregation_index {
            column.insert("semantic_type".into(), json!(self.semantic_type));
            column.insert("aggregation_index".into(), json!(index));
            column.insert("ident".into(), json!(format!("aggregation__{index}")));
        }
        Value::Object(column)
    }

    /// Returns the `results_metadata.columns` entry for the column.
    pub fn to_metadata_json(&self) -> Value {
        json!({
            "display_name": self.display_name,
            "field_ref": self.field_ref,
            "base_type": self.base_type,
            "effective_type": self.effective_type,
            "database_type": self.database_type,
            "name": self.name,
            "semantic_type": self.semantic_type,
            "id": self.field.as_ref().map(|field| field.id),
            "fingerprint": null
        })
    }
}

/// Maps a declared SQLite column type to Metabase's base type, as the H2 driver would.
pub fn base_type_for_declared(declared: &str) -> &'static str {
    let upper = declared.to_uppercase();
    match upper.as_str() {
        "BIGINT" => "type/BigInteger",
        "INTEGER" | "INT" | "SMALLINT" | "TINYINT" => "type/Integer",
        "BOOLEAN" | "BOOL" => "type/Boolean",
        "DATE" => "type/Date",
        "TIMESTAMP" | "DATETIME" => "type/DateTime",
        "TIMESTAMP WITH TIME ZONE" => "type/DateTimeWithLocalTZ",
        "TIME" => "type/Time",
        _ if upper.starts_with("DECIMAL") || upper.starts_with("NUMERIC") => "type/Decimal",
        _ if upper.contains("DOUBLE") || upper.contains("REAL") || upper.contains("FLOAT") => "type/Float",
        _ if upper.contains("CHAR") || upper.contains("TEXT") || upper.contains("CLOB") => "type/Text",
        _ => "type/*",
    }
}

/// Gives repeated column names Metabase's `_2`, `_3` suffixes; display names stay as they are.
pub fn deduplicate_names(columns: &mut [ResultColumn]) {
    let mut seen: Vec<String> = Vec::new();
    for column in columns.iter_mut() {
        let base = column.name.clone();
        let mut candidate = base.clone();
        let mut suffix = 2;
        while seen.iter().any(|name| name.eq_ignore_ascii_case(&candidate)) {
            candidate = format!("{base}_{suffix}");
            suffix += 1;
        }
        seen.push(candidate.clone());
        column.name = candidate;
    }
}
