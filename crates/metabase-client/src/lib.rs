//! A typed client for the Metabase REST API (`docs/metabase-contract.md` in the gateway repository), usable on its own: it knows nothing of
//! gRPC, policy or the emulator.
//!
//! [`MetabaseClient`] is cheap to clone and hands out one handler per resource
//! (`client.cards().get(id, false)`). The [`transport`] module is the only place that sends
//! requests; handlers build paths, query strings and bodies, and decode [`models`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod alerts;
pub mod cards;
pub mod collections;
pub mod credential;
pub mod dashboards;
pub mod databases;
pub mod deadline;
pub mod error;
pub mod ids;
pub mod metadata;
pub mod models;
pub mod notifications;
pub mod permissions;
pub mod queries;
pub mod redact;
pub mod results;
pub mod search;
pub mod secret;
pub mod server;
mod session;
pub mod transport;
pub mod users;

#[cfg(test)]
pub(crate) mod test_support;

use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use reqwest::{Method, Url};

pub use self::alerts::Alerts;
pub use self::cards::{CardFilter, Cards};
pub use self::collections::{CollectionTarget, Collections};
pub use self::credential::Credential;
pub use self::dashboards::{DashboardFilter, Dashboards};
pub use self::databases::{DatabaseCreate, DatabaseUpdate, Databases};
pub use self::error::{ConfigError, MetabaseError, check_query_body};
pub use self::ids::{
    AlertId, CardId, CollectionId, CollectionKey, DashCardId, DashboardId, DatabaseId, FieldId, GroupId, MembershipId,
    NotificationId, TabId, TableId, UserId,
};
pub use self::metadata::Metadata;
pub use self::models::*;
pub use self::notifications::{NotificationChange, NotificationFilter, Notifications, UnknownRow, merge_change};
pub use self::permissions::{GroupBody, MembershipCreate, Permissions, PermissionsGraphUpdate};
pub use self::queries::{ExportFormat, Queries};
pub use self::redact::safe_text;
pub use self::results::{QuerySource, ResultBody, export_failure};
pub use self::search::{Search, SearchQuery};
pub use self::secret::Secret;
pub use self::server::{KnownVersion, MetabaseVersion, Server};
pub use self::transport::{
    BreakerSettings, ClientSpan, Query, RequestBody, Resilience, RetrySettings, Transport, mark_error,
};
pub use self::users::{UserCreate, UserStatus, UserUpdate, Users};

/// The timeout used when a [`ClientConfig`] does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a streamed answer may stay silent between chunks when a [`ClientConfig`] does not
/// say: Metabase sends a query's first bytes once it runs, and then keeps sending.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Says where Metabase is and how to talk to it. Its `Debug` output never shows a secret.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The Metabase base URL, e.g. `https://metabase.example.com` or `http://host/metabase/`.
    pub base_url: String,
    /// How the client authenticates.
    pub credential: Credential,
    /// How long a request may take in full; for streamed routes, how long until the headers.
    /// Also bounds connecting.
    pub timeout: Duration,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
    /// How long a streamed answer may stay silent between two chunks before it ends as stalled,
    /// whatever the caller's deadline.
    pub body_idle_timeout: Duration,
    /// The retry budget and circuit breaker; clones of the configuration share them, so every
    /// client built from it (one per credential) spends one budget and trips one breaker.
    pub resilience: Resilience,
}

impl ClientConfig {
    /// Builds a configuration with the default timeout and a `metabase-grpc/<version>` user agent.
    pub fn new(base_url: impl Into<String>, credential: Credential) -> Self {
        Self {
            base_url: base_url.into(),
            credential,
            timeout: DEFAULT_TIMEOUT,
            user_agent: concat!("metabase-grpc/", env!("CARGO_PKG_VERSION")).to_owned(),
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            resilience: Resilience::default(),
        }
    }

    /// Returns this configuration with another idle timeout between chunks of a streamed answer.
    pub fn with_body_idle_timeout(self, body_idle_timeout: Duration) -> Self {
        Self { body_idle_timeout, ..self }
    }

    /// Returns this configuration with a fresh retry budget and circuit breaker with these
    /// settings.
    pub fn with_resilience(self, retry: RetrySettings, breaker: BreakerSettings) -> Self {
        Self { resilience: Resilience::new(retry, breaker), ..self }
    }

    /// Returns this configuration with another timeout.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// Returns this configuration with another user agent.
    pub fn with_user_agent(self, user_agent: impl Into<String>) -> Self {
        Self { user_agent: user_agent.into(), ..self }
    }
}

/// A Metabase REST client. Clones share one connection pool and one cached session; clients made
/// with [`MetabaseClient::sibling`] share the version last read, which decides the fallbacks.
#[derive(Clone, Debug)]
pub struct MetabaseClient {
    transport: Arc<Transport>,
    version: Arc<RwLock<Option<KnownVersion>>>,
}

