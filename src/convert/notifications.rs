//! Notifications between the client's typed models and the protobuf messages, both ways: answers
//! into messages, and create and update requests into the bodies and changes Metabase takes.

use serde_json::{Map, Value, json};

use super::json::{from_struct, to_struct, to_timestamp};
use crate::error::GatewayError;
use crate::metabase::models as upstream;
use crate::metabase::{GroupId, NotificationChange, UserId};
use crate::pb::v1::notification_recipient::Recipient as Target;
use crate::pb::v1::{
    CardNotificationPayload, ChannelType, CreateNotificationRequest, Notification, NotificationHandler,
    NotificationRecipient, NotificationSubscription, SendCondition, UpdateNotificationRequest,
};

const CRON: &str = "notification-subscription/cron";
const USER: &str = "notification-recipient/user";
const GROUP: &str = "notification-recipient/group";
const RAW_VALUE: &str = "notification-recipient/raw-value";
const TEMPLATE: &str = "notification-recipient/template";

fn extra(map: Map<String, Value>) -> Option<prost_types::Struct> {
    Some(to_struct(map))
}

fn send_condition(text: Option<&str>) -> SendCondition {
    match text {
        Some("has_result") => SendCondition::HasResult,
        Some("goal_above") => SendCondition::GoalAbove,
        Some("goal_below") => SendCondition::GoalBelow,
        _ => SendCondition::Unspecified,
    }
}

/// Returns Metabase's name of a send condition; `None` for unspecified.
fn condition_name(condition: SendCondition) -> Option<&'static str> {
    match condition {
        SendCondition::HasResult => Some("has_result"),
        SendCondition::GoalAbove => Some("goal_above"),
        SendCondition::GoalBelow => Some("goal_below"),
        SendCondition::Unspecified => None,
    }
}

fn channel_type(text: &str) -> ChannelType {
    match text {
        "channel/email" => ChannelType::Email,
        "channel/slack" => ChannelType::Slack,
        "channel/http" => ChannelType::Http,
        _ => ChannelType::Unspecified,
    }
}

impl From<upstream::Notification> for Notification {
    fn from(notification: upstream::Notification) -> Self {
        Notification {
            id: notification.id.get(),
            payload_type: notification.payload_type,
            payload: notification.payload.map(CardNotificationPayload::from),
            active: notification.active,
            creator_id: notification.creator_id.map(i64::from),
            subscriptions: notification.subscriptions.into_iter().map(NotificationSubscription::from).collect(),
            handlers: notification.handlers.into_iter().map(NotificationHandler::from).collect(),
            created_at: notification.created_at.as_deref().and_then(to_timestamp),
            updated_at: notification.updated_at.as_deref().and_then(to_timestamp),
            extra: extra(notification.extra),
        }
    }
}

impl From<upstream::CardPayload> for CardNotificationPayload {
    fn from(payload: upstream::CardPayload) -> Self {
        CardNotificationPayload {
            id: payload.id,
            card_id: payload.card_id.get(),
            send_condition: send_condition(payload.send_condition.as_deref()).into(),
            send_once: payload.send_once.unwrap_or_default(),
            extra: extra(payload.extra),
        }
    }
}

impl From<upstream::Subscription> for NotificationSubscription {
    fn from(subscription: upstream::Subscription) -> Self {
        NotificationSubscription {
            id: subscription.id,
            subscription_type: subscription.kind,
            cron_schedule: subscription.cron_schedule,
            event_name: subscription.event_name,
            ui_display_type: subscription.ui_display_type,
            extra: extra(subscription.extra),
        }
    }
}

impl From<NotificationSubscription> for upstream::Subscription {
    fn from(subscription: NotificationSubscription) -> Self {
        let kind =
            if subscription.subscription_type.is_empty() { CRON.to_owned() } else { subscription.subscription_type };
        upstream::Subscription {
            id: subscription.id,
            kind,
            cron_schedule: subscription.cron_schedule,
            event_name: subscription.event_name,
            ui_display_type: subscription.ui_display_type,
            extra: subscription.extra.map(from_struct).unwrap_or_default(),
        }
    }
}

impl From<upstream::Handler> for NotificationHandler {
    fn from(handler: upstream::Handler) -> Self {
        let channel = channel_type(&handler.channel_type);
        let mut rest = handler.extra;
        if channel == ChannelType::Unspecified {
            rest.insert("channel_type".into(), Value::String(handler.channel_type));
        }
        NotificationHandler {
            id: handler.id,
            channel_type: channel.into(),
            channel_id: handler.channel_id,
            template_id: handler.template_id,
            active: handler.active,
            recipients: handler.recipients.into_iter().map(NotificationRecipient::from).collect(),
            extra: extra(rest),
        }
    }
}

impl TryFrom<NotificationHandler> for upstream::Handler {
    type Error = GatewayError;

