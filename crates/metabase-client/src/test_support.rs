//! Builds clients pointed at a wiremock server, for this module's tests.

use std::time::Duration;

use wiremock::MockServer;

use super::{ClientConfig, Credential, MetabaseClient};

/// The API key the test clients send.
pub(crate) const API_KEY: &str = "mb_test_key_0123456789abcdefghijklmnopqrstuv";

/// Returns a client for `server` that authenticates with [`API_KEY`].
pub(crate) fn api_key_client(server: &MockServer) -> MetabaseClient {
    client_for(server, Credential::api_key(API_KEY))
}

/// Returns a client for `server` that logs in as `ada@example.com` / `s3cret-pass`.
pub(crate) fn session_client(server: &MockServer) -> MetabaseClient {
    client_for(server, Credential::session("ada@example.com", "s3cret-pass"))
}

fn client_for(server: &MockServer, credential: Credential) -> MetabaseClient {
    let config = ClientConfig::new(server.uri(), credential).with_timeout(Duration::from_secs(5));
    MetabaseClient::new(config).expect("a valid test configuration")
}
