//! The PostgreSQL audit backend against a real, throwaway PostgreSQL server: every field round-trips,
//! an outcome replaces its intent, and filters, pages and order are SQLite's exactly.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use metabase_grpc::audit::{AuditEvent, AuditFilter, AuditStore, Decision};
use metabase_grpc::rpcs::full_path;

use crate::postgres_cluster::PostgresCluster;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + seconds, 123_456_789).single().expect("valid time")
}

fn event(principal: &str, short_rpc: &str, decision: Decision, time: DateTime<Utc>) -> AuditEvent {
    let mut event = AuditEvent::new(principal, "jwt", full_path(short_rpc), decision, "")
        .with_resource("card", 42)
        .finish("OK", Some(3), 9);
    event.time = time;
    event
}

fn everything(store: &AuditStore) -> (Vec<AuditEvent>, usize) {
    store.list(&AuditFilter::default(), 1000, 0).expect("list")
}

fn principals(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|event| event.principal.as_str()).collect()
}

#[test]
fn an_event_round_trips_through_postgres_with_every_field() {
    let cluster = PostgresCluster::start();
    let store = AuditStore::connect(&cluster.url()).expect("connect");
    assert_eq!(store.kind(), "postgres");
    let mut full =
        AuditEvent::new("orders-api", "xfcc", "/metabase.gateway.v1.CardService/RunCard", Decision::Allowed, "")
            .with_resource("card", 42)
            .with_resource("collection", 7)
            .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
            .with_parameters(serde_json::json!({
                "parameters": [{"type": "category", "value": "Widget \u{1F600} 'quoted'"}],
                "max_rows": 0,
                "ratio": 0.25
            }))
            .finish("OK", Some(1532), 84);
    full.time = at(5) + Duration::nanoseconds(987);
    let mut without_optionals =
        AuditEvent::new("", "", "/grpc.health.v1.Health/Check", Decision::Denied, "no identity").finish(
            "UNAUTHENTICATED",
            None,
            0,
        );
    // Nanoseconds past the microsecond that timestamptz keeps.
    without_optionals.time = at(0) + Duration::nanoseconds(1);
    let mut dry_run = event("agent-7", "UserService/CreateUser", Decision::DryRunDenied, at(0));
    dry_run.resources = BTreeMap::new();
    dry_run.rows = Some(i64::MAX);
    store.write_batch(&[dry_run.clone(), without_optionals.clone(), full.clone()]).expect("write");
    let (events, total) = everything(&store);
    assert_eq!(total, 3);
    assert_eq!(events, vec![full, without_optionals, dry_run]);
}

#[test]
fn an_outcome_replaces_its_intent_in_postgres_and_keeps_its_place() {
    let cluster = PostgresCluster::start();
    let store = AuditStore::connect(&cluster.url()).expect("connect");
    let intent = event("writer", "CardService/UpdateCard", Decision::Allowed, at(1));
    let later = event("reader", "CardService/GetCard", Decision::Allowed, at(1));
    store.write_batch(&[intent.clone(), later.clone()]).expect("intent");
    let mut outcome = intent.clone().finish("NOT_FOUND", None, 31);
    outcome.reason = "card 42 not found".into();
    outcome.parameters = Some(serde_json::json!({"card_id": 42}));
    store.record(&outcome).expect("outcome");
    let (events, total) = everything(&store);
    assert_eq!(total, 2, "the outcome replaced the intent rather than adding a row");
    assert_eq!(events, vec![later, outcome], "the completed event keeps the intent's place");

    let second_intent = event("writer", "CardService/DeleteCard", Decision::Allowed, at(2));
    let second_outcome = second_intent.clone().finish("INTERNAL", None, 12);
    store.write_batch(&[second_intent, second_outcome.clone()]).expect("intent and outcome in one batch");
    let (events, total) = everything(&store);
    assert_eq!(total, 3);
    assert_eq!(events[0], second_outcome);
}

/// The same events, in the same batches, for both backends: equal times, a tie, every decision.
fn shared_events() -> Vec<Vec<AuditEvent>> {
    let mut batches = vec![vec![
        event("a", "CardService/GetCard", Decision::Allowed, at(0)),
        event("b", "CardService/RunCard", Decision::Denied, at(10)),
        event("c", "CardService/GetCard", Decision::DryRunDenied, at(20)),
    ]];
    batches.push(vec![event("a", "UserService/CreateUser", Decision::Denied, at(30))]);
    let mut tied: Vec<AuditEvent> = ["tie-1", "tie-2", "tie-3"]
        .into_iter()
        .map(|principal| event(principal, "CardService/GetCard", Decision::Allowed, at(10)))
        .collect();
    tied[1].time = at(10) + Duration::nanoseconds(1);
    batches.push(tied);
    batches.push(
        (0..25)
            .map(|second| {
                event(&format!("p{second:02}"), "DatasetService/RunQuery", Decision::Allowed, at(100 + second))
            })
            .collect(),
    );
    batches
}

