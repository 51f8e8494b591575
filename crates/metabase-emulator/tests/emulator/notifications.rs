//! Notifications (`/api/notification`, Metabase 0.54+): create, read with Metabase's filters,
//! the diff-by-id `PUT`, unsubscribe and send, and the legacy `/api/alert` view of them; plus
//! the small routes third-party clients read (`/api/setting`, `/api/user/recipients`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, ANALYST_KEY, start};

fn alert_body(card_id: i64) -> Value {
    json!({
        "payload_type": "notification/card",
        "payload": {"card_id": card_id, "send_condition": "has_result", "send_once": false},
        "subscriptions": [{"type": "notification-subscription/cron", "cron_schedule": "0 0 8 * * ? *"}],
        "handlers": [
            {"channel_type": "channel/email", "recipients": [
                {"type": "notification-recipient/user", "user_id": 1},
                {"type": "notification-recipient/raw-value", "details": {"value": "team@example.com"}}]},
            {"channel_type": "channel/http", "channel_id": 1, "recipients": []}
        ]
    })
}

#[tokio::test]
async fn a_created_notification_reads_back_hydrated_and_is_listed_by_card() {
    let emulator = start().await;

    let (status, created) = emulator.post("/api/notification", ADMIN_KEY, alert_body(1)).await;
    let id = created["id"].as_i64().unwrap();
    let read = emulator.get_json(&format!("/api/notification/{id}"), 200).await;
    let by_card = emulator.get_json("/api/notification?card_id=1&payload_type=notification/card", 200).await;
    let by_recipient = emulator.get_json("/api/notification?recipient_id=2", 200).await;

    assert_eq!(status, 200, "{created}");
    assert_eq!(read["payload"]["card_id"], 1);
    assert_eq!(read["payload"]["card"]["name"], "Orders");
    assert_eq!(read["subscriptions"][0]["cron_schedule"], "0 0 8 * * ? *");
    assert_eq!(read["handlers"][0]["recipients"][0]["user"]["email"], "admin@example.com");
    assert!(read["handlers"][0]["recipients"][1]["id"].as_i64().is_some());
    assert_eq!(by_card.as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![id]);
    assert_eq!(
        by_recipient.as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[tokio::test]
async fn put_deletes_handlers_it_does_not_name_and_recreates_unknown_ids() {
    let emulator = start().await;
    let (_, created) = emulator.post("/api/notification", ADMIN_KEY, alert_body(1)).await;
    let id = created["id"].as_i64().unwrap();
    let email = created["handlers"][0].clone();
    let mut body = created.clone();
    body["handlers"] = json!([email, {"id": 987654, "channel_type": "channel/slack", "recipients": [
        {"type": "notification-recipient/raw-value", "details": {"value": "#alerts"}}]}]);

    let updated = emulator.call(Method::PUT, &format!("/api/notification/{id}"), Some(ADMIN_KEY), Some(body)).await;
    let updated: Value = updated.json().await.unwrap();
    let mut without_handlers = updated.clone();
    without_handlers.as_object_mut().unwrap().remove("handlers");
    let emptied =
        emulator.call(Method::PUT, &format!("/api/notification/{id}"), Some(ADMIN_KEY), Some(without_handlers)).await;
    let emptied: Value = emptied.json().await.unwrap();

    let channels: Vec<&str> =
        updated["handlers"].as_array().unwrap().iter().map(|h| h["channel_type"].as_str().unwrap()).collect();
    assert_eq!(channels, ["channel/email", "channel/slack"], "the http handler was not named, so it went");
    assert_eq!(updated["handlers"][0]["id"], created["handlers"][0]["id"], "a matching id is kept");
    assert_ne!(updated["handlers"][1]["id"], 987654, "an unknown id is recreated under a new one");
    assert_eq!(emptied["handlers"], json!([]), "a body without handlers deletes them all");
    assert_eq!(emptied["subscriptions"][0]["id"], updated["subscriptions"][0]["id"], "subscriptions named stay");
}

#[tokio::test]
async fn unsubscribe_send_and_archive_behave_as_metabase() {
    let emulator = start().await;

    // The admin API key acts as its own user, which no seeded notification names: add it to 1.
    let key_user = emulator.get_json("/api/user/current", 200).await["id"].as_i64().unwrap();
    let mut with_key_user = emulator.get_json("/api/notification/1", 200).await;
    with_key_user["handlers"][0]["recipients"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "notification-recipient/user", "user_id": key_user}));
    emulator.call(Method::PUT, "/api/notification/1", Some(ADMIN_KEY), Some(with_key_user)).await;

    let stranger = emulator.call(Method::POST, "/api/notification/2/unsubscribe", Some(ADMIN_KEY), None).await;
    let member = emulator.call(Method::POST, "/api/notification/1/unsubscribe", Some(ADMIN_KEY), None).await;
    let sent = emulator.call(Method::POST, "/api/notification/1/send", Some(ADMIN_KEY), None).await;
    let mut archived = emulator.get_json("/api/notification/1", 200).await;
    archived["active"] = json!(false);
    emulator.call(Method::PUT, "/api/notification/1", Some(ADMIN_KEY), Some(archived)).await;

    assert_eq!((stranger.status().as_u16(), member.status().as_u16(), sent.status().as_u16()), (403, 204, 204));
    assert_eq!(emulator.handle.state().sent_notifications, vec![1]);
    let active = emulator.get_json("/api/notification", 200).await;
    let all = emulator.get_json("/api/notification?include_inactive=true", 200).await;
    assert_eq!(active.as_array().unwrap().len(), 1);
    assert_eq!(all.as_array().unwrap().len(), 2);
    let legacy = emulator.get_json("/api/alert?archived=true", 200).await;
    assert_eq!(legacy[0]["id"], 1);
    assert_eq!(
        legacy[0]["channels"][0]["recipients"].as_array().unwrap().len(),
        2,
        "the key user left, the others stay"
    );
    assert_eq!(
        (legacy[0]["channels"][0]["schedule_type"].as_str(), legacy[0]["channels"][0]["schedule_hour"].as_i64()),
        (Some("daily"), Some(9))
    );
}

