//! RunCard and RunQuery through the gateway: exact row counts on both sides of Metabase's caps,
//! typed values, duplicate titles, failures, cancellation and deadlines.

use std::time::Duration;

use metabase_emulator::faults::Fault;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::value::Kind;
use metabase_grpc::pb::v1::{
    LimitCause, NativeQuery, ResultHeader, ResultSource, ResultSummary, RunCardRequest, RunQueryRequest,
};
use metabase_grpc::streaming::wire::{Chunk, QueryResultChunk};
use tonic::Code;

use crate::support::{Stack, error_info, start, structure, unhurried};

/// Everything a stream delivered; rows are kept only up to `keep` (counts are always exact).
pub struct Collected {
    pub header: ResultHeader,
    pub rows: Vec<Vec<Kind>>,
    pub row_count: u64,
    pub summary: ResultSummary,
}

pub async fn collect(mut stream: tonic::Streaming<QueryResultChunk>, keep: usize) -> Result<Collected, tonic::Status> {
    let mut header = None;
    let mut rows = Vec::new();
    let mut row_count = 0u64;
    while let Some(chunk) = stream.message().await? {
        match chunk.chunk.expect("a chunk") {
            Chunk::Header(value) => {
                assert!(header.is_none() && row_count == 0, "exactly one header, first");
                header = Some(value);
            }
            Chunk::Rows(batch) => {
                assert!(header.is_some(), "rows after the header");
                row_count += batch.rows.len() as u64;
                for row in batch.rows {
                    if rows.len() < keep {
                        rows.push(row.values.into_iter().map(|value| value.kind.expect("typed")).collect());
                    }
                }
            }
            Chunk::Summary(summary) => {
                assert!(stream.message().await?.is_none(), "the summary is last");
                return Ok(Collected { header: header.expect("a header"), rows, row_count, summary });
            }
            Chunk::EncodedRows(_) => unreachable!("clients decode rows"),
        }
    }
    panic!("the stream ended without a summary")
}

fn native(sql: &str, max_rows: i64) -> RunQueryRequest {
    RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: sql.into(), template_tags: None })),
        parameters: None,
        max_rows,
    }
}

async fn run(stack: &Stack, request: RunQueryRequest, keep: usize) -> Result<Collected, tonic::Status> {
    let stream = DatasetServiceClient::new(stack.channel.clone()).run_query(request).await?.into_inner();
    collect(stream, keep).await
}

fn cause(summary: &ResultSummary) -> LimitCause {
    LimitCause::try_from(summary.limit_cause).unwrap()
}

#[tokio::test]
async fn row_counts_are_exact_on_both_sides_of_metabases_caps() {
    let stack = start().await;
    for rows in [0u64, 1, 1_999, 2_000, 2_001, 10_000, 1_048_575] {
        let result =
            run(&stack, native(&format!("SELECT ID FROM EVENTS WHERE ID <= {rows} ORDER BY ID"), 0), 1).await.unwrap();
        assert_eq!(result.row_count, rows, "{rows} rows");
        assert_eq!(result.summary.row_count as u64, rows);
        assert_eq!(ResultSource::try_from(result.summary.source).unwrap(), ResultSource::Export);
        let expected = if rows == 1_048_575 { LimitCause::MetabaseExportLimit } else { LimitCause::None };
        assert_eq!(
            (result.summary.limit_reached, cause(&result.summary)),
            (rows == 1_048_575, expected),
            "{rows} rows"
        );
    }
}

