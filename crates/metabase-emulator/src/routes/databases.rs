//! Databases (CONTRACT.md §7): the `{data,total}` list, details with `details` removed for
//! non-writers and secrets masked as `**MetabasePass**`, create (connection tested), update and
//! schema sync.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use crate::Context;
use crate::catalog::{Catalog, SAMPLE_DATABASE_ID};
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, positive_id};
use crate::state::{AppState, Database, now};

/// The mask Metabase puts in place of secret connection details.
pub(super) const SECRET_MASK: &str = "**MetabasePass**";

const ENGINES: &[&str] = &[
    "h2",
    "postgres",
    "mysql",
    "sqlite",
    "snowflake",
    "bigquery-cloud-sdk",
    "redshift",
    "sqlserver",
    "oracle",
    "mongo",
    "druid",
    "presto-jdbc",
    "athena",
    "sparksql",
    "vertica",
];
const SECRET_KEYS: &[&str] = &[
    "password",
    "pass",
    "secret",
    "token",
    "service-account-json",
    "private-key",
    "access-key",
    "secret-key",
    "ssl-key-value",
    "tunnel-pass",
    "tunnel-private-key",
];

fn is_secret(key: &str) -> bool {
    SECRET_KEYS
        .iter()
        .any(|secret| key.eq_ignore_ascii_case(secret) || key.to_lowercase().ends_with(&format!("-{secret}")))
}

fn masked_details(details: &Map<String, Value>) -> Value {
    Value::Object(
        details
            .iter()
            .map(|(key, value)| {
                (key.clone(), if is_secret(key) && !value.is_null() { json!(SECRET_MASK) } else { value.clone() })
            })
            .collect(),
    )
}

/// Renders a database as Metabase does; `details` only for those who may write it.
pub(super) fn database_json(
    state: &AppState,
    catalog: &Catalog,
    database: &Database,
    caller: Caller,
    include: Option<&str>,
) -> Value {
    let can_write = caller.is_superuser;
    let mut rendered = json!({
        "description": database.description,
        "features": ["basic-aggregations", "standard-deviation-aggregations", "expression-aggregations", "foreign-keys", "native-parameters", "nested-queries", "expressions", "case-sensitivity-string-filter-options", "binning", "left-join"],
        "cache_field_values_schedule": null,
        "timezone": "UTC",
        "auto_run_queries": database.auto_run_queries,
        "metadata_sync_schedule": "0 50 * * * ? *",
        "name": database.name,
        "settings": database.settings,
        "caveats": null,
        "creator_id": null,
        "is_full_sync": database.is_full_sync,
        "updated_at": database.updated_at,
        "cache_ttl": null,
        "is_sample": database.is_sample,
        "id": database.id,
        "is_on_demand": database.is_on_demand,
        "schedules": {"metadata_sync": {"schedule_minute": 50, "schedule_day": null, "schedule_frame": null, "schedule_hour": null, "schedule_type": "hourly"}, "cache_field_values": null},
        "engine": database.engine,
        "initial_sync_status": "complete",
        "is_audit": false,
        "dbms_version": {"flavor": "SQLite", "version": rusqlite::version(), "semantic-version": [3]},
        "refingerprint": null,
        "created_at": database.created_at,
        "points_of_interest": null,
        "uploads_enabled": false,
        "uploads_schema_name": null,
        "uploads_table_prefix": null,
        "router_user_attribute": null,
        "provider_name": null,
        "can_upload": false
    });
    if can_write {
        rendered["details"] = masked_details(&database.details);
        rendered["can-manage"] = json!(true);
    }
    for (key, value) in &database.extra {
        rendered[key] = value.clone();
    }
    if let Some(include) = include {
        let tables: Vec<Value> = if database.id == SAMPLE_DATABASE_ID {
            catalog
                .tables
                .iter()
                .map(|table| super::metadata::table_json(state, table, include == "tables.fields"))
                .collect()
        } else {
            Vec::new()
        };
        rendered["tables"] = Value::Array(tables);
    }
    rendered
}

fn include_param(params: &Params) -> Result<Option<&str>, ApiError> {
    match params.get("include") {
        None => Ok(None),
        Some(include @ ("tables" | "tables.fields")) => Ok(Some(include)),
        Some(other) => Err(ApiError::invalid("include", "nullable enum of tables, tables.fields", &json!(other))),
    }
}

/// `GET /api/database`: `{"data": [...], "total": n}`.
pub(super) async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let include = include_param(&params)?.map(|_| "tables");
    let state = context.state();
    let data: Vec<Value> = state
        .databases
        .values()
        .filter(|database| state.can_view_database(caller.user_id, database.id))
        .map(|database| database_json(&state, &context.catalog, database, caller, include))
        .collect();
    let total = data.len();
    Ok(json_response(StatusCode::OK, &json!({"data": data, "total": total})))
}

/// `GET /api/database/:id`.
pub(super) async fn get_one(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let include = include_param(&params)?;
    let state = context.state();
    let database = state.databases.get(&id).ok_or(ApiError::NotFound)?;
    if !state.can_view_database(caller.user_id, id) {
        return Err(ApiError::Forbidden);
    }
    Ok(json_response(StatusCode::OK, &database_json(&state, &context.catalog, database, caller, include)))
}

