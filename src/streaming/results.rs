//! RunCard and RunQuery: typed row batches from Metabase's JSON query route (small limits) or
//! its csv export (everything else, up to 1,048,575 rows), sent as they are parsed through a
//! bounded channel, so a slow caller slows the upstream read and memory stays flat.

use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::mpsc::Sender;
use tonic::Status;

use super::columns::{ColumnInfo, header, push_json_cell, push_text_cell};
use super::csv::{CsvReader, Event};
use super::plan::RowLimit;
use super::wire::{EncodedRows, ProtobufRows, QueryResultChunk, RowEncoder};
use crate::convert::to_json;
use crate::error::GatewayError;
use crate::metabase::{CardId, ExportFormat, MetabaseClient, MetabaseError, RequestBody, check_query_body};
use crate::middleware::call::CallContext;
use crate::pb::v1::ResultSource;

/// A batch is sent once it holds this many bytes: well under gRPC's 4 MiB default and the
/// 1 MiB the API promises, large enough to keep per-message overhead small.
const BATCH_BYTES: usize = 128 * 1024;
/// The largest JSON-route body read (the route returns at most 2,000 rows).
const MAX_JSON_BODY: usize = 256 * 1024 * 1024;
/// The largest error object read from the end of an export body.
const MAX_ERROR_TEXT: usize = 256 * 1024;

/// What a query stream runs.
#[derive(Debug, Clone)]
pub enum QuerySource {
    /// A saved question with parameters.
    Card {
        /// The card.
        id: i64,
        /// Its parameters, as Metabase takes them.
        parameters: Value,
    },
    /// An ad-hoc query: `/api/dataset`'s body.
    Dataset {
        /// The query.
        query: Value,
    },
}

impl QuerySource {
    fn subject(&self) -> String {
        match self {
            QuerySource::Card { id, .. } => format!("card {id}"),
            QuerySource::Dataset { query } => {
                format!("query on database {}", query.get("database").and_then(Value::as_i64).unwrap_or_default())
            }
        }
    }
}

/// The channel end the producer writes to; a send fails once the caller has gone.
pub type ChunkSender = Sender<Result<QueryResultChunk, Status>>;

/// Signals that the caller went away: stop quietly.
struct Gone;

async fn send(sender: &ChunkSender, chunk: QueryResultChunk) -> Result<(), Gone> {
    sender.send(Ok(chunk)).await.map_err(|_| Gone)
}

/// Runs a query to completion into `sender`: header, row batches, summary, or an error status.
/// The rows sent are noted on the call for its audit event.
pub async fn produce(call: CallContext, source: QuerySource, limit: RowLimit, sender: ChunkSender) {
    let started = Instant::now();
    let client = call.client.clone();
    let outcome = match limit.source() {
        ResultSource::JsonQuery => json_route(&client, &call, &source, limit, &sender, started).await,
        _ => export_route(&client, &call, &source, limit, &sender, started).await,
    };
    if let Err(Some(status)) = outcome {
        let _ = sender.send(Err(status)).await;
    }
}

type Outcome = Result<(), Option<Status>>;

fn failure(subject: &str) -> impl FnOnce(MetabaseError) -> Option<Status> + '_ {
    move |error| Some(Status::from(GatewayError::Metabase { subject: subject.to_owned(), source: Box::new(error) }))
}

impl From<Gone> for Option<Status> {
    fn from(_: Gone) -> Self {
        None
    }
}

/// Reads the next body chunk, or stops as soon as the caller has gone.
async fn next_chunk(
    response: &mut reqwest::Response,
    sender: &ChunkSender,
    route: &str,
    subject: &str,
) -> Result<Option<bytes::Bytes>, Option<Status>> {
    tokio::select! {
        chunk = response.chunk() => chunk.map_err(|error| failure(subject)(MetabaseError::from_transport(route, error))),
        () = sender.closed() => Err(None),
    }
}

fn note_limit(call: &CallContext, summary: &crate::pb::v1::ResultSummary) {
    if let Ok(cause) = crate::pb::v1::LimitCause::try_from(summary.limit_cause) {
        call.note_limit(cause.as_str_name());
    }
}

/// Finds Metabase's failure object in a JSON-route body that is not valid JSON because the
/// query failed after rows began (the error is appended to the partial body).
fn appended_failure(body: &[u8]) -> Option<Value> {
    let starts =
        body.windows(2).enumerate().filter(|(_, pair)| pair == b"{\"").map(|(index, _)| index).collect::<Vec<_>>();
    starts.into_iter().rev().find_map(|start| {
        serde_json::from_slice::<Value>(&body[start..])
            .ok()
            .filter(|value| value.get("status").and_then(Value::as_str) == Some("failed"))
    })
}

