//! Owns the metadata models: tables with their fields, fields with their foreign-key targets,
//! a database's full metadata, and a field's distinct values (`/api/table`, `/api/field`,
//! `/api/database/:id/metadata`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::null_as_default;
use crate::ids::{DatabaseId, FieldId, TableId};

/// A table as the metadata routes return it, with its fields where the route includes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableMetadata {
    /// The table's id.
    pub id: TableId,
    /// The database the table is in.
    #[serde(default)]
    pub db_id: Option<DatabaseId>,
    /// The table's name in the database.
    #[serde(default)]
    pub name: Option<String>,
    /// The name Metabase shows.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The schema, for databases that have schemas.
    #[serde(default)]
    pub schema: Option<String>,
    /// The table's description.
    #[serde(default)]
    pub description: Option<String>,
    /// E.g. `entity/TransactionTable`.
    #[serde(default)]
    pub entity_type: Option<String>,
    /// `None` when visible, else `hidden`, `technical` or `cruft`.
    #[serde(default)]
    pub visibility_type: Option<String>,
    /// The fields, where the route includes them.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Every other key, verbatim (`db`, `segments`, `metrics`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A field (column) of a table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The field's id.
    pub id: FieldId,
    /// The table the field belongs to.
    #[serde(default)]
    pub table_id: Option<TableId>,
    /// The column name.
    #[serde(default)]
    pub name: Option<String>,
    /// The name Metabase shows.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The field's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Metabase's base type, e.g. `type/Integer`.
    #[serde(default)]
    pub base_type: Option<String>,
    /// The type after coercion.
    #[serde(default)]
    pub effective_type: Option<String>,
    /// The semantic type, e.g. `type/FK`.
    #[serde(default)]
    pub semantic_type: Option<String>,
    /// The type the database reports.
    #[serde(default)]
    pub database_type: Option<String>,
    /// For foreign keys, the field pointed at.
    #[serde(default)]
    pub fk_target_field_id: Option<FieldId>,
    /// `list`, `search`, `none` or `auto-list`.
    #[serde(default)]
    pub has_field_values: Option<String>,
    /// `normal`, `details-only`, `sensitive`, `hidden` or `retired`.
    #[serde(default)]
    pub visibility_type: Option<String>,
    /// The position in the table.
    #[serde(default)]
    pub position: Option<i64>,
    /// For foreign keys, the target field, hydrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Box<Field>>,
    /// The field's table, hydrated by `GET /api/field/:id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Box<TableMetadata>>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /api/database/:id/metadata`: the database with every table and its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseMetadata {
    /// The database's id.
    pub id: DatabaseId,
    /// The database's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The driver.
    #[serde(default)]
    pub engine: Option<String>,
    /// Every table, with its fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tables: Vec<TableMetadata>,
    /// Every other key, verbatim. `details` may hold connection secrets: never log it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /api/field/:id/values`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldValues {
    /// The field's id.
    #[serde(default)]
    pub field_id: Option<FieldId>,
    /// Each value as `[value]`, or `[value, display]` for remapped fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<Vec<Value>>,
    /// Whether Metabase holds more values than it sent.
    #[serde(default, deserialize_with = "null_as_default")]
    pub has_more_values: bool,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Field, FieldValues};
    use crate::ids::FieldId;

    #[test]
    fn field_reads_its_target_and_table_and_keeps_the_rest() {
        let field: Field = serde_json::from_value(json!({
            "id": 11, "table_id": 2, "name": "USER_ID", "semantic_type": "type/FK", "fk_target_field_id": 19,
            "target": {"id": 19, "name": "ID"}, "table": {"id": 2, "db_id": 1, "name": "ORDERS"},
            "fingerprint": null
        }))
        .unwrap();

        assert_eq!(field.target.as_ref().map(|target| target.id), Some(FieldId(19)));
        assert_eq!(field.table.as_ref().and_then(|table| table.db_id).map(i64::from), Some(1));
        assert!(field.extra.contains_key("fingerprint"));
    }

    #[test]
    fn field_values_read_plain_and_remapped_values() {
        let values: FieldValues =
            serde_json::from_value(json!({"field_id": 4, "values": [["Gadget"], [1, "One"]], "has_more_values": null}))
                .unwrap();

        assert_eq!(values.values, vec![vec![json!("Gadget")], vec![json!(1), json!("One")]]);
        assert!(!values.has_more_values);
    }
}
