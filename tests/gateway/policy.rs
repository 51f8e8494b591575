//! Deny by default, a level per capability, collection and database narrowing, rates, dry runs
//! and reloads, through the gateway.

use std::time::Duration;

use metabase_grpc::audit::{AuditEvent, AuditFilter, AuditStore, Decision};
use metabase_grpc::pb::v1::alert_service_client::AlertServiceClient;
use metabase_grpc::pb::v1::audit_service_client::AuditServiceClient;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient;
use metabase_grpc::pb::v1::dashboard_service_client::DashboardServiceClient;
use metabase_grpc::pb::v1::database_service_client::DatabaseServiceClient;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::gateway_service_client::GatewayServiceClient;
use metabase_grpc::pb::v1::permissions_service_client::PermissionsServiceClient;
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::search_service_client::SearchServiceClient;
use metabase_grpc::pb::v1::user_service_client::UserServiceClient;
use metabase_grpc::pb::v1::*;
use tonic::Code;

use crate::policed::{Policed, from, policed};
use crate::support::{collection, error_info, structure};

const CAPABILITIES: &[&str] =
    &["cards", "dashboards", "collections", "databases", "datasets", "users", "groups", "alerts", "search", "audit"];

fn level_policy() -> String {
    let mut policy = String::from(
        "version: 1\ncredentials:\n  admin: { api_key_env: TEST_ADMIN_KEY }\ndefault_credential: admin\nprincipals:\n",
    );
    for capability in CAPABILITIES {
        for level in ["off", "read", "full"] {
            policy.push_str(&format!("  - match: \"{capability}-{level}\"\n    grants: {{ {capability}: {level} }}\n"));
        }
    }
    policy
}

fn mbql() -> RunQueryRequest {
    RunQueryRequest {
        database_id: 1,
        query: Some(Query::Mbql(
            structure(serde_json::json!({"type": "query", "query": {"source-table": 1, "limit": 1}})).unwrap(),
        )),
        parameters: None,
        max_rows: 1,
    }
}

fn native() -> RunQueryRequest {
    RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: "SELECT 1".into(), template_tags: None })),
        parameters: None,
        max_rows: 1,
    }
}

/// Calls a capability's read RPC (`write` false) or full RPC as `principal`; returns the code.
async fn call(stack: &Policed, capability: &str, write: bool, principal: &str) -> Result<(), tonic::Status> {
    let channel = stack.channel.clone();
    macro_rules! go {
        ($client:expr, $method:ident, $message:expr) => {
            $client.$method(from(principal, $message)).await.map(|_| ())
        };
    }
    match (capability, write) {
        ("cards", false) => go!(CardServiceClient::new(channel), list_cards, ListCardsRequest::default()),
        ("cards", true) => go!(
            CardServiceClient::new(channel),
            update_card,
            UpdateCardRequest { card_id: 999_999, ..Default::default() }
        ),
        ("dashboards", false) => {
            go!(DashboardServiceClient::new(channel), list_dashboards, ListDashboardsRequest::default())
        }
        ("dashboards", true) => go!(
            DashboardServiceClient::new(channel),
            update_dashboard,
            UpdateDashboardRequest { dashboard_id: 999_999, ..Default::default() }
        ),
        ("collections", false) => {
            go!(CollectionServiceClient::new(channel), get_collection_tree, GetCollectionTreeRequest::default())
        }
        ("collections", true) => go!(
            CollectionServiceClient::new(channel),
            update_collection,
            UpdateCollectionRequest { collection_id: 999_999, ..Default::default() }
        ),
        ("databases", false) => {
            go!(DatabaseServiceClient::new(channel), list_databases, ListDatabasesRequest::default())
        }
        ("databases", true) => go!(
            DatabaseServiceClient::new(channel),
            sync_database_schema,
            SyncDatabaseSchemaRequest { database_id: 999_999 }
        ),
        ("datasets", false) => go!(DatasetServiceClient::new(channel), run_query, mbql()),
        ("datasets", true) => go!(DatasetServiceClient::new(channel), run_query, native()),
        ("users", false) => go!(UserServiceClient::new(channel), get_current_user, GetCurrentUserRequest {}),
        ("users", true) => {
            go!(UserServiceClient::new(channel), reactivate_user, ReactivateUserRequest { user_id: 999_999 })
        }
        ("groups", false) => go!(PermissionsServiceClient::new(channel), list_groups, ListGroupsRequest::default()),
        ("groups", true) => go!(
            PermissionsServiceClient::new(channel),
            remove_group_member,
            RemoveGroupMemberRequest { membership_id: 999_999 }
        ),
        ("alerts", false) => go!(AlertServiceClient::new(channel), list_alerts, ListAlertsRequest::default()),
        ("alerts", true) => {
            go!(AlertServiceClient::new(channel), unsubscribe_alert, UnsubscribeAlertRequest { alert_id: 999_999 })
        }
        ("search", false) => go!(SearchServiceClient::new(channel), search, SearchRequest::default()),
        ("audit", false) => go!(AuditServiceClient::new(channel), list_audit_events, ListAuditEventsRequest::default()),
        _ => Ok(()),
    }
}

