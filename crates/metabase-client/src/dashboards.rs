//! Owns the dashboard routes (`/api/dashboard`, CONTRACT.md §5): list, get, create and update.

use serde::Deserialize;

use super::error::MetabaseError;
use super::ids::{CollectionKey, DashboardId};
use super::models::{Dashboard, DashboardCreate, DashboardUpdate};
use super::search::SearchQuery;
use super::transport::{RequestBody, Transport, param};

/// Says which dashboards `GET /api/dashboard` returns (its `f` parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DashboardFilter {
    /// Dashboards that are not archived.
    #[default]
    All,
    /// Dashboards the caller created.
    Mine,
    /// Archived dashboards only.
    Archived,
}

impl DashboardFilter {
    /// Returns the `f` value Metabase expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mine => "mine",
            Self::Archived => "archived",
        }
    }
}

/// The dashboard routes, from [`super::MetabaseClient::dashboards`].
#[derive(Clone, Copy, Debug)]
pub struct Dashboards<'a> {
    transport: &'a Transport,
}

impl<'a> Dashboards<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Lists dashboards without their dashcards (`GET /api/dashboard?f=`). Metabase marks this
    /// route deprecated; a 404 here means it is gone and search should be used instead.
    pub async fn list(&self, filter: DashboardFilter) -> Result<Vec<Dashboard>, MetabaseError> {
        let query = [param("f", filter.as_str())];
        self.transport.get_json("/api/dashboard", "/api/dashboard", &query).await
    }

    /// Lists dashboards through search (`GET /api/search?models=dashboard`), for releases that
    /// removed `GET /api/dashboard`: at most 1000, with the fewer keys a search hit carries, and
    /// `collection_id` read from the hydrated `collection`.
    pub async fn list_by_search(&self, archived: bool) -> Result<Vec<Dashboard>, MetabaseError> {
        /// A search answer whose hits are dashboards.
        #[derive(Deserialize)]
        struct DashboardHits {
            #[serde(default)]
            data: Vec<Dashboard>,
        }
        let query = SearchQuery { models: vec!["dashboard".into()], archived, limit: 1000, ..SearchQuery::default() };
        let hits: DashboardHits = self.transport.get_json("/api/search", "/api/search", &query.to_query()).await?;
        Ok(hits
            .data
            .into_iter()
            .map(|mut dashboard| {
                dashboard.collection_id = dashboard
                    .collection
                    .as_ref()
                    .and_then(|collection| collection.id.as_ref())
                    .and_then(CollectionKey::id);
                dashboard
            })
            .collect())
    }

    /// Returns one dashboard with its dashcards and tabs (`GET /api/dashboard/:id`).
    pub async fn get(&self, id: DashboardId) -> Result<Dashboard, MetabaseError> {
        self.transport.get_json("/api/dashboard/{id}", &format!("/api/dashboard/{id}"), &[]).await
    }

    /// Creates a dashboard from `body` (`POST /api/dashboard`).
    pub async fn create(&self, body: &DashboardCreate) -> Result<Dashboard, MetabaseError> {
        self.transport.post_json("/api/dashboard", "/api/dashboard", &[], RequestBody::typed(body)).await
    }

    /// Updates a dashboard with the keys set in `body` (`PUT /api/dashboard/:id`). When
    /// `dashcards` is set it is the complete desired set: negative ids create, missing ids delete.
    pub async fn update(&self, id: DashboardId, body: &DashboardUpdate) -> Result<Dashboard, MetabaseError> {
        let body = RequestBody::typed(body);
        self.transport.put_json("/api/dashboard/{id}", &format!("/api/dashboard/{id}"), &[], body).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::DashboardFilter;
    use crate::test_support::api_key_client;
    use crate::{CollectionId, DashboardId};

    #[tokio::test]
    async fn list_sends_the_filter_as_f() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/dashboard"))
            .and(query_param("f", "archived"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 4, "archived": true}])))
            .expect(1)
            .mount(&server)
            .await;

        let dashboards = api_key_client(&server).dashboards().list(DashboardFilter::Archived).await.unwrap();

        assert_eq!(dashboards[0].id, DashboardId(4));
        assert!(dashboards[0].archived);
    }

    #[tokio::test]
    async fn listing_by_search_reads_the_collection_id_from_the_hydrated_collection() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/search"))
            .and(query_param("models", "dashboard"))
            .and(query_param("archived", "false"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
                {"model": "dashboard", "id": 5, "name": "Sales", "collection": {"id": 2, "location": "/"}},
                {"model": "dashboard", "id": 6, "name": "Home", "collection": {"id": "root", "name": "Our analytics"}}
            ], "total": 2})))
            .expect(1)
            .mount(&server)
            .await;

        let dashboards = api_key_client(&server).dashboards().list_by_search(false).await.unwrap();

        let placed: Vec<_> = dashboards.iter().map(|dashboard| (dashboard.id, dashboard.collection_id)).collect();
        assert_eq!(placed, [(DashboardId(5), Some(CollectionId(2))), (DashboardId(6), None)]);
    }
}