async fn json_route(
    client: &MetabaseClient,
    call: &CallContext,
    source: &QuerySource,
    limit: RowLimit,
    sender: &ChunkSender,
    started: Instant,
) -> Outcome {
    let subject = source.subject();
    let (route, request) = match source {
        QuerySource::Card { id, parameters } => {
            ("/api/card/{id}/query", client.queries().run_card(CardId(*id), json!({"parameters": parameters})).await)
        }
        QuerySource::Dataset { query } => ("/api/dataset", client.queries().run_dataset(query.clone()).await),
    };
    let mut response = request.map_err(failure(&subject))?;
    let client_span = response.extensions().get::<crate::metabase::ClientSpan>().cloned();
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(&mut response, sender, route, &subject).await? {
        if body.len() + chunk.len() > MAX_JSON_BODY {
            return Err(Some(Status::from(GatewayError::Internal {
                message: format!("metabase's answer for {subject} is larger than the json route allows"),
            })));
        }
        body.extend_from_slice(&chunk);
    }
    let value = match serde_json::from_slice::<Value>(&body) {
        Ok(value) => value,
        Err(error) => appended_failure(&body)
            .ok_or_else(|| failure(&subject)(MetabaseError::Decode { route: route.to_owned(), source: error }))?,
    };
    if let Err(error) = check_query_body(&value) {
        if let Some(span) = &client_span {
            crate::metabase::mark_error(&span.0, "query_failed");
        }
        return Err(failure(&subject)(error));
    }
    let columns: Vec<ColumnInfo> = value["data"]["cols"]
        .as_array()
        .map(|columns| columns.iter().map(ColumnInfo::from_metabase).collect())
        .unwrap_or_default();
    send(sender, QueryResultChunk::header(header(&columns))).await?;
    let mut encoder = ProtobufRows::default();
    let mut count = 0u64;
    for row in value["data"]["rows"].as_array().into_iter().flatten() {
        if limit.rows.is_some_and(|most| count >= most) {
            break;
        }
        for (index, cell) in row.as_array().into_iter().flatten().enumerate() {
            let kind = columns.get(index).map_or(super::columns::CellKind::Text, |column| column.kind);
            push_json_cell(&mut encoder, kind, cell);
        }
        encoder.end_row();
        count += 1;
        if encoder.byte_len() >= BATCH_BYTES {
            send(sender, QueryResultChunk::rows(encoder.take())).await?;
            // Rows sent so far, so a call cut short still records them.
            call.note_rows(count as i64);
        }
    }
    if encoder.rows() > 0 {
        send(sender, QueryResultChunk::rows(encoder.take())).await?;
    }
    call.note_rows(count as i64);
    let truncated = value["data"].get("rows_truncated").is_some_and(|value| !value.is_null());
    let summary = limit.summary(count, ResultSource::JsonQuery, truncated, started.elapsed().as_millis() as i64);
    note_limit(call, &summary);
    send(sender, QueryResultChunk::summary(summary)).await?;
    Ok(())
}

