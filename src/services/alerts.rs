//! AlertService: alerts through Metabase's `/api/alert` compatibility routes.

use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::metabase::{AlertId, CardFilter, UserId};
use crate::middleware::call::CallContext;
use crate::narrow::Visibility;
use crate::pb::v1::alert_service_server::AlertService;
use crate::pb::v1::{
    Alert, GetAlertRequest, ListAlertsRequest, ListAlertsResponse, UnsubscribeAlertRequest, UnsubscribeAlertResponse,
};

/// Returns each card's database by card id, read only when the caller's databases are narrowed
/// (an alert names its card's collection, not its database).
async fn card_databases(call: &CallContext, visibility: &Visibility) -> Result<HashMap<i64, i64>, Status> {
    if !visibility.narrows_databases() {
        return Ok(HashMap::new());
    }
    let cards = call.client.cards().list(CardFilter::All, None).await.map_err(failed("cards"))?;
    Ok(cards.into_iter().filter_map(|card| Some((card.id.get(), card.database_id?.get()))).collect())
}

/// Returns an alert as the caller may see it, or a denial naming the alert.
async fn visible_alert(call: &CallContext, id: i64, alert: Alert) -> Result<Alert, Status> {
    let visibility = super::visibility(call).await?;
    let databases = card_databases(call, &visibility).await?;
    if let Some(collection) = alert.card.as_ref().and_then(|card| card.collection_id) {
        call.note_resource("collection", collection);
    }
    match crate::narrow::alert(&visibility, &databases, alert) {
        Some(alert) => Ok(alert),
        None => Err(call.denial(format!("alert {id} is on a saved question outside its collections or databases"))),
    }
}

/// The AlertService handlers.
#[derive(Debug, Default)]
pub(crate) struct AlertApi;

#[tonic::async_trait]
impl AlertService for AlertApi {
    async fn list_alerts(&self, request: Request<ListAlertsRequest>) -> Result<Response<ListAlertsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let listed =
            call.client.alerts().list(request.archived, request.user_id.map(UserId)).await.map_err(failed("alerts"))?;
        let visibility = super::visibility(&call).await?;
        let databases = card_databases(&call, &visibility).await?;
        let visible: Vec<Alert> = listed
            .into_iter()
            .map(Alert::from)
            .filter_map(|alert| crate::narrow::alert(&visibility, &databases, alert))
            .collect();
        let (listed, total) = page.slice(visible);
        Ok(Response::new(ListAlertsResponse {
            alerts: listed,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_alert(&self, request: Request<GetAlertRequest>) -> Result<Response<Alert>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().alert_id;
        call.note_resource("alert", id);
        let alert = call.client.alerts().get(AlertId(id)).await.map_err(failed(format!("alert {id}")))?;
        Ok(Response::new(visible_alert(&call, id, Alert::from(alert)).await?))
    }

    async fn unsubscribe_alert(
        &self,
        request: Request<UnsubscribeAlertRequest>,
    ) -> Result<Response<UnsubscribeAlertResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().alert_id;
        call.note_resource("alert", id);
        let alert = call.client.alerts().get(AlertId(id)).await.map_err(failed(format!("alert {id}")))?;
        visible_alert(&call, id, Alert::from(alert)).await?;
        call.client.alerts().unsubscribe(AlertId(id)).await.map_err(failed(format!("alert {id}")))?;
        Ok(Response::new(UnsubscribeAlertResponse {}))
    }
}
