//! Owns the client's errors: [`MetabaseError`] for requests and [`ConfigError`] for building the
//! client, and the decoding of Metabase's error bodies (CONTRACT.md §2) and failed-query bodies
//! (§9.3). No variant ever carries a credential: Metabase's text passes through
//! [`crate::redact::safe_text`] as the error is built, so every consumer may show or log it.

use serde_json::{Map, Value};

/// Describes why a request to Metabase failed.
#[derive(Debug, thiserror::Error)]
pub enum MetabaseError {
    /// Metabase could not be reached: connection refused or reset, DNS, TLS or another transport
    /// failure.
    #[error("metabase is unavailable for {route}")]
    Unavailable {
        /// The route template that was called, such as `/api/card/{id}`.
        route: String,
        /// The transport failure (its URL stripped).
        #[source]
        source: reqwest::Error,
    },
    /// Metabase did not answer within the client's timeout.
    #[error("metabase did not answer {route} in time")]
    Timeout {
        /// The route template that was called.
        route: String,
    },
    /// Metabase answered with a non-success status; `message` is Metabase's own text.
    #[error("metabase answered {route} with status {status}: {message}")]
    Upstream {
        /// The HTTP status Metabase returned.
        status: u16,
        /// The route template that was called.
        route: String,
        /// Metabase's message, redacted and at most 1 KiB.
        message: String,
        /// Field errors from a validation body's `errors` map, as `(field, description)`.
        field_errors: Vec<(String, String)>,
        /// The `error_code` key of a JSON error body (e.g. `archived`), when present.
        error_code: Option<String>,
    },
    /// Recent requests to Metabase failed, so the circuit is open and this one was not sent.
    #[error("metabase requests are paused for {route}: recent ones failed")]
    CircuitOpen {
        /// The route template that was not called.
        route: String,
        /// How long until the circuit lets a probe request through.
        retry_after: std::time::Duration,
    },
    /// A streamed answer stopped arriving: no bytes for longer than the idle timeout.
    #[error("metabase's answer to {route} stalled")]
    Stalled {
        /// The route template that was called.
        route: String,
        /// The idle timeout that passed.
        idle: std::time::Duration,
    },
    /// Metabase rejected the client's own credential (after one re-login for sessions).
    #[error("metabase rejected the configured credential on {route}")]
    CredentialRejected {
        /// The route template that was called.
        route: String,
    },
    /// A query ran and failed: Metabase's 202 body with `"status": "failed"`. Its text often
    /// quotes the query, so it is for the caller who sent the query and stays out of `Display`
    /// (and so out of log lines).
    #[error("metabase query failed ({})", error_type.as_deref().unwrap_or("no error type"))]
    QueryFailed {
        /// Metabase's `error_type`, such as `invalid-query` or `missing-required-permissions`.
        error_type: Option<String>,
        /// Metabase's `error` text, redacted and at most 1 KiB.
        message: String,
    },
    /// A success body did not have the expected shape.
    #[error("metabase's answer to {route} could not be decoded")]
    Decode {
        /// The route template that was called.
        route: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl MetabaseError {
    /// Returns the HTTP status Metabase answered with, where there was one (`Upstream`, and 401
    /// for `CredentialRejected`).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Upstream { status, .. } => Some(*status),
            Self::CredentialRejected { .. } => Some(401),
            Self::Unavailable { .. }
            | Self::Timeout { .. }
            | Self::CircuitOpen { .. }
            | Self::Stalled { .. }
            | Self::QueryFailed { .. }
            | Self::Decode { .. } => None,
        }
    }

    /// Returns the route template of the failed request, where the error belongs to one.
    pub fn route(&self) -> Option<&str> {
        match self {
            Self::Unavailable { route, .. }
            | Self::Timeout { route }
            | Self::CircuitOpen { route, .. }
            | Self::Stalled { route, .. }
            | Self::Upstream { route, .. }
            | Self::CredentialRejected { route }
            | Self::Decode { route, .. } => Some(route),
            Self::QueryFailed { .. } => None,
        }
    }

    /// Builds the error for a transport failure, telling timeouts apart and dropping the URL
    /// (which may carry caller text such as a search query).
    pub(crate) fn from_transport(route: &str, source: reqwest::Error) -> Self {
        if source.is_timeout() {
            return Self::Timeout { route: route.to_owned() };
        }
        Self::Unavailable { route: route.to_owned(), source: source.without_url() }
    }
}