#[tokio::test]
async fn a_source_larger_than_the_export_cap_reports_the_export_limit() {
    let stack = start().await;
    let result = run(&stack, native("SELECT * FROM EVENTS", 0), 2).await.unwrap();
    assert_eq!(result.row_count, 1_048_575);
    assert!(result.summary.limit_reached);
    assert_eq!(cause(&result.summary), LimitCause::MetabaseExportLimit);
    let names: Vec<&str> = result.header.columns.iter().map(|column| column.name.as_str()).collect();
    assert_eq!(names, vec!["ID", "USER_ID", "EVENT_TYPE", "AMOUNT", "IS_MOBILE", "TRACE_NUMBER", "OCCURRED_AT"]);
    assert_eq!(result.header.columns[5].base_type, "type/BigInteger");
    let first = &result.rows[0];
    assert_eq!(first[0], Kind::IntValue(1));
    assert!(matches!(first[3], Kind::DoubleValue(_)));
    assert!(matches!(first[4], Kind::BoolValue(_)));
    assert_eq!(first[5], Kind::IntValue(9_007_199_254_740_993), "an integer above 2^53 arrives intact from the export");
    assert!(matches!(&first[6], Kind::StringValue(text) if text.starts_with("2022-04-30T")));
}

#[tokio::test]
async fn max_rows_is_honoured_on_the_json_route_and_on_the_export_route() {
    let stack = start().await;
    let small = run(&stack, native("SELECT ID, TRACE_NUMBER FROM EVENTS ORDER BY ID", 5), 10).await.unwrap();
    assert_eq!(small.row_count, 5);
    assert_eq!(ResultSource::try_from(small.summary.source).unwrap(), ResultSource::JsonQuery);
    assert_eq!((small.summary.limit_reached, cause(&small.summary)), (true, LimitCause::CallerMaxRows));
    assert_eq!(
        small.rows[4][1],
        Kind::IntValue(9_007_199_254_740_997),
        "the JSON route's large-integer strings become integers"
    );
    assert_eq!(small.header.columns[1].base_type, "type/BigInteger");

    let exactly_cap = run(&stack, native("SELECT ID FROM ORDERS", 2000), 0).await.unwrap();
    assert_eq!((exactly_cap.row_count, cause(&exactly_cap.summary)), (2000, LimitCause::CallerMaxRows));

    let large = run(&stack, native("SELECT ID FROM EVENTS", 50_000), 0).await.unwrap();
    assert_eq!(large.row_count, 50_000);
    assert_eq!(ResultSource::try_from(large.summary.source).unwrap(), ResultSource::Export);
    assert_eq!(cause(&large.summary), LimitCause::CallerMaxRows);

    let fewer = run(&stack, native("SELECT ID FROM PRODUCTS", 50_000), 0).await.unwrap();
    assert_eq!((fewer.row_count, fewer.summary.limit_reached), (200, false));
}

#[tokio::test]
async fn a_saved_question_streams_past_the_2000_row_json_cap() {
    let stack = start().await;
    let mut cards = stack.cards();
    let all_orders = collect(
        cards.run_card(RunCardRequest { card_id: 1, parameters: None, max_rows: 0 }).await.unwrap().into_inner(),
        1,
    )
    .await
    .unwrap();
    assert_eq!(all_orders.row_count, 18_760, "every order, not the 2,000 Metabase's JSON route returns");
    assert!(!all_orders.summary.limit_reached);
    assert_eq!(all_orders.header.columns[5].display_name, "Total");
    let events = collect(
        cards.run_card(RunCardRequest { card_id: 7, parameters: None, max_rows: 0 }).await.unwrap().into_inner(),
        0,
    )
    .await
    .unwrap();
    assert_eq!((events.row_count, cause(&events.summary)), (1_048_575, LimitCause::MetabaseExportLimit));
    let few = collect(
        cards.run_card(RunCardRequest { card_id: 1, parameters: None, max_rows: 3 }).await.unwrap().into_inner(),
        5,
    )
    .await
    .unwrap();
    assert_eq!((few.row_count, few.rows.len()), (3, 3));
}

#[tokio::test]
async fn columns_with_the_same_display_name_stay_distinct() {
    let stack = start().await;
    for max_rows in [0, 10] {
        let result = run(&stack, native("SELECT 1 AS A, 2 AS A", max_rows), 1).await.unwrap();
        assert_eq!(result.header.columns.len(), 2, "max_rows {max_rows}");
        assert_eq!(result.header.columns[0].display_name, result.header.columns[1].display_name);
        assert_ne!(result.header.columns[0].name, result.header.columns[1].name);
        assert_eq!(result.rows[0], vec![Kind::IntValue(1), Kind::IntValue(2)], "max_rows {max_rows}");
    }
}

