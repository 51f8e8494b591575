//! AlertService: alerts through Metabase's `/api/alert` compatibility routes.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{alerts, to_json};
use crate::metabase::{AlertId, UserId};
use crate::middleware::call::CallContext;
use crate::pb::v1::alert_service_server::AlertService;
use crate::pb::v1::{
    Alert, GetAlertRequest, ListAlertsRequest, ListAlertsResponse, UnsubscribeAlertRequest, UnsubscribeAlertResponse,
};

/// Returns the scope of the collection an alert's card lives in.
fn alert_scope(
    alert: &serde_json::Value,
    locations: &std::collections::HashMap<i64, String>,
) -> crate::policy::CollectionScope {
    let collection = alert.get("card").and_then(|card| card.get("collection_id")).and_then(serde_json::Value::as_i64);
    super::collection_scope(collection, locations)
}

/// The AlertService handlers.
#[derive(Debug, Default)]
pub struct AlertApi;

#[tonic::async_trait]
impl AlertService for AlertApi {
    async fn list_alerts(&self, request: Request<ListAlertsRequest>) -> Result<Response<ListAlertsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let listed =
            call.client.alerts().list(request.archived, request.user_id.map(UserId)).await.map_err(failed("alerts"))?;
        let locations = super::collection_locations(&call).await?;
        let visible: Vec<serde_json::Value> =
            listed.iter().map(to_json).filter(|alert| call.sees_collection(&alert_scope(alert, &locations))).collect();
        let (listed, total) = page.slice(visible);
        Ok(Response::new(ListAlertsResponse {
            alerts: listed.into_iter().map(alerts::alert).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_alert(&self, request: Request<GetAlertRequest>) -> Result<Response<Alert>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().alert_id;
        let alert = to_json(&call.client.alerts().get(AlertId(id)).await.map_err(failed(format!("alert {id}")))?);
        call.note_resource("alert", id);
        call.check_collection(&alert_scope(&alert, &super::collection_locations(&call).await?))?;
        Ok(Response::new(alerts::alert(alert)))
    }

    async fn unsubscribe_alert(
        &self,
        request: Request<UnsubscribeAlertRequest>,
    ) -> Result<Response<UnsubscribeAlertResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().alert_id;
        call.note_resource("alert", id);
        let alert = to_json(&call.client.alerts().get(AlertId(id)).await.map_err(failed(format!("alert {id}")))?);
        call.check_collection(&alert_scope(&alert, &super::collection_locations(&call).await?))?;
        call.client.alerts().unsubscribe(AlertId(id)).await.map_err(failed(format!("alert {id}")))?;
        Ok(Response::new(UnsubscribeAlertResponse {}))
    }
}
