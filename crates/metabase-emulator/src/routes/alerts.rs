//! Alerts (CONTRACT.md §13): the 0.54+ compatibility shim that serves card notifications as
//! legacy pulse-shaped objects, and unsubscribing the caller.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Caller, Params, json_response, positive_id};
use crate::state::{Access, Alert, AppState};

fn alert_json(state: &AppState, alert: &Alert) -> Value {
    let card = state.cards.get(&alert.card_id);
    let recipients: Vec<Value> = alert
        .subscriber_ids
        .iter()
        .filter_map(|id| state.users.get(id))
        .map(|user| json!({"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name, "common_name": user.common_name()}))
        .collect();
    let emails: Vec<Value> =
        alert.subscriber_ids.iter().filter_map(|id| state.users.get(id)).map(|user| json!(user.email)).collect();
    json!({
        "id": alert.id,
        "name": null,
        "creator_id": alert.creator_id,
        "creator": render::creator(state, alert.creator_id),
        "created_at": alert.created_at,
        "updated_at": alert.updated_at,
        "alert_condition": if alert.send_condition == "has_result" { "rows" } else { "goal" },
        "alert_above_goal": if alert.send_condition == "goal_above" { json!(true) } else { Value::Null },
        "alert_first_only": alert.send_once,
        "archived": !alert.active,
        "collection_position": null,
        "collection_id": null,
        "skip_if_empty": true,
        "parameters": [],
        "dashboard_id": null,
        "card": {
            "id": alert.card_id,
            "name": card.map(|card| card.name.clone()),
            "description": card.and_then(|card| card.description.clone()),
            "collection_id": card.and_then(|card| card.collection_id),
            "display": card.map(|card| card.display.clone()),
            "format_rows": true, "include_xls": false, "include_csv": true, "pivot_results": false,
            "dashboard_id": null, "dashboard_card_id": null, "parameter_mappings": null
        },
        "channels": [{
            "id": alert.id,
            "channel_type": alert.channel_type,
            "channel_id": null,
            "enabled": true,
            "recipients": recipients,
            "details": {"emails": emails},
            "schedule_type": alert.schedule_type,
            "schedule_hour": alert.schedule_hour,
            "schedule_day": alert.schedule_day,
            "schedule_frame": null
        }]
    })
}

fn readable(state: &AppState, caller: Caller, alert: &Alert) -> bool {
    state.cards.get(&alert.card_id).is_some_and(|card| state.card_access(caller.user_id, card) != Access::None)
}

/// `GET /api/alert`: for non-admins `user_id` is forced to the caller.
pub async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let archived = params.boolean("archived", false)?;
    let requested_user = params.positive_int("user_id")?;
    let user_filter = if caller.is_superuser { requested_user } else { Some(caller.user_id) };
    let state = context.state();
    let alerts: Vec<Value> = state
        .alerts
        .values()
        .filter(|alert| alert.active != archived)
        .filter(|alert| user_filter.is_none_or(|user| alert.creator_id == user || alert.subscriber_ids.contains(&user)))
        .filter(|alert| readable(&state, caller, alert))
        .map(|alert| alert_json(&state, alert))
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(alerts)))
}

/// `GET /api/alert/:id`: `:id` is a notification id.
pub async fn get_one(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let state = context.state();
    let alert = state.alerts.get(&id).ok_or(ApiError::NotFound)?;
    if !readable(&state, caller, alert) {
        return Err(ApiError::Forbidden);
    }
    Ok(json_response(StatusCode::OK, &alert_json(&state, alert)))
}

/// `DELETE /api/alert/:id/subscription`: unsubscribes the caller; 204.
pub async fn unsubscribe(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let mut state = context.state();
    let alert = state.alerts.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if !readable(&state, caller, &alert) {
        return Err(ApiError::Forbidden);
    }
    if let Some(stored) = state.alerts.get_mut(&id) {
        stored.subscriber_ids.retain(|user| *user != caller.user_id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
