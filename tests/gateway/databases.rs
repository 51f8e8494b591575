//! DatabaseService through the gateway.

use metabase_grpc::pb::v1::{
    CreateDatabaseRequest, GetDatabaseRequest, ListDatabasesRequest, SyncDatabaseSchemaRequest, UpdateDatabaseRequest,
};
use serde_json::json;

use crate::support::{start, structure};

#[tokio::test]
async fn list_get_create_update_and_sync_a_database() {
    let stack = start().await;
    let mut databases = stack.databases();
    let listed = databases
        .list_databases(ListDatabasesRequest { include_tables: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 1);
    let sample = &listed.databases[0];
    assert!(sample.is_sample);
    assert_eq!(
        sample.tables.iter().map(|table| table.name.as_str()).collect::<Vec<_>>(),
        vec!["PRODUCTS", "ORDERS", "PEOPLE", "REVIEWS", "EVENTS"]
    );

    let without_tables = databases
        .get_database(GetDatabaseRequest { database_id: 1, include_tables: false })
        .await
        .unwrap()
        .into_inner();
    assert!(without_tables.tables.is_empty());
    assert_eq!(without_tables.engine, "h2");

    let created = databases
        .create_database(CreateDatabaseRequest {
            name: "Warehouse".into(),
            engine: "postgres".into(),
            details: structure(json!({"host": "warehouse.internal", "port": 5432, "dbname": "analytics", "user": "reader", "password": "hunter2-db-secret"})),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let details = created.details.expect("admins see details");
    assert_eq!(
        details.fields["password"],
        metabase_grpc::convert::json::to_proto_value(json!("**MetabasePass**")),
        "Metabase's mask passes through"
    );

    let updated = databases
        .update_database(UpdateDatabaseRequest {
            database_id: created.id,
            name: Some("Warehouse (primary)".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "Warehouse (primary)");
    let synced =
        databases.sync_database_schema(SyncDatabaseSchemaRequest { database_id: 1 }).await.unwrap().into_inner();
    assert_eq!(synced.status, "ok");
    let listed = databases.list_databases(ListDatabasesRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.total_size, 2, "the new database shows on a second read");
}
