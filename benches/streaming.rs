//! Streaming benchmark: 1,048,575 rows, three ways, in one run.
//!
//! (a) ceiling: a gRPC server in this process streams the same rows, generated in memory, with no
//!     upstream; (b) gateway: the gateway binary (a separate process) streams a canned Metabase
//!     csv export from a fast in-process upstream; (c) direct: a Rust client downloads and parses
//!     that export itself. Prints rows per second for each, b/a and b/c, and the gateway's peak
//!     RSS after 10,000 rows and after 1,048,575 rows.
//!
//! Run: `cargo bench --bench streaming`

mod common;

use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use futures::{Stream, StreamExt};
use metabase_grpc::pb::v1::dataset_service_server::{DatasetService, DatasetServiceServer};
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::value::Kind;
use metabase_grpc::pb::v1::{
    Column, ExportChunk, ExportQueryRequest, LimitCause, NativeQuery, ResultHeader, ResultSource, ResultSummary,
    RunQueryRequest,
};
use metabase_grpc::pb::v1::{Row, RowBatch, Value};
use metabase_grpc::streaming::columns::{CellKind, push_text_cell};
use metabase_grpc::streaming::csv::{CsvReader, Event};
use metabase_grpc::streaming::wire::{Chunk, ProtobufRows, QueryResultChunk, RowEncoder};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Request, Response, Status};

use common::canned::{COLUMNS, EVENT_TYPES, ROWS, canned_export, upstream};
use common::{peak_rss_mib, start_gateway};

fn kinds() -> Vec<CellKind> {
    COLUMNS.iter().map(|(_, base_type)| CellKind::for_base_type(base_type)).collect()
}

/// The ceiling: the same rows generated in this process and encoded as they are streamed, with
/// no upstream to read or parse. With `pre_encoded`, the rows were encoded up front and only the
/// transport is measured (shown for reference).
struct Ceiling {
    batches: std::sync::Arc<Vec<metabase_grpc::streaming::wire::EncodedRows>>,
    timestamps: std::sync::Arc<Vec<String>>,
}

/// Timestamps the generated rows cycle through, made once so generation does no formatting.
fn timestamps() -> Vec<String> {
    (0..1000u64)
        .map(|id| {
            format!("2024-{:02}-{:02}T{:02}:{:02}:{:02}.000Z", id % 12 + 1, id % 28 + 1, id % 24, id % 60, id % 60)
        })
        .collect()
}

/// Writes one generated row of typed values straight into an encoder.
fn generate_row(encoder: &mut ProtobufRows, id: u64, timestamps: &[String]) {
    encoder.int(id as i64);
    encoder.int((id * 7919 % 2500 + 1) as i64);
    encoder.text(EVENT_TYPES[(id % 6) as usize]);
    encoder.double((id % 1000) as f64 + (id % 100) as f64 / 100.0);
    encoder.boolean(id.is_multiple_of(2));
    encoder.int((9_007_199_254_740_993 + id) as i64);
    encoder.text(&timestamps[(id % 1000) as usize]);
    encoder.end_row();
}

/// Rows per batch for the prost ceiling: about the 128 KiB the gateway's batches hold.
const PROST_BATCH_ROWS: usize = 1_500;

/// Builds one generated row as prost messages, as a gRPC server serving in-process data would.
fn prost_row(id: u64, timestamps: &[String]) -> Row {
    let value = |kind: Kind| Value { kind: Some(kind) };
    Row {
        values: vec![
            value(Kind::IntValue(id as i64)),
            value(Kind::IntValue((id * 7919 % 2500 + 1) as i64)),
            value(Kind::StringValue(EVENT_TYPES[(id % 6) as usize].to_owned())),
            value(Kind::DoubleValue((id % 1000) as f64 + (id % 100) as f64 / 100.0)),
            value(Kind::BoolValue(id.is_multiple_of(2))),
            value(Kind::IntValue((9_007_199_254_740_993 + id) as i64)),
            value(Kind::StringValue(timestamps[(id % 1000) as usize].clone())),
        ],
    }
}

fn encode_all() -> Vec<metabase_grpc::streaming::wire::EncodedRows> {
    let timestamps = timestamps();
    let mut encoder = ProtobufRows::default();
    let mut batches = Vec::new();
    for id in 1..=ROWS {
        generate_row(&mut encoder, id, &timestamps);
        if encoder.byte_len() >= 128 * 1024 {
            batches.push(encoder.take());
        }
    }
    batches.push(encoder.take());
    batches
}

type Chunks = Pin<Box<dyn Stream<Item = Result<QueryResultChunk, Status>> + Send>>;
type Exports = Pin<Box<dyn Stream<Item = Result<ExportChunk, Status>> + Send>>;

#[tonic::async_trait]
impl DatasetService for Ceiling {
    type RunQueryStream = Chunks;
    type ExportQueryStream = Exports;

