//! RunCard, RunQuery and Flight's DoGet: typed row batches from Metabase's JSON query route
//! (small limits) or its csv export (everything else, up to 1,048,575 rows), sent as they are
//! parsed through a bounded channel, so a slow caller slows the upstream read and memory stays
//! flat. One producer serves every wire encoding: a [`ResultWire`] says how its batches are
//! built and framed (protobuf row batches here, Arrow IPC in `super::flight`).

use std::time::Instant;

use tokio::sync::mpsc::Sender;
use tonic::Status;

use super::bounds::{MAX_ROW_BYTES, RowSize, starts_new_batch, too_wide};
use super::columns::{ColumnInfo, header, push_json_cell, push_text_cell};
use super::csv::{CsvReader, Event};
use super::plan::RowLimit;
use super::wire::{BatchEncoder, ProtobufRows, QueryResultChunk, RowEncoder};
use crate::error::GatewayError;
use crate::metabase::{ExportFormat, MetabaseClient, MetabaseError, QuerySource, ResultBody, export_failure};
use crate::middleware::call::CallContext;
use crate::pb::v1::{ResultSource, ResultSummary};

/// The largest JSON-route body held (the route returns at most 2,000 rows, about 1 MiB for
/// ordinary ones); a larger answer is streamed from the export route instead, so no call holds
/// more than this, whatever its values.
const MAX_JSON_BODY: usize = 8 * 1024 * 1024;
/// The largest error object read from the end of an export body.
const MAX_ERROR_TEXT: usize = 256 * 1024;

/// How one wire encoding frames a result stream: the encoder of its row batches and the message
/// for the header, for a batch and for the summary. Every message is built on the producer's
/// task, so the caller's task only writes.
pub(crate) trait ResultWire: 'static {
    /// Builds the row batches.
    type Encoder: BatchEncoder<Batch: Send> + Send;
    /// One message of the stream.
    type Message: Send + 'static;
    /// Returns an encoder for the result's columns.
    fn encoder(columns: &[ColumnInfo]) -> Self::Encoder;
    /// Returns the first message: the columns.
    fn header(columns: &[ColumnInfo]) -> Result<Self::Message, Status>;
    /// Returns the message carrying a batch of rows.
    fn rows(batch: <Self::Encoder as BatchEncoder>::Batch) -> Result<Self::Message, Status>;
    /// Returns the last message: counts and limits, and how many values became nulls.
    fn summary(columns: &[ColumnInfo], summary: ResultSummary, mistyped: u64) -> Result<Self::Message, Status>;
}

/// RunCard's and RunQuery's encoding: protobuf `QueryResultChunk`s.
pub(crate) struct ProtobufWire;

impl ResultWire for ProtobufWire {
    type Encoder = ProtobufRows;
    type Message = QueryResultChunk;

    fn encoder(_: &[ColumnInfo]) -> ProtobufRows {
        ProtobufRows::default()
    }

    fn header(columns: &[ColumnInfo]) -> Result<QueryResultChunk, Status> {
        Ok(QueryResultChunk::header(header(columns)))
    }

    fn rows(batch: super::wire::EncodedRows) -> Result<QueryResultChunk, Status> {
        Ok(QueryResultChunk::rows(batch))
    }

    fn summary(_: &[ColumnInfo], summary: ResultSummary, _: u64) -> Result<QueryResultChunk, Status> {
        Ok(QueryResultChunk::summary(summary))
    }
}

/// The channel end the producer writes to; a send fails once the caller has gone.
pub(crate) type ChunkSender<M> = Sender<Result<M, Status>>;

/// Sends one message; `Err(None)` tells the producer to stop quietly: the caller has gone, or the
/// message was a status that ends the stream.
async fn send<M>(sender: &ChunkSender<M>, message: Result<M, Status>) -> Result<(), Option<Status>> {
    let failed = message.is_err();
    sender.send(message).await.map_err(|_| None)?;
    // A message that could not be built ends the stream with its status, sent just now.
    if failed { Err(None) } else { Ok(()) }
}

/// Runs a query to completion into `sender`: header, row batches, summary, or an error status.
/// The rows sent are noted on the call for its audit event.
pub(crate) async fn produce<W: ResultWire>(
    call: CallContext,
    source: QuerySource,
    limit: RowLimit,
    sender: ChunkSender<W::Message>,
) {
    let started = Instant::now();
    let client = call.client.clone();
    let outcome = match limit.source() {
        ResultSource::JsonQuery => json_route::<W>(&client, &call, &source, limit, &sender, started).await,
        _ => export_route::<W>(&client, &call, &source, limit, &sender, started).await,
    };
    if let Err(Some(status)) = outcome {
        let _ = sender.send(Err(status)).await;
    }
}

type Outcome = Result<(), Option<Status>>;

