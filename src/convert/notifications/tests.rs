//! Notifications converted both ways, and the bodies built from requests.

use serde_json::json;

use super::*;

fn stored() -> upstream::Notification {
    serde_json::from_value(json!({
        "id": 7, "payload_type": "notification/card", "active": true, "creator_id": 1,
        "payload": {"id": 3, "card_id": 42, "send_condition": "goal_below", "send_once": true},
        "subscriptions": [{"id": 5, "type": "notification-subscription/cron", "cron_schedule": "0 0 8 * * ? *"}],
        "handlers": [{"id": 9, "channel_type": "channel/email", "recipients": [
            {"id": 1, "type": "notification-recipient/user", "user_id": 2},
            {"id": 2, "type": "notification-recipient/raw-value", "details": {"value": "team@example.com"}}]},
            {"id": 10, "channel_type": "channel/teams", "recipients": []}],
        "created_at": "2026-01-15T09:30:00.000000Z", "creator": {"id": 1}
    }))
    .unwrap()
}

#[test]
fn a_notification_becomes_typed_messages_with_the_rest_in_extra() {
    let converted = Notification::from(stored());

    let payload = converted.payload.clone().unwrap();
    assert_eq!((payload.card_id, payload.send_condition(), payload.send_once), (42, SendCondition::GoalBelow, true));
    assert_eq!(converted.subscriptions[0].cron_schedule.as_deref(), Some("0 0 8 * * ? *"));
    let email = &converted.handlers[0];
    assert_eq!(email.channel_type(), ChannelType::Email);
    assert_eq!(email.recipients[0].recipient, Some(Target::UserId(2)));
    assert_eq!(email.recipients[1].recipient, Some(Target::RawValue("team@example.com".into())));
    assert!(converted.extra.unwrap().fields.contains_key("creator"));
    assert!(converted.created_at.is_some());
}

#[test]
fn a_handler_of_an_unknown_channel_goes_back_as_it_came() {
    let converted = Notification::from(stored());

    let teams = upstream::Handler::try_from(converted.handlers[1].clone()).unwrap();
    let email = upstream::Handler::try_from(converted.handlers[0].clone()).unwrap();

    assert_eq!(teams.channel_type, "channel/teams");
    assert_eq!(email, stored().handlers[0].clone());
}

#[test]
fn create_body_names_the_card_payload_and_defaults_the_condition() {
    let request = CreateNotificationRequest {
        card_id: 42,
        subscriptions: vec![NotificationSubscription {
            cron_schedule: Some("0 0 8 * * ? *".into()),
            ..Default::default()
        }],
        handlers: vec![NotificationHandler {
            channel_type: ChannelType::Slack.into(),
            recipients: vec![NotificationRecipient {
                recipient: Some(Target::RawValue("#alerts".into())),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };

    let body = create_body(request).unwrap();

    assert_eq!(body["payload"], json!({"card_id": 42, "send_condition": "has_result", "send_once": false}));
    assert_eq!(body["subscriptions"][0]["type"], "notification-subscription/cron");
    assert_eq!(
        body["handlers"][0],
        json!({"channel_type": "channel/slack", "recipients": [
        {"type": "notification-recipient/raw-value", "details": {"value": "#alerts"}}]})
    );
}

#[test]
fn requests_missing_what_metabase_needs_are_invalid() {
    let no_card = CreateNotificationRequest::default();
    let no_target = UpdateNotificationRequest {
        handlers: vec![NotificationHandler {
            channel_type: ChannelType::Email.into(),
            recipients: vec![NotificationRecipient::default()],
            ..Default::default()
        }],
        ..Default::default()
    };

    assert!(matches!(create_body(no_card), Err(GatewayError::InvalidArgument { .. })));
    assert!(matches!(change(no_target), Err(GatewayError::InvalidArgument { .. })));
}
