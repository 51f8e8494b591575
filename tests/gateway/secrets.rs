//! No credential (API key, session id, password, database secret) appears in a log line, an
//! error message or an `extra` Struct returned to callers; Metabase's and the caller's text is
//! redacted and capped before it is echoed, and a query's text never reaches a log line.

use metabase_emulator::faults::Fault;
use metabase_grpc::metabase::Credential;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::{
    CreateDatabaseRequest, GetCardRequest, GetDatabaseRequest, ListCardsRequest, NativeQuery, RunQueryRequest,
    SearchRequest,
};
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

/// What a hostile or careless Metabase might say: a connection string with a password, then a
/// megabyte.
fn hostile_upstream_text() -> String {
    format!(
        "Connections could not be acquired: jdbc:postgresql://db:5432/x?user=u&password=hunter2 {}",
        "y".repeat(1 << 20)
    )
}

/// Returns the captured log lines that contain `marker`.
fn log_lines_with(marker: &str) -> Vec<String> {
    let logged = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    logged.lines().filter(|line| line.contains(marker)).map(str::to_owned).collect()
}

#[tokio::test]
async fn upstream_text_with_a_password_and_a_megabyte_is_redacted_and_capped_in_status_and_logs() {
    let stack = start_with(Default::default(), |_| Credential::api_key(crate::support::ADMIN_KEY)).await;
    stack.emulator.faults().add(Fault::on("GET", "/api/card/{id}").status(500, &hostile_upstream_text()));

    let status =
        stack.cards().get_card(GetCardRequest { card_id: 424_242, legacy_mbql: false }).await.expect_err("a fault");

    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.message().starts_with("metabase failed on card 424242 with status 500"), "{}", status.message());
    assert!(!status.message().contains("hunter2"), "{}", status.message());
    assert!(status.message().len() <= 1024, "a status message of {} bytes", status.message().len());
    let lines = log_lines_with("card 424242");
    assert!(!lines.is_empty(), "the failure was logged");
    for line in &lines {
        assert!(!line.contains("hunter2"), "a log line holds the password");
        assert!(line.len() < 3 * 1024, "a log line of {} bytes", line.len());
    }
}

#[tokio::test]
async fn a_failed_querys_sql_never_reaches_a_log_line() {
    let stack = start_with(Default::default(), |_| Credential::api_key(crate::support::ADMIN_KEY)).await;
    let sql = "SELECT hostile_column_7f3 FROM NO_SUCH_TABLE_HOSTILE_7F3";

    for max_rows in [0, 100] {
        let request = RunQueryRequest {
            database_id: 1,
            query: Some(Query::Native(NativeQuery { query: sql.into(), template_tags: None })),
            parameters: None,
            max_rows,
        };
        let stream = DatasetServiceClient::new(stack.channel.clone()).run_query(request).await;
        let status = match stream {
            Ok(response) => {
                let mut stream = response.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(_)) => continue,
                        Ok(None) => panic!("the query succeeded"),
                        Err(status) => break status,
                    }
                }
            }
            Err(status) => status,
        };
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }

    let logged = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_lowercase();
    assert!(logged.contains("query failed"), "the failures were logged");
    assert!(!logged.contains("hostile_column_7f3"), "a log line holds the query's text");
    assert!(!logged.contains("no_such_table_hostile_7f3"), "a log line holds the query's text");
}

#[tokio::test]
async fn a_long_search_string_echoed_by_metabase_is_capped_in_status_and_logs() {
    let stack = start_with(Default::default(), |_| Credential::api_key(crate::support::ADMIN_KEY)).await;
    let marker = "q".repeat(64);
    // 4 KiB reaches Metabase, which quotes what it could not use; 1 MiB is over its URL limit.
    for (copies, code) in [(1 << 6, Some(tonic::Code::InvalidArgument)), (1 << 14, None)] {
        let query = format!("password=hunter2 {}", marker.repeat(copies));
        stack.emulator.faults().clear();
        stack.emulator.faults().add(Fault::on("GET", "/api/search").status(400, &format!("cannot search for {query}")));

        let status = stack.search().search(SearchRequest { query, ..Default::default() }).await.expect_err("a fault");

        assert!(code.is_none_or(|code| status.code() == code), "{copies} copies: {status:?}");
        assert!(status.message().len() <= 1024, "a status message of {} bytes", status.message().len());
        assert!(!status.message().contains("hunter2"), "{}", status.message());
    }
    let lines = log_lines_with(&marker);
    assert!(!lines.is_empty(), "metabase's answer was logged");
    for line in lines {
        assert!(!line.contains("hunter2"), "a log line holds the password");
        assert!(line.len() < 3 * 1024, "a log line of {} bytes", line.len());
    }
}