fn failure(subject: &str) -> impl FnOnce(MetabaseError) -> Option<Status> + '_ {
    move |error| Some(Status::from(GatewayError::Metabase { subject: subject.to_owned(), source: Box::new(error) }))
}

/// Reads the next body chunk, or stops as soon as the caller has gone.
async fn next_chunk<M>(
    body: &mut ResultBody,
    sender: &ChunkSender<M>,
    subject: &str,
) -> Result<Option<bytes::Bytes>, Option<Status>> {
    tokio::select! {
        chunk = body.next_chunk() => chunk.map_err(failure(subject)),
        () = sender.closed() => Err(None),
    }
}

fn note_limit(call: &CallContext, summary: &crate::pb::v1::ResultSummary) {
    if let Ok(cause) = crate::pb::v1::LimitCause::try_from(summary.limit_cause) {
        call.note_limit(cause.as_str_name());
    }
}

fn mistyped_values(count: u64) {
    if count > 0 {
        tracing::warn!(values = count, "values did not fit their column's type and were sent as nulls");
    }
}

async fn json_route<W: ResultWire>(
    client: &MetabaseClient,
    call: &CallContext,
    source: &QuerySource,
    limit: RowLimit,
    sender: &ChunkSender<W::Message>,
    started: Instant,
) -> Outcome {
    let subject = source.subject();
    let mut response = client.queries().run(source).await.map_err(failure(&subject))?;
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(&mut response, sender, &subject).await? {
        if body.len() + chunk.len() > MAX_JSON_BODY {
            // Wide values: the export route streams the same rows in bounded memory.
            drop((response, body));
            tracing::info!(subject = %subject, "answer too large to hold; streaming it from the export route");
            return export_route::<W>(client, call, source, limit, sender, started).await;
        }
        body.extend_from_slice(&chunk);
    }
    let answer = response.decode_rows(&body).map_err(failure(&subject))?;
    let columns: Vec<ColumnInfo> = answer.data.cols.iter().map(ColumnInfo::from_metabase).collect();
    send(sender, W::header(&columns)).await?;
    let mut encoder = W::encoder(&columns);
    let mut count = 0u64;
    for row in &answer.data.rows {
        if limit.rows.is_some_and(|most| count >= most) {
            break;
        }
        let size = RowSize::of(row.iter().map(|cell| cell.get().len()));
        size.check(&columns, count + 1, &subject).map_err(Some)?;
        if starts_new_batch(encoder.rows(), encoder.byte_len(), size.bytes) {
            send(sender, W::rows(encoder.take())).await?;
            call.note_rows(count as i64);
        }
        for (index, cell) in row.iter().enumerate() {
            let kind = columns.get(index).map_or(super::columns::CellKind::Text, |column| column.kind);
            let value = serde_json::from_str(cell.get()).unwrap_or(serde_json::Value::Null);
            push_json_cell(&mut encoder, kind, &value);
        }
        encoder.end_row();
        count += 1;
        if encoder.byte_len() >= W::Encoder::BATCH_BYTES {
            send(sender, W::rows(encoder.take())).await?;
            // Rows sent so far, so a call cut short still records them.
            call.note_rows(count as i64);
        }
    }
    if encoder.rows() > 0 {
        send(sender, W::rows(encoder.take())).await?;
    }
    call.note_rows(count as i64);
    let truncated = answer.data.rows_truncated.as_ref().is_some_and(|value| !value.is_null());
    let summary = limit.summary(count, ResultSource::JsonQuery, truncated, started.elapsed().as_millis() as i64);
    note_limit(call, &summary);
    mistyped_values(encoder.mistyped());
    send(sender, W::summary(&columns, summary, encoder.mistyped())).await?;
    Ok(())
}

/// Reads the typed columns of an export, whose header row carries only titles.
async fn export_columns(client: &MetabaseClient, source: &QuerySource) -> Option<Vec<ColumnInfo>> {
    let columns = client.queries().columns(source).await?;
    Some(columns.iter().map(ColumnInfo::from_metabase).collect())
}

/// Rows parsed from the export, waiting to be sent after the current chunk is read.
struct ExportRows<W: ResultWire> {
    columns: Option<Vec<ColumnInfo>>,
    metadata: Option<Vec<ColumnInfo>>,
    pending_header: bool,
    /// Made once the columns are known.
    encoder: Option<W::Encoder>,
    ready: Vec<<W::Encoder as BatchEncoder>::Batch>,
    count: u64,
    limit: Option<u64>,
    /// What the result is, for messages.
    subject: String,
    /// Why reading stopped early, when a row was too wide to send.
    failure: Option<Status>,
}

impl<W: ResultWire> ExportRows<W> {
    /// Settles the columns (the header row's titles, typed by the metadata when they agree) and
    /// makes the encoder for them.
    fn settle_columns(&mut self, columns: Vec<ColumnInfo>) {
        self.encoder = Some(W::encoder(&columns));
        self.columns = Some(columns);
        self.pending_header = true;
    }

