//! Audit store benchmark: how many events per second each backend commits, in batches of 256 (what
//! group commit gives) and one at a time (one transaction per call).
//!
//! SQLite: a file in a temporary directory, WAL, `synchronous=FULL`. PostgreSQL: a throwaway
//! cluster on 127.0.0.1 with its default durability (`fsync` and `synchronous_commit` on), started
//! from the PostgreSQL programs installed on the machine (`apt-get install -y postgresql`).
//! Prints events per second for each. Not a test: nothing here passes or fails on a figure.
//!
//! Run: `cargo bench --bench audit` (`AUDIT_BENCH_EVENTS` overrides the 200,000 batched events).

#[path = "../tests/support/postgres.rs"]
mod postgres_cluster;

use std::time::Instant;

use chrono::{Duration, Utc};
use metabase_grpc::audit::{AuditEvent, AuditStore, Decision};
use postgres_cluster::PostgresCluster;

/// The events written in batches, unless `AUDIT_BENCH_EVENTS` says otherwise.
const BATCHED_EVENTS: usize = 200_000;
/// The events written one per transaction: each waits for a sync to disk, so fewer are enough.
const SINGLE_EVENTS: usize = 2_000;
/// The batch a group-committing writer hands the store.
const BATCH: usize = 256;

/// Returns `count` events shaped like a gateway's: a run of a saved question with parameters.
fn events(count: usize) -> Vec<AuditEvent> {
    let start = Utc::now();
    (0..count)
        .map(|index| {
            let mut event = AuditEvent::new(
                format!("service-{}", index % 17),
                "header:l5d-client-id",
                "/metabase.gateway.v1.CardService/RunCard",
                Decision::Allowed,
                "",
            )
            .with_resource("card", i64::try_from(index % 500).unwrap_or_default())
            .with_resource("collection", 7)
            .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
            .with_parameters(serde_json::json!({"card_id": index % 500, "max_rows": 1000, "parameters": []}))
            .finish("OK", Some(1000), 12);
            event.time = start + Duration::microseconds(i64::try_from(index).unwrap_or_default());
            event
        })
        .collect()
}

/// Writes the events in batches of `batch` and returns events per second.
fn measure(store: &AuditStore, events: &[AuditEvent], batch: usize) -> f64 {
    let started = Instant::now();
    for chunk in events.chunks(batch) {
        store.write_batch(chunk).expect("the batch is committed");
    }
    let seconds = started.elapsed().as_secs_f64();
    let stored = store.list(&Default::default(), 1, 0).expect("count").1;
    assert!(stored >= events.len(), "only {stored} of {} events were stored", events.len());
    events.len() as f64 / seconds
}

fn report(backend: &str, batch: usize, count: usize, per_second: f64) {
    println!("{backend:<10} batch {batch:>3}  {count:>7} events  {per_second:>10.0} events/s");
}

fn main() {
    let batched = std::env::var("AUDIT_BENCH_EVENTS").ok().and_then(|text| text.parse().ok()).unwrap_or(BATCHED_EVENTS);
    let batched_events = events(batched);
    let single_events = events(SINGLE_EVENTS);
    println!("audit store: {batched} events in batches of {BATCH}, {SINGLE_EVENTS} events one per transaction");

    let directory = tempfile::tempdir().expect("temporary directory");
    let sqlite_batched = AuditStore::open(directory.path().join("batched.db")).expect("sqlite opens");
    let sqlite_single = AuditStore::open(directory.path().join("single.db")).expect("sqlite opens");
    let sqlite = (measure(&sqlite_batched, &batched_events, BATCH), measure(&sqlite_single, &single_events, 1));
    report("sqlite", BATCH, batched, sqlite.0);
    report("sqlite", 1, SINGLE_EVENTS, sqlite.1);

    let cluster = PostgresCluster::start();
    let postgres_store = AuditStore::connect(&cluster.url()).expect("postgres connects");
    let postgres_batched = measure(&postgres_store, &batched_events, BATCH);
    report("postgres", BATCH, batched, postgres_batched);
    let postgres_single = measure(&postgres_store, &single_events, 1);
    report("postgres", 1, SINGLE_EVENTS, postgres_single);

    println!(
        "batch {BATCH} over batch 1: sqlite {:.0}x, postgres {:.0}x",
        sqlite.0 / sqlite.1,
        postgres_batched / postgres_single
    );
}
