//! Owns the database routes (`/api/database`, CONTRACT.md §7): list, get, create, update and
//! schema sync. Bodies may carry connection secrets; like every body, they are never logged.

use serde_json::{Map, Value};

use super::error::MetabaseError;
use super::ids::DatabaseId;
use super::models::{Database, DatabaseList};
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

    /// Connects a database from `body` exactly as given (`POST /api/database`; `name`, `engine`
    /// and `details` required). Metabase tests the connection first and answers 400 when it fails.
    pub async fn create(&self, body: Map<String, Value>) -> Result<Database, MetabaseError> {
        let body = RequestBody::Json(Value::Object(body));
        self.transport.post_json("/api/database", "/api/database", &[], body).await
    }

    /// Updates a database with the partial `body` exactly as given (`PUT /api/database/:id`).
    pub async fn update(&self, id: DatabaseId, body: Map<String, Value>) -> Result<Database, MetabaseError> {
        let body = RequestBody::Json(Value::Object(body));
        self.transport.put_json("/api/database/{id}", &format!("/api/database/{id}"), &[], body).await
    }

    /// Queues a schema sync (`POST /api/database/:id/sync_schema`) and returns Metabase's answer,
    /// normally `{"status": "ok"}`; a failed connection test comes back as an upstream 422.
    pub async fn sync_schema(&self, id: DatabaseId) -> Result<Value, MetabaseError> {
        let path = format!("/api/database/{id}/sync_schema");
        self.transport.post_json("/api/database/{id}/sync_schema", &path, &[], RequestBody::None).await
    }
}

fn include(include_tables: bool) -> Query {
    if include_tables { vec![param("include", "tables")] } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::test_support::api_key_client;
    use crate::{DatabaseId, MetabaseError};

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
