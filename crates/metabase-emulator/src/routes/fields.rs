//! Fields: `/api/field/:id` and `/api/field/:id/values`, derived from the sample catalog, with the
//! edits `PUT /api/field/:id` made (a route `dbt-metabase models` writes).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::metadata::{field_json, hydrated_field, record_edits, sample_database_json, table_json};
use crate::Context;
use crate::catalog::{FieldDef, SAMPLE_DATABASE_ID, TableDef};
use crate::http::{ApiError, ApiResult, Body, Caller, json_response, positive_id};
use crate::state::AppState;

/// The most distinct values Metabase keeps for a field (`*total-max-length*` aside).
const MAX_FIELD_VALUES: usize = 1000;
/// The keys `PUT /api/field/:id` changes.
const FIELD_KEYS: &[&str] = &[
    "display_name",
    "description",
    "caveats",
    "points_of_interest",
    "semantic_type",
    "visibility_type",
    "fk_target_field_id",
    "has_field_values",
    "coercion_strategy",
    "settings",
    "nfc_path",
    "json_unfolding",
];

/// Finds a sample field the caller may read: 404 when unknown, 403 without data access.
fn readable_field<'a>(
    context: &'a Context,
    state: &AppState,
    caller: Caller,
    id: &str,
) -> Result<(&'a TableDef, &'a FieldDef), ApiError> {
    let id = positive_id("id", id)?;
    let found = context.catalog.field(id).ok_or(ApiError::NotFound)?;
    if !state.can_view_database(caller.user_id, SAMPLE_DATABASE_ID) {
        return Err(ApiError::Forbidden);
    }
    Ok(found)
}

/// `GET /api/field/:id`: the field with its `table` (and the table's `db`), FK `target`,
/// `dimensions` and `name_field`.
pub(super) async fn get_field(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let state = context.state();
    let (table, field) = readable_field(&context, &state, caller, &id)?;
    let mut rendered = hydrated_field(&context, &state, field);
    let mut table_rendered = table_json(&state, table, false);
    table_rendered["db"] = sample_database_json(&context, &state, caller);
    rendered["table"] = table_rendered;
    Ok(json_response(StatusCode::OK, &rendered))
}

/// `PUT /api/field/:id`: changes the display and typing keys (superuser), answers the field.
pub(super) async fn update_field(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let mut state = context.state();
    let (_, field) = readable_field(&context, &state, caller, &id)?;
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    if let Some(target) = body.get("fk_target_field_id")
        && target.as_i64().and_then(|target| context.catalog.field(target)).is_none()
    {
        return Err(ApiError::invalid(
            "fk_target_field_id",
            "nullable value must be an integer greater than zero.",
            target,
        ));
    }
    record_edits(state.field_edits.entry(field.id).or_default(), FIELD_KEYS, &body);
    Ok(json_response(StatusCode::OK, &hydrated_field(&context, &state, field)))
}

/// Reads a field's distinct values from the sample database, sorted, booleans as booleans.
fn distinct_values(context: &Context, table: &TableDef, field: &FieldDef) -> Result<Vec<Value>, ApiError> {
    let connection = crate::query::execute::open(&context.database_path)
        .map_err(|_| ApiError::bad_request("the sample database cannot be opened"))?;
    let sql = format!(
        "SELECT DISTINCT \"{column}\" FROM \"{table}\" WHERE \"{column}\" IS NOT NULL ORDER BY 1 LIMIT {limit}",
        column = field.name,
        table = table.name,
        limit = MAX_FIELD_VALUES
    );
    let mut statement = connection.prepare(&sql).map_err(|error| ApiError::bad_request(error.to_string()))?;
    let rows = statement
        .query_map([], |row| {
            let value = match row.get_ref(0)? {
                rusqlite::types::ValueRef::Integer(number) if field.is_boolean() => json!(number != 0),
                rusqlite::types::ValueRef::Integer(number) => json!(number),
                rusqlite::types::ValueRef::Real(number) => json!(number),
                rusqlite::types::ValueRef::Text(text) => json!(String::from_utf8_lossy(text)),
                _ => Value::Null,
            };
            Ok(json!([value]))
        })
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(|error| ApiError::bad_request(error.to_string()))
}

/// `GET /api/field/:id/values`: `{field_id, values: [[v], ...], has_more_values}`; empty for a
/// field whose values Metabase does not list.
pub(super) async fn field_values(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let (table, field, listed) = {
        let state = context.state();
        let (table, field) = readable_field(&context, &state, caller, &id)?;
        let kind = field_json(&state, field).get("has_field_values").and_then(Value::as_str).map(str::to_owned);
        (table.clone(), field.clone(), kind.as_deref() == Some("list"))
    };
    let values = if listed {
        let blocking_context = context.clone();
        let (blocking_table, blocking_field) = (table.clone(), field.clone());
        tokio::task::spawn_blocking(move || distinct_values(&blocking_context, &blocking_table, &blocking_field))
            .await
            .map_err(|error| ApiError::bad_request(error.to_string()))??
    } else {
        Vec::new()
    };
    let has_more_values = values.len() >= MAX_FIELD_VALUES;
    Ok(json_response(
        StatusCode::OK,
        &json!({"field_id": field.id, "values": values, "has_more_values": has_more_values}),
    ))
}
