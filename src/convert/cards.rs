//! Cards: the client's card model to `Card`, and the create and update requests to the client's
//! `CardCreate` and `CardUpdate` bodies.

use super::json::from_struct;
use super::model::{extra, list, list_items, object, proto_of, small, timestamp};
use super::proto_json::IntoProto;
use super::{collection_ref, collection_target};
use crate::error::GatewayError;
use crate::metabase::{Card as UpstreamCard, CardCreate, CardUpdate, DashboardId, TabId};
use crate::pb::v1::{Card, CreateCardRequest, UpdateCardRequest};

impl<J: IntoProto> From<UpstreamCard<J>> for Card {
    fn from(card: UpstreamCard<J>) -> Self {
        Card {
            id: card.id.get(),
            entity_id: card.entity_id.unwrap_or_default(),
            name: card.name.unwrap_or_default(),
            description: card.description,
            r#type: card.card_type.unwrap_or_default(),
            display: card.display.unwrap_or_default(),
            dataset_query: object(card.dataset_query),
            visualization_settings: object(card.visualization_settings),
            query_type: card.query_type.unwrap_or_default(),
            database_id: card.database_id.map(|id| id.get()),
            table_id: card.table_id.map(|id| id.get()),
            result_metadata: card.result_metadata.and_then(list),
            collection_id: collection_ref(card.collection_id),
            collection_position: small(card.collection_position),
            dashboard_id: card.dashboard_id.map(|id| id.get()),
            dashboard_tab_id: card.dashboard_tab_id.map(|id| id.get()),
            archived: card.archived,
            parameters: list(card.parameters),
            parameter_mappings: card.parameter_mappings.and_then(list),
            cache_ttl: small(card.cache_ttl),
            creator_id: card.creator_id.map(|id| id.get()).unwrap_or_default(),
            created_at: timestamp(card.created_at.as_deref()),
            updated_at: timestamp(card.updated_at.as_deref()),
            can_write: card.can_write,
            extra: extra(
                card.extra,
                [
                    ("collection", proto_of(card.collection.as_ref())),
                    ("view_count", proto_of(card.view_count.as_ref())),
                    ("last-edit-info", proto_of(card.last_edit_info.as_ref())),
                ],
            ),
        }
    }
}

fn required(value: &str, field: &str) -> Result<(), GatewayError> {
    if value.trim().is_empty() {
        Err(GatewayError::invalid_argument(field, format!("{field} is required")))
    } else {
        Ok(())
    }
}

/// Reads a nullable number where the caller's 0 clears the value (sent as `null`).
pub(crate) fn zero_clears<T>(value: Option<i64>, wrap: impl FnOnce(i64) -> T) -> Option<Option<T>> {
    value.map(|value| if value == 0 { None } else { Some(wrap(value)) })
}

/// Reads a text where the caller's empty string clears the value (sent as `null`).
pub(crate) fn empty_clears(text: Option<String>) -> Option<Option<String>> {
    text.map(|text| Some(text).filter(|text| !text.is_empty()))
}

impl TryFrom<CreateCardRequest> for CardCreate {
    type Error = GatewayError;

    fn try_from(request: CreateCardRequest) -> Result<Self, GatewayError> {
        required(&request.name, "name")?;
        required(&request.display, "display")?;
        let dataset_query = request
            .dataset_query
            .ok_or_else(|| GatewayError::invalid_argument("dataset_query", "dataset_query is required"))?;
        Ok(CardCreate {
            name: request.name,
            display: request.display,
            dataset_query: from_struct(dataset_query),
            visualization_settings: from_struct(request.visualization_settings.unwrap_or_default()),
            description: request.description,
            card_type: request.r#type,
            collection_id: request.collection_id.as_ref().map(collection_target),
            collection_position: request.collection_position.map(i64::from),
            parameters: request.parameters.map(list_items),
            cache_ttl: request.cache_ttl.map(i64::from),
            dashboard_id: request.dashboard_id.map(DashboardId),
            dashboard_tab_id: request.dashboard_tab_id.map(TabId),
            parameter_mappings: request.parameter_mappings.map(list_items),
            result_metadata: request.result_metadata.map(list_items),
            extra: Default::default(),
        })
    }
}

