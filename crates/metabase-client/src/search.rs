//! Owns the search route (`GET /api/search`, CONTRACT.md §14).

use super::error::MetabaseError;
use super::ids::{CollectionId, DatabaseId};
use super::models::SearchResponse;
use super::transport::{Transport, param};

/// The parameters of one search. `limit` and `offset` are always sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The text to search for; a blank text is not sent (Metabase would ignore it anyway).
    pub text: Option<String>,
    /// The models to search (`card`, `dataset`, `dashboard`, `collection`, `table`, ...); empty
    /// means all.
    pub models: Vec<String>,
    /// Whether to search the Trash instead of live items.
    pub archived: bool,
    /// Restricts hits to this collection.
    pub collection: Option<CollectionId>,
    /// Restricts hits to this database.
    pub table_db_id: Option<DatabaseId>,
    /// The page size.
    pub limit: u32,
    /// How many hits to skip.
    pub offset: u64,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            text: None,
            models: Vec::new(),
            archived: false,
            collection: None,
            table_db_id: None,
            limit: 100,
            offset: 0,
        }
    }
}

impl SearchQuery {
    /// Returns the query string, with one `models` pair per model.
    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut query = Vec::new();
        if let Some(text) = self.text.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            query.push(param("q", text));
        }
        query.extend(self.models.iter().map(|model| param("models", model)));
        query.push(param("archived", self.archived));
        if let Some(collection) = self.collection {
            query.push(param("collection", collection));
        }
        if let Some(table_db_id) = self.table_db_id {
            query.push(param("table_db_id", table_db_id));
        }
        query.push(param("limit", self.limit));
        query.push(param("offset", self.offset));
        query
    }
}

/// The search route, from [`super::MetabaseClient::search`].
#[derive(Clone, Copy, Debug)]
pub struct Search<'a> {
    transport: &'a Transport,
}

impl<'a> Search<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Searches (`GET /api/search`) and returns one page of hits; Metabase keeps at most 1000.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResponse, MetabaseError> {
        self.transport.get_json("/api/search", "/api/search", &query.to_query()).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::SearchQuery;
    use crate::CollectionId;
    use crate::test_support::api_key_client;

    #[tokio::test]
    async fn search_sends_repeated_models_and_trimmed_text() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/search"))
            .and(query_param("q", "orders"))
            .and(query_param("collection", "5"))
            .and(query_param("limit", "20"))
            .and(query_param("offset", "40"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"model": "card", "id": 1, "name": "Orders"}], "total": 41,
                "limit": 20, "offset": 40, "models": ["card", "dashboard"], "engine": "search.engine/appdb"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let query = SearchQuery {
            text: Some("  orders ".to_owned()),
            models: vec!["card".to_owned(), "dashboard".to_owned()],
            collection: Some(CollectionId(5)),
            limit: 20,
            offset: 40,
            ..SearchQuery::default()
        };

        let response = api_key_client(&server).search().search(&query).await.unwrap();

        assert_eq!(response.total, 41);
        let requests = server.received_requests().await.unwrap();
        let sent: Vec<(String, String)> =
            requests[0].url.query_pairs().map(|(key, value)| (key.into_owned(), value.into_owned())).collect();
        let models: Vec<&str> =
            sent.iter().filter(|(key, _)| key == "models").map(|(_, value)| value.as_str()).collect();
        assert_eq!(models, ["card", "dashboard"]);
    }

    #[test]
    fn blank_search_text_is_not_sent() {
        let query = SearchQuery { text: Some("   ".to_owned()), ..SearchQuery::default() };

        assert!(query.to_query().iter().all(|(key, _)| key != "q"));
    }
}
