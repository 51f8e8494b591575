//! Arrow Flight through the gateway, with arrow-flight's own client: typed schemas and batches,
//! exact row counts past Metabase's caps, the summary in the last message's app metadata, and
//! the same policy as RunCard and RunQuery (grants, narrowing, the query inspector, max_rows),
//! which a forged ticket cannot get around.

use std::sync::atomic::Ordering;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_flight::decode::DecodedPayload;
use arrow_flight::error::FlightError;
use arrow_flight::{Action, FlightClient, FlightDescriptor, Ticket};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use futures::TryStreamExt;
use metabase_emulator::sample_data::FIRST_TRACE_NUMBER;
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Channel;

use crate::policed::{CALLER, Policed, policed};
use crate::support::start;

/// `card-reader` runs saved questions in collection 2; `mbql-reader` runs MBQL only; `sql` runs
/// native SQL; `capped` runs native SQL with at most 2,500 rows; `dashboards` has neither grant.
const POLICY: &str = r#"version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: card-reader
    grants: { cards: read }
    collections: [2]
  - match: mbql-reader
    grants: { datasets: read }
  - match: sql
    grants: { datasets: full }
  - match: capped
    grants: { datasets: full }
    max_rows: 2500
  - match: dashboards
    grants: { dashboards: full }
"#;

/// Everything a DoGet delivered: the rows are counted, the first batch kept.
struct Fetched {
    schema: SchemaRef,
    first: Option<arrow_array::RecordBatch>,
    rows: usize,
    summary: Value,
}

fn status(error: FlightError) -> tonic::Status {
    match error {
        FlightError::Tonic(status) => *status,
        other => panic!("expected a status, got {other}"),
    }
}

fn client(channel: &Channel, caller: Option<&str>) -> FlightClient {
    let mut client = FlightClient::new(channel.clone());
    if let Some(caller) = caller {
        client.add_header(CALLER, caller).expect("ascii caller");
    }
    client
}

fn command(value: Value) -> FlightDescriptor {
    FlightDescriptor::new_cmd(value.to_string())
}

fn ticket(value: Value) -> Ticket {
    Ticket::new(value.to_string())
}

fn native(sql: &str) -> Value {
    json!({"database_id": 1, "native": sql})
}

async fn fetch(client: &mut FlightClient, ticket: Ticket) -> Result<Fetched, tonic::Status> {
    let mut decoder = client.do_get(ticket).await.map_err(status)?.into_inner();
    let (mut schema, mut first, mut rows, mut summary) = (None, None, 0, Value::Null);
    while let Some(message) = decoder.try_next().await.map_err(status)? {
        assert!(summary.is_null(), "the summary is the last message");
        match message.payload {
            DecodedPayload::Schema(found) => schema = Some(found),
            DecodedPayload::RecordBatch(batch) => {
                rows += batch.num_rows();
                if !message.inner.app_metadata.is_empty() {
                    assert_eq!(batch.num_rows(), 0, "the summary rides an empty batch");
                    summary = serde_json::from_slice(&message.inner.app_metadata).expect("json summary");
                } else if first.is_none() {
                    first = Some(batch);
                }
            }
            DecodedPayload::None => panic!("every message carries a schema or a batch"),
        }
    }
    Ok(Fetched { schema: schema.expect("a schema first"), first, rows, summary })
}

fn field_types(schema: &Schema) -> Vec<(String, DataType)> {
    schema.fields().iter().map(|field| (field.name().clone(), field.data_type().clone())).collect()
}

