//! One audit event per call, with a sentence a person can read; credentials and row data never
//! stored.

use std::time::{Duration, Instant};

use metabase_grpc::audit::{AuditFilter, AuditStore, Decision};
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::{GetCardRequest, RunCardRequest};
use tonic::Code;

use crate::policed::{from, policed};
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
