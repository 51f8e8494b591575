//! The seeded instance: the users, groups, collections, saved questions, dashboards and alerts a
//! new Metabase with the sample database and a little history would have.

use serde_json::{Map, Value, json};

use super::permissions::Access;
use super::{
    ADMINISTRATORS_GROUP_ID, ALL_USERS_GROUP_ID, ApiKey, AppState, Card, Collection, DashCard, Dashboard, DashboardTab,
    Database, Group, Membership, SeedCredentials, TRASH_COLLECTION_ID, User, entity_id,
};
use crate::catalog::{Catalog, SAMPLE_DATABASE_ID};

pub(super) const SEEDED_AT: &str = "2026-01-15T09:30:00.000000Z";

/// The seeded admin user.
pub(super) const ADMIN_USER_ID: i64 = 1;
/// The seeded analyst user.
pub(super) const ANALYST_USER_ID: i64 = 2;
/// The narrow group the analyst and the analyst API key belong to.
pub(super) const ANALYSTS_GROUP_ID: i64 = 3;

pub(super) fn seed(state: &mut AppState, credentials: &SeedCredentials) {
    seed_users(state, credentials);
    seed_groups(state);
    seed_collections(state);
    seed_databases(state);
    let catalog = Catalog::sample();
    seed_cards(state, &catalog);
    seed_dashboards(state);
    super::seed_alerts::seed_alerts(state);
    state.permissions_revision = 1;
}

fn person(id: i64, email: &str, first: &str, last: &str, password: Option<&str>, active: bool) -> User {
    User {
        id,
        email: email.into(),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        password: password.map(Into::into),
        is_active: active,
        kind: "personal",
        date_joined: SEEDED_AT.into(),
        last_login: None,
        updated_at: SEEDED_AT.into(),
        locale: None,
        login_attributes: None,
    }
}

fn seed_users(state: &mut AppState, credentials: &SeedCredentials) {
    let users = [
        person(ADMIN_USER_ID, &credentials.admin_email, "Ada", "Admin", Some(&credentials.admin_password), true),
        person(
            ANALYST_USER_ID,
            &credentials.analyst_email,
            "Ana",
            "Analyst",
            Some(&credentials.analyst_password),
            true,
        ),
        person(3, "rita@example.com", "Rita", "Reader", Some("emulator-rita"), true),
        person(4, "dev@example.com", "Dev", "Departed", Some("emulator-dev"), false),
    ];
    for user in users {
        state.users.insert(user.id, user);
    }
    for (id, name, key) in [
        (5, "Emulator admin key", &credentials.admin_api_key),
        (6, "Emulator analyst key", &credentials.analyst_api_key),
    ] {
        let mut user = person(id, &format!("api-key-user-{id}@api-key.invalid"), name, "", None, true);
        user.last_name = None;
        user.kind = "api-key";
        state.users.insert(id, user);
        state.api_keys.push(ApiKey { key: key.clone(), user_id: id });
    }
}

fn seed_groups(state: &mut AppState) {
    for (id, name, magic) in [
        (ALL_USERS_GROUP_ID, "All Users", Some("all-internal-users")),
        (ADMINISTRATORS_GROUP_ID, "Administrators", Some("admin")),
        (ANALYSTS_GROUP_ID, "Analysts", None),
        (4, "Marketing", None),
    ] {
        state
            .groups
            .insert(id, Group { id, name: name.into(), magic_group_type: magic, entity_id: entity_id("group", id) });
    }
    let memberships = [(1, 1), (1, 2), (2, 1), (2, 3), (3, 1), (3, 4), (4, 1), (5, 1), (5, 2), (6, 1), (6, 3)];
    for (index, (user_id, group_id)) in memberships.into_iter().enumerate() {
        let id = index as i64 + 1;
        state.memberships.insert(id, Membership { id, group_id, user_id, is_group_manager: false });
    }
    let analyst_queries = json!({
        "view-data": "unrestricted",
        "create-queries": "query-builder-and-native",
        "download": {"schemas": "full"}
    });
    state
        .data_permissions
        .insert(ALL_USERS_GROUP_ID, [(SAMPLE_DATABASE_ID, json!({"view-data": "unrestricted"}))].into());
    state.data_permissions.insert(ANALYSTS_GROUP_ID, [(SAMPLE_DATABASE_ID, analyst_queries)].into());
    state.data_permissions.insert(
        4,
        [(SAMPLE_DATABASE_ID, json!({"view-data": "unrestricted", "create-queries": "query-builder"}))].into(),
    );
}

fn collection(id: i64, name: &str, location: &str, owner: Option<i64>, kind: Option<&str>) -> Collection {
    Collection {
        id,
        name: name.into(),
        description: None,
        location: location.into(),
        personal_owner_id: owner,
        archived: false,
        archived_directly: None,
        authority_level: None,
        kind: kind.map(Into::into),
        namespace: None,
        entity_id: entity_id("collection", id),
        created_at: SEEDED_AT.into(),
    }
}

