//! How a notification body becomes stored rows, as Metabase 0.54+ checks it: the enums it
//! accepts (payload, send condition, channel, recipient and subscription types), the rows of
//! subscriptions, handlers and recipients, and `PUT`'s diff by id (a row whose id matches is
//! updated, one without is created, a stored row the body does not name is deleted).

use serde_json::{Map, Value, json};

use crate::http::{ApiError, Body, Caller};
use crate::state::{Access, AppState, now};

pub(super) const PAYLOAD_TYPES: &[&str] =
    &["notification/card", "notification/dashboard", "notification/system-event", "notification/testing"];
const SEND_CONDITIONS: &[&str] = &["has_result", "goal_above", "goal_below"];
const CHANNEL_TYPES: &[&str] = &["channel/email", "channel/slack", "channel/http"];
const RECIPIENT_TYPES: &[&str] = &[
    "notification-recipient/user",
    "notification-recipient/group",
    "notification-recipient/raw-value",
    "notification-recipient/template",
];
const SUBSCRIPTION_TYPES: &[&str] = &["notification-subscription/cron", "notification-subscription/system-event"];

pub(super) fn enum_error(key: &str, allowed: &[&str], received: &Value) -> ApiError {
    ApiError::invalid(key, &format!("enum of {}", allowed.join(", ")), received)
}

pub(super) fn string_in(object: &Map<String, Value>, key: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if allowed.contains(&text.as_str()) => Ok(Some(text.clone())),
        Some(other) => Err(enum_error(key, allowed, other)),
    }
}

fn objects<'a>(body: &'a Body, key: &str) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    match body.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_object().ok_or_else(|| ApiError::invalid(key, "sequence of maps", item)))
            .collect(),
        Some(other) => Err(ApiError::invalid(key, "sequence of maps", other)),
    }
}

/// Checks a subscription as Metabase's schema does and returns it with its parent's id.
fn subscription_row(item: &Map<String, Value>, notification_id: i64) -> Result<Map<String, Value>, ApiError> {
    let kind = string_in(item, "type", SUBSCRIPTION_TYPES)?
        .ok_or_else(|| ApiError::missing("type", "enum of notification-subscription/cron, system-event"))?;
    if kind == "notification-subscription/cron" && item.get("cron_schedule").and_then(Value::as_str).is_none() {
        return Err(ApiError::missing("cron_schedule", "non-blank string"));
    }
    let mut row = item.clone();
    row.insert("notification_id".into(), json!(notification_id));
    row.entry("event_name").or_insert(Value::Null);
    row.entry("ui_display_type").or_insert(Value::Null);
    Ok(row)
}

/// Checks a recipient as Metabase's schema does and returns it with its handler's id.
fn recipient_row(item: &Map<String, Value>, handler_id: i64) -> Result<Map<String, Value>, ApiError> {
    let kind = string_in(item, "type", RECIPIENT_TYPES)?.ok_or_else(|| ApiError::missing("type", "recipient type"))?;
    let needs = match kind.as_str() {
        "notification-recipient/user" => item.get("user_id").and_then(Value::as_i64).is_none().then_some("user_id"),
        "notification-recipient/group" => {
            item.get("permissions_group_id").and_then(Value::as_i64).is_none().then_some("permissions_group_id")
        }
        "notification-recipient/raw-value" => {
            item.get("details").and_then(|details| details.get("value")).is_none().then_some("details")
        }
        _ => None,
    };
    if let Some(key) = needs {
        return Err(ApiError::missing(key, "required for this recipient type"));
    }
    let mut row = item.clone();
    row.insert("notification_handler_id".into(), json!(handler_id));
    row.remove("user");
    for key in ["user_id", "permissions_group_id", "details"] {
        row.entry(key).or_insert(Value::Null);
    }
    Ok(row)
}

