//! Owns the card model (saved questions, models and metrics, CONTRACT.md §4.8) and the bodies
//! that create and update one.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::common::{CollectionSummary, LastEditInfo};
use crate::ids::{CardId, CollectionId, DashboardId, DatabaseId, TabId, TableId, UserId};

/// A card as `GET /api/card/:id` and `GET /api/card` return it.
///
/// The parts Metabase leaves free-form (the query, the result metadata, the settings, the
/// parameters and every key this type does not name) are held as `J`: JSON values unless the
/// caller reads them straight into a representation of its own, in one pass (the gateway reads
/// them into protobuf values, without a JSON tree in between).
///
/// Written with every key (typed ones under Metabase's names), read by hand in one pass
/// (`card_read.rs`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(bound(serialize = "J: Serialize"))]
pub struct Card<J = Value> {
    /// The card's id.
    pub id: CardId,
    /// The 21-character NanoID that is stable across instances.
    pub entity_id: Option<String>,
    /// The card's name.
    pub name: Option<String>,
    /// The card's description.
    pub description: Option<String>,
    /// `question`, `model` or `metric`.
    #[serde(rename = "type")]
    pub card_type: Option<String>,
    /// The visualization, e.g. `table`, `bar`, `scalar`.
    pub display: Option<String>,
    /// `native` or `query`.
    pub query_type: Option<String>,
    /// The query: MBQL 5 from 0.57 (unless `legacy-mbql=true`), legacy MBQL 4 before.
    pub dataset_query: Option<J>,
    /// The columns of the card's result, as Metabase stored them when the query last ran.
    pub result_metadata: Option<Vec<J>>,
    /// The visualization settings.
    pub visualization_settings: Option<J>,
    /// The parameters the card accepts.
    pub parameters: Vec<J>,
    /// The database the query runs against.
    pub database_id: Option<DatabaseId>,
    /// The source table, for MBQL queries on a table.
    pub table_id: Option<TableId>,
    /// The collection holding the card; `None` is the root (the Trash's id when archived directly).
    pub collection_id: Option<CollectionId>,
    /// The collection holding the card, hydrated (the card's own collection even when it was
    /// archived directly).
    pub collection: Option<CollectionSummary>,
    /// The pinned position in the collection.
    pub collection_position: Option<i64>,
    /// The dashboard a dashboard question belongs to.
    pub dashboard_id: Option<DashboardId>,
    /// The tab of that dashboard.
    pub dashboard_tab_id: Option<TabId>,
    /// How the card's parameters map onto its query.
    pub parameter_mappings: Option<Vec<J>>,
    /// Whether the card is in the Trash.
    pub archived: bool,
    /// The user who created the card.
    pub creator_id: Option<UserId>,
    /// Whether the caller may edit the card.
    pub can_write: Option<bool>,
    /// The cache lifetime in seconds.
    pub cache_ttl: Option<i64>,
    /// How often the card was viewed.
    pub view_count: Option<i64>,
    /// Creation time, ISO-8601.
    pub created_at: Option<String>,
    /// Last update time, ISO-8601.
    pub updated_at: Option<String>,
    /// Who last edited the card and when.
    #[serde(rename = "last-edit-info")]
    pub last_edit_info: Option<LastEditInfo>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, J>,
}

/// The body of `POST /api/card`: Metabase requires `name`, `display`, `dataset_query` and
/// `visualization_settings`; every other key is sent only when set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CardCreate {
    /// The card's name.
    pub name: String,
    /// The visualization, e.g. `table`.
    pub display: String,
    /// The query (MBQL 4, MBQL 5 or native).
    pub dataset_query: Map<String, Value>,
    /// The visualization settings (may be empty).
    pub visualization_settings: Map<String, Value>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `question`, `model` or `metric`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub card_type: Option<String>,
    /// The collection to create the card in; `Some(None)` sends `null`, the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<Option<CollectionId>>,
    /// The pinned position in the collection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_position: Option<i64>,
    /// The parameters the card accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Value>>,
    /// The cache lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_ttl: Option<i64>,
    /// The dashboard to save the card into, as a dashboard question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_id: Option<DashboardId>,
    /// The tab of that dashboard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_tab_id: Option<TabId>,
    /// How the parameters map onto the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_mappings: Option<Vec<Value>>,
    /// The result columns' metadata (mostly for models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_metadata: Option<Vec<Value>>,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `PUT /api/card/:id`: only the keys that are set are sent. For nullable keys,
