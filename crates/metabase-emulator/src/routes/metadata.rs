//! Tables and fields, the metadata an MBQL author needs: `/api/table`, `/api/table/:id`,
//! `/api/table/:id/query_metadata`, `/api/database/:id/metadata`, `/schemas`, `/schema/:schema`,
//! derived from the sample catalog, with the edits `PUT /api/table/:id` made (a route
//! `dbt-metabase models` writes). The field routes are in `fields`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::databases::database_json;
use crate::Context;
use crate::catalog::{FieldDef, SAMPLE_DATABASE_ID, TableDef};
use crate::http::{ApiError, ApiResult, Body, Caller, json_response, positive_id};
use crate::state::AppState;

/// The one schema of the sample database.
const SAMPLE_SCHEMA: &str = "PUBLIC";
/// The keys `PUT /api/table/:id` changes.
const TABLE_KEYS: &[&str] =
    &["display_name", "description", "caveats", "points_of_interest", "visibility_type", "entity_type", "field_order"];
const SEEDED_AT: &str = "2026-01-15T09:30:00.000000Z";

fn entity_type(table: &TableDef) -> &'static str {
    match table.name {
        "PRODUCTS" => "entity/ProductTable",
        "ORDERS" => "entity/TransactionTable",
        "PEOPLE" => "entity/UserTable",
        "EVENTS" => "entity/EventTable",
        _ => "entity/GenericTable",
    }
}

/// How Metabase's sync would classify a field's values: a short `list` for categories, a
/// `search` box for other text, `none` for numbers, dates and keys.
fn has_field_values(field: &FieldDef) -> &'static str {
    match (field.semantic_type, field.base_type) {
        (Some("type/PK" | "type/FK"), _) => "none",
        (Some("type/Category" | "type/State" | "type/Source" | "type/Company"), _) | (_, "type/Boolean") => "list",
        (_, "type/Text") => "search",
        _ => "none",
    }
}

/// Renders the sample database as the `db` of a table, `null` if it was deleted.
pub(super) fn sample_database_json(context: &Context, state: &AppState, caller: Caller) -> Value {
    let database = state.databases.get(&SAMPLE_DATABASE_ID).cloned();
    database.map_or(Value::Null, |database| database_json(state, &context.catalog, &database, caller, None))
}

/// Records the `keys` a `PUT` body carries as edits over the catalog, stamped with the time.
pub(super) fn record_edits(edits: &mut Map<String, Value>, keys: &[&str], body: &Body) {
    for key in keys {
        if let Some(value) = body.map.get(*key) {
            edits.insert((*key).to_owned(), value.clone());
        }
    }
    edits.insert("updated_at".into(), json!(crate::state::now()));
}

fn overlay(mut rendered: Value, edits: Option<&Map<String, Value>>) -> Value {
    if let (Some(object), Some(edits)) = (rendered.as_object_mut(), edits) {
        for (key, value) in edits {
            object.insert(key.clone(), value.clone());
        }
    }
    rendered
}

/// Renders a field as `GET /api/field/:id` and `query_metadata` do, without hydrated keys.
pub(super) fn field_json(state: &AppState, field: &FieldDef) -> Value {
    let rendered = json!({
        "id": field.id, "table_id": field.table_id, "name": field.name, "display_name": field.display_name,
        "description": null, "database_type": field.database_type, "base_type": field.base_type,
        "effective_type": field.base_type, "semantic_type": field.semantic_type, "coercion_strategy": null,
        "fk_target_field_id": field.fk_target_field_id, "has_field_values": has_field_values(field),
        "visibility_type": "normal", "active": true, "position": field.position,
        "database_position": field.position, "custom_position": 0, "preview_display": true,
        "caveats": null, "points_of_interest": null, "settings": null, "nfc_path": null, "parent_id": null,
        "json_unfolding": false, "database_is_auto_increment": field.semantic_type == Some("type/PK"),
        "database_required": false, "fingerprint": null, "last_analyzed": SEEDED_AT,
        "entity_id": crate::state::entity_id("field", field.id),
        "created_at": SEEDED_AT, "updated_at": SEEDED_AT
    });
    overlay(rendered, state.field_edits.get(&field.id))
}

