//! Databases and their tables, and the create and update bodies. Connection `details` are
//! passed through as Metabase masks them; the gateway never logs them.

use super::json::{from_struct, to_timestamp};
use super::model::{extra, object, proto_of};
use crate::error::GatewayError;
use crate::metabase;
use crate::pb::v1::{CreateDatabaseRequest, Database, Table, UpdateDatabaseRequest};

impl From<metabase::Database> for Database {
    fn from(database: metabase::Database) -> Self {
        let extra = extra(
            database.extra,
            [
                ("is_audit", proto_of(database.is_audit.as_ref())),
                ("schedules", proto_of(database.schedules.as_ref())),
                ("can-manage", proto_of(database.can_manage.as_ref())),
            ],
        );
        Database {
            id: database.id.get(),
            name: database.name.unwrap_or_default(),
            engine: database.engine.unwrap_or_default(),
            description: database.description,
            is_sample: database.is_sample.unwrap_or_default(),
            is_full_sync: database.is_full_sync.unwrap_or_default(),
            is_on_demand: database.is_on_demand.unwrap_or_default(),
            features: database.features,
            timezone: database.timezone,
            dbms_version: object(database.dbms_version),
            initial_sync_status: database.initial_sync_status.unwrap_or_default(),
            details: object(database.details),
            tables: database.tables.into_iter().map(Table::from).collect(),
            created_at: database.created_at.as_deref().and_then(to_timestamp),
            updated_at: database.updated_at.as_deref().and_then(to_timestamp),
            auto_run_queries: database.auto_run_queries.unwrap_or_default(),
            cache_ttl: database.cache_ttl.and_then(|seconds| i32::try_from(seconds).ok()),
            settings: object(database.settings),
            extra,
        }
    }
}

impl From<metabase::Table> for Table {
    fn from(table: metabase::Table) -> Self {
        let extra = extra(
            table.extra,
            [
                ("visibility_type", proto_of(table.visibility_type.as_ref())),
                ("active", proto_of(table.active.as_ref())),
            ],
        );
        Table {
            id: table.id.get(),
            db_id: table.db_id.map_or(0, metabase::DatabaseId::get),
            name: table.name.unwrap_or_default(),
            display_name: table.display_name.unwrap_or_default(),
            schema: table.schema,
            entity_type: table.entity_type,
            description: table.description,
            extra,
        }
    }
}

/// Builds `POST /api/database`'s body; `name`, `engine` and `details` are required.
impl TryFrom<CreateDatabaseRequest> for metabase::DatabaseCreate {
    type Error = GatewayError;

    fn try_from(request: CreateDatabaseRequest) -> Result<Self, GatewayError> {
        if request.name.trim().is_empty() {
            return Err(GatewayError::invalid_argument("name", "name is required"));
        }
        if request.engine.trim().is_empty() {
            return Err(GatewayError::invalid_argument("engine", "engine is required, such as postgres"));
        }
        let details =
            request.details.ok_or_else(|| GatewayError::invalid_argument("details", "details are required"))?;
        Ok(metabase::DatabaseCreate {
            name: request.name,
            engine: request.engine,
            details: from_struct(details),
            is_full_sync: request.is_full_sync,
            is_on_demand: request.is_on_demand,
            auto_run_queries: request.auto_run_queries,
            schedules: request.schedules.map(from_struct),
            extra: Default::default(),
        })
    }
}

