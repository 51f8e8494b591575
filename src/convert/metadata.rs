//! Tables, fields, database metadata and field values, from the client's typed models: typed
//! fields where callers use them, every other key in `extra`. A database's connection `details`
//! never leave the gateway from these routes.

use serde_json::{Map, Value};

use super::json::{to_proto_value, to_struct};
use crate::metabase::models as upstream;
use crate::pb::v1::{DatabaseMetadata, Field, FieldValue, GetFieldValuesResponse, TableMetadata};

/// Keys of a hydrated `db` that carry connection secrets or their shape.
const SECRET_KEYS: [&str; 1] = ["details"];

/// Returns `extra` as a Struct, or none when it is empty.
fn extra(map: Map<String, Value>) -> Option<prost_types::Struct> {
    Some(to_struct(map))
}

/// Removes a hydrated database's `details` from an object's extra keys.
fn without_details(mut map: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Object(database)) = map.get_mut("db") {
        for key in SECRET_KEYS {
            database.remove(key);
        }
    }
    map
}

impl From<upstream::TableMetadata> for TableMetadata {
    fn from(table: upstream::TableMetadata) -> Self {
        TableMetadata {
            id: table.id.get(),
            db_id: table.db_id.map(i64::from).unwrap_or_default(),
            name: table.name.unwrap_or_default(),
            display_name: table.display_name.unwrap_or_default(),
            schema: table.schema,
            description: table.description,
            entity_type: table.entity_type,
            visibility_type: table.visibility_type,
            fields: table.fields.into_iter().map(Field::from).collect(),
            extra: extra(without_details(table.extra)),
        }
    }
}

impl From<upstream::Field> for Field {
    fn from(field: upstream::Field) -> Self {
        Field {
            id: field.id.get(),
            table_id: field.table_id.map(i64::from).unwrap_or_default(),
            name: field.name.unwrap_or_default(),
            display_name: field.display_name.unwrap_or_default(),
            description: field.description,
            base_type: field.base_type.unwrap_or_default(),
            effective_type: field.effective_type,
            semantic_type: field.semantic_type,
            database_type: field.database_type,
            fk_target_field_id: field.fk_target_field_id.map(i64::from),
            has_field_values: field.has_field_values,
            visibility_type: field.visibility_type,
            position: field.position.unwrap_or_default(),
            target: field.target.map(|target| Box::new(Field::from(*target))),
            table: field.table.map(|table| TableMetadata::from(*table)),
            extra: extra(field.extra),
        }
    }
}

impl From<upstream::DatabaseMetadata> for DatabaseMetadata {
    fn from(database: upstream::DatabaseMetadata) -> Self {
        let mut rest = database.extra;
        for key in SECRET_KEYS {
            rest.remove(key);
        }
        DatabaseMetadata {
            id: database.id.get(),
            name: database.name.unwrap_or_default(),
            engine: database.engine.unwrap_or_default(),
            tables: database.tables.into_iter().map(TableMetadata::from).collect(),
            extra: extra(rest),
        }
    }
}

impl From<upstream::FieldValues> for GetFieldValuesResponse {
    fn from(values: upstream::FieldValues) -> Self {
        let field_id = values.field_id.map(i64::from).unwrap_or_default();
        let converted = values
            .values
            .into_iter()
            .map(|entry| {
                let mut parts = entry.into_iter();
                let value = parts.next().map(to_proto_value);
                let display = parts.next().and_then(|display| display.as_str().map(str::to_owned));
                FieldValue { value, display }
            })
            .collect();
        GetFieldValuesResponse { field_id, values: converted, has_more_values: values.has_more_values }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_table_keeps_its_fields_and_foreign_keys_and_drops_the_database_details() {
        let table: upstream::TableMetadata = serde_json::from_value(json!({
            "id": 2, "db_id": 1, "name": "ORDERS", "schema": "PUBLIC",
            "db": {"id": 1, "name": "Sample", "details": {"password": "hunter2"}},
            "fields": [{"id": 11, "name": "USER_ID", "base_type": "type/Integer", "semantic_type": "type/FK",
                        "fk_target_field_id": 19, "target": {"id": 19, "name": "ID", "table_id": 3}}]
        }))
        .unwrap();

        let converted = TableMetadata::from(table);

        assert_eq!((converted.db_id, converted.schema.as_deref()), (1, Some("PUBLIC")));
        let field = &converted.fields[0];
        assert_eq!(
            (field.fk_target_field_id, field.target.as_ref().map(|target| target.table_id)),
            (Some(19), Some(3))
        );
        assert!(!format!("{converted:?}").contains("hunter2"));
    }

    #[test]
    fn field_values_keep_the_value_and_its_display() {
        let values: upstream::FieldValues =
            serde_json::from_value(json!({"field_id": 4, "values": [["Gadget"], [1, "One"]], "has_more_values": true}))
                .unwrap();

        let converted = GetFieldValuesResponse::from(values);

        assert_eq!((converted.field_id, converted.values.len(), converted.has_more_values), (4, 2, true));
        assert_eq!(converted.values[1].display.as_deref(), Some("One"));
        assert_eq!(converted.values[0].value, Some(to_proto_value(json!("Gadget"))));
    }
}
