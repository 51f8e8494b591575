//! Every query a caller supplies is inspected as a whole, written as the attacks that got
//! through before: native SQL wrapped in the `mbql` field, queries reading forbidden saved
//! questions, saved queries that need more than the caller's datasets grant, and keys the
//! inspector does not understand. The emulator counts every native query it receives, so each
//! test also proves nothing native reached Metabase.

use std::sync::atomic::Ordering;

use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::*;
use serde_json::{Value, json};
use tonic::Code;

use crate::policed::{Policed, from, policed};
use crate::support::{collection, structure};

/// `mbql-reader` may run MBQL only; `sql` may run native SQL; `sales-reader` runs MBQL narrowed
/// to collection 2; `card-writer` saves cards but may run only MBQL; `card-only` saves cards
/// without any datasets grant.
const POLICY: &str = r#"version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: mbql-reader
    grants: { datasets: read }
  - match: sql
    grants: { datasets: full }
  - match: sales-reader
    grants: { datasets: read, cards: read }
    collections: [2]
  - match: card-writer
    grants: { cards: full, datasets: read }
    collections: [2]
  - match: card-only
    grants: { cards: full }
"#;

/// Native SQL in every wrapper the `mbql` field can carry.
pub fn native_wrappers() -> Vec<(&'static str, Value)> {
    let sql = "SELECT EMAIL, PASSWORD FROM PEOPLE";
    vec![
        ("legacy native type", json!({"type": "native", "native": {"query": sql}})),
        ("upper-case keyword", json!({"type": "NATIVE", "native": {"query": sql}})),
        ("clojure keyword", json!({"type": ":native", "native": {"query": sql}})),
        (
            "mbql 5 native stage",
            json!({"lib/type": "mbql/query", "stages": [{"lib/type": "mbql.stage/native", "native": sql}]}),
        ),
        (
            "mbql 5 native stage under an mbql stage",
            json!({"lib/type": "mbql/query", "stages": [{"lib/type": "mbql.stage/native", "native": sql}, {"lib/type": "mbql.stage/mbql", "limit": 1}]}),
        ),
        ("legacy native source query", json!({"type": "query", "query": {"source-query": {"native": sql}}})),
        (
            "native source query two levels down",
            json!({"type": "query", "query": {"source-query": {"source-query": {"native": sql}, "limit": 5}}}),
        ),
        (
            "join on a native source query",
            json!({"type": "query", "query": {"source-table": 2, "joins": [{"source-query": {"native": sql}, "alias": "x", "condition": ["=", 1, 1]}]}}),
        ),
        ("snake case keys", json!({"type": "query", "query": {"source_query": {"native": sql}}})),
    ]
}

fn mbql_request(query: Value, max_rows: i64) -> RunQueryRequest {
    RunQueryRequest {
        database_id: 1,
        query: Some(run_query_request::Query::Mbql(structure(query).expect("an object"))),
        parameters: None,
        max_rows,
    }
}

fn export_request(query: Value) -> ExportQueryRequest {
    ExportQueryRequest {
        database_id: 1,
        query: Some(export_query_request::Query::Mbql(structure(query).expect("an object"))),
        format: ExportFormat::Csv as i32,
        ..Default::default()
    }
}

fn native_count(stack: &Policed) -> u64 {
    stack.emulator.observations().native_queries.load(Ordering::SeqCst)
}

/// Runs a query to its end, returning the first error status.
async fn run(stack: &Policed, principal: &str, request: RunQueryRequest) -> Result<(), tonic::Status> {
    let mut stream =
        DatasetServiceClient::new(stack.channel.clone()).run_query(from(principal, request)).await?.into_inner();
    while stream.message().await?.is_some() {}
    Ok(())
}

async fn export(stack: &Policed, principal: &str, request: ExportQueryRequest) -> Result<(), tonic::Status> {
    let mut stream =
        DatasetServiceClient::new(stack.channel.clone()).export_query(from(principal, request)).await?.into_inner();
    while stream.message().await?.is_some() {}
    Ok(())
}

#[tokio::test]
async fn native_sql_wrapped_in_the_mbql_field_needs_datasets_full_on_run_and_export() {
    let stack = policed(POLICY, None).await;

    for (shape, query) in native_wrappers() {
        let ran = run(&stack, "mbql-reader", mbql_request(query.clone(), 1)).await.unwrap_err();
        let exported = export(&stack, "mbql-reader", export_request(query.clone())).await.unwrap_err();
        assert_eq!(ran.code(), Code::PermissionDenied, "{shape}: {}", ran.message());
        assert_eq!(exported.code(), Code::PermissionDenied, "{shape}: {}", exported.message());
        assert!(ran.message().contains("native SQL needs datasets: full"), "{shape}: {}", ran.message());
        assert!(!ran.message().contains("PASSWORD"), "no SQL in messages: {}", ran.message());
    }
    assert_eq!(native_count(&stack), 0, "no native query reached Metabase");

    let plain = json!({"type": "native", "native": {"query": "SELECT 1 AS ONE"}});
    run(&stack, "sql", mbql_request(plain, 1)).await.expect("datasets: full may run native SQL in any shape");
    assert_eq!(native_count(&stack), 1);

    let sentences = audit_sentences(&stack, 2 * native_wrappers().len() + 1).await;
    assert!(
        sentences
            .iter()
            .any(|sentence| sentence.starts_with("mbql-reader tried to run native SQL on database 1: denied")),
        "{sentences:#?}"
    );
    assert!(
        sentences.iter().any(|sentence| sentence.starts_with("sql ran native SQL on database 1: allowed, 1 row")),
        "{sentences:#?}"
    );
}

