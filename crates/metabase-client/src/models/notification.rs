//! Owns the notification models (Metabase 0.54+, `/api/notification`): the notification, its
//! card payload, subscriptions, handlers and recipients. Ids are optional because a body for
//! `POST` or `PUT` carries new rows without one, and absent ids are not sent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::null_as_default;
use crate::ids::{CardId, GroupId, NotificationId, UserId};

/// A notification, hydrated as `GET /api/notification/:id` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The notification's id.
    pub id: NotificationId,
    /// `notification/card`, `notification/dashboard`, `notification/system-event`, ...
    pub payload_type: String,
    /// The card payload of `notification/card`.
    #[serde(default)]
    pub payload: Option<CardPayload>,
    /// Whether it sends (false once archived).
    #[serde(default = "active_by_default", deserialize_with = "null_as_true")]
    pub active: bool,
    /// The creator.
    #[serde(default)]
    pub creator_id: Option<UserId>,
    /// When it sends.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subscriptions: Vec<Subscription>,
    /// Where it sends.
    #[serde(default, deserialize_with = "null_as_default")]
    pub handlers: Vec<Handler>,
    /// Creation time, ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update time, ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Every other key, verbatim (`creator`, `payload_id`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn active_by_default() -> bool {
    true
}

fn null_as_true<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

/// The card a notification watches (`notification_card`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardPayload {
    /// The payload row's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The card watched.
    pub card_id: CardId,
    /// `has_result`, `goal_above` or `goal_below`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_condition: Option<String>,
    /// Whether it sends once, then deactivates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_once: Option<bool>,
    /// Every other key, verbatim (the hydrated `card`, timestamps).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A subscription: when a notification sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The subscription's id; `None` for a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `notification-subscription/cron` or `notification-subscription/system-event`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A Quartz cron schedule, 7 fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron_schedule: Option<String>,
    /// For system events, the event's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// How the UI shows the schedule, e.g. `cron/builder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui_display_type: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A handler: a channel a notification delivers to, with its recipients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handler {
    /// The handler's id; `None` for a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `channel/email`, `channel/slack` or `channel/http`.
    pub channel_type: String,
    /// The configured channel, for Slack and HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<i64>,
    /// A channel template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<i64>,
    /// Whether the handler delivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Who receives it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub recipients: Vec<Recipient>,
    /// Every other key, verbatim (`channel`, `template`, `notification_id`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A recipient of a handler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    /// The recipient's id; `None` for a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `notification-recipient/user`, `/group`, `/raw-value` or `/template`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For user recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// For group recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_group_id: Option<GroupId>,
    /// For raw values, `{value}`; for templates, the template's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Every other key, verbatim (the hydrated `user`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Handler, Notification};
    use crate::ids::{CardId, UserId};

    #[test]
    fn notification_reads_payload_subscriptions_handlers_and_recipients() {
        let notification: Notification = serde_json::from_value(json!({
            "id": 7, "payload_type": "notification/card", "active": true, "creator_id": 1,
            "payload": {"id": 3, "card_id": 42, "send_condition": "goal_above", "send_once": true, "card": {"id": 42}},
            "subscriptions": [{"id": 5, "type": "notification-subscription/cron", "cron_schedule": "0 0 8 * * ? *"}],
            "handlers": [{"id": 9, "channel_type": "channel/email", "channel": null, "recipients": [
                {"id": 1, "type": "notification-recipient/user", "user_id": 2, "user": {"email": "a@b"}}]}],
            "creator": {"id": 1}
        }))
        .unwrap();

        assert_eq!(notification.payload.as_ref().map(|payload| payload.card_id), Some(CardId(42)));
        assert_eq!(notification.subscriptions[0].cron_schedule.as_deref(), Some("0 0 8 * * ? *"));
        assert_eq!(notification.handlers[0].recipients[0].user_id, Some(UserId(2)));
        assert!(notification.handlers[0].recipients[0].extra.contains_key("user"));
        assert!(notification.extra.contains_key("creator"));
    }

    #[test]
    fn a_new_handler_is_written_without_an_id() {
        let handler = Handler {
            id: None,
            channel_type: "channel/slack".into(),
            channel_id: None,
            template_id: None,
            active: None,
            recipients: Vec::new(),
            extra: serde_json::Map::new(),
        };

        assert_eq!(serde_json::to_value(handler).unwrap(), json!({"channel_type": "channel/slack", "recipients": []}));
    }
}