#[test]
fn postgres_filters_pages_and_orders_exactly_as_sqlite_does() {
    let cluster = PostgresCluster::start();
    let postgres = AuditStore::connect(&cluster.url()).expect("connect");
    let sqlite = AuditStore::open_in_memory().expect("in-memory store");
    for batch in shared_events() {
        postgres.write_batch(&batch).expect("postgres batch");
        sqlite.write_batch(&batch).expect("sqlite batch");
    }
    let filter = AuditFilter::default;
    let filters = [
        filter(),
        AuditFilter { principal: Some("a".into()), ..filter() },
        AuditFilter { principal: Some("nobody".into()), ..filter() },
        AuditFilter { rpc: Some("CardService/GetCard".into()), ..filter() },
        AuditFilter { rpc: Some("/metabase.gateway.v1.CardService/GetCard".into()), ..filter() },
        AuditFilter { decision: Some(Decision::Denied), ..filter() },
        AuditFilter { decision: Some(Decision::DryRunDenied), ..filter() },
        AuditFilter { start: Some(at(10)), end: Some(at(30)), ..filter() },
        AuditFilter { start: Some(at(10) + Duration::nanoseconds(1)), ..filter() },
        AuditFilter { end: Some(at(10) + Duration::nanoseconds(1)), ..filter() },
        AuditFilter { principal: Some("a".into()), decision: Some(Decision::Allowed), ..filter() },
    ];
    let pages = [(1000, 0), (10, 0), (10, 10), (10, 30), (3, 2), (0, 0)];
    for filter in &filters {
        for (limit, offset) in pages {
            let from_postgres = postgres.list(filter, limit, offset).expect("postgres list");
            let from_sqlite = sqlite.list(filter, limit, offset).expect("sqlite list");
            assert_eq!(from_postgres, from_sqlite, "{filter:?}, limit {limit}, offset {offset}");
        }
    }
    // What both agree on is what a user expects, not an empty answer.
    let (events, total) = postgres.list(&filter(), 7, 25).expect("list");
    assert_eq!(total, 32);
    assert_eq!(principals(&events), ["a", "c", "tie-2", "tie-3", "tie-1", "b", "a"]);
    let range = AuditFilter { start: Some(at(10) + Duration::nanoseconds(1)), end: Some(at(30)), ..filter() };
    assert_eq!(principals(&postgres.list(&range, 10, 0).expect("list").0), ["c", "tie-2"]);
}

#[test]
fn replicas_starting_together_migrate_the_schema_once() {
    let cluster = PostgresCluster::start();
    let url = cluster.url();
    let replicas: Vec<_> = (0..4)
        .map(|replica| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = AuditStore::connect(&url).expect("every replica connects");
                store.record(&event(
                    &format!("replica-{replica}"),
                    "CardService/GetCard",
                    Decision::Allowed,
                    at(replica),
                ))
            })
        })
        .collect();
    for replica in replicas {
        replica.join().expect("replica thread").expect("record");
    }
    let store = AuditStore::connect(&url).expect("connect");
    assert_eq!(principals(&everything(&store).0), ["replica-3", "replica-2", "replica-1", "replica-0"]);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("plain client");
    let versions: Vec<i32> = client
        .query("SELECT version FROM audit_schema_version ORDER BY version", &[])
        .expect("schema versions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1]);
}

#[test]
fn a_connection_the_server_dropped_is_reopened() {
    let cluster = PostgresCluster::start();
    let store = AuditStore::connect(&cluster.url()).expect("connect");
    store.record(&event("before", "CardService/GetCard", Decision::Allowed, at(1))).expect("record");
    let mut admin = postgres::Client::connect(&cluster.url(), postgres::NoTls).expect("admin client");
    let terminated: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'metabase-grpc' AND pid <> pg_backend_pid()",
            &[],
        )
        .expect("terminate the store's sessions")
        .get(0);
    assert_eq!(terminated, 2, "the store holds one session for writes and one for reads");
    store.record(&event("after", "CardService/GetCard", Decision::Allowed, at(2))).expect("record after");
    assert_eq!(principals(&everything(&store).0), ["after", "before"]);
}