    fn try_from(handler: NotificationHandler) -> Result<Self, Self::Error> {
        let channel = handler.channel_type();
        let mut rest = handler.extra.map(from_struct).unwrap_or_default();
        let kept = rest.remove("channel_type").and_then(|value| value.as_str().map(str::to_owned));
        let channel_type = match (channel, kept) {
            (ChannelType::Email, _) => "channel/email".to_owned(),
            (ChannelType::Slack, _) => "channel/slack".to_owned(),
            (ChannelType::Http, _) => "channel/http".to_owned(),
            (ChannelType::Unspecified, Some(kept)) => kept,
            (ChannelType::Unspecified, None) => {
                return Err(GatewayError::invalid_argument("channel_type", "each handler needs a channel_type"));
            }
        };
        let recipients = handler.recipients.into_iter().map(upstream::Recipient::try_from).collect::<Result<_, _>>()?;
        Ok(upstream::Handler {
            id: handler.id,
            channel_type,
            channel_id: handler.channel_id,
            template_id: handler.template_id,
            active: handler.active,
            recipients,
            extra: rest,
        })
    }
}

impl From<upstream::Recipient> for NotificationRecipient {
    fn from(recipient: upstream::Recipient) -> Self {
        let raw_value =
            || recipient.details.as_ref().and_then(|details| details.get("value")?.as_str().map(str::to_owned));
        let target = match recipient.kind.as_str() {
            USER => recipient.user_id.map(|id| Target::UserId(id.get())),
            GROUP => recipient.permissions_group_id.map(|id| Target::GroupId(id.get())),
            RAW_VALUE => raw_value().map(Target::RawValue),
            TEMPLATE => match &recipient.details {
                Some(Value::Object(details)) => Some(Target::TemplateDetails(to_struct(details.clone()))),
                _ => Some(Target::TemplateDetails(prost_types::Struct::default())),
            },
            _ => None,
        };
        let mut rest = recipient.extra;
        if target.is_none() {
            rest.insert("type".into(), Value::String(recipient.kind));
        }
        NotificationRecipient { id: recipient.id, recipient: target, extra: extra(rest) }
    }
}

impl TryFrom<NotificationRecipient> for upstream::Recipient {
    type Error = GatewayError;

    fn try_from(recipient: NotificationRecipient) -> Result<Self, Self::Error> {
        let rest = recipient.extra.map(from_struct).unwrap_or_default();
        let blank = |kind: &str| upstream::Recipient {
            id: recipient.id,
            kind: kind.to_owned(),
            user_id: None,
            permissions_group_id: None,
            details: None,
            extra: rest.clone(),
        };
        Ok(match recipient.recipient {
            Some(Target::UserId(id)) => upstream::Recipient { user_id: Some(UserId(id)), ..blank(USER) },
            Some(Target::GroupId(id)) => {
                upstream::Recipient { permissions_group_id: Some(GroupId(id)), ..blank(GROUP) }
            }
            Some(Target::RawValue(value)) => {
                upstream::Recipient { details: Some(json!({"value": value})), ..blank(RAW_VALUE) }
            }
            Some(Target::TemplateDetails(details)) => {
                upstream::Recipient { details: Some(Value::Object(from_struct(details))), ..blank(TEMPLATE) }
            }
            None => {
                return Err(GatewayError::invalid_argument(
                    "recipients",
                    "each recipient needs a user_id, group_id, raw_value or template_details",
                ));
            }
        })
    }
}

fn handlers(handlers: Vec<NotificationHandler>) -> Result<Vec<upstream::Handler>, GatewayError> {
    handlers.into_iter().map(upstream::Handler::try_from).collect()
}

/// Builds `POST /api/notification`'s body for a card notification.
pub(crate) fn create_body(request: CreateNotificationRequest) -> Result<Value, GatewayError> {
    if request.card_id <= 0 {
        return Err(GatewayError::invalid_argument("card_id", "card_id is required"));
    }
    if request.subscriptions.is_empty() || request.handlers.is_empty() {
        return Err(GatewayError::invalid_argument(
            "subscriptions",
            "a notification needs at least one subscription and one handler",
        ));
    }
    let subscriptions: Vec<upstream::Subscription> =
        request.subscriptions.iter().cloned().map(upstream::Subscription::from).collect();
    let condition = condition_name(request.send_condition()).unwrap_or("has_result");
    let mut body = json!({
        "payload_type": "notification/card",
        "payload": {"card_id": request.card_id, "send_condition": condition, "send_once": request.send_once},
        "subscriptions": subscriptions,
        "handlers": handlers(request.handlers)?,
    });
    if let Some(active) = request.active {
        body["active"] = json!(active);
    }
    Ok(body)
}

/// Turns an update request into the change merged over the current notification.
pub(crate) fn change(request: UpdateNotificationRequest) -> Result<NotificationChange, GatewayError> {
    Ok(NotificationChange {
        active: request.active,
        send_condition: condition_name(request.send_condition()).map(str::to_owned),
        send_once: request.send_once,
        subscriptions: request.subscriptions.into_iter().map(upstream::Subscription::from).collect(),
        handlers: handlers(request.handlers)?,
        remove_subscription_ids: request.remove_subscription_ids,
        remove_handler_ids: request.remove_handler_ids,
    })
}

#[cfg(test)]
mod tests;
