//! Cards: Metabase's card object to `Card`, and the create and update bodies.

use serde_json::{Map, Value};

use super::json::Fields;
use super::{BodyBuilder, collection_ref, collection_value};
use crate::error::GatewayError;
use crate::pb::v1::{Card, CreateCardRequest, UpdateCardRequest};

/// Converts Metabase's card JSON.
pub fn card(value: Value) -> Card {
    let mut fields = Fields::new(value);
    Card {
        id: fields.int("id"),
        entity_id: fields.string("entity_id"),
        name: fields.string("name"),
        description: fields.opt_string("description"),
        r#type: fields.string("type"),
        display: fields.string("display"),
        dataset_query: fields.structure("dataset_query"),
        visualization_settings: fields.structure("visualization_settings"),
        query_type: fields.string("query_type"),
        database_id: fields.opt_int("database_id"),
        table_id: fields.opt_int("table_id"),
        result_metadata: fields.list("result_metadata"),
        collection_id: collection_ref(&fields.take("collection_id")),
        collection_position: fields.opt_i32("collection_position"),
        dashboard_id: fields.opt_int("dashboard_id"),
        dashboard_tab_id: fields.opt_int("dashboard_tab_id"),
        archived: fields.bool("archived"),
        parameters: fields.list("parameters"),
        parameter_mappings: fields.list("parameter_mappings"),
        cache_ttl: fields.opt_i32("cache_ttl"),
        creator_id: fields.int("creator_id"),
        created_at: fields.timestamp("created_at"),
        updated_at: fields.timestamp("updated_at"),
        can_write: fields.opt_bool("can_write"),
        extra: fields.extra(),
    }
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, GatewayError> {
    if value.trim().is_empty() {
        Err(GatewayError::invalid_argument(field, format!("{field} is required")))
    } else {
        Ok(value)
    }
}

/// Builds `POST /api/card`'s body.
pub fn create_body(request: CreateCardRequest) -> Result<Map<String, Value>, GatewayError> {
    required(&request.name, "name")?;
    required(&request.display, "display")?;
    let dataset_query = request
        .dataset_query
        .ok_or_else(|| GatewayError::invalid_argument("dataset_query", "dataset_query is required"))?;
    let settings = request.visualization_settings.unwrap_or_default();
    Ok(BodyBuilder::default()
        .set("name", request.name)
        .set("display", request.display)
        .structure("dataset_query", Some(dataset_query))
        .structure("visualization_settings", Some(settings))
        .maybe("description", request.description)
        .maybe("type", request.r#type)
        .maybe("collection_id", request.collection_id.as_ref().map(collection_value))
        .maybe("collection_position", request.collection_position)
        .list("parameters", request.parameters)
        .maybe("cache_ttl", request.cache_ttl)
        .maybe("dashboard_id", request.dashboard_id)
        .maybe("dashboard_tab_id", request.dashboard_tab_id)
        .list("parameter_mappings", request.parameter_mappings)
        .list("result_metadata", request.result_metadata)
        .build())
}

fn nullable_zero(value: i64) -> Value {
    if value == 0 { Value::Null } else { Value::from(value) }
}

/// Builds `PUT /api/card/:id`'s body from only the fields the caller set.
pub fn update_body(request: UpdateCardRequest) -> Map<String, Value> {
    BodyBuilder::default()
        .maybe("name", request.name)
        .maybe(
            "description",
            request.description.map(|text| if text.is_empty() { Value::Null } else { Value::String(text) }),
        )
        .structure("dataset_query", request.dataset_query)
        .maybe("type", request.r#type)
        .maybe("display", request.display)
        .structure("visualization_settings", request.visualization_settings)
        .maybe("archived", request.archived)
        .maybe("collection_id", request.collection_id.as_ref().map(collection_value))
        .maybe("collection_position", request.collection_position.map(|position| nullable_zero(position.into())))
        .maybe("collection_preview", request.collection_preview)
        .maybe("enable_embedding", request.enable_embedding)
        .maybe("embedding_type", request.embedding_type)
        .structure("embedding_params", request.embedding_params)
        .list("result_metadata", request.result_metadata)
        .maybe("cache_ttl", request.cache_ttl.map(|ttl| nullable_zero(ttl.into())))
        .list("parameters", request.parameters)
        .list("parameter_mappings", request.parameter_mappings)
        .maybe("dashboard_id", request.dashboard_id.map(nullable_zero))
        .maybe("dashboard_tab_id", request.dashboard_tab_id.map(nullable_zero))
        .build()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pb::v1::{CollectionRef, collection_ref};

    #[test]
    fn a_card_keeps_every_unknown_key_in_extra_and_reads_the_root_collection() {
        let converted =
            card(json!({"id": 3, "name": "Revenue", "collection_id": null, "creator": {"id": 1}, "new_key": 5}));
        assert_eq!((converted.id, converted.name.as_str()), (3, "Revenue"));
        assert_eq!(converted.collection_id.unwrap().collection, Some(collection_ref::Collection::Root(true)));
        let extra = converted.extra.unwrap();
        assert!(extra.fields.contains_key("creator") && extra.fields.contains_key("new_key"));
        assert!(!extra.fields.contains_key("name"));
    }

    #[test]
    fn an_update_sends_only_what_the_caller_set() {
        let request = UpdateCardRequest {
            card_id: 1,
            archived: Some(true),
            collection_id: Some(CollectionRef { collection: Some(collection_ref::Collection::Root(true)) }),
            ..Default::default()
        };
        assert_eq!(Value::Object(update_body(request)), json!({"archived": true, "collection_id": null}));
    }
}
