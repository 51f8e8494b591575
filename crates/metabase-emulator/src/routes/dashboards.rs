//! Dashboards (CONTRACT.md §5): the deprecated list, details with dashcards and tabs, create,
//! and update where `dashcards` and `tabs` are each the complete desired set.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, positive_id};
use crate::state::{Access, AppState, DashCard, Dashboard, DashboardTab, entity_id, now};

fn find_dashboard(state: &AppState, raw: &str) -> Result<i64, ApiError> {
    if raw.len() == 21 && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return state
            .dashboards
            .values()
            .find(|item| item.entity_id == raw)
            .map(|item| item.id)
            .ok_or(ApiError::NotFound);
    }
    let id = positive_id("id", raw)?;
    if state.dashboards.contains_key(&id) { Ok(id) } else { Err(ApiError::NotFound) }
}

/// `GET /api/dashboard` (deprecated upstream, still served).
pub(super) async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let filter = params.get("f").unwrap_or("all");
    if !["all", "mine", "archived"].contains(&filter) {
        return Err(ApiError::invalid("f", "nullable enum of all, mine, archived", &json!(filter)));
    }
    let state = context.state();
    let mut dashboards: Vec<&Dashboard> = state
        .dashboards
        .values()
        .filter(|item| match filter {
            "archived" => item.archived,
            "mine" => !item.archived && item.creator_id == caller.user_id,
            _ => !item.archived,
        })
        .filter(|item| state.collection_access(caller.user_id, item.collection_id) != Access::None)
        .collect();
    dashboards.sort_by_key(|item| (item.name.to_lowercase(), item.id));
    let rendered: Vec<Value> =
        dashboards.into_iter().map(|item| render::dashboard_summary(&state, item, caller)).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(rendered)))
}

/// `GET /api/dashboard/:id`.
pub(super) async fn get_one(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let state = context.state();
    let id = find_dashboard(&state, &id)?;
    let dashboard = state.dashboards.get(&id).ok_or(ApiError::NotFound)?;
    if state.collection_access(caller.user_id, dashboard.collection_id) == Access::None {
        return Err(ApiError::Forbidden);
    }
    Ok(json_response(StatusCode::OK, &render::dashboard_detail(&state, dashboard, caller)))
}

/// `POST /api/dashboard`.
pub(super) async fn create(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    let name = body.required_string("name")?;
    let collection_id = body.optional_positive_int("collection_id")?;
    let collection_position = body.optional_positive_int("collection_position")?;
    let cache_ttl = body.optional_positive_int("cache_ttl")?;
    let parameters = match body.get("parameters") {
        None => json!([]),
        Some(Value::Array(items)) => Value::Array(items.clone()),
        Some(other) => return Err(ApiError::invalid("parameters", "nullable sequence of parameter", other)),
    };
    let mut state = context.state();
    if let Some(collection) = collection_id
        && !state.collections.contains_key(&collection)
    {
        return Err(ApiError::NotFound);
    }
    if state.collection_access(caller.user_id, collection_id) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    let id = state.next_id();
    let timestamp = now();
    let dashboard = Dashboard {
        id,
        entity_id: entity_id("dashboard", id),
        name,
        description: body.get("description").and_then(Value::as_str).map(str::to_owned),
        collection_id,
        collection_position,
        archived: false,
        archived_directly: false,
        parameters,
        creator_id: caller.user_id,
        created_at: timestamp.clone(),
        updated_at: timestamp,
        width: "fixed".into(),
        auto_apply_filters: true,
        cache_ttl,
        dashcards: Vec::new(),
        tabs: Vec::new(),
        extra: Map::new(),
    };
    state.dashboards.insert(id, dashboard.clone());
    Ok(json_response(StatusCode::OK, &render::dashboard_detail(&state, &dashboard, caller)))
}

