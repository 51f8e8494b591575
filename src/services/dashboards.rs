//! DashboardService: dashboards with their cards and tabs.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{GatewayState, failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{dashboards, to_json};
use crate::error::GatewayError;
use crate::metabase::{DashboardFilter as UpstreamFilter, DashboardId, MetabaseError, SearchQuery};
use crate::pb::v1::dashboard_service_server::DashboardService;
use crate::pb::v1::{
    CreateDashboardRequest, Dashboard, DashboardFilter, GetDashboardRequest, ListDashboardsRequest,
    ListDashboardsResponse, UpdateDashboardRequest,
};

/// The DashboardService handlers.
pub struct DashboardApi {
    state: Arc<GatewayState>,
}

impl DashboardApi {
    /// Returns the service over the shared state.
    pub fn new(state: Arc<GatewayState>) -> Self {
        DashboardApi { state }
    }

    /// Lists dashboards through search, for Metabase releases that removed the deprecated
    /// `GET /api/dashboard`. Search results carry fewer keys than the list did.
    async fn list_by_search(&self, archived: bool) -> Result<Vec<Dashboard>, Status> {
        let query = SearchQuery { models: vec!["dashboard".into()], archived, limit: 1000, ..SearchQuery::default() };
        let found = self.state.client.search().search(&query).await.map_err(failed("dashboards"))?;
        Ok(found.data.iter().map(|item| dashboards::dashboard(to_json(item))).collect())
    }
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
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let upstream_filter = filter(request.filter)?;
        let listed = match self.state.client.dashboards().list(upstream_filter).await {
            Ok(listed) => listed.iter().map(|dashboard| dashboards::dashboard(to_json(dashboard))).collect(),
            Err(error) if route_is_gone(&error) && upstream_filter != UpstreamFilter::Mine => {
                tracing::info!("GET /api/dashboard is gone on this metabase; listing dashboards through search");
                self.list_by_search(upstream_filter == UpstreamFilter::Archived).await?
            }
            Err(error) => return Err(failed("dashboards")(error)),
        };
        let (listed, total) = page.slice(listed);
        Ok(Response::new(ListDashboardsResponse {
            dashboards: listed,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_dashboard(&self, request: Request<GetDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let id = request.into_inner().dashboard_id;
        let dashboard =
            self.state.client.dashboards().get(DashboardId(id)).await.map_err(failed(format!("dashboard {id}")))?;
        Ok(Response::new(dashboards::dashboard(to_json(&dashboard))))
    }

    async fn create_dashboard(&self, request: Request<CreateDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let body = dashboards::create_body(request.into_inner())?;
        let dashboard = self.state.client.dashboards().create(body).await.map_err(failed("new dashboard"))?;
        Ok(Response::new(dashboards::dashboard(to_json(&dashboard))))
    }

    async fn update_dashboard(&self, request: Request<UpdateDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let request = request.into_inner();
        let id = request.dashboard_id;
        let body = dashboards::update_body(request);
        let dashboard = self
            .state
            .client
            .dashboards()
            .update(DashboardId(id), body)
            .await
            .map_err(failed(format!("dashboard {id}")))?;
        Ok(Response::new(dashboards::dashboard(to_json(&dashboard))))
    }
}
