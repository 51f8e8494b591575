//! Exports (CONTRACT.md §10): 200 with attachment headers, csv/json/xlsx bodies, JSON and form
//! request bodies, the 1,048,575-row cap with no marker, and failures written into the body.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, Emulator, start};

async fn export(emulator: &Emulator, format: &str, body: Value) -> reqwest::Response {
    emulator
        .http
        .post(format!("{}/api/dataset/{format}", emulator.handle.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn native(sql: &str) -> Value {
    json!({"database": 1, "type": "native", "native": {"query": sql}})
}

#[tokio::test]
async fn a_csv_export_is_an_attachment_with_a_header_row() {
    let emulator = start().await;
    let response =
        export(&emulator, "csv", json!({"query": native("SELECT ID, TITLE FROM PRODUCTS ORDER BY ID LIMIT 2")})).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"query_result_") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], "ID,TITLE");
    assert!(lines[1].starts_with("1,"));
}

#[tokio::test]
async fn a_json_export_is_a_bare_array_keyed_by_display_name_and_format_rows_makes_strings() {
    let emulator = start().await;
    let query = json!({"database": 1, "type": "query", "query": {"source-table": 2, "fields": [["field", 10, null], ["field", 15, null]], "order-by": [["asc", ["field", 10, null]]], "limit": 2}});
    let raw = export(&emulator, "json", json!({"query": query})).await.text().await.unwrap();
    assert!(raw.starts_with("[\n{") && raw.ends_with("}\n]"), "{raw}");
    let rows: Value = serde_json::from_str(&raw).unwrap();
    assert!(rows[0]["ID"].is_i64() && rows[0]["Total"].is_f64(), "{rows}");
    let formatted: Value =
        export(&emulator, "json", json!({"query": query, "format_rows": true})).await.json().await.unwrap();
    assert!(formatted[0]["ID"].is_string() && formatted[0]["Total"].is_string(), "{formatted}");
    let empty =
        export(&emulator, "json", json!({"query": native("SELECT 1 AS X WHERE 1 = 0")})).await.text().await.unwrap();
    assert_eq!(empty, "[\n\n]");
}

#[tokio::test]
async fn duplicate_titles_collapse_in_a_json_export_but_stay_apart_in_csv() {
    let emulator = start().await;
    let sql = "SELECT 1 AS A, 2 AS A";
    let json_rows: Value = export(&emulator, "json", json!({"query": native(sql)})).await.json().await.unwrap();
    assert_eq!(json_rows, json!([{"A": 2}]), "array-map semantics: first position, last value");
    let csv = export(&emulator, "csv", json!({"query": native(sql)})).await.text().await.unwrap();
    assert_eq!(csv, "A,A\n1,2\n");
}

#[tokio::test]
async fn an_export_accepts_a_form_body_with_the_query_as_json() {
    let emulator = start().await;
    let query = native("SELECT COUNT(*) AS N FROM PRODUCTS").to_string();
    let response = emulator
        .http
        .post(format!("{}/api/dataset/csv", emulator.handle.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .form(&[("query", query.as_str()), ("format_rows", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.unwrap(), "N\n200\n");
}

#[tokio::test]
async fn a_card_export_names_the_file_after_the_card() {
    let emulator = start().await;
    let response = emulator
        .http
        .post(format!("{}/api/card/4/query/xlsx", emulator.handle.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .form(&[("parameters", "[]"), ("format_rows", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("filename=\"top_rated_products_"));
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a valid xlsx zip");
    let mut sheet = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
    assert_eq!(sheet.matches("<row>").count(), 11, "a header row and ten data rows");
}

#[tokio::test]
async fn an_export_of_the_big_table_stops_at_exactly_1048575_rows_with_no_marker() {
    let emulator = start().await;
    let response = export(&emulator, "csv", json!({"query": native("SELECT ID FROM EVENTS ORDER BY ID")})).await;
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ID"));
    let mut count = 0u64;
    let mut last = "";
    for line in lines {
        count += 1;
        last = line;
    }
    assert_eq!(count, 1_048_575);
    assert_eq!(last, "1048575", "the file simply ends at the cap");
}

#[tokio::test]
async fn a_failure_after_rows_began_writes_metabases_error_object_into_the_200_body() {
    let emulator = start().await;
    emulator.handle.faults().fail_queries_after_rows(Some(3));
    let response = export(&emulator, "csv", json!({"query": native("SELECT ID FROM PRODUCTS ORDER BY ID")})).await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let (rows, error) = text.split_at(text.find('{').expect("an error object follows the rows"));
    assert_eq!(rows, "ID\n1\n2\n3\n");
    let error: Value = serde_json::from_str(error).unwrap();
    assert_eq!(error["status"], "failed");
    assert!(error.get("json_query").is_none(), "exports leave json_query out");
}

#[tokio::test]
async fn a_client_that_goes_away_stops_the_query_within_a_second() {
    let emulator = start().await;
    let mut response = export(&emulator, "csv", json!({"query": native("SELECT * FROM EVENTS")})).await;
    let first = response.chunk().await.unwrap().expect("rows begin");
    assert!(!first.is_empty());
    let cancelled = emulator.handle.observations().cancelled.notified();
    drop(response);
    tokio::time::timeout(Duration::from_secs(1), cancelled)
        .await
        .expect("the emulator saw the client leave within one second");
}
