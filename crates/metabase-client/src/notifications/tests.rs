//! The merge a partial update relies on, and the routes against a mock Metabase.

use serde_json::{Map, json};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{NotificationChange, NotificationFilter, UnknownRow, merge_change};
use crate::models::{Handler, Notification, Recipient};
use crate::test_support::api_key_client;
use crate::{CardId, NotificationId, UserId};

fn stored() -> Notification {
    serde_json::from_value(json!({
        "id": 7, "payload_type": "notification/card", "active": true,
        "payload": {"id": 3, "card_id": 42, "send_condition": "has_result", "send_once": false},
        "subscriptions": [{"id": 5, "type": "notification-subscription/cron", "cron_schedule": "0 0 8 * * ? *"}],
        "handlers": [
            {"id": 9, "channel_type": "channel/email", "recipients": [{"id": 1, "type": "notification-recipient/user", "user_id": 2}]},
            {"id": 10, "channel_type": "channel/http", "channel_id": 4, "recipients": []}
        ]
    }))
    .unwrap()
}

fn slack(id: Option<i64>) -> Handler {
    Handler {
        id,
        channel_type: "channel/slack".into(),
        channel_id: None,
        template_id: None,
        active: None,
        recipients: vec![Recipient {
            id: None,
            kind: "notification-recipient/raw-value".into(),
            user_id: None,
            permissions_group_id: None,
            details: Some(json!({"value": "#alerts"})),
            extra: Map::new(),
        }],
        extra: Map::new(),
    }
}

#[test]
fn a_new_handler_is_added_and_every_unnamed_one_is_kept() {
    let change = NotificationChange { handlers: vec![slack(None)], ..Default::default() };

    let merged = merge_change(stored(), change).unwrap();

    let ids: Vec<Option<i64>> = merged.handlers.iter().map(|handler| handler.id).collect();
    assert_eq!(ids, vec![Some(9), Some(10), None]);
    assert_eq!(merged.handlers[0].recipients[0].user_id, Some(UserId(2)));
    assert_eq!(merged.subscriptions, stored().subscriptions);
}

#[test]
fn a_named_handler_is_replaced_in_place_and_a_removed_one_goes() {
    let change =
        NotificationChange { handlers: vec![slack(Some(10))], remove_handler_ids: vec![9], ..Default::default() };

    let merged = merge_change(stored(), change).unwrap();

    assert_eq!(merged.handlers.len(), 1);
    assert_eq!((merged.handlers[0].id, merged.handlers[0].channel_type.as_str()), (Some(10), "channel/slack"));
}

#[test]
fn payload_flags_change_only_when_set_and_the_card_stays() {
    let change =
        NotificationChange { send_condition: Some("goal_above".into()), active: Some(false), ..Default::default() };

    let merged = merge_change(stored(), change).unwrap();

    let payload = merged.payload.unwrap();
    assert_eq!(
        (payload.card_id, payload.send_condition.as_deref(), payload.send_once),
        (CardId(42), Some("goal_above"), Some(false))
    );
    assert!(!merged.active);
}

#[test]
fn naming_a_row_the_notification_lacks_is_an_error() {
    let replace = NotificationChange { handlers: vec![slack(Some(99))], ..Default::default() };
    let remove = NotificationChange { remove_subscription_ids: vec![6], ..Default::default() };

    assert_eq!(
        merge_change(stored(), replace).unwrap_err(),
        UnknownRow { notification: NotificationId(7), kind: "handler", id: 99 }
    );
    assert_eq!(merge_change(stored(), remove).unwrap_err().to_string(), "notification 7 has no subscription 6");
}

#[tokio::test]
async fn list_sends_the_filters_and_put_sends_the_whole_notification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/notification"))
        .and(query_param("card_id", "42"))
        .and(query_param("include_inactive", "true"))
        .and(query_param("payload_type", "notification/card"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([serde_json::to_value(stored()).unwrap()])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/notification/7"))
        .and(body_partial_json(json!({"handlers": [{"id": 9}, {"id": 10}], "subscriptions": [{"id": 5}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::to_value(stored()).unwrap()))
        .expect(1)
        .mount(&server)
        .await;
    let client = api_key_client(&server);
    let filter = NotificationFilter {
        card_id: Some(CardId(42)),
        include_inactive: true,
        payload_type: Some("notification/card".into()),
        ..Default::default()
    };

    let listed = client.notifications().list(&filter).await.unwrap();
    client.notifications().put(&listed[0]).await.unwrap();

    assert_eq!(listed[0].id, NotificationId(7));
}

#[tokio::test]
async fn unsubscribe_and_send_accept_204() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/notification/7/unsubscribe"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/notification/7/send"))
        .and(body_partial_json(json!({"handler_ids": [9]})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = api_key_client(&server);

    client.notifications().unsubscribe(NotificationId(7)).await.unwrap();
    client.notifications().send(NotificationId(7), &[9]).await.unwrap();
}
