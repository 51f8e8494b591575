//! Owns the legacy alert model (CONTRACT.md §13): since 0.54 a pulse-shaped view of card
//! notifications.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::null_as_default;
use crate::ids::{AlertId, CollectionId, DashboardId, UserId};

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
    /// The card the alert watches: `{name, description, collection_id, display, ...}`.
    #[serde(default)]
    pub card: Value,
    /// Where it is sent: `[{channel_type, recipients, schedule_type, ...}]`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub channels: Vec<Value>,
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
