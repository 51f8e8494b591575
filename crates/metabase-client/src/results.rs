//! Owns what a query answer is on the wire (docs/metabase-contract.md §9, §10): the
//! [`QuerySource`] a query or export runs, the streamed [`ResultBody`] that yields the answer's
//! bytes, and Metabase's in-body failure objects (a 202 whose body says `"status": "failed"`, and
//! the error object written into a partial body once rows began).

use std::time::Duration;

use bytes::Bytes;
use reqwest::Response;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::error::{MetabaseError, check_query_body};
use super::ids::{CardId, DatabaseId};
use super::models::Card;
use super::transport::{ClientSpan, mark_error};

/// What a query or an export runs.
#[derive(Clone, Debug)]
pub enum QuerySource {
    /// A saved question, as the caller read it from Metabase, with its parameters.
    Card {
        /// The card, read once: its stored column metadata types an export's columns.
        card: Box<Card>,
        /// The parameters, as Metabase takes them (a JSON array).
        parameters: Value,
    },
    /// An ad-hoc query: `/api/dataset`'s body (`database`, `type` or `stages`, `parameters`).
    Dataset {
        /// The query.
        query: Value,
    },
}

impl QuerySource {
    /// Returns what the source is, for messages: `card 7` or `query on database 1`.
    pub fn subject(&self) -> String {
        match self {
            QuerySource::Card { card, .. } => format!("card {}", card.id),
            QuerySource::Dataset { query } => {
                let database = query.get("database").and_then(Value::as_i64).unwrap_or_default();
                format!("query on database {}", DatabaseId(database))
            }
        }
    }

    /// Returns the card's id, for a saved question.
    pub fn card_id(&self) -> Option<CardId> {
        match self {
            QuerySource::Card { card, .. } => Some(card.id),
            QuerySource::Dataset { .. } => None,
        }
    }
}

/// The answer of a query or export route, unread: its bytes arrive as the caller asks for them,
/// so a slow reader slows Metabase and memory stays flat. Dropping it closes the connection, which
/// makes Metabase stop the query.
#[derive(Debug)]
pub struct ResultBody {
    response: Response,
    route: &'static str,
    span: Option<ClientSpan>,
    idle_timeout: Duration,
}

impl ResultBody {
    pub(crate) fn new(response: Response, route: &'static str, idle_timeout: Duration) -> Self {
        let span = response.extensions().get::<ClientSpan>().cloned();
        ResultBody { response, route, span, idle_timeout }
    }

    /// Returns the next chunk of the body, or `None` at its end. A body silent for longer than the
    /// idle timeout ends as [`MetabaseError::Stalled`], however long the caller would wait.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, MetabaseError> {
        match tokio::time::timeout(self.idle_timeout, self.response.chunk()).await {
            Ok(chunk) => chunk.map_err(|error| MetabaseError::from_transport(self.route, error)),
            Err(_elapsed) => {
                if let Some(span) = &self.span {
                    mark_error(&span.0, "stalled");
                }
                Err(MetabaseError::Stalled { route: self.route.to_owned(), idle: self.idle_timeout })
            }
        }
    }

    /// Returns the body's media type, as Metabase sent it.
    pub fn content_type(&self) -> &str {
        self.response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    /// Returns the file name Metabase suggests for an export, or an empty string.
    pub fn filename(&self) -> String {
        self.response
            .headers()
            .get(CONTENT_DISPOSITION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split("filename=").nth(1))
            .map(|name| name.trim_matches(|character| character == '"' || character == ';').to_owned())
            .unwrap_or_default()
    }

    /// Returns the route template the body answers, for errors.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// Marks the request's client span as a failed query and returns `error`: Metabase answered
    /// 2xx, but the body said the query failed.
    pub fn failed(&self, error: MetabaseError) -> MetabaseError {
        if let Some(span) = &self.span {
            mark_error(&span.0, "query_failed");
        }
        error
    }

    /// Decodes a whole JSON-route answer: the result, or the failure Metabase reported, either as
    /// the whole body (a 202 with `"status": "failed"`) or appended to a partial body.
    pub fn decode_answer(&self, body: &[u8]) -> Result<Value, MetabaseError> {
        let value = match serde_json::from_slice::<Value>(body) {
            Ok(value) => value,
            Err(error) => appended_failure(body)
                .ok_or_else(|| MetabaseError::Decode { route: self.route.to_owned(), source: error })?,
        };
        check_query_body(&value).map_err(|error| self.failed(error))?;
        Ok(value)
    }

    /// Decodes a whole JSON-route answer like [`ResultBody::decode_answer`], without copying its
    /// cells: each stays a slice of `body`, so the answer costs little more than its bytes.
    pub fn decode_rows<'a>(&self, body: &'a [u8]) -> Result<QueryAnswer<'a>, MetabaseError> {
        let error = match serde_json::from_slice::<QueryAnswer<'a>>(body) {
            Ok(answer) if answer.status.as_deref() != Some("failed") => return Ok(answer),
            Ok(_) => None,
            Err(error) => Some(error),
        };
        // A failed query: its failure object is read whole for the message.
        self.decode_answer(body)?;
        Err(match error {
            Some(error) => MetabaseError::Decode { route: self.route.to_owned(), source: error },
            None => self.failed(MetabaseError::QueryFailed { error_type: None, message: "error running query".into() }),
        })
    }
}

