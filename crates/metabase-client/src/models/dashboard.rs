//! Owns the dashboard models: dashboards, their dashcards and tabs (CONTRACT.md §5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{LastEditInfo, null_as_default};
use crate::ids::{CardId, CollectionId, DashCardId, DashboardId, TabId, UserId};

/// A dashboard; `GET /api/dashboard/:id` fills `dashcards` and `tabs`, the list leaves them empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The dashboard's id.
    pub id: DashboardId,
    /// The 21-character NanoID that is stable across instances.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// The dashboard's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The dashboard's description.
    #[serde(default)]
    pub description: Option<String>,
    /// The collection holding the dashboard; `None` is the root.
    #[serde(default)]
    pub collection_id: Option<CollectionId>,
    /// The pinned position in the collection.
    #[serde(default)]
    pub collection_position: Option<i64>,
    /// Whether the dashboard is in the Trash.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    /// The dashboard's filter parameters.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: Vec<Value>,
    /// The cards placed on the dashboard.
    #[serde(default, deserialize_with = "null_as_default")]
    pub dashcards: Vec<DashCard>,
    /// The dashboard's tabs (empty when it has none).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tabs: Vec<DashboardTab>,
    /// `fixed` or `full`.
    #[serde(default)]
    pub width: Option<String>,
    /// The user who created the dashboard.
    #[serde(default)]
    pub creator_id: Option<UserId>,
    /// Whether the caller may edit the dashboard.
    #[serde(default)]
    pub can_write: Option<bool>,
    /// The cache lifetime in seconds.
    #[serde(default)]
    pub cache_ttl: Option<i64>,
    /// Creation time, ISO-8601.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time, ISO-8601.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Who last edited the dashboard and when.
    #[serde(default, rename = "last-edit-info")]
    pub last_edit_info: Option<LastEditInfo>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A card placed on a dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashCard {
    /// The dashcard's id.
    pub id: DashCardId,
    /// The card shown; `None` for virtual cards (text, headings, links).
    #[serde(default)]
    pub card_id: Option<CardId>,
    /// The hydrated card, or `{"id": n}` when the caller cannot read it.
    #[serde(default)]
    pub card: Option<Value>,
    /// The dashboard the dashcard is on.
    #[serde(default)]
    pub dashboard_id: Option<DashboardId>,
    /// The tab the dashcard is on, when the dashboard has tabs.
    #[serde(default)]
    pub dashboard_tab_id: Option<TabId>,
    /// The grid row.
    #[serde(default)]
    pub row: Option<i64>,
    /// The grid column.
    #[serde(default)]
    pub col: Option<i64>,
    /// The width in grid cells.
    #[serde(default)]
    pub size_x: Option<i64>,
    /// The height in grid cells.
    #[serde(default)]
    pub size_y: Option<i64>,
    /// Extra cards combined into the same chart.
    #[serde(default, deserialize_with = "null_as_default")]
    pub series: Vec<Value>,
    /// How dashboard parameters map onto the card.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameter_mappings: Vec<Value>,
    /// Per-dashcard visualization settings.
    #[serde(default)]
    pub visualization_settings: Option<Value>,
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

/// A tab of a dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardTab {
    /// The tab's id.
    pub id: TabId,
    /// The dashboard the tab belongs to.
    #[serde(default)]
    pub dashboard_id: Option<DashboardId>,
    /// The tab's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The tab's position, from 0.
    #[serde(default)]
    pub position: Option<i64>,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Dashboard;
    use crate::ids::{CardId, DashCardId, TabId};

    #[test]
    fn dashboard_reads_dashcards_tabs_and_keeps_unknown_keys() {
        let dashboard: Dashboard = serde_json::from_value(json!({
            "id": 3,
            "name": "Sales",
            "dashcards": [
                {"id": 10, "card_id": 42, "card": {"id": 42, "name": "Orders"}, "dashboard_tab_id": 1,
                 "row": 0, "col": 0, "size_x": 6, "size_y": 4, "series": null, "inline_parameters": []},
                {"id": 11, "card_id": null, "card": null, "visualization_settings": {"text": "hi"}}
            ],
            "tabs": [{"id": 1, "name": "Overview", "position": 0, "entity_id": "abc"}],
            "param_fields": {},
            "last-edit-info": {"id": 1}
        }))
        .unwrap();

        assert_eq!(dashboard.dashcards.len(), 2);
        assert_eq!(dashboard.dashcards[0].id, DashCardId(10));
        assert_eq!(dashboard.dashcards[0].card_id, Some(CardId(42)));
        assert_eq!(dashboard.dashcards[0].extra.get("inline_parameters"), Some(&json!([])));
        assert_eq!(dashboard.dashcards[1].card, None);
        assert_eq!(dashboard.tabs[0].id, TabId(1));
        assert_eq!(dashboard.tabs[0].extra.get("entity_id"), Some(&json!("abc")));
        assert!(dashboard.extra.contains_key("param_fields"));
        assert!(!dashboard.extra.contains_key("last-edit-info"));
    }
}
