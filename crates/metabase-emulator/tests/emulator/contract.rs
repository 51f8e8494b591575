//! Status codes, content types, plain-text bodies, list shapes and delete semantics
//! (CONTRACT.md §1, §2 and the checklist in §18).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, content_type, start};

#[tokio::test]
async fn errors_use_metabases_plain_text_bodies_and_statuses() {
    let emulator = start().await;
    let anonymous = emulator.call(Method::GET, "/api/card", None, None).await;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(content_type(&anonymous), "text/plain");
    assert_eq!(anonymous.text().await.unwrap(), "Unauthenticated");

    let missing = emulator.get("/api/card/999999").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(content_type(&missing), "text/plain");
    assert_eq!(missing.text().await.unwrap(), "Not found.");

    let unknown = emulator.get("/api/no-such-thing").await;
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(unknown.text().await.unwrap(), "API endpoint does not exist.");

    let unknown_under_auth = emulator.call(Method::GET, "/api/card/1/no-such-route", None, None).await;
    assert_eq!(unknown_under_auth.status().as_u16(), 401, "auth runs before routing under +auth prefixes");

    let bad_key = emulator.call(Method::GET, "/api/card", Some("not-a-metabase-key"), None).await;
    assert_eq!(bad_key.status().as_u16(), 401);
}

#[tokio::test]
async fn validation_errors_carry_errors_and_specific_errors() {
    let emulator = start().await;
    let (status, body) = emulator.post("/api/card", ADMIN_KEY, json!({"visualization_settings": "ABC"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"]["name"], "value must be a non-blank string.");
    assert_eq!(body["errors"]["dataset_query"], "Value must be a map.");
    assert!(body["specific-errors"]["visualization_settings"][0].as_str().unwrap().contains("received: \"ABC\""));
    assert!(body.get("message").is_none(), "the validation shape has no message key");

    let malformed = emulator
        .http
        .post(format!("{}/api/card", emulator.handle.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("at 1:"), "{body}");
}

#[tokio::test]
async fn list_shapes_differ_by_endpoint_as_metabase_does() {
    let emulator = start().await;
    for bare in [
        "/api/card",
        "/api/dashboard",
        "/api/collection",
        "/api/collection/tree",
        "/api/permissions/group",
        "/api/alert",
    ] {
        let body = emulator.get_json(bare, 200).await;
        assert!(body.is_array(), "{bare} is a bare array");
    }
    let databases = emulator.get_json("/api/database", 200).await;
    assert_eq!(databases.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["data", "total"]);
    let users = emulator.get_json("/api/user", 200).await;
    for key in ["data", "total", "limit", "offset"] {
        assert!(users.get(key).is_some(), "users has {key}");
    }
    assert_eq!(users["limit"], Value::Null, "no paging params: limit is null");
    let items = emulator.get_json("/api/collection/1/items?limit=2", 200).await;
    assert_eq!((items["limit"].clone(), items["offset"].clone()), (json!(2), json!(0)), "offset defaults to 0");
    assert_eq!(items["data"].as_array().unwrap().len(), 2);
    assert!(items["total"].as_u64().unwrap() > 2, "total counts every item, not the page");
    assert!(items["models"].is_array());
    let search = emulator.get_json("/api/search?q=orders", 200).await;
    for key in ["data", "total", "limit", "offset", "models", "table_db_id", "engine"] {
        assert!(search.get(key).is_some(), "search has {key}");
    }
}

#[tokio::test]
async fn trailing_slashes_reach_the_same_route_and_every_response_carries_the_version() {
    let emulator = start().await;
    let response = emulator.get("/api/card/").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-metabase-version"], "v0.58.3");
    assert!(content_type(&response).starts_with("application/json"));
}

#[tokio::test]
async fn deletes_answer_204_except_user_deactivation_and_collection_delete() {
    let emulator = start().await;
    let group = emulator.post("/api/permissions/group", ADMIN_KEY, json!({"name": "Short-lived"})).await.1;
    let deleted =
        emulator.call(Method::DELETE, &format!("/api/permissions/group/{}", group["id"]), Some(ADMIN_KEY), None).await;
    assert_eq!(deleted.status().as_u16(), 204);

    let deactivated = emulator.call(Method::DELETE, "/api/user/3", Some(ADMIN_KEY), None).await;
    assert_eq!(deactivated.status().as_u16(), 200);
    assert_eq!(deactivated.json::<Value>().await.unwrap(), json!({"success": true}));

    let collection = emulator.post("/api/collection", ADMIN_KEY, json!({"name": "Doomed"})).await.1;
    let path = format!("/api/collection/{}", collection["id"]);
    let early = emulator.call(Method::DELETE, &path, Some(ADMIN_KEY), None).await;
    assert_eq!(early.status().as_u16(), 400);
    assert_eq!(early.text().await.unwrap(), "Collection must be trashed before deletion.");
    emulator.call(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({"archived": true}))).await;
    let removed = emulator.call(Method::DELETE, &path, Some(ADMIN_KEY), None).await;
    assert_eq!(removed.status().as_u16(), 200);
}

#[tokio::test]
async fn a_collection_put_without_archived_restores_a_trashed_collection() {
    let emulator = start().await;
    let collection = emulator.post("/api/collection", ADMIN_KEY, json!({"name": "Quirky"})).await.1;
    let path = format!("/api/collection/{}", collection["id"]);
    let trashed: Value =
        emulator.call(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({"archived": true}))).await.json().await.unwrap();
    assert_eq!(trashed["archived"], true);
    let renamed: Value = emulator
        .call(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({"name": "Renamed"})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["archived"], false, "archived defaults to false, so leaving it out restores");
}

#[tokio::test]
async fn archiving_a_card_moves_it_to_the_trash_and_restoring_brings_it_back() {
    let emulator = start().await;
    let archived: Value = emulator
        .call(Method::PUT, "/api/card/1", Some(ADMIN_KEY), Some(json!({"archived": true, "collection_id": 3})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(archived["archived"], true);
    assert_eq!(archived["collection_id"], 5, "reported in the Trash collection");
    let restored: Value = emulator
        .call(Method::PUT, "/api/card/1", Some(ADMIN_KEY), Some(json!({"archived": false})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        restored["collection_id"], 2,
        "back in its original collection; the archiving body's collection_id was dropped"
    );
}

#[tokio::test]
async fn permissions_graph_revision_conflicts_answer_409() {
    let emulator = start().await;
    let graph = emulator.get_json("/api/permissions/graph", 200).await;
    let revision = graph["revision"].as_i64().unwrap();
    assert_eq!(
        graph["groups"]["2"]["1"]["create-queries"], "query-builder-and-native",
        "admins always have full access"
    );
    let update = json!({"revision": revision, "groups": {"4": {"1": {"create-queries": "query-builder-and-native"}}}});
    let applied = emulator.call(Method::PUT, "/api/permissions/graph", Some(ADMIN_KEY), Some(update.clone())).await;
    assert_eq!(applied.status().as_u16(), 200);
    let applied: Value = applied.json().await.unwrap();
    assert_eq!(applied["revision"], revision + 1);
    assert_eq!(applied["groups"]["4"]["1"]["create-queries"], "query-builder-and-native");
    let stale = emulator.call(Method::PUT, "/api/permissions/graph", Some(ADMIN_KEY), Some(update)).await;
    assert_eq!(stale.status().as_u16(), 409);
    assert!(stale.text().await.unwrap().starts_with("Looks like someone else edited the permissions"));
}
