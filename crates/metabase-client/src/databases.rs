//! Owns the database routes (`/api/database`, CONTRACT.md §7): list, get, create, update and
//! schema sync, and the typed create and update bodies. Bodies carry connection secrets in
//! `details`: like every body they are never logged, and their `Debug` output leaves them out.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::MetabaseError;
use super::ids::DatabaseId;
use super::models::{Database, DatabaseList, SyncStatus};
use super::transport::{Query, RequestBody, Transport, param};

/// The database routes, from [`super::MetabaseClient::databases`].
#[derive(Clone, Copy, Debug)]
pub struct Databases<'a> {
    transport: &'a Transport,
}

impl<'a> Databases<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Lists the databases (`GET /api/database`), with their tables when `include_tables`.
    pub async fn list(&self, include_tables: bool) -> Result<DatabaseList, MetabaseError> {
        self.transport.get_json("/api/database", "/api/database", &include(include_tables)).await
    }

    /// Returns one database (`GET /api/database/:id`), with its tables when `include_tables`.
    pub async fn get(&self, id: DatabaseId, include_tables: bool) -> Result<Database, MetabaseError> {
        self.transport.get_json("/api/database/{id}", &format!("/api/database/{id}"), &include(include_tables)).await
    }

    /// Connects a database (`POST /api/database`). Metabase tests the connection first and
    /// answers 400 when it fails.
    pub async fn create(&self, body: &DatabaseCreate) -> Result<Database, MetabaseError> {
        self.transport.post_json("/api/database", "/api/database", &[], RequestBody::typed(body)).await
    }

    /// Updates a database with the keys `body` sets (`PUT /api/database/:id`).
    pub async fn update(&self, id: DatabaseId, body: &DatabaseUpdate) -> Result<Database, MetabaseError> {
        let path = format!("/api/database/{id}");
        self.transport.put_json("/api/database/{id}", &path, &[], RequestBody::typed(body)).await
    }

    /// Queues a schema sync (`POST /api/database/:id/sync_schema`) and returns Metabase's answer,
    /// normally `{"status": "ok"}`; a failed connection test comes back as an upstream 422.
    pub async fn sync_schema(&self, id: DatabaseId) -> Result<SyncStatus, MetabaseError> {
        let path = format!("/api/database/{id}/sync_schema");
        self.transport.post_json("/api/database/{id}/sync_schema", &path, &[], RequestBody::None).await
    }
}

/// The body of `POST /api/database`: `name`, `engine` and `details` are required. Its `Debug`
/// output names the keys of `details` and `extra` but never their values.
#[derive(Clone, Default, PartialEq, Serialize)]
pub struct DatabaseCreate {
    /// The database's name.
    pub name: String,
    /// The driver, e.g. `postgres`.
    pub engine: String,
    /// The connection details, secrets included.
    pub details: Map<String, Value>,
    /// Whether Metabase runs a full sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_full_sync: Option<bool>,
    /// Whether field values are scanned on demand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_on_demand: Option<bool>,
    /// Whether queries run automatically in the query builder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_run_queries: Option<bool>,
    /// The sync and scan schedules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedules: Option<Map<String, Value>>,
    /// Keys this type does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `PUT /api/database/:id`: only the keys that are set are sent. Its `Debug` output
/// names the keys of `details` and `extra` but never their values.
#[derive(Clone, Default, PartialEq, Serialize)]
pub struct DatabaseUpdate {
    /// The new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The new connection details, secrets included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
    /// The new sync and scan schedules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedules: Option<Map<String, Value>>,
    /// The new description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The new caveats text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveats: Option<String>,
    /// The new points-of-interest text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_of_interest: Option<String>,
    /// Whether queries run automatically in the query builder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_run_queries: Option<bool>,
    /// The new per-database settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Map<String, Value>>,
    /// Keys this type does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Shows the keys of a map that may hold secrets, never its values.
struct KeysOnly<'a>(&'a Map<String, Value>);

impl fmt::Debug for KeysOnly<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_set().entries(self.0.keys()).finish()
    }
}

