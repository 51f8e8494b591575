//! MetadataService through the gateway against the emulator: schemas, tables with their fields
//! and foreign keys, database metadata, fields and their values; and the narrowing attacks: a
//! caller narrowed to another database neither lists nor reads a table or field of database 1.

use metabase_grpc::pb::v1::metadata_service_client::MetadataServiceClient;
use metabase_grpc::pb::v1::*;
use tonic::Code;

use crate::policed::{Policed, from, policed};

/// `admin` sees everything; `sales` is narrowed to the sample database (1); `warehouse` to a
/// database that has no tables (1001); `cards-only` has no `databases` grant.
const POLICY: &str = r#"version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: admin
    grants: { "*": full }
  - match: sales
    grants: { databases: read }
    databases: [1]
  - match: warehouse
    grants: { databases: read }
    databases: [1001]
  - match: cards-only
    grants: { cards: read }
"#;

/// The id of `PRODUCTS.CATEGORY` in the sample catalog.
const CATEGORY_FIELD: i64 = 4;

fn client(stack: &Policed) -> MetadataServiceClient<tonic::transport::Channel> {
    MetadataServiceClient::new(stack.channel.clone())
}

#[tokio::test]
async fn an_agent_reads_schemas_tables_fields_foreign_keys_and_values() {
    let stack = policed(POLICY, None).await;
    let mut metadata = client(&stack);

    let schemas = metadata.list_schemas(from("sales", ListSchemasRequest { database_id: 1 })).await.unwrap();
    let tables = metadata
        .list_tables(from(
            "sales",
            ListTablesRequest { database_id: 1, schema: Some("PUBLIC".into()), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    let orders = metadata.get_table(from("sales", GetTableRequest { table_id: 2 })).await.unwrap().into_inner();
    let database = metadata
        .get_database_metadata(from("sales", GetDatabaseMetadataRequest { database_id: 1, include_hidden: true }))
        .await
        .unwrap()
        .into_inner();
    let category =
        metadata.get_field(from("sales", GetFieldRequest { field_id: CATEGORY_FIELD })).await.unwrap().into_inner();
    let values = metadata
        .get_field_values(from("sales", GetFieldValuesRequest { field_id: CATEGORY_FIELD }))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(schemas.into_inner().schemas, vec!["PUBLIC"]);
    assert_eq!(
        tables.tables.iter().map(|table| table.name.as_str()).collect::<Vec<_>>(),
        ["PRODUCTS", "ORDERS", "PEOPLE", "REVIEWS", "EVENTS"]
    );
    assert_eq!(tables.total_size, 5);
    let user_id = orders.fields.iter().find(|field| field.name == "USER_ID").expect("ORDERS.USER_ID");
    assert_eq!((user_id.base_type.as_str(), user_id.semantic_type.as_deref()), ("type/Integer", Some("type/FK")));
    let target = user_id.target.as_ref().expect("the FK target is hydrated");
    assert_eq!((target.name.as_str(), target.table_id, Some(target.id)), ("ID", 3, user_id.fk_target_field_id));
    assert_eq!(database.tables.len(), 5);
    assert!(database.tables.iter().all(|table| !table.fields.is_empty()));
    assert_eq!(category.table.as_ref().map(|table| table.name.as_str()), Some("PRODUCTS"));
    assert_eq!(category.has_field_values.as_deref(), Some("list"));
    let names: Vec<String> = values.values.iter().map(|value| format!("{:?}", value.value)).collect();
    assert_eq!((values.field_id, values.values.len()), (CATEGORY_FIELD, 4), "{names:?}");
    assert!(names[0].contains("Doohickey"), "{names:?}");
    assert!(!format!("{orders:?}{database:?}").contains("\"details\""), "connection details never leave");
}

#[tokio::test]
async fn a_table_of_a_forbidden_database_is_neither_listed_nor_read() {
    let stack = policed(POLICY, None).await;
    let mut metadata = client(&stack);

    let listed = metadata.list_tables(from("warehouse", ListTablesRequest::default())).await.unwrap().into_inner();
    let all_of_sales = metadata.list_tables(from("sales", ListTablesRequest::default())).await.unwrap().into_inner();
    let denials = [
        metadata
            .list_tables(from("warehouse", ListTablesRequest { database_id: 1, ..Default::default() }))
            .await
            .unwrap_err(),
        metadata.list_schemas(from("warehouse", ListSchemasRequest { database_id: 1 })).await.unwrap_err(),
        metadata.get_table(from("warehouse", GetTableRequest { table_id: 2 })).await.unwrap_err(),
        metadata
            .get_database_metadata(from(
                "warehouse",
                GetDatabaseMetadataRequest { database_id: 1, include_hidden: false },
            ))
            .await
            .unwrap_err(),
        metadata.get_field(from("warehouse", GetFieldRequest { field_id: CATEGORY_FIELD })).await.unwrap_err(),
        metadata
            .get_field_values(from("warehouse", GetFieldValuesRequest { field_id: CATEGORY_FIELD }))
            .await
            .unwrap_err(),
    ];

    assert!(listed.tables.is_empty(), "{listed:?}");
    assert_eq!(listed.total_size, 0);
    assert_eq!(all_of_sales.total_size, 5);
    for denial in &denials {
        assert_eq!(denial.code(), Code::PermissionDenied, "{denial:?}");
        assert!(
            !denial.message().contains("PRODUCTS") && !denial.message().contains("Doohickey"),
            "{}",
            denial.message()
        );
    }
    assert!(denials[2].message().contains("database 1 is outside its databases"), "{}", denials[2].message());
}

#[tokio::test]
async fn metadata_needs_the_databases_grant_and_unknown_ids_are_not_found() {
    let stack = policed(POLICY, None).await;
    let mut metadata = client(&stack);

    let no_grant = metadata.get_table(from("cards-only", GetTableRequest { table_id: 2 })).await.unwrap_err();
    let unknown_table = metadata.get_table(from("admin", GetTableRequest { table_id: 999 })).await.unwrap_err();
    let unknown_field = metadata.get_field(from("admin", GetFieldRequest { field_id: 999 })).await.unwrap_err();
    let schema_alone = metadata
        .list_tables(from("admin", ListTablesRequest { schema: Some("PUBLIC".into()), ..Default::default() }))
        .await
        .unwrap_err();

    assert_eq!(no_grant.code(), Code::PermissionDenied);
    assert_eq!((unknown_table.code(), unknown_field.code()), (Code::NotFound, Code::NotFound));
    assert_eq!(schema_alone.code(), Code::InvalidArgument);
}
