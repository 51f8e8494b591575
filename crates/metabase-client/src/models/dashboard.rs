//! Owns the dashboard models (dashboards, their dashcards and tabs, CONTRACT.md §5) and the bodies
//! that create and update one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::card::Card;
use super::common::{CollectionSummary, LastEditInfo, null_as_default};
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
    /// The collection holding the dashboard, hydrated (its own collection even when it was
    /// archived directly).
    #[serde(default)]
    pub collection: Option<CollectionSummary>,
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
    /// Whether filter changes apply without a click.
    #[serde(default)]
    pub auto_apply_filters: Option<bool>,
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
    pub card: Option<HydratedCard>,
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
    pub series: Vec<SeriesCard>,
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

/// What Metabase hydrates as a dashcard's `card`: a card, or for a virtual card (text, heading,
/// link) an object that is not one, such as `{"query_average_duration": null}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HydratedCard {
    /// A card; only `{"id": n}` when the caller cannot read it.
    Card(Box<Card>),
    /// Anything that does not read as a card, verbatim.
    Other(Value),
}

impl HydratedCard {
    /// Returns the card, when it is one.
    pub fn card(&self) -> Option<&Card> {
        match self {
            Self::Card(card) => Some(card),
            Self::Other(_) => None,
        }
    }
}

/// A card combined into a dashcard's chart: its id typed, the rest of the card verbatim, so it
/// writes back exactly as Metabase sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesCard {
    /// The card's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CardId>,
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

/// The body of `POST /api/dashboard`: `name` is required, every other key is sent only when set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DashboardCreate {
    /// The dashboard's name.
    pub name: String,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The filter parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Value>>,
    /// The cache lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_ttl: Option<i64>,
    /// The collection to create the dashboard in; `Some(None)` sends `null`, the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<Option<CollectionId>>,
    /// The pinned position in the collection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_position: Option<i64>,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `PUT /api/dashboard/:id`: only the keys that are set are sent; for nullable keys,
/// `Some(None)` sends an explicit `null`. `dashcards` and `tabs`, when set, are the complete
/// desired sets: negative ids create, missing ids delete.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DashboardUpdate {
    /// The new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new description; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
    /// Moves the dashboard to the Trash (`true`) or restores it (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Moves the dashboard; `Some(None)` moves it to the root collection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<Option<CollectionId>>,
    /// The new pinned position; `Some(None)` unpins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_position: Option<Option<i64>>,
    /// The new filter parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Value>>,
    /// `fixed` or `full`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<String>,
    /// Whether filter changes apply without a click.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_apply_filters: Option<bool>,
    /// The new cache lifetime in seconds; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_ttl: Option<Option<i64>>,
    /// The caveats text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveats: Option<String>,
    /// The points-of-interest text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_of_interest: Option<String>,
    /// Whether the dashboard shows in getting started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_in_getting_started: Option<bool>,
    /// Whether static embedding is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_embedding: Option<bool>,
    /// The embedding type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_type: Option<String>,
    /// The embedding parameter settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_params: Option<Map<String, Value>>,
    /// The legacy position; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Option<i64>>,
    /// The complete set of tabs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tabs: Option<Vec<TabUpdate>>,
    /// The complete set of dashcards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashcards: Option<Vec<DashCardUpdate>>,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One dashcard of a [`DashboardUpdate`]: its place always, its mappings, settings and series
/// when set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DashCardUpdate {
    /// The dashcard's id; negative creates one.
    pub id: DashCardId,
    /// The card shown; `None` (sent as `null`) for a virtual card.
    pub card_id: Option<CardId>,
    /// The tab; `None` (sent as `null`) when the dashboard has no tabs.
    pub dashboard_tab_id: Option<TabId>,
    /// The grid row.
    pub row: i64,
    /// The grid column.
    pub col: i64,
    /// The width in grid cells.
    pub size_x: i64,
    /// The height in grid cells.
    pub size_y: i64,
    /// How dashboard parameters map onto the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_mappings: Option<Vec<Value>>,
    /// Per-dashcard visualization settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visualization_settings: Option<Map<String, Value>>,
    /// Extra cards combined into the same chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<Value>>,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One tab of a [`DashboardUpdate`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TabUpdate {
    /// The tab's id; negative creates one.
    pub id: TabId,
    /// The tab's name.
    pub name: String,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{DashCardUpdate, Dashboard};
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

    #[test]
    fn a_virtual_card_hydration_stays_verbatim_and_series_write_back_unchanged() {
        let dashboard: Dashboard = serde_json::from_value(json!({
            "id": 3,
            "dashcards": [{"id": 11, "card_id": null, "card": {"query_average_duration": null},
                           "series": [{"id": 9, "name": "Refunds", "collection_id": null}]}]
        }))
        .unwrap();

        let dashcard = &dashboard.dashcards[0];
        assert_eq!(dashcard.card.as_ref().and_then(|card| card.card()), None);
        assert_eq!(dashcard.series[0].id, Some(CardId(9)));
        let written = serde_json::to_value(&dashcard.series[0]).unwrap();
        assert_eq!(written, json!({"id": 9, "name": "Refunds", "collection_id": null}));
    }

    #[test]
    fn a_dashcard_update_always_sends_its_place_with_nulls() {
        let dashcard = DashCardUpdate {
            id: DashCardId(-1),
            card_id: None,
            dashboard_tab_id: None,
            row: 0,
            col: 0,
            size_x: 4,
            size_y: 3,
            parameter_mappings: None,
            visualization_settings: None,
            series: None,
            extra: serde_json::Map::new(),
        };

        let written = serde_json::to_value(&dashcard).unwrap();

        assert_eq!(
            written,
            json!({"id": -1, "card_id": null, "dashboard_tab_id": null, "row": 0, "col": 0, "size_x": 4, "size_y": 3})
        );
    }
}