    fn encoded_rows(&self) -> usize {
        self.encoder.as_ref().map_or(0, BatchEncoder::rows)
    }

    fn on_event(&mut self, event: Event<'_>) -> bool {
        let record = match event {
            Event::Record(record) => record,
            Event::Oversized { field, bytes } => {
                let columns = self.columns.as_deref().unwrap_or_default();
                self.failure = Some(too_wide(columns, self.count + 1, field, bytes, &self.subject));
                return false;
            }
            Event::ErrorObject => return true,
        };
        let Some(columns) = &self.columns else {
            let titles = record.to_vec();
            let typed = self.metadata.take().filter(|columns| columns.len() == titles.len());
            if typed.is_none() {
                tracing::debug!("export metadata unavailable or mismatched; values arrive as text");
            }
            self.settle_columns(
                typed.unwrap_or_else(|| titles.iter().map(|title| ColumnInfo::untyped(title)).collect()),
            );
            return true;
        };
        let Some(encoder) = self.encoder.as_mut() else {
            return false;
        };
        if self.limit.is_some_and(|most| self.count >= most) {
            return false;
        }
        let size = RowSize::of((0..record.len()).map(|index| record.field_len(index)));
        if let Err(status) = size.check(columns, self.count + 1, &self.subject) {
            self.failure = Some(status);
            return false;
        }
        if starts_new_batch(encoder.rows(), encoder.byte_len(), size.bytes) {
            self.ready.push(encoder.take());
        }
        for index in 0..record.len() {
            let kind = columns.get(index).map_or(super::columns::CellKind::Text, |column| column.kind);
            push_text_cell(encoder, kind, &record.field(index));
        }
        encoder.end_row();
        self.count += 1;
        if encoder.byte_len() >= W::Encoder::BATCH_BYTES {
            self.ready.push(encoder.take());
        }
        self.limit.is_none_or(|most| self.count < most)
    }

    async fn flush(&mut self, sender: &ChunkSender<W::Message>) -> Result<(), Option<Status>> {
        if self.pending_header {
            self.pending_header = false;
            let columns = self.columns.as_deref().unwrap_or_default();
            send(sender, W::header(columns)).await?;
        }
        for batch in self.ready.drain(..) {
            send(sender, W::rows(batch)).await?;
        }
        Ok(())
    }
}

async fn export_route<W: ResultWire>(
    client: &MetabaseClient,
    call: &CallContext,
    source: &QuerySource,
    limit: RowLimit,
    sender: &ChunkSender<W::Message>,
    started: Instant,
) -> Outcome {
    let subject = source.subject();
    let metadata = export_columns(client, source).await;
    let mut response = client.queries().export(source, ExportFormat::Csv, false).await.map_err(failure(&subject))?;
    let mut reader = CsvReader::with_record_limit(MAX_ROW_BYTES);
    let mut rows = ExportRows::<W> {
        columns: None,
        metadata,
        pending_header: false,
        encoder: None,
        ready: Vec::new(),
        count: 0,
        limit: limit.rows,
        subject: subject.clone(),
        failure: None,
    };
    let mut limit_hit = false;
    while let Some(chunk) = next_chunk(&mut response, sender, &subject).await? {
        limit_hit = !reader.feed(&chunk, &mut |event| rows.on_event(event));
        rows.flush(sender).await?;
        // Rows sent so far, so a call cut short (cancelled, past its deadline, shut down) still
        // records them.
        call.note_rows(rows.count.saturating_sub(rows.encoded_rows() as u64) as i64);
        if let Some(status) = rows.failure.take() {
            return Err(Some(status));
        }
        if limit_hit || reader.error_text().is_some_and(|text| text.len() > MAX_ERROR_TEXT) {
            break;
        }
    }
    if !limit_hit {
        reader.finish(&mut |event| rows.on_event(event));
    }
    if let Some(text) = reader.error_text() {
        return Err(failure(&subject)(response.failed(export_failure(text))));
    }
    drop(response);
    if rows.columns.is_none() {
        let columns = rows.metadata.take().unwrap_or_default();
        rows.settle_columns(columns);
    }
    let mut mistyped = 0;
    if let Some(encoder) = rows.encoder.as_mut() {
        if encoder.rows() > 0 {
            let batch = encoder.take();
            rows.ready.push(batch);
        }
        mistyped = encoder.mistyped();
    }
    rows.flush(sender).await?;
    call.note_rows(rows.count as i64);
    let summary = limit.summary(rows.count, ResultSource::Export, false, started.elapsed().as_millis() as i64);
    note_limit(call, &summary);
    mistyped_values(mistyped);
    let columns = rows.columns.as_deref().unwrap_or_default();
    send(sender, W::summary(columns, summary, mistyped)).await?;
    Ok(())
}
