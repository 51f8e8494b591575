//! MetadataService: schemas, tables, fields and field values, narrowed to the caller's
//! databases. A request that names a database is checked before Metabase is asked; one that
//! names a table or field is checked against the database Metabase says it belongs to.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::metabase::{DatabaseId, FieldId, TableId};
use crate::middleware::call::CallContext;
use crate::pb::v1::metadata_service_server::MetadataService;
use crate::pb::v1::{
    DatabaseMetadata, Field, GetDatabaseMetadataRequest, GetFieldRequest, GetFieldValuesRequest,
    GetFieldValuesResponse, GetTableRequest, ListSchemasRequest, ListSchemasResponse, ListTablesRequest,
    ListTablesResponse, TableMetadata,
};

/// Returns the database a field belongs to: from its hydrated table, else from its table.
async fn field_database(call: &CallContext, field: &crate::metabase::models::Field) -> Result<i64, Status> {
    if let Some(database) = field.table.as_ref().and_then(|table| table.db_id) {
        return Ok(database.get());
    }
    let table_id = field.table_id.ok_or_else(|| call.denial(format!("field {} names no table", field.id)))?;
    let table = call.client.metadata().table(table_id).await.map_err(failed(format!("table {table_id}")))?;
    Ok(table.db_id.map(i64::from).unwrap_or_default())
}

/// Reads a field and checks the database it lives in against the caller's; both are noted as
/// what the call acted on.
async fn checked_field(call: &CallContext, id: i64) -> Result<crate::metabase::models::Field, Status> {
    call.note_resource("field", id);
    let field = call.client.metadata().field(FieldId(id)).await.map_err(failed(format!("field {id}")))?;
    let database = field_database(call, &field).await?;
    call.note_resource("database", database);
    call.check_database(database)?;
    Ok(field)
}

/// The MetadataService handlers.
#[derive(Debug, Default)]
pub(crate) struct MetadataApi;

#[tonic::async_trait]
impl MetadataService for MetadataApi {
    async fn list_schemas(
        &self,
        request: Request<ListSchemasRequest>,
    ) -> Result<Response<ListSchemasResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().database_id;
        call.note_resource("database", id);
        call.check_database(id)?;
        let schemas = call.client.metadata().schemas(DatabaseId(id)).await.map_err(failed(format!("database {id}")))?;
        Ok(Response::new(ListSchemasResponse { schemas }))
    }

    async fn list_tables(&self, request: Request<ListTablesRequest>) -> Result<Response<ListTablesResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let database = request.database_id;
        let listed = match (database, request.schema.as_deref()) {
            (0, Some(_)) => {
                return Err(
                    crate::error::GatewayError::invalid_argument("schema", "a schema needs its database_id").into()
                );
            }
            (0, None) => call.client.metadata().tables().await.map_err(failed("tables"))?,
            (id, schema) => {
                call.note_resource("database", id);
                call.check_database(id)?;
                match schema {
                    Some(schema) => call
                        .client
                        .metadata()
                        .schema_tables(DatabaseId(id), schema)
                        .await
                        .map_err(failed(format!("schema {schema} of database {id}")))?,
                    None => call.client.metadata().tables().await.map_err(failed("tables"))?,
                }
            }
        };
        let visibility = super::visibility(&call).await?;
        let tables: Vec<TableMetadata> = listed
            .into_iter()
            .map(TableMetadata::from)
            .filter(|table| database == 0 || table.db_id == database)
            .filter_map(|table| crate::narrow::table(&visibility, table))
            .collect();
        let (tables, total) = page.slice(tables);
        Ok(Response::new(ListTablesResponse {
            tables,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_table(&self, request: Request<GetTableRequest>) -> Result<Response<TableMetadata>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().table_id;
        call.note_resource("table", id);
        let table = call.client.metadata().table(TableId(id)).await.map_err(failed(format!("table {id}")))?;
        let database = table.db_id.map(i64::from).unwrap_or_default();
        call.note_resource("database", database);
        call.check_database(database)?;
        Ok(Response::new(TableMetadata::from(table)))
    }

    async fn get_database_metadata(
        &self,
        request: Request<GetDatabaseMetadataRequest>,
    ) -> Result<Response<DatabaseMetadata>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.database_id;
        call.note_resource("database", id);
        call.check_database(id)?;
        let metadata = call
            .client
            .metadata()
            .database(DatabaseId(id), request.include_hidden)
            .await
            .map_err(failed(format!("database {id}")))?;
        Ok(Response::new(DatabaseMetadata::from(metadata)))
    }

    async fn get_field(&self, request: Request<GetFieldRequest>) -> Result<Response<Field>, Status> {
        let call = CallContext::of(&request)?;
        let field = checked_field(&call, request.into_inner().field_id).await?;
        Ok(Response::new(Field::from(field)))
    }

    async fn get_field_values(
        &self,
        request: Request<GetFieldValuesRequest>,
    ) -> Result<Response<GetFieldValuesResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().field_id;
        // The values name no database, so the field is read first to check where it lives.
        checked_field(&call, id).await?;
        let values = call.client.metadata().field_values(FieldId(id)).await.map_err(failed(format!("field {id}")))?;
        let mut response = GetFieldValuesResponse::from(values);
        response.field_id = id;
        Ok(Response::new(response))
    }
}
