//! One audit event per call, with a sentence a person can read; credentials and row data never
//! stored; an answered write's event survives `kill -9`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use metabase_grpc::audit::{AuditFilter, AuditStore, Decision};
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient;
use metabase_grpc::pb::v1::{CreateCollectionRequest, GetCardRequest, RunCardRequest};
use tonic::Code;

use crate::policed::{CALLER, environment, from, policed};
use crate::support::ADMIN_KEY;

const POLICY: &str = r#"
version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: "orders-api"
    grants: { cards: read }
    collections: [2]
  - match: "platform-admin"
    grants: { "*": full }
"#;

fn events(path: &std::path::Path) -> Vec<metabase_grpc::audit::AuditEvent> {
    let store = AuditStore::open(path).expect("the audit database opens");
    store.list(&AuditFilter::default(), 1000, 0).expect("events list").0
}

async fn wait_for(path: &std::path::Path, count: usize) -> Vec<metabase_grpc::audit::AuditEvent> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = events(path);
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_call_leaves_one_event_with_decision_sentence_and_trace_id() {
    let stack = policed(POLICY, None).await;
    let mut cards = CardServiceClient::new(stack.channel.clone());
    let mut traced = from("orders-api", GetCardRequest { card_id: 1, legacy_mbql: false });
    traced
        .metadata_mut()
        .insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
    cards.get_card(traced).await.unwrap();
    assert_eq!(
        cards.get_card(from("orders-api", GetCardRequest { card_id: 9, legacy_mbql: false })).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let mut stream = cards
        .run_card(from("orders-api", RunCardRequest { card_id: 1, parameters: None, max_rows: 25 }))
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}
    assert_eq!(
        cards
            .get_card(tonic::Request::new(GetCardRequest { card_id: 1, legacy_mbql: false }))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    let found = wait_for(&stack.audit_path, 4).await;
    assert_eq!(
        found.len(),
        4,
        "one event per call: {:#?}",
        found.iter().map(|event| &event.sentence).collect::<Vec<_>>()
    );
    let by_sentence = |needle: &str| {
        found.iter().find(|event| event.sentence.contains(needle)).unwrap_or_else(|| panic!("no event says {needle:?}"))
    };
    let read = by_sentence("read saved question 1");
    assert_eq!((read.decision, read.trace_id.as_str()), (Decision::Allowed, "4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(read.resources.get("collection"), Some(&2));
    assert!(
        read.sentence.starts_with("orders-api read saved question 1 in collection 2: allowed"),
        "{}",
        read.sentence
    );
    let denied = by_sentence("saved question 9");
    assert_eq!(denied.decision, Decision::Denied);
    assert!(
        denied.sentence.contains("denied") && denied.sentence.contains("outside its collections"),
        "{}",
        denied.sentence
    );
    let ran = by_sentence("ran saved question 1");
    assert_eq!(ran.rows, Some(25));
    assert!(ran.sentence.contains("25 rows"), "{}", ran.sentence);
    let anonymous =
        found.iter().find(|event| event.grpc_code == "UNAUTHENTICATED").expect("the unidentified call is audited");
    assert_eq!(anonymous.decision, Decision::Denied);
}

#[tokio::test]
async fn a_query_calls_parameters_are_recorded_with_its_event() {
    let stack = policed(POLICY, None).await;
    let mut cards = CardServiceClient::new(stack.channel.clone());
    let mut stream = cards
        .run_card(from("platform-admin", RunCardRequest { card_id: 4, parameters: None, max_rows: 10 }))
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}

    let found = wait_for(&stack.audit_path, 1).await;
    let ran = found.iter().find(|event| event.sentence.contains("ran saved question 4")).expect("the run is audited");
    assert_eq!(ran.parameters, Some(serde_json::json!({"card_id": 4, "max_rows": 10, "parameters": []})));
}

#[tokio::test]
async fn the_audit_database_holds_no_credentials_and_no_row_data() {
    let stack = policed(POLICY, None).await;
    let mut cards = CardServiceClient::new(stack.channel.clone());
    let mut stream = cards
        .run_card(from("platform-admin", RunCardRequest { card_id: 4, parameters: None, max_rows: 10 }))
        .await
        .unwrap()
        .into_inner();
    let mut titles = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        if let Some(metabase_grpc::streaming::wire::Chunk::Rows(batch)) = chunk.chunk {
            for row in batch.rows {
                if let Some(metabase_grpc::pb::v1::value::Kind::StringValue(title)) = row.values[0].kind.clone() {
                    titles.push(title);
                }
            }
        }
    }
    assert!(!titles.is_empty());
    wait_for(&stack.audit_path, 1).await;
    let mut stored = std::fs::read(&stack.audit_path).unwrap();
    if let Ok(wal) = std::fs::read(stack.audit_path.with_extension("db-wal")) {
        stored.extend(wal);
    }
    let text = String::from_utf8_lossy(&stored);
    for secret in [ADMIN_KEY, "mb_emulator_analyst_key"] {
        assert!(!text.contains(secret), "a credential reached the audit database");
    }
    for title in &titles {
        assert!(!text.contains(title.as_str()), "row data ({title}) reached the audit database");
    }
}

#[tokio::test]
async fn an_answered_writes_event_survives_kill_9() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = metabase_grpc::emulator::start(Default::default(), listener).await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let policy = directory.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let audit = directory.path().join("audit.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args([
            "serve",
            "--metabase-url",
            &emulator.url(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--policy",
            policy.to_str().unwrap(),
            "--identity",
            &format!("header:{CALLER}"),
            "--audit-db",
            audit.to_str().unwrap(),
        ])
        .env("MBGRPC_METABASE_API_KEY", ADMIN_KEY)
        .envs(environment())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let channel = loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(endpoint.clone()).unwrap().connect().await {
            break channel;
        }
        assert!(Instant::now() < deadline, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let created = CollectionServiceClient::new(channel)
        .create_collection(from(
            "platform-admin",
            CreateCollectionRequest { name: "Survives a crash".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    Command::new("kill").args(["-9", &child.id().to_string()]).status().unwrap();
    let _ = child.wait();
    let found = events(&audit);
    let event = found
        .iter()
        .find(|event| event.rpc.ends_with("CollectionService/CreateCollection"))
        .expect("the answered write's event survived kill -9");
    assert_eq!((event.decision, event.grpc_code.as_str()), (Decision::Allowed, "OK"));
    assert!(event.sentence.starts_with("platform-admin created a collection"), "{}", event.sentence);
    assert!(created.id > 0);
}