fn policy_denied(result: &Result<(), tonic::Status>) -> bool {
    matches!(result, Err(status) if status.code() == Code::PermissionDenied && error_info(status).0 == "POLICY_DENIED")
}

#[tokio::test]
async fn every_capability_allows_exactly_what_its_level_grants() {
    let stack = policed(&level_policy(), None).await;
    for capability in CAPABILITIES {
        for (level, read_allowed, write_allowed) in [("off", false, false), ("read", true, false), ("full", true, true)]
        {
            let principal = format!("{capability}-{level}");
            let read = call(&stack, capability, false, &principal).await;
            assert_eq!(!policy_denied(&read), read_allowed, "{principal} reading: {read:?}");
            if *capability != "search" && *capability != "audit" {
                let write = call(&stack, capability, true, &principal).await;
                assert_eq!(!policy_denied(&write), write_allowed, "{principal} writing: {write:?}");
                if !write_allowed {
                    let message = write.unwrap_err().message().to_owned();
                    assert!(message.contains(capability), "the denial names the missing grant: {message}");
                }
            }
            if !read_allowed {
                let message = read.unwrap_err().message().to_owned();
                assert!(
                    message.contains(&format!("{capability}: {level}")),
                    "the denial names the grant it has: {message}"
                );
            }
        }
        let stranger = call(&stack, capability, false, "nobody-in-particular").await;
        assert!(policy_denied(&stranger), "an unknown principal is denied {capability}");
    }
}

const NARROW: &str = r#"
version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: "sales-reader"
    grants: { cards: read, dashboards: read, collections: read, search: read, datasets: read }
    collections: [2]
    databases: [1]
  - match: "sales-writer"
    grants: { cards: full, collections: read }
    collections: [2]
  - match: "limited"
    grants: { search: read }
    rate: 2/s
"#;

