//! GatewayService: what the gateway is and who it sees.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{GatewayState, TESTED_RANGE};
use crate::pb::v1::gateway_service_server::GatewayService;
use crate::pb::v1::{GetServerInfoRequest, GetServerInfoResponse, WhoAmIRequest, WhoAmIResponse};

/// The GatewayService handlers.
pub struct GatewayApi {
    state: Arc<GatewayState>,
}

impl GatewayApi {
    /// Returns the service over the shared state.
    pub fn new(state: Arc<GatewayState>) -> Self {
        GatewayApi { state }
    }
}

#[tonic::async_trait]
impl GatewayService for GatewayApi {
    async fn who_am_i(&self, _request: Request<WhoAmIRequest>) -> Result<Response<WhoAmIResponse>, Status> {
        Err(Status::unimplemented("WhoAmI needs caller identity, which arrives with the policy feature"))
    }

    async fn get_server_info(
        &self,
        _request: Request<GetServerInfoRequest>,
    ) -> Result<Response<GetServerInfoResponse>, Status> {
        let version = self.state.refresh_version().await;
        let (tag, hash, supported) = match version {
            Some(version) => (version.tag, version.hash, version.parsed.is_some_and(|parsed| parsed.is_tested())),
            None => (String::new(), String::new(), false),
        };
        Ok(Response::new(GetServerInfoResponse {
            gateway_version: env!("CARGO_PKG_VERSION").to_owned(),
            metabase_version: tag,
            metabase_version_hash: hash,
            version_supported: supported,
            supported_range: TESTED_RANGE.to_owned(),
        }))
    }
}
