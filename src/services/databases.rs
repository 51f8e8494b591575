//! DatabaseService: connected warehouses. Connection details carry credentials and are never
//! logged; Metabase masks their secrets before the gateway sees them.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::metabase::{DatabaseCreate, DatabaseId, DatabaseUpdate};
use crate::middleware::call::CallContext;
use crate::pb::v1::database_service_server::DatabaseService;
use crate::pb::v1::{
    CreateDatabaseRequest, Database, GetDatabaseRequest, ListDatabasesRequest, ListDatabasesResponse,
    SyncDatabaseSchemaRequest, SyncDatabaseSchemaResponse, UpdateDatabaseRequest,
};

/// The DatabaseService handlers.
#[derive(Debug, Default)]
pub(crate) struct DatabaseApi;

#[tonic::async_trait]
impl DatabaseService for DatabaseApi {
    async fn list_databases(
        &self,
        request: Request<ListDatabasesRequest>,
    ) -> Result<Response<ListDatabasesResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let listed = call.client.databases().list(request.include_tables).await.map_err(failed("databases"))?;
        let visibility = super::visibility(&call).await?;
        let converted: Vec<Database> = listed
            .data
            .into_iter()
            .map(Database::from)
            .filter_map(|database| crate::narrow::database(&visibility, database))
            .collect();
        let (converted, total) = page.slice(converted);
        Ok(Response::new(ListDatabasesResponse {
            databases: converted,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_database(&self, request: Request<GetDatabaseRequest>) -> Result<Response<Database>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.database_id;
        call.note_resource("database", id);
        call.check_database(id)?;
        let database = call
            .client
            .databases()
            .get(DatabaseId(id), request.include_tables)
            .await
            .map_err(failed(format!("database {id}")))?;
        Ok(Response::new(Database::from(database)))
    }

    async fn create_database(&self, request: Request<CreateDatabaseRequest>) -> Result<Response<Database>, Status> {
        let call = CallContext::of(&request)?;
        if !call.sees_database(i64::MAX) {
            call.check_database(0)?;
        }
        let body = DatabaseCreate::try_from(request.into_inner())?;
        let database = call.client.databases().create(&body).await.map_err(failed("new database"))?;
        Ok(Response::new(Database::from(database)))
    }

    async fn update_database(&self, request: Request<UpdateDatabaseRequest>) -> Result<Response<Database>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.database_id;
        call.note_resource("database", id);
        call.check_database(id)?;
        let body = DatabaseUpdate::from(request);
        let database =
            call.client.databases().update(DatabaseId(id), &body).await.map_err(failed(format!("database {id}")))?;
        Ok(Response::new(Database::from(database)))
    }

    async fn sync_database_schema(
        &self,
        request: Request<SyncDatabaseSchemaRequest>,
    ) -> Result<Response<SyncDatabaseSchemaResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().database_id;
        call.note_resource("database", id);
        call.check_database(id)?;
        let answer =
            call.client.databases().sync_schema(DatabaseId(id)).await.map_err(failed(format!("database {id}")))?;
        Ok(Response::new(SyncDatabaseSchemaResponse { status: answer.status.unwrap_or_else(|| "ok".to_owned()) }))
    }
}