/// Tests a connection the way the emulator can: SQLite files are opened for real; other engines
/// need a host and port, since no real warehouse is reachable from a test double.
fn test_connection(engine: &str, details: &Map<String, Value>) -> Result<(), ApiError> {
    let failure = |message: &str, field: Option<&str>| {
        let mut body = json!({"message": message});
        if let Some(field) = field {
            body["errors"] = json!({field: message});
        }
        ApiError::Json(StatusCode::BAD_REQUEST, body)
    };
    match engine {
        "sqlite" => {
            let path = details
                .get("db")
                .and_then(Value::as_str)
                .ok_or_else(|| failure("Missing required detail: db", Some("db")))?;
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .and_then(|connection| connection.query_row("SELECT 1", [], |_| Ok(())))
                .map_err(|_| failure("Looks like the database file doesn't exist or cannot be read.", Some("db")))
        }
        "h2" => Ok(()),
        _ => {
            if details.get("host").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(failure(
                    "Hmm, we couldn't connect to the database. Make sure your Host and Port settings are correct",
                    Some("host"),
                ));
            }
            Ok(())
        }
    }
}

/// `POST /api/database`: superuser only; tests the connection first.
pub(super) async fn create(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let name = body.required_string("name")?;
    let engine = body.required_string("engine")?;
    if !ENGINES.contains(&engine.as_str()) {
        return Err(ApiError::invalid("engine", "value must be a valid database engine.", &json!(engine)));
    }
    let details = body.optional_map("details")?.ok_or_else(|| ApiError::missing("details", "Value must be a map."))?;
    if body.get("cache_ttl").is_some() {
        return Err(ApiError::Text(
            StatusCode::PAYMENT_REQUIRED,
            "The cache TTL database setting is only enabled in Metabase Enterprise Edition".into(),
        ));
    }
    test_connection(&engine, &details)?;
    let mut state = context.state();
    let id = state.next_id();
    let timestamp = now();
    let database = Database {
        id,
        name,
        engine,
        details,
        is_sample: false,
        is_full_sync: body.optional_bool("is_full_sync")?.unwrap_or(true),
        is_on_demand: body.optional_bool("is_on_demand")?.unwrap_or(false),
        auto_run_queries: body.optional_bool("auto_run_queries")?.unwrap_or(true),
        description: None,
        settings: Map::new(),
        created_at: timestamp.clone(),
        updated_at: timestamp,
        extra: Map::new(),
    };
    state.databases.insert(id, database.clone());
    Ok(json_response(StatusCode::OK, &database_json(&state, &context.catalog, &database, caller, None)))
}

/// `PUT /api/database/:id`: sending back `**MetabasePass**` keeps the stored secret.
pub(super) async fn update(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let name = body.optional_string("name")?;
    let new_details = body.optional_map("details")?;
    let mut state = context.state();
    let database = state.databases.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let engine = body.optional_string("engine")?.unwrap_or_else(|| database.engine.clone());
    let details = match new_details {
        Some(mut submitted) => {
            for (key, value) in submitted.iter_mut() {
                if value.as_str() == Some(SECRET_MASK)
                    && let Some(stored) = database.details.get(key)
                {
                    *value = stored.clone();
                }
            }
            test_connection(&engine, &submitted)?;
            Some(submitted)
        }
        None => None,
    };
    let stored = state.databases.get_mut(&id).ok_or(ApiError::NotFound)?;
    if let Some(name) = name {
        stored.name = name;
    }
    stored.engine = engine;
    if let Some(details) = details {
        stored.details = details;
    }
    if body.has("description") {
        stored.description = body.get("description").and_then(Value::as_str).map(str::to_owned);
    }
    if let Some(auto_run) = body.optional_bool("auto_run_queries")? {
        stored.auto_run_queries = auto_run;
    }
    if let Some(settings) = body.get("settings").and_then(Value::as_object) {
        for (key, value) in settings {
            if value.is_null() {
                stored.settings.remove(key);
            } else {
                stored.settings.insert(key.clone(), value.clone());
            }
        }
    }
    for key in ["caveats", "points_of_interest", "provider_name"] {
        if let Some(value) = body.get(key) {
            stored.extra.insert(key.into(), value.clone());
        }
    }
    stored.updated_at = now();
    let database = stored.clone();
    Ok(json_response(StatusCode::OK, &database_json(&state, &context.catalog, &database, caller, None)))
}

/// `POST /api/database/:id/sync_schema`: 200 `{"status":"ok"}`; 422 when the connection fails.
pub(super) async fn sync_schema(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let state = context.state();
    let database = state.databases.get(&id).ok_or(ApiError::NotFound)?;
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    if let Err(ApiError::Json(_, body)) = test_connection(&database.engine, &database.details) {
        let message = body.get("message").and_then(Value::as_str).unwrap_or("Connection failed").to_owned();
        return Err(ApiError::Text(StatusCode::UNPROCESSABLE_ENTITY, message));
    }
    Ok(json_response(StatusCode::OK, &json!({"status": "ok"})))
}

/// `DELETE /api/database/:id`: superuser only, 204.
pub(super) async fn remove(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let mut state = context.state();
    if state.databases.remove(&id).is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
