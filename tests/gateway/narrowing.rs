//! Narrowed answers, written as the attacks that got through before: a caller narrowed to the
//! Sales collection (2, with Regional 8 below it) and the sample database (1) reads a dashboard that
//! embeds a card from Analytics (1), places a forbidden card on a dashboard, lists databases,
//! reads collection ancestry, and pages search and collection items for what it may not see.

use metabase_grpc::pb::v1::alert_service_client::AlertServiceClient;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient;
use metabase_grpc::pb::v1::dashboard_service_client::DashboardServiceClient;
use metabase_grpc::pb::v1::database_service_client::DatabaseServiceClient;
use metabase_grpc::pb::v1::search_service_client::SearchServiceClient;
use metabase_grpc::pb::v1::*;
use serde_json::json;
use tonic::Code;

use crate::policed::{Policed, from, policed};
use crate::support::{collection, structure};

/// The policy of these attacks: `admin` sees everything; `sales` is narrowed to collection 2
/// and database 1; `warehouse` to the database the tests create (1001).
const POLICY: &str = r#"version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: admin
    grants: { "*": full }
  - match: sales
    grants: { cards: read, dashboards: full, collections: read, databases: read, search: read, alerts: read, datasets: read }
    collections: [2]
    databases: [1]
  - match: sales-editor
    grants: { cards: full, dashboards: full, collections: full }
    collections: [2]
  - match: warehouse
    grants: { cards: read, alerts: read, databases: read, search: read }
    databases: [1001]
"#;

/// The id the emulator gives the first database created after the sample.
const WAREHOUSE: i64 = 1001;

/// The name of the Analytics collection and of its card on the Sales dashboard (card 3).
const FORBIDDEN_NAMES: [&str; 3] = ["Analytics", "Revenue per month", "Finance"];

fn assert_names_absent(answer: &impl std::fmt::Debug, names: &[&str]) {
    let text = format!("{answer:?}");
    for name in names {
        assert!(!text.contains(&format!("\"{name}\"")), "{name} leaked in {text}");
    }
}