/// Returns the sentences of the audit trail once it holds at least `count` events.
async fn audit_sentences(stack: &Policed, count: usize) -> Vec<String> {
    use metabase_grpc::audit::{AuditFilter, AuditStore};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let store = AuditStore::open(&stack.audit_path).expect("the audit database opens");
        let events = store.list(&AuditFilter::default(), 1000, 0).expect("events list").0;
        if events.len() >= count || std::time::Instant::now() > deadline {
            return events.into_iter().map(|event| event.sentence).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_query_reading_a_saved_question_the_caller_may_not_read_is_denied_before_it_is_sent() {
    let stack = policed(POLICY, None).await;
    let before = stack.emulator.observations().requests.lock().unwrap().len();
    // Card 9 lives in Finance (4), outside collection 2; card 1 lives in Sales (2).
    let attacks = [
        ("legacy source card", json!({"type": "query", "query": {"source-table": "card__9"}})),
        (
            "mbql 5 source card",
            json!({"lib/type": "mbql/query", "stages": [{"lib/type": "mbql.stage/mbql", "source-card": 9}]}),
        ),
        (
            "join on a card",
            json!({"type": "query", "query": {"source-table": "card__1", "joins": [{"source-table": "card__9", "alias": "f", "condition": ["=", 1, 1]}]}}),
        ),
        ("metric clause", json!({"type": "query", "query": {"source-table": 2, "aggregation": [["metric", 9]]}})),
    ];

    for (shape, query) in attacks {
        let denied = run(&stack, "sales-reader", mbql_request(query, 10)).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{shape}: {}", denied.message());
        assert!(denied.message().contains("collection 4 is outside its collections"), "{shape}: {}", denied.message());
    }
    assert_eq!(dataset_requests(&stack, before), 0, "nothing was sent to /api/dataset");

    // The emulator cannot run a card source; what matters is that the gateway let it through.
    let allowed =
        run(&stack, "sales-reader", mbql_request(json!({"type": "query", "query": {"source-table": "card__1"}}), 10))
            .await;
    assert!(!matches!(&allowed, Err(status) if status.code() == Code::PermissionDenied), "{allowed:?}");
    assert_eq!(dataset_requests(&stack, before), 1, "a card in its collections may be a source");
}

fn dataset_requests(stack: &Policed, since: usize) -> usize {
    let requests = stack.emulator.observations().requests.lock().unwrap();
    requests[since..].iter().filter(|request| request.uri.starts_with("/api/dataset")).count()
}

#[tokio::test]
async fn a_query_the_inspector_cannot_classify_is_invalid_argument_naming_the_key() {
    let stack = policed(POLICY, None).await;
    let cases = [
        (json!({"type": "query", "query": {"source-table": 2}, "info": {"card-id": 9}}), "\"info\""),
        (json!({"type": "query", "query": {"source-table": 2, "sneaky": {"native": "SELECT 1"}}}), "\"sneaky\""),
        (json!({"query": {"source-table": 2}}), "type"),
        (json!({"type": "query", "query": {"source-table": 2, "filter": ["=", {"native": "SELECT 1"}, 1]}}), "native"),
    ];

    for (query, named) in cases {
        let status = run(&stack, "sql", mbql_request(query.clone(), 1)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{query}: {}", status.message());
        assert!(status.message().contains(named), "{query}: {}", status.message());
    }
    assert_eq!(native_count(&stack), 0);
}

fn create_card(query: Value) -> CreateCardRequest {
    CreateCardRequest {
        name: "Smuggled".into(),
        display: "table".into(),
        dataset_query: structure(query),
        visualization_settings: structure(json!({})),
        collection_id: collection(2),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_saved_query_needs_the_grant_of_running_it_ad_hoc() {
    let stack = policed(POLICY, None).await;
    let mut cards = CardServiceClient::new(stack.channel.clone());
    let native = json!({"database": 1, "type": "query", "query": {"source-query": {"native": "SELECT * FROM PEOPLE"}}});
    let mbql = json!({"database": 1, "type": "query", "query": {"source-table": 2}});

    let smuggled = cards.create_card(from("card-writer", create_card(native.clone()))).await.unwrap_err();
    let without_datasets = cards.create_card(from("card-only", create_card(mbql.clone()))).await.unwrap_err();
    let created = cards.create_card(from("card-writer", create_card(mbql))).await.unwrap().into_inner();
    let changed = cards
        .update_card(from(
            "card-writer",
            UpdateCardRequest { card_id: created.id, dataset_query: structure(native), ..Default::default() },
        ))
        .await
        .unwrap_err();
    let into_marketing = cards
        .update_card(from(
            "card-writer",
            UpdateCardRequest { card_id: created.id, dashboard_id: Some(2), ..Default::default() },
        ))
        .await
        .unwrap_err();

    assert_eq!(smuggled.code(), Code::PermissionDenied, "{}", smuggled.message());
    assert!(smuggled.message().contains("native SQL needs datasets: full"), "{}", smuggled.message());
    assert_eq!(without_datasets.code(), Code::PermissionDenied);
    assert!(
        without_datasets.message().contains("an MBQL query needs datasets: read"),
        "{}",
        without_datasets.message()
    );
    assert_eq!(changed.code(), Code::PermissionDenied, "{}", changed.message());
    assert_eq!(
        into_marketing.code(),
        Code::PermissionDenied,
        "dashboard 2 is in collection 3: {}",
        into_marketing.message()
    );
    assert_eq!(native_count(&stack), 0, "no native query was saved");
}
