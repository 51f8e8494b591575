//! No credential (API key, session id, password, database secret) appears in a log line, an
//! error message or an `extra` Struct returned to callers.

use metabase_grpc::metabase::Credential;
use metabase_grpc::pb::v1::{CreateDatabaseRequest, GetCardRequest, GetDatabaseRequest, ListCardsRequest};
use serde_json::json;

use crate::support::{captured_logs, start_with, structure};

const DATABASE_SECRET: &str = "db-password-never-shown-5f1c";

#[tokio::test]
async fn credentials_never_reach_logs_errors_or_responses() {
    let logs = captured_logs();
    let session_stack =
        start_with(Default::default(), |_| Credential::session("admin@example.com", "emulator-admin")).await;
    let key_stack = start_with(Default::default(), |_| Credential::api_key("mb_emulator_admin_key")).await;
    let bad_key_stack = start_with(Default::default(), |_| Credential::api_key("mb_wrong_key_never_logged")).await;
    let mut responses = String::new();

    for stack in [&session_stack, &key_stack] {
        let listed = stack.cards().list_cards(ListCardsRequest::default()).await.unwrap().into_inner();
        responses.push_str(&format!("{listed:?}"));
        let missing =
            stack.cards().get_card(GetCardRequest { card_id: 777_777, legacy_mbql: false }).await.unwrap_err();
        responses.push_str(&format!("{missing:?}"));
        let created = stack
            .databases()
            .create_database(CreateDatabaseRequest {
                name: "Secret-bearing".into(),
                engine: "postgres".into(),
                details: structure(
                    json!({"host": "db.internal", "port": 5432, "user": "app", "password": DATABASE_SECRET}),
                ),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        responses.push_str(&format!("{created:?}"));
        let fetched = stack
            .databases()
            .get_database(GetDatabaseRequest { database_id: created.id, include_tables: false })
            .await
            .unwrap()
            .into_inner();
        responses.push_str(&format!("{fetched:?}"));
        assert!(format!("{fetched:?}").contains("**MetabasePass**"), "Metabase's masking passes through as is");
    }
    session_stack.emulator.expire_sessions();
    let renewed =
        session_stack.cards().get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.unwrap().into_inner();
    responses.push_str(&format!("{renewed:?}"));
    let rejected = bad_key_stack.cards().get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.unwrap_err();
    responses.push_str(&format!("{rejected:?}"));

    let session_ids: Vec<String> = session_stack
        .emulator
        .observations()
        .requests
        .lock()
        .unwrap()
        .iter()
        .flat_map(|request| {
            request
                .headers
                .iter()
                .filter(|(name, _)| name == "x-metabase-session")
                .map(|(_, value)| value.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!session_ids.is_empty(), "the session client did use sessions");
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("metabase"), "logs were captured");
    let mut secrets = vec![
        "emulator-admin".to_owned(),
        "mb_emulator_admin_key".to_owned(),
        "mb_wrong_key_never_logged".to_owned(),
        DATABASE_SECRET.to_owned(),
    ];
    secrets.extend(session_ids);
    for secret in &secrets {
        assert!(!logged.contains(secret.as_str()), "a log line holds a credential");
        assert!(!responses.contains(secret.as_str()), "a response or error holds a credential");
    }
}
