//! Alerts as the 0.54+ compatibility shim serves them (legacy pulse-shaped card notifications).

use serde_json::Value;

use super::json::Fields;
use crate::pb::v1::{Alert, AlertCard, AlertChannel};

/// Converts Metabase's alert JSON.
pub fn alert(value: Value) -> Alert {
    let mut fields = Fields::new(value);
    let card = match fields.take("card") {
        Value::Object(card) => {
            let mut card_fields = Fields::new(Value::Object(card));
            Some(AlertCard {
                id: card_fields.opt_int("id"),
                name: card_fields.string("name"),
                description: card_fields.opt_string("description"),
                collection_id: card_fields.opt_int("collection_id"),
                display: card_fields.string("display"),
                extra: card_fields.extra(),
            })
        }
        _ => None,
    };
    Alert {
        id: fields.int("id"),
        card,
        alert_condition: fields.string("alert_condition"),
        alert_first_only: fields.bool("alert_first_only"),
        alert_above_goal: fields.opt_bool("alert_above_goal"),
        archived: fields.bool("archived"),
        creator_id: fields.int("creator_id"),
        channels: fields.objects("channels").into_iter().map(channel).collect(),
        created_at: fields.timestamp("created_at"),
        updated_at: fields.timestamp("updated_at"),
        extra: fields.extra(),
    }
}

fn channel(value: Value) -> AlertChannel {
    let mut fields = Fields::new(value);
    AlertChannel {
        id: fields.int("id"),
        channel_type: fields.string("channel_type"),
        enabled: fields.bool("enabled"),
        schedule_type: fields.string("schedule_type"),
        schedule_hour: fields.opt_i32("schedule_hour"),
        schedule_day: fields.opt_string("schedule_day"),
        recipients: fields.list("recipients"),
        details: fields.structure("details"),
        extra: fields.extra(),
    }
}
