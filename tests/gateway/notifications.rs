//! NotificationService through the gateway against the emulator: create, read, list with
//! Metabase's filters, partial updates that keep what they do not name, unsubscribe and send;
//! the narrowing through a notification's card; and the version probe naming the service.

use metabase_grpc::pb::v1::gateway_service_client::GatewayServiceClient;
use metabase_grpc::pb::v1::notification_recipient::Recipient;
use metabase_grpc::pb::v1::notification_service_client::NotificationServiceClient;
use metabase_grpc::pb::v1::user_service_client::UserServiceClient;
use metabase_grpc::pb::v1::*;
use tonic::Code;

use crate::policed::{Policed, from, policed};

/// `admin` sees everything; `sales` manages alerts of the Sales collection (2) on database 1;
/// `warehouse` those on database 1001, which no card uses.
const POLICY: &str = r#"version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: admin
    grants: { "*": full }
  - match: sales
    grants: { alerts: full, cards: read }
    collections: [2]
    databases: [1]
  - match: warehouse
    grants: { alerts: full }
    databases: [1001]
"#;

fn client(stack: &Policed) -> NotificationServiceClient<tonic::transport::Channel> {
    NotificationServiceClient::new(stack.channel.clone())
}

fn cron(schedule: &str) -> NotificationSubscription {
    NotificationSubscription { cron_schedule: Some(schedule.into()), ..Default::default() }
}

fn handler(channel: ChannelType, recipients: Vec<Recipient>) -> NotificationHandler {
    NotificationHandler {
        channel_type: channel.into(),
        recipients: recipients
            .into_iter()
            .map(|recipient| NotificationRecipient { recipient: Some(recipient), ..Default::default() })
            .collect(),
        ..Default::default()
    }
}

fn alert_on(card_id: i64, handlers: Vec<NotificationHandler>) -> CreateNotificationRequest {
    CreateNotificationRequest {
        card_id,
        send_condition: SendCondition::HasResult.into(),
        subscriptions: vec![cron("0 0 8 * * ? *")],
        handlers,
        ..Default::default()
    }
}

fn channels(notification: &Notification) -> Vec<(Option<i64>, ChannelType)> {
    notification.handlers.iter().map(|handler| (handler.id, handler.channel_type())).collect()
}

