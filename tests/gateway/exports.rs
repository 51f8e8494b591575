//! ExportCard and ExportQuery: Metabase's bytes unchanged, with the content type and file name
//! on the first chunk, and failures as error statuses; under a row limit (the caller's or the
//! policy's `max_rows`), csv and json cut to exactly that many rows and still well-formed, xlsx
//! limited in the query or refused.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use metabase_grpc::audit::{AuditFilter, AuditStore};
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::export_query_request::Query;
use metabase_grpc::pb::v1::{ExportCardRequest, ExportChunk, ExportFormat, ExportQueryRequest, NativeQuery};
use tonic::Code;

use crate::policed::{Policed, from, policed};
use crate::support::{ADMIN_KEY, Stack, error_info, start, structure};

async fn bytes(mut stream: tonic::Streaming<ExportChunk>) -> Result<(String, String, Vec<u8>), tonic::Status> {
    let mut data = Vec::new();
    let first = stream.message().await?.expect("a first chunk");
    let (content_type, filename) = (first.content_type.clone(), first.filename.clone());
    data.extend_from_slice(&first.data);
    while let Some(chunk) = stream.message().await? {
        assert!(chunk.content_type.is_empty() && chunk.filename.is_empty(), "only the first chunk names the file");
        data.extend_from_slice(&chunk.data);
    }
    Ok((content_type, filename, data))
}

fn export_query(sql: &str, format: ExportFormat) -> ExportQueryRequest {
    ExportQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: sql.into(), template_tags: None })),
        format: format as i32,
        format_rows: false,
        parameters: None,
        max_rows: 0,
    }
}

