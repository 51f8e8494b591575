//! DatasetService: ad-hoc queries and exports, streamed.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::GatewayState;
use crate::pb::v1::dataset_service_server::DatasetService;
use crate::pb::v1::{ExportQueryRequest, RunQueryRequest};
use crate::streaming::{ExportStream, QueryStream};

/// The DatasetService handlers.
pub struct DatasetApi {
    state: Arc<GatewayState>,
}

impl DatasetApi {
    /// Returns the service over the shared state.
    pub fn new(state: Arc<GatewayState>) -> Self {
        DatasetApi { state }
    }
}

#[tonic::async_trait]
impl DatasetService for DatasetApi {
    type RunQueryStream = QueryStream;

    async fn run_query(&self, request: Request<RunQueryRequest>) -> Result<Response<Self::RunQueryStream>, Status> {
        crate::streaming::run_query(&self.state, request).await
    }

    type ExportQueryStream = ExportStream;

    async fn export_query(
        &self,
        request: Request<ExportQueryRequest>,
    ) -> Result<Response<Self::ExportQueryStream>, Status> {
        crate::streaming::export_query(&self.state, request).await
    }
}
