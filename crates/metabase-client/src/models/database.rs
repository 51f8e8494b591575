//! Owns the database and table models (CONTRACT.md §7).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::null_as_default;
use crate::ids::{DatabaseId, TableId};

/// A connected database. `details` may hold connection secrets (masked as `**MetabasePass**` by
/// Metabase): never log it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Database {
    /// The database's id.
    pub id: DatabaseId,
    /// The database's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The driver, e.g. `postgres`, `h2`, `sqlite`.
    #[serde(default)]
    pub engine: Option<String>,
    /// The database's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Connection details; absent for callers who cannot write the database.
    #[serde(default)]
    pub details: Option<Value>,
    /// The driver features, e.g. `nested-queries`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub features: Vec<String>,
    /// Per-database settings.
    #[serde(default)]
    pub settings: Option<Value>,
    /// The database's time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// `complete`, `incomplete` or `aborted`.
    #[serde(default)]
    pub initial_sync_status: Option<String>,
    /// Whether it is the bundled sample database.
    #[serde(default)]
    pub is_sample: Option<bool>,
    /// Whether it is the audit database.
    #[serde(default)]
    pub is_audit: Option<bool>,
    /// Whether Metabase runs a full sync.
    #[serde(default)]
    pub is_full_sync: Option<bool>,
    /// Whether field values are scanned on demand.
    #[serde(default)]
    pub is_on_demand: Option<bool>,
    /// Whether queries run automatically in the query builder.
    #[serde(default)]
    pub auto_run_queries: Option<bool>,
    /// The cache lifetime in seconds.
    #[serde(default)]
    pub cache_ttl: Option<i64>,
    /// The sync and scan schedules.
    #[serde(default)]
    pub schedules: Option<Value>,
    /// The database server's version, e.g. `{"flavor": "PostgreSQL", "version": "16.2"}`.
    #[serde(default)]
    pub dbms_version: Option<Value>,
    /// Whether the caller may manage the database (the hyphenated `can-manage` key).
    #[serde(default, rename = "can-manage")]
    pub can_manage: Option<bool>,
    /// Creation time, ISO-8601.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time, ISO-8601.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The tables, when asked for with `include=tables`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tables: Vec<Table>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A table of a connected database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The table's id.
    pub id: TableId,
    /// The database the table is in.
    #[serde(default)]
    pub db_id: Option<DatabaseId>,
    /// The table's name in the database.
    #[serde(default)]
    pub name: Option<String>,
    /// The name Metabase shows.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The schema, for databases that have schemas.
    #[serde(default)]
    pub schema: Option<String>,
    /// The table's description.
    #[serde(default)]
    pub description: Option<String>,
    /// E.g. `entity/TransactionTable`.
    #[serde(default)]
    pub entity_type: Option<String>,
    /// `None` when visible, else `hidden`, `technical` or `cruft`.
    #[serde(default)]
    pub visibility_type: Option<String>,
    /// Whether the table still exists in the database.
    #[serde(default)]
    pub active: Option<bool>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `GET /api/database`: `{data, total}`, without paging.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseList {
    /// The databases the caller can see.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<Database>,
    /// The number of databases.
    #[serde(default)]
    pub total: i64,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `POST /api/database/:id/sync_schema`, normally `{"status": "ok"}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// Metabase's status word, `ok` when the sync was queued.
    #[serde(default)]
    pub status: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::DatabaseList;
    use crate::ids::TableId;

    #[test]
    fn database_reads_hyphenated_can_manage_and_tables() {
        let list: DatabaseList = serde_json::from_value(json!({
            "data": [{"id": 1, "name": "Sample", "engine": "h2", "can-manage": true,
                      "tables": [{"id": 9, "name": "ORDERS", "schema": "PUBLIC", "fields": []}],
                      "dbms_version": {"flavor": "H2"}}],
            "total": 1
        }))
        .unwrap();

        let database = &list.data[0];
        assert_eq!(database.can_manage, Some(true));
        assert_eq!(database.tables[0].id, TableId(9));
        assert!(database.tables[0].extra.contains_key("fields"));
        assert_eq!(database.dbms_version, Some(json!({"flavor": "H2"})));
        assert!(!database.extra.contains_key("can-manage"));
    }
}