/// Describes why a [`super::ClientConfig`] cannot become a client.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL is not an absolute `http`/`https` URL without credentials, query or fragment.
    #[error("invalid metabase base url: {reason}")]
    InvalidBaseUrl {
        /// What is wrong with it (never the URL itself, which may hold credentials).
        reason: String,
    },
    /// The credential cannot be used, e.g. it is blank or holds characters a header cannot carry.
    #[error("invalid metabase credential: {reason}")]
    InvalidCredential {
        /// What is wrong with it (never the secret).
        reason: String,
    },
    /// The HTTP client could not be built (for example, no TLS backend).
    #[error("the http client for metabase could not be built")]
    HttpClient {
        /// The builder's error.
        #[source]
        source: reqwest::Error,
    },
}

/// Returns [`MetabaseError::QueryFailed`] when a query-result body says `"status": "failed"`
/// (Metabase answers failed queries with 202, CONTRACT.md §9.3), and `Ok` otherwise.
pub fn check_query_body(body: &Value) -> Result<(), MetabaseError> {
    if body.get("status").and_then(Value::as_str) != Some("failed") {
        return Ok(());
    }
    let error_type = body.get("error_type").and_then(Value::as_str).map(str::to_owned);
    let message = match body.get("error") {
        Some(Value::String(text)) if !text.trim().is_empty() => cap_message(text.trim()),
        Some(Value::Null) | None => "error running query".to_owned(),
        Some(Value::String(_)) => "error running query".to_owned(),
        Some(other) => cap_message(&other.to_string()),
    };
    Err(MetabaseError::QueryFailed { error_type, message })
}

/// Decodes a non-success answer into [`MetabaseError::Upstream`], following the body shapes of
/// CONTRACT.md §2.
pub(crate) fn upstream_error(status: u16, route: &str, content_type: Option<&str>, body: &[u8]) -> MetabaseError {
    let decoded = decode_error_body(status, content_type, body);
    MetabaseError::Upstream {
        status,
        route: route.to_owned(),
        message: decoded.message,
        field_errors: decoded.field_errors,
        error_code: decoded.error_code,
    }
}

struct DecodedErrorBody {
    message: String,
    field_errors: Vec<(String, String)>,
    error_code: Option<String>,
}

impl DecodedErrorBody {
    fn message_only(message: String) -> Self {
        Self { message, field_errors: Vec::new(), error_code: None }
    }
}

fn decode_error_body(status: u16, content_type: Option<&str>, body: &[u8]) -> DecodedErrorBody {
    let fallback = format!("metabase returned status {status}");
    let is_plain_text = content_type.is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("text/plain"));
    if is_plain_text {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        let message = if trimmed.is_empty() { fallback } else { cap_message(trimmed) };
        return DecodedErrorBody::message_only(message);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => decode_error_object(&object, fallback),
        Ok(Value::String(text)) if !text.trim().is_empty() => DecodedErrorBody::message_only(cap_message(text.trim())),
        _ => DecodedErrorBody::message_only(fallback),
    }
}

fn decode_error_object(object: &Map<String, Value>, fallback: String) -> DecodedErrorBody {
    let field_errors: Vec<(String, String)> = match object.get("errors") {
        Some(Value::Object(errors)) => {
            errors.iter().map(|(field, description)| (field.clone(), describe_field_error(description))).collect()
        }
        _ => Vec::new(),
    };
    let error_code = object.get("error_code").and_then(Value::as_str).map(str::to_owned);
    let non_blank = |key: &str| object.get(key).and_then(Value::as_str).map(str::trim).filter(|text| !text.is_empty());
    let message = if let Some(message) = non_blank("message") {
        cap_message(message)
    } else if !field_errors.is_empty() {
        let details: Vec<String> =
            field_errors.iter().map(|(field, description)| format!("{field}: {description}")).collect();
        cap_message(&format!("invalid request: {}", details.join("; ")))
    } else if let Some(error) = non_blank("error") {
        cap_message(error)
    } else {
        fallback
    };
    DecodedErrorBody { message, field_errors, error_code }
}

fn describe_field_error(description: &Value) -> String {
    match description {
        Value::String(text) => cap_message(text),
        other => cap_message(&other.to_string()),
    }
}

/// Returns Metabase's text fit to keep in an error: redacted and capped at 1 KiB.
pub(crate) fn cap_message(text: &str) -> String {
    crate::redact::safe_text(text)
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
