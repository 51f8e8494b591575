//! Streamed query results and exports (RunCard, RunQuery, ExportCard, ExportQuery, and Flight's
//! DoGet).
//!
//! A producer task reads Metabase's response as it arrives and sends typed row batches through a
//! bounded channel: a slow caller fills the channel, the producer stops reading, and TCP slows
//! Metabase. When the caller cancels or its deadline passes, the producer is dropped with its
//! upstream request, so Metabase sees the connection close at once.

pub(crate) mod arrow;
pub(crate) mod bounds;
pub mod columns;
pub mod csv;
#[cfg(test)]
mod csv_properties;
pub(crate) mod exports;
pub(crate) mod flight;
pub(crate) mod plan;
pub(crate) mod results;
pub mod wire;

use std::future::Future;
use std::pin::Pin;

use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use self::plan::RowLimit;
use self::wire::QueryResultChunk;
use crate::convert::json::{from_list, from_struct};
use crate::error::GatewayError;
use crate::metabase::{Card, ExportFormat, QuerySource};
use crate::middleware::call::CallContext;
use crate::middleware::deadline::Deadline;
use crate::pb::v1::{
    ExportCardRequest, ExportChunk, ExportFormat as WireFormat, ExportQueryRequest, RunCardRequest, RunQueryRequest,
    export_query_request, run_query_request,
};

/// A stream of query result chunks.
pub type QueryStream = Pin<Box<dyn Stream<Item = Result<QueryResultChunk, Status>> + Send>>;
/// A stream of export chunks.
pub type ExportStream = Pin<Box<dyn Stream<Item = Result<ExportChunk, Status>> + Send>>;

/// How many chunks wait between the producer and the caller: a few batches, no more.
const CHANNEL_DEPTH: usize = 2;

/// Runs `producer` on its own task, bounded by the caller's deadline; past it, the producer (and
/// its upstream request) is dropped and the stream ends with DEADLINE_EXCEEDED.
fn spawn_bounded<T: Send + 'static>(
    deadline: Option<Deadline>,
    sender: mpsc::Sender<Result<T, Status>>,
    producer: impl Future<Output = ()> + Send + 'static,
) {
    // The producer runs inside the call's server span, so its Metabase requests are children of it.
    let span = tracing::Span::current();
    let task = async move {
        match deadline {
            None => producer.await,
            Some(Deadline(at)) => {
                if tokio::time::timeout_at(at.into(), producer).await.is_err() {
                    let _ = sender.send(Err(Status::from(GatewayError::DeadlineExceeded))).await;
                }
            }
        }
    };
    tokio::spawn(task.instrument(span));
}

fn parameters(list: Option<prost_types::ListValue>) -> Value {
    list.map_or_else(|| json!([]), from_list)
}

pub(crate) fn check_card_id(card_id: i64) -> Result<(), GatewayError> {
    if card_id <= 0 {
        return Err(GatewayError::invalid_argument("card_id", "card_id must be a positive id"));
    }
    Ok(())
}

pub(crate) fn check_max_rows(max_rows: i64) -> Result<(), GatewayError> {
    if max_rows < 0 {
        Err(GatewayError::invalid_argument("max_rows", "max_rows must not be negative (0 means no limit)"))
    } else {
        Ok(())
    }
}

fn query_stream(
    call: &CallContext,
    deadline: Option<Deadline>,
    source: QuerySource,
    limit: RowLimit,
) -> Response<QueryStream> {
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    spawn_bounded(
        deadline,
        sender.clone(),
        results::produce::<results::ProtobufWire>(call.clone(), source, limit, sender),
    );
    Response::new(Box::pin(ReceiverStream::new(receiver)))
}

/// Runs a saved question, streaming typed rows past Metabase's 2,000-row JSON cap. `card` is the
/// card as the handler read and checked it, so it is not read again.
pub async fn run_card(
    call: &CallContext,
    request: Request<RunCardRequest>,
    card: Card,
) -> Result<Response<QueryStream>, Status> {
    let deadline = request.extensions().get::<Deadline>().copied();
    let request = request.into_inner();
    check_max_rows(request.max_rows)?;
    check_card_id(request.card_id)?;
    let parameters = parameters(request.parameters);
    call.note_parameters(json!({"card_id": request.card_id, "max_rows": request.max_rows, "parameters": parameters}));
    let source = QuerySource::Card { card: Box::new(card), parameters };
    Ok(query_stream(call, deadline, source, RowLimit::new(request.max_rows, call.max_rows())))
}

/// An ad-hoc query as a caller gives it, before it becomes `/api/dataset`'s body.
#[derive(Debug, Clone, PartialEq)]
pub enum AdHocQuery {
    /// Native SQL, with its template tags (an empty object for none).
    Native {
        /// The SQL text.
        sql: String,
        /// Metabase's `template-tags`.
        template_tags: Value,
    },
    /// An MBQL query object, legacy or MBQL 5.
    Mbql(serde_json::Map<String, Value>),
}

