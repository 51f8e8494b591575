//! Results as Arrow Flight data: [`FlightWire`] frames the producer's batches as Arrow IPC
//! messages (schema, record batches, and a last empty batch whose `app_metadata` is the summary),
//! and the schemas GetFlightInfo, GetSchema and ListFlights report come from the same column
//! metadata through the same mapping.

use std::pin::Pin;

use arrow_array::RecordBatch;
use arrow_flight::{FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, SchemaAsIpc, Ticket};
use arrow_ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions};
use arrow_schema::{ArrowError, Schema};
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::arrow::{ArrowRows, schema};
use super::columns::ColumnInfo;
use super::plan::RowLimit;
use super::results::{ResultWire, produce};
use super::{CHANNEL_DEPTH, spawn_bounded};
use crate::error::GatewayError;
use crate::metabase::{Card, MetabaseClient, QuerySource};
use crate::middleware::call::CallContext;
use crate::middleware::deadline::Deadline;
use crate::pb::v1::{LimitCause, ResultSource, ResultSummary};

/// A stream of Flight data messages.
pub(crate) type FlightDataStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send>>;

fn unencodable(error: ArrowError) -> Status {
    tracing::error!(%error, "a result batch could not be written as arrow ipc");
    GatewayError::Internal { message: "a result batch could not be written as arrow ipc".into() }.into()
}

fn encode_batch(batch: &RecordBatch) -> Result<FlightData, Status> {
    let options = IpcWriteOptions::default();
    // Results have no dictionary columns, so each batch is one message.
    let (_, encoded) = IpcDataGenerator::default()
        .encode(batch, &mut DictionaryTracker::new(false), &options, &mut IpcWriteContext::default())
        .map_err(unencodable)?;
    Ok(encoded.into())
}

/// Returns the summary as the JSON the last message's `app_metadata` carries.
pub(crate) fn summary_metadata(summary: &ResultSummary, mistyped: u64) -> Value {
    let cause =
        LimitCause::try_from(summary.limit_cause).map_or("LIMIT_CAUSE_UNSPECIFIED", |cause| cause.as_str_name());
    let source =
        ResultSource::try_from(summary.source).map_or("RESULT_SOURCE_UNSPECIFIED", |source| source.as_str_name());
    json!({
        "row_count": summary.row_count,
        "limit_reached": summary.limit_reached,
        "limit_cause": cause,
        "source": source,
        "running_time_ms": summary.running_time_ms,
        "mistyped_values": mistyped,
    })
}

/// DoGet's encoding: Arrow IPC messages in Flight data.
pub(crate) struct FlightWire;

impl ResultWire for FlightWire {
    type Encoder = ArrowRows;
    type Message = FlightData;

    fn encoder(columns: &[ColumnInfo]) -> ArrowRows {
        ArrowRows::new(columns)
    }

    fn header(columns: &[ColumnInfo]) -> Result<FlightData, Status> {
        Ok(SchemaAsIpc::new(&schema(columns), &IpcWriteOptions::default()).into())
    }

    fn rows(batch: Result<RecordBatch, ArrowError>) -> Result<FlightData, Status> {
        encode_batch(&batch.map_err(unencodable)?)
    }

    /// The summary travels on an empty record batch, which every Flight client reads (a message
    /// without a batch is not understood by all of them).
    fn summary(columns: &[ColumnInfo], summary: ResultSummary, mistyped: u64) -> Result<FlightData, Status> {
        let empty = RecordBatch::new_empty(std::sync::Arc::new(schema(columns)));
        let data = encode_batch(&empty)?;
        Ok(data.with_app_metadata(summary_metadata(&summary, mistyped).to_string()))
    }
}

/// Runs a query for DoGet, streaming Arrow record batches from the same producer as RunCard and
/// RunQuery, bounded by the caller's deadline.
pub(crate) fn record_batches(
    call: &CallContext,
    deadline: Option<Deadline>,
    source: QuerySource,
    limit: RowLimit,
) -> FlightDataStream {
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    spawn_bounded(deadline, sender.clone(), produce::<FlightWire>(call.clone(), source, limit, sender));
    Box::pin(ReceiverStream::new(receiver))
}

/// Returns the Arrow schema of a query's result, from the column metadata Metabase gives for it
/// (a card's stored metadata, else a zero-row run), as DoGet's export route types its batches.
pub(crate) async fn result_schema(client: &MetabaseClient, source: &QuerySource) -> Result<Schema, Status> {
    let Some(columns) = client.queries().columns(source).await else {
        let message = format!("metabase did not say the columns of {}; DoGet reports why", source.subject());
        return Err(GatewayError::Internal { message }.into());
    };
    let columns: Vec<ColumnInfo> = columns.iter().map(ColumnInfo::from_metabase).collect();
    Ok(schema(&columns))
}

/// Returns the flight of a command: its schema, and one endpoint whose ticket is the command
/// itself, served by this gateway.
pub(crate) fn flight_info(descriptor: FlightDescriptor, schema: &Schema) -> Result<FlightInfo, Status> {
    let ticket = Ticket::new(descriptor.cmd.clone());
    let info = FlightInfo::new().try_with_schema(schema).map_err(unencodable)?;
    Ok(info.with_descriptor(descriptor).with_endpoint(FlightEndpoint::new().with_ticket(ticket)).with_ordered(true))
}

/// Returns a saved question as ListFlights lists it: its command (`{"card_id": N}`), the schema of
/// its stored result metadata (empty when Metabase has none), and its id and name as
/// `app_metadata`.
pub(crate) fn card_flight(card: &Card) -> Result<FlightInfo, Status> {
    let columns: Vec<ColumnInfo> = card.result_metadata.iter().flatten().map(ColumnInfo::from_metabase).collect();
    let command = crate::convert::flight::FlightCommand::for_card(card.id.0);
    let info = flight_info(FlightDescriptor::new_cmd(command), &schema(&columns))?;
    let about = json!({"card_id": card.id.0, "name": card.name, "description": card.description});
    Ok(info.with_app_metadata(about.to_string()))
}
