//! Reading a request the way Metabase reads it (CONTRACT.md §1.2): repeated query parameters,
//! the paging middleware, form bodies before JSON, JSON only with a JSON content type, and the
//! caller resolved from a session or an API key.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use crate::Context;

/// The query string as ordered pairs, so repeated keys keep every value.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Params(form_urlencoded_pairs(query.as_bytes())))
    }
}

fn form_urlencoded_pairs(input: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(input).unwrap_or_default()
}

impl Params {
    /// Returns the first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Returns every value of a repeated parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }

    /// Returns a boolean parameter, with Metabase's validation error for anything but true/false.
    pub fn boolean(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => {
                Err(ApiError::invalid(name, "value must be a valid boolean string ('true' or 'false').", &json!(other)))
            }
        }
    }

    /// Returns an optional positive integer parameter.
    pub fn positive_int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => match raw.parse::<i64>() {
                Ok(value) if value > 0 => Ok(Some(value)),
                _ => Err(ApiError::invalid(name, "value must be an integer greater than zero.", &json!(raw))),
            },
        }
    }

    /// Returns `(limit, offset)` as the paging middleware sets them: both absent, or both set
    /// with defaults of 50 and 0.
    pub fn paging(&self) -> Result<Option<(usize, usize)>, ApiError> {
        let limit = self.get("limit");
        let offset = self.get("offset");
        if limit.is_none() && offset.is_none() {
            return Ok(None);
        }
        let parse = |name: &str, raw: Option<&str>, default: usize| -> Result<usize, ApiError> {
            match raw {
                None => Ok(default),
                Some(raw) => raw.parse::<usize>().map_err(|_| {
                    ApiError::invalid(name, "value must be an integer greater than or equal to zero.", &json!(raw))
                }),
            }
        };
        Ok(Some((parse("limit", limit, 50)?, parse("offset", offset, 0)?)))
    }
}

/// Applies paging to a list, returning the page.
pub fn page<T>(items: Vec<T>, paging: Option<(usize, usize)>) -> Vec<T> {
    match paging {
        None => items,
        Some((limit, offset)) => items.into_iter().skip(offset).take(limit).collect(),
    }
}

/// Returns the paging values as Metabase echoes them (`null` when absent).
pub fn paging_json(paging: Option<(usize, usize)>) -> (Value, Value) {
    match paging {
        None => (Value::Null, Value::Null),
        Some((limit, offset)) => (json!(limit), json!(offset)),
    }
}

/// A request body: form parameters when there are any, else JSON with a JSON content type,
/// else empty. Whether it came from a form matters for string-encoded values.
#[derive(Debug, Clone)]
pub struct Body {
    /// The body's keys and values.
    pub map: Map<String, Value>,
    /// Whether the body was form-encoded.
    pub from_form: bool,
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|error| ApiError::Json(StatusCode::BAD_REQUEST, json!({"error": error.to_string()})))?;
        let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if media_type == "application/x-www-form-urlencoded" {
            let map =
                form_urlencoded_pairs(&bytes).into_iter().map(|(key, value)| (key, Value::String(value))).collect();
            return Ok(Body { map, from_form: true });
        }
        let is_json = media_type.starts_with("application/")
            && (media_type == "application/json" || media_type.ends_with("+json"));
        if !is_json || bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body { map: Map::new(), from_form: false });
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Body { map, from_form: false }),
            Ok(_) => Ok(Body { map: Map::new(), from_form: false }),
            Err(error) => Err(ApiError::Json(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("{} at {}:{}", error, error.line(), error.column())}),
            )),
        }
    }
}

impl Body {
    /// Returns a key's value, treating JSON `null` as absent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// Returns whether the key is present, even as `null`.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Returns a required non-blank string, or Metabase's validation error.
    pub fn required_string(&self, key: &str) -> Result<String, ApiError> {
        match self.get(key) {
            None => Err(ApiError::missing(key, "value must be a non-blank string.")),
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
            Some(other) => Err(ApiError::invalid(key, "value must be a non-blank string.", other)),
        }
    }

    /// Returns an optional non-blank string; present but blank or not a string is invalid.
    pub fn optional_string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.clone())),
            Some(other) => Err(ApiError::invalid(key, "value must be a non-blank string.", other)),
        }
    }

    /// Returns an optional positive integer (form values may be numeric strings).
    pub fn optional_positive_int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => match value.as_i64().or_else(|| value.as_str().and_then(|text| text.parse().ok())) {
                Some(number) if number > 0 => Ok(Some(number)),
                _ => Err(ApiError::invalid(key, "value must be an integer greater than zero.", value)),
            },
        }
    }

    /// Returns an optional boolean, accepting `"true"`/`"false"` strings like `ms/BooleanValue`.
    pub fn optional_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) if text == "true" => Ok(Some(true)),
            Some(Value::String(text)) if text == "false" => Ok(Some(false)),
            Some(other) => {
                Err(ApiError::invalid(key, "value must be a valid boolean string ('true' or 'false').", other))
            }
        }
    }

    /// Returns an optional map; form bodies may carry it JSON-encoded.
    pub fn optional_map(&self, key: &str) -> Result<Option<Map<String, Value>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map.clone())),
            Some(Value::String(text)) if self.from_form => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                _ => Err(ApiError::invalid(key, "Value must be a map.", &json!(text))),
            },
            Some(other) => Err(ApiError::invalid(key, "Value must be a map.", other)),
        }
    }
}

/// The authenticated user making a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The user id (an API key acts as its own user).
    pub user_id: i64,
    /// Whether the user is an admin.
    pub is_superuser: bool,
}

impl FromRequestParts<Arc<Context>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, context: &Arc<Context>) -> Result<Self, Self::Rejection> {
        resolve_caller(parts, context).ok_or(ApiError::Unauthenticated)
    }
}

/// Returns the session key a request carries, from the cookie or the header.
pub fn session_key(parts: &Parts) -> Option<String> {
    let from_cookie =
        parts.headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).find_map(|cookies| {
            cookies.split(';').find_map(|cookie| cookie.trim().strip_prefix("metabase.SESSION=").map(str::to_owned))
        });
    from_cookie
        .or_else(|| parts.headers.get("x-metabase-session").and_then(|value| value.to_str().ok()).map(str::to_owned))
}

/// Resolves the caller from a session key or an API key, as Metabase's session middleware does.
pub fn resolve_caller(parts: &Parts, context: &Context) -> Option<Caller> {
    let session = session_key(parts);
    let api_key = parts.headers.get("x-api-key").and_then(|value| value.to_str().ok());
    let state = context.state();
    let user_id = state.authenticate(session.as_deref(), api_key)?;
    Some(Caller { user_id, is_superuser: state.is_superuser(user_id) })
}

/// Parses a positive integer route parameter, with Metabase's validation error otherwise.
pub fn positive_id(name: &str, raw: &str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(value) if value > 0 => Ok(value),
        _ => Err(ApiError::invalid(name, "value must be an integer greater than zero.", &json!(raw))),
    }
}
