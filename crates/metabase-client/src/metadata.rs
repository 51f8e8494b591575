//! Owns the metadata routes: tables (`/api/table`, `/api/table/:id/query_metadata`), a database's
//! schemas, one schema's tables and full metadata (`/api/database/:id/...`), and fields with their
//! distinct values (`/api/field/:id`, `/api/field/:id/values`).

use super::error::MetabaseError;
use super::ids::{DatabaseId, FieldId, TableId};
use super::models::{DatabaseMetadata, Field, FieldValues, TableMetadata};
use super::transport::{Transport, param};

/// The metadata routes, from [`super::MetabaseClient::metadata`].
#[derive(Clone, Copy, Debug)]
pub struct Metadata<'a> {
    transport: &'a Transport,
}

impl<'a> Metadata<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Lists every table of every database the caller can see (`GET /api/table`), without fields.
    pub async fn tables(&self) -> Result<Vec<TableMetadata>, MetabaseError> {
        self.transport.get_json("/api/table", "/api/table", &[]).await
    }

    /// Returns a table with its fields, their types and foreign-key targets
    /// (`GET /api/table/:id/query_metadata`).
    pub async fn table(&self, id: TableId) -> Result<TableMetadata, MetabaseError> {
        let path = format!("/api/table/{id}/query_metadata");
        self.transport.get_json("/api/table/{id}/query_metadata", &path, &[]).await
    }

    /// Lists a database's schema names (`GET /api/database/:id/schemas`).
    pub async fn schemas(&self, id: DatabaseId) -> Result<Vec<String>, MetabaseError> {
        self.transport.get_json("/api/database/{id}/schemas", &format!("/api/database/{id}/schemas"), &[]).await
    }

    /// Lists the tables of one schema (`GET /api/database/:id/schema/:schema`).
    pub async fn schema_tables(&self, id: DatabaseId, schema: &str) -> Result<Vec<TableMetadata>, MetabaseError> {
        let path = format!("/api/database/{id}/schema/{}", encode_segment(schema));
        self.transport.get_json("/api/database/{id}/schema/{schema}", &path, &[]).await
    }

    /// Returns every table of a database with its fields (`GET /api/database/:id/metadata`).
    pub async fn database(&self, id: DatabaseId, include_hidden: bool) -> Result<DatabaseMetadata, MetabaseError> {
        let query = if include_hidden { vec![param("include_hidden", true)] } else { Vec::new() };
        self.transport.get_json("/api/database/{id}/metadata", &format!("/api/database/{id}/metadata"), &query).await
    }

    /// Returns a field with its table (`GET /api/field/:id`).
    pub async fn field(&self, id: FieldId) -> Result<Field, MetabaseError> {
        self.transport.get_json("/api/field/{id}", &format!("/api/field/{id}"), &[]).await
    }

    /// Returns a field's distinct values (`GET /api/field/:id/values`).
    pub async fn field_values(&self, id: FieldId) -> Result<FieldValues, MetabaseError> {
        self.transport.get_json("/api/field/{id}/values", &format!("/api/field/{id}/values"), &[]).await
    }
}

/// Percent-encodes a path segment (schema names may hold spaces, slashes or `%`).
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::encode_segment;
    use crate::test_support::api_key_client;
    use crate::{DatabaseId, FieldId, TableId};

    #[tokio::test]
    async fn table_reads_fields_and_database_metadata_asks_for_hidden_tables() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/table/2/query_metadata"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": 2, "db_id": 1, "name": "ORDERS", "fields": [{"id": 11, "name": "USER_ID", "fk_target_field_id": 19}]
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/database/1/metadata"))
            .and(query_param("include_hidden", "true"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "tables": [{"id": 2}]})))
            .expect(1)
            .mount(&server)
            .await;
        let client = api_key_client(&server);

        let table = client.metadata().table(TableId(2)).await.unwrap();
        let database = client.metadata().database(DatabaseId(1), true).await.unwrap();

        assert_eq!(table.fields[0].fk_target_field_id, Some(FieldId(19)));
        assert_eq!(database.tables[0].id, TableId(2));
    }

    #[test]
    fn schema_names_are_encoded_as_one_path_segment() {
        assert_eq!(encode_segment("PUBLIC"), "PUBLIC");
        assert_eq!(encode_segment("my schema/x%"), "my%20schema%2Fx%25");
    }
}