/// Builds `PUT /api/database/:id`'s body from the fields the caller set.
impl From<UpdateDatabaseRequest> for metabase::DatabaseUpdate {
    fn from(request: UpdateDatabaseRequest) -> Self {
        metabase::DatabaseUpdate {
            name: request.name,
            engine: request.engine,
            details: request.details.map(from_struct),
            schedules: request.schedules.map(from_struct),
            description: request.description,
            caveats: request.caveats,
            points_of_interest: request.points_of_interest,
            auto_run_queries: request.auto_run_queries,
            settings: request.settings.map(from_struct),
            extra: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::convert::json::to_struct;

    fn structure(value: Value) -> Option<prost_types::Struct> {
        value.as_object().cloned().map(to_struct)
    }

    fn decoded(value: Value) -> metabase::Database {
        serde_json::from_value(value).expect("a database model")
    }

    #[test]
    fn a_database_answer_fills_typed_fields_and_keeps_the_rest_in_extra() {
        let database = Database::from(decoded(json!({
            "id": 3, "name": "Shop", "engine": "postgres", "is_sample": false, "features": ["nested-queries"],
            "dbms_version": {"flavor": "PostgreSQL"}, "details": {"host": "db", "password": "**MetabasePass**"},
            "cache_ttl": 60, "can-manage": true, "created_at": "2024-01-02T03:04:05Z",
            "tables": [{"id": 9, "db_id": 3, "name": "orders", "visibility_type": "hidden", "fields": []}],
            "newer_metabase_key": {"a": 1}
        })));

        assert_eq!((database.id, database.name.as_str(), database.engine.as_str()), (3, "Shop", "postgres"));
        assert_eq!(database.features, vec!["nested-queries".to_owned()]);
        assert_eq!(database.dbms_version, structure(json!({"flavor": "PostgreSQL"})));
        assert_eq!(database.details, structure(json!({"host": "db", "password": "**MetabasePass**"})));
        assert_eq!(database.cache_ttl, Some(60));
        assert_eq!(database.created_at.map(|at| at.seconds), Some(1_704_164_645));
        let extra = database.extra.expect("extra");
        assert_eq!(extra.fields.keys().collect::<Vec<_>>(), vec!["can-manage", "newer_metabase_key"]);
        let table = &database.tables[0];
        assert_eq!((table.id, table.db_id, table.name.as_str()), (9, 3, "orders"));
        let table_extra = table.extra.as_ref().expect("table extra");
        assert_eq!(table_extra.fields.keys().collect::<Vec<_>>(), vec!["fields", "visibility_type"]);
    }

    #[test]
    fn a_sparse_database_answer_reads_as_defaults() {
        let database = Database::from(decoded(json!({"id": 5, "cache_ttl": 9_999_999_999_i64})));

        assert_eq!((database.name.as_str(), database.is_sample, database.details), ("", false, None));
        assert_eq!(database.cache_ttl, None, "a lifetime beyond int32 is dropped, not wrapped");
        assert!(database.extra.expect("extra").fields.is_empty());
    }

    #[test]
    fn create_requests_become_the_body_metabase_expects_or_name_the_missing_field() {
        let details = || structure(json!({"host": "db", "password": "pw"}));
        let cases = [
            (CreateDatabaseRequest { engine: "postgres".into(), details: details(), ..Default::default() }, "name"),
            (CreateDatabaseRequest { name: "Shop".into(), details: details(), ..Default::default() }, "engine"),
            (CreateDatabaseRequest { name: "Shop".into(), engine: "postgres".into(), ..Default::default() }, "details"),
        ];
        for (request, expected) in cases {
            let error = metabase::DatabaseCreate::try_from(request).expect_err(expected);
            assert!(matches!(&error, GatewayError::InvalidArgument { field, .. } if field == expected), "{error:?}");
        }

        let request = CreateDatabaseRequest {
            name: "Shop".into(),
            engine: "postgres".into(),
            details: details(),
            is_on_demand: Some(false),
            schedules: structure(json!({"metadata_sync": {"schedule_type": "hourly"}})),
            ..Default::default()
        };
        let body = metabase::DatabaseCreate::try_from(request).expect("a valid request");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"name": "Shop", "engine": "postgres", "details": {"host": "db", "password": "pw"},
                   "is_on_demand": false, "schedules": {"metadata_sync": {"schedule_type": "hourly"}}})
        );
    }

    #[test]
    fn update_requests_send_only_the_fields_the_caller_set() {
        let cases = [
            (UpdateDatabaseRequest { database_id: 3, ..Default::default() }, json!({})),
            (
                UpdateDatabaseRequest { database_id: 3, description: Some(String::new()), ..Default::default() },
                json!({"description": ""}),
            ),
            (
                UpdateDatabaseRequest {
                    database_id: 3,
                    name: Some("Shop".into()),
                    details: structure(json!({"password": "pw"})),
                    auto_run_queries: Some(true),
                    settings: structure(json!({"database-enable-actions": true})),
                    ..Default::default()
                },
                json!({"name": "Shop", "details": {"password": "pw"}, "auto_run_queries": true,
                       "settings": {"database-enable-actions": true}}),
            ),
        ];
        for (request, expected) in cases {
            let body = metabase::DatabaseUpdate::from(request);
            assert_eq!(serde_json::to_value(&body).unwrap(), expected);
        }
    }
}
