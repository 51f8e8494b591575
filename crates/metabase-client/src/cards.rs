//! Owns the card routes (`/api/card`, CONTRACT.md §4): list, get, create and update.

use serde::de::DeserializeOwned;

use super::error::MetabaseError;
use super::ids::CardId;
use super::models::{Card, CardCreate, CardUpdate};
use super::transport::{RequestBody, Transport, param};

/// Says which cards `GET /api/card` returns (its `f` parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CardFilter {
    /// Cards that are not archived.
    #[default]
    All,
    /// Cards the caller created.
    Mine,
    /// The caller's bookmarks.
    Bookmarked,
    /// Cards on database `model_id`.
    Database,
    /// Cards on table `model_id`.
    Table,
    /// Archived cards only.
    Archived,
    /// Cards built on model (card) `model_id`.
    UsingModel,
    /// Cards using segment `model_id`.
    UsingSegment,
}

impl CardFilter {
    /// Returns the `f` value Metabase expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mine => "mine",
            Self::Bookmarked => "bookmarked",
            Self::Database => "database",
            Self::Table => "table",
            Self::Archived => "archived",
            Self::UsingModel => "using_model",
            Self::UsingSegment => "using_segment",
        }
    }
}

/// The card routes, from [`super::MetabaseClient::cards`].
#[derive(Clone, Copy, Debug)]
pub struct Cards<'a> {
    transport: &'a Transport,
    legacy_mbql_param: bool,
}

impl<'a> Cards<'a> {
    pub(super) fn new(transport: &'a Transport, legacy_mbql_param: bool) -> Self {
        Self { transport, legacy_mbql_param }
    }

    /// Lists the cards matching `filter` (`GET /api/card?f=`); `model_id` is required by Metabase
    /// for the database, table, using-model and using-segment filters.
    pub async fn list(&self, filter: CardFilter, model_id: Option<i64>) -> Result<Vec<Card>, MetabaseError> {
        self.list_as(filter, model_id).await
    }

    /// Lists cards as [`Cards::list`] does, with their free-form JSON read as `J`.
    pub async fn list_as<J: DeserializeOwned>(
        &self,
        filter: CardFilter,
        model_id: Option<i64>,
    ) -> Result<Vec<Card<J>>, MetabaseError> {
        let mut query = vec![param("f", filter.as_str())];
        if let Some(model_id) = model_id {
            query.push(param("model_id", model_id));
        }
        self.transport.get_json("/api/card", "/api/card", &query).await
    }

    /// Returns one card (`GET /api/card/:id`); `legacy_mbql` asks for its query as MBQL 4, with
    /// `legacy-mbql=true` on 0.57 and later (older releases answer with MBQL 4 anyway, so the
    /// parameter is left out once the client knows it talks to one).
    pub async fn get(&self, id: CardId, legacy_mbql: bool) -> Result<Card, MetabaseError> {
        self.get_as(id, legacy_mbql).await
    }

    /// Returns one card as [`Cards::get`] does, with its free-form JSON read as `J`.
    pub async fn get_as<J: DeserializeOwned>(&self, id: CardId, legacy_mbql: bool) -> Result<Card<J>, MetabaseError> {
        let query = if legacy_mbql && self.legacy_mbql_param { vec![param("legacy-mbql", true)] } else { Vec::new() };
        self.transport.get_json("/api/card/{id}", &format!("/api/card/{id}"), &query).await
    }

    /// Creates a card from `body` (`POST /api/card`).
    pub async fn create(&self, body: &CardCreate) -> Result<Card, MetabaseError> {
        self.transport.post_json("/api/card", "/api/card", &[], RequestBody::typed(body)).await
    }