fn seed_collections(state: &mut AppState) {
    let mut analytics = collection(1, "Analytics", "/", None, None);
    analytics.description = Some("Company-wide reporting".into());
    analytics.authority_level = Some("official".into());
    let collections = [
        analytics,
        collection(2, "Sales", "/1/", None, None),
        collection(3, "Marketing", "/1/", None, None),
        collection(4, "Finance", "/", None, None),
        collection(TRASH_COLLECTION_ID, "Trash", "/", None, Some("trash")),
        collection(6, "Ada Admin's Personal Collection", "/", Some(ADMIN_USER_ID), None),
        collection(7, "Ana Analyst's Personal Collection", "/", Some(ANALYST_USER_ID), None),
        collection(8, "Regional", "/1/2/", None, None),
    ];
    for collection in collections {
        state.collections.insert(collection.id, collection);
    }
    let grants = [
        (ANALYSTS_GROUP_ID, None, Access::Read),
        (ANALYSTS_GROUP_ID, Some(1), Access::Read),
        (ANALYSTS_GROUP_ID, Some(2), Access::Read),
        (ANALYSTS_GROUP_ID, Some(8), Access::Read),
        (ANALYSTS_GROUP_ID, Some(3), Access::Write),
        (4, None, Access::Read),
        (4, Some(1), Access::Read),
        (4, Some(3), Access::Write),
    ];
    for (group, collection, access) in grants {
        state.collection_permissions.insert((group, collection), access);
    }
}

fn seed_databases(state: &mut AppState) {
    let mut details = Map::new();
    details.insert("db".into(), json!("file:/plugins/sample-database.db"));
    state.databases.insert(
        SAMPLE_DATABASE_ID,
        Database {
            id: SAMPLE_DATABASE_ID,
            name: "Sample Database".into(),
            engine: "h2".into(),
            details,
            is_sample: true,
            is_full_sync: true,
            is_on_demand: false,
            auto_run_queries: true,
            description: Some("Some example data for you to play around with.".into()),
            settings: Map::new(),
            created_at: SEEDED_AT.into(),
            updated_at: SEEDED_AT.into(),
            extra: Map::new(),
        },
    );
}

fn field(catalog: &Catalog, table: &str, name: &str) -> i64 {
    catalog
        .table_by_name(table)
        .and_then(|table| table.fields.iter().find(|field| field.name == name))
        .map_or(0, |field| field.id)
}

fn table(catalog: &Catalog, name: &str) -> i64 {
    catalog.table_by_name(name).map_or(0, |table| table.id)
}

fn native_query(sql: &str) -> Value {
    json!({
        "lib/type": "mbql/query",
        "database": SAMPLE_DATABASE_ID,
        "stages": [{"lib/type": "mbql.stage/native", "native": sql, "template-tags": {}}]
    })
}

fn mbql_query(mut stage: Value) -> Value {
    stage["lib/type"] = json!("mbql.stage/mbql");
    json!({"lib/type": "mbql/query", "database": SAMPLE_DATABASE_ID, "stages": [stage]})
}

/// Returns the real UUID a seeded clause carries for a short hexadecimal tag (`a1`), as Metabase
/// writes a random one into every clause's `lib/uuid`.
fn clause_uuid(tag: &str) -> String {
    format!("5eed0000-0000-4000-8000-{tag:0>12}")
}

fn field_ref(id: i64, tag: &str, extra: Value) -> Value {
    let mut options = json!({"lib/uuid": clause_uuid(tag)});
    if let (Some(options), Some(extra)) = (options.as_object_mut(), extra.as_object()) {
        options.extend(extra.clone());
    }
    json!(["field", options, id])
}