fn int_field(item: &Value, key: &str, minimum: i64) -> Result<i64, ApiError> {
    item.get(key).and_then(Value::as_i64).filter(|value| *value >= minimum).ok_or_else(|| {
        ApiError::invalid("dashcards", &format!("each dashcard needs an integer {key} of at least {minimum}"), item)
    })
}

/// Applies the complete desired set of tabs; returns the mapping from temporary to real ids.
fn apply_tabs(
    state: &mut AppState,
    current: &[DashboardTab],
    wanted: &[Value],
) -> Result<(Vec<DashboardTab>, HashMap<i64, i64>), ApiError> {
    let mut tabs = Vec::new();
    let mut mapping = HashMap::new();
    for (position, item) in wanted.iter().enumerate() {
        let id = item
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::invalid("tabs", "each tab needs an integer id", item))?;
        let name = item.get("name").and_then(Value::as_str).filter(|name| !name.trim().is_empty());
        let name = name.ok_or_else(|| ApiError::invalid("tabs", "each tab needs a non-blank name", item))?;
        let existing = current.iter().find(|tab| tab.id == id && id > 0);
        let real_id = match existing {
            Some(tab) => tab.id,
            None => state.next_id(),
        };
        mapping.insert(id, real_id);
        let timestamp = now();
        tabs.push(DashboardTab {
            id: real_id,
            name: name.into(),
            position: position as i64,
            entity_id: existing.map_or_else(|| entity_id("tab", real_id), |tab| tab.entity_id.clone()),
            created_at: existing.map_or_else(|| timestamp.clone(), |tab| tab.created_at.clone()),
            updated_at: timestamp,
        });
    }
    Ok((tabs, mapping))
}

fn apply_dashcards(
    state: &mut AppState,
    current: &[DashCard],
    wanted: &[Value],
    tab_ids: &HashMap<i64, i64>,
    has_tabs: bool,
) -> Result<Vec<DashCard>, ApiError> {
    let mut dashcards = Vec::new();
    for item in wanted {
        let id = item
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::invalid("dashcards", "each dashcard needs an integer id", item))?;
        let tab =
            item.get("dashboard_tab_id").and_then(Value::as_i64).map(|tab| tab_ids.get(&tab).copied().unwrap_or(tab));
        if has_tabs && tab.is_none() {
            return Err(ApiError::bad_request("This dashboard has tab, makes sure every card has a tab"));
        }
        let card_id = item.get("card_id").and_then(Value::as_i64);
        if let Some(card) = card_id
            && !state.cards.contains_key(&card)
        {
            return Err(ApiError::NotFound);
        }
        let existing = current.iter().find(|dashcard| dashcard.id == id && id > 0);
        let real_id = match existing {
            Some(dashcard) => dashcard.id,
            None => state.next_id(),
        };
        let timestamp = now();
        let keep = |key: &str, fallback: Value| item.get(key).cloned().unwrap_or(fallback);
        dashcards.push(DashCard {
            id: real_id,
            card_id: card_id.or(existing.and_then(|dashcard| dashcard.card_id)),
            dashboard_tab_id: tab,
            row: int_field(item, "row", 0)?,
            col: int_field(item, "col", 0)?,
            size_x: int_field(item, "size_x", 1)?,
            size_y: int_field(item, "size_y", 1)?,
            parameter_mappings: keep(
                "parameter_mappings",
                existing.map_or(json!([]), |d| d.parameter_mappings.clone()),
            ),
            visualization_settings: keep(
                "visualization_settings",
                existing.map_or(json!({}), |d| d.visualization_settings.clone()),
            ),
            series: keep("series", existing.map_or(json!([]), |d| d.series.clone())),
            inline_parameters: keep("inline_parameters", existing.map_or(json!([]), |d| d.inline_parameters.clone())),
            created_at: existing.map_or_else(|| timestamp.clone(), |d| d.created_at.clone()),
            updated_at: timestamp,
        });
    }
    Ok(dashcards)
}