async fn direct(stack: &Stack, path: &str, form: &[(&str, &str)]) -> Vec<u8> {
    reqwest::Client::new()
        .post(format!("{}{path}", stack.emulator.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .form(form)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_card_export_passes_metabases_bytes_through_unchanged() {
    let stack = start().await;
    for (format, path) in [(ExportFormat::Csv, "csv"), (ExportFormat::Json, "json")] {
        let request = ExportCardRequest { card_id: 4, format: format as i32, ..Default::default() };
        let (content_type, filename, data) =
            bytes(stack.cards().export_card(request).await.unwrap().into_inner()).await.unwrap();
        let expected =
            direct(&stack, &format!("/api/card/4/query/{path}"), &[("parameters", "[]"), ("format_rows", "false")])
                .await;
        assert_eq!(data, expected, "{path}: byte for byte");
        assert!(filename.starts_with("top_rated_products_") && filename.ends_with(&format!(".{path}")), "{filename}");
        assert!(!content_type.is_empty());
    }
    let xlsx = ExportCardRequest { card_id: 4, format: ExportFormat::Xlsx as i32, ..Default::default() };
    let (content_type, _, data) = bytes(stack.cards().export_card(xlsx).await.unwrap().into_inner()).await.unwrap();
    assert_eq!(content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(zip::ZipArchive::new(std::io::Cursor::new(data)).is_ok(), "a valid workbook");
}

#[tokio::test]
async fn a_large_query_export_streams_every_row() {
    let stack = start().await;
    let stream = DatasetServiceClient::new(stack.channel.clone())
        .export_query(export_query("SELECT ID FROM EVENTS", ExportFormat::Csv))
        .await
        .unwrap()
        .into_inner();
    let (content_type, filename, data) = bytes(stream).await.unwrap();
    assert_eq!(content_type, "text/csv");
    assert!(filename.starts_with("query_result_"));
    assert_eq!(data.iter().filter(|byte| **byte == b'\n').count(), 1_048_576, "header and 1,048,575 rows");
}

#[tokio::test]
async fn an_export_failure_ends_the_call_with_an_error() {
    let stack = start().await;
    let status = bytes(
        DatasetServiceClient::new(stack.channel.clone())
            .export_query(export_query("SELECT * FROM NOPE", ExportFormat::Json))
            .await
            .unwrap()
            .into_inner(),
    )
    .await
    .expect_err("an error");
    assert_eq!(status.code(), Code::InvalidArgument);
    stack.emulator.faults().fail_queries_after_rows(Some(100));
    for format in [ExportFormat::Csv, ExportFormat::Json] {
        let outcome = bytes(
            DatasetServiceClient::new(stack.channel.clone())
                .export_query(export_query("SELECT ID FROM EVENTS", format))
                .await
                .unwrap()
                .into_inner(),
        )
        .await;
        let status = outcome.expect_err("a mid-export failure is an error, not a file");
        assert_eq!(status.code(), Code::Internal, "{format:?}");
    }
}

const LIMITED: &str = r#"
version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: "limited-analyst"
    grants: { cards: read, datasets: full }
    max_rows: 10
  - match: "analyst"
    grants: { cards: read, datasets: full }
"#;

/// An ad-hoc MBQL query over every row of EVENTS (1,100,000; Metabase exports 1,048,575).
fn all_events(format: ExportFormat, max_rows: i64) -> ExportQueryRequest {
    let events = serde_json::json!({"type": "query", "query": {"source-table": 5}});
    ExportQueryRequest {
        database_id: 1,
        query: Some(Query::Mbql(structure(events).unwrap())),
        format: format as i32,
        max_rows,
        ..Default::default()
    }
}

async fn export_query_as(
    stack: &Policed,
    principal: &str,
    request: ExportQueryRequest,
) -> Result<Vec<u8>, tonic::Status> {
    let stream = DatasetServiceClient::new(stack.channel.clone()).export_query(from(principal, request)).await?;
    Ok(bytes(stream.into_inner()).await?.2)
}

async fn export_card_as(
    stack: &Policed,
    principal: &str,
    request: ExportCardRequest,
) -> Result<Vec<u8>, tonic::Status> {
    let stream = CardServiceClient::new(stack.channel.clone()).export_card(from(principal, request)).await?;
    Ok(bytes(stream.into_inner()).await?.2)
}

/// Parses RFC 4180 csv strictly (every record terminated, quotes balanced) and returns the records.
fn parse_csv(body: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(body).expect("utf-8 csv");
    assert!(text.ends_with('\n'), "the last record is terminated");
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut characters) = (false, text.chars().peekable());
    while let Some(character) = characters.next() {
        match (quoted, character) {
            (true, '"') if characters.peek() == Some(&'"') => {
                characters.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, other) => field.push(other),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if characters.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, other) => field.push(other),
        }
    }
    assert!(!quoted && field.is_empty() && record.is_empty(), "no unterminated record");
    records
}

/// Asserts a csv export holds the EVENTS header and exactly `rows` data rows, ids 1 to `rows`.
fn assert_csv_rows(body: &[u8], rows: usize, what: &str) {
    let records = parse_csv(body);
    assert_eq!(records.len(), rows + 1, "{what}: the header and {rows} rows");
    assert_eq!(records[0][0], "ID", "{what}: the header");
    assert!(records.iter().all(|record| record.len() == 7), "{what}: every record has 7 fields");
    let ids: Vec<String> = records[1..].iter().map(|record| record[0].clone()).collect();
    assert_eq!(ids, (1..=rows).map(|id| id.to_string()).collect::<Vec<_>>(), "{what}");
}

#[tokio::test]
async fn a_principal_limited_to_10_rows_exports_exactly_10_rows_as_csv_json_and_card_csv() {
    let stack = policed(LIMITED, None).await;
    let csv = export_query_as(&stack, "limited-analyst", all_events(ExportFormat::Csv, 0)).await.unwrap();
    assert_csv_rows(&csv, 10, "csv query export");
    let observed = Instant::now();
    while stack.emulator.observations().cancelled_queries.load(Ordering::SeqCst) == 0 {
        assert!(observed.elapsed() < Duration::from_secs(1), "the gateway stopped reading after the cut");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let asked_for_more = export_query_as(&stack, "limited-analyst", all_events(ExportFormat::Csv, 500)).await.unwrap();
    assert_eq!(asked_for_more, csv, "a caller's larger max_rows does not lift the policy's");

    let json = export_query_as(&stack, "limited-analyst", all_events(ExportFormat::Json, 0)).await.unwrap();
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&json).expect("a well-formed json array of objects");
    assert_eq!(rows.len(), 10);
    let ids: Vec<i64> = rows.iter().map(|row| row["ID"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=10).collect::<Vec<_>>());
    assert!(json.ends_with(b"}\n]"), "closed as Metabase closes the array");

    let card = ExportCardRequest { card_id: 7, format: ExportFormat::Csv as i32, ..Default::default() };
    let card_csv = export_card_as(&stack, "limited-analyst", card).await.unwrap();
    assert_csv_rows(&card_csv, 10, "csv card export");
}

#[tokio::test]
async fn a_callers_max_rows_of_25_holds_without_a_policy_limit() {
    let stack = policed(LIMITED, None).await;
    let csv = export_query_as(&stack, "analyst", all_events(ExportFormat::Csv, 25)).await.unwrap();
    assert_csv_rows(&csv, 25, "csv query export");
    let json = export_query_as(&stack, "analyst", all_events(ExportFormat::Json, 25)).await.unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&json).expect("a json array");
    assert_eq!(rows.len(), 25);
    let card = ExportCardRequest { card_id: 4, format: ExportFormat::Json as i32, max_rows: 25, ..Default::default() };
    let whole: Vec<serde_json::Value> =
        serde_json::from_slice(&export_card_as(&stack, "analyst", card).await.unwrap()).unwrap();
    assert_eq!(whole.len(), 10, "a limit above the result's rows changes nothing");
    let negative = export_query_as(&stack, "analyst", all_events(ExportFormat::Csv, -1)).await.unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn xlsx_under_a_limit_is_limited_in_an_mbql_query_and_refused_for_native_sql_and_cards() {
    let stack = policed(LIMITED, None).await;
    let workbook = export_query_as(&stack, "limited-analyst", all_events(ExportFormat::Xlsx, 0)).await.unwrap();
    assert!(workbook.starts_with(b"PK"), "a zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(workbook)).expect("a valid workbook");
    let mut sheet = String::new();
    archive.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
    assert_eq!(sheet.matches("<row>").count(), 11, "the header and 10 rows");

    let native = ExportQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: "SELECT * FROM EVENTS".into(), template_tags: None })),
        format: ExportFormat::Xlsx as i32,
        ..Default::default()
    };
    let refused = export_query_as(&stack, "limited-analyst", native.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        "xlsx exports cannot be cut at a row limit of 10; export csv or json, or run the query"
    );
    assert_eq!(error_info(&refused).0, "EXPORT_NOT_LIMITABLE");
    let card = ExportCardRequest { card_id: 7, format: ExportFormat::Xlsx as i32, ..Default::default() };
    let card_refused = export_card_as(&stack, "limited-analyst", card).await.unwrap_err();
    assert_eq!(card_refused.code(), Code::FailedPrecondition);
    let unlimited = ExportQueryRequest {
        query: Some(Query::Native(NativeQuery { query: "SELECT 1 AS A".into(), template_tags: None })),
        ..native
    };
    assert!(export_query_as(&stack, "analyst", unlimited).await.unwrap().starts_with(b"PK"), "no limit, no refusal");
}

#[tokio::test]
async fn the_audit_event_of_a_cut_csv_export_records_the_rows_sent() {
    let stack = policed(LIMITED, None).await;
    let sent = export_query_as(&stack, "limited-analyst", all_events(ExportFormat::Csv, 0)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let event = loop {
        let store = AuditStore::open(&stack.audit_path).expect("the audit database opens");
        let events = store.list(&AuditFilter::default(), 100, 0).expect("events list").0;
        if let Some(event) = events.into_iter().find(|event| event.rpc.ends_with("DatasetService/ExportQuery")) {
            break event;
        }
        assert!(Instant::now() < deadline, "the export was not audited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((event.rows, event.grpc_code.as_str()), (Some(10), "OK"));
    assert_eq!(event.parameters.as_ref().map(|parameters| parameters["max_rows"].clone()), Some(serde_json::json!(0)));
    let bytes = metabase_grpc::audit::thousands(sent.len() as i64);
    assert!(event.sentence.contains(&format!(", 10 rows, {bytes} bytes, ")), "{}", event.sentence);
}
