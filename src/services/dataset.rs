//! DatasetService: ad-hoc queries and exports, streamed.

use tonic::{Request, Response, Status};

use crate::middleware::call::CallContext;
use crate::pb::v1::dataset_service_server::DatasetService;
use crate::pb::v1::{ExportQueryRequest, RunQueryRequest, export_query_request, run_query_request};
use crate::streaming::{ExportStream, QueryStream};

/// The DatasetService handlers.
#[derive(Debug, Default)]
pub struct DatasetApi;

/// Checks an ad-hoc query against the caller's policy: native SQL needs datasets: full, and the
/// database must be within its databases.
fn check_query(call: &CallContext, rpc: &str, database_id: i64, native: bool) -> Result<(), Status> {
    call.note_resource("database", database_id);
    if native {
        call.check_native(rpc)?;
    }
    call.check_database(database_id)
}

#[tonic::async_trait]
impl DatasetService for DatasetApi {
    type RunQueryStream = QueryStream;

    async fn run_query(&self, request: Request<RunQueryRequest>) -> Result<Response<Self::RunQueryStream>, Status> {
        let call = CallContext::of(&request)?;
        let native = matches!(request.get_ref().query, Some(run_query_request::Query::Native(_)));
        check_query(&call, "/metabase.gateway.v1.DatasetService/RunQuery", request.get_ref().database_id, native)?;
        crate::streaming::run_query(&call, request).await
    }

    type ExportQueryStream = ExportStream;

    async fn export_query(
        &self,
        request: Request<ExportQueryRequest>,
    ) -> Result<Response<Self::ExportQueryStream>, Status> {
        let call = CallContext::of(&request)?;
        let native = matches!(request.get_ref().query, Some(export_query_request::Query::Native(_)));
        check_query(&call, "/metabase.gateway.v1.DatasetService/ExportQuery", request.get_ref().database_id, native)?;
        crate::streaming::export_query(&call, request).await
    }
}
