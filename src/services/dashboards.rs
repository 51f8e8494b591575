//! DashboardService: dashboards with their cards and tabs.

use serde::de::IgnoredAny;
use std::collections::HashSet;

use tonic::{Request, Response, Status};

use super::{collection_locations, collection_scope, failed, object_scope, total_size};
use crate::convert::paging::Page;
use crate::convert::{collection_target, dashboards};
use crate::error::GatewayError;
use crate::metabase::{
    CardId, DashCard, DashCardUpdate, Dashboard as UpstreamDashboard, DashboardCreate,
    DashboardFilter as UpstreamFilter, DashboardId, DashboardUpdate, MetabaseError,
};
use crate::middleware::call::CallContext;
use crate::pb::v1::dashboard_service_server::DashboardService;
use crate::pb::v1::{
    CreateDashboardRequest, Dashboard, DashboardFilter, GetDashboardRequest, ListDashboardsRequest,
    ListDashboardsResponse, UpdateDashboardRequest,
};

/// The DashboardService handlers.
#[derive(Debug, Default)]
pub(crate) struct DashboardApi;

impl DashboardApi {
    /// Reads a dashboard, notes it for the audit, and checks it against the caller's narrowing.
    async fn readable(call: &CallContext, id: i64) -> Result<UpstreamDashboard, Status> {
        let dashboard =
            call.client.dashboards().get(DashboardId(id)).await.map_err(failed(format!("dashboard {id}")))?;
        call.note_resource("dashboard", id);
        let scope = object_scope(&dashboard, None);
        if let Some(collection) = scope.id {
            call.note_resource("collection", collection);
        }
        call.check_collection(&scope)?;
        Ok(dashboard)
    }
}

/// Returns the card ids a dashcard of the current dashboard places: its card and its series cards.
fn placed_cards(dashcard: &DashCard) -> impl Iterator<Item = i64> + '_ {
    let series_ids = dashcard.series.iter().filter_map(|card| card.id);
    dashcard.card_id.into_iter().chain(series_ids).map(CardId::get)
}

/// Checks that every card a dashboard update places is one the caller may read. A card already
/// on the same dashcard may stay (a narrowed caller sees it only as an id and sends it back);
/// any other card is read and checked against the caller's collections and databases.
async fn check_placed_cards(
    call: &CallContext,
    current: &UpstreamDashboard,
    dashcards: &[DashCardUpdate],
) -> Result<(), Status> {
    let existing: HashSet<(i64, i64)> = current
        .dashcards
        .iter()
        .flat_map(|dashcard| placed_cards(dashcard).map(|card| (dashcard.id.get(), card)))
        .collect();
    for dashcard in dashcards {
        let placed = dashcard.card_id.into_iter().chain(dashboards::series_card_ids(dashcard));
        for card_id in placed.map(CardId::get) {
            if !existing.contains(&(dashcard.id.get(), card_id)) {
                super::cards::checked_card::<IgnoredAny>(call, card_id, false).await?;
            }
        }
    }
    Ok(())
}

fn filter(raw: i32) -> Result<UpstreamFilter, GatewayError> {
    let filter = DashboardFilter::try_from(raw)
        .map_err(|_| GatewayError::invalid_argument("filter", format!("unknown dashboard filter {raw}")))?;
    Ok(match filter {
        DashboardFilter::Unspecified | DashboardFilter::All => UpstreamFilter::All,
        DashboardFilter::Mine => UpstreamFilter::Mine,
        DashboardFilter::Archived => UpstreamFilter::Archived,
    })
}

fn route_is_gone(error: &MetabaseError) -> bool {
    matches!(error, MetabaseError::Upstream { status: 404, message, .. } if message.contains("API endpoint does not exist"))
}

#[tonic::async_trait]
impl DashboardService for DashboardApi {
    async fn list_dashboards(
        &self,
        request: Request<ListDashboardsRequest>,
    ) -> Result<Response<ListDashboardsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let upstream_filter = filter(request.filter)?;
        let upstream = call.client.dashboards();
        let listed = match upstream.list(upstream_filter).await {
            Ok(listed) => listed,
            Err(error) if route_is_gone(&error) && upstream_filter != UpstreamFilter::Mine => {
                tracing::info!("GET /api/dashboard is gone on this metabase; listing dashboards through search");
                let archived = upstream_filter == UpstreamFilter::Archived;
                upstream.list_by_search(archived).await.map_err(failed("dashboards"))?
            }
            Err(error) => return Err(failed("dashboards")(error)),
        };
        let visibility = super::visibility(&call).await?;
        let listed: Vec<Dashboard> = listed
            .into_iter()
            .filter(|dashboard| call.sees_collection(&object_scope(dashboard, Some(visibility.locations()))))
            .map(|dashboard| crate::narrow::dashboard(&visibility, Dashboard::from(dashboard)))
            .collect();
        let (listed, total) = page.slice(listed);
        Ok(Response::new(ListDashboardsResponse {
            dashboards: listed,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_dashboard(&self, request: Request<GetDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().dashboard_id;
        let dashboard = Self::readable(&call, id).await?;
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::dashboard(&visibility, Dashboard::from(dashboard))))
    }

    async fn create_dashboard(&self, request: Request<CreateDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let target = request.collection_id.as_ref().and_then(collection_target).map(|id| id.get());
        call.check_collection(&collection_scope(target, &collection_locations(&call).await?))?;
        let body = DashboardCreate::try_from(request)?;
        let dashboard = call.client.dashboards().create(&body).await.map_err(failed("new dashboard"))?;
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::dashboard(&visibility, Dashboard::from(dashboard))))
    }

    async fn update_dashboard(&self, request: Request<UpdateDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.dashboard_id;
        let current = Self::readable(&call, id).await?;
        let body = DashboardUpdate::from(request);
        check_placed_cards(&call, &current, body.dashcards.as_deref().unwrap_or_default()).await?;
        if let Some(target) = body.collection_id.filter(|_| body.archived != Some(true)) {
            let target = target.map(|collection| collection.get());
            call.check_collection(&collection_scope(target, &collection_locations(&call).await?))?;
        }
        let dashboard =
            call.client.dashboards().update(DashboardId(id), &body).await.map_err(failed(format!("dashboard {id}")))?;
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::dashboard(&visibility, Dashboard::from(dashboard))))
    }
}
