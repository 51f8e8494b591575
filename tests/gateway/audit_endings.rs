//! Every ending of a call leaves exactly one audit event with the right outcome and row count:
//! a write cancelled by its caller, a write past its deadline, a write whose caller vanished after
//! Metabase applied it, a million-row stream cancelled part way, a stream cancelled after it fell
//! back from the JSON route to the export route, a stream cut by the shutdown, and an unidentified
//! caller.

use std::time::{Duration, Instant};

use metabase_emulator::faults::Fault;
use metabase_grpc::audit::{AuditEvent, AuditFilter, AuditStore};
use metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::*;
use metabase_grpc::streaming::wire::{Chunk, QueryResultChunk};
use tonic::Code;

use crate::policed::{Policed, from, policed, policed_with};
use crate::support::unhurried;

const POLICY: &str = r#"version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: platform-admin
    grants: { "*": full }
"#;

/// Returns the events of one RPC once there are `count` of them (or after 5 s).
async fn events_of(stack: &Policed, rpc: &str, count: usize) -> Vec<AuditEvent> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let store = AuditStore::open(&stack.audit_path).expect("the audit database opens");
        let filter = AuditFilter { rpc: Some(rpc.into()), ..Default::default() };
        let found = store.list(&filter, 1000, 0).expect("events list").0;
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn create(name: &str) -> tonic::Request<CreateCollectionRequest> {
    from("platform-admin", CreateCollectionRequest { name: name.into(), ..Default::default() })
}

fn collections_named(stack: &Policed, name: &str) -> usize {
    stack.emulator.state().collections.values().filter(|collection| collection.name == name).count()
}

#[tokio::test]
async fn a_write_cancelled_by_its_caller_leaves_one_event() {
    let stack = policed(POLICY, None).await;
    stack.emulator.faults().add(Fault::on("POST", "/api/collection").latency(Duration::from_millis(800)));
    let mut collections = CollectionServiceClient::new(stack.channel.clone());

    let gave_up =
        tokio::time::timeout(Duration::from_millis(200), collections.create_collection(create("Never"))).await;
    assert!(gave_up.is_err(), "the caller stops waiting and drops the call");

    let events = events_of(&stack, "CollectionService/CreateCollection", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = events_of(&stack, "CollectionService/CreateCollection", 2).await;
    assert_eq!(settled.len(), 1, "one event, the intent completed in place: {settled:#?}");
    assert_eq!(events[0].id, settled[0].id);
    assert_eq!(settled[0].grpc_code, "CANCELLED");
    assert!(settled[0].sentence.contains("which may have applied it"), "{}", settled[0].sentence);
}

#[tokio::test]
async fn a_write_past_its_deadline_and_one_whose_caller_vanished_after_metabase_applied_it_are_in_the_trail() {
    let stack = policed(POLICY, None).await;
    let (transport, origin) = unhurried(&stack.gateway.endpoint());
    let mut collections = CollectionServiceClient::with_origin(transport, origin);
    stack.emulator.faults().add(Fault::on("POST", "/api/collection").answer_after(Duration::from_millis(800)).times(1));

    let mut request = create("Applied late");
    request.set_timeout(Duration::from_millis(300));
    let status = collections.create_collection(request).await.unwrap_err();

    assert_eq!(status.code(), Code::DeadlineExceeded);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(collections_named(&stack, "Applied late"), 1, "Metabase applied the change");
    let events = events_of(&stack, "CollectionService/CreateCollection", 1).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].grpc_code, "DEADLINE_EXCEEDED");
    assert!(
        events[0].sentence.starts_with("platform-admin created a collection: allowed, failed with DEADLINE_EXCEEDED"),
        "{}",
        events[0].sentence
    );
    assert!(events[0].sentence.ends_with("the change was sent to Metabase, which may have applied it"));
}

fn events_query() -> RunQueryRequest {
    RunQueryRequest {
        database_id: 1,
        query: Some(run_query_request::Query::Native(NativeQuery {
            query: "SELECT * FROM EVENTS ORDER BY ID".into(),
            template_tags: None,
        })),
        parameters: None,
        max_rows: 0,
    }
}

/// Reads a RunQuery stream until `rows` rows arrived, then returns the stream still open.
async fn read_rows(stack: &Policed, rows: usize) -> tonic::Streaming<QueryResultChunk> {
    let mut stream = DatasetServiceClient::new(stack.channel.clone())
        .run_query(from("platform-admin", events_query()))
        .await
        .unwrap()
        .into_inner();
    let mut seen = 0;
    while seen < rows {
        let chunk = stream.message().await.unwrap().expect("more chunks");
        if let Some(Chunk::Rows(batch)) = chunk.chunk {
            seen += batch.rows.len();
        }
    }
    stream
}

#[tokio::test]
async fn a_cancelled_million_row_stream_records_the_rows_it_sent() {
    let stack = policed(POLICY, None).await;
    let stream = read_rows(&stack, 50_000).await;
    drop(stream);

    let events = events_of(&stack, "DatasetService/RunQuery", 1).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].grpc_code, "CANCELLED");
    let rows = events[0].rows.expect("rows sent so far");
    assert!((50_000..1_000_000).contains(&rows), "{rows} rows recorded");
}

