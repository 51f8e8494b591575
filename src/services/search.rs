//! SearchService: Metabase's search, paged by Metabase.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::metabase::{CollectionId, DatabaseId, SearchQuery};
use crate::middleware::call::CallContext;
use crate::pb::v1::search_service_server::SearchService;
use crate::pb::v1::{SearchRequest, SearchResponse, SearchResult};

/// How many results a narrowed search reads from Metabase at most: it must read every page to
/// count only what the caller may see, so the scan is bounded.
const NARROWED_SCAN_LIMIT: u64 = 20_000;
/// The page size of a narrowed scan.
const SCAN_PAGE: u32 = 1000;

/// The SearchService handlers.
#[derive(Debug, Default)]
pub(crate) struct SearchApi;

#[tonic::async_trait]
impl SearchService for SearchApi {
    async fn search(&self, request: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let visibility = super::visibility(&call).await?;
        let mut query = SearchQuery {
            text: Some(request.query.clone()).filter(|text| !text.trim().is_empty()),
            models: request.models,
            archived: request.archived,
            collection: request.collection_id.map(CollectionId),
            table_db_id: request.table_db_id.map(DatabaseId),
            limit: page.size as u32,
            offset: page.offset as u64,
        };
        let subject = "search";
        if !visibility.narrows() {
            let found = call.client.search().search(&query).await.map_err(failed(subject))?;
            let total = usize::try_from(found.total).unwrap_or_default();
            return Ok(Response::new(SearchResponse {
                results: found.data.into_iter().map(SearchResult::from).collect(),
                next_page_token: page.next_token(total),
                total_size: total_size(total),
            }));
        }
        // A narrowed caller's page and total count only what it may see: no count may reveal
        // that a hidden item matches, so every page is read and filtered first.
        let mut visible = Vec::new();
        query.limit = SCAN_PAGE;
        query.offset = 0;
        loop {
            let found = call.client.search().search(&query).await.map_err(failed(subject))?;
            let read = found.data.len() as u64;
            visible.extend(
                found
                    .data
                    .into_iter()
                    .map(SearchResult::from)
                    .filter_map(|result| crate::narrow::search_result(&visibility, result)),
            );
            query.offset += read;
            let total = u64::try_from(found.total).unwrap_or_default();
            if read < u64::from(SCAN_PAGE) || query.offset >= total || query.offset >= NARROWED_SCAN_LIMIT {
                break;
            }
        }
        let (results, total) = page.slice(visible);
        Ok(Response::new(SearchResponse {
            results,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }
}