/// A seeded card: id, name, display, collection, type, query.
type SeedCard = (i64, &'static str, &'static str, Option<i64>, &'static str, Value);

fn seed_cards(state: &mut AppState, catalog: &Catalog) {
    let orders = table(catalog, "ORDERS");
    let products = table(catalog, "PRODUCTS");
    let people = table(catalog, "PEOPLE");
    let created_month = field_ref(field(catalog, "ORDERS", "CREATED_AT"), "b1", json!({"temporal-unit": "month"}));
    let total = field_ref(field(catalog, "ORDERS", "TOTAL"), "b2", json!({}));
    let cards: Vec<SeedCard> = vec![
        (1, "Orders", "table", Some(2), "question", mbql_query(json!({"source-table": orders}))),
        (
            2,
            "Orders per month",
            "line",
            Some(2),
            "question",
            mbql_query(
                json!({"source-table": orders, "aggregation": [["count", {"lib/uuid": clause_uuid("a1")}]], "breakout": [created_month.clone()]}),
            ),
        ),
        (
            3,
            "Revenue per month",
            "bar",
            Some(1),
            "question",
            mbql_query(
                json!({"source-table": orders, "aggregation": [["sum", {"lib/uuid": clause_uuid("a2")}, total.clone()]], "breakout": [created_month]}),
            ),
        ),
        (
            4,
            "Top rated products",
            "table",
            Some(3),
            "question",
            native_query("SELECT TITLE, CATEGORY, RATING FROM PRODUCTS ORDER BY RATING DESC, ID LIMIT 10"),
        ),
        (
            5,
            "People by source",
            "pie",
            Some(3),
            "question",
            mbql_query(
                json!({"source-table": people, "aggregation": [["count", {"lib/uuid": clause_uuid("a3")}]], "breakout": [field_ref(field(catalog, "PEOPLE", "SOURCE"), "b3", json!({}))]}),
            ),
        ),
        (6, "Product catalog", "table", Some(1), "model", mbql_query(json!({"source-table": products}))),
        (7, "All events", "table", Some(1), "question", native_query("SELECT * FROM EVENTS ORDER BY ID")),
        (
            8,
            "Big orders",
            "table",
            Some(8),
            "question",
            mbql_query(
                json!({"source-table": orders, "filters": [[">", {"lib/uuid": clause_uuid("f1")}, total, 150]]}),
            ),
        ),
        (
            9,
            "Revenue by quarter",
            "table",
            Some(4),
            "question",
            native_query(
                "SELECT substr(CREATED_AT, 1, 4) AS YEAR, (CAST(substr(CREATED_AT, 6, 2) AS INTEGER) + 2) / 3 AS QUARTER, ROUND(SUM(TOTAL), 2) AS REVENUE FROM ORDERS GROUP BY 1, 2 ORDER BY 1, 2",
            ),
        ),
        (
            10,
            "Recent reviews",
            "table",
            None,
            "question",
            native_query("SELECT * FROM REVIEWS ORDER BY CREATED_AT DESC LIMIT 50"),
        ),
        (11, "Analyst scratch", "scalar", Some(7), "question", native_query("SELECT COUNT(*) AS ORDERS FROM ORDERS")),
    ];
    for (id, name, display, collection_id, card_type, dataset_query) in cards {
        let is_native = dataset_query["stages"][0]["lib/type"] == "mbql.stage/native";
        let table_id = dataset_query["stages"][0]["source-table"].as_i64();
        state.cards.insert(
            id,
            Card {
                id,
                entity_id: entity_id("card", id),
                name: name.into(),
                description: None,
                card_type: card_type.into(),
                display: display.into(),
                dataset_query,
                visualization_settings: json!({}),
                collection_id,
                collection_position: None,
                archived: false,
                archived_directly: false,
                creator_id: if collection_id == Some(7) { ANALYST_USER_ID } else { ADMIN_USER_ID },
                created_at: SEEDED_AT.into(),
                updated_at: SEEDED_AT.into(),
                parameters: json!([]),
                parameter_mappings: json!([]),
                database_id: SAMPLE_DATABASE_ID,
                table_id,
                query_type: if is_native { "native" } else { "query" }.into(),
                cache_ttl: None,
                dashboard_id: None,
                result_metadata: Value::Null,
                extra: Map::new(),
            },
        );
    }
}

fn dashcard(id: i64, card_id: i64, tab: Option<i64>, row: i64, col: i64) -> DashCard {
    DashCard {
        id,
        card_id: Some(card_id),
        dashboard_tab_id: tab,
        row,
        col,
        size_x: 12,
        size_y: 6,
        parameter_mappings: json!([]),
        visualization_settings: json!({}),
        series: json!([]),
        inline_parameters: json!([]),
        created_at: SEEDED_AT.into(),
        updated_at: SEEDED_AT.into(),
    }
}

fn tab(id: i64, name: &str, position: i64) -> DashboardTab {
    DashboardTab {
        id,
        name: name.into(),
        position,
        entity_id: entity_id("tab", id),
        created_at: SEEDED_AT.into(),
        updated_at: SEEDED_AT.into(),
    }
}

fn dashboard(id: i64, name: &str, collection_id: i64, dashcards: Vec<DashCard>, tabs: Vec<DashboardTab>) -> Dashboard {
    Dashboard {
        id,
        entity_id: entity_id("dashboard", id),
        name: name.into(),
        description: None,
        collection_id: Some(collection_id),
        collection_position: None,
        archived: false,
        archived_directly: false,
        parameters: json!([]),
        creator_id: ADMIN_USER_ID,
        created_at: SEEDED_AT.into(),
        updated_at: SEEDED_AT.into(),
        width: "fixed".into(),
        auto_apply_filters: true,
        cache_ttl: None,
        dashcards,
        tabs,
        extra: Map::new(),
    }
}

fn seed_dashboards(state: &mut AppState) {
    let sales = dashboard(
        1,
        "Sales overview",
        2,
        vec![dashcard(1, 1, Some(1), 0, 0), dashcard(2, 2, Some(1), 0, 12), dashcard(3, 3, Some(2), 0, 0)],
        vec![tab(1, "Overview", 0), tab(2, "Revenue", 1)],
    );
    let marketing =
        dashboard(2, "Marketing pulse", 3, vec![dashcard(4, 4, None, 0, 0), dashcard(5, 5, None, 6, 0)], vec![]);
    state.dashboards.insert(sales.id, sales);
    state.dashboards.insert(marketing.id, marketing);
}
