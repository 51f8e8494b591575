//! Alerts as the 0.54+ compatibility shim serves them (legacy pulse-shaped card notifications).

use super::json::{to_list, to_timestamp};
use super::model::{extra, object, proto_of};
use crate::metabase;
use crate::pb::v1::{Alert, AlertCard, AlertChannel};

impl From<metabase::Alert> for Alert {
    fn from(alert: metabase::Alert) -> Self {
        let extra = extra(
            alert.extra,
            [
                ("name", proto_of(alert.name.as_ref())),
                ("creator", proto_of(alert.creator.as_ref())),
                ("skip_if_empty", proto_of(alert.skip_if_empty.as_ref())),
                ("collection_id", proto_of(alert.collection_id.as_ref())),
                ("collection_position", proto_of(alert.collection_position.as_ref())),
                ("dashboard_id", proto_of(alert.dashboard_id.as_ref())),
                ("parameters", proto_of(Some(&alert.parameters).filter(|parameters| !parameters.is_empty()))),
            ],
        );
        Alert {
            id: alert.id.get(),
            card: alert.card.map(AlertCard::from),
            alert_condition: alert.alert_condition.unwrap_or_default(),
            alert_first_only: alert.alert_first_only.unwrap_or_default(),
            alert_above_goal: alert.alert_above_goal,
            archived: alert.archived,
            creator_id: alert.creator_id.map_or(0, metabase::UserId::get),
            channels: alert.channels.into_iter().map(AlertChannel::from).collect(),
            created_at: alert.created_at.as_deref().and_then(to_timestamp),
            updated_at: alert.updated_at.as_deref().and_then(to_timestamp),
            extra,
        }
    }
}

impl From<metabase::AlertCard> for AlertCard {
    fn from(card: metabase::AlertCard) -> Self {
        AlertCard {
            id: card.id.map(metabase::CardId::get),
            name: card.name.unwrap_or_default(),
            description: card.description,
            collection_id: card.collection_id.map(metabase::CollectionId::get),
            display: card.display.unwrap_or_default(),
            extra: extra(card.extra, []),
        }
    }
}

impl From<metabase::AlertChannel> for AlertChannel {
    fn from(channel: metabase::AlertChannel) -> Self {
        AlertChannel {
            id: channel.id.unwrap_or_default(),
            channel_type: channel.channel_type.unwrap_or_default(),
            enabled: channel.enabled.unwrap_or_default(),
            schedule_type: channel.schedule_type.unwrap_or_default(),
            schedule_hour: channel.schedule_hour.and_then(|hour| i32::try_from(hour).ok()),
            schedule_day: channel.schedule_day,
            recipients: Some(to_list(channel.recipients)),
            details: object(channel.details),
            extra: extra(channel.extra, []),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn decoded(value: Value) -> metabase::Alert {
        serde_json::from_value(value).expect("an alert model")
    }

    #[test]
    fn an_alert_answer_converts_its_card_and_channels_and_keeps_the_rest_in_extra() {
        let alert = Alert::from(decoded(json!({
            "id": 6, "name": null, "creator_id": 2, "creator": {"id": 2}, "alert_condition": "goal",
            "alert_above_goal": true, "alert_first_only": true, "archived": false, "skip_if_empty": true,
            "collection_id": null, "parameters": [], "created_at": "2024-01-02T03:04:05Z", "newer_metabase_key": 1,
            "card": {"id": 9, "name": "Revenue", "collection_id": 4, "display": "line", "database_id": 1,
                     "include_csv": true},
            "channels": [{"id": 6, "channel_type": "email", "enabled": true, "schedule_type": "daily",
                          "schedule_hour": 8, "recipients": [{"email": "ada@example.com"}],
                          "details": {"emails": ["ada@example.com"]}, "schedule_frame": null}]
        })));

        assert_eq!((alert.id, alert.creator_id, alert.alert_condition.as_str()), (6, 2, "goal"));
        assert_eq!((alert.alert_above_goal, alert.alert_first_only, alert.archived), (Some(true), true, false));
        assert_eq!(alert.created_at.map(|at| at.seconds), Some(1_704_164_645));
        let extra = alert.extra.expect("extra");
        assert_eq!(extra.fields.keys().collect::<Vec<_>>(), vec!["creator", "newer_metabase_key", "skip_if_empty"]);

        let card = alert.card.expect("card");
        assert_eq!((card.id, card.name.as_str(), card.collection_id), (Some(9), "Revenue", Some(4)));
        let card_extra = card.extra.expect("card extra");
        assert_eq!(card_extra.fields.keys().collect::<Vec<_>>(), vec!["database_id", "include_csv"]);

        let channel = &alert.channels[0];
        assert_eq!((channel.channel_type.as_str(), channel.schedule_type.as_str()), ("email", "daily"));
        assert_eq!((channel.enabled, channel.schedule_hour), (true, Some(8)));
        assert_eq!(channel.recipients.as_ref().map(|list| list.values.len()), Some(1));
        assert!(channel.details.as_ref().is_some_and(|details| details.fields.contains_key("emails")));
        assert_eq!(
            channel.extra.as_ref().expect("channel extra").fields.keys().collect::<Vec<_>>(),
            vec!["schedule_frame"]
        );
    }

    #[test]
    fn an_alerts_typed_keys_without_a_message_field_keep_their_values_in_extra() {
        let alert = Alert::from(decoded(json!({
            "id": 6, "name": "Low stock", "skip_if_empty": false, "collection_id": 4, "collection_position": 2,
            "dashboard_id": 7, "parameters": [{"id": "p", "value": [1]}], "creator": {"id": 2, "common_name": "Ada"}
        })));

        let extra = alert.extra.expect("extra");

        let expected = json!({
            "name": "Low stock", "skip_if_empty": false, "collection_id": 4, "collection_position": 2,
            "dashboard_id": 7, "parameters": [{"id": "p", "value": [1]}], "creator": {"id": 2, "common_name": "Ada"}
        });
        assert_eq!(extra, crate::convert::json::to_struct(expected.as_object().cloned().unwrap()));
    }

    #[test]
    fn an_alert_without_a_card_or_channels_reads_as_empty() {
        let cases = [json!({"id": 6}), json!({"id": 6, "card": null, "channels": null})];
        for answer in cases {
            let alert = Alert::from(decoded(answer));
            assert_eq!((alert.card, alert.channels.len(), alert.creator_id), (None, 0, 0));
        }
    }
}