/// `PUT /api/dashboard/:id`.
pub(super) async fn update(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let name = body.optional_string("name")?;
    let archived = body.optional_bool("archived")?;
    if let Some(width) = body.get("width")
        && !matches!(width.as_str(), Some("fixed") | Some("full"))
    {
        return Err(ApiError::invalid("width", "nullable enum of fixed, full", width));
    }
    let new_collection =
        if body.has("collection_id") { Some(body.optional_positive_int("collection_id")?) } else { None };
    let mut state = context.state();
    let dashboard = state.dashboards.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if state.collection_access(caller.user_id, dashboard.collection_id) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    let moving_to =
        if archived == Some(true) { None } else { new_collection.filter(|target| *target != dashboard.collection_id) };
    if let Some(target) = moving_to
        && state.collection_access(caller.user_id, target) != Access::Write
    {
        return Err(ApiError::Forbidden);
    }
    // Metabase touches tabs and dashcards only when the body carries `dashcards`: a body with
    // only `tabs` changes neither.
    let with_layout = body.has("dashcards");
    let (tabs, tab_ids) = match body.get("tabs").filter(|_| with_layout) {
        Some(Value::Array(wanted)) => {
            let (tabs, mapping) = apply_tabs(&mut state, &dashboard.tabs, wanted)?;
            (Some(tabs), mapping)
        }
        Some(other) => return Err(ApiError::invalid("tabs", "nullable sequence of tabs", other)),
        None => (None, HashMap::new()),
    };
    let has_tabs = tabs.as_ref().map_or(!dashboard.tabs.is_empty(), |tabs| !tabs.is_empty());
    let dashcards = match body.get("dashcards") {
        Some(Value::Array(wanted)) => {
            Some(apply_dashcards(&mut state, &dashboard.dashcards, wanted, &tab_ids, has_tabs)?)
        }
        Some(other) => return Err(ApiError::invalid("dashcards", "nullable sequence of dashcards", other)),
        None => None,
    };
    let stored = state.dashboards.get_mut(&id).ok_or(ApiError::NotFound)?;
    if let Some(name) = name {
        stored.name = name;
    }
    if body.has("description") {
        stored.description = body.get("description").and_then(Value::as_str).map(str::to_owned);
    }
    if let Some(width) = body.get("width").and_then(Value::as_str) {
        stored.width = width.into();
    }
    if let Some(parameters) = body.get("parameters") {
        stored.parameters = parameters.clone();
    }
    if let Some(auto_apply) = body.get("auto_apply_filters").and_then(Value::as_bool) {
        stored.auto_apply_filters = auto_apply;
    }
    if body.has("collection_position") {
        stored.collection_position = body.get("collection_position").and_then(Value::as_i64);
    }
    if body.has("cache_ttl") {
        stored.cache_ttl = body.get("cache_ttl").and_then(Value::as_i64);
    }
    for key in ["caveats", "points_of_interest", "position"] {
        if let Some(value) = body.get(key) {
            stored.extra.insert(key.into(), value.clone());
        }
    }
    if let Some(target) = moving_to {
        stored.collection_id = target;
    }
    match archived {
        Some(true) if !stored.archived => {
            stored.archived = true;
            stored.archived_directly = true;
        }
        Some(false) if stored.archived => {
            stored.archived = false;
            stored.archived_directly = false;
        }
        _ => {}
    }
    if let Some(tabs) = tabs {
        stored.tabs = tabs;
    }
    if let Some(dashcards) = dashcards {
        stored.dashcards = dashcards;
    }
    stored.updated_at = now();
    let dashboard = stored.clone();
    Ok(json_response(StatusCode::OK, &render::dashboard_detail(&state, &dashboard, caller)))
}

/// `DELETE /api/dashboard/:id`: a hard delete, 204.
pub(super) async fn remove(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let mut state = context.state();
    let dashboard = state.dashboards.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if state.collection_access(caller.user_id, dashboard.collection_id) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    state.dashboards.remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
