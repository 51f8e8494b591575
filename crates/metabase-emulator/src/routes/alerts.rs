//! Alerts (CONTRACT.md §13): the 0.54+ compatibility shim that serves card notifications as
//! legacy pulse-shaped objects, and unsubscribing the caller.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::notifications::{readable, remove_recipient};
use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Caller, Params, json_response, positive_id};
use crate::state::{AppState, Notification};

/// Reads a Quartz cron (`sec min hour day-of-month month day-of-week [year]`) as the legacy
/// schedule: `(schedule_type, schedule_hour, schedule_day)`.
fn legacy_schedule(cron: &str) -> (&'static str, Option<i64>, Option<String>) {
    let parts: Vec<&str> = cron.split_whitespace().collect();
    let hour = parts.get(2).and_then(|hour| hour.parse::<i64>().ok());
    let day_of_month = parts.get(3).copied().unwrap_or("*");
    let day_of_week = parts.get(5).copied().unwrap_or("?");
    match hour {
        None => ("hourly", None, None),
        Some(hour) if !matches!(day_of_week, "?" | "*") => {
            const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
            let day = day_of_week
                .parse::<usize>()
                .ok()
                .and_then(|day| DAYS.get(day.wrapping_sub(1)).map(|day| (*day).to_owned()))
                .unwrap_or_else(|| day_of_week.to_lowercase());
            ("weekly", Some(hour), Some(day))
        }
        Some(hour) if !matches!(day_of_month, "?" | "*") => ("monthly", Some(hour), None),
        Some(hour) => ("daily", Some(hour), None),
    }
}

fn alert_json(state: &AppState, notification: &Notification) -> Value {
    let payload = notification.payload.as_ref();
    let card = payload.and_then(|payload| state.cards.get(&payload.card_id));
    let condition = payload.map_or("has_result", |payload| payload.send_condition.as_str());
    let cron = notification
        .subscriptions
        .iter()
        .find_map(|subscription| subscription.get("cron_schedule").and_then(Value::as_str))
        .unwrap_or("0 0 * * * ? *");
    let (schedule_type, schedule_hour, schedule_day) = legacy_schedule(cron);
    let channels: Vec<Value> = notification
        .handlers
        .iter()
        .map(|handler| {
            let recipients: Vec<&Value> =
                handler.get("recipients").and_then(Value::as_array).map(|list| list.iter().collect()).unwrap_or_default();
            let users: Vec<Value> = recipients
                .iter()
                .filter_map(|recipient| recipient.get("user_id").and_then(Value::as_i64))
                .filter_map(|id| state.users.get(&id))
                .map(|user| json!({"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name, "common_name": user.common_name()}))
                .collect();
            let emails: Vec<Value> = recipients
                .iter()
                .filter_map(|recipient| match recipient.get("user_id").and_then(Value::as_i64) {
                    Some(id) => state.users.get(&id).map(|user| json!(user.email)),
                    None => recipient.get("details").and_then(|details| details.get("value")).cloned(),
                })
                .collect();
            let channel_type = handler.get("channel_type").and_then(Value::as_str).unwrap_or("channel/email");
            json!({
                "id": handler.get("id"),
                "channel_type": channel_type.trim_start_matches("channel/"),
                "channel_id": handler.get("channel_id"),
                "enabled": handler.get("active").and_then(Value::as_bool).unwrap_or(true),
                "recipients": users,
                "details": {"emails": emails},
                "schedule_type": schedule_type,
                "schedule_hour": schedule_hour,
                "schedule_day": schedule_day,
                "schedule_frame": null
            })
        })
        .collect();
    json!({
        "id": notification.id,
        "name": null,
        "creator_id": notification.creator_id,
        "creator": render::creator(state, notification.creator_id),
        "created_at": notification.created_at,
        "updated_at": notification.updated_at,
        "alert_condition": if condition == "has_result" { "rows" } else { "goal" },
        "alert_above_goal": if condition == "goal_above" { json!(true) } else { Value::Null },
        "alert_first_only": payload.is_some_and(|payload| payload.send_once),
        "archived": !notification.active,
        "collection_position": null,
        "collection_id": null,
        "skip_if_empty": true,
        "parameters": [],
        "dashboard_id": null,
        "card": {
            "id": payload.map(|payload| payload.card_id),
            "name": card.map(|card| card.name.clone()),
            "description": card.and_then(|card| card.description.clone()),
            "collection_id": card.and_then(|card| card.collection_id),
            "display": card.map(|card| card.display.clone()),
            "format_rows": true, "include_xls": false, "include_csv": true, "pivot_results": false,
            "dashboard_id": null, "dashboard_card_id": null, "parameter_mappings": null
        },
        "channels": channels
    })
}

/// `GET /api/alert`: for non-admins `user_id` is forced to the caller.
pub(super) async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let archived = params.boolean("archived", false)?;
    let requested_user = params.positive_int("user_id")?;
    let user_filter = if caller.is_superuser { requested_user } else { Some(caller.user_id) };
    let state = context.state();
    let alerts: Vec<Value> = state
        .notifications
        .values()
        .filter(|alert| alert.payload_type == "notification/card" && alert.active != archived)
        .filter(|alert| {
            user_filter.is_none_or(|user| alert.creator_id == user || alert.recipient_user_ids().contains(&user))
        })
        .filter(|alert| readable(&state, caller, alert))
        .map(|alert| alert_json(&state, alert))
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(alerts)))
}

/// `GET /api/alert/:id`: `:id` is a notification id.
pub(super) async fn get_one(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let state = context.state();
    let alert = state.notifications.get(&id).filter(|alert| alert.card_id().is_some()).ok_or(ApiError::NotFound)?;
    if !readable(&state, caller, alert) {
        return Err(ApiError::Forbidden);
    }
    Ok(json_response(StatusCode::OK, &alert_json(&state, alert)))
}

/// `DELETE /api/alert/:id/subscription`: unsubscribes the caller; 204.
pub(super) async fn unsubscribe(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let mut state = context.state();
    let alert = state.notifications.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if !readable(&state, caller, &alert) {
        return Err(ApiError::Forbidden);
    }
    remove_recipient(&mut state, id, caller.user_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
