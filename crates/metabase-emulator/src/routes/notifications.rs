//! Notifications (Metabase 0.54+, `/api/notification`): card alerts with a payload
//! (`send_condition`, `send_once`), cron subscriptions and handlers with recipients. `PUT` is a
//! diff by id, as Metabase's `spec-update` does it: a row whose id matches is updated, a row
//! without a matching id is created with a new id, and a stored row the body does not name is
//! deleted, so a body without `handlers` deletes them all.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::notification_rows::{PAYLOAD_TYPES, card_payload, enum_error, handlers, string_in, subscriptions};
use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, positive_id};
use crate::state::{Access, AppState, CardPayload, Notification, now};

fn user_json(state: &AppState, user_id: i64) -> Value {
    state.users.get(&user_id).map_or(Value::Null, |user| {
        json!({"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
               "common_name": user.common_name(), "is_superuser": state.is_superuser(user.id)})
    })
}

/// Renders a notification hydrated as `models.notification/hydrate-notification` does.
pub(super) fn notification_json(state: &AppState, notification: &Notification) -> Value {
    let payload = notification.payload.as_ref().map_or(Value::Null, |payload| {
        let card = state.cards.get(&payload.card_id).map_or(Value::Null, |card| {
            json!({"id": card.id, "name": card.name, "description": card.description, "display": card.display,
                   "collection_id": card.collection_id, "database_id": card.database_id, "archived": card.archived,
                   "type": card.card_type})
        });
        json!({"id": payload.id, "card_id": payload.card_id, "send_condition": payload.send_condition,
               "send_once": payload.send_once, "card": card,
               "created_at": payload.created_at, "updated_at": payload.updated_at})
    });
    let handlers: Vec<Value> = notification
        .handlers
        .iter()
        .map(|handler| {
            let mut rendered = handler.clone();
            rendered["channel"] = Value::Null;
            rendered["template"] = Value::Null;
            if let Some(recipients) = rendered.get_mut("recipients").and_then(Value::as_array_mut) {
                for recipient in recipients {
                    if let Some(user_id) = recipient.get("user_id").and_then(Value::as_i64) {
                        recipient["user"] = user_json(state, user_id);
                    }
                }
            }
            rendered
        })
        .collect();
    json!({
        "id": notification.id,
        "payload_type": notification.payload_type,
        "payload_id": notification.payload.as_ref().map(|payload| payload.id),
        "payload": payload,
        "active": notification.active,
        "creator_id": notification.creator_id,
        "creator": render::creator(state, notification.creator_id),
        "internal_id": null,
        "created_at": notification.created_at,
        "updated_at": notification.updated_at,
        "subscriptions": notification.subscriptions,
        "handlers": handlers
    })
}

/// Reports whether the caller may read a notification: a card one through its card, any other
/// kind only as an admin.
pub(super) fn readable(state: &AppState, caller: Caller, notification: &Notification) -> bool {
    match notification.card_id() {
        Some(card_id) => {
            state.cards.get(&card_id).is_some_and(|card| state.card_access(caller.user_id, card) != Access::None)
        }
        None => caller.is_superuser,
    }
}

/// `GET /api/notification`: filters `creator_id`, `recipient_id`, `creator_or_recipient_id`,
/// `card_id`, `payload_type` and `include_inactive` (active ones only by default).
pub(super) async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let creator = params.positive_int("creator_id")?;
    let recipient = params.positive_int("recipient_id")?;
    let creator_or_recipient = params.positive_int("creator_or_recipient_id")?;
    let card = params.positive_int("card_id")?;
    let include_inactive = params.boolean("include_inactive", false)?;
    let payload_type = params.get("payload_type");
    if let Some(kind) = payload_type
        && !PAYLOAD_TYPES.contains(&kind)
    {
        return Err(enum_error("payload_type", PAYLOAD_TYPES, &json!(kind)));
    }
    let state = context.state();
    let listed: Vec<Value> = state
        .notifications
        .values()
        .filter(|notification| include_inactive || notification.active)
        .filter(|notification| creator.is_none_or(|user| notification.creator_id == user))
        .filter(|notification| recipient.is_none_or(|user| notification.recipient_user_ids().contains(&user)))
        .filter(|notification| {
            creator_or_recipient
                .is_none_or(|user| notification.creator_id == user || notification.recipient_user_ids().contains(&user))
        })
        .filter(|notification| card.is_none_or(|card| notification.card_id() == Some(card)))
        .filter(|notification| payload_type.is_none_or(|kind| notification.payload_type == kind))
        .filter(|notification| readable(&state, caller, notification))
        .map(|notification| notification_json(&state, notification))
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(listed)))
}

