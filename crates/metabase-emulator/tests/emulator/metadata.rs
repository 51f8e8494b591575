//! Tables, fields and their values, derived from the sample database: what `dbt-metabase` and
//! an MBQL author read, and the edits `dbt-metabase models` writes back.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, start};

fn field<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["fields"].as_array().unwrap().iter().find(|field| field["name"] == name).unwrap_or_else(|| panic!("{name}"))
}

#[tokio::test]
async fn query_metadata_gives_fields_with_types_and_foreign_key_targets() {
    let emulator = start().await;

    let orders = emulator.get_json("/api/table/2/query_metadata", 200).await;

    assert_eq!(
        (orders["name"].as_str(), orders["schema"].as_str(), orders["db_id"].as_i64()),
        (Some("ORDERS"), Some("PUBLIC"), Some(1))
    );
    assert_eq!(orders["db"]["name"], "Sample Database");
    let user_id = field(&orders, "USER_ID");
    assert_eq!(
        (user_id["base_type"].as_str(), user_id["semantic_type"].as_str()),
        (Some("type/Integer"), Some("type/FK"))
    );
    assert_eq!(user_id["target"]["name"], "ID");
    assert_eq!(user_id["target"]["table_id"], 3, "orders.user_id points at people.id");
    assert_eq!(user_id["fk_target_field_id"], user_id["target"]["id"]);
    assert_eq!(field(&orders, "ID")["semantic_type"], "type/PK");
    assert_eq!(orders["fields"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn database_metadata_lists_every_table_with_fields_and_schemas_list_public() {
    let emulator = start().await;

    let metadata = emulator.get_json("/api/database/1/metadata?include_hidden=true", 200).await;
    let schemas = emulator.get_json("/api/database/1/schemas", 200).await;
    let public = emulator.get_json("/api/database/1/schema/PUBLIC", 200).await;
    let missing = emulator.get("/api/database/1/schema/NOPE").await;
    let tables = emulator.get_json("/api/table", 200).await;

    let names: Vec<&str> =
        metadata["tables"].as_array().unwrap().iter().map(|table| table["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["PRODUCTS", "ORDERS", "PEOPLE", "REVIEWS", "EVENTS"]);
    assert!(
        metadata["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|table| table["fields"].as_array().is_some_and(|fields| !fields.is_empty()))
    );
    assert_eq!(schemas, json!(["PUBLIC"]));
    assert_eq!(public.as_array().unwrap().len(), 5);
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(tables[0]["db"]["id"], 1);
    assert!(tables[0]["db"].get("details").is_some(), "an admin sees the database details dbt-metabase filters on");
}

#[tokio::test]
async fn field_values_are_the_distinct_values_of_a_category_and_empty_for_a_number() {
    let emulator = start().await;
    let products = emulator.get_json("/api/table/1/query_metadata", 200).await;
    let category = field(&products, "CATEGORY")["id"].as_i64().unwrap();
    let price = field(&products, "PRICE")["id"].as_i64().unwrap();

    let categories = emulator.get_json(&format!("/api/field/{category}/values"), 200).await;
    let prices = emulator.get_json(&format!("/api/field/{price}/values"), 200).await;
    let one = emulator.get_json(&format!("/api/field/{category}"), 200).await;

    assert_eq!(categories["field_id"], category);
    assert_eq!(categories["values"], json!([["Doohickey"], ["Gadget"], ["Gizmo"], ["Widget"]]));
    assert_eq!(categories["has_more_values"], false);
    assert_eq!(prices["values"], json!([]));
    assert_eq!((one["has_field_values"].as_str(), one["table"]["name"].as_str()), (Some("list"), Some("PRODUCTS")));
}

#[tokio::test]
async fn table_and_field_edits_show_in_later_reads() {
    let emulator = start().await;

    let table = emulator
        .call(
            Method::PUT,
            "/api/table/2",
            Some(ADMIN_KEY),
            Some(json!({"description": "From dbt", "display_name": "Sales orders"})),
        )
        .await;
    let edited_field = emulator
        .call(
            Method::PUT,
            "/api/field/13",
            Some(ADMIN_KEY),
            Some(json!({"description": "Before tax", "semantic_type": "type/Currency"})),
        )
        .await;
    let order = emulator
        .call(
            Method::PUT,
            "/api/table/2/fields/order",
            Some(ADMIN_KEY),
            Some(json!([18, 17, 16, 15, 14, 13, 12, 11, 10])),
        )
        .await;
    let analyst = emulator
        .call(Method::PUT, "/api/table/2", Some(crate::support::ANALYST_KEY), Some(json!({"description": "no"})))
        .await;

    assert_eq!((table.status().as_u16(), edited_field.status().as_u16(), order.status().as_u16()), (200, 200, 200));
    assert_eq!(analyst.status().as_u16(), 403);
    let metadata = emulator.get_json("/api/table/2/query_metadata", 200).await;
    assert_eq!(
        (metadata["description"].as_str(), metadata["display_name"].as_str()),
        (Some("From dbt"), Some("Sales orders"))
    );
    assert_eq!(metadata["field_order"], "custom");
    let subtotal = field(&metadata, "SUBTOTAL");
    assert_eq!(
        (subtotal["description"].as_str(), subtotal["semantic_type"].as_str()),
        (Some("Before tax"), Some("type/Currency"))
    );
}

#[tokio::test]
async fn unknown_tables_and_fields_are_404_and_other_databases_have_no_tables() {
    let emulator = start().await;

    let table = emulator.get("/api/table/999/query_metadata").await;
    let field = emulator.get("/api/field/999").await;
    let values = emulator.get("/api/field/999/values").await;

    assert_eq!((table.status().as_u16(), field.status().as_u16(), values.status().as_u16()), (404, 404, 404));
    let (status, created) = emulator
        .post(
            "/api/database",
            ADMIN_KEY,
            json!({"name": "Other", "engine": "postgres", "details": {"host": "h", "port": 5432}}),
        )
        .await;
    assert_eq!(status, 200);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(emulator.get_json(&format!("/api/database/{id}/schemas"), 200).await, json!([]));
    assert_eq!(emulator.get_json(&format!("/api/database/{id}/metadata"), 200).await["tables"], json!([]));
}
