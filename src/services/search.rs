//! SearchService: Metabase's search, paged by Metabase.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{GatewayState, failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{search, to_json};
use crate::metabase::{CollectionId, DatabaseId, SearchQuery};
use crate::pb::v1::search_service_server::SearchService;
use crate::pb::v1::{SearchRequest, SearchResponse};

/// The SearchService handlers.
pub struct SearchApi {
    state: Arc<GatewayState>,
}

impl SearchApi {
    /// Returns the service over the shared state.
    pub fn new(state: Arc<GatewayState>) -> Self {
        SearchApi { state }
    }
}

#[tonic::async_trait]
impl SearchService for SearchApi {
    async fn search(&self, request: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let query = SearchQuery {
            text: Some(request.query.clone()).filter(|text| !text.trim().is_empty()),
            models: request.models,
            archived: request.archived,
            collection: request.collection_id.map(CollectionId),
            table_db_id: request.table_db_id.map(DatabaseId),
            limit: page.size as u32,
            offset: page.offset as u64,
        };
        let found = self
            .state
            .client
            .search()
            .search(&query)
            .await
            .map_err(failed(format!("search for {:?}", request.query)))?;
        let total = usize::try_from(found.total).unwrap_or_default();
        Ok(Response::new(SearchResponse {
            results: found.data.iter().map(|item| search::result(to_json(item))).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }
}