/// Renders a table as `GET /api/database/:id?include=tables` and `/api/table` do, with its
/// fields when `with_fields`.
pub(super) fn table_json(state: &AppState, table: &TableDef, with_fields: bool) -> Value {
    let mut rendered = overlay(
        json!({
            "id": table.id, "db_id": SAMPLE_DATABASE_ID, "name": table.name, "display_name": table.display_name,
            "description": table.description, "schema": SAMPLE_SCHEMA, "entity_type": entity_type(table),
            "visibility_type": null, "active": true, "initial_sync_status": "complete", "field_order": "database",
            "caveats": null, "points_of_interest": null, "show_in_getting_started": false,
            "is_upload": false, "entity_id": crate::state::entity_id("table", table.id),
            "created_at": SEEDED_AT, "updated_at": SEEDED_AT
        }),
        state.table_edits.get(&table.id),
    );
    if with_fields {
        rendered["fields"] = Value::Array(table.fields.iter().map(|field| field_json(state, field)).collect());
    }
    rendered
}

/// Renders a field with what `query_metadata` hydrates: its FK `target`, `dimensions`, `name_field`.
pub(super) fn hydrated_field(context: &Context, state: &AppState, field: &FieldDef) -> Value {
    let mut rendered = field_json(state, field);
    let target_id = rendered.get("fk_target_field_id").and_then(Value::as_i64);
    rendered["target"] = target_id
        .and_then(|target| context.catalog.field(target))
        .map_or(Value::Null, |(_, target)| field_json(state, target));
    rendered["dimensions"] = json!([]);
    rendered["name_field"] = Value::Null;
    rendered
}

/// Finds a sample table the caller may read: 404 when unknown, 403 without data access.
fn readable_table<'a>(
    context: &'a Context,
    state: &AppState,
    caller: Caller,
    id: &str,
) -> Result<&'a TableDef, ApiError> {
    let id = positive_id("id", id)?;
    let table = context.catalog.table(id).ok_or(ApiError::NotFound)?;
    if !state.can_view_database(caller.user_id, SAMPLE_DATABASE_ID) {
        return Err(ApiError::Forbidden);
    }
    Ok(table)
}

/// `GET /api/table`: every table of every database the caller can see, each with its `db`.
pub(super) async fn list_tables(State(context): State<Arc<Context>>, caller: Caller) -> ApiResult {
    let state = context.state();
    if !state.can_view_database(caller.user_id, SAMPLE_DATABASE_ID) {
        return Ok(json_response(StatusCode::OK, &json!([])));
    }
    let db = sample_database_json(&context, &state, caller);
    let tables: Vec<Value> = context
        .catalog
        .tables
        .iter()
        .map(|table| {
            let mut rendered = table_json(&state, table, false);
            rendered["db"] = db.clone();
            rendered
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(tables)))
}

/// `GET /api/table/:id`: the table with its `db` and `pk_field`.
pub(super) async fn get_table(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let state = context.state();
    let table = readable_table(&context, &state, caller, &id)?;
    let mut rendered = table_json(&state, table, false);
    rendered["db"] = sample_database_json(&context, &state, caller);
    rendered["pk_field"] =
        table.fields.iter().find(|field| field.semantic_type == Some("type/PK")).map_or(Value::Null, |f| json!(f.id));
    Ok(json_response(StatusCode::OK, &rendered))
}

/// `GET /api/table/:id/query_metadata`: the table, its `db`, its fields with their FK targets,
/// and its (empty) segments and metrics.
pub(super) async fn table_query_metadata(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let state = context.state();
    let table = readable_table(&context, &state, caller, &id)?;
    let mut rendered = table_json(&state, table, false);
    rendered["fields"] =
        Value::Array(table.fields.iter().map(|field| hydrated_field(&context, &state, field)).collect());
    rendered["db"] = sample_database_json(&context, &state, caller);
    rendered["segments"] = json!([]);
    rendered["metrics"] = json!([]);
    Ok(json_response(StatusCode::OK, &rendered))
}

