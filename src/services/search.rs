//! SearchService: Metabase's search, paged by Metabase.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{search, to_json};
use crate::metabase::{CollectionId, DatabaseId, SearchQuery};
use crate::middleware::call::CallContext;
use crate::pb::v1::search_service_server::SearchService;
use crate::pb::v1::{SearchRequest, SearchResponse};

/// Returns whether a search result is inside the caller's collections and databases; a narrowed
/// caller never learns of anything outside them through search.
fn visible(call: &CallContext, item: &serde_json::Value, locations: &std::collections::HashMap<i64, String>) -> bool {
    let model = item.get("model").and_then(serde_json::Value::as_str).unwrap_or_default();
    let database = item.get("database_id").and_then(serde_json::Value::as_i64);
    let database_visible = match model {
        "database" => item.get("id").and_then(serde_json::Value::as_i64).is_none_or(|id| call.sees_database(id)),
        _ => database.is_none_or(|id| call.sees_database(id)),
    };
    let collection_visible = match model {
        "collection" => {
            let id = item.get("id").and_then(serde_json::Value::as_i64);
            let location = item.get("effective_location").and_then(serde_json::Value::as_str);
            call.sees_collection(&crate::middleware::call::scope(
                id,
                location.or_else(|| id.and_then(|id| locations.get(&id)).map(String::as_str)),
            ))
        }
        "table" | "database" => true,
        _ => {
            let id =
                item.get("collection").and_then(|collection| collection.get("id")).and_then(serde_json::Value::as_i64);
            call.sees_collection(&super::collection_scope(id, locations))
        }
    };
    database_visible && collection_visible
}

/// The SearchService handlers.
#[derive(Debug, Default)]
pub struct SearchApi;

#[tonic::async_trait]
impl SearchService for SearchApi {
    async fn search(&self, request: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        let call = CallContext::of(&request)?;
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
        let found =
            call.client.search().search(&query).await.map_err(failed(format!("search for {:?}", request.query)))?;
        let locations = super::collection_locations(&call).await?;
        let total = usize::try_from(found.total).unwrap_or_default();
        Ok(Response::new(SearchResponse {
            results: found
                .data
                .iter()
                .map(to_json)
                .filter(|item| visible(&call, item, &locations))
                .map(search::result)
                .collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }
}