/// Creates a second database and a card on it in the Sales collection, as the admin.
async fn warehouse_card(stack: &Policed) -> (i64, i64) {
    let database = DatabaseServiceClient::new(stack.channel.clone())
        .create_database(from(
            "admin",
            CreateDatabaseRequest {
                name: "Warehouse".into(),
                engine: "postgres".into(),
                details: structure(json!({"host": "warehouse.internal", "dbname": "analytics", "user": "reader"})),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(database.id, WAREHOUSE);
    let card = CardServiceClient::new(stack.channel.clone())
        .create_card(from(
            "admin",
            CreateCardRequest {
                name: "Warehouse margins".into(),
                display: "table".into(),
                dataset_query: structure(
                    json!({"database": database.id, "type": "native", "native": {"query": "SELECT margin FROM finance"}}),
                ),
                visualization_settings: structure(json!({})),
                collection_id: collection(2),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    (database.id, card.id)
}

#[tokio::test]
async fn a_dashboard_in_a_granted_collection_keeps_only_the_id_of_a_card_from_another() {
    let stack = policed(POLICY, None).await;
    let mut dashboards = DashboardServiceClient::new(stack.channel.clone());

    let dashboard =
        dashboards.get_dashboard(from("sales", GetDashboardRequest { dashboard_id: 1 })).await.unwrap().into_inner();

    let revenue = dashboard.dashcards.iter().find(|dashcard| dashcard.card_id == Some(3)).expect("dashcard of card 3");
    assert_eq!(revenue.card, Some(Card { id: 3, ..Default::default() }));
    assert_eq!((revenue.parameter_mappings.clone(), revenue.visualization_settings.clone()), (None, None));
    let orders = dashboard.dashcards.iter().find(|dashcard| dashcard.card_id == Some(1)).expect("dashcard of card 1");
    assert_eq!(orders.card.as_ref().map(|card| card.name.as_str()), Some("Orders"));
    assert_names_absent(&dashboard, &FORBIDDEN_NAMES);
    let whole = dashboards.get_dashboard(from("admin", GetDashboardRequest { dashboard_id: 1 })).await.unwrap();
    assert!(format!("{whole:?}").contains("\"Revenue per month\""), "the admin still sees the card");
}

#[tokio::test]
async fn update_dashboard_cannot_place_a_card_the_caller_cannot_read_but_keeps_hidden_ones_in_place() {
    let stack = policed(POLICY, None).await;
    let mut dashboards = DashboardServiceClient::new(stack.channel.clone());
    let current =
        dashboards.get_dashboard(from("sales", GetDashboardRequest { dashboard_id: 1 })).await.unwrap().into_inner();
    let with = |extra: Vec<DashboardCard>| UpdateDashboardRequest {
        dashboard_id: 1,
        replace_dashcards: true,
        dashcards: current.dashcards.iter().cloned().chain(extra).collect(),
        ..Default::default()
    };
    let finance_card = DashboardCard { id: -1, card_id: Some(9), size_x: 4, size_y: 4, ..Default::default() };
    let series_of_finance = DashboardCard {
        id: -2,
        card_id: Some(1),
        size_x: 4,
        size_y: 4,
        series: Some(metabase_grpc::convert::json::to_list(vec![json!({"id": 9})])),
        ..Default::default()
    };

    let placed = dashboards.update_dashboard(from("sales", with(vec![finance_card]))).await.unwrap_err();
    let in_series = dashboards.update_dashboard(from("sales", with(vec![series_of_finance]))).await.unwrap_err();
    let kept = dashboards.update_dashboard(from("sales", with(vec![]))).await.unwrap().into_inner();

    assert_eq!((placed.code(), in_series.code()), (Code::PermissionDenied, Code::PermissionDenied));
    assert!(placed.message().contains("collection 4 is outside its collections"), "{}", placed.message());
    let after = dashboards.get_dashboard(from("admin", GetDashboardRequest { dashboard_id: 1 })).await.unwrap();
    let card_ids: Vec<Option<i64>> = after.get_ref().dashcards.iter().map(|dashcard| dashcard.card_id).collect();
    assert!(!card_ids.contains(&Some(9)), "card 9 was never placed: {card_ids:?}");
    assert!(card_ids.contains(&Some(3)), "the hidden card stays where it was: {card_ids:?}");
    assert_names_absent(&kept, &FORBIDDEN_NAMES);
}

#[tokio::test]
async fn list_databases_shows_only_the_callers_databases() {
    let stack = policed(POLICY, None).await;
    let (warehouse, _) = warehouse_card(&stack).await;
    let mut databases = DatabaseServiceClient::new(stack.channel.clone());

    let sales = databases.list_databases(from("sales", ListDatabasesRequest::default())).await.unwrap().into_inner();
    let other =
        databases.list_databases(from("warehouse", ListDatabasesRequest::default())).await.unwrap().into_inner();

    assert_eq!(sales.databases.iter().map(|database| database.id).collect::<Vec<_>>(), vec![1]);
    assert_eq!(sales.total_size, 1);
    assert_eq!(other.databases.iter().map(|database| database.id).collect::<Vec<_>>(), vec![warehouse]);
    assert_names_absent(&sales, &["Warehouse"]);
}

#[tokio::test]
async fn a_card_on_a_forbidden_database_is_hidden_in_lists_items_and_search_and_cannot_be_read() {
    let stack = policed(POLICY, None).await;
    let (_, card_id) = warehouse_card(&stack).await;
    let mut cards = CardServiceClient::new(stack.channel.clone());
    let mut collections = CollectionServiceClient::new(stack.channel.clone());
    let mut search = SearchServiceClient::new(stack.channel.clone());

    let listed = cards.list_cards(from("sales", ListCardsRequest::default())).await.unwrap().into_inner();
    let read = cards.get_card(from("sales", GetCardRequest { card_id, legacy_mbql: false })).await.unwrap_err();
    let items = collections
        .list_collection_items(from(
            "sales",
            ListCollectionItemsRequest { collection: collection(2), page_size: 1, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    let found = search
        .search(from("sales", SearchRequest { query: "Warehouse margins".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();

    assert!(!listed.cards.iter().any(|card| card.id == card_id));
    assert_eq!(read.code(), Code::PermissionDenied);
    let visible_items = ["Orders", "Orders per month", "Regional", "Sales overview"].len() as i32;
    assert_eq!(items.total_size, visible_items, "the count leaves out the hidden card");
    assert!(!items.next_page_token.is_empty());
    assert_eq!(found.total_size, 0, "a count must not reveal that a hidden card matches");
    assert!(found.results.is_empty() && found.next_page_token.is_empty());
    assert_names_absent(&(listed, items, found), &["Warehouse margins"]);
}

#[tokio::test]
async fn search_pages_and_counts_only_what_the_caller_may_see() {
    let stack = policed(POLICY, None).await;
    let mut search = SearchServiceClient::new(stack.channel.clone());
    let everything = search
        .search(from("admin", SearchRequest { models: vec!["card".into()], ..Default::default() }))
        .await
        .unwrap()
        .into_inner();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut total: i32;
    loop {
        let page = search
            .search(from(
                "sales",
                SearchRequest { models: vec!["card".into()], page_size: 1, page_token: token, ..Default::default() },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(!page.results.is_empty(), "no empty page while visible items remain");
        total = page.total_size;
        token = page.next_page_token.clone();
        seen.extend(page.results.into_iter().map(|result| result.id));
        if token.is_empty() {
            break;
        }
    }

    seen.sort_unstable();
    assert_eq!(seen, vec![1, 2, 8], "the cards in Sales and Regional, each once");
    assert_eq!(total, 3);
    assert!(everything.total_size > 3);
}

#[tokio::test]
async fn collection_answers_name_no_ancestor_the_caller_may_not_see() {
    let stack = policed(POLICY, None).await;
    let mut collections = CollectionServiceClient::new(stack.channel.clone());
    let mut cards = CardServiceClient::new(stack.channel.clone());

    let regional = collections
        .get_collection(from("sales", GetCollectionRequest { collection: collection(8) }))
        .await
        .unwrap()
        .into_inner();
    let sales = collections
        .get_collection(from("sales", GetCollectionRequest { collection: collection(2) }))
        .await
        .unwrap()
        .into_inner();
    let tree =
        collections.get_collection_tree(from("sales", GetCollectionTreeRequest::default())).await.unwrap().into_inner();
    let card = cards.get_card(from("sales", GetCardRequest { card_id: 8, legacy_mbql: false })).await.unwrap();

    assert_eq!(regional.location.as_deref(), Some("/2/"));
    assert_eq!(sales.location.as_deref(), Some("/"));
    assert_eq!(sales.parent_id, None);
    assert_eq!(tree.collections.iter().map(|node| node.id).collect::<Vec<_>>(), vec![2]);
    for answer in [format!("{regional:?}"), format!("{sales:?}"), format!("{tree:?}"), format!("{card:?}")] {
        assert!(!answer.contains("\"Analytics\"") && !answer.contains("\"Our analytics\""), "{answer}");
        assert!(!answer.contains("/1/"), "a hidden ancestor id in a location: {answer}");
    }
}

#[tokio::test]
async fn alerts_on_cards_outside_the_grant_are_neither_listed_nor_read() {
    let stack = policed(POLICY, None).await;
    let mut alerts = AlertServiceClient::new(stack.channel.clone());

    let sales = alerts.list_alerts(from("sales", ListAlertsRequest::default())).await.unwrap().into_inner();
    let warehouse = alerts.list_alerts(from("warehouse", ListAlertsRequest::default())).await.unwrap().into_inner();
    let forbidden = alerts.get_alert(from("sales", GetAlertRequest { alert_id: 1 })).await.unwrap_err();
    let other_database = alerts.get_alert(from("warehouse", GetAlertRequest { alert_id: 2 })).await.unwrap_err();

    assert_eq!(sales.alerts.iter().map(|alert| alert.id).collect::<Vec<_>>(), vec![2]);
    assert_eq!(sales.total_size, 1);
    assert!(warehouse.alerts.is_empty(), "both alerts are on cards of database 1");
    assert_eq!((forbidden.code(), other_database.code()), (Code::PermissionDenied, Code::PermissionDenied));
    assert_names_absent(&sales, &FORBIDDEN_NAMES);
}

#[tokio::test]
async fn a_caller_restores_from_the_trash_what_it_archived_and_nothing_else() {
    let stack = policed(POLICY, None).await;
    let mut cards = CardServiceClient::new(stack.channel.clone());
    let mut dashboards = DashboardServiceClient::new(stack.channel.clone());
    let mut collections = CollectionServiceClient::new(stack.channel.clone());
    let card =
        |card_id: i64, archived: bool| UpdateCardRequest { card_id, archived: Some(archived), ..Default::default() };
    let dashboard = |dashboard_id: i64, archived: bool| UpdateDashboardRequest {
        dashboard_id,
        archived: Some(archived),
        ..Default::default()
    };
    let folder = |collection_id: i64, archived: bool| UpdateCollectionRequest {
        collection_id,
        archived: Some(archived),
        ..Default::default()
    };

    cards.update_card(from("sales-editor", card(1, true))).await.unwrap();
    let in_trash = cards.get_card(from("sales-editor", GetCardRequest { card_id: 1, legacy_mbql: false })).await;
    let restored_card = cards.update_card(from("sales-editor", card(1, false))).await.unwrap().into_inner();
    dashboards.update_dashboard(from("sales-editor", dashboard(1, true))).await.unwrap();
    let restored_dashboard = dashboards.update_dashboard(from("sales-editor", dashboard(1, false))).await.unwrap();
    collections.update_collection(from("sales-editor", folder(8, true))).await.unwrap();
    let restored_collection = collections.update_collection(from("sales-editor", folder(8, false))).await.unwrap();
    cards.update_card(from("admin", card(9, true))).await.unwrap();
    let foreign = cards.update_card(from("sales-editor", card(9, false))).await.unwrap_err();

    assert!(in_trash.unwrap().into_inner().archived, "a card it archived stays readable in the Trash");
    assert!(!restored_card.archived);
    assert_eq!(restored_card.collection_id, collection(2));
    assert!(!restored_dashboard.into_inner().archived);
    assert!(!restored_collection.into_inner().archived);
    assert_eq!(foreign.code(), Code::PermissionDenied, "card 9 was archived from Finance (4), outside its collections");
}
