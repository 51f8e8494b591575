//! Owns the HTTP transport: the base URL, the reqwest client and its timeout, authentication
//! (API key or cached session, with one re-login on 401), retries of idempotent requests, the
//! circuit breaker, and the decoding of error answers. This is the only code in the crate that
//! calls reqwest's `send()`.
//!
//! Every request names a route template (`/api/card/{id}`), never the concrete path, for logs,
//! spans and errors. Headers and bodies are never logged.

mod breaker;
mod request;
mod retry;
mod trace;

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument;

pub use self::breaker::BreakerSettings;
pub(crate) use self::request::{Call, param, sensitive_header};
use self::request::{Deadline, parse_base_url};
pub use self::request::{Query, RequestBody};
pub use self::retry::{Resilience, RetrySettings};
pub use self::trace::{ClientSpan, mark_error};
use super::credential::Credential;
use super::error::{ConfigError, MetabaseError, upstream_error};
use super::session::SessionCache;
use crate::ClientConfig;

const API_KEY_HEADER: &str = "x-api-key";
const SESSION_HEADER: &str = "x-metabase-session";

/// How the transport authenticates.
enum Authenticator {
    /// The API key as a header value already marked sensitive.
    ApiKey(HeaderValue),
    Session(SessionCache),
}

/// Sends requests to one Metabase instance with one credential.
pub struct Transport {
    http: reqwest::Client,
    base_url: Url,
    timeout: Duration,
    body_idle_timeout: Duration,
    credential_description: String,
    authenticator: Authenticator,
    resilience: Resilience,
}

impl fmt::Debug for Transport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Transport")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .field("body_idle_timeout", &self.body_idle_timeout)
            .field("credential", &self.credential_description)
            .finish_non_exhaustive()
    }
}

/// Returns the response, unless it is a 401: the credential was rejected and there is no retry left.
fn final_answer(route: &str, response: Response) -> Result<Response, MetabaseError> {
    if response.status() == StatusCode::UNAUTHORIZED {
        return Err(MetabaseError::CredentialRejected { route: route.to_owned() });
    }
    Ok(response)
}