/// Returns a copy of a query that returns no rows but every column, for export metadata: the
/// last MBQL stage gets `limit: 0`, and a native query becomes the source of such a stage.
pub fn zero_row_query(query: &Value) -> Option<Value> {
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

/// Reads Metabase's column metadata for an export, which carries only titles: a card's stored
/// `result_metadata`, else the columns of the zero-row version of the query.
async fn export_columns(client: &MetabaseClient, source: &QuerySource) -> Option<Vec<ColumnInfo>> {
    let query = match source {
        QuerySource::Card { id, .. } => {
            let card = to_json(&client.cards().get(CardId(*id), false).await.ok()?);
            if let Some(stored) =
                card.get("result_metadata").and_then(Value::as_array).filter(|columns| !columns.is_empty())
            {
                return Some(stored.iter().map(ColumnInfo::from_metabase).collect());
            }
            card.get("dataset_query")?.clone()
        }
        QuerySource::Dataset { query } => query.clone(),
    };
    let probe = zero_row_query(&query)?;
    let response = client.queries().run_dataset(probe).await.ok()?;
    let value: Value = response.json().await.ok()?;
    check_query_body(&value).ok()?;
    Some(value["data"]["cols"].as_array()?.iter().map(ColumnInfo::from_metabase).collect())
}

/// Rows parsed from the export, waiting to be sent after the current chunk is read.
struct ExportRows {
    columns: Option<Vec<ColumnInfo>>,
    metadata: Option<Vec<ColumnInfo>>,
    pending_header: bool,
    encoder: ProtobufRows,
    ready: Vec<EncodedRows>,
    count: u64,
    limit: Option<u64>,
}

impl ExportRows {
    fn on_event(&mut self, event: Event<'_>) -> bool {
        let Event::Record(record) = event else {
            return true;
        };
        let Some(columns) = &self.columns else {
            let titles = record.to_vec();
            let typed = self.metadata.take().filter(|columns| columns.len() == titles.len());
            if typed.is_none() {
                tracing::debug!("export metadata unavailable or mismatched; values arrive as text");
            }
            self.columns =
                Some(typed.unwrap_or_else(|| titles.iter().map(|title| ColumnInfo::untyped(title)).collect()));
            self.pending_header = true;
            return true;
        };
        if self.limit.is_some_and(|most| self.count >= most) {
            return false;
        }
        for index in 0..record.len() {
            let kind = columns.get(index).map_or(super::columns::CellKind::Text, |column| column.kind);
            push_text_cell(&mut self.encoder, kind, &record.field(index));
        }
        self.encoder.end_row();
        self.count += 1;
        if self.encoder.byte_len() >= BATCH_BYTES {
            self.ready.push(self.encoder.take());
        }
        self.limit.is_none_or(|most| self.count < most)
    }

    async fn flush(&mut self, sender: &ChunkSender) -> Result<(), Gone> {
        if self.pending_header {
            self.pending_header = false;
            let columns = self.columns.as_deref().unwrap_or_default();
            send(sender, QueryResultChunk::header(header(columns))).await?;
        }
        for batch in self.ready.drain(..) {
            send(sender, QueryResultChunk::rows(batch)).await?;
        }
        Ok(())
    }
}

async fn export_route(
    client: &MetabaseClient,
    call: &CallContext,
    source: &QuerySource,
    limit: RowLimit,
    sender: &ChunkSender,
    started: Instant,
) -> Outcome {
    let subject = source.subject();
    let metadata = export_columns(client, source).await;
    let mut form =
        vec![("format_rows".to_owned(), "false".to_owned()), ("pivot_results".to_owned(), "false".to_owned())];
    let (route, request) = match source {
        QuerySource::Card { id, parameters } => {
            form.push(("parameters".into(), parameters.to_string()));
            (
                "/api/card/{id}/query/{format}",
                client.queries().export_card(CardId(*id), ExportFormat::Csv, RequestBody::Form(form)).await,
            )
        }
        QuerySource::Dataset { query } => {
            form.push(("query".into(), query.to_string()));
            form.push(("visualization_settings".into(), "{}".into()));
            ("/api/dataset/{format}", client.queries().export_dataset(ExportFormat::Csv, RequestBody::Form(form)).await)
        }
    };
    let mut response = request.map_err(failure(&subject))?;
    let client_span = response.extensions().get::<crate::metabase::ClientSpan>().cloned();
    let mut reader = CsvReader::new();
    let mut rows = ExportRows {
        columns: None,
        metadata,
        pending_header: false,
        encoder: ProtobufRows::default(),
        ready: Vec::new(),
        count: 0,
        limit: limit.rows,
    };
    let mut limit_hit = false;
    while let Some(chunk) = next_chunk(&mut response, sender, route, &subject).await? {
        limit_hit = !reader.feed(&chunk, &mut |event| rows.on_event(event));
        rows.flush(sender).await?;
        // Rows sent so far, so a call cut short (cancelled, past its deadline, shut down) still
        // records them.
        call.note_rows(rows.count.saturating_sub(rows.encoder.rows() as u64) as i64);
        if limit_hit || reader.error_text().is_some_and(|text| text.len() > MAX_ERROR_TEXT) {
            break;
        }
    }
    if !limit_hit {
        reader.finish(&mut |event| rows.on_event(event));
    }
    if let Some(text) = reader.error_text() {
        if let Some(span) = &client_span {
            crate::metabase::mark_error(&span.0, "query_failed");
        }
        return Err(failure(&subject)(super::exports::export_failure(text)));
    }
    drop(response);
    if rows.columns.is_none() {
        rows.columns = Some(rows.metadata.take().unwrap_or_default());
        rows.pending_header = true;
    }
    if rows.encoder.rows() > 0 {
        let batch = rows.encoder.take();
        rows.ready.push(batch);
    }
    rows.flush(sender).await?;
    call.note_rows(rows.count as i64);
    let summary = limit.summary(rows.count, ResultSource::Export, false, started.elapsed().as_millis() as i64);
    note_limit(call, &summary);
    send(sender, QueryResultChunk::summary(summary)).await?;
    Ok(())
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
}
