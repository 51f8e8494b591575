//! Search results.

use serde_json::Value;

use super::json::Fields;
use crate::pb::v1::{SearchCollection, SearchResult};

/// Converts one search result.
pub fn result(value: Value) -> SearchResult {
    let mut fields = Fields::new(value);
    let collection = match fields.take("collection") {
        Value::Object(collection) => {
            let mut collection_fields = Fields::new(Value::Object(collection));
            Some(SearchCollection {
                id: collection_fields.opt_int("id"),
                name: collection_fields.string("name"),
                authority_level: collection_fields.opt_string("authority_level"),
                extra: collection_fields.extra(),
            })
        }
        _ => None,
    };
    let dashboard_id = match fields.take("dashboard") {
        Value::Object(dashboard) => dashboard.get("id").and_then(Value::as_i64),
        _ => None,
    };
    SearchResult {
        model: fields.string("model"),
        id: fields.int("id"),
        name: fields.string("name"),
        description: fields.opt_string("description"),
        archived: fields.bool("archived"),
        collection,
        database_id: fields.opt_int("database_id"),
        table_id: fields.opt_int("table_id"),
        dashboard_id,
        created_at: fields.timestamp("created_at"),
        updated_at: fields.timestamp("updated_at"),
        extra: fields.extra(),
    }
}
