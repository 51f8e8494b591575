//! Owns what a request is made of before it is sent: the [`RequestBody`], the [`Query`] pairs, the
//! internal `Call` (route template, path, deadline), and the checks on the base URL and header
//! values.

use std::fmt;

use reqwest::header::HeaderValue;
use reqwest::{Method, Url};
use serde_json::Value;

use crate::error::ConfigError;

/// A query string as ordered pairs, so that a key may repeat (`models=card&models=dashboard`).
pub type Query = Vec<(String, String)>;

/// The body of a request to Metabase. Its `Debug` output never shows the content, which may hold
/// database passwords.
#[derive(Clone, Default)]
pub enum RequestBody {
    /// No body.
    #[default]
    None,
    /// A JSON body, sent with `Content-Type: application/json`.
    Json(Value),
    /// A form body (`application/x-www-form-urlencoded`), as ordered pairs.
    Form(Vec<(String, String)>),
}

impl RequestBody {
    /// Returns a typed body (the client's create and update bodies) as JSON. Those types have
    /// string keys and JSON values only, so serializing them cannot fail.
    pub(crate) fn typed<T: serde::Serialize>(body: &T) -> Self {
        Self::Json(serde_json::to_value(body).unwrap_or_default())
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => formatter.write_str("None"),
            Self::Json(_) => formatter.write_str("Json(..)"),
            Self::Form(pairs) => write!(formatter, "Form({} fields)", pairs.len()),
        }
    }
}

/// How long a request may take: all of it, or only until the response headers (streams are bounded
/// by whoever consumes them).
#[derive(Clone, Copy)]
pub(crate) enum Deadline {
    WholeResponse,
    HeadersOnly,
}

/// One logical request; it may be sent twice when a session has to be renewed.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) route: &'static str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a [(String, String)],
    pub(crate) body: &'a RequestBody,
    pub(crate) deadline: Deadline,
}

impl<'a> Call<'a> {
    pub(crate) fn whole(
        method: Method,
        route: &'static str,
        path: &'a str,
        query: &'a [(String, String)],
        body: &'a RequestBody,
    ) -> Self {
        Self { method, route, path, query, body, deadline: Deadline::WholeResponse }
    }
}

/// Builds one query-string pair.
pub(crate) fn param(key: &str, value: impl ToString) -> (String, String) {
    (key.to_owned(), value.to_string())
}

/// Builds a header value that `Debug` and HTTP/2 header compression treat as sensitive.
pub(crate) fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// Checks that `text` is an absolute http(s) URL without credentials, query or fragment; the
/// error never repeats the URL, which may hold a password.
pub(super) fn parse_base_url(text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidBaseUrl { reason: reason.to_owned() };
    let url = Url::parse(text.trim()).map_err(|error| ConfigError::InvalidBaseUrl { reason: error.to_string() })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("the url must not carry credentials; configure them separately"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the url must not have a query or a fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{RequestBody, param, parse_base_url, sensitive_header};

    #[test]
    fn request_body_debug_hides_its_content() {
        let json_body = RequestBody::Json(json!({"details": {"password": "db-secret"}}));
        let form_body = RequestBody::Form(vec![("query".to_owned(), "db-secret".to_owned())]);

        let printed = format!("{json_body:?} {form_body:?}");

        assert_eq!(printed, "Json(..) Form(1 fields)");
    }

    #[test]
    fn sensitive_headers_do_not_print_their_value() {
        let header = sensitive_header("mb_secret_value").unwrap();

        assert!(!format!("{header:?}").contains("mb_secret_value"));
        assert!(sensitive_header("line\nbreak").is_none());
    }

    #[test]
    fn base_url_must_be_plain_http_or_https() {
        assert!(parse_base_url("https://metabase.example.com/sub/").is_ok());
        assert!(parse_base_url("http://host:3000?x=1").is_err());
        assert!(parse_base_url("not a url").is_err());
        assert_eq!(param("limit", 50), ("limit".to_owned(), "50".to_owned()));
    }
}
