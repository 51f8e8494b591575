//! Dashboards: the client's dashboard model (with dashcards and tabs) to `Dashboard`, and the
//! create and update requests to the client's `DashboardCreate` and `DashboardUpdate` bodies.

use serde_json::{Map, Value};

use super::cards::{empty_clears, zero_clears};
use super::collection_ref;
use super::collection_target;
use super::json::from_struct;
use super::model::{extra, list, list_items, object, proto_of, small, timestamp};
use crate::error::GatewayError;
use crate::metabase::{
    CardId, DashCard as UpstreamDashCard, DashCardId, DashCardUpdate, Dashboard as UpstreamDashboard, DashboardCreate,
    DashboardTab as UpstreamTab, DashboardUpdate, HydratedCard, TabId, TabUpdate,
};
use crate::pb::v1::{Card, CreateDashboardRequest, Dashboard, DashboardCard, DashboardTab, UpdateDashboardRequest};

impl From<UpstreamDashboard> for Dashboard {
    fn from(dashboard: UpstreamDashboard) -> Self {
        Dashboard {
            id: dashboard.id.get(),
            entity_id: dashboard.entity_id.unwrap_or_default(),
            name: dashboard.name.unwrap_or_default(),
            description: dashboard.description,
            archived: dashboard.archived,
            collection_id: collection_ref(dashboard.collection_id),
            collection_position: small(dashboard.collection_position),
            creator_id: dashboard.creator_id.map(|id| id.get()).unwrap_or_default(),
            parameters: list(dashboard.parameters),
            dashcards: dashboard.dashcards.into_iter().map(DashboardCard::from).collect(),
            tabs: dashboard.tabs.into_iter().map(DashboardTab::from).collect(),
            width: dashboard.width,
            auto_apply_filters: dashboard.auto_apply_filters.unwrap_or_default(),
            cache_ttl: small(dashboard.cache_ttl),
            created_at: timestamp(dashboard.created_at.as_deref()),
            updated_at: timestamp(dashboard.updated_at.as_deref()),
            can_write: dashboard.can_write,
            extra: extra(
                dashboard.extra,
                [
                    ("collection", proto_of(dashboard.collection.as_ref())),
                    ("last-edit-info", proto_of(dashboard.last_edit_info.as_ref())),
                ],
            ),
        }
    }
}

impl From<UpstreamDashCard> for DashboardCard {
    fn from(dashcard: UpstreamDashCard) -> Self {
        // Only a card with a name is one the caller may read; `{"id": n}` says nothing more.
        let card = match dashcard.card {
            Some(HydratedCard::Card(card)) if card.name.is_some() => Some(Card::from(*card)),
            _ => None,
        };
        let series = dashcard.series.iter().filter_map(|card| proto_of(Some(card))).collect();
        DashboardCard {
            id: dashcard.id.get(),
            card_id: dashcard.card_id.map(|id| id.get()),
            dashboard_tab_id: dashcard.dashboard_tab_id.map(|id| id.get()),
            row: small(dashcard.row).unwrap_or_default(),
            col: small(dashcard.col).unwrap_or_default(),
            size_x: small(dashcard.size_x).unwrap_or_default(),
            size_y: small(dashcard.size_y).unwrap_or_default(),
            parameter_mappings: list(dashcard.parameter_mappings),
            visualization_settings: object(dashcard.visualization_settings),
            series: list(series),
            card,
            extra: extra(
                dashcard.extra,
                [
                    ("dashboard_id", proto_of(dashcard.dashboard_id.as_ref())),
                    ("created_at", proto_of(dashcard.created_at.as_ref())),
                    ("updated_at", proto_of(dashcard.updated_at.as_ref())),
                ],
            ),
        }
    }
}

impl From<UpstreamTab> for DashboardTab {
    fn from(tab: UpstreamTab) -> Self {
        DashboardTab {
            id: tab.id.get(),
            name: tab.name.unwrap_or_default(),
            position: small(tab.position).unwrap_or_default(),
            extra: extra(
                tab.extra,
                [
                    ("dashboard_id", proto_of(tab.dashboard_id.as_ref())),
                    ("created_at", proto_of(tab.created_at.as_ref())),
                    ("updated_at", proto_of(tab.updated_at.as_ref())),
                ],
            ),
        }
    }
}

impl TryFrom<CreateDashboardRequest> for DashboardCreate {
    type Error = GatewayError;