/// `GET /api/notification/:id`.
pub(super) async fn get_one(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let state = context.state();
    let notification = state.notifications.get(&id).ok_or(ApiError::NotFound)?;
    if !readable(&state, caller, notification) {
        return Err(ApiError::Forbidden);
    }
    Ok(json_response(StatusCode::OK, &notification_json(&state, notification)))
}

pub(super) async fn create(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    let payload_type = string_in(&body.map, "payload_type", PAYLOAD_TYPES)?
        .ok_or_else(|| ApiError::missing("payload_type", "enum of notification/card, ..."))?;
    let mut state = context.state();
    let payload = if payload_type == "notification/card" {
        let object = body.optional_map("payload")?.ok_or_else(|| ApiError::missing("payload", "map"))?;
        Some(card_payload(&state, caller, &object)?)
    } else if caller.is_superuser {
        None
    } else {
        return Err(ApiError::Forbidden);
    };
    let id = state.next_id();
    let subscriptions = subscriptions(&mut state, &body, id, &[])?;
    let handlers = handlers(&mut state, &body, id, &[])?;
    let timestamp = now();
    let payload = payload.map(|(card_id, send_condition, send_once)| CardPayload {
        id: state.next_id(),
        card_id,
        send_condition,
        send_once,
        created_at: timestamp.clone(),
        updated_at: timestamp.clone(),
    });
    let notification = Notification {
        id,
        payload_type,
        payload,
        active: body.optional_bool("active")?.unwrap_or(true),
        creator_id: caller.user_id,
        subscriptions,
        handlers,
        created_at: timestamp.clone(),
        updated_at: timestamp,
    };
    state.notifications.insert(id, notification.clone());
    Ok(json_response(StatusCode::OK, &notification_json(&state, &notification)))
}

/// `PUT /api/notification/:id`: the body is the whole notification; subscriptions, handlers and
/// recipients are diffed by id (see the module documentation).
pub(super) async fn update(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let mut state = context.state();
    let existing = state.notifications.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if !readable(&state, caller, &existing) || !(caller.is_superuser || existing.creator_id == caller.user_id) {
        return Err(ApiError::Forbidden);
    }
    let mut payload = existing.payload.clone();
    if let (Some(stored), Some(object)) = (payload.as_mut(), body.optional_map("payload")?) {
        let (card_id, condition, once) = card_payload(&state, caller, &object)?;
        if card_id != stored.card_id {
            return Err(ApiError::bad_request("The card of a notification cannot be changed."));
        }
        if object.contains_key("send_condition") {
            stored.send_condition = condition;
        }
        if object.contains_key("send_once") {
            stored.send_once = once;
        }
        stored.updated_at = now();
    }
    let subscriptions = subscriptions(&mut state, &body, id, &existing.subscriptions)?;
    let handlers = handlers(&mut state, &body, id, &existing.handlers)?;
    let active = body.optional_bool("active")?.unwrap_or(existing.active);
    let updated = Notification { payload, subscriptions, handlers, active, updated_at: now(), ..existing };
    state.notifications.insert(id, updated.clone());
    Ok(json_response(StatusCode::OK, &notification_json(&state, &updated)))
}

/// `POST /api/notification/:id/unsubscribe`: removes the caller from the recipients; 403 when
/// the caller is not one of them; 204.
pub(super) async fn unsubscribe(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let mut state = context.state();
    let notification = state.notifications.get(&id).ok_or(ApiError::NotFound)?;
    if !notification.recipient_user_ids().contains(&caller.user_id) {
        return Err(ApiError::Forbidden);
    }
    remove_recipient(&mut state, id, caller.user_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Drops a user from every handler's recipients of a notification.
pub(super) fn remove_recipient(state: &mut AppState, id: i64, user_id: i64) {
    let Some(notification) = state.notifications.get_mut(&id) else {
        return;
    };
    for handler in &mut notification.handlers {
        if let Some(recipients) = handler.get_mut("recipients").and_then(Value::as_array_mut) {
            recipients.retain(|recipient| recipient.get("user_id").and_then(Value::as_i64) != Some(user_id));
        }
    }
}

/// `POST /api/notification/:id/send`: sends it now (the emulator records the send); 204.
pub(super) async fn send(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let mut state = context.state();
    let notification = state.notifications.get(&id).ok_or(ApiError::NotFound)?;
    if !readable(&state, caller, notification) {
        return Err(ApiError::Forbidden);
    }
    state.sent_notifications.push(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
