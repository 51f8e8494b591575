//! Owns the query and export routes (docs/metabase-contract.md §4, §9, §10): saved-card and
//! ad-hoc queries answered with 202 streams, and csv/json/xlsx exports, with their bodies built
//! here. Answers are handed back unread as a [`ResultBody`], so the caller streams them in
//! constant memory.

use reqwest::Method;
use serde_json::{Value, json};

use super::error::MetabaseError;
use super::results::{QuerySource, ResultBody, zero_row_query};
use super::transport::{RequestBody, Transport};

/// The most bytes of a zero-row probe's answer held for its column metadata.
const MAX_PROBE_BODY: usize = 1024 * 1024;

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

    /// Runs a query on the JSON route (`POST /api/card/:id/query` or `POST /api/dataset`), which
    /// Metabase caps at 2,000 (or 10,000 aggregated) rows. A 202 body may still say the query
    /// failed: [`ResultBody::decode_answer`] finds it.
    pub async fn run(&self, source: &QuerySource) -> Result<ResultBody, MetabaseError> {
        let (route, path, body) = match source {
            QuerySource::Card { card, parameters } => {
                let path = format!("/api/card/{}/query", card.id);
                ("/api/card/{id}/query", path, json!({"parameters": parameters}))
            }
            QuerySource::Dataset { query } => ("/api/dataset", "/api/dataset".to_owned(), query.clone()),
        };
        let response = self.transport.send_raw(Method::POST, route, &path, &[], RequestBody::Json(body)).await?;
        Ok(ResultBody::new(response, route, self.transport.body_idle_timeout()))
    }

    /// Exports a query (`POST /api/card/:id/query/:format` or `POST /api/dataset/:format`), up to
    /// Metabase's 1,048,575 rows. The body is a form, which every release takes (0.53 and later
    /// also take JSON); values are unformatted unless `format_rows`, and pivots are never applied.
    pub async fn export(
        &self,
        source: &QuerySource,
        format: ExportFormat,
        format_rows: bool,
    ) -> Result<ResultBody, MetabaseError> {
        let mut form =
            vec![("format_rows".to_owned(), format_rows.to_string()), ("pivot_results".to_owned(), "false".to_owned())];
        let (route, path) = match source {
            QuerySource::Card { card, parameters } => {
                form.push(("parameters".into(), parameters.to_string()));
                ("/api/card/{id}/query/{format}", format!("/api/card/{}/query/{}", card.id, format.as_str()))
            }
            QuerySource::Dataset { query } => {
                form.push(("query".into(), query.to_string()));
                form.push(("visualization_settings".into(), "{}".into()));
                ("/api/dataset/{format}", format!("/api/dataset/{}", format.as_str()))
            }
        };
        let response = self.transport.send_raw(Method::POST, route, &path, &[], RequestBody::Form(form)).await?;
        Ok(ResultBody::new(response, route, self.transport.body_idle_timeout()))
    }

    /// Returns the typed column metadata of a query's result (the `cols` of Metabase's answer),
    /// which an export's header row lacks: a card's stored `result_metadata`, else the columns of
    /// the query run with `limit: 0`. `None` when Metabase cannot say.
    pub async fn columns(&self, source: &QuerySource) -> Option<Vec<Value>> {
        let query = match source {
            QuerySource::Card { card, .. } => {
                if let Some(stored) = card.result_metadata.as_ref().filter(|columns| !columns.is_empty()) {
                    return Some(stored.clone());
                }
                card.dataset_query.clone()?
            }
            QuerySource::Dataset { query } => query.clone(),
        };
        let probe = QuerySource::Dataset { query: zero_row_query(&query)? };
        let mut body = self.run(&probe).await.ok()?;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next_chunk().await.ok()? {
            // A zero-row answer is a few KiB; a larger one is not held (the columns stay untyped).
            if bytes.len() + chunk.len() > MAX_PROBE_BODY {
                return None;
            }
            bytes.extend_from_slice(&chunk);
        }
        let mut answer = body.decode_answer(&bytes).ok()?;
        match answer.get_mut("data")?.get_mut("cols")?.take() {
            Value::Array(columns) => Some(columns),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::ExportFormat;
    use crate::test_support::api_key_client;
    use crate::{Card, MetabaseError, QuerySource};

    fn card(id: i64) -> QuerySource {
        let card: Card = serde_json::from_value(json!({"id": id})).unwrap();
        QuerySource::Card { card: Box::new(card), parameters: json!([]) }
    }

    /// Answers `POST /api/dataset` with 202 and the given body, chosen by the query's database.
    async fn answer_by_database<const N: usize>(server: &MockServer, answers: [(i64, String); N]) {
        for (database, answer) in answers {
            Mock::given(method("POST"))
                .and(path("/api/dataset"))
                .and(body_string_contains(format!("\"database\":{database}")))
                .respond_with(ResponseTemplate::new(202).set_body_raw(answer, "application/json"))
                .mount(server)
                .await;
        }
    }

    async fn whole(body: &mut crate::ResultBody) -> Vec<u8> {
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next_chunk().await.unwrap() {
            bytes.extend_from_slice(&chunk);
        }
        bytes
    }

    #[tokio::test]
    async fn decode_rows_borrows_cells_and_a_row_that_is_not_an_array_is_an_error_not_an_empty_result() {
        let server = MockServer::start().await;
        answer_by_database(
            &server,
            [
                (
                    1,
                    r#"{"data":{"rows":[[1,"Gizmo"]],"cols":[{"name":"ID"},{"name":"T"}]},"status":"completed"}"#
                        .into(),
                ),
                (2, r#"{"data":{"rows":[{"ID":1}],"cols":[{"name":"ID"}]},"status":"completed"}"#.into()),
            ],
        )
        .await;
        let client = api_key_client(&server);

        let mut body = client.queries().run(&QuerySource::Dataset { query: json!({"database": 1}) }).await.unwrap();
        let bytes = whole(&mut body).await;
        let answer = body.decode_rows(&bytes).expect("a well-formed answer");
        let cells: Vec<&str> = answer.data.rows[0].iter().map(|cell| cell.get()).collect();
        assert_eq!(cells, ["1", "\"Gizmo\""]);
        assert_eq!(answer.data.cols.len(), 2);

        let mut body = client.queries().run(&QuerySource::Dataset { query: json!({"database": 2}) }).await.unwrap();
        let bytes = whole(&mut body).await;
        assert!(matches!(body.decode_rows(&bytes), Err(MetabaseError::Decode { .. })));
    }

    #[tokio::test]
    async fn a_zero_row_probe_answer_past_one_mebibyte_is_not_held_and_the_columns_stay_untyped() {
        let server = MockServer::start().await;
        let cols = r#"[{"name":"ID","base_type":"type/BigInteger"}]"#;
        let small = format!(r#"{{"data":{{"rows":[],"cols":{cols}}},"status":"completed"}}"#);
        // The same valid answer, padded past the cap by a key a hostile upstream controls.
        let padding = "x".repeat(super::MAX_PROBE_BODY);
        let large = format!(r#"{{"data":{{"rows":[],"cols":{cols}}},"padding":"{padding}","status":"completed"}}"#);
        answer_by_database(&server, [(1, small), (2, large)]).await;
        let client = api_key_client(&server);
        let query = |database: i64| QuerySource::Dataset {
            query: json!({"database": database, "type": "query", "query": {"source-table": 1}}),
        };

        let typed = client.queries().columns(&query(1)).await.expect("a small probe answer gives its columns");
        assert_eq!(typed[0]["name"], "ID");
        assert_eq!(client.queries().columns(&query(2)).await, None, "a probe answer past 1 MiB is dropped");
    }

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

        let source = QuerySource::Dataset { query: json!({"database": 1}) };
        let mut body = api_key_client(&server).queries().run(&source).await.unwrap();
        let bytes = whole(&mut body).await;

        match body.decode_answer(&bytes) {
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
            .and(body_string_contains("format_rows=false"))
            .and(body_string_contains("pivot_results=false"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw("a,b\n1,2\n", "text/csv")
                    .insert_header("content-disposition", "attachment; filename=\"orders.csv\""),
            )
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

        let mut exported = queries_client.queries().export(&card(4), ExportFormat::Csv, false).await.unwrap();
        let denied = queries_client.queries().export(&card(5), ExportFormat::Csv, false).await.unwrap_err();

        assert_eq!(exported.filename(), "orders.csv");
        assert_eq!(exported.content_type(), "text/csv");
        assert_eq!(whole(&mut exported).await, b"a,b\n1,2\n");
        assert!(
            matches!(&denied, MetabaseError::Upstream { status: 403, route, .. } if route == "/api/card/{id}/query/{format}"),
            "{denied:?}"
        );
    }

    #[tokio::test]
    async fn a_cards_stored_columns_are_used_without_asking_metabase_again() {
        let server = MockServer::start().await;
        let stored: Card = serde_json::from_value(json!({
            "id": 3, "result_metadata": [{"name": "TOTAL", "base_type": "type/Float"}],
            "dataset_query": {"database": 1, "type": "query", "query": {"source-table": 2}}
        }))
        .unwrap();
        let source = QuerySource::Card { card: Box::new(stored), parameters: json!([]) };

        let columns = api_key_client(&server).queries().columns(&source).await.unwrap();

        assert_eq!(columns, vec![json!({"name": "TOTAL", "base_type": "type/Float"})]);
        assert!(server.received_requests().await.unwrap().is_empty(), "no request was needed");
    }
}