    fn try_from(request: CreateDashboardRequest) -> Result<Self, GatewayError> {
        if request.name.trim().is_empty() {
            return Err(GatewayError::invalid_argument("name", "name is required"));
        }
        Ok(DashboardCreate {
            name: request.name,
            description: request.description,
            parameters: request.parameters.map(list_items),
            cache_ttl: request.cache_ttl.map(i64::from),
            collection_id: request.collection_id.as_ref().map(collection_target),
            collection_position: request.collection_position.map(i64::from),
            extra: Map::new(),
        })
    }
}

/// Returns a caller's `extra` without the keys the typed body sends itself.
fn untyped(extra: Option<prost_types::Struct>, typed: &[&str]) -> Map<String, Value> {
    let mut map = extra.map(from_struct).unwrap_or_default();
    map.retain(|key, _| !typed.contains(&key.as_str()));
    map
}

impl From<DashboardCard> for DashCardUpdate {
    fn from(dashcard: DashboardCard) -> Self {
        let mut sent = vec!["id", "card_id", "dashboard_tab_id", "row", "col", "size_x", "size_y"];
        let optional = [
            ("parameter_mappings", dashcard.parameter_mappings.is_some()),
            ("visualization_settings", dashcard.visualization_settings.is_some()),
            ("series", dashcard.series.is_some()),
        ];
        sent.extend(optional.into_iter().filter(|(_, set)| *set).map(|(key, _)| key));
        DashCardUpdate {
            id: DashCardId(dashcard.id),
            card_id: dashcard.card_id.map(CardId),
            dashboard_tab_id: dashcard.dashboard_tab_id.map(TabId),
            row: dashcard.row.into(),
            col: dashcard.col.into(),
            size_x: dashcard.size_x.into(),
            size_y: dashcard.size_y.into(),
            parameter_mappings: dashcard.parameter_mappings.map(list_items),
            visualization_settings: dashcard.visualization_settings.map(from_struct),
            series: dashcard.series.map(list_items),
            extra: untyped(dashcard.extra, &sent),
        }
    }
}

impl From<DashboardTab> for TabUpdate {
    fn from(tab: DashboardTab) -> Self {
        TabUpdate { id: TabId(tab.id), name: tab.name, extra: untyped(tab.extra, &["id", "name"]) }
    }
}

impl From<UpdateDashboardRequest> for DashboardUpdate {
    fn from(request: UpdateDashboardRequest) -> Self {
        let tabs = (request.replace_tabs || !request.tabs.is_empty())
            .then(|| request.tabs.into_iter().map(TabUpdate::from).collect());
        let dashcards = (request.replace_dashcards || !request.dashcards.is_empty())
            .then(|| request.dashcards.into_iter().map(DashCardUpdate::from).collect());
        DashboardUpdate {
            name: request.name,
            description: empty_clears(request.description),
            archived: request.archived,
            collection_id: request.collection_id.as_ref().map(collection_target),
            collection_position: zero_clears(request.collection_position.map(i64::from), |position| position),
            parameters: request.parameters.map(list_items),
            width: request.width,
            auto_apply_filters: request.auto_apply_filters,
            cache_ttl: zero_clears(request.cache_ttl.map(i64::from), |ttl| ttl),
            caveats: request.caveats,
            points_of_interest: request.points_of_interest,
            show_in_getting_started: request.show_in_getting_started,
            enable_embedding: request.enable_embedding,
            embedding_type: request.embedding_type,
            embedding_params: request.embedding_params.map(from_struct),
            position: zero_clears(request.position.map(i64::from), |position| position),
            tabs,
            dashcards,
            extra: Map::new(),
        }
    }
}