/// A JSON-route answer whose cells are still JSON text borrowed from the body.
#[derive(Debug, Default, Deserialize)]
pub struct QueryAnswer<'a> {
    /// `"completed"`, or `"failed"` for a query that failed.
    #[serde(default)]
    status: Option<String>,
    /// The result.
    #[serde(default, borrow)]
    pub data: AnswerData<'a>,
}

/// `data` of a JSON-route answer.
#[derive(Debug, Default, Deserialize)]
pub struct AnswerData<'a> {
    /// The column maps.
    #[serde(default)]
    pub cols: Vec<Value>,
    /// The rows, each cell as the JSON text Metabase sent.
    #[serde(default, borrow)]
    pub rows: Vec<Vec<&'a RawValue>>,
    /// Set when Metabase cut the rows at its interactive limit.
    #[serde(default)]
    pub rows_truncated: Option<Value>,
}

/// Finds Metabase's failure object in a JSON-route body that is not valid JSON because the query
/// failed after rows began (the error is appended to the partial body).
fn appended_failure(body: &[u8]) -> Option<Value> {
    let starts =
        body.windows(2).enumerate().filter(|(_, pair)| pair == b"{\"").map(|(index, _)| index).collect::<Vec<_>>();
    starts.into_iter().rev().find_map(|start| {
        serde_json::from_slice::<Value>(&body[start..])
            .ok()
            .filter(|value| value.get("status").and_then(Value::as_str) == Some("failed"))
    })
}

/// Returns the error an export reported after its rows began: the error object Metabase wrote
/// into the body, or a plain query failure when that text is not JSON.
pub fn export_failure(text: &[u8]) -> MetabaseError {
    let part_way = || MetabaseError::QueryFailed { error_type: None, message: "the export failed part way".into() };
    match serde_json::from_slice::<Value>(text) {
        Ok(error) => check_query_body(&error).err().unwrap_or_else(part_way),
        Err(_) => part_way(),
    }
}

/// Returns a copy of a query that returns no rows but every column, for an export's column
/// metadata: the last MBQL stage gets `limit: 0`, and a native query becomes the source of such a
/// stage.
pub(crate) fn zero_row_query(query: &Value) -> Option<Value> {
    let mut probe = query.clone();
    if let Some(stages) = probe.get_mut("stages").and_then(Value::as_array_mut) {
        let last_is_native =
            stages.last().and_then(|stage| stage.get("lib/type")).and_then(Value::as_str) == Some("mbql.stage/native");
        if last_is_native {
            stages.push(json!({"lib/type": "mbql.stage/mbql", "limit": 0}));
        } else if let Some(last) = stages.last_mut().and_then(Value::as_object_mut) {
            last.insert("limit".into(), json!(0));
        }
        return Some(probe);
    }
    match query.get("type").and_then(Value::as_str) {
        Some("query") => {
            probe.get_mut("query")?.as_object_mut()?.insert("limit".into(), json!(0));
            Some(probe)
        }
        Some("native") => {
            let native = query.get("native")?.clone();
            let mut source = native.as_object()?.clone();
            if let Some(sql) = source.remove("query") {
                source.insert("native".into(), sql);
            }
            let object = probe.as_object_mut()?;
            object.insert("type".into(), json!("query"));
            object.remove("native");
            object.insert("query".into(), json!({"source-query": source, "limit": 0}));
            Some(probe)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_row_queries_keep_every_column_and_return_no_rows() {
        let legacy = json!({"database": 1, "type": "query", "query": {"source-table": 2}});
        assert_eq!(zero_row_query(&legacy).unwrap()["query"]["limit"], 0);
        let native = json!({"database": 1, "type": "native", "native": {"query": "SELECT 1", "template-tags": {}}});
        let probe = zero_row_query(&native).unwrap();
        assert_eq!(probe["query"]["source-query"]["native"], "SELECT 1");
        assert_eq!(probe["query"]["limit"], 0);
        let modern = json!({"lib/type": "mbql/query", "database": 1, "stages": [{"lib/type": "mbql.stage/native", "native": "SELECT 1"}]});
        let probe = zero_row_query(&modern).unwrap();
        assert_eq!(probe["stages"][1], json!({"lib/type": "mbql.stage/mbql", "limit": 0}));
    }

    #[test]
    fn a_failure_appended_to_a_partial_body_is_found() {
        let body = br#"{"data":{"rows":[[1],[2]{"status":"failed","error":"boom","error_type":"db"}"#;
        assert_eq!(appended_failure(body).unwrap()["error"], "boom");
    }

    #[test]
    fn an_export_failure_names_metabases_error_or_says_it_failed_part_way() {
        let object = export_failure(br#"{"status":"failed","error":"division by zero","error_type":"db"}"#);
        assert!(matches!(&object, MetabaseError::QueryFailed { message, .. } if message == "division by zero"));
        let garbage = export_failure(b"{not json");
        assert!(matches!(&garbage, MetabaseError::QueryFailed { message, .. } if message.contains("part way")));
    }
}
