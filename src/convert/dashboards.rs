//! Dashboards: Metabase's dashboard (with dashcards and tabs) to `Dashboard`, and the bodies.

use serde_json::{Map, Value, json};

use super::json::{Fields, from_struct};
use super::{BodyBuilder, cards, collection_ref, collection_value};
use crate::error::GatewayError;
use crate::pb::v1::{CreateDashboardRequest, Dashboard, DashboardCard, DashboardTab, UpdateDashboardRequest};

/// Converts Metabase's dashboard JSON.
pub fn dashboard(value: Value) -> Dashboard {
    let mut fields = Fields::new(value);
    Dashboard {
        id: fields.int("id"),
        entity_id: fields.string("entity_id"),
        name: fields.string("name"),
        description: fields.opt_string("description"),
        archived: fields.bool("archived"),
        collection_id: collection_ref(&fields.take("collection_id")),
        collection_position: fields.opt_i32("collection_position"),
        creator_id: fields.int("creator_id"),
        parameters: fields.list("parameters"),
        dashcards: fields.objects("dashcards").into_iter().map(dashcard).collect(),
        tabs: fields.objects("tabs").into_iter().map(tab).collect(),
        width: fields.opt_string("width"),
        auto_apply_filters: fields.bool("auto_apply_filters"),
        cache_ttl: fields.opt_i32("cache_ttl"),
        created_at: fields.timestamp("created_at"),
        updated_at: fields.timestamp("updated_at"),
        can_write: fields.opt_bool("can_write"),
        extra: fields.extra(),
    }
}

fn dashcard(value: Value) -> DashboardCard {
    let mut fields = Fields::new(value);
    let card = match fields.take("card") {
        Value::Object(card) if card.contains_key("name") => Some(cards::card(Value::Object(card))),
        _ => None,
    };
    DashboardCard {
        id: fields.int("id"),
        card_id: fields.opt_int("card_id"),
        dashboard_tab_id: fields.opt_int("dashboard_tab_id"),
        row: fields.opt_i32("row").unwrap_or_default(),
        col: fields.opt_i32("col").unwrap_or_default(),
        size_x: fields.opt_i32("size_x").unwrap_or_default(),
        size_y: fields.opt_i32("size_y").unwrap_or_default(),
        parameter_mappings: fields.list("parameter_mappings"),
        visualization_settings: fields.structure("visualization_settings"),
        series: fields.list("series"),
        card,
        extra: fields.extra(),
    }
}

fn tab(value: Value) -> DashboardTab {
    let mut fields = Fields::new(value);
    DashboardTab {
        id: fields.int("id"),
        name: fields.string("name"),
        position: fields.opt_i32("position").unwrap_or_default(),
        extra: fields.extra(),
    }
}

/// Builds `POST /api/dashboard`'s body.
pub fn create_body(request: CreateDashboardRequest) -> Result<Map<String, Value>, GatewayError> {
    if request.name.trim().is_empty() {
        return Err(GatewayError::invalid_argument("name", "name is required"));
    }
    Ok(BodyBuilder::default()
        .set("name", request.name)
        .maybe("description", request.description)
        .list("parameters", request.parameters)
        .maybe("cache_ttl", request.cache_ttl)
        .maybe("collection_id", request.collection_id.as_ref().map(collection_value))
        .maybe("collection_position", request.collection_position)
        .build())
}

fn dashcard_body(card: DashboardCard) -> Value {
    let mut body = card.extra.map(from_struct).unwrap_or_default();
    body.insert("id".into(), json!(card.id));
    body.insert("card_id".into(), json!(card.card_id));
    body.insert("dashboard_tab_id".into(), json!(card.dashboard_tab_id));
    body.insert("row".into(), json!(card.row));
    body.insert("col".into(), json!(card.col));
    body.insert("size_x".into(), json!(card.size_x));
    body.insert("size_y".into(), json!(card.size_y));
    if let Some(mappings) = card.parameter_mappings {
        body.insert("parameter_mappings".into(), super::json::from_list(mappings));
    }
    if let Some(settings) = card.visualization_settings {
        body.insert("visualization_settings".into(), Value::Object(from_struct(settings)));
    }
    if let Some(series) = card.series {
        body.insert("series".into(), super::json::from_list(series));
    }
    Value::Object(body)
}

fn tab_body(tab: DashboardTab) -> Value {
    let mut body = tab.extra.map(from_struct).unwrap_or_default();
    body.insert("id".into(), json!(tab.id));
    body.insert("name".into(), json!(tab.name));
    Value::Object(body)
}

/// Builds `PUT /api/dashboard/:id`'s body; `dashcards` and `tabs` are sent as complete sets when
/// the caller set them (or asked to replace them with nothing).
pub fn update_body(request: UpdateDashboardRequest) -> Map<String, Value> {
    let mut body = BodyBuilder::default()
        .maybe("name", request.name)
        .maybe(
            "description",
            request.description.map(|text| if text.is_empty() { Value::Null } else { Value::String(text) }),
        )
        .maybe("archived", request.archived)
        .maybe("collection_id", request.collection_id.as_ref().map(collection_value))
        .maybe(
            "collection_position",
            request.collection_position.map(|position| if position == 0 { Value::Null } else { json!(position) }),
        )
        .list("parameters", request.parameters)
        .maybe("width", request.width)
        .maybe("auto_apply_filters", request.auto_apply_filters)
        .maybe("cache_ttl", request.cache_ttl.map(|ttl| if ttl == 0 { Value::Null } else { json!(ttl) }))
        .maybe("caveats", request.caveats)
        .maybe("points_of_interest", request.points_of_interest)
        .maybe("show_in_getting_started", request.show_in_getting_started)
        .maybe("enable_embedding", request.enable_embedding)
        .maybe("embedding_type", request.embedding_type)
        .structure("embedding_params", request.embedding_params)
        .maybe("position", request.position.map(|position| if position == 0 { Value::Null } else { json!(position) }))
        .build();
    if request.replace_tabs || !request.tabs.is_empty() {
        body.insert("tabs".into(), Value::Array(request.tabs.into_iter().map(tab_body).collect()));
    }
    if request.replace_dashcards || !request.dashcards.is_empty() {
        body.insert("dashcards".into(), Value::Array(request.dashcards.into_iter().map(dashcard_body).collect()));
    }
    body
}
