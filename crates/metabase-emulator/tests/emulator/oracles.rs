//! The smaller differences third-party clients (`mb`, `metabase-api`, `dbt-metabase`) found:
//! a form export's `parameters` of `"null"`, real UUIDs in seeded clauses, and a dashboard `PUT`
//! that carries only `tabs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, start};

#[tokio::test]
async fn a_card_export_with_parameters_null_as_a_form_string_runs() {
    let emulator = start().await;

    let response = emulator
        .http
        .post(format!("{}/api/card/4/query/csv", emulator.handle.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .form(&[("parameters", "null"), ("format_rows", "false")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().starts_with("TITLE,CATEGORY,RATING"));
}

fn uuids(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("lib/uuid", Value::String(text)) => found.push(text.clone()),
                    _ => uuids(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| uuids(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn seeded_cards_carry_real_uuids_in_lib_uuid() {
    let emulator = start().await;
    let mut found = Vec::new();

    for id in 1..=9 {
        let card = emulator.get_json(&format!("/api/card/{id}"), 200).await;
        uuids(&card["dataset_query"], &mut found);
    }

    assert!(found.len() >= 5, "{found:?}");
    for text in &found {
        assert!(uuid::Uuid::parse_str(text).is_ok(), "{text} is not a UUID");
    }
}

#[tokio::test]
async fn a_dashboard_put_with_only_tabs_changes_neither_tabs_nor_dashcards() {
    let emulator = start().await;
    let before = emulator.get_json("/api/dashboard/1", 200).await;

    let response = emulator
        .call(Method::PUT, "/api/dashboard/1", Some(ADMIN_KEY), Some(json!({"tabs": [{"id": 1, "name": "Only tab"}]})))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let after = emulator.get_json("/api/dashboard/1", 200).await;
    assert_eq!(after["tabs"], before["tabs"]);
    assert_eq!(after["dashcards"].as_array().map(Vec::len), before["dashcards"].as_array().map(Vec::len));
}