/// Applies the wanted rows over the stored ones by id: matching ids are updated, the others
/// created with fresh ids, and stored rows not named are dropped.
fn diff_by_id(
    state: &mut AppState,
    stored: &[Value],
    wanted: Vec<Map<String, Value>>,
    timestamp: &str,
) -> Vec<(Map<String, Value>, Option<Value>)> {
    wanted
        .into_iter()
        .map(|mut row| {
            let matching = row
                .get("id")
                .and_then(Value::as_i64)
                .and_then(|id| stored.iter().find(|old| old.get("id").and_then(Value::as_i64) == Some(id)).cloned());
            match &matching {
                Some(old) => {
                    row.insert("created_at".into(), old.get("created_at").cloned().unwrap_or(Value::Null));
                }
                None => {
                    row.insert("id".into(), json!(state.next_id()));
                    row.insert("created_at".into(), json!(timestamp));
                }
            }
            row.insert("updated_at".into(), json!(timestamp));
            (row, matching)
        })
        .collect()
}

pub(super) fn subscriptions(
    state: &mut AppState,
    body: &Body,
    notification_id: i64,
    stored: &[Value],
) -> Result<Vec<Value>, ApiError> {
    let wanted = objects(body, "subscriptions")?
        .into_iter()
        .map(|item| subscription_row(item, notification_id))
        .collect::<Result<_, _>>()?;
    let timestamp = now();
    Ok(diff_by_id(state, stored, wanted, &timestamp).into_iter().map(|(row, _)| Value::Object(row)).collect())
}

pub(super) fn handlers(
    state: &mut AppState,
    body: &Body,
    notification_id: i64,
    stored: &[Value],
) -> Result<Vec<Value>, ApiError> {
    let mut wanted = Vec::new();
    for item in objects(body, "handlers")? {
        string_in(item, "channel_type", CHANNEL_TYPES)?
            .ok_or_else(|| ApiError::missing("channel_type", "enum of channel/email, channel/slack, channel/http"))?;
        let mut row = item.clone();
        row.insert("notification_id".into(), json!(notification_id));
        row.remove("channel");
        row.remove("template");
        row.entry("channel_id").or_insert(Value::Null);
        row.entry("template_id").or_insert(Value::Null);
        row.entry("active").or_insert(json!(true));
        wanted.push(row);
    }
    let timestamp = now();
    let mut rendered = Vec::new();
    for (mut row, matching) in diff_by_id(state, stored, wanted, &timestamp) {
        let handler_id = row.get("id").and_then(Value::as_i64).unwrap_or_default();
        let stored_recipients: Vec<Value> = matching
            .as_ref()
            .and_then(|old| old.get("recipients").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        let recipients: Vec<Map<String, Value>> = match row.get("recipients") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let object =
                        item.as_object().ok_or_else(|| ApiError::invalid("recipients", "sequence of maps", item))?;
                    recipient_row(object, handler_id)
                })
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let recipients: Vec<Value> = diff_by_id(state, &stored_recipients, recipients, &timestamp)
            .into_iter()
            .map(|(recipient, _)| Value::Object(recipient))
            .collect();
        row.insert("recipients".into(), Value::Array(recipients));
        rendered.push(Value::Object(row));
    }
    Ok(rendered)
}

pub(super) fn card_payload(
    state: &AppState,
    caller: Caller,
    payload: &Map<String, Value>,
) -> Result<(i64, String, bool), ApiError> {
    let card_id = payload
        .get("card_id")
        .and_then(Value::as_i64)
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::missing("card_id", "value must be an integer greater than zero."))?;
    let card = state.cards.get(&card_id).ok_or(ApiError::NotFound)?;
    if state.card_access(caller.user_id, card) == Access::None {
        return Err(ApiError::Forbidden);
    }
    let condition = string_in(payload, "send_condition", SEND_CONDITIONS)?.unwrap_or_else(|| "has_result".into());
    let once = payload.get("send_once").and_then(Value::as_bool).unwrap_or(false);
    Ok((card_id, condition, once))
}
