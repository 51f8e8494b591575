//! Sessions, API keys and what a narrow key may see (CONTRACT.md §3 and §6, §11).

use std::time::Duration;

use metabase_emulator::EmulatorConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ANALYST_KEY, content_type, start, start_with};

async fn login(emulator: &crate::support::Emulator, username: &str, password: &str) -> (u16, Value) {
    let response = emulator
        .http
        .post(format!("{}/api/session", emulator.handle.url()))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_session_works_until_it_expires_then_answers_401() {
    let config = EmulatorConfig { session_ttl: Duration::from_millis(300), ..EmulatorConfig::default() };
    let emulator = start_with(config).await;
    let (status, body) = login(&emulator, "admin@example.com", "emulator-admin").await;
    assert_eq!(status, 200);
    let session = body["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&session).is_ok(), "session ids are UUIDs");
    let url = format!("{}/api/user/current", emulator.handle.url());
    let fresh = emulator.http.get(&url).header("X-Metabase-Session", &session).send().await.unwrap();
    assert_eq!(fresh.status().as_u16(), 200);
    assert_eq!(fresh.json::<Value>().await.unwrap()["email"], "admin@example.com");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = emulator.http.get(&url).header("X-Metabase-Session", &session).send().await.unwrap();
    assert_eq!(expired.status().as_u16(), 401);
    assert_eq!(expired.text().await.unwrap(), "Unauthenticated");
}

#[tokio::test]
async fn wrong_credentials_and_logout_follow_the_contract() {
    let emulator = start().await;
    let (status, body) = login(&emulator, "admin@example.com", "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({"errors": {"password": "did not match stored password"}}));
    let (_, body) = login(&emulator, "analyst@example.com", "emulator-analyst").await;
    let session = body["id"].as_str().unwrap();
    let url = format!("{}/api/session", emulator.handle.url());
    let out = emulator.http.delete(&url).header("X-Metabase-Session", session).send().await.unwrap();
    assert_eq!(out.status().as_u16(), 204);
    let again = emulator.http.delete(&url).header("X-Metabase-Session", session).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 404);
    let api_key_only = emulator.http.delete(&url).header("X-Api-Key", ANALYST_KEY).send().await.unwrap();
    assert_eq!(api_key_only.status().as_u16(), 404, "API-key clients have no session to end");
}

#[tokio::test]
async fn session_properties_report_the_058_line_without_auth() {
    let emulator = start().await;
    let response = emulator.call(Method::GET, "/api/session/properties", None, None).await;
    assert_eq!(response.status().as_u16(), 200);
    let properties: Value = response.json().await.unwrap();
    assert!(properties["version"]["tag"].as_str().unwrap().starts_with("v0.58."));
    let health = emulator.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn a_narrow_key_gets_403_on_admin_routes_and_never_sees_other_collections() {
    let emulator = start().await;
    let users = emulator.call(Method::GET, "/api/user", Some(ANALYST_KEY), None).await;
    assert_eq!(users.status().as_u16(), 403);
    assert_eq!(content_type(&users), "text/plain");
    assert_eq!(users.text().await.unwrap(), "You don't have permissions to do that.");

    let finance = emulator.call(Method::GET, "/api/collection/4", Some(ANALYST_KEY), None).await;
    assert_eq!(finance.status().as_u16(), 403, "Finance is outside the Analysts group's permissions");
    let listed: Value =
        emulator.call(Method::GET, "/api/collection", Some(ANALYST_KEY), None).await.json().await.unwrap();
    let names: Vec<&str> =
        listed.as_array().unwrap().iter().filter_map(|collection| collection["name"].as_str()).collect();
    assert!(names.contains(&"Analytics") && !names.contains(&"Finance"), "{names:?}");
    let admin_listed: Value = emulator.get_json("/api/collection", 200).await;
    assert!(admin_listed.as_array().unwrap().iter().any(|collection| collection["name"] == "Finance"));

    let cards: Value = emulator.call(Method::GET, "/api/card", Some(ANALYST_KEY), None).await.json().await.unwrap();
    assert!(
        cards.as_array().unwrap().iter().all(|card| card["collection_id"] != 4),
        "no Finance card leaks into the list"
    );
    let finance_card = emulator.call(Method::GET, "/api/card/9", Some(ANALYST_KEY), None).await;
    assert_eq!(finance_card.status().as_u16(), 403);
    let search: Value =
        emulator.call(Method::GET, "/api/search?q=revenue", Some(ANALYST_KEY), None).await.json().await.unwrap();
    assert!(search["data"].as_array().unwrap().iter().all(|item| item["name"] != "Revenue by quarter"));
}

#[tokio::test]
async fn a_narrow_key_cannot_create_a_card_where_it_cannot_write() {
    let emulator = start().await;
    let card = json!({"name": "x", "display": "table", "visualization_settings": {}, "collection_id": 4,
                      "dataset_query": {"database": 1, "type": "query", "query": {"source-table": 1}}});
    let (status, _) = emulator.post("/api/card", ANALYST_KEY, card.clone()).await;
    assert_eq!(status, 403);
    let mut allowed = card;
    allowed["collection_id"] = json!(3);
    let (status, created) = emulator.post("/api/card", ANALYST_KEY, allowed).await;
    assert_eq!(status, 200);
    assert_eq!(created["dataset_query"]["lib/type"], "mbql/query", "0.57+ stores MBQL 5");
}