impl fmt::Debug for DatabaseCreate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DatabaseCreate")
            .field("name", &self.name)
            .field("engine", &self.engine)
            .field("details", &KeysOnly(&self.details))
            .field("is_full_sync", &self.is_full_sync)
            .field("is_on_demand", &self.is_on_demand)
            .field("auto_run_queries", &self.auto_run_queries)
            .field("schedules", &self.schedules.as_ref().map(KeysOnly))
            .field("extra", &KeysOnly(&self.extra))
            .finish()
    }
}

impl fmt::Debug for DatabaseUpdate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DatabaseUpdate")
            .field("name", &self.name)
            .field("engine", &self.engine)
            .field("details", &self.details.as_ref().map(KeysOnly))
            .field("schedules", &self.schedules.as_ref().map(KeysOnly))
            .field("description", &self.description)
            .field("caveats", &self.caveats)
            .field("points_of_interest", &self.points_of_interest)
            .field("auto_run_queries", &self.auto_run_queries)
            .field("settings", &self.settings.as_ref().map(KeysOnly))
            .field("extra", &KeysOnly(&self.extra))
            .finish()
    }
}

fn include(include_tables: bool) -> Query {
    if include_tables { vec![param("include", "tables")] } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::{DatabaseCreate, DatabaseUpdate};
    use crate::test_support::api_key_client;
    use crate::{DatabaseId, MetabaseError};

    const PASSWORD: &str = "db-password-in-a-body";

    fn details() -> serde_json::Map<String, serde_json::Value> {
        json!({"host": "db.internal", "password": PASSWORD}).as_object().cloned().unwrap()
    }

    #[test]
    fn database_bodies_never_show_connection_secrets_in_debug_output() {
        let create =
            DatabaseCreate { name: "Shop".into(), engine: "postgres".into(), details: details(), ..Default::default() };
        let update = DatabaseUpdate { details: Some(details()), ..Default::default() };

        for printed in [format!("{create:?}"), format!("{update:?}")] {
            assert!(!printed.contains(PASSWORD), "{printed}");
            assert!(printed.contains("\"password\""), "the keys are shown: {printed}");
        }
    }

    #[tokio::test]
    async fn create_sends_the_set_keys_and_extra_but_no_unset_option() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/database"))
            .and(body_json(json!({
                "name": "Shop", "engine": "postgres", "details": {"host": "db.internal", "password": PASSWORD},
                "is_full_sync": true, "newer_key": 1
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 4, "name": "Shop"})))
            .expect(1)
            .mount(&server)
            .await;
        let body = DatabaseCreate {
            name: "Shop".into(),
            engine: "postgres".into(),
            details: details(),
            is_full_sync: Some(true),
            extra: json!({"newer_key": 1}).as_object().cloned().unwrap(),
            ..Default::default()
        };

        let created = api_key_client(&server).databases().create(&body).await.unwrap();

        assert_eq!(created.id, DatabaseId(4));
    }

    #[tokio::test]
    async fn list_with_tables_sends_include_tables() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/database"))
            .and(query_param("include", "tables"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"id": 1, "name": "Sample", "tables": [{"id": 2, "name": "ORDERS"}]}], "total": 1
            })))
            .expect(1)
            .mount(&server)
            .await;

        let list = api_key_client(&server).databases().list(true).await.unwrap();

        assert_eq!(list.total, 1);
        assert_eq!(list.data[0].tables.len(), 1);
    }

    #[tokio::test]
    async fn failed_sync_connection_test_is_upstream_422() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/database/3/sync_schema"))
            .respond_with(ResponseTemplate::new(422).set_body_raw("Connection refused", "text/plain"))
            .mount(&server)
            .await;

        let error = api_key_client(&server).databases().sync_schema(DatabaseId(3)).await.unwrap_err();

        assert!(
            matches!(&error, MetabaseError::Upstream { status: 422, message, .. } if message == "Connection refused"),
            "{error:?}"
        );
    }
}
