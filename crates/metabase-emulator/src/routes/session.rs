//! Sessions, health and properties (CONTRACT.md §3, §15): log in, log out, the version probe.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::request::{resolve_caller, session_key};
use crate::http::{ApiError, ApiResult, Body, json_response};
use crate::state::{Session, now};
use crate::{Context, EMULATED_VERSION};

/// `GET /api/health`: no authentication.
pub(super) async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

/// `POST /api/session`: exchanges an email and password for a session id.
pub(super) async fn login(State(context): State<Arc<Context>>, body: Body) -> ApiResult {
    let username = body.required_string("username")?;
    let password = body.required_string("password")?;
    let mut state = context.state();
    let user_id = state
        .users
        .values()
        .find(|user| {
            user.email.eq_ignore_ascii_case(&username)
                && user.is_active
                && user.password.as_deref() == Some(password.as_str())
        })
        .map(|user| user.id);
    let Some(user_id) = user_id else {
        return Err(ApiError::field_error(StatusCode::UNAUTHORIZED, "password", "did not match stored password"));
    };
    let session_id = uuid::Uuid::new_v4().to_string();
    state.sessions.insert(session_id.clone(), Session { user_id, created: Instant::now() });
    if let Some(user) = state.users.get_mut(&user_id) {
        user.last_login = Some(now());
    }
    context.observations.logins.fetch_add(1, Ordering::SeqCst);
    let mut response = json_response(StatusCode::OK, &json!({"id": session_id}));
    let cookie = format!("metabase.SESSION={session_id};HttpOnly;Path=/;SameSite=Lax");
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append("set-cookie", value);
    }
    if let Ok(value) = "metabase.TIMEOUT=alive;Path=/;SameSite=Lax".parse() {
        response.headers_mut().append("set-cookie", value);
    }
    Ok(response)
}

/// `DELETE /api/session`: 204, or 404 when no session matches (API-key clients included).
pub(super) async fn logout(State(context): State<Arc<Context>>, parts: Parts) -> ApiResult {
    let Some(key) = session_key(&parts) else {
        return Err(ApiError::NotFound);
    };
    if context.state().sessions.remove(&key).is_none() {
        return Err(ApiError::NotFound);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = "metabase.SESSION=;Path=/;Max-Age=0".parse() {
        response.headers_mut().append("set-cookie", value);
    }
    Ok(response)
}

/// `GET /api/session/properties`: public settings, and more when authenticated.
pub(super) async fn properties(State(context): State<Arc<Context>>, parts: Parts) -> Response {
    let authenticated = resolve_caller(&parts, &context).is_some();
    let mut properties = json!({
        "version": {"tag": EMULATED_VERSION, "hash": "emulator", "date": "2026-01-15", "src_hash": null},
        "site-name": "Metabase Emulator",
        "site-locale": "en",
        "site-url": null,
        "has-user-setup": true,
        "setup-token": null,
        "enable-embedding": false,
        "token-features": {"audit_app": false, "sandboxes": false, "advanced_permissions": false, "library": false, "remote_sync": false, "content_translation": false},
        "available-locales": [["en", "English"]],
        "engines": {"h2": {"driver-name": "H2"}, "postgres": {"driver-name": "PostgreSQL"}, "sqlite": {"driver-name": "SQLite"}},
        "password-complexity": {"total": 6, "digit": 1},
        "session-cookies": null,
        "anon-tracking-enabled": false
    });
    if authenticated {
        properties["custom-homepage"] = json!(false);
        properties["enable-query-caching"] = json!(false);
        properties["report-timezone-short"] = json!("UTC");
    }
    json_response(StatusCode::OK, &properties)
}