#[tokio::test]
async fn invalid_bodies_and_unreadable_cards_are_refused() {
    let emulator = start().await;
    let mut bad_condition = alert_body(1);
    bad_condition["payload"]["send_condition"] = json!("sometimes");
    let mut no_type = alert_body(1);
    no_type.as_object_mut().unwrap().remove("payload_type");

    let (condition_status, _) = emulator.post("/api/notification", ADMIN_KEY, bad_condition).await;
    let (type_status, _) = emulator.post("/api/notification", ADMIN_KEY, no_type).await;
    let (missing_card, _) = emulator.post("/api/notification", ADMIN_KEY, alert_body(424242)).await;
    let (_, finance) = emulator.post("/api/notification", ADMIN_KEY, alert_body(9)).await;
    let finance_id = finance["id"].as_i64().unwrap();
    let forbidden_card =
        emulator.call(Method::GET, &format!("/api/notification/{finance_id}"), Some(ANALYST_KEY), None).await;

    assert_eq!((condition_status, type_status, missing_card), (400, 400, 404));
    assert_eq!(forbidden_card.status().as_u16(), 403, "the analyst cannot read card 9, in Finance");
}

#[tokio::test]
async fn settings_and_recipients_answer_as_metabase() {
    let emulator = start().await;

    let settings = emulator.get_json("/api/setting", 200).await;
    let site_name = emulator.get_json("/api/setting/site-name", 200).await;
    let unknown = emulator.get("/api/setting/no-such-setting").await;
    let analyst = emulator.call(Method::GET, "/api/setting", Some(ANALYST_KEY), None).await;
    let recipients = emulator.get_json("/api/user/recipients", 200).await;

    assert!(settings.as_array().unwrap().iter().any(|setting| setting["key"] == "site-name"));
    assert_eq!(site_name, json!("Metabase Emulator"));
    assert_eq!((unknown.status().as_u16(), analyst.status().as_u16()), (404, 403));
    assert!(recipients["data"].as_array().unwrap().iter().any(|user| user["email"] == "analyst@example.com"));
}