/// Returns `/api/dataset`'s body for an ad-hoc query on a database, with its parameters (a JSON
/// array as Metabase takes them).
pub fn dataset_body(database_id: i64, query: AdHocQuery, parameters: Value) -> Result<Value, GatewayError> {
    if database_id <= 0 {
        return Err(GatewayError::invalid_argument("database_id", "database_id must be a positive id"));
    }
    let mut object = match query {
        AdHocQuery::Native { sql, template_tags } => {
            if sql.trim().is_empty() {
                return Err(GatewayError::invalid_argument("native.query", "the native query is empty"));
            }
            let mut object = serde_json::Map::new();
            object.insert("type".into(), json!("native"));
            object.insert("native".into(), json!({"query": sql, "template-tags": template_tags}));
            object
        }
        AdHocQuery::Mbql(object) => object,
    };
    object.insert("database".into(), json!(database_id));
    object.insert("parameters".into(), parameters);
    Ok(Value::Object(object))
}

/// Returns `/api/dataset`'s body for an ad-hoc query request.
pub fn dataset_query(
    database_id: i64,
    query: Option<run_query_request::Query>,
    parameter_list: Option<prost_types::ListValue>,
) -> Result<Value, GatewayError> {
    let query = match query {
        Some(run_query_request::Query::Native(native)) => AdHocQuery::Native {
            sql: native.query,
            template_tags: native.template_tags.map_or_else(|| json!({}), |tags| Value::Object(from_struct(tags))),
        },
        Some(run_query_request::Query::Mbql(mbql)) => AdHocQuery::Mbql(from_struct(mbql)),
        None if database_id <= 0 => {
            return Err(GatewayError::invalid_argument("database_id", "database_id must be a positive id"));
        }
        None => return Err(GatewayError::invalid_argument("query", "set native or mbql")),
    };
    dataset_body(database_id, query, parameters(parameter_list))
}

/// Returns an export request's query as the run request's query, so both build one body.
pub fn export_as_run_query(query: Option<export_query_request::Query>) -> Option<run_query_request::Query> {
    query.map(|query| match query {
        export_query_request::Query::Native(native) => run_query_request::Query::Native(native),
        export_query_request::Query::Mbql(mbql) => run_query_request::Query::Mbql(mbql),
    })
}

/// Runs an ad-hoc query, streaming typed rows.
/// `query` is the body [`dataset_query`] built from the request, as the handler inspected it.
pub async fn run_query(
    call: &CallContext,
    request: Request<RunQueryRequest>,
    query: Value,
) -> Result<Response<QueryStream>, Status> {
    let deadline = request.extensions().get::<Deadline>().copied();
    let request = request.into_inner();
    check_max_rows(request.max_rows)?;
    call.note_parameters(json!({"database_id": request.database_id, "max_rows": request.max_rows, "query": query}));
    Ok(query_stream(call, deadline, QuerySource::Dataset { query }, RowLimit::new(request.max_rows, call.max_rows())))
}

fn export_format(raw: i32) -> Result<ExportFormat, GatewayError> {
    match WireFormat::try_from(raw) {
        Ok(WireFormat::Csv) => Ok(ExportFormat::Csv),
        Ok(WireFormat::Json) => Ok(ExportFormat::Json),
        Ok(WireFormat::Xlsx) => Ok(ExportFormat::Xlsx),
        _ => Err(GatewayError::invalid_argument("format", "format must be CSV, JSON or XLSX")),
    }
}

fn export_stream(
    call: &CallContext,
    deadline: Option<Deadline>,
    source: QuerySource,
    format: ExportFormat,
    format_rows: bool,
    limit: RowLimit,
) -> Result<Response<ExportStream>, GatewayError> {
    let source = exports::held_to(source, format, limit)?;
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let producer = exports::produce(call.clone(), source, format, format_rows, limit, sender.clone());
    spawn_bounded(deadline, sender, producer);
    Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
}

/// Exports a saved question: Metabase's bytes, cut at the call's row limit. `card` is the card as
/// the handler read and checked it.
pub async fn export_card(
    call: &CallContext,
    request: Request<ExportCardRequest>,
    card: Card,
) -> Result<Response<ExportStream>, Status> {
    let deadline = request.extensions().get::<Deadline>().copied();
    let request = request.into_inner();
    let format = export_format(request.format)?;
    check_max_rows(request.max_rows)?;
    check_card_id(request.card_id)?;
    let parameters = parameters(request.parameters);
    call.note_parameters(json!({
        "card_id": request.card_id,
        "format": format.as_str(),
        "format_rows": request.format_rows,
        "max_rows": request.max_rows,
        "parameters": parameters,
    }));
    let source = QuerySource::Card { card: Box::new(card), parameters };
    let limit = RowLimit::new(request.max_rows, call.max_rows());
    export_stream(call, deadline, source, format, request.format_rows, limit).map_err(Status::from)
}

/// Exports an ad-hoc query: Metabase's bytes, cut at the call's row limit.
/// `query` is the body [`dataset_query`] built from the request, as the handler inspected it.
pub async fn export_query(
    call: &CallContext,
    request: Request<ExportQueryRequest>,
    query: Value,
) -> Result<Response<ExportStream>, Status> {
    let deadline = request.extensions().get::<Deadline>().copied();
    let request = request.into_inner();
    let format = export_format(request.format)?;
    check_max_rows(request.max_rows)?;
    call.note_parameters(json!({
        "database_id": request.database_id,
        "format": format.as_str(),
        "format_rows": request.format_rows,
        "max_rows": request.max_rows,
        "query": query,
    }));
    let limit = RowLimit::new(request.max_rows, call.max_rows());
    export_stream(call, deadline, QuerySource::Dataset { query }, format, request.format_rows, limit)
        .map_err(Status::from)
}