#[tokio::test]
async fn collection_narrowing_holds_for_get_run_export_update_list_and_search() {
    let stack = policed(NARROW, None).await;
    let mut cards = CardServiceClient::new(stack.channel.clone());
    let get = |id| GetCardRequest { card_id: id, legacy_mbql: false };
    assert_eq!(cards.get_card(from("sales-reader", get(1))).await.unwrap().into_inner().name, "Orders");
    assert_eq!(
        cards.get_card(from("sales-reader", get(8))).await.unwrap().into_inner().name,
        "Big orders",
        "a subtree of Sales"
    );
    for outside in [9, 3, 10] {
        let status = cards.get_card(from("sales-reader", get(outside))).await.unwrap_err();
        assert_eq!(
            (status.code(), error_info(&status).0.as_str()),
            (Code::PermissionDenied, "POLICY_DENIED"),
            "card {outside}"
        );
    }
    let run = cards.run_card(from("sales-reader", RunCardRequest { card_id: 9, parameters: None, max_rows: 0 })).await;
    assert_eq!(run.err().map(|status| status.code()), Some(Code::PermissionDenied));
    let export = cards
        .export_card(from(
            "sales-reader",
            ExportCardRequest { card_id: 9, format: ExportFormat::Csv as i32, ..Default::default() },
        ))
        .await;
    assert_eq!(export.err().map(|status| status.code()), Some(Code::PermissionDenied));

    let moved = cards
        .update_card(from(
            "sales-writer",
            UpdateCardRequest { card_id: 1, collection_id: collection(4), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(moved.code(), Code::PermissionDenied, "moving a card into a forbidden collection");
    let renamed = cards
        .update_card(from(
            "sales-writer",
            UpdateCardRequest { card_id: 1, name: Some("Orders (sales)".into()), ..Default::default() },
        ))
        .await
        .unwrap();
    assert_eq!(renamed.into_inner().name, "Orders (sales)");

    let listed = cards.list_cards(from("sales-reader", ListCardsRequest::default())).await.unwrap().into_inner();
    let mut ids: Vec<i64> = listed.cards.iter().map(|card| card.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2, 8], "only Sales and below");
    let found = SearchServiceClient::new(stack.channel.clone())
        .search(from("sales-reader", SearchRequest { query: "revenue".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        found.results.iter().all(|result| result.name != "Revenue by quarter" && result.name != "Revenue per month"),
        "{:?}",
        found.results.iter().map(|result| &result.name).collect::<Vec<_>>()
    );
    let tree = CollectionServiceClient::new(stack.channel.clone())
        .get_collection_tree(from("sales-reader", GetCollectionTreeRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        tree.collections.iter().map(|node| node.name.as_str()).collect::<Vec<_>>(),
        vec!["Sales"],
        "Sales moves up; Analytics stays hidden"
    );
}

#[tokio::test]
async fn database_narrowing_and_native_sql_need_their_grants() {
    let stack = policed(NARROW, None).await;
    let mut datasets = DatasetServiceClient::new(stack.channel.clone());
    let mut other_database = mbql();
    other_database.database_id = 2;
    let denied = datasets.run_query(from("sales-reader", other_database)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("database 2"), "{}", denied.message());
    let native_denied = datasets.run_query(from("sales-reader", native())).await.unwrap_err();
    assert!(native_denied.message().contains("datasets: full"), "{}", native_denied.message());
    assert!(datasets.run_query(from("sales-reader", mbql())).await.is_ok());
}

#[tokio::test]
async fn a_caller_over_its_rate_gets_resource_exhausted() {
    let stack = policed(NARROW, None).await;
    let mut search = SearchServiceClient::new(stack.channel.clone());
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(
            search
                .search(from("limited", SearchRequest::default()))
                .await
                .map(|_| Code::Ok)
                .unwrap_or_else(|status| status.code()),
        );
    }
    assert_eq!(&codes[..2], &[Code::Ok, Code::Ok]);
    assert!(codes[2..].contains(&Code::ResourceExhausted), "{codes:?}");
}

const SHARED: &str = r#"
version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: "spiffe://cluster.local/ns/agents/sa/*"
    grants: { search: read }
    rule_rate: 3/m
  - match: "spiffe://cluster.local/ns/orders/sa/orders-api"
    grants: { search: read }
"#;

#[tokio::test]
async fn a_rule_rate_caps_all_the_rules_principals_together() {
    let stack = policed(SHARED, None).await;
    let mut search = SearchServiceClient::new(stack.channel.clone());
    let agent = |name: &str| format!("spiffe://cluster.local/ns/agents/sa/{name}");
    let mut codes = Vec::new();
    for principal in [agent("a"), agent("b"), agent("a"), agent("b"), agent("a")] {
        let result = search.search(from(&principal, SearchRequest::default())).await;
        codes.push(result.map(|_| Code::Ok).unwrap_or_else(|status| status.code()));
    }
    let refused = search.search(from(&agent("c"), SearchRequest::default())).await.unwrap_err();
    for call in 0..4 {
        let orders = search.search(from("spiffe://cluster.local/ns/orders/sa/orders-api", SearchRequest::default()));
        assert!(orders.await.is_ok(), "a principal under another rule is unaffected, call {call}");
    }

    assert_eq!(codes, [Code::Ok, Code::Ok, Code::Ok, Code::ResourceExhausted, Code::ResourceExhausted]);
    assert_eq!((refused.code(), error_info(&refused).0.as_str()), (Code::ResourceExhausted, "RATE_LIMITED"));
    let shared = "the rule \"spiffe://cluster.local/ns/agents/sa/*\" allows 3 calls per minute for all its principals \
                  together";
    assert_eq!(refused.message(), format!("{} is over its rule's shared request rate: {shared}", agent("c")));
    let store = AuditStore::open(&stack.audit_path).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let denied = loop {
        let (events, _) = store.list(&AuditFilter::default(), 100, 0).unwrap();
        let denied: Vec<AuditEvent> = events.into_iter().filter(|event| event.decision == Decision::Denied).collect();
        if denied.len() >= 3 || std::time::Instant::now() > deadline {
            break denied;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(denied.len(), 3, "{denied:#?}");
    assert!(
        denied.iter().all(|event| event.reason == shared && event.grpc_code == "RESOURCE_EXHAUSTED"),
        "{denied:#?}"
    );
}

#[tokio::test]
async fn who_am_i_reports_the_callers_grants_and_credential() {
    let stack = policed(NARROW, None).await;
    let me = GatewayServiceClient::new(stack.channel.clone())
        .who_am_i(from("sales-reader", WhoAmIRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.principal, "sales-reader");
    assert_eq!(me.identity_source, "header:x-caller");
    assert_eq!(me.grants.get("cards").map(String::as_str), Some("read"));
    assert_eq!(me.collections, vec![2]);
    assert!(me.metabase_principal.starts_with("admin"), "{}", me.metabase_principal);
    assert!(!me.metabase_principal.contains("mb_emulator"), "never the secret");
}

#[tokio::test]
async fn dry_run_logs_a_denial_without_enforcing_it() {
    let stack = policed(&NARROW.replace("version: 1", "version: 1\ndry_run: true"), None).await;
    let card = CardServiceClient::new(stack.channel.clone())
        .get_card(from("sales-reader", GetCardRequest { card_id: 9, legacy_mbql: false }))
        .await;
    assert!(card.is_ok(), "dry run does not enforce: {card:?}");
}

#[tokio::test]
async fn a_changed_policy_is_reloaded_and_a_broken_one_keeps_the_last_good() {
    let stack = policed(NARROW, None).await;
    let mut users = UserServiceClient::new(stack.channel.clone());
    assert_eq!(
        users.get_current_user(from("sales-reader", GetCurrentUserRequest {})).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    std::fs::write(
        &stack.policy_path,
        NARROW.replace("search: read, datasets: read }", "search: read, datasets: read, users: read }"),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while users.get_current_user(from("sales-reader", GetCurrentUserRequest {})).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the new policy never took effect");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    std::fs::write(&stack.policy_path, "version: 1\nprincipals: [ { match: x, grnts: {} } ]\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        users.get_current_user(from("sales-reader", GetCurrentUserRequest {})).await.is_ok(),
        "a broken file keeps the last good policy"
    );
}
