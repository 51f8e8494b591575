//! Owns the collection routes (`/api/collection`, CONTRACT.md §6): the tree, one collection, its
//! items, create and update.

use super::error::MetabaseError;
use super::ids::CollectionId;
use super::models::{Collection, CollectionCreate, CollectionTreeNode, CollectionUpdate, ItemsPage};
use super::transport::{RequestBody, Transport, param};

/// Names the collection a request is about: the virtual root, or a stored collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionTarget {
    /// The root collection ("Our analytics").
    Root,
    /// A stored collection.
    Id(CollectionId),
}

impl CollectionTarget {
    /// Returns the path segment Metabase expects: `root` or the id.
    fn segment(self) -> String {
        match self {
            Self::Root => "root".to_owned(),
            Self::Id(id) => id.to_string(),
        }
    }
}

/// The collection routes, from [`super::MetabaseClient::collections`].
#[derive(Clone, Copy, Debug)]
pub struct Collections<'a> {
    transport: &'a Transport,
}

impl<'a> Collections<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Returns the top-level collections with their descendants (`GET /api/collection/tree`);
    /// the root itself is not part of the tree.
    pub async fn tree(
        &self,
        exclude_archived: bool,
        namespace: Option<&str>,
    ) -> Result<Vec<CollectionTreeNode>, MetabaseError> {
        let mut query = vec![param("exclude-archived", exclude_archived)];
        if let Some(namespace) = namespace {
            query.push(param("namespace", namespace));
        }
        self.transport.get_json("/api/collection/tree", "/api/collection/tree", &query).await
    }

    /// Returns one collection (`GET /api/collection/:id` or `/api/collection/root`).
    pub async fn get(&self, target: CollectionTarget) -> Result<Collection, MetabaseError> {
        let route = match target {
            CollectionTarget::Root => "/api/collection/root",
            CollectionTarget::Id(_) => "/api/collection/{id}",
        };
        self.transport.get_json(route, &format!("/api/collection/{}", target.segment()), &[]).await
    }

    /// Returns one page of a collection's items (`GET /api/collection/:id/items`), optionally
    /// only of the given `models` (`card`, `dataset`, `dashboard`, `collection`, ...). `limit` and
    /// `offset` are always sent, so Metabase always pages.
    pub async fn items(
        &self,
        target: CollectionTarget,
        models: &[String],
        archived: bool,
        limit: u32,
        offset: u64,
    ) -> Result<ItemsPage, MetabaseError> {
        let route = match target {
            CollectionTarget::Root => "/api/collection/root/items",
            CollectionTarget::Id(_) => "/api/collection/{id}/items",
        };
        let mut query: Vec<(String, String)> = models.iter().map(|model| param("models", model)).collect();
        query.push(param("archived", archived));
        query.push(param("limit", limit));
        query.push(param("offset", offset));
        self.transport.get_json(route, &format!("/api/collection/{}/items", target.segment()), &query).await
    }

    /// Creates a collection from `body` (`POST /api/collection`). Metabase answers with the bare
    /// row, not the detailed form.
    pub async fn create(&self, body: &CollectionCreate) -> Result<Collection, MetabaseError> {
        self.transport.post_json("/api/collection", "/api/collection", &[], RequestBody::typed(body)).await
    }

    /// Updates a collection with `body` (`PUT /api/collection/:id`). Metabase reads a missing
    /// `archived` as `false` and so restores a trashed collection, hence `archived` is always sent.
    pub async fn update(&self, id: CollectionId, body: &CollectionUpdate) -> Result<Collection, MetabaseError> {
        let body = RequestBody::typed(body);
        self.transport.put_json("/api/collection/{id}", &format!("/api/collection/{id}"), &[], body).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use super::CollectionTarget;
    use crate::CollectionId;
    use crate::test_support::api_key_client;

    #[tokio::test]
    async fn root_items_send_repeated_models_and_always_page() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/collection/root/items"))
            .and(query_param("limit", "25"))
            .and(query_param("offset", "50"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total": 51, "data": [{"id": 3, "model": "card", "name": "Orders"}],
                "models": ["card", "dashboard"], "limit": 25, "offset": 50
            })))
            .expect(1)
            .mount(&server)
            .await;
        let models = ["card".to_owned(), "dashboard".to_owned()];

        let page =
            api_key_client(&server).collections().items(CollectionTarget::Root, &models, false, 25, 50).await.unwrap();

        assert_eq!(page.total, 51);
        assert_eq!(page.limit, Some(25));
        let requests: Vec<Request> = server.received_requests().await.unwrap();
        let sent_models: Vec<String> =
            requests[0].url.query_pairs().filter(|(key, _)| key == "models").map(|(_, value)| value.into()).collect();
        assert_eq!(sent_models, ["card", "dashboard"]);
    }

    #[tokio::test]
    async fn get_by_id_uses_the_numeric_path() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/collection/9"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 9, "name": "Finance"})))
            .expect(1)
            .mount(&server)
            .await;

        let collection =
            api_key_client(&server).collections().get(CollectionTarget::Id(CollectionId(9))).await.unwrap();

        assert_eq!(collection.id.id(), Some(CollectionId(9)));
    }
}