impl From<UpdateCardRequest> for CardUpdate {
    fn from(request: UpdateCardRequest) -> Self {
        CardUpdate {
            name: request.name,
            description: empty_clears(request.description),
            dataset_query: request.dataset_query.map(from_struct),
            card_type: request.r#type,
            display: request.display,
            visualization_settings: request.visualization_settings.map(from_struct),
            archived: request.archived,
            collection_id: request.collection_id.as_ref().map(collection_target),
            collection_position: zero_clears(request.collection_position.map(i64::from), |position| position),
            collection_preview: request.collection_preview,
            enable_embedding: request.enable_embedding,
            embedding_type: request.embedding_type,
            embedding_params: request.embedding_params.map(from_struct),
            result_metadata: request.result_metadata.map(list_items),
            cache_ttl: zero_clears(request.cache_ttl.map(i64::from), |ttl| ttl),
            parameters: request.parameters.map(list_items),
            parameter_mappings: request.parameter_mappings.map(list_items),
            dashboard_id: zero_clears(request.dashboard_id, DashboardId),
            dashboard_tab_id: zero_clears(request.dashboard_tab_id, TabId),
            extra: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::pb::v1::{CollectionRef, collection_ref};

    fn card(value: Value) -> Card {
        Card::from(serde_json::from_value::<UpstreamCard>(value).unwrap())
    }

    fn root() -> Option<CollectionRef> {
        Some(CollectionRef { collection: Some(collection_ref::Collection::Root(true)) })
    }

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
    fn a_card_reads_typed_fields_and_keeps_typed_fields_without_a_message_field_in_extra() {
        let converted = card(json!({
            "id": 8, "type": "model", "collection_id": 4, "collection_position": 2, "dashboard_tab_id": 6,
            "parameter_mappings": [{"parameter_id": "p"}], "cache_ttl": 30, "creator_id": 1,
            "created_at": "2025-03-28T21:15:18Z", "view_count": 12,
            "collection": {"id": 4, "location": "/1/"}, "last-edit-info": {"email": "ada@example.com"}
        }));

        assert_eq!(converted.r#type, "model");
        assert_eq!(converted.collection_id.unwrap().collection, Some(collection_ref::Collection::Id(4)));
        assert_eq!((converted.collection_position, converted.dashboard_tab_id), (Some(2), Some(6)));
        assert_eq!((converted.cache_ttl, converted.creator_id), (Some(30), 1));
        assert_eq!(converted.parameter_mappings.unwrap().values.len(), 1);
        assert_eq!(converted.created_at.unwrap().seconds, 1_743_196_518);
        let extra = from_struct(converted.extra.unwrap());
        assert_eq!(extra["view_count"], json!(12));
        assert_eq!(extra["collection"], json!({"id": 4, "location": "/1/"}));
        assert_eq!(extra["last-edit-info"]["email"], json!("ada@example.com"));
        assert!(!extra.contains_key("dashboard_tab_id") && !extra.contains_key("type"));
    }

    #[test]
    fn an_update_sends_only_what_the_caller_set() {
        let request = UpdateCardRequest {
            card_id: 1,
            archived: Some(true),
            collection_id: Some(CollectionRef { collection: Some(collection_ref::Collection::Root(true)) }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(CardUpdate::from(request)).unwrap(),
            json!({"archived": true, "collection_id": null})
        );
    }

    #[test]
    fn an_update_sends_null_for_the_values_the_caller_clears() {
        let cases = [
            (
                UpdateCardRequest { description: Some(String::new()), ..Default::default() },
                json!({"description": null}),
            ),
            (UpdateCardRequest { description: Some("d".into()), ..Default::default() }, json!({"description": "d"})),
            (
                UpdateCardRequest { collection_position: Some(0), ..Default::default() },
                json!({"collection_position": null}),
            ),
            (UpdateCardRequest { cache_ttl: Some(0), ..Default::default() }, json!({"cache_ttl": null})),
            (UpdateCardRequest { cache_ttl: Some(60), ..Default::default() }, json!({"cache_ttl": 60})),
            (UpdateCardRequest { dashboard_id: Some(0), ..Default::default() }, json!({"dashboard_id": null})),
            (UpdateCardRequest { dashboard_tab_id: Some(3), ..Default::default() }, json!({"dashboard_tab_id": 3})),
            (UpdateCardRequest::default(), json!({})),
        ];
        for (request, expected) in cases {
            assert_eq!(serde_json::to_value(CardUpdate::from(request)).unwrap(), expected);
        }
    }

    #[test]
    fn a_create_sends_the_required_keys_and_null_for_the_root_collection() {
        let request = CreateCardRequest {
            name: "Orders".into(),
            display: "table".into(),
            dataset_query: Some(crate::convert::json::to_struct(json!({"database": 1}).as_object().cloned().unwrap())),
            collection_id: root(),
            ..Default::default()
        };

        let body = serde_json::to_value(CardCreate::try_from(request).unwrap()).unwrap();

        assert_eq!(
            body,
            json!({"name": "Orders", "display": "table", "dataset_query": {"database": 1},
                   "visualization_settings": {}, "collection_id": null})
        );
    }

    #[test]
    fn a_create_without_name_display_or_query_is_refused_with_the_field() {
        let query = Some(prost_types::Struct::default());
        let cases = [
            (CreateCardRequest { display: "table".into(), dataset_query: query.clone(), ..Default::default() }, "name"),
            (CreateCardRequest { name: "n".into(), dataset_query: query, ..Default::default() }, "display"),
            (CreateCardRequest { name: "n".into(), display: "table".into(), ..Default::default() }, "dataset_query"),
        ];
        for (request, field) in cases {
            match CardCreate::try_from(request) {
                Err(GatewayError::InvalidArgument { field: refused, .. }) => assert_eq!(refused, field),
                other => panic!("expected {field} refused, got {other:?}"),
            }
        }
    }
}
