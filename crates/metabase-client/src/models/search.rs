//! Owns the search models (CONTRACT.md §14).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{CollectionSummary, null_as_default};
use crate::ids::{DashboardId, DatabaseId, TableId};

/// One search hit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// `card`, `dataset`, `metric`, `dashboard`, `collection`, `table`, `database`, ...
    #[serde(default)]
    pub model: Option<String>,
    /// The hit's id in its model's id space; kept as JSON because indexed entities need not use
    /// integers (see [`SearchResult::id_as_i64`]).
    #[serde(default)]
    pub id: Value,
    /// The hit's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The hit's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the hit is in the Trash.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    /// The collection holding the hit: `{id, name, authority_level, type, ...}`.
    #[serde(default)]
    pub collection: Option<CollectionSummary>,
    /// The database, for cards and tables.
    #[serde(default)]
    pub database_id: Option<DatabaseId>,
    /// The table, for tables and cards on one table.
    #[serde(default)]
    pub table_id: Option<TableId>,
    /// The table's name.
    #[serde(default)]
    pub table_name: Option<String>,
    /// The table's schema.
    #[serde(default)]
    pub table_schema: Option<String>,
    /// The dashboard of a dashboard question: `{id, name, moderation_status}`.
    #[serde(default)]
    pub dashboard: Option<SearchDashboard>,
    /// Creation time, ISO-8601.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time, ISO-8601.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Last edit time, ISO-8601.
    #[serde(default)]
    pub last_edited_at: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The dashboard a search hit (a dashboard question) belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchDashboard {
    /// The dashboard's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<DashboardId>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SearchResult {
    /// Returns the id as an integer, when it is one (possibly written as a numeric string).
    pub fn id_as_i64(&self) -> Option<i64> {
        match &self.id {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }
}

/// The answer of `GET /api/search`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// The hits on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<SearchResult>,
    /// The number of hits kept (Metabase caps it at 1000).
    #[serde(default)]
    pub total: i64,
    /// The page size echoed back, `None` without paging.
    #[serde(default)]
    pub limit: Option<i64>,
    /// The offset echoed back, `None` without paging.
    #[serde(default)]
    pub offset: Option<i64>,
    /// The models searched.
    #[serde(default, deserialize_with = "null_as_default")]
    pub models: Vec<String>,
    /// Every other key, verbatim (`engine`, `table_db_id`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::SearchResponse;

    #[test]
    fn search_response_keeps_engine_in_extra_and_reads_ids() {
        let response: SearchResponse = serde_json::from_value(json!({
            "data": [{"model": "card", "id": 42, "name": "Orders", "scores": []},
                     {"model": "indexed-entity", "id": "17", "name": "Acme"}],
            "total": 2, "limit": null, "offset": null, "models": ["card"],
            "engine": "search.engine/appdb", "table_db_id": null
        }))
        .unwrap();

        assert_eq!(response.data[0].id_as_i64(), Some(42));
        assert_eq!(response.data[1].id_as_i64(), Some(17));
        assert!(response.data[0].extra.contains_key("scores"));
        assert_eq!(response.extra.get("engine"), Some(&json!("search.engine/appdb")));
        assert!(!response.extra.contains_key("data"));
    }
}