/// `Some(None)` sends an explicit `null`, which clears the value in Metabase.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CardUpdate {
    /// The new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new description; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
    /// The new query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_query: Option<Map<String, Value>>,
    /// The new type: `question`, `model` or `metric`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub card_type: Option<String>,
    /// The new visualization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The new visualization settings, replacing the old ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visualization_settings: Option<Map<String, Value>>,
    /// Moves the card to the Trash (`true`) or restores it (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Moves the card; `Some(None)` moves it to the root collection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<Option<CollectionId>>,
    /// The new pinned position; `Some(None)` unpins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_position: Option<Option<i64>>,
    /// Whether the card shows a preview in its collection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_preview: Option<bool>,
    /// Whether static embedding is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_embedding: Option<bool>,
    /// The embedding type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_type: Option<String>,
    /// The embedding parameter settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_params: Option<Map<String, Value>>,
    /// The result columns' metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_metadata: Option<Vec<Value>>,
    /// The new cache lifetime in seconds; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_ttl: Option<Option<i64>>,
    /// The new parameters (an empty list clears them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Value>>,
    /// The new parameter mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_mappings: Option<Vec<Value>>,
    /// Moves the card into a dashboard; `Some(None)` takes it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_id: Option<Option<DashboardId>>,
    /// The dashboard tab; `Some(None)` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_tab_id: Option<Option<TabId>>,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Card, CardUpdate};
    use crate::ids::{CardId, CollectionId, DatabaseId};

    #[test]
    fn unknown_card_keys_land_in_extra_without_duplicating_typed_keys() {
        let card: Card = serde_json::from_value(json!({
            "id": 42,
            "name": "Orders by month",
            "type": "question",
            "display": "line",
            "database_id": 1,
            "collection_id": 7,
            "archived": null,
            "parameters": null,
            "dataset_query": {"database": 1, "type": "native", "native": {"query": "select 1"}},
            "last-edit-info": {"id": 3, "email": "ada@example.com", "timestamp": "2025-03-28T21:15:18Z"},
            "some_new_key": {"nested": [1, 2]},
            "can_run_adhoc_query": true
        }))
        .unwrap();

        assert_eq!(card.id, CardId(42));
        assert_eq!(card.card_type.as_deref(), Some("question"));
        assert_eq!(card.database_id, Some(DatabaseId(1)));
        assert_eq!(card.collection_id, Some(CollectionId(7)));
        assert!(!card.archived);
        assert!(card.parameters.is_empty());
        assert_eq!(card.last_edit_info.as_ref().and_then(|info| info.email.as_deref()), Some("ada@example.com"));
        assert_eq!(card.extra.get("some_new_key"), Some(&json!({"nested": [1, 2]})));
        assert_eq!(card.extra.get("can_run_adhoc_query"), Some(&json!(true)));
        for typed in ["id", "name", "type", "display", "dataset_query", "last-edit-info", "archived"] {
            assert!(!card.extra.contains_key(typed), "{typed} duplicated in extra");
        }
    }

    #[test]
    fn card_round_trips_its_extra_keys() {
        let card: Card = serde_json::from_value(json!({"id": 1, "future_field": "kept"})).unwrap();

        let written = serde_json::to_value(&card).unwrap();

        assert_eq!(written["future_field"], json!("kept"));
        assert_eq!(written["id"], json!(1));
    }

    #[test]
    fn a_card_update_sends_only_set_keys_and_explicit_nulls() {
        let update = CardUpdate {
            archived: Some(false),
            collection_id: Some(None),
            cache_ttl: Some(Some(60)),
            description: None,
            ..CardUpdate::default()
        };

        let written = serde_json::to_value(&update).unwrap();

        assert_eq!(written, json!({"archived": false, "collection_id": null, "cache_ttl": 60}));
    }
}
