//! GatewayService: what the gateway is and who it sees.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{GatewayState, TESTED_RANGE};
use crate::metabase::MetabaseVersion;
use crate::middleware::call::CallContext;
use crate::pb::v1::gateway_service_server::GatewayService;
use crate::pb::v1::{AlertsApi, GetServerInfoRequest, GetServerInfoResponse, WhoAmIRequest, WhoAmIResponse};

/// The first Metabase release whose alerts live in `/api/notification`.
const NOTIFICATIONS_SINCE: u32 = 54;

/// Returns which service manages alerts on a Metabase version: NotificationService from 0.54
/// (and on every Enterprise build of those releases), AlertService before.
fn alerts_api(version: Option<MetabaseVersion>) -> AlertsApi {
    match version {
        Some(version) if version.minor >= NOTIFICATIONS_SINCE => AlertsApi::NotificationService,
        Some(_) => AlertsApi::AlertService,
        None => AlertsApi::Unspecified,
    }
}

/// The GatewayService handlers.
pub(crate) struct GatewayApi {
    state: Arc<GatewayState>,
}

impl GatewayApi {
    /// Returns the service over the shared state.
    pub(crate) fn new(state: Arc<GatewayState>) -> Self {
        GatewayApi { state }
    }
}

#[tonic::async_trait]
impl GatewayService for GatewayApi {
    async fn who_am_i(&self, request: Request<WhoAmIRequest>) -> Result<Response<WhoAmIResponse>, Status> {
        let call = CallContext::of(&request)?;
        let rule = call.rule.and_then(|index| call.policy.rule(index));
        let mut response = WhoAmIResponse {
            principal: call.identity.principal.clone(),
            identity_source: call.identity.source.clone(),
            metabase_principal: format!("{} ({})", call.credential, call.client.credential_description()),
            dry_run: call.dry_run,
            ..Default::default()
        };
        if let Some(rule) = rule {
            response.grants =
                rule.grants.iter().map(|(capability, level)| (capability.clone(), level.as_str().to_owned())).collect();
            response.collections = rule.collections.clone().unwrap_or_default();
            response.databases = rule.databases.clone().unwrap_or_default();
            response.max_rows = rule.max_rows.map(|rows| rows as i64);
            response.policy_match = rule.pattern.clone();
            response.rate = rule.rate.clone().unwrap_or_default();
        }
        Ok(Response::new(response))
    }

    async fn get_server_info(
        &self,
        _request: Request<GetServerInfoRequest>,
    ) -> Result<Response<GetServerInfoResponse>, Status> {
        let version = self.state.refresh_version().await;
        let alerts_api = alerts_api(version.as_ref().and_then(|version| version.parsed));
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
            alerts_api: alerts_api.into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_apply_from_054_and_alerts_before() {
        let version = |minor| Some(MetabaseVersion { major: 0, minor, patch: 0 });

        assert_eq!(alerts_api(version(53)), AlertsApi::AlertService);
        assert_eq!(alerts_api(version(54)), AlertsApi::NotificationService);
        assert_eq!(alerts_api(Some(MetabaseVersion { major: 1, minor: 58, patch: 3 })), AlertsApi::NotificationService);
        assert_eq!(alerts_api(None), AlertsApi::Unspecified);
    }
}
