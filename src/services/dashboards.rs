//! DashboardService: dashboards with their cards and tabs.

use tonic::{Request, Response, Status};

use super::{collection_locations, collection_scope, failed, object_scope, total_size};
use crate::convert::paging::Page;
use crate::convert::{collection_value, dashboards, to_json};
use crate::error::GatewayError;
use crate::metabase::{DashboardFilter as UpstreamFilter, DashboardId, MetabaseError, SearchQuery};
use crate::middleware::call::CallContext;
use crate::pb::v1::dashboard_service_server::DashboardService;
use crate::pb::v1::{
    CreateDashboardRequest, Dashboard, DashboardFilter, GetDashboardRequest, ListDashboardsRequest,
    ListDashboardsResponse, UpdateDashboardRequest,
};

/// The DashboardService handlers.
#[derive(Debug, Default)]
pub struct DashboardApi;

impl DashboardApi {
    /// Lists dashboards through search, for Metabase releases that removed the deprecated
    /// `GET /api/dashboard`. Search results carry fewer keys than the list did.
    async fn list_by_search(call: &CallContext, archived: bool) -> Result<Vec<serde_json::Value>, Status> {
        let query = SearchQuery { models: vec!["dashboard".into()], archived, limit: 1000, ..SearchQuery::default() };
        let found = call.client.search().search(&query).await.map_err(failed("dashboards"))?;
        Ok(found
            .data
            .iter()
            .map(|item| {
                let mut item = to_json(item);
                let collection = item.get("collection").and_then(|collection| collection.get("id")).cloned();
                item["collection_id"] = collection.unwrap_or(serde_json::Value::Null);
                item
            })
            .collect())
    }

    /// Reads a dashboard, notes it for the audit, and checks it against the caller's narrowing.
    async fn readable(call: &CallContext, id: i64) -> Result<serde_json::Value, Status> {
        let dashboard =
            call.client.dashboards().get(DashboardId(id)).await.map_err(failed(format!("dashboard {id}")))?;
        let dashboard = to_json(&dashboard);
        call.note_resource("dashboard", id);
        let scope = object_scope(&dashboard, None);
        if let Some(collection) = scope.id {
            call.note_resource("collection", collection);
        }
        call.check_collection(&scope)?;
        Ok(dashboard)
    }
}

/// Returns the card ids a dashcard places: its card and its series cards.
fn placed_cards(dashcard: &serde_json::Value) -> Vec<i64> {
    let series = dashcard.get("series").and_then(serde_json::Value::as_array).into_iter().flatten();
    let series_ids = series.filter_map(|card| card.get("id").and_then(serde_json::Value::as_i64));
    dashcard.get("card_id").and_then(serde_json::Value::as_i64).into_iter().chain(series_ids).collect()
}

/// Checks that every card a dashboard update places is one the caller may read. A card already
/// on the same dashcard may stay (a narrowed caller sees it only as an id and sends it back);
/// any other card is read and checked against the caller's collections and databases.
async fn check_placed_cards(
    call: &CallContext,
    current: &serde_json::Value,
    dashcards: &[crate::pb::v1::DashboardCard],
) -> Result<(), Status> {
    let existing: std::collections::HashSet<(i64, i64)> = current
        .get("dashcards")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|dashcard| {
            let id = dashcard.get("id").and_then(serde_json::Value::as_i64).unwrap_or_default();
            placed_cards(dashcard).into_iter().map(move |card| (id, card))
        })
        .collect();
    for dashcard in dashcards {
        let series = dashcard.series.clone().map(crate::convert::json::from_list);
        let placed = placed_cards(&serde_json::json!({"card_id": dashcard.card_id, "series": series}));
        for card_id in placed {
            if !existing.contains(&(dashcard.id, card_id)) {
                super::cards::checked_card(call, card_id, false).await?;
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
        let listed: Vec<serde_json::Value> = match call.client.dashboards().list(upstream_filter).await {
            Ok(listed) => listed.iter().map(to_json).collect(),
            Err(error) if route_is_gone(&error) && upstream_filter != UpstreamFilter::Mine => {
                tracing::info!("GET /api/dashboard is gone on this metabase; listing dashboards through search");
                Self::list_by_search(&call, upstream_filter == UpstreamFilter::Archived).await?
            }
            Err(error) => return Err(failed("dashboards")(error)),
        };
        let visibility = super::visibility(&call).await?;
        let listed: Vec<Dashboard> = listed
            .into_iter()
            .filter(|dashboard| call.sees_collection(&object_scope(dashboard, Some(visibility.locations()))))
            .map(|dashboard| crate::narrow::dashboard(&visibility, dashboards::dashboard(dashboard)))
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
        Ok(Response::new(crate::narrow::dashboard(&visibility, dashboards::dashboard(dashboard))))
    }

    async fn create_dashboard(&self, request: Request<CreateDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let target = request.collection_id.as_ref().map(collection_value).and_then(|value| value.as_i64());
        call.check_collection(&collection_scope(target, &collection_locations(&call).await?))?;
        let body = dashboards::create_body(request)?;
        let dashboard = call.client.dashboards().create(body).await.map_err(failed("new dashboard"))?;
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::dashboard(&visibility, dashboards::dashboard(to_json(&dashboard)))))
    }

    async fn update_dashboard(&self, request: Request<UpdateDashboardRequest>) -> Result<Response<Dashboard>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.dashboard_id;
        let current = Self::readable(&call, id).await?;
        check_placed_cards(&call, &current, &request.dashcards).await?;
        if let Some(target) = request.collection_id.as_ref().filter(|_| request.archived != Some(true)) {
            call.check_collection(&collection_scope(
                collection_value(target).as_i64(),
                &collection_locations(&call).await?,
            ))?;
        }
        let body = dashboards::update_body(request);
        let dashboard =
            call.client.dashboards().update(DashboardId(id), body).await.map_err(failed(format!("dashboard {id}")))?;
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::dashboard(&visibility, dashboards::dashboard(to_json(&dashboard)))))
    }
}