    /// Updates a card with the keys set in `body` (`PUT /api/card/:id`); archiving and moving go
    /// here too.
    pub async fn update(&self, id: CardId, body: &CardUpdate) -> Result<Card, MetabaseError> {
        self.transport.put_json("/api/card/{id}", &format!("/api/card/{id}"), &[], RequestBody::typed(body)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::CardFilter;
    use crate::test_support::api_key_client;
    use crate::{CardCreate, CardId, CardUpdate, MetabaseError};

    #[test]
    fn card_filters_map_to_metabase_f_values() {
        let values: Vec<&str> = [
            CardFilter::All,
            CardFilter::Mine,
            CardFilter::Bookmarked,
            CardFilter::Database,
            CardFilter::Table,
            CardFilter::Archived,
            CardFilter::UsingModel,
            CardFilter::UsingSegment,
        ]
        .into_iter()
        .map(CardFilter::as_str)
        .collect();

        assert_eq!(
            values,
            ["all", "mine", "bookmarked", "database", "table", "archived", "using_model", "using_segment"]
        );
    }

    #[tokio::test]
    async fn list_sends_f_and_model_id() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/card"))
            .and(query_param("f", "using_model"))
            .and(query_param("model_id", "12"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 1}, {"id": 2}])))
            .expect(1)
            .mount(&server)
            .await;

        let cards = api_key_client(&server).cards().list(CardFilter::UsingModel, Some(12)).await.unwrap();

        assert_eq!(cards.iter().map(|card| card.id).collect::<Vec<_>>(), [CardId(1), CardId(2)]);
    }

    #[tokio::test]
    async fn legacy_mbql_is_sent_only_when_asked() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/card/7"))
            .and(query_param("legacy-mbql", "true"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7, "name": "legacy"})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/card/7"))
            .and(query_param_is_missing("legacy-mbql"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7, "name": "mbql5"})))
            .expect(1)
            .mount(&server)
            .await;
        let client = api_key_client(&server);

        let legacy = client.cards().get(CardId(7), true).await.unwrap();
        let current = client.cards().get(CardId(7), false).await.unwrap();

        assert_eq!(legacy.name.as_deref(), Some("legacy"));
        assert_eq!(current.name.as_deref(), Some("mbql5"));
    }

    #[tokio::test]
    async fn before_0_57_legacy_mbql_is_not_sent_once_the_version_is_known() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/session/properties"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"version": {"tag": "v0.56.9", "hash": "abc"}})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/card/7"))
            .and(query_param_is_missing("legacy-mbql"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7, "name": "mbql4 by default"})))
            .expect(1)
            .mount(&server)
            .await;
        let client = api_key_client(&server);
        let sibling =
            client.sibling(crate::ClientConfig::new(server.uri(), crate::Credential::api_key("another"))).unwrap();

        let known = client.refresh_version().await.unwrap();
        let card = sibling.cards().get(CardId(7), true).await.unwrap();

        assert_eq!(known.parsed.map(|version| version.minor), Some(56));
        assert_eq!(sibling.known_version(), Some(known), "siblings share the version");
        assert_eq!(card.name.as_deref(), Some("mbql4 by default"));
    }

    #[tokio::test]
    async fn update_sends_exactly_the_given_partial_body() {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path("/api/card/7"))
            .and(body_json(json!({"archived": true})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7, "archived": true})))
            .expect(1)
            .mount(&server)
            .await;
        let body = CardUpdate { archived: Some(true), ..CardUpdate::default() };

        let card = api_key_client(&server).cards().update(CardId(7), &body).await.unwrap();

        assert!(card.archived);
    }

    #[tokio::test]
    async fn missing_card_is_upstream_404_with_metabase_text() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/card/404"))
            .respond_with(ResponseTemplate::new(404).set_body_raw("Not found.", "text/plain"))
            .mount(&server)
            .await;

        let error = api_key_client(&server).cards().get(CardId(404), false).await.unwrap_err();

        match error {
            MetabaseError::Upstream { status, route, message, .. } => {
                assert_eq!((status, route.as_str(), message.as_str()), (404, "/api/card/{id}", "Not found."));
            }
            other => panic!("expected Upstream, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn create_validation_400_gives_field_errors() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/card"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "errors": {"name": "value must be a non-blank string."},
                "specific-errors": {"name": ["missing required key, received: nil"]}
            })))
            .mount(&server)
            .await;

        let error = api_key_client(&server).cards().create(&CardCreate::default()).await.unwrap_err();

        match error {
            MetabaseError::Upstream { status, message, field_errors, .. } => {
                assert_eq!(status, 400);
                assert_eq!(message, "invalid request: name: value must be a non-blank string.");
                assert_eq!(field_errors, [("name".to_owned(), "value must be a non-blank string.".to_owned())]);
            }
            other => panic!("expected Upstream, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn archived_card_json_404_gives_message_and_error_code() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/card/3"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                "message": "Card 3 is archived", "error_code": "archived", "via": [], "trace": []
            })))
            .mount(&server)
            .await;

        let error = api_key_client(&server).cards().get(CardId(3), false).await.unwrap_err();

        assert!(
            matches!(&error, MetabaseError::Upstream { status: 404, message, error_code: Some(code), .. }
                if message == "Card 3 is archived" && code == "archived"),
            "{error:?}"
        );
    }
}
