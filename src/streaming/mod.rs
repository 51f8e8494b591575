//! Streamed query results and exports (RunCard, RunQuery, ExportCard, ExportQuery).

use std::pin::Pin;

use futures::Stream;
use tonic::{Request, Response, Status};

use crate::pb::v1::{
    ExportCardRequest, ExportChunk, ExportQueryRequest, QueryResultChunk, RunCardRequest, RunQueryRequest,
};
use crate::services::GatewayState;

/// A stream of query result chunks.
pub type QueryStream = Pin<Box<dyn Stream<Item = Result<QueryResultChunk, Status>> + Send>>;
/// A stream of export chunks.
pub type ExportStream = Pin<Box<dyn Stream<Item = Result<ExportChunk, Status>> + Send>>;

const NOT_YET: &str = "streamed results are not available in this build";

/// Runs a saved question.
pub async fn run_card(
    _state: &GatewayState,
    _request: Request<RunCardRequest>,
) -> Result<Response<QueryStream>, Status> {
    Err(Status::unimplemented(NOT_YET))
}

/// Exports a saved question.
pub async fn export_card(
    _state: &GatewayState,
    _request: Request<ExportCardRequest>,
) -> Result<Response<ExportStream>, Status> {
    Err(Status::unimplemented(NOT_YET))
}

/// Runs an ad-hoc query.
pub async fn run_query(
    _state: &GatewayState,
    _request: Request<RunQueryRequest>,
) -> Result<Response<QueryStream>, Status> {
    Err(Status::unimplemented(NOT_YET))
}

/// Exports an ad-hoc query.
pub async fn export_query(
    _state: &GatewayState,
    _request: Request<ExportQueryRequest>,
) -> Result<Response<ExportStream>, Status> {
    Err(Status::unimplemented(NOT_YET))
}