impl Transport {
    /// Builds a transport, checking the base URL and the credential up front.
    pub(super) fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let ClientConfig { base_url, credential, timeout, user_agent, body_idle_timeout, resilience } = config;
        let base_url = parse_base_url(&base_url)?;
        let credential_description = credential.describe();
        let authenticator = match credential {
            Credential::ApiKey(key) => {
                if key.is_blank() {
                    return Err(ConfigError::InvalidCredential { reason: "the api key is empty".to_owned() });
                }
                Authenticator::ApiKey(sensitive_header(key.expose()).ok_or_else(|| ConfigError::InvalidCredential {
                    reason: "the api key holds characters an http header cannot carry".to_owned(),
                })?)
            }
            Credential::Session { username, password } => {
                if username.trim().is_empty() || password.is_blank() {
                    return Err(ConfigError::InvalidCredential {
                        reason: "the session username and password must not be empty".to_owned(),
                    });
                }
                Authenticator::Session(SessionCache::new(username, password))
            }
        };
        // Small requests go out at once rather than waiting for Metabase's delayed ACK. Redirects
        // are not followed: reqwest strips only the standard credential headers when it follows
        // one to another host, and `x-api-key` or `X-Metabase-Session` would go with it. Retries
        // are this transport's own (`retry.rs`: idempotent reads only, within a budget, counted
        // in spans and metrics), so reqwest's are off, and it no longer copies each request in
        // case it retries.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .tcp_nodelay(true)
            .connect_timeout(timeout)
            .user_agent(user_agent)
            .build()
            .map_err(|source| ConfigError::HttpClient { source })?;
        Ok(Self { http, base_url, timeout, body_idle_timeout, credential_description, authenticator, resilience })
    }

    /// Returns the retry budget and circuit breaker this transport shares with the other clients
    /// of its configuration.
    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// Returns how long a streamed answer may stay silent between two chunks.
    pub(crate) fn body_idle_timeout(&self) -> Duration {
        self.body_idle_timeout
    }

    /// Returns the Metabase base URL requests are sent to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Returns a safe description of the credential in use (`api key`, `session for user x@y`).
    pub fn credential_description(&self) -> &str {
        &self.credential_description
    }

    /// Sends an authenticated `GET` and decodes the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T, MetabaseError> {
        self.json_call(Call::whole(Method::GET, route, path, query, &RequestBody::None)).await
    }

    /// Sends an authenticated `POST` and decodes the JSON answer.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        query: &[(String, String)],
        body: RequestBody,
    ) -> Result<T, MetabaseError> {
        self.json_call(Call::whole(Method::POST, route, path, query, &body)).await
    }

    /// Sends an authenticated `PUT` and decodes the JSON answer.
    pub async fn put_json<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        query: &[(String, String)],
        body: RequestBody,
    ) -> Result<T, MetabaseError> {
        self.json_call(Call::whole(Method::PUT, route, path, query, &body)).await
    }

    /// Sends an authenticated `DELETE` that answers 204 (or 200), ignoring any body.
    pub async fn delete(&self, route: &'static str, path: &str) -> Result<(), MetabaseError> {
        let call = Call::whole(Method::DELETE, route, path, &[], &RequestBody::None);
        let response = self.send_authorized(&call).await?;
        self.read_body(route, response).await.map(drop)
    }

    /// Sends an authenticated `DELETE` whose answer is a JSON body (user deactivation).
    pub async fn delete_json<T: DeserializeOwned>(&self, route: &'static str, path: &str) -> Result<T, MetabaseError> {
        self.json_call(Call::whole(Method::DELETE, route, path, &[], &RequestBody::None)).await
    }

    /// Sends an authenticated request and returns the response without reading its body when the
    /// status is 2xx, for streamed results and exports. The timeout bounds the wait for the
    /// response headers only; the body's lifetime is bounded by whoever reads it. A non-2xx answer
    /// is read and decoded into an error.
    pub async fn send_raw(
        &self,
        method: Method,
        route: &'static str,
        path: &str,
        query: &[(String, String)],
        body: RequestBody,
    ) -> Result<Response, MetabaseError> {
        let call = Call { method, route, path, query, body: &body, deadline: Deadline::HeadersOnly };
        let response = self.send_authorized(&call).await?;
        if !response.status().is_success() {
            return Err(self.read_error(route, response).await);
        }
        Ok(response)
    }

    /// Sends a `GET` without any credential (for `/api/health`) and returns the status and body
    /// whatever the status is.
    pub async fn get_without_credential(
        &self,
        route: &'static str,
        path: &str,
    ) -> Result<(StatusCode, Bytes), MetabaseError> {
        let call = Call::whole(Method::GET, route, path, &[], &RequestBody::None);
        let response = self.send(&call, None).await?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| MetabaseError::from_transport(route, error))?;
        Ok((status, body))
    }

    async fn json_call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, MetabaseError> {
        let response = self.send_authorized(&call).await?;
        self.read_json(call.route, response).await
    }

    /// Sends with the configured credential. A 401 with an API key is final; with a session the
    /// session is renewed once and the request retried once.
    async fn send_authorized(&self, call: &Call<'_>) -> Result<Response, MetabaseError> {
        let session = match &self.authenticator {
            Authenticator::ApiKey(key) => {
                return final_answer(call.route, self.send(call, Some((API_KEY_HEADER, key))).await?);
            }
            Authenticator::Session(session) => session,
        };
        let token = session.token(self, None).await?;
        let response = self.send(call, Some((SESSION_HEADER, &token))).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        tracing::debug!(route = call.route, "metabase rejected the cached session, logging in again");
        let renewed = session.token(self, Some(&token)).await?;
        final_answer(call.route, self.send(call, Some((SESSION_HEADER, &renewed))).await?)
    }

    /// Sends a request, retrying a `GET` that met a connection error or a 502, 503 or 504 while
    /// the caller's deadline and the retry budget allow (see [`retry`]); each attempt has its own
    /// client span.
    pub(super) async fn send(
        &self,
        call: &Call<'_>,
        auth: Option<(&'static str, &HeaderValue)>,
    ) -> Result<Response, MetabaseError> {
        let request_deadline = Instant::now() + self.timeout;
        self.resilience.deposit();
        let mut attempt = 0;
        loop {
            let outcome = self.send_attempt(call, auth, attempt).await;
            let Some(pause) =
                self.resilience.retry_after(&call.method, call.route, &outcome, attempt, request_deadline)
            else {
                return outcome;
            };
            drop(outcome);
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// Sends one HTTP request, if the circuit breaker admits it, and logs its method, route,
    /// status and duration; its outcome is recorded with the breaker.
    async fn send_attempt(
        &self,
        call: &Call<'_>,
        auth: Option<(&'static str, &HeaderValue)>,
        attempt: u32,
    ) -> Result<Response, MetabaseError> {
        let ticket = match self.resilience.breaker().admit() {
            Ok(ticket) => ticket,
            Err(wait) => {
                trace::count_circuit_refusal(call.route);
                return Err(MetabaseError::CircuitOpen { route: call.route.to_owned(), retry_after: wait });
            }
        };
        let started = Instant::now();
        let span = trace::client_span(call, &self.base_url, attempt);
        let request = self.build_request(call, auth).headers(trace::trace_headers(&span));
        let sending = async move {
            match call.deadline {
                Deadline::WholeResponse => {
                    request.send().await.map_err(|error| MetabaseError::from_transport(call.route, error))
                }
                Deadline::HeadersOnly => match tokio::time::timeout(self.timeout, request.send()).await {
                    Ok(sent) => sent.map_err(|error| MetabaseError::from_transport(call.route, error)),
                    Err(_elapsed) => Err(MetabaseError::Timeout { route: call.route.to_owned() }),
                },
            }
        };
        let mut outcome = sending.instrument(span.clone()).await;
        ticket.record(match &outcome {
            Ok(response) => !response.status().is_server_error(),
            Err(_) => false,
        });
        let elapsed = started.elapsed();
        trace::finish(
            &span,
            call.route,
            outcome.as_ref().ok().map(|response| response.status().as_u16()),
            elapsed.as_secs_f64(),
        );
        if let Ok(response) = outcome.as_mut() {
            response.extensions_mut().insert(ClientSpan(span));
        }
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        match &outcome {
            Ok(response) => tracing::debug!(
                method = %call.method,
                route = call.route,
                status = response.status().as_u16(),
                elapsed_ms,
                "metabase request"
            ),
            Err(error) => tracing::debug!(
                method = %call.method,
                route = call.route,
                elapsed_ms,
                error = %error,
                "metabase request failed"
            ),
        }
        outcome
    }

    fn build_request(&self, call: &Call<'_>, auth: Option<(&'static str, &HeaderValue)>) -> RequestBuilder {
        let mut request = self.http.request(call.method.clone(), self.url_for(call.path));
        if !call.query.is_empty() {
            request = request.query(call.query);
        }
        request = match call.body {
            RequestBody::None => request,
            RequestBody::Json(value) => request.json(value),
            RequestBody::Form(pairs) => request.form(pairs),
        };
        if let Some((name, value)) = auth {
            request = request.header(name, value.clone());
        }
        if matches!(call.deadline, Deadline::WholeResponse) {
            request = request.timeout(self.timeout);
        }
        request
    }

    fn url_for(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        let prefix = self.base_url.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    /// Reads a success body as JSON (an empty body reads as `null`), or decodes the error.
    pub(super) async fn read_json<T: DeserializeOwned>(
        &self,
        route: &str,
        response: Response,
    ) -> Result<T, MetabaseError> {
        let body = self.read_body(route, response).await?;
        let json: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"null" } else { &body };
        serde_json::from_slice(json).map_err(|source| MetabaseError::Decode { route: route.to_owned(), source })
    }

    async fn read_body(&self, route: &str, response: Response) -> Result<Bytes, MetabaseError> {
        if !response.status().is_success() {
            return Err(self.read_error(route, response).await);
        }
        response.bytes().await.map_err(|error| MetabaseError::from_transport(route, error))
    }

    /// Reads a non-success answer and decodes it; if the body cannot be read, the status alone
    /// still makes the error.
    async fn read_error(&self, route: &str, response: Response) -> MetabaseError {
        let status = response.status().as_u16();
        let content_type =
            response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let body = match tokio::time::timeout(self.timeout, response.bytes()).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) | Err(_) => Bytes::new(),
        };
        upstream_error(status, route, content_type.as_deref(), &body)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
