//! `POST /api/dataset` and card queries: 202 for success and failure, row caps and
//! `rows_truncated`, large integers as strings, and Metabase's key order (CONTRACT.md §8, §9).

use std::collections::HashMap;

use metabase_emulator::EmulatorConfig;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, start, start_with};

fn native(sql: &str) -> Value {
    json!({"database": 1, "type": "native", "native": {"query": sql}})
}

#[tokio::test]
async fn a_query_answers_202_with_rows_first_and_metabases_keys() {
    let emulator = start().await;
    let response = emulator
        .http
        .post(format!("{}/api/dataset", emulator.handle.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .json(&native("SELECT ID, TITLE FROM PRODUCTS ORDER BY ID LIMIT 3"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let text = response.text().await.unwrap();
    assert!(text.starts_with(r#"{"data":{"rows":[[1,"#), "rows come first: {}", &text[..60]);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], "completed");
    assert_eq!(body["row_count"], 3);
    assert_eq!(body["context"], "ad-hoc");
    assert_eq!(body["data"]["cols"][1]["name"], "TITLE");
    assert_eq!(body["data"]["cols"][1]["base_type"], "type/Text");
    assert_eq!(body["json_query"]["middleware"]["js-int-to-string?"], true);
    assert!(body["data"].get("rows_truncated").is_none(), "nothing was cut");
}

#[tokio::test]
async fn a_failed_query_is_still_202_with_status_failed_and_an_error_type() {
    let emulator = start().await;
    let (status, body) = emulator.post("/api/dataset", ADMIN_KEY, native("SELECT * FROM NO_SUCH_TABLE")).await;
    assert_eq!(status, 202);
    assert_eq!(body["status"], "failed");
    assert_eq!(body["error_type"], "invalid-query");
    assert!(body["error"].as_str().unwrap().contains("no such table"), "{body}");
    assert_eq!(body["row_count"], 0);
    assert_eq!(body["data"], json!({"rows": [], "cols": []}));

    let unsupported = json!({"database": 1, "type": "query", "query": {"source-table": 2, "aggregation": [["median", ["field", 15, null]]]}});
    let (status, body) = emulator.post("/api/dataset", ADMIN_KEY, unsupported).await;
    assert_eq!((status, body["error_type"].clone()), (202, json!("invalid-query")));
}

#[tokio::test]
async fn query_checks_that_fail_before_streaming_use_normal_codes() {
    let emulator = start().await;
    let (status, body) =
        emulator.post("/api/dataset", ADMIN_KEY, json!({"type": "native", "native": {"query": "SELECT 1"}})).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("database"), "a JSON exception map: {body}");
    let (status, body) = emulator
        .post("/api/dataset", ADMIN_KEY, json!({"database": 424242, "type": "native", "native": {"query": "SELECT 1"}}))
        .await;
    assert_eq!((status, body), (404, json!("Not found.")));
}

#[tokio::test]
async fn a_user_without_native_rights_gets_missing_required_permissions_in_a_202() {
    let emulator = start().await;
    let login = emulator
        .http
        .post(format!("{}/api/session", emulator.handle.url()))
        .json(&json!({"username": "rita@example.com", "password": "emulator-rita"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let response = emulator
        .http
        .post(format!("{}/api/dataset", emulator.handle.url()))
        .header("X-Metabase-Session", login["id"].as_str().unwrap())
        .json(&native("SELECT 1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_type"], "missing-required-permissions");
    assert_eq!(body["error"], "You do not have permissions to run this query.");
}

async fn row_count_and_truncation(emulator: &crate::support::Emulator, query: Value) -> (u64, Value) {
    let (status, body) = emulator.post("/api/dataset", ADMIN_KEY, query).await;
    assert_eq!(status, 202);
    assert_eq!(body["status"], "completed", "{}", &body.to_string()[..200.min(body.to_string().len())]);
    let rows = body["data"]["rows"].as_array().unwrap().len() as u64;
    assert_eq!(body["row_count"].as_u64(), Some(rows));
    (rows, body["data"].get("rows_truncated").cloned().unwrap_or(Value::Null))
}

#[tokio::test]
async fn rows_truncated_marks_exactly_2000_unaggregated_rows_even_when_nothing_was_cut() {
    let emulator = start().await;
    assert_eq!(row_count_and_truncation(&emulator, native("SELECT * FROM ORDERS")).await, (2000, json!(2000)));
    assert_eq!(
        row_count_and_truncation(&emulator, native("SELECT * FROM ORDERS WHERE ID <= 2000")).await,
        (2000, json!(2000))
    );
    assert_eq!(
        row_count_and_truncation(&emulator, native("SELECT * FROM ORDERS WHERE ID <= 1999")).await,
        (1999, Value::Null)
    );
    let native_aggregate = native("SELECT ID, COUNT(*) FROM ORDERS GROUP BY ID");
    assert_eq!(
        row_count_and_truncation(&emulator, native_aggregate).await,
        (2000, json!(2000)),
        "native never counts as aggregated"
    );
}

#[tokio::test]
async fn rows_truncated_marks_exactly_10000_aggregated_rows() {
    let emulator = start().await;
    let by_order = json!({"database": 1, "type": "query", "query": {"source-table": 2, "aggregation": [["count"]], "breakout": [["field", 10, null]]}});
    assert_eq!(row_count_and_truncation(&emulator, by_order).await, (10000, json!(10000)));
    let small = json!({"database": 1, "type": "query", "query": {"source-table": 3, "aggregation": [["count"]], "breakout": [["field", 28, null]]}});
    assert_eq!(row_count_and_truncation(&emulator, small).await, (5, Value::Null));
}

#[tokio::test]
async fn row_caps_follow_metabases_environment_variables() {
    let environment = HashMap::from([
        ("MB_UNAGGREGATED_QUERY_ROW_LIMIT".to_owned(), "50".to_owned()),
        ("MB_AGGREGATED_QUERY_ROW_LIMIT".to_owned(), "70".to_owned()),
    ]);
    let emulator = start_with(EmulatorConfig::default().with_environment(&environment)).await;
    assert_eq!(row_count_and_truncation(&emulator, native("SELECT * FROM PEOPLE")).await, (50, json!(50)));
    let grouped = json!({"database": 1, "type": "query", "query": {"source-table": 2, "aggregation": [["count"]], "breakout": [["field", 10, null]]}});
    assert_eq!(row_count_and_truncation(&emulator, grouped).await, (70, json!(70)));
}

#[tokio::test]
async fn integers_beyond_2_pow_53_arrive_as_strings_in_query_results() {
    let emulator = start().await;
    let (_, body) =
        emulator.post("/api/dataset", ADMIN_KEY, native("SELECT ID, TRACE_NUMBER FROM EVENTS WHERE ID = 1")).await;
    assert_eq!(body["data"]["rows"][0], json!([1, "9007199254740993"]));
}

#[tokio::test]
async fn mbql_5_and_legacy_mbql_compile_filters_breakouts_and_order() {
    let emulator = start().await;
    let legacy = json!({"database": 1, "type": "query", "query": {
        "source-table": 1,
        "fields": [["field", 3, null], ["field", 6, null]],
        "filter": ["and", ["=", ["field", 4, null], "Gizmo"], ["between", ["field", 6, null], 20, 60], ["not", ["is-null", ["field", 7, null]]]],
        "order-by": [["desc", ["field", 6, null]]],
        "limit": 5}});
    let (_, body) = emulator.post("/api/dataset", ADMIN_KEY, legacy).await;
    let rows = body["data"]["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() <= 5);
    let prices: Vec<f64> = rows.iter().map(|row| row[1].as_f64().unwrap()).collect();
    assert!(
        prices.windows(2).all(|pair| pair[0] >= pair[1]) && prices.iter().all(|price| (20.0..=60.0).contains(price)),
        "{prices:?}"
    );

    let modern = json!({"lib/type": "mbql/query", "database": 1, "stages": [{
        "lib/type": "mbql.stage/mbql", "source-table": 2,
        "aggregation": [["sum", {"lib/uuid": "00000000-0000-4000-8000-000000000001"}, ["field", {"lib/uuid": "00000000-0000-4000-8000-000000000002"}, 15]]],
        "breakout": [["field", {"lib/uuid": "00000000-0000-4000-8000-000000000003", "source-field": 12}, 4]]}]});
    let (_, body) = emulator.post("/api/dataset", ADMIN_KEY, modern).await;
    assert_eq!(body["status"], "completed", "{body}");
    let categories: Vec<&str> =
        body["data"]["rows"].as_array().unwrap().iter().map(|row| row[0].as_str().unwrap()).collect();
    assert_eq!(categories, vec!["Doohickey", "Gadget", "Gizmo", "Widget"], "implicit join through the product FK");
    assert_eq!(body["data"]["cols"][1]["display_name"], "Sum of Total");
}

#[tokio::test]
async fn a_card_query_runs_the_saved_question_in_question_context() {
    let emulator = start().await;
    let (status, body) = emulator.post("/api/card/5/query", ADMIN_KEY, json!({})).await;
    assert_eq!(status, 202);
    assert_eq!(body["context"], "question");
    assert_eq!(body["data"]["rows"].as_array().unwrap().len(), 5, "one row per people source");
    let (status, body) = emulator.post("/api/card/999999/query", ADMIN_KEY, json!({})).await;
    assert_eq!((status, body), (404, json!("Not found.")));
}