/// Returns the cards a requested dashcard's series names, by the `id` of each series entry the
/// caller sent.
pub(crate) fn series_card_ids(dashcard: &DashCardUpdate) -> Vec<CardId> {
    let series = dashcard.series.iter().flatten();
    series.filter_map(|card| card.get("id").and_then(Value::as_i64)).map(CardId).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::convert::json::{to_list, to_struct};
    use crate::pb::v1::{CollectionRef, collection_ref};

    fn dashboard(value: Value) -> Dashboard {
        Dashboard::from(serde_json::from_value::<UpstreamDashboard>(value).unwrap())
    }

    fn object_of(value: Value) -> prost_types::Struct {
        to_struct(value.as_object().cloned().unwrap())
    }

    #[test]
    fn a_dashboard_reads_its_dashcards_tabs_and_keeps_unknown_keys_in_extra() {
        let converted = dashboard(json!({
            "id": 3, "name": "Sales", "collection_id": 2, "auto_apply_filters": true, "param_fields": {},
            "collection": {"id": 2, "location": "/"},
            "dashcards": [
                {"id": 10, "card_id": 42, "card": {"id": 42, "name": "Orders"}, "row": 1, "size_x": 6,
                 "series": [{"id": 9, "name": "Refunds"}], "inline_parameters": [], "dashboard_id": 3},
                {"id": 11, "card_id": 43, "card": {"id": 43}},
                {"id": 12, "card_id": null, "card": {"query_average_duration": null},
                 "visualization_settings": {"text": "hi"}}
            ],
            "tabs": [{"id": 1, "name": "Overview", "position": 0, "entity_id": "abc"}]
        }));

        assert_eq!(converted.collection_id.unwrap().collection, Some(collection_ref::Collection::Id(2)));
        assert!(converted.auto_apply_filters);
        let extra = from_struct(converted.extra.unwrap());
        assert!(extra.contains_key("param_fields"));
        assert_eq!(extra["collection"], json!({"id": 2, "location": "/"}));
        let [placed, unreadable, text] = &converted.dashcards[..] else { panic!("three dashcards") };
        assert_eq!(placed.card.as_ref().map(|card| card.name.as_str()), Some("Orders"));
        assert_eq!((placed.row, placed.size_x), (1, 6));
        assert_eq!(
            crate::convert::json::from_list(placed.series.clone().unwrap()),
            json!([{"id": 9, "name": "Refunds"}])
        );
        let placed_extra = from_struct(placed.extra.clone().unwrap());
        assert_eq!((&placed_extra["inline_parameters"], &placed_extra["dashboard_id"]), (&json!([]), &json!(3)));
        assert_eq!((unreadable.card_id, &unreadable.card), (Some(43), &None));
        assert_eq!((text.card_id, &text.card), (None, &None));
        assert!(text.visualization_settings.is_some());
        assert_eq!(converted.tabs[0].name, "Overview");
        assert!(converted.tabs[0].extra.as_ref().unwrap().fields.contains_key("entity_id"));
    }

    #[test]
    fn an_update_sends_only_what_the_caller_set_with_nulls_for_cleared_values() {
        let root = Some(CollectionRef { collection: Some(collection_ref::Collection::Root(true)) });
        let cases = [
            (UpdateDashboardRequest::default(), json!({})),
            (UpdateDashboardRequest { collection_id: root, ..Default::default() }, json!({"collection_id": null})),
            (
                UpdateDashboardRequest { description: Some(String::new()), ..Default::default() },
                json!({"description": null}),
            ),
            (
                UpdateDashboardRequest { cache_ttl: Some(0), position: Some(2), ..Default::default() },
                json!({"cache_ttl": null, "position": 2}),
            ),
            (UpdateDashboardRequest { replace_dashcards: true, ..Default::default() }, json!({"dashcards": []})),
            (
                UpdateDashboardRequest { replace_tabs: true, width: Some("full".into()), ..Default::default() },
                json!({"width": "full", "tabs": []}),
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(serde_json::to_value(DashboardUpdate::from(request)).unwrap(), expected);
        }
    }

    #[test]
    fn a_dashcard_sends_its_place_its_extra_keys_and_typed_values_over_extra_ones() {
        let dashcard = DashboardCard {
            id: -1,
            card_id: Some(42),
            size_x: 4,
            size_y: 3,
            series: Some(to_list(vec![json!({"id": 9})])),
            extra: Some(object_of(json!({"inline_parameters": [], "row": 7, "series": [], "parameter_mappings": [1]}))),
            ..Default::default()
        };

        let body = DashCardUpdate::from(dashcard);

        assert_eq!(series_card_ids(&body), [CardId(9)]);
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            json!({"id": -1, "card_id": 42, "dashboard_tab_id": null, "row": 0, "col": 0, "size_x": 4, "size_y": 3,
                   "series": [{"id": 9}], "inline_parameters": [], "parameter_mappings": [1]})
        );
    }

    #[test]
    fn a_create_needs_a_name_and_sends_null_for_the_root_collection() {
        let root = Some(CollectionRef { collection: Some(collection_ref::Collection::Root(true)) });
        let refused = DashboardCreate::try_from(CreateDashboardRequest { name: " ".into(), ..Default::default() });
        assert!(matches!(refused, Err(GatewayError::InvalidArgument { field, .. }) if field == "name"));
        let request = CreateDashboardRequest { name: "Sales".into(), collection_id: root, ..Default::default() };
        let body = serde_json::to_value(DashboardCreate::try_from(request).unwrap()).unwrap();
        assert_eq!(body, json!({"name": "Sales", "collection_id": null}));
    }
}
