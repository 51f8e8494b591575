//! AlertService: alerts through Metabase's `/api/alert` compatibility routes.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{GatewayState, failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{alerts, to_json};
use crate::metabase::{AlertId, UserId};
use crate::pb::v1::alert_service_server::AlertService;
use crate::pb::v1::{
    Alert, GetAlertRequest, ListAlertsRequest, ListAlertsResponse, UnsubscribeAlertRequest, UnsubscribeAlertResponse,
};

/// The AlertService handlers.
pub struct AlertApi {
    state: Arc<GatewayState>,
}

impl AlertApi {
    /// Returns the service over the shared state.
    pub fn new(state: Arc<GatewayState>) -> Self {
        AlertApi { state }
    }
}

#[tonic::async_trait]
impl AlertService for AlertApi {
    async fn list_alerts(&self, request: Request<ListAlertsRequest>) -> Result<Response<ListAlertsResponse>, Status> {
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let listed = self
            .state
            .client
            .alerts()
            .list(request.archived, request.user_id.map(UserId))
            .await
            .map_err(failed("alerts"))?;
        let (listed, total) = page.slice(listed);
        Ok(Response::new(ListAlertsResponse {
            alerts: listed.iter().map(|alert| alerts::alert(to_json(alert))).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_alert(&self, request: Request<GetAlertRequest>) -> Result<Response<Alert>, Status> {
        let id = request.into_inner().alert_id;
        let alert = self.state.client.alerts().get(AlertId(id)).await.map_err(failed(format!("alert {id}")))?;
        Ok(Response::new(alerts::alert(to_json(&alert))))
    }

    async fn unsubscribe_alert(
        &self,
        request: Request<UnsubscribeAlertRequest>,
    ) -> Result<Response<UnsubscribeAlertResponse>, Status> {
        let id = request.into_inner().alert_id;
        self.state.client.alerts().unsubscribe(AlertId(id)).await.map_err(failed(format!("alert {id}")))?;
        Ok(Response::new(UnsubscribeAlertResponse {}))
    }
}