impl MetabaseClient {
    /// Builds a client, checking the base URL and credential; no request is sent yet.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let transport = Transport::new(config)?;
        Ok(Self { transport: Arc::new(transport), version: Arc::default() })
    }

    /// Builds a client for the same Metabase with another configuration (another caller's
    /// credential), sharing the version this client knows.
    pub fn sibling(&self, config: ClientConfig) -> Result<Self, ConfigError> {
        let transport = Transport::new(config)?;
        Ok(Self { transport: Arc::new(transport), version: Arc::clone(&self.version) })
    }

    /// Reads Metabase's version from `/api/session/properties` and remembers it.
    pub async fn refresh_version(&self) -> Result<KnownVersion, MetabaseError> {
        let known = KnownVersion::from_properties(&self.server().properties().await?);
        *self.version.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(known.clone());
        Ok(known)
    }

    /// Returns the version read last, if any.
    pub fn known_version(&self) -> Option<KnownVersion> {
        self.version.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Returns the transport, for callers that need a route this client does not wrap.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Returns a safe description of the credential in use (`api key`, `session for user x@y`).
    pub fn credential_description(&self) -> &str {
        self.transport.credential_description()
    }

    /// Returns the card (saved question, model, metric) routes.
    pub fn cards(&self) -> Cards<'_> {
        // An unknown version is taken as current: the parameter is sent.
        let legacy_mbql_param =
            self.known_version().and_then(|known| known.parsed).is_none_or(|version| version.takes_legacy_mbql_param());
        Cards::new(&self.transport, legacy_mbql_param)
    }

    /// Returns the dashboard routes.
    pub fn dashboards(&self) -> Dashboards<'_> {
        Dashboards::new(&self.transport)
    }

    /// Returns the collection routes.
    pub fn collections(&self) -> Collections<'_> {
        Collections::new(&self.transport)
    }

    /// Returns the database routes.
    pub fn databases(&self) -> Databases<'_> {
        Databases::new(&self.transport)
    }

    /// Returns the user routes.
    pub fn users(&self) -> Users<'_> {
        Users::new(&self.transport)
    }

    /// Returns the permission group, membership and data-permission graph routes.
    pub fn permissions(&self) -> Permissions<'_> {
        Permissions::new(&self.transport)
    }

    /// Returns the legacy alert routes.
    pub fn alerts(&self) -> Alerts<'_> {
        Alerts::new(&self.transport)
    }

    /// Returns the metadata routes: tables, fields, schemas and field values.
    pub fn metadata(&self) -> Metadata<'_> {
        Metadata::new(&self.transport)
    }

    /// Returns the notification routes (Metabase 0.54+ alerts).
    pub fn notifications(&self) -> Notifications<'_> {
        Notifications::new(&self.transport)
    }

    /// Returns the search route.
    pub fn search(&self) -> Search<'_> {
        Search::new(&self.transport)
    }

    /// Returns the query and export routes, whose answers are streamed.
    pub fn queries(&self) -> Queries<'_> {
        Queries::new(&self.transport)
    }

    /// Returns the server routes: session properties, version and health.
    pub fn server(&self) -> Server<'_> {
        Server::new(&self.transport)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::test_support::{API_KEY, api_key_client};
    use super::{CardId, ClientConfig, ConfigError, Credential, MetabaseClient, MetabaseError};

    #[tokio::test]
    async fn api_key_is_sent_as_x_api_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/card/5"))
            .and(header("x-api-key", API_KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 5, "name": "Revenue"})))
            .expect(1)
            .mount(&server)
            .await;

        let card = api_key_client(&server).cards().get(CardId(5), false).await.unwrap();

        assert_eq!(card.name.as_deref(), Some("Revenue"));
    }

    #[tokio::test]
    async fn api_key_401_is_credential_rejected_and_no_secret_is_printed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_string("Unauthenticated"))
            .expect(1)
            .mount(&server)
            .await;
        let client = api_key_client(&server);

        let error = client.cards().get(CardId(5), false).await.unwrap_err();

        assert!(matches!(error, MetabaseError::CredentialRejected { .. }), "{error:?}");
        let printed = format!("{error} {error:?} {client:?}");
        assert!(!printed.contains(API_KEY), "{printed}");
    }

    #[test]
    fn config_debug_shows_no_secret() {
        let api_key = ClientConfig::new("http://127.0.0.1:3000", Credential::api_key("mb_very_secret_key_123"));
        let session = ClientConfig::new("http://127.0.0.1:3000", Credential::session("ada@example.com", "pa55word!"));

        let printed = format!("{api_key:?} {session:?} {:?}", MetabaseClient::new(session.clone()).unwrap());

        assert!(!printed.contains("mb_very_secret"), "{printed}");
        assert!(!printed.contains("pa55word"), "{printed}");
        assert!(printed.contains("session for user ada@example.com"), "{printed}");
    }

    #[test]
    fn base_url_with_credentials_or_bad_scheme_is_refused_without_echoing_it() {
        let with_userinfo = ClientConfig::new("http://admin:hunter2@host:3000", Credential::api_key("mb_key_1234567"));
        let with_bad_scheme = ClientConfig::new("ftp://host", Credential::api_key("mb_key_1234567"));

        let userinfo_error = MetabaseClient::new(with_userinfo).unwrap_err();
        let scheme_error = MetabaseClient::new(with_bad_scheme).unwrap_err();

        assert!(matches!(userinfo_error, ConfigError::InvalidBaseUrl { .. }));
        assert!(!userinfo_error.to_string().contains("hunter2"));
        assert!(matches!(scheme_error, ConfigError::InvalidBaseUrl { .. }));
    }

    #[test]
    fn blank_or_unsendable_credentials_are_refused() {
        let blank = ClientConfig::new("http://host", Credential::api_key(" "));
        let newline = ClientConfig::new("http://host", Credential::api_key("mb_abc\ndef"));
        let no_password = ClientConfig::new("http://host", Credential::session("ada@example.com", ""));

        for config in [blank, newline, no_password] {
            let error = MetabaseClient::new(config).unwrap_err();
            assert!(matches!(error, ConfigError::InvalidCredential { .. }), "{error:?}");
        }
    }

    #[tokio::test]
    async fn base_url_path_prefix_is_kept() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/metabase/api/user/current"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "email": "ada@example.com"})))
            .expect(1)
            .mount(&server)
            .await;
        let config = ClientConfig::new(format!("{}/metabase/", server.uri()), Credential::api_key("mb_key_1234567"));

        let user = MetabaseClient::new(config).unwrap().users().current().await.unwrap();

        assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    }
}