    async fn run_query(&self, request: Request<RunQueryRequest>) -> Result<Response<Chunks>, Status> {
        let request = request.into_inner();
        let rows = request.max_rows as u64;
        let mode = match &request.query {
            Some(Query::Native(native)) => native.query.clone(),
            _ => String::new(),
        };
        let batches = self.batches.clone();
        let timestamps = self.timestamps.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            let header = ResultHeader {
                columns: COLUMNS
                    .iter()
                    .map(|(name, base_type)| Column {
                        name: (*name).into(),
                        base_type: (*base_type).into(),
                        ..Default::default()
                    })
                    .collect(),
            };
            let _ = sender.send(Ok(QueryResultChunk::header(header))).await;
            if mode == "pre-encoded" {
                for batch in batches.iter() {
                    if sender.send(Ok(QueryResultChunk::rows(batch.clone()))).await.is_err() {
                        return;
                    }
                }
            } else if mode == "prost" {
                let mut batch = Vec::with_capacity(PROST_BATCH_ROWS);
                for id in 1..=rows {
                    batch.push(prost_row(id, &timestamps));
                    if batch.len() == PROST_BATCH_ROWS {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(PROST_BATCH_ROWS));
                        if sender
                            .send(Ok(QueryResultChunk { chunk: Some(Chunk::Rows(RowBatch { rows: full })) }))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                let _ = sender.send(Ok(QueryResultChunk { chunk: Some(Chunk::Rows(RowBatch { rows: batch })) })).await;
            } else {
                let mut encoder = ProtobufRows::default();
                for id in 1..=rows {
                    generate_row(&mut encoder, id, &timestamps);
                    if encoder.byte_len() >= 128 * 1024
                        && sender.send(Ok(QueryResultChunk::rows(encoder.take()))).await.is_err()
                    {
                        return;
                    }
                }
                let _ = sender.send(Ok(QueryResultChunk::rows(encoder.take()))).await;
            }
            let summary = ResultSummary {
                row_count: rows as i64,
                limit_reached: true,
                limit_cause: LimitCause::MetabaseExportLimit as i32,
                running_time_ms: 0,
                source: ResultSource::Export as i32,
            };
            let _ = sender.send(Ok(QueryResultChunk::summary(summary))).await;
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))))
    }

    async fn export_query(&self, _request: Request<ExportQueryRequest>) -> Result<Response<Exports>, Status> {
        Err(Status::unimplemented("not measured"))
    }
}

/// A client codec that keeps each message as bytes; rows are counted by skimming them, so the
/// client is never what is being measured.
#[derive(Default)]
struct RawCodec;

struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let length = buffer.remaining();
        Ok(Some(buffer.copy_to_bytes(length)))
    }
}

struct RequestEncoder;

impl Encoder for RequestEncoder {
    type Item = RunQueryRequest;
    type Error = Status;

    fn encode(&mut self, item: RunQueryRequest, buffer: &mut EncodeBuf<'_>) -> Result<(), Status> {
        prost::Message::encode(&item, buffer).map_err(|error| Status::internal(error.to_string()))
    }
}

impl Codec for RawCodec {
    type Encode = RunQueryRequest;
    type Decode = Bytes;
    type Encoder = RequestEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RequestEncoder {
        RequestEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

fn varint(bytes: &[u8], position: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    while *position < bytes.len() {
        let byte = bytes[*position];
        *position += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    value
}

/// Counts the rows in one encoded `QueryResultChunk` (0 for a header or summary).
fn count_rows(chunk: &[u8]) -> u64 {
    let mut position = 0;
    if varint(chunk, &mut position) != (2 << 3 | 2) {
        return 0;
    }
    let end = position + varint(chunk, &mut position) as usize;
    let mut rows = 0;
    while position < end {
        varint(chunk, &mut position);
        let length = varint(chunk, &mut position) as usize;
        position += length;
        rows += 1;
    }
    rows
}

async fn stream_rows(endpoint: &str, max_rows: u64) -> (u64, Duration) {
    stream_query(endpoint, "SELECT * FROM EVENTS", max_rows).await
}

async fn stream_query(endpoint: &str, sql: &str, max_rows: u64) -> (u64, Duration) {
    let channel = tonic::transport::Channel::from_shared(endpoint.to_owned()).unwrap().connect().await.unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let request = RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: sql.into(), template_tags: None })),
        parameters: None,
        max_rows: max_rows as i64,
    };
    let started = Instant::now();
    let path = http::uri::PathAndQuery::from_static("/metabase.gateway.v1.DatasetService/RunQuery");
    let mut stream = client.server_streaming(Request::new(request), path, RawCodec).await.unwrap().into_inner();
    let mut rows = 0;
    while let Some(chunk) = stream.next().await {
        rows += count_rows(&chunk.unwrap());
    }
    (rows, started.elapsed())
}

