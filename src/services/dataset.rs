//! DatasetService: ad-hoc queries and exports, streamed. The query Metabase would run is built
//! first and inspected as a whole, so a native query wrapped in the `mbql` field is native SQL.

use tonic::{Request, Response, Status};

use super::queries::check_query;
use crate::middleware::call::CallContext;
use crate::pb::v1::dataset_service_server::DatasetService;
use crate::pb::v1::{ExportQueryRequest, RunQueryRequest};
use crate::streaming::{ExportStream, QueryStream, dataset_query, export_as_run_query};

/// The DatasetService handlers.
#[derive(Debug, Default)]
pub(crate) struct DatasetApi;

#[tonic::async_trait]
impl DatasetService for DatasetApi {
    type RunQueryStream = QueryStream;

    async fn run_query(&self, request: Request<RunQueryRequest>) -> Result<Response<Self::RunQueryStream>, Status> {
        let call = CallContext::of(&request)?;
        let ask = request.get_ref();
        let query = dataset_query(ask.database_id, ask.query.clone(), ask.parameters.clone())?;
        check_query(&call, &query).await?;
        crate::streaming::run_query(&call, request, query).await
    }

    type ExportQueryStream = ExportStream;

    async fn export_query(
        &self,
        request: Request<ExportQueryRequest>,
    ) -> Result<Response<Self::ExportQueryStream>, Status> {
        let call = CallContext::of(&request)?;
        let ask = request.get_ref();
        let ad_hoc = export_as_run_query(ask.query.clone());
        let query = dataset_query(ask.database_id, ad_hoc, ask.parameters.clone())?;
        check_query(&call, &query).await?;
        crate::streaming::export_query(&call, request, query).await
    }
}
