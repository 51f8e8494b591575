//! A minimal `/api/setting` (superuser only): the list of readable settings with their values
//! and defaults, and one setting's value by key (404 for an unknown key).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Context;
use crate::http::{ApiError, ApiResult, Caller, json_response};

/// Each setting: key, value, default, description.
const SETTINGS: &[(&str, &str, &str, &str)] = &[
    ("site-name", "Metabase Emulator", "Metabase", "The name used for this instance of Metabase."),
    ("site-locale", "en", "en", "The default language for all users across the Metabase UI."),
    ("report-timezone", "UTC", "", "Connection timezone to use when executing queries."),
    (
        "admin-email",
        "admin@example.com",
        "",
        "The email address users should be referred to if they encounter a problem.",
    ),
    ("enable-embedding", "false", "false", "Allow admins to securely embed questions and dashboards."),
    ("email-configured?", "false", "false", "Whether this instance has SMTP settings configured."),
    ("user-visibility", "all", "all", "Which users a user can see when choosing recipients."),
];

fn setting_value(raw: &str) -> Value {
    match raw {
        "true" => json!(true),
        "false" => json!(false),
        "" => Value::Null,
        text => json!(text),
    }
}

/// `GET /api/setting`: every readable setting as `{key, value, default, description, ...}`.
pub(super) async fn list(caller: Caller, State(_context): State<Arc<Context>>) -> ApiResult {
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let settings: Vec<Value> = SETTINGS
        .iter()
        .map(|(key, value, default, description)| {
            json!({"key": key, "value": setting_value(value), "default": setting_value(default),
                   "description": description, "is_env_setting": false, "env_name": format!("MB_{}", key.trim_end_matches('?').replace('-', "_").to_uppercase())})
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(settings)))
}

/// `GET /api/setting/:key`: the setting's value alone.
pub(super) async fn get_one(caller: Caller, Path(key): Path<String>) -> ApiResult {
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let (_, value, _, _) = SETTINGS.iter().find(|(name, ..)| *name == key).ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &setting_value(value)))
}