async fn direct(upstream: &str) -> (u64, Duration) {
    let started = Instant::now();
    let mut response = reqwest::Client::new()
        .post(format!("{upstream}/api/dataset/csv"))
        .form(&[("query", "{}")])
        .send()
        .await
        .unwrap();
    let kinds = kinds();
    let mut encoder = CountingRows::default();
    let mut reader = CsvReader::new();
    let mut header = true;
    while let Some(chunk) = response.chunk().await.unwrap() {
        reader.feed(&chunk, &mut |event| {
            if let Event::Record(record) = event {
                if header {
                    header = false;
                } else {
                    for (index, kind) in kinds.iter().enumerate().take(record.len()) {
                        push_text_cell(&mut encoder, *kind, &record.field(index));
                    }
                    encoder.end_row();
                }
            }
            true
        });
    }
    (encoder.rows, started.elapsed())
}

/// A client that types every value (as the gateway does) and keeps nothing.
#[derive(Default)]
struct CountingRows {
    rows: u64,
    checksum: u64,
}

impl RowEncoder for CountingRows {
    fn null(&mut self) {}
    fn boolean(&mut self, value: bool) {
        self.checksum = self.checksum.wrapping_add(u64::from(value));
    }
    fn int(&mut self, value: i64) {
        self.checksum = self.checksum.wrapping_add(value as u64);
    }
    fn double(&mut self, value: f64) {
        self.checksum = self.checksum.wrapping_add(value as u64);
    }
    fn text(&mut self, value: &str) {
        self.checksum = self.checksum.wrapping_add(value.len() as u64);
    }
    fn end_row(&mut self) {
        self.rows += 1;
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let export = canned_export();
    println!("canned export: {} rows, {:.1} MiB of csv", ROWS, export.len() as f64 / 1_048_576.0);
    let upstream = upstream(export).await;
    let ceiling_service =
        Ceiling { batches: std::sync::Arc::new(encode_all()), timestamps: std::sync::Arc::new(timestamps()) };
    let ceiling_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ceiling = format!("http://{}", ceiling_listener.local_addr().unwrap());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(DatasetServiceServer::new(ceiling_service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(ceiling_listener))
            .await
    });
    let (mut gateway, gateway_address) = start_gateway(&upstream, "mb_benchmark_key", "streaming").await;
    let gateway_endpoint = format!("http://{gateway_address}");

    let (warm_rows, _) = stream_rows(&gateway_endpoint, 10_000).await;
    assert_eq!(warm_rows, 10_000);
    let rss_small = peak_rss_mib(&gateway);

    let (mut ceiling_rates, mut gateway_rates, mut direct_rates) = (Vec::new(), Vec::new(), Vec::new());
    let (mut bytes_rates, mut transport_rates) = (Vec::new(), Vec::new());
    for round in 1..=5 {
        let (rows, elapsed) = stream_query(&ceiling, "prost", ROWS).await;
        assert_eq!(rows, ROWS);
        ceiling_rates.push(rows as f64 / elapsed.as_secs_f64());
        let (rows, elapsed) = stream_query(&ceiling, "bytes", ROWS).await;
        assert_eq!(rows, ROWS);
        bytes_rates.push(rows as f64 / elapsed.as_secs_f64());
        let (rows, elapsed) = stream_rows(&gateway_endpoint, 0).await;
        assert_eq!(rows, ROWS, "the gateway streams every row up to the export cap");
        gateway_rates.push(rows as f64 / elapsed.as_secs_f64());
        let (rows, elapsed) = direct(&upstream).await;
        assert_eq!(rows, ROWS);
        direct_rates.push(rows as f64 / elapsed.as_secs_f64());
        let (rows, elapsed) = stream_query(&ceiling, "pre-encoded", ROWS).await;
        assert_eq!(rows, ROWS);
        transport_rates.push(rows as f64 / elapsed.as_secs_f64());
        println!(
            "round {round}: ceiling {:.0} rows/s, gateway {:.0} rows/s, direct {:.0} rows/s",
            ceiling_rates[round - 1],
            gateway_rates[round - 1],
            direct_rates[round - 1]
        );
    }
    let rss_large = peak_rss_mib(&gateway);
    let _ = gateway.kill();
    let _ = gateway.wait();
    let (a, b, c) = (median(ceiling_rates), median(gateway_rates), median(direct_rates));
    println!();
    println!("(a) ceiling, rows generated in-process as prost messages: {:>12.0} rows/s", a);
    println!("(b) gateway, export -> gateway -> client: {:>12.0} rows/s", b);
    println!("(c) direct, client parses the export:     {:>12.0} rows/s", c);
    println!("b/a = {:.2}   (target at least 0.90)", b / a);
    println!("b/c = {:.2}", b / c);
    let (bytes_rate, transport_rate) = (median(bytes_rates), median(transport_rates));
    println!("stricter ceilings, for reference:");
    println!(
        "  rows generated in-process, encoded straight to bytes: {bytes_rate:>12.0} rows/s (b over it = {:.2})",
        b / bytes_rate
    );
    println!(
        "  transport only, rows encoded up front:                {transport_rate:>12.0} rows/s (b over it = {:.2})",
        b / transport_rate
    );
    println!("gateway peak RSS after 10,000 rows:    {rss_small:.1} MiB");
    println!(
        "gateway peak RSS after 1,048,575 rows: {rss_large:.1} MiB (target under 64, within 10 of the 10,000-row figure)"
    );
}