/// `PUT /api/table/:id`: changes the display keys (superuser), answers the table.
pub(super) async fn update_table(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let mut state = context.state();
    let table = readable_table(&context, &state, caller, &id)?;
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    if let Some(visibility) = body.get("visibility_type")
        && !matches!(visibility.as_str(), Some("hidden" | "technical" | "cruft"))
    {
        return Err(ApiError::invalid("visibility_type", "nullable enum of hidden, technical, cruft", visibility));
    }
    record_edits(state.table_edits.entry(table.id).or_default(), TABLE_KEYS, &body);
    Ok(json_response(StatusCode::OK, &table_json(&state, table, false)))
}

/// `PUT /api/table/:id/fields/order`: a JSON array of every field id, in the wanted order.
pub(super) async fn update_field_order(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = context.state();
    let table = readable_table(&context, &state, caller, &id)?;
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let order: Vec<i64> = serde_json::from_slice(&body)
        .map_err(|_| ApiError::invalid("field_order", "sequence of integer field ids", &json!(null)))?;
    let mut expected: Vec<i64> = table.fields.iter().map(|field| field.id).collect();
    let mut given = order.clone();
    expected.sort_unstable();
    given.sort_unstable();
    if expected != given {
        return Err(ApiError::bad_request("Invalid field order: the ids must be exactly the table's fields."));
    }
    state.table_edits.entry(table.id).or_default().insert("field_order".into(), json!("custom"));
    for (position, field_id) in order.iter().enumerate() {
        state.field_edits.entry(*field_id).or_default().insert("custom_position".into(), json!(position));
    }
    Ok(json_response(StatusCode::OK, &json!({"success": true})))
}

/// `GET /api/database/:id/metadata`: the database with every table and each table's fields.
pub(super) async fn database_metadata(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let state = context.state();
    let database = state.databases.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if !state.can_view_database(caller.user_id, id) {
        return Err(ApiError::Forbidden);
    }
    let mut rendered = database_json(&state, &context.catalog, &database, caller, None);
    let tables: Vec<Value> = if id == SAMPLE_DATABASE_ID {
        context
            .catalog
            .tables
            .iter()
            .map(|table| {
                let mut table_rendered = table_json(&state, table, false);
                table_rendered["fields"] =
                    Value::Array(table.fields.iter().map(|field| hydrated_field(&context, &state, field)).collect());
                table_rendered["segments"] = json!([]);
                table_rendered["metrics"] = json!([]);
                table_rendered
            })
            .collect()
    } else {
        Vec::new()
    };
    rendered["tables"] = Value::Array(tables);
    Ok(json_response(StatusCode::OK, &rendered))
}

fn schema_names(database_id: i64) -> Vec<&'static str> {
    if database_id == SAMPLE_DATABASE_ID { vec![SAMPLE_SCHEMA] } else { Vec::new() }
}

/// `GET /api/database/:id/schemas`: the schema names, sorted.
pub(super) async fn schemas(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let state = context.state();
    state.databases.get(&id).ok_or(ApiError::NotFound)?;
    if !state.can_view_database(caller.user_id, id) {
        return Err(ApiError::Forbidden);
    }
    Ok(json_response(StatusCode::OK, &json!(schema_names(id))))
}

/// `GET /api/database/:id/schema/:schema`: the tables of one schema; 404 when it has none.
pub(super) async fn schema_tables(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path((id, schema)): Path<(String, String)>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let state = context.state();
    state.databases.get(&id).ok_or(ApiError::NotFound)?;
    if !state.can_view_database(caller.user_id, id) {
        return Err(ApiError::Forbidden);
    }
    if !schema_names(id).contains(&schema.as_str()) {
        return Err(ApiError::NotFound);
    }
    let tables: Vec<Value> = context.catalog.tables.iter().map(|table| table_json(&state, table, false)).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(tables)))
}
