//! Owns the server routes: session properties and version (CONTRACT.md §3.5), and health (§15).

use std::fmt;

use serde_json::Value;

use super::error::MetabaseError;
use super::models::SessionProperties;
use super::transport::Transport;

/// The oldest and newest minor releases this client was written and tested against.
const TESTED_MINORS: std::ops::RangeInclusive<u32> = 50..=62;

/// A Metabase release number, parsed from a version tag such as `v0.58.3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetabaseVersion {
    /// `0` for open-source builds, `1` for Enterprise builds of the same release.
    pub major: u32,
    /// The release, e.g. `58`.
    pub minor: u32,
    /// The patch level, `0` when the tag has none.
    pub patch: u32,
}

impl MetabaseVersion {
    /// Parses a tag like `v0.58.3`, `0.58`, `v1.57.2-SNAPSHOT` or `v0.59.0-beta`; returns `None`
    /// for anything else (e.g. `vUNKNOWN`).
    pub fn parse(tag: &str) -> Option<Self> {
        let trimmed = tag.trim();
        let numbers = trimmed.strip_prefix(['v', 'V']).unwrap_or(trimmed);
        let mut parts = numbers.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = leading_number(parts.next()?)?;
        let patch = match parts.next() {
            Some(part) => leading_number(part)?,
            None => 0,
        };
        Some(Self { major, minor, patch })
    }

    /// Reports whether the release lies in the tested range, 0.50 to 0.62 (or the Enterprise
    /// 1.50 to 1.62).
    pub fn is_tested(&self) -> bool {
        self.major <= 1 && TESTED_MINORS.contains(&self.minor)
    }

    /// Reports whether `GET /api/card/:id` takes `legacy-mbql=true` (from 0.57; older releases
    /// answer with legacy MBQL anyway).
    pub fn takes_legacy_mbql_param(&self) -> bool {
        self.minor >= 57
    }
}

/// The release a client last read from `/api/session/properties`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownVersion {
    /// The tag, such as `v0.58.3`.
    pub tag: String,
    /// The build hash.
    pub hash: String,
    /// The parsed release, when the tag is a release tag.
    pub parsed: Option<MetabaseVersion>,
}

impl KnownVersion {
    /// Returns the version that `properties` report.
    pub fn from_properties(properties: &SessionProperties) -> Self {
        let tag = properties.version.tag.clone().unwrap_or_default();
        let parsed = MetabaseVersion::parse(&tag);
        KnownVersion { tag, hash: properties.version.hash.clone().unwrap_or_default(), parsed }
    }
}

impl fmt::Display for MetabaseVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Reads the digits at the start of `part` (`3` from `3-SNAPSHOT`).
fn leading_number(part: &str) -> Option<u32> {
    let digits_end = part.find(|character: char| !character.is_ascii_digit()).unwrap_or(part.len());
    part[..digits_end].parse().ok()
}

/// The server routes, from [`super::MetabaseClient::server`].
#[derive(Clone, Copy, Debug)]
pub struct Server<'a> {
    transport: &'a Transport,
}

impl<'a> Server<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Returns the settings the client may read, including `version`
    /// (`GET /api/session/properties`).
    pub async fn properties(&self) -> Result<SessionProperties, MetabaseError> {
        self.transport.get_json("/api/session/properties", "/api/session/properties", &[]).await
    }

    /// Returns the server's release, or `None` when its tag cannot be parsed.
    pub async fn version(&self) -> Result<Option<MetabaseVersion>, MetabaseError> {
        let properties = self.properties().await?;
        Ok(properties.version.tag.as_deref().and_then(MetabaseVersion::parse))
    }

    /// Reports whether Metabase is healthy: `true` only for 200 `{"status": "ok"}` from
    /// `GET /api/health` (sent without credentials). Any other answer is `false`; failing to reach
    /// Metabase is an error.
    pub async fn health(&self) -> Result<bool, MetabaseError> {
        let (status, body) = self.transport.get_without_credential("/api/health", "/api/health").await?;
        if !status.is_success() {
            return Ok(false);
        }
        let answer: Option<Value> = serde_json::from_slice(&body).ok();
        Ok(answer.as_ref().and_then(|json| json.get("status")).and_then(Value::as_str) == Some("ok"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::MetabaseVersion;
    use crate::test_support::{api_key_client, session_client};

    #[test]
    fn version_tags_parse_into_numbers() {
        let parsed = |tag| MetabaseVersion::parse(tag).map(|version| (version.major, version.minor, version.patch));

        assert_eq!(parsed("v0.58.3"), Some((0, 58, 3)));
        assert_eq!(parsed("v1.57.2-SNAPSHOT"), Some((1, 57, 2)));
        assert_eq!(parsed("0.59"), Some((0, 59, 0)));
        assert_eq!(parsed("v0.60.0-beta"), Some((0, 60, 0)));
        assert_eq!(parsed("vUNKNOWN"), None);
        assert_eq!(parsed(""), None);
    }

    #[test]
    fn only_050_to_062_are_tested() {
        let tested = |tag| MetabaseVersion::parse(tag).unwrap().is_tested();

        assert!(tested("v0.50.0"));
        assert!(tested("v0.62.9"));
        assert!(tested("v1.55.1"));
        assert!(!tested("v0.49.12"));
        assert!(!tested("v0.63.0"));
    }

    #[tokio::test]
    async fn properties_give_the_version_tag_and_keep_other_settings() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/session/properties"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "version": {"tag": "v0.58.3", "hash": "abc123", "date": "2025-12-01"},
                "site-name": "Acme"
            })))
            .mount(&server)
            .await;
        let client = api_key_client(&server);

        let properties = client.server().properties().await.unwrap();
        let version = client.server().version().await.unwrap();

        assert_eq!(properties.version.tag.as_deref(), Some("v0.58.3"));
        assert_eq!(properties.extra.get("site-name"), Some(&json!("Acme")));
        assert_eq!(version.map(|version| version.to_string()), Some("0.58.3".to_owned()));
    }

    #[tokio::test]
    async fn health_is_true_only_for_status_ok_and_needs_no_login() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/health"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/health"))
            .respond_with(ResponseTemplate::new(503).set_body_json(json!({"status": "initializing", "progress": 0.5})))
            .mount(&server)
            .await;
        Mock::given(header_exists("x-metabase-session"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&server)
            .await;
        Mock::given(path("/api/session")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
        let client = session_client(&server);

        assert!(client.server().health().await.unwrap());
        assert!(!client.server().health().await.unwrap());
    }
}
