//! Owns the legacy alert routes (`/api/alert`, CONTRACT.md §13): list, get and unsubscribe.

use super::error::MetabaseError;
use super::ids::{AlertId, UserId};
use super::models::Alert;
use super::transport::{Transport, param};

/// The alert routes, from [`super::MetabaseClient::alerts`].
#[derive(Clone, Copy, Debug)]
pub struct Alerts<'a> {
    transport: &'a Transport,
}

impl<'a> Alerts<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Lists alerts (`GET /api/alert`); Metabase ignores `user_id` for non-admins and uses the
    /// caller instead.
    pub async fn list(&self, archived: bool, user_id: Option<UserId>) -> Result<Vec<Alert>, MetabaseError> {
        let mut query = vec![param("archived", archived)];
        if let Some(user_id) = user_id {
            query.push(param("user_id", user_id));
        }
        self.transport.get_json("/api/alert", "/api/alert", &query).await
    }

    /// Returns one alert (`GET /api/alert/:id`).
    pub async fn get(&self, id: AlertId) -> Result<Alert, MetabaseError> {
        self.transport.get_json("/api/alert/{id}", &format!("/api/alert/{id}"), &[]).await
    }

    /// Unsubscribes the client's user from an alert (`DELETE /api/alert/:id/subscription`, 204).
    pub async fn unsubscribe(&self, id: AlertId) -> Result<(), MetabaseError> {
        self.transport.delete("/api/alert/{id}/subscription", &format!("/api/alert/{id}/subscription")).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::test_support::api_key_client;
    use crate::{AlertId, UserId};

    #[tokio::test]
    async fn list_reads_card_and_channels() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/alert"))
            .and(query_param("archived", "false"))
            .and(query_param("user_id", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": 6, "name": null, "alert_condition": "rows", "archived": false,
                "card": {"name": "Orders", "display": "table"},
                "channels": [{"channel_type": "email", "recipients": []}], "skip_if_empty": true
            }])))
            .expect(1)
            .mount(&server)
            .await;

        let alerts = api_key_client(&server).alerts().list(false, Some(UserId(2))).await.unwrap();

        assert_eq!(alerts[0].id, AlertId(6));
        assert_eq!(alerts[0].card.as_ref().and_then(|card| card.name.as_deref()), Some("Orders"));
        assert_eq!(alerts[0].channels.len(), 1);
    }

    #[tokio::test]
    async fn unsubscribe_accepts_204() {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/api/alert/6/subscription"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;

        api_key_client(&server).alerts().unsubscribe(AlertId(6)).await.unwrap();
    }
}