#[tokio::test]
async fn a_stream_cut_by_the_shutdown_records_unavailable_with_its_rows() {
    let stack = policed(POLICY, None).await;
    let _stream = read_rows(&stack, 10_000).await;

    let Policed { gateway, audit_path, emulator, directory, .. } = stack;
    gateway.shutdown().await.unwrap();

    let store = AuditStore::open(&audit_path).unwrap();
    let filter = AuditFilter { rpc: Some("DatasetService/RunQuery".into()), ..Default::default() };
    let events = store.list(&filter, 10, 0).unwrap().0;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].grpc_code, "UNAVAILABLE", "{}", events[0].sentence);
    assert!(events[0].rows.is_some_and(|rows| rows >= 10_000), "{:?}", events[0].rows);
    drop((emulator, directory));
}

#[tokio::test]
async fn an_unidentified_call_leaves_one_event() {
    let stack = policed(POLICY, None).await;
    let status = CollectionServiceClient::new(stack.channel.clone())
        .create_collection(CreateCollectionRequest { name: "Anonymous".into(), ..Default::default() })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
    let events = events_of(&stack, "CollectionService/CreateCollection", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].principal.as_str(), events[0].grpc_code.as_str()),
        ("an unidentified caller", "UNAUTHENTICATED")
    );
    assert_eq!(collections_named(&stack, "Anonymous"), 0);
}

#[tokio::test]
async fn a_peer_over_its_rate_is_refused_before_identification_and_the_flood_folds() {
    let stack = policed_with(POLICY, |config| config.peer_rate = Some("3/m".parse().expect("a rate"))).await;
    let mut collections = CollectionServiceClient::new(stack.channel.clone());
    let mut codes = Vec::new();
    for _ in 0..20 {
        let anonymous = GetCollectionRequest { collection: crate::support::collection(2) };
        codes.push(collections.get_collection(anonymous).await.unwrap_err().code());
    }

    assert_eq!(&codes[..3], &[Code::Unauthenticated; 3]);
    assert!(codes[3..].iter().all(|code| *code == Code::ResourceExhausted), "{codes:?}");
    // The first refusal is written at once; the other nineteen fold into one summary when the
    // five-second window closes.
    let deadline = Instant::now() + Duration::from_secs(15);
    let events = loop {
        let events = events_of(&stack, "CollectionService/GetCollection", 2).await;
        if events.len() >= 2 || Instant::now() > deadline {
            break events;
        }
    };
    assert_eq!(events.len(), 2, "{events:#?}");
    assert!(events.iter().all(|event| event.principal == "an unidentified caller"));
    let summary = events.iter().find(|event| event.sentence.contains("was refused")).expect("a summary");
    assert!(
        summary.sentence.starts_with("an unidentified caller from 127.0.0.1 was refused 19 more times between"),
        "{}",
        summary.sentence
    );
    assert!(summary.sentence.ends_with("is over the per-peer rate of 3/m"), "{}", summary.sentence);
}

/// 100 rows of 400 KB: a 40 MB answer. `max_rows` 100 sends it to the JSON route, which cannot
/// hold it, so the gateway drops that answer and streams the same rows from the export route.
fn too_wide_for_the_json_route() -> RunQueryRequest {
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
               SELECT i AS ID, hex(zeroblob(200000)) AS WIDE FROM n";
    RunQueryRequest {
        database_id: 1,
        query: Some(run_query_request::Query::Native(NativeQuery { query: sql.into(), template_tags: None })),
        parameters: None,
        max_rows: 100,
    }
}

#[tokio::test]
async fn a_stream_cancelled_after_falling_back_to_the_export_route_frees_metabase_and_records_its_rows() {
    let stack = policed(POLICY, None).await;
    let mut stream = DatasetServiceClient::new(stack.channel.clone())
        .max_decoding_message_size(4 * 1024 * 1024)
        .run_query(from("platform-admin", too_wide_for_the_json_route()))
        .await
        .unwrap()
        .into_inner();
    let mut seen = 0;
    while seen == 0 {
        if let Some(Chunk::Rows(batch)) = stream.message().await.unwrap().expect("rows from the export route").chunk {
            seen += batch.rows.len();
        }
    }
    let routes: Vec<String> =
        stack.emulator.observations().requests.lock().unwrap().iter().map(|r| r.uri.clone()).collect();
    assert!(routes.iter().any(|uri| uri == "/api/dataset"), "the JSON route was tried first: {routes:?}");
    assert!(routes.iter().any(|uri| uri.starts_with("/api/dataset/csv")), "then the export route: {routes:?}");
    let stopped = || stack.emulator.observations().cancelled_queries.load(std::sync::atomic::Ordering::SeqCst);
    // The dropped JSON answer may or may not have counted as a cancelled query (Metabase may have
    // written all of it into the socket's buffers first); let that settle, then count from here.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = stopped();

    drop(stream);

    let deadline = Instant::now() + Duration::from_secs(1);
    while stopped() == before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stopped(), before + 1, "the export stopped within a second of the cancel");
    let events = events_of(&stack, "DatasetService/RunQuery", 1).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].grpc_code, "CANCELLED", "{}", events[0].sentence);
    let rows = events[0].rows.expect("the rows sent before the cancel");
    assert!((1..100).contains(&rows), "{rows} rows recorded, {seen} seen");
}
