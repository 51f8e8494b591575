//! Owns the dashboard routes (`/api/dashboard`, CONTRACT.md §5): list, get, create and update.

use serde_json::{Map, Value};

use super::error::MetabaseError;
use super::ids::DashboardId;
use super::models::Dashboard;
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

    /// Returns one dashboard with its dashcards and tabs (`GET /api/dashboard/:id`).
    pub async fn get(&self, id: DashboardId) -> Result<Dashboard, MetabaseError> {
        self.transport.get_json("/api/dashboard/{id}", &format!("/api/dashboard/{id}"), &[]).await
    }

    /// Creates a dashboard from `body` exactly as given (`POST /api/dashboard`; `name` required).
    pub async fn create(&self, body: Map<String, Value>) -> Result<Dashboard, MetabaseError> {
        let body = RequestBody::Json(Value::Object(body));
        self.transport.post_json("/api/dashboard", "/api/dashboard", &[], body).await
    }

    /// Updates a dashboard with the partial `body` exactly as given (`PUT /api/dashboard/:id`).
    /// When `dashcards` is present it is the complete desired set: negative ids create, missing
    /// ids delete.
    pub async fn update(&self, id: DashboardId, body: Map<String, Value>) -> Result<Dashboard, MetabaseError> {
        let body = RequestBody::Json(Value::Object(body));
        self.transport.put_json("/api/dashboard/{id}", &format!("/api/dashboard/{id}"), &[], body).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::DashboardFilter;
    use crate::DashboardId;
    use crate::test_support::api_key_client;

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
}
