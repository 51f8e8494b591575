//! Owns the query and export routes (CONTRACT.md §4, §9, §10): saved-card and ad-hoc queries
//! answered with 202 streams, and csv/json/xlsx exports. Answers are handed back unread, so the
//! caller streams them in constant memory; a 202 body may still say `"status": "failed"` (see
//! [`super::check_query_body`]).

use reqwest::{Method, Response};
use serde_json::Value;

use super::error::MetabaseError;
use super::ids::CardId;
use super::transport::{RequestBody, Transport};

/// A file format Metabase exports to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// A bare JSON array of row objects keyed by column title.
    Json,
    /// An Excel workbook.
    Xlsx,
}

impl ExportFormat {
    /// Returns the path segment Metabase expects: `csv`, `json` or `xlsx`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Xlsx => "xlsx",
        }
    }
}

/// The query routes, from [`super::MetabaseClient::queries`].
#[derive(Clone, Copy, Debug)]
pub struct Queries<'a> {
    transport: &'a Transport,
}

impl<'a> Queries<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Runs a saved card (`POST /api/card/:id/query`) with a body such as `{"parameters": [...]}`,
    /// capped by Metabase at 2,000 (or 10,000 aggregated) rows.
    pub async fn run_card(&self, id: CardId, body: Value) -> Result<Response, MetabaseError> {
        let path = format!("/api/card/{id}/query");
        self.transport.send_raw(Method::POST, "/api/card/{id}/query", &path, &[], RequestBody::Json(body)).await
    }

    /// Exports a saved card (`POST /api/card/:id/query/:format`); the body (JSON or form) carries
    /// `parameters` and `format_rows`.
    pub async fn export_card(
        &self,
        id: CardId,
        format: ExportFormat,
        body: RequestBody,
    ) -> Result<Response, MetabaseError> {
        let path = format!("/api/card/{id}/query/{}", format.as_str());
        self.transport.send_raw(Method::POST, "/api/card/{id}/query/{format}", &path, &[], body).await
    }

    /// Runs an ad-hoc query (`POST /api/dataset`), capped like a card query.
    pub async fn run_dataset(&self, query: Value) -> Result<Response, MetabaseError> {
        self.transport.send_raw(Method::POST, "/api/dataset", "/api/dataset", &[], RequestBody::Json(query)).await
    }

    /// Exports an ad-hoc query (`POST /api/dataset/:format`); the body is `{"query": ...,
    /// "format_rows": ...}` as JSON, or the same as a form for Metabase before 0.53.
    pub async fn export_dataset(&self, format: ExportFormat, body: RequestBody) -> Result<Response, MetabaseError> {
        let path = format!("/api/dataset/{}", format.as_str());
        self.transport.send_raw(Method::POST, "/api/dataset/{format}", &path, &[], body).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::ExportFormat;
    use crate::metabase::test_support::api_key_client;
    use crate::metabase::{CardId, MetabaseError, RequestBody, check_query_body};

    #[tokio::test]
    async fn failed_query_202_body_becomes_query_failed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/dataset"))
            .respond_with(ResponseTemplate::new(202).set_body_json(json!({
                "status": "failed", "error": "You do not have permissions to run this query.",
                "error_type": "missing-required-permissions", "data": {"rows": [], "cols": []}, "row_count": 0
            })))
            .mount(&server)
            .await;

        let response = api_key_client(&server).queries().run_dataset(json!({"database": 1})).await.unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let body: Value = response.json().await.unwrap();

        match check_query_body(&body) {
            Err(MetabaseError::QueryFailed { error_type, message }) => {
                assert_eq!(error_type.as_deref(), Some("missing-required-permissions"));
                assert_eq!(message, "You do not have permissions to run this query.");
            }
            other => panic!("expected QueryFailed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn export_streams_bytes_unchanged_and_errors_before_streaming_are_decoded() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/card/4/query/csv"))
            .and(body_json(json!({"format_rows": false})))
            .respond_with(ResponseTemplate::new(200).set_body_raw("a,b\n1,2\n", "text/csv"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/card/5/query/csv"))
            .respond_with(
                ResponseTemplate::new(403).set_body_raw("You don't have permissions to do that.", "text/plain"),
            )
            .mount(&server)
            .await;
        let queries_client = api_key_client(&server);
        let body = || RequestBody::Json(json!({"format_rows": false}));

        let exported = queries_client.queries().export_card(CardId(4), ExportFormat::Csv, body()).await.unwrap();
        let denied = queries_client.queries().export_card(CardId(5), ExportFormat::Csv, body()).await.unwrap_err();

        assert_eq!(exported.bytes().await.unwrap().as_ref(), b"a,b\n1,2\n");
        assert!(
            matches!(&denied, MetabaseError::Upstream { status: 403, route, .. } if route == "/api/card/{id}/query/{format}"),
            "{denied:?}"
        );
    }
}
