//! Owns the legacy alert model (CONTRACT.md §13): since 0.54 a pulse-shaped view of card
//! notifications.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::null_as_default;
use crate::ids::{AlertId, CardId, CollectionId, DashboardId, UserId};

/// An alert as `GET /api/alert` and `GET /api/alert/:id` return it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The alert's id (a notification id since 0.54).
    pub id: AlertId,
    /// The alert's name (always `null` since 0.54).
    #[serde(default)]
    pub name: Option<String>,
    /// The user who created the alert.
    #[serde(default)]
    pub creator_id: Option<UserId>,
    /// The creator, hydrated.
    #[serde(default)]
    pub creator: Option<Value>,
    /// `rows` (send when there are results) or `goal`.
    #[serde(default)]
    pub alert_condition: Option<String>,
    /// For goal alerts, whether crossing above the goal triggers.
    #[serde(default)]
    pub alert_above_goal: Option<bool>,
    /// Whether the alert fires only once.
    #[serde(default)]
    pub alert_first_only: Option<bool>,
    /// Whether the alert is inactive.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    /// Whether an empty result skips sending.
    #[serde(default)]
    pub skip_if_empty: Option<bool>,
    /// Always `null` for alerts.
    #[serde(default)]
    pub collection_id: Option<CollectionId>,
    /// Always `null` for alerts.
    #[serde(default)]
    pub collection_position: Option<i64>,
    /// Always `null` for alerts.
    #[serde(default)]
    pub dashboard_id: Option<DashboardId>,
    /// The parameters (always empty for alerts).
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: Vec<Value>,
    /// The card the alert watches.
    #[serde(default)]
    pub card: Option<AlertCard>,
    /// Where it is sent.
    #[serde(default, deserialize_with = "null_as_default")]
    pub channels: Vec<AlertChannel>,
    /// Creation time, ISO-8601.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time, ISO-8601.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The card an alert watches, as the alert carries it (a few of the card's keys and its send
/// options).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertCard {
    /// The card's id.
    #[serde(default)]
    pub id: Option<CardId>,
    /// The card's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The card's description.
    #[serde(default)]
    pub description: Option<String>,
    /// The collection holding the card; `None` is the root.
    #[serde(default)]
    pub collection_id: Option<CollectionId>,
    /// The card's visualization, e.g. `table`.
    #[serde(default)]
    pub display: Option<String>,
    /// Every other key, verbatim (e.g. `include_csv`, `format_rows`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One way an alert is sent: a channel with its recipients and schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertChannel {
    /// The channel's id.
    #[serde(default)]
    pub id: Option<i64>,
    /// `email`, `slack` or `http`.
    #[serde(default)]
    pub channel_type: Option<String>,
    /// Whether the channel sends.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `hourly`, `daily`, `weekly` or `monthly`.
    #[serde(default)]
    pub schedule_type: Option<String>,
    /// The hour of the day it sends, 0 to 23.
    #[serde(default)]
    pub schedule_hour: Option<i64>,
    /// The day of the week it sends, e.g. `mon`.
    #[serde(default)]
    pub schedule_day: Option<String>,
    /// The recipients: users as objects, outside addresses as `{"email": ...}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub recipients: Vec<Value>,
    /// Channel-specific details, e.g. `{"emails": [...]}` or a Slack channel.
    #[serde(default)]
    pub details: Option<Value>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