#[tokio::test]
async fn a_failed_query_ends_the_call_with_a_status_from_its_error_type() {
    let stack = start().await;
    for max_rows in [0, 100] {
        let status = run(&stack, native("SELECT * FROM NO_SUCH_TABLE", max_rows), 0).await.err().expect("an error");
        assert_eq!(status.code(), Code::InvalidArgument, "max_rows {max_rows}: {status:?}");
        assert!(status.message().contains("no such table"), "{}", status.message());
        let (reason, metadata) = error_info(&status);
        assert_eq!((reason.as_str(), metadata["error_type"].as_str()), ("QUERY_FAILED", "invalid-query"));
    }
    let missing_parameter = RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery {
            query: "SELECT * FROM PRODUCTS WHERE CATEGORY = {{category}}".into(),
            template_tags: structure(
                serde_json::json!({"category": {"type": "text", "name": "category", "display-name": "Category"}}),
            ),
        })),
        parameters: None,
        max_rows: 10,
    };
    let status = run(&stack, missing_parameter, 0).await.err().expect("an error");
    assert_eq!(
        (status.code(), error_info(&status).1["error_type"].as_str()),
        (Code::InvalidArgument, "missing-required-parameter")
    );
}

#[tokio::test]
async fn a_failure_after_rows_began_ends_the_call_with_an_error_not_rows() {
    let stack = start().await;
    stack.emulator.faults().fail_queries_after_rows(Some(5_000));
    let status = run(&stack, native("SELECT ID FROM EVENTS", 0), 0).await.err().expect("the call ends with an error");
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(error_info(&status).1["error_type"], "db");
    assert!(status.message().contains("Emulated failure after 5000 rows"), "{}", status.message());
}

#[tokio::test]
async fn a_cancelled_stream_closes_the_upstream_connection_within_a_second() {
    let stack = start().await;
    let mut stream = DatasetServiceClient::new(stack.channel.clone())
        .run_query(native("SELECT * FROM EVENTS", 0))
        .await
        .unwrap()
        .into_inner();
    let mut received = 0;
    while received < 3 {
        stream.message().await.unwrap().expect("chunks flow");
        received += 1;
    }
    let cancelled = stack.emulator.observations().cancelled.notified();
    drop(stream);
    tokio::time::timeout(Duration::from_secs(1), cancelled)
        .await
        .expect("the emulator saw its client leave within one second");
}

#[tokio::test]
async fn a_streams_lifetime_is_bounded_by_the_callers_deadline() {
    let stack = start().await;
    stack.emulator.faults().add(Fault::on("POST", "/api/dataset/{format}").latency(Duration::from_secs(5)));
    let mut request = tonic::Request::new(native("SELECT ID FROM EVENTS", 0));
    request.set_timeout(Duration::from_millis(700));
    let started = std::time::Instant::now();
    let (transport, origin) = unhurried(&stack.gateway.endpoint());
    let outcome = match DatasetServiceClient::with_origin(transport, origin).run_query(request).await {
        Ok(response) => collect(response.into_inner(), 0).await.err(),
        Err(status) => Some(status),
    };
    let status = outcome.expect("the deadline ends the call");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_stream() {
    let stack = start().await;
    let status =
        DatasetServiceClient::new(stack.channel.clone()).run_query(native("SELECT 1", -1)).await.err().unwrap();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("max_rows"));
    let status = DatasetServiceClient::new(stack.channel.clone())
        .run_query(RunQueryRequest { database_id: 1, query: None, parameters: None, max_rows: 0 })
        .await
        .err()
        .unwrap();
    assert_eq!(status.code(), Code::InvalidArgument);
    let missing = stack
        .cards()
        .run_card(RunCardRequest { card_id: 424242, parameters: None, max_rows: 0 })
        .await
        .expect_err("a missing card fails before any stream");
    assert_eq!(missing.code(), Code::NotFound);
}
