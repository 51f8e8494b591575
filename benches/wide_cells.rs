//! The wide-cell attack as a benchmark: an upstream whose values are as wide as a query can make
//! them, read through the gateway binary (a separate process) by 8 concurrent RunQuery streams
//! with a small `max_rows` (the JSON route). Prints the gateway's peak RSS, the largest message a
//! caller received, and what each stream got.
//!
//! Two waves: 8 streams of 100 rows × 500 KB (a 50 MB answer each, which fits in messages and
//! must arrive whole), then 8 streams whose 5 MB values fit in no message (each must end with
//! RESOURCE_EXHAUSTED naming the column).
//!
//! Run: `cargo bench --bench wide_cells`

mod common;

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use bytes::Bytes;
use futures::StreamExt;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::{NativeQuery, RunQueryRequest};
use metabase_grpc::streaming::wire::Chunk;
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;

use common::{peak_rss_mib, start_gateway};

const STREAMS: usize = 8;
const ROWS: usize = 100;
const FITS: usize = 500_000;
const TOO_WIDE: usize = 5_000_000;

/// A row stream: the same wide value in every row, made once and sliced, so the upstream itself
/// holds one value, not the body.
fn rows(width: usize, row: impl Fn(usize, Bytes) -> [Bytes; 3] + Send + 'static) -> Body {
    let value = Bytes::from(vec![b'x'; width]);
    Body::from_stream(
        futures::stream::iter(0..ROWS)
            .flat_map(move |index| futures::stream::iter(row(index, value.clone())))
            .map(Ok::<_, std::io::Error>),
    )
}

/// A stand-in for Metabase whose query answers carry `WIDE` values of the width the SQL names.
async fn upstream() -> String {
    let cols = json!([
        {"name": "ID", "display_name": "ID", "base_type": "type/Integer"},
        {"name": "WIDE", "display_name": "WIDE", "base_type": "type/Text"}
    ]);
    let width = |body: &str| if body.contains("too_wide") { TOO_WIDE } else { FITS };
    let app = Router::new()
        .route("/api/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/api/session/properties", get(|| async { axum::Json(json!({"version": {"tag": "v0.58.3"}})) }))
        .route(
            "/api/dataset",
            post(move |body: String| {
                let cols = cols.clone();
                async move {
                    if body.contains("\"limit\":0") {
                        let probe = json!({"data": {"rows": [], "cols": cols}, "status": "completed", "row_count": 0});
                        return ([("content-type", "application/json")], Body::from(probe.to_string()));
                    }
                    let tail = format!("],\"cols\":{cols}}},\"status\":\"completed\",\"row_count\":{ROWS}}}");
                    let answer = rows(width(&body), |index, value| {
                        let open = if index == 0 { "{\"data\":{\"rows\":[" } else { "," };
                        [Bytes::from(format!("{open}[{index},\"")), value, Bytes::from_static(b"\"]")]
                    })
                    .into_data_stream()
                    .chain(futures::stream::once(async move { Ok(Bytes::from(tail)) }));
                    ([("content-type", "application/json")], Body::from_stream(answer))
                }
            }),
        )
        .route(
            "/api/dataset/csv",
            post(move |body: String| async move {
                let header = futures::stream::once(async { Ok(Bytes::from_static(b"ID,WIDE\n")) });
                let csv = rows(width(&body), |index, value| {
                    [Bytes::from(format!("{index},")), value, Bytes::from_static(b"\n")]
                });
                ([("content-type", "text/csv")], Body::from_stream(header.chain(csv.into_data_stream())))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// What one stream got: rows, the bytes of their values, its largest message, and its status.
struct Got {
    rows: usize,
    value_bytes: usize,
    largest_message: usize,
    status: Option<tonic::Status>,
}

async fn stream(channel: Channel, sql: &str) -> Got {
    let request = RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: sql.into(), template_tags: None })),
        parameters: None,
        max_rows: ROWS as i64,
    };
    let mut got = Got { rows: 0, value_bytes: 0, largest_message: 0, status: None };
    let mut client = DatasetServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
    let mut messages = match client.run_query(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Got { status: Some(status), ..got },
    };
    loop {
        match messages.message().await {
            Ok(Some(chunk)) => {
                got.largest_message = got.largest_message.max(chunk.encoded_len());
                if let Some(Chunk::Rows(batch)) = chunk.chunk {
                    got.rows += batch.rows.len();
                    got.value_bytes += batch.rows.iter().map(|row| row.encoded_len()).sum::<usize>();
                }
            }
            Ok(None) => return got,
            Err(status) => return Got { status: Some(status), ..got },
        }
    }
}

async fn wave(channel: &Channel, sql: &'static str) -> Vec<Got> {
    let calls = (0..STREAMS).map(|_| tokio::spawn(stream(channel.clone(), sql)));
    futures::future::join_all(calls).await.into_iter().map(|got| got.expect("the stream task")).collect()
}

#[tokio::main]
async fn main() {
    let upstream = upstream().await;
    let (mut gateway, address) = start_gateway(&upstream, "mb_benchmark_key", "wide-cells").await;
    let channel = Channel::from_shared(format!("http://{address}")).unwrap().connect().await.expect("connect");
    println!("gateway peak RSS at start: {:.1} MiB", peak_rss_mib(&gateway));

    let started = Instant::now();
    let fits = wave(&channel, "SELECT ID, WIDE FROM fits").await;
    let elapsed = started.elapsed();
    let rows: usize = fits.iter().map(|got| got.rows).sum();
    let bytes: usize = fits.iter().map(|got| got.value_bytes).sum();
    let largest = fits.iter().map(|got| got.largest_message).max().unwrap_or(0);
    let failed: Vec<_> = fits.iter().filter_map(|got| got.status.as_ref()).collect();
    println!(
        "{STREAMS} streams of {ROWS} rows x {} KB: {rows} rows ({:.0} MiB) in {:.1} s, {} failed {failed:?}; largest message {} bytes",
        FITS / 1000,
        bytes as f64 / 1_048_576.0,
        elapsed.as_secs_f64(),
        failed.len(),
        largest
    );
    println!("gateway peak RSS after the fitting wave: {:.1} MiB", peak_rss_mib(&gateway));

    let too_wide = wave(&channel, "SELECT ID, WIDE FROM too_wide").await;
    for (index, got) in too_wide.iter().enumerate().take(1) {
        println!(
            "stream {index} of {} MB values: {} rows, largest message {} bytes, ended {:?}",
            TOO_WIDE / 1_000_000,
            got.rows,
            got.largest_message,
            got.status.as_ref().map(|status| (status.code(), status.message().to_owned()))
        );
    }
    let exhausted = too_wide
        .iter()
        .filter(|got| got.status.as_ref().is_some_and(|status| status.code() == tonic::Code::ResourceExhausted))
        .count();
    println!("{exhausted} of {STREAMS} too-wide streams ended RESOURCE_EXHAUSTED");
    println!("gateway peak RSS after both waves: {:.1} MiB (target < 256 MiB)", peak_rss_mib(&gateway));
    let _ = gateway.kill();
    let _ = gateway.wait();
}
