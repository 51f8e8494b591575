//! Metabase's error responses (CONTRACT.md §2): plain-text messages, validation maps and JSON
//! exception maps, each with the status and content type Metabase uses.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The plain-text body of a 401.
pub const UNAUTHENTICATED: &str = "Unauthenticated";
/// The plain-text body of a generic 403.
pub const FORBIDDEN: &str = "You don't have permissions to do that.";
/// The plain-text body of a 404 for a missing object.
pub const NOT_FOUND: &str = "Not found.";
/// The plain-text body of a 404 for an unknown route.
pub const NO_ENDPOINT: &str = "API endpoint does not exist.";

/// An error answered the way Metabase answers it.
#[derive(Debug)]
pub enum ApiError {
    /// 401 `Unauthenticated`.
    Unauthenticated,
    /// 403 with the generic permission text.
    Forbidden,
    /// 404 `Not found.`.
    NotFound,
    /// A status with a plain-text body.
    Text(StatusCode, String),
    /// 400 with `{"errors": ..., "specific-errors": ...}` (the whole body).
    Validation(Box<Value>),
    /// A status with a JSON body as given.
    Json(StatusCode, Value),
    /// A status with a full JSON exception map (`via`, `trace`, `message`, ...) built from a
    /// message and ex-data.
    Exception(StatusCode, String, Box<Map<String, Value>>),
}

impl ApiError {
    /// Returns a 400 with a plain-text message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::Text(StatusCode::BAD_REQUEST, message.into())
    }

    /// Returns the standard validation error for one parameter.
    pub fn invalid(param: &str, description: &str, received: &Value) -> Self {
        let mut errors = Map::new();
        errors.insert(param.into(), json!(description));
        let mut specific = Map::new();
        specific.insert(param.into(), json!([format!("{description}, received: {received}")]));
        ApiError::validation(errors, specific)
    }

    /// Returns the standard validation error from its two maps.
    pub fn validation(errors: Map<String, Value>, specific: Map<String, Value>) -> Self {
        ApiError::Validation(Box::new(json!({"errors": errors, "specific-errors": specific})))
    }

    /// Returns a JSON exception map error.
    pub fn exception(status: StatusCode, message: impl Into<String>, data: Map<String, Value>) -> Self {
        ApiError::Exception(status, message.into(), Box::new(data))
    }

    /// Returns the validation error for a missing required parameter.
    pub fn missing(param: &str, description: &str) -> Self {
        let mut errors = Map::new();
        errors.insert(param.into(), json!(description));
        let mut specific = Map::new();
        specific.insert(param.into(), json!(["missing required key, received: nil"]));
        ApiError::validation(errors, specific)
    }

    /// Returns a hand-written field error, which has only the `errors` key.
    pub fn field_error(status: StatusCode, field: &str, message: &str) -> Self {
        ApiError::Json(status, json!({"errors": {field: message}}))
    }
}

/// Builds a plain-text response, as Metabase sends string bodies.
pub fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body.into()).into_response()
}

/// Builds a JSON response with Metabase's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

fn exception_map(message: &str, data: Map<String, Value>) -> Value {
    let mut body = Map::new();
    body.insert(
        "via".into(),
        json!([{"type": "clojure.lang.ExceptionInfo", "message": message, "data": Value::Object(data.clone())}]),
    );
    body.insert("trace".into(), json!([]));
    body.insert("cause".into(), json!(message));
    body.insert("data".into(), Value::Object(data.clone()));
    body.insert("message".into(), json!(message));
    for (key, value) in data {
        if key != "status-code" {
            body.insert(key, value);
        }
    }
    Value::Object(body)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthenticated => text(StatusCode::UNAUTHORIZED, UNAUTHENTICATED),
            ApiError::Forbidden => text(StatusCode::FORBIDDEN, FORBIDDEN),
            ApiError::NotFound => text(StatusCode::NOT_FOUND, NOT_FOUND),
            ApiError::Text(status, message) => text(status, message),
            ApiError::Validation(body) => json_response(StatusCode::BAD_REQUEST, &body),
            ApiError::Json(status, body) => json_response(status, &body),
            ApiError::Exception(status, message, data) => json_response(status, &exception_map(&message, *data)),
        }
    }
}

/// The result of an emulator handler.
pub type ApiResult<T = Response> = Result<T, ApiError>;
