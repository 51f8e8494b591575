//! Owns the cached Metabase session (CONTRACT.md §3.3): one `POST /api/session` shared by every
//! concurrent request, renewed only when Metabase rejects the token that is cached.

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::error::MetabaseError;
use super::secret::Secret;
use super::transport::{Call, RequestBody, Transport, sensitive_header};

const SESSION_ROUTE: &str = "/api/session";

/// A username/password credential and the session token it last obtained.
pub(super) struct SessionCache {
    username: String,
    password: Secret,
    /// Held across a login, so concurrent callers wait for that one login instead of starting
    /// their own (single flight).
    token: Mutex<Option<HeaderValue>>,
}

/// The body of a successful login; only `id` matters.
#[derive(Deserialize)]
struct SessionCreated {
    id: String,
}

impl SessionCache {
    pub(super) fn new(username: String, password: Secret) -> Self {
        Self { username, password, token: Mutex::new(None) }
    }

    /// Returns the cached token, logging in first when there is none or when the cached one is
    /// `stale` (the token Metabase just rejected). A token renewed meanwhile by another caller is
    /// returned as is.
    pub(super) async fn token(
        &self,
        transport: &Transport,
        stale: Option<&HeaderValue>,
    ) -> Result<HeaderValue, MetabaseError> {
        let mut cached = self.token.lock().await;
        if let Some(current) = cached.as_ref()
            && stale != Some(current)
        {
            return Ok(current.clone());
        }
        // Forget the rejected token first, so a failed login leaves nothing stale behind.
        *cached = None;
        let fresh = self.login(transport).await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn login(&self, transport: &Transport) -> Result<HeaderValue, MetabaseError> {
        let body = RequestBody::Json(json!({"username": self.username, "password": self.password.expose()}));
        let call = Call::whole(Method::POST, SESSION_ROUTE, SESSION_ROUTE, &[], &body);
        let response = transport.send(&call, None).await?;
        if matches!(response.status(), StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            tracing::warn!(username = %self.username, status = response.status().as_u16(), "metabase rejected the login");
            return Err(MetabaseError::CredentialRejected { route: SESSION_ROUTE.to_owned() });
        }
        let created: SessionCreated = transport.read_json(SESSION_ROUTE, response).await?;
        sensitive_header(&created.id).ok_or_else(|| MetabaseError::Upstream {
            status: 200,
            route: SESSION_ROUTE.to_owned(),
            message: "metabase returned a session id that cannot be sent as a header".to_owned(),
            field_errors: Vec::new(),
            error_code: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_json, header, header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::test_support::session_client;
    use crate::{CardId, MetabaseError};

    const FIRST_SESSION: &str = "11111111-1111-1111-1111-111111111111";
    const SECOND_SESSION: &str = "22222222-2222-2222-2222-222222222222";

    fn login_answering(session_id: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({"id": session_id}))
    }

    fn card_body() -> serde_json::Value {
        json!({"id": 1, "name": "Orders"})
    }

    #[tokio::test]
    async fn session_client_logs_in_then_sends_the_session_header() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/session"))
            .and(body_json(json!({"username": "ada@example.com", "password": "s3cret-pass"})))
            .respond_with(login_answering(FIRST_SESSION))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/card/1"))
            .and(header("x-metabase-session", FIRST_SESSION))
            .respond_with(ResponseTemplate::new(200).set_body_json(card_body()))
            .expect(2)
            .mount(&server)
            .await;
        let client = session_client(&server);

        let first = client.cards().get(CardId(1), false).await.unwrap();
        let second = client.cards().get(CardId(1), false).await.unwrap();

        assert_eq!(first.name.as_deref(), Some("Orders"));
        assert_eq!(second.id, CardId(1));
    }

    #[tokio::test]
    async fn expired_session_triggers_one_relogin_and_a_successful_retry() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/session"))
            .respond_with(login_answering(FIRST_SESSION))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/session"))
            .respond_with(login_answering(SECOND_SESSION))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(header("x-metabase-session", FIRST_SESSION))
            .respond_with(ResponseTemplate::new(401).set_body_string("Unauthenticated"))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/card/1"))
            .and(header("x-metabase-session", SECOND_SESSION))
            .respond_with(ResponseTemplate::new(200).set_body_json(card_body()))
            .expect(1)
            .mount(&server)
            .await;
        let client = session_client(&server);

        let card = client.cards().get(CardId(1), false).await.unwrap();

        assert_eq!(card.id, CardId(1));
    }

    #[tokio::test]
    async fn second_401_after_relogin_is_credential_rejected_without_a_loop() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/session"))
            .respond_with(login_answering(FIRST_SESSION))
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/card/1"))
            .and(header_exists("x-metabase-session"))
            .respond_with(ResponseTemplate::new(401).set_body_string("Unauthenticated"))
            .expect(2)
            .mount(&server)
            .await;
        let client = session_client(&server);

        let error = client.cards().get(CardId(1), false).await.unwrap_err();

        assert!(
            matches!(&error, MetabaseError::CredentialRejected { route } if route == "/api/card/{id}"),
            "{error:?}"
        );
        assert_eq!(error.status(), Some(401));
    }

    #[tokio::test]
    async fn rejected_login_is_credential_rejected_and_hides_the_password() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/session"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(json!({"errors": {"password": "did not match stored password"}})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = session_client(&server);

        let error = client.cards().get(CardId(1), false).await.unwrap_err();

        assert!(matches!(&error, MetabaseError::CredentialRejected { route } if route == "/api/session"), "{error:?}");
        let printed = format!("{error} {error:?}");
        assert!(!printed.contains("s3cret-pass"), "{printed}");
    }

    #[tokio::test]
    async fn ten_concurrent_calls_share_one_login() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/session"))
            .respond_with(login_answering(FIRST_SESSION).set_delay(std::time::Duration::from_millis(100)))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/card/1"))
            .and(header("x-metabase-session", FIRST_SESSION))
            .respond_with(ResponseTemplate::new(200).set_body_json(card_body()))
            .expect(10)
            .mount(&server)
            .await;
        let client = session_client(&server);

        let calls = (0..10).map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.cards().get(CardId(1), false).await })
        });
        let results = futures::future::join_all(calls).await;

        assert!(results.into_iter().all(|joined| joined.unwrap().is_ok()));
    }
}