#[tokio::test]
async fn a_partial_update_keeps_every_handler_and_subscription_it_does_not_name() {
    let stack = policed(POLICY, None).await;
    let mut notifications = client(&stack);
    let request = alert_on(
        1,
        vec![
            handler(ChannelType::Email, vec![Recipient::UserId(1), Recipient::RawValue("team@example.com".into())]),
            handler(ChannelType::Slack, vec![Recipient::RawValue("#sales".into())]),
        ],
    );
    let created = notifications.create_notification(from("admin", request)).await.unwrap().into_inner();
    let id = created.id;
    let update =
        |change: UpdateNotificationRequest| from("admin", UpdateNotificationRequest { notification_id: id, ..change });

    let added = notifications
        .update_notification(update(UpdateNotificationRequest {
            handlers: vec![handler(ChannelType::Http, vec![])],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let condition = notifications
        .update_notification(update(UpdateNotificationRequest {
            send_condition: SendCondition::GoalAbove.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let slack = created.handlers[1].id.unwrap();
    let removed = notifications
        .update_notification(update(UpdateNotificationRequest {
            remove_handler_ids: vec![slack],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let unknown = notifications
        .update_notification(update(UpdateNotificationRequest {
            remove_handler_ids: vec![424242],
            ..Default::default()
        }))
        .await
        .unwrap_err();

    let before = channels(&created);
    assert_eq!(&channels(&added)[..2], &before[..], "the email and Slack handlers keep their ids");
    assert_eq!(channels(&added)[2].1, ChannelType::Http);
    assert_eq!(added.handlers[0].recipients.len(), 2, "the email recipients stay");
    assert_eq!(channels(&condition), channels(&added), "changing the condition keeps every handler");
    assert_eq!(condition.payload.as_ref().map(|payload| payload.send_condition()), Some(SendCondition::GoalAbove));
    assert_eq!(condition.subscriptions.len(), 1);
    assert_eq!(condition.subscriptions[0].id, created.subscriptions[0].id);
    assert_eq!(
        channels(&removed).into_iter().map(|(_, channel)| channel).collect::<Vec<_>>(),
        [ChannelType::Email, ChannelType::Http]
    );
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert!(unknown.message().contains("424242"), "{}", unknown.message());
}

#[tokio::test]
async fn notifications_are_listed_read_sent_and_left() {
    let stack = policed(POLICY, None).await;
    let mut notifications = client(&stack);
    let me = UserServiceClient::new(stack.channel.clone())
        .get_current_user(from("admin", GetCurrentUserRequest {}))
        .await
        .unwrap()
        .into_inner()
        .id;
    let request = alert_on(1, vec![handler(ChannelType::Email, vec![Recipient::UserId(me), Recipient::UserId(2)])]);
    let created = notifications.create_notification(from("admin", request)).await.unwrap().into_inner();

    let by_card = notifications
        .list_notifications(from("admin", ListNotificationsRequest { card_id: Some(1), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    let all = notifications
        .list_notifications(from("admin", ListNotificationsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let read = notifications
        .get_notification(from("admin", GetNotificationRequest { notification_id: created.id }))
        .await
        .unwrap()
        .into_inner();
    notifications
        .send_notification(from("admin", SendNotificationRequest { notification_id: created.id, handler_ids: vec![] }))
        .await
        .unwrap();
    notifications
        .unsubscribe_notification(from("admin", UnsubscribeNotificationRequest { notification_id: created.id }))
        .await
        .unwrap();
    let not_a_recipient = notifications
        .unsubscribe_notification(from("admin", UnsubscribeNotificationRequest { notification_id: 2 }))
        .await
        .unwrap_err();
    let missing = notifications
        .get_notification(from("admin", GetNotificationRequest { notification_id: 99_999 }))
        .await
        .unwrap_err();

    assert_eq!(by_card.notifications.iter().map(|n| n.id).collect::<Vec<_>>(), vec![created.id]);
    assert_eq!(all.total_size, 3, "the two seeded alerts and the new one");
    assert_eq!(read.payload.as_ref().map(|payload| payload.card_id), Some(1));
    assert_eq!(read.subscriptions[0].cron_schedule.as_deref(), Some("0 0 8 * * ? *"));
    assert_eq!(stack.emulator.state().sent_notifications, vec![created.id]);
    let after = stack.emulator.state().notifications.get(&created.id).unwrap().recipient_user_ids();
    assert_eq!(after, vec![2], "the caller's user left, the other recipient stays");
    assert_eq!((not_a_recipient.code(), missing.code()), (Code::PermissionDenied, Code::NotFound));
}

#[tokio::test]
async fn notifications_on_cards_outside_the_grant_are_neither_listed_read_changed_nor_sent() {
    let stack = policed(POLICY, None).await;
    let mut notifications = client(&stack);
    let finance_card = 9;

    let sales = notifications
        .list_notifications(from("sales", ListNotificationsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let warehouse = notifications
        .list_notifications(from("warehouse", ListNotificationsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let read =
        notifications.get_notification(from("sales", GetNotificationRequest { notification_id: 1 })).await.unwrap_err();
    let changed = notifications
        .update_notification(from(
            "sales",
            UpdateNotificationRequest { notification_id: 1, active: Some(false), ..Default::default() },
        ))
        .await
        .unwrap_err();
    let sent = notifications
        .send_notification(from("sales", SendNotificationRequest { notification_id: 1, handler_ids: vec![] }))
        .await
        .unwrap_err();
    let created = notifications
        .create_notification(from(
            "sales",
            alert_on(finance_card, vec![handler(ChannelType::Email, vec![Recipient::UserId(1)])]),
        ))
        .await
        .unwrap_err();
    let allowed = notifications
        .create_notification(from("sales", alert_on(1, vec![handler(ChannelType::Email, vec![Recipient::UserId(2)])])))
        .await;

    assert_eq!(sales.notifications.iter().map(|n| n.id).collect::<Vec<_>>(), vec![2]);
    assert!(warehouse.notifications.is_empty(), "every seeded alert is on a card of database 1");
    for denial in [&read, &changed, &sent, &created] {
        assert_eq!(denial.code(), Code::PermissionDenied, "{denial:?}");
    }
    assert!(allowed.is_ok(), "{allowed:?}");
    assert!(stack.emulator.state().notifications.get(&1).unwrap().active, "the denied archive changed nothing");
    assert!(stack.emulator.state().sent_notifications.is_empty());
}

#[tokio::test]
async fn the_version_probe_says_notifications_apply_to_this_metabase() {
    let stack = policed(POLICY, None).await;

    let info = GatewayServiceClient::new(stack.channel.clone())
        .get_server_info(from("admin", GetServerInfoRequest {}))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(info.metabase_version, "v0.58.3");
    assert_eq!(info.alerts_api(), AlertsApi::NotificationService);
}
