//! Arrow Flight benchmark: `SELECT * FROM EVENTS` (1,048,575 rows, 7 columns) read through the
//! gateway (a separate process, in front of an upstream in this process) by a Rust
//! Flight client and the Rust RunQuery client, and, when `FLIGHT_BENCH_PYTHON` names a Python with
//! pyarrow and grpcio (and `clients/python/generated` holds the stubs), by pyarrow through Flight,
//! grpcio through RunQuery, and Python reading Metabase's CSV export directly with the csv module.
//! Prints the median rows per second of each, the ratios the issue asks for, and the gateway's
//! peak RSS.
//!
//! The upstream is a canned csv export in memory (`benches/common/canned.rs`), so the figures are
//! the gateway's and the readers', not an upstream's; `FLIGHT_BENCH_UPSTREAM=emulator` reads the
//! emulator over SQLite instead, which caps every reader near its own rate.
//!
//! Run: `FLIGHT_BENCH_PYTHON=target/ci-venv/bin/python cargo bench --bench flight`

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use arrow_flight::{FlightClient, Ticket};
use futures::TryStreamExt;
use metabase_emulator::EmulatorConfig;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::{NativeQuery, RunQueryRequest};
use metabase_grpc::streaming::wire::Chunk;
use tonic::transport::Channel;

use common::{peak_rss_mib, start_gateway};

const SQL: &str = "SELECT * FROM EVENTS";
const ROWS: usize = 1_048_575;
const ROUNDS: usize = 3;
const API_KEY: &str = "mb_emulator_admin_key";

async fn rust_flight(channel: &Channel) -> usize {
    let mut client = FlightClient::new(channel.clone());
    let ticket = Ticket::new(serde_json::json!({"database_id": 1, "native": SQL}).to_string());
    let batches: Vec<_> = client.do_get(ticket).await.expect("do_get").try_collect().await.expect("batches");
    batches.iter().map(|batch| batch.num_rows()).sum()
}

async fn rust_run_query(channel: &Channel) -> usize {
    let request = RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: SQL.into(), template_tags: None })),
        parameters: None,
        max_rows: 0,
    };
    let mut client = DatasetServiceClient::new(channel.clone()).max_decoding_message_size(16 * 1024 * 1024);
    let mut stream = client.run_query(request).await.expect("run_query").into_inner();
    let mut rows = 0;
    while let Some(chunk) = stream.message().await.expect("a chunk") {
        if let Some(Chunk::Rows(batch)) = chunk.chunk {
            rows += batch.rows.len();
        }
    }
    rows
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs the Python readers; returns (name, rows/s) for each.
fn python_readers(python: &str, gateway: &str, metabase: &str) -> Vec<(String, f64)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new(python)
        .arg(format!("{root}/benches/flight_readers.py"))
        .args([gateway, metabase, API_KEY, &ROUNDS.to_string()])
        .env("PYTHONPATH", format!("{root}/clients/python/generated"))
        .stderr(Stdio::inherit())
        .output()
        .expect("python runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (name, rate, rows) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?);
            assert_eq!(rows, ROWS.to_string(), "{name} read every row");
            Some((name.to_owned(), rate))
        })
        .collect()
}

#[tokio::main]
async fn main() {
    // The canned export measures the gateway and its clients; the emulator (SQLite) is slower
    // than either and would cap every reader at its own rate.
    let mut emulator = None;
    let upstream = if std::env::var("FLIGHT_BENCH_UPSTREAM").as_deref() == Ok("emulator") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let started = metabase_emulator::start(EmulatorConfig::default(), listener).await.expect("the emulator starts");
        let url = started.url();
        emulator = Some(started);
        url
    } else {
        common::canned::upstream(common::canned::canned_export()).await
    };
    println!("upstream: {}", if emulator.is_some() { "the emulator over SQLite" } else { "a canned export in memory" });
    let (mut gateway, address) = start_gateway(&upstream, API_KEY, "flight").await;
    let channel = Channel::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();

    let mut figures: Vec<(String, f64)> = Vec::new();
    for (name, flight) in [("Rust Flight client", true), ("Rust RunQuery client", false)] {
        let mut rates = Vec::new();
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let rows = if flight { rust_flight(&channel).await } else { rust_run_query(&channel).await };
            assert_eq!(rows, ROWS, "{name} read every row");
            rates.push(rows as f64 / started.elapsed().as_secs_f64());
        }
        figures.push((name.to_owned(), median(rates)));
    }
    match std::env::var("FLIGHT_BENCH_PYTHON") {
        Ok(python) => {
            let names = [
                ("flight", "Python: pyarrow through Flight"),
                ("grpcio", "Python: grpcio reading RunQuery"),
                ("csv", "Python: CSV export direct, csv module, typed"),
            ];
            for (short, rate) in python_readers(&python, &address, &upstream) {
                let name = names.iter().find(|(key, _)| *key == short).map_or(short.as_str(), |(_, name)| name);
                figures.push((name.to_owned(), rate));
            }
        }
        Err(_) => println!("FLIGHT_BENCH_PYTHON is not set: the Python readers are skipped"),
    }

    println!("\n{ROWS} rows of SELECT * FROM EVENTS, median of {ROUNDS} rounds:");
    for (name, rate) in &figures {
        println!("  {name:<48} {:>6.2} M rows/s", rate / 1e6);
    }
    let rate = |name: &str| figures.iter().find(|(found, _)| found == name).map(|(_, rate)| *rate);
    if let (Some(flight), Some(run_query)) = (rate("Rust Flight client"), rate("Rust RunQuery client")) {
        println!("  Rust Flight / Rust RunQuery: {:.2}", flight / run_query);
    }
    if let (Some(pyarrow), Some(csv)) =
        (rate("Python: pyarrow through Flight"), rate("Python: CSV export direct, csv module, typed"))
    {
        println!("  pyarrow through Flight / Python direct CSV: {:.2} (target: at least 3)", pyarrow / csv);
    }
    if let (Some(pyarrow), Some(grpcio)) =
        (rate("Python: pyarrow through Flight"), rate("Python: grpcio reading RunQuery"))
    {
        println!("  pyarrow through Flight / grpcio RunQuery: {:.2}", pyarrow / grpcio);
    }
    println!("  gateway peak RSS: {:.1} MiB (target: under 64)", peak_rss_mib(&gateway));
    let _ = gateway.kill();
    let _ = gateway.wait();
}
