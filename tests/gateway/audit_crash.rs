//! The audit trail survives `kill -9` under mixed load: every write that was answered, and every
//! write whose intent was recorded, is in the trail after the crash; only best-effort events (reads,
//! refusals) still queued at the kill may be lost, and the test reports how many.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metabase_emulator::EmulatorHandle;
use metabase_grpc::audit::{AuditEvent, AuditFilter, AuditStore, Decision};
use metabase_grpc::middleware::OUTCOME_UNKNOWN;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient;
use metabase_grpc::pb::v1::{CreateCollectionRequest, GetCardRequest};
use tokio::sync::Mutex;
use tonic::transport::Channel;

use crate::policed::{CALLER, environment, from};
use crate::support::ADMIN_KEY;

const POLICY: &str = r#"
version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: "platform-admin"
    grants: { "*": full }
  - match: "reader"
    grants: { cards: read }
"#;

/// A gateway process of the real binary, with its emulator, policy and audit database.
struct Process {
    child: Child,
    channel: Channel,
    audit: std::path::PathBuf,
    emulator: EmulatorHandle,
    _directory: tempfile::TempDir,
}

async fn spawn_gateway() -> Process {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = metabase_emulator::start(Default::default(), listener).await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let policy = directory.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let audit = directory.path().join("audit.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args(["serve", "--metabase-url", &emulator.url(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "127.0.0.1:0", "--policy", policy.to_str().unwrap()])
        .args(["--identity", &format!("header:{CALLER}"), "--audit-db", audit.to_str().unwrap()])
        .env("MBGRPC_METABASE_API_KEY", ADMIN_KEY)
        .envs(environment())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let channel = loop {
        if let Ok(channel) = Channel::from_shared(endpoint.clone()).unwrap().connect().await {
            break channel;
        }
        assert!(Instant::now() < deadline, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Process { child, channel, audit, emulator, _directory: directory }
}

fn events(path: &std::path::Path) -> Vec<AuditEvent> {
    let store = AuditStore::open(path).expect("the audit database opens");
    store.list(&AuditFilter::default(), 1_000_000, 0).expect("events list").0
}

fn kill_9(child: &mut Child) {
    Command::new("kill").args(["-9", &child.id().to_string()]).status().unwrap();
    let _ = child.wait();
}

#[tokio::test]
async fn an_answered_writes_event_survives_kill_9() {
    let mut process = spawn_gateway().await;
    let created = CollectionServiceClient::new(process.channel.clone())
        .create_collection(from(
            "platform-admin",
            CreateCollectionRequest { name: "Survives a crash".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    kill_9(&mut process.child);
    let found = events(&process.audit);
    let event = found
        .iter()
        .find(|event| event.rpc.ends_with("CollectionService/CreateCollection"))
        .expect("the answered write's event survived kill -9");
    assert_eq!((event.decision, event.grpc_code.as_str()), (Decision::Allowed, "OK"));
    assert!(event.sentence.starts_with("platform-admin created a collection"), "{}", event.sentence);
    assert!(created.id > 0);
}

#[tokio::test]
async fn under_mixed_load_kill_9_loses_no_answered_write_and_no_write_intent() {
    let mut process = spawn_gateway().await;
    let stop = Arc::new(AtomicBool::new(false));
    let answered_writes = Arc::new(Mutex::new(Vec::new()));
    let answered_reads = Arc::new(AtomicU64::new(0));
    let refusals = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (channel, stop, answered) = (process.channel.clone(), stop.clone(), answered_writes.clone());
        tasks.push(tokio::spawn(async move {
            let mut collections = CollectionServiceClient::new(channel);
            for index in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let name = format!("load-{worker}-{index}");
                let request = CreateCollectionRequest { name: name.clone(), ..Default::default() };
                if let Ok(created) = collections.create_collection(from("platform-admin", request)).await {
                    answered.lock().await.push(created.into_inner().id);
                }
            }
        }));
    }
    for _ in 0..4 {
        let (channel, stop, reads, refused) =
            (process.channel.clone(), stop.clone(), answered_reads.clone(), refusals.clone());
        tasks.push(tokio::spawn(async move {
            let mut cards = CardServiceClient::new(channel);
            while !stop.load(Ordering::SeqCst) {
                if cards.get_card(from("reader", GetCardRequest { card_id: 1, legacy_mbql: false })).await.is_ok() {
                    reads.fetch_add(1, Ordering::SeqCst);
                }
                let anonymous = GetCardRequest { card_id: 1, legacy_mbql: false };
                if cards.get_card(anonymous).await.is_err() {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kill_9(&mut process.child);
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        let _ = task.await;
    }

    let trail = events(&process.audit);
    let writes: Vec<&AuditEvent> =
        trail.iter().filter(|event| event.rpc.ends_with("CollectionService/CreateCollection")).collect();
    let recorded: HashSet<i64> = writes.iter().filter_map(|event| event.resources.get("collection").copied()).collect();
    let answered = answered_writes.lock().await.clone();
    let missing: Vec<&i64> = answered.iter().filter(|id| !recorded.contains(id)).collect();
    assert!(!answered.is_empty(), "the load made writes");
    assert!(missing.is_empty(), "answered writes missing from the trail after kill -9: {missing:?}");
    let created_in_metabase =
        process.emulator.state().collections.values().filter(|c| c.name.starts_with("load-")).count();
    assert!(
        writes.len() >= created_in_metabase,
        "every change Metabase applied has its intent or outcome: {} events for {created_in_metabase} collections",
        writes.len()
    );
    let unknown = writes.iter().filter(|event| event.grpc_code == OUTCOME_UNKNOWN).count();
    let reads_recorded =
        trail.iter().filter(|event| event.rpc.ends_with("CardService/GetCard") && event.grpc_code == "OK").count();
    let reads = answered_reads.load(Ordering::SeqCst) as usize;
    println!(
        "kill -9 under load: {} answered writes, all in the trail; {} writes with outcome unknown; \
         {reads} answered reads, {reads_recorded} recorded, {} best-effort events lost; {} refusals",
        answered.len(),
        unknown,
        reads.saturating_sub(reads_recorded),
        refusals.load(Ordering::SeqCst),
    );
}