#[tokio::test]
async fn a_query_arrives_as_typed_batches_with_metabases_column_metadata() {
    let stack = start().await;
    let mut flight = client(&stack.channel, None);
    let descriptor = command(native("SELECT * FROM EVENTS WHERE ID <= 2500 ORDER BY ID"));

    let info = flight.get_flight_info(descriptor.clone()).await.map_err(status).unwrap();
    let schema = info.clone().try_decode_schema().unwrap();
    let fetched = fetch(&mut flight, info.endpoint[0].ticket.clone().unwrap()).await.unwrap();

    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(
        field_types(&schema),
        vec![
            ("ID".into(), DataType::Int64),
            ("USER_ID".into(), DataType::Int64),
            ("EVENT_TYPE".into(), DataType::Utf8),
            ("AMOUNT".into(), DataType::Float64),
            ("IS_MOBILE".into(), DataType::Boolean),
            ("TRACE_NUMBER".into(), DataType::Int64),
            ("OCCURRED_AT".into(), utc),
        ]
    );
    let trace = schema.field(5).metadata();
    assert_eq!(
        (trace["metabase.base_type"].as_str(), trace["metabase.name"].as_str()),
        ("type/BigInteger", "TRACE_NUMBER")
    );
    assert_eq!(field_types(&fetched.schema), field_types(&schema), "DoGet's schema is GetFlightInfo's");
    assert_eq!(flight.get_schema(descriptor).await.map_err(status).unwrap(), schema, "and GetSchema's");

    assert_eq!(fetched.rows, 2500, "past the 2,000-row JSON cap");
    let first = fetched.first.unwrap();
    assert_eq!(first.column(0).as_primitive::<Int64Type>().value(0), 1);
    assert_eq!(first.column(5).as_primitive::<Int64Type>().value(0), FIRST_TRACE_NUMBER, "exact above 2^53");
    assert!(first.column(3).as_primitive::<Float64Type>().value(0) >= 0.0);
    // 2022-04-30T00:00:00Z plus one step of the sample's history, read as an instant.
    assert_eq!(first.column(6).as_primitive::<TimestampMicrosecondType>().value(0), 1_651_276_914_000_000);
    assert_eq!(
        fetched.summary,
        json!({"row_count": 2500, "limit_reached": false, "limit_cause": "LIMIT_CAUSE_NONE",
               "source": "RESULT_SOURCE_EXPORT", "running_time_ms": fetched.summary["running_time_ms"],
               "mistyped_values": 0})
    );
}

#[tokio::test]
async fn row_counts_are_exact_on_both_sides_of_metabases_caps() {
    let stack = start().await;
    let mut flight = client(&stack.channel, None);
    for (value, rows, cause) in [
        (json!({"card_id": 7, "max_rows": 2000}), 2_000, "LIMIT_CAUSE_CALLER_MAX_ROWS"),
        (native("SELECT ID FROM EVENTS WHERE ID <= 2001"), 2_001, "LIMIT_CAUSE_NONE"),
        (json!({"card_id": 7}), 1_048_575, "LIMIT_CAUSE_METABASE_EXPORT_LIMIT"),
    ] {
        let fetched = fetch(&mut flight, ticket(value.clone())).await.unwrap();
        assert_eq!(fetched.rows, rows, "{value}");
        assert_eq!(fetched.summary["row_count"], rows, "{value}");
        assert_eq!(fetched.summary["limit_cause"], cause, "{value}");
        assert_eq!(fetched.summary["limit_reached"], cause != "LIMIT_CAUSE_NONE", "{value}");
    }
}

#[tokio::test]
async fn a_descriptor_outside_the_callers_grants_is_denied() {
    let stack = policed(POLICY, None).await;
    let denied = [
        ("card-reader", json!({"card_id": 7}), "collection 1 is outside its collections"),
        ("card-reader", json!({"database_id": 1, "mbql": {"type": "query", "query": {"source-table": 2}}}), "datasets"),
        ("mbql-reader", json!({"card_id": 1}), "a saved question needs cards: read"),
        ("dashboards", json!({"card_id": 1}), "needs cards: read for a saved question or datasets: read"),
    ];
    for (caller, value, reason) in denied {
        let mut flight = client(&stack.channel, Some(caller));
        let error = status(flight.get_flight_info(command(value.clone())).await.unwrap_err());
        assert_eq!(error.code(), Code::PermissionDenied, "{caller} {value}: {}", error.message());
        assert!(error.message().contains(reason), "{caller} {value}: {}", error.message());
        let fetched = fetch(&mut flight, ticket(value.clone())).await.err().expect("DoGet is denied too");
        assert_eq!(fetched.code(), Code::PermissionDenied, "{caller} {value}");
    }
    let mut reader = client(&stack.channel, Some("card-reader"));
    assert_eq!(fetch(&mut reader, ticket(json!({"card_id": 1, "max_rows": 3}))).await.unwrap().rows, 3);
}

