//! Write latency while unauthenticated callers flood the gateway: the gateway binary runs as its
//! own process in front of the in-process emulator, with a policy and a SQLite audit database.
//! One client makes CreateCollection calls one after another and times them, first alone, then
//! while flood tasks send about 5,000 unauthenticated calls a second. It prints p50 and p99 of both,
//! the flood rate reached, and how many audit rows the flood cost (refusals fold into summaries).
//! Bounded: each phase runs a few seconds. Run with `cargo bench --bench audit_flood`.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metabase_grpc::audit::{AuditFilter, AuditStore};
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient;
use metabase_grpc::pb::v1::{CreateCollectionRequest, GetCardRequest};
use tonic::transport::Channel;

const PHASE: Duration = Duration::from_secs(4);
const FLOOD_PER_SECOND: u64 = 5_000;
const FLOOD_TASKS: u64 = 16;
const POLICY: &str = "version: 1\nprincipals:\n  - match: writer\n    grants: { collections: full }\n";

async fn start_gateway(upstream: &str, directory: &std::path::Path) -> (Child, Channel) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let policy = directory.join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args(["serve", "--metabase-url", upstream, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "127.0.0.1:0", "--policy", policy.to_str().unwrap(), "--identity", "header:x-caller"])
        .args(["--audit-db", directory.join("audit.db").to_str().unwrap()])
        .env("MBGRPC_METABASE_API_KEY", "mb_emulator_admin_key")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..400 {
        if let Ok(channel) = Channel::from_shared(endpoint.clone()).unwrap().connect().await {
            return (child, channel);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the gateway did not start");
}

/// Makes writes one after another for a phase and returns their latencies in milliseconds.
async fn writes(channel: Channel, label: &str) -> Vec<f64> {
    let mut collections = CollectionServiceClient::new(channel);
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < PHASE {
        let mut request = tonic::Request::new(CreateCollectionRequest {
            name: format!("{label}-{}", samples.len()),
            ..Default::default()
        });
        request.metadata_mut().insert("x-caller", "writer".parse().unwrap());
        let began = Instant::now();
        collections.create_collection(request).await.expect("the write succeeds");
        samples.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    samples
}

fn percentile(samples: &mut [f64], fraction: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 - 1.0) * fraction).round() as usize]
}

/// Sends unauthenticated calls at about `FLOOD_PER_SECOND` until `stop`; counts them.
fn flood(channel: &Channel, stop: &Arc<AtomicBool>, sent: &Arc<AtomicU64>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..FLOOD_TASKS)
        .map(|_| {
            let (channel, stop, sent) = (channel.clone(), stop.clone(), sent.clone());
            tokio::spawn(async move {
                let mut cards = CardServiceClient::new(channel);
                let mut ticks =
                    tokio::time::interval(Duration::from_secs_f64(FLOOD_TASKS as f64 / FLOOD_PER_SECOND as f64));
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                while !stop.load(Ordering::Relaxed) {
                    ticks.tick().await;
                    let _ = cards.get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await;
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = metabase_emulator::start(Default::default(), listener).await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let (mut child, channel) = start_gateway(&emulator.url(), directory.path()).await;

    let mut quiet = writes(channel.clone(), "quiet").await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flooders = flood(&channel, &stop, &sent);
    let flood_started = Instant::now();
    let mut flooded = writes(channel.clone(), "flooded").await;
    let flood_seconds = flood_started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in flooders {
        let _ = task.await;
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();

    let store = AuditStore::open(directory.path().join("audit.db")).unwrap();
    let filter = AuditFilter { rpc: Some("CardService/GetCard".into()), ..Default::default() };
    let (_, refusal_rows) = store.list(&filter, 1, 0).unwrap();
    let flood_calls = sent.load(Ordering::Relaxed);
    println!("write p50 alone:        {:.2} ms ({} writes)", percentile(&mut quiet, 0.5), quiet.len());
    println!("write p99 alone:        {:.2} ms", percentile(&mut quiet, 0.99));
    println!("write p50 during flood: {:.2} ms ({} writes)", percentile(&mut flooded, 0.5), flooded.len());
    println!("write p99 during flood: {:.2} ms", percentile(&mut flooded, 0.99));
    println!(
        "flood: {flood_calls} unauthenticated calls in {flood_seconds:.1} s ({:.0}/s)",
        flood_calls as f64 / flood_seconds
    );
    println!("audit rows for the flood: {refusal_rows} (refusals folded into summaries)");
}
