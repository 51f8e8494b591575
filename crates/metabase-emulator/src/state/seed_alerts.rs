//! The seeded alerts: card notifications with a cron subscription and an email handler, as
//! Metabase stores them.

use serde_json::{Value, json};

use super::seed::{ADMIN_USER_ID, ANALYST_USER_ID, SEEDED_AT};
use super::{AppState, CardPayload, Notification};

/// A cron subscription as Metabase stores it.
fn cron(id: i64, notification_id: i64, schedule: &str) -> Value {
    json!({"id": id, "notification_id": notification_id, "type": "notification-subscription/cron",
           "cron_schedule": schedule, "event_name": null, "ui_display_type": "cron/builder", "created_at": SEEDED_AT})
}

/// An email handler with user recipients, as Metabase stores it.
fn email_to_users(id: i64, notification_id: i64, users: &[i64]) -> Value {
    let recipients: Vec<Value> = users
        .iter()
        .enumerate()
        .map(|(index, user)| {
            json!({"id": id * 10 + index as i64, "notification_handler_id": id,
                   "type": "notification-recipient/user", "user_id": user, "permissions_group_id": null,
                   "details": null, "created_at": SEEDED_AT, "updated_at": SEEDED_AT})
        })
        .collect();
    json!({"id": id, "notification_id": notification_id, "channel_type": "channel/email", "channel_id": null,
           "template_id": null, "active": true, "recipients": recipients,
           "created_at": SEEDED_AT, "updated_at": SEEDED_AT})
}

fn card_alert(
    id: i64,
    card_id: i64,
    creator_id: i64,
    condition: &str,
    once: bool,
    schedule: &str,
    users: &[i64],
) -> Notification {
    Notification {
        id,
        payload_type: "notification/card".into(),
        payload: Some(CardPayload {
            id,
            card_id,
            send_condition: condition.into(),
            send_once: once,
            created_at: SEEDED_AT.into(),
            updated_at: SEEDED_AT.into(),
        }),
        active: true,
        creator_id,
        subscriptions: vec![cron(id, id, schedule)],
        handlers: vec![email_to_users(id, id, users)],
        created_at: SEEDED_AT.into(),
        updated_at: SEEDED_AT.into(),
    }
}

/// Seeds the two card alerts: one on any result, daily, to both users; one above a goal, once.
pub(super) fn seed_alerts(state: &mut AppState) {
    let alerts = [
        card_alert(1, 3, ADMIN_USER_ID, "has_result", false, "0 0 9 * * ? *", &[ADMIN_USER_ID, ANALYST_USER_ID]),
        card_alert(2, 8, ANALYST_USER_ID, "goal_above", true, "0 0 * * * ? *", &[ANALYST_USER_ID]),
    ];
    for alert in alerts {
        state.notifications.insert(alert.id, alert);
    }
}