fn native_count(stack: &Policed) -> u64 {
    stack.emulator.observations().native_queries.load(Ordering::SeqCst)
}

#[tokio::test]
async fn native_sql_through_flight_needs_datasets_full() {
    let stack = policed(POLICY, None).await;
    let mut mbql_reader = client(&stack.channel, Some("mbql-reader"));
    let wrapped = json!({"database_id": 1, "mbql": {"type": "native", "native": {"query": "SELECT * FROM PEOPLE"}}});
    for value in [native("SELECT EMAIL FROM PEOPLE"), wrapped] {
        let info = status(mbql_reader.get_flight_info(command(value.clone())).await.unwrap_err());
        let schema = status(mbql_reader.get_schema(command(value.clone())).await.unwrap_err());
        let rows = fetch(&mut mbql_reader, ticket(value.clone())).await.err().expect("denied");
        for error in [info, schema, rows] {
            assert_eq!(error.code(), Code::PermissionDenied, "{value}: {}", error.message());
            assert!(error.message().contains("native SQL needs datasets: full"), "{}", error.message());
        }
    }
    assert_eq!(native_count(&stack), 0, "no native query reached Metabase");

    let mbql = json!({"database_id": 1, "mbql": {"type": "query", "query": {"source-table": 2, "limit": 5}}});
    assert_eq!(fetch(&mut mbql_reader, ticket(mbql)).await.unwrap().rows, 5);
    let mut sql = client(&stack.channel, Some("sql"));
    assert_eq!(fetch(&mut sql, ticket(native("SELECT ID FROM EVENTS WHERE ID <= 7"))).await.unwrap().rows, 7);

    let ran = audit_sentences(&stack, "sql ran").await;
    assert!(
        ran.iter().any(|text| text.starts_with("sql ran native SQL on database 1 through Flight: allowed, 7 rows")),
        "{ran:?}"
    );
}

/// Returns the sentences of the audit trail that start with `prefix`, waiting up to 5 s for one.
async fn audit_sentences(stack: &Policed, prefix: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let store = metabase_grpc::audit::AuditStore::open(&stack.audit_path).expect("the audit database opens");
        let filter = metabase_grpc::audit::AuditFilter::default();
        let (events, _) = store.list(&filter, 1000, 0).expect("events list");
        let found: Vec<String> =
            events.into_iter().map(|event| event.sentence).filter(|text| text.starts_with(prefix)).collect();
        if !found.is_empty() || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_policys_max_rows_holds_through_flight() {
    let stack = policed(POLICY, None).await;
    let mut capped = client(&stack.channel, Some("capped"));
    for (max_rows, rows, cause) in [
        (0, 2_500, "LIMIT_CAUSE_POLICY_MAX_ROWS"),
        (10_000, 2_500, "LIMIT_CAUSE_POLICY_MAX_ROWS"),
        (10, 10, "LIMIT_CAUSE_CALLER_MAX_ROWS"),
    ] {
        let value = json!({"database_id": 1, "native": "SELECT ID FROM EVENTS", "max_rows": max_rows});
        let fetched = fetch(&mut capped, ticket(value)).await.unwrap();
        assert_eq!((fetched.rows, fetched.summary["limit_cause"].as_str()), (rows, Some(cause)), "max_rows {max_rows}");
    }
}

#[tokio::test]
async fn a_forged_ticket_cannot_bypass_the_policy() {
    let stack = policed(POLICY, None).await;
    let mut reader = client(&stack.channel, Some("card-reader"));
    let info = reader.get_flight_info(command(json!({"card_id": 1}))).await.map_err(status).unwrap();
    let issued = info.endpoint[0].ticket.clone().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&issued.ticket).unwrap(), json!({"card_id": 1}));

    let forged = [json!({"card_id": 7}), native("SELECT EMAIL, PASSWORD FROM PEOPLE"), json!({"card_id": 8, "x": 1})];
    for value in forged {
        let error = fetch(&mut reader, ticket(value.clone())).await.err().expect("refused");
        assert!(matches!(error.code(), Code::PermissionDenied | Code::InvalidArgument), "{value}: {error:?}");
    }
    let mut mbql_reader = client(&stack.channel, Some("mbql-reader"));
    let error = fetch(&mut mbql_reader, ticket(native("SELECT 1"))).await.err().expect("refused");
    assert_eq!(error.code(), Code::PermissionDenied);
    assert_eq!(native_count(&stack), 0, "no native query reached Metabase");
}

#[tokio::test]
async fn list_flights_lists_only_the_saved_questions_the_caller_may_run() {
    let stack = policed(POLICY, None).await;
    let mut reader = client(&stack.channel, Some("card-reader"));
    let flights: Vec<_> = reader
        .list_flights(Vec::<u8>::new())
        .await
        .map_err(status)
        .unwrap()
        .try_collect()
        .await
        .map_err(status)
        .unwrap();
    let mut listed: Vec<i64> = flights
        .iter()
        .map(|info| {
            let descriptor = info.flight_descriptor.as_ref().unwrap();
            assert_eq!(info.endpoint[0].ticket.as_ref().unwrap().ticket, descriptor.cmd, "the ticket is the command");
            serde_json::from_slice::<Value>(&descriptor.cmd).unwrap()["card_id"].as_i64().unwrap()
        })
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, vec![1, 2, 8], "the cards of collection 2 and below");
    let orders = flights.iter().find(|info| info.app_metadata.starts_with(b"{\"card_id\":1,")).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&orders.app_metadata).unwrap()["name"], "Orders");

    let mut sql = client(&stack.channel, Some("sql"));
    let error = status(sql.list_flights(Vec::<u8>::new()).await.err().expect("needs cards: read"));
    assert_eq!(error.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn malformed_commands_are_invalid_arguments_that_name_the_problem() {
    let stack = start().await;
    let mut flight = client(&stack.channel, None);
    for (bytes, expected) in [
        (b"SELECT 1".to_vec(), "not a JSON object"),
        (br#"{"card_id": 1, "format": "csv"}"#.to_vec(), "unknown field `format`"),
        (br#"{"database_id": 1}"#.to_vec(), "needs native (SQL text) or mbql"),
        (br#"{"card_id": 1, "max_rows": -1}"#.to_vec(), "max_rows must not be negative"),
    ] {
        let error = status(flight.get_flight_info(FlightDescriptor::new_cmd(bytes.clone())).await.unwrap_err());
        assert_eq!(error.code(), Code::InvalidArgument, "{}", String::from_utf8_lossy(&bytes));
        assert!(error.message().contains(expected), "{}", error.message());
    }
    let path = status(flight.get_schema(FlightDescriptor::new_path(vec!["EVENTS".into()])).await.unwrap_err());
    assert_eq!(path.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn other_flight_methods_are_unimplemented_and_every_method_needs_an_identity() {
    let stack = policed(POLICY, None).await;
    let mut reader = client(&stack.channel, Some("card-reader"));
    let action = status(reader.do_action(Action::new("drop", "")).await.err().expect("unimplemented"));
    assert_eq!(action.code(), Code::Unimplemented);
    assert!(action.message().contains("DoAction is not served"), "{}", action.message());
    let actions = status(reader.list_actions().await.err().expect("unimplemented"));
    assert_eq!(actions.code(), Code::Unimplemented);

    let mut stranger = client(&stack.channel, None);
    let error = fetch(&mut stranger, ticket(json!({"card_id": 1}))).await.err().expect("unidentified");
    assert_eq!(error.code(), Code::Unauthenticated);
}
