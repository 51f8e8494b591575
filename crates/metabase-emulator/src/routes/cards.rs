//! Cards (CONTRACT.md §4): the filtered bare-array list, get by id or entity id (with
//! `legacy-mbql`), create with its validation and permission checks, update (archive, restore,
//! move) and hard delete.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, positive_id};
use crate::query::normalize;
use crate::state::{Access, AppState, Card, QueryAccess, entity_id, now};

const FILTERS: &[&str] =
    &["all", "mine", "bookmarked", "database", "table", "archived", "using_model", "using_segment"];

/// Finds a card by integer id or 21-character entity id.
pub(super) fn find_card(state: &AppState, raw: &str) -> Result<i64, ApiError> {
    if raw.len() == 21 && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return state.cards.values().find(|card| card.entity_id == raw).map(|card| card.id).ok_or(ApiError::NotFound);
    }
    let id = positive_id("id", raw)?;
    if state.cards.contains_key(&id) { Ok(id) } else { Err(ApiError::NotFound) }
}

/// Returns a query's result columns as Metabase stores them on a saved card (null when the query
/// cannot be described).
pub(super) fn result_metadata(context: &Context, query: &Value) -> Value {
    match crate::query::describe(query, &context.catalog, &context.database_path) {
        Ok(columns) => {
            Value::Array(columns.iter().map(crate::query::columns::ResultColumn::to_metadata_json).collect())
        }
        Err(_) => Value::Null,
    }
}

/// `GET /api/card`.
pub(super) async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let filter = params.get("f").unwrap_or("all");
    if !FILTERS.contains(&filter) {
        return Err(ApiError::invalid("f", &format!("enum of {}", FILTERS.join(", ")), &json!(filter)));
    }
    let model_id = params.positive_int("model_id")?;
    if matches!(filter, "database" | "table" | "using_model" | "using_segment") && model_id.is_none() {
        return Err(ApiError::field_error(
            StatusCode::BAD_REQUEST,
            "model_id",
            &format!("model_id is a required parameter when filter mode is '{filter}'"),
        ));
    }
    let state = context.state();
    if filter == "database" && !state.databases.contains_key(&model_id.unwrap_or_default()) {
        return Err(ApiError::NotFound);
    }
    if filter == "using_model" && !state.cards.contains_key(&model_id.unwrap_or_default()) {
        return Err(ApiError::NotFound);
    }
    let source_card = model_id.map(|id| format!("card__{id}"));
    let mut cards: Vec<&Card> = state
        .cards
        .values()
        .filter(|card| match filter {
            "archived" => card.archived,
            "mine" => !card.archived && card.creator_id == caller.user_id,
            "bookmarked" | "using_segment" => false,
            "database" => !card.archived && Some(card.database_id) == model_id,
            "table" => !card.archived && card.table_id == model_id,
            "using_model" => {
                !card.archived
                    && source_card
                        .as_ref()
                        .is_some_and(|source| card.dataset_query.to_string().contains(source.as_str()))
            }
            _ => !card.archived,
        })
        .filter(|card| state.card_access(caller.user_id, card) != Access::None)
        .collect();
    cards.sort_by_key(|card| (card.name.to_lowercase(), card.id));
    let rendered: Vec<Value> = cards.into_iter().map(|card| render::card(&state, card, caller, false)).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(rendered)))
}

/// `GET /api/card/:id`.
pub(super) async fn get_one(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let legacy = params.boolean("legacy-mbql", false)?;
    let state = context.state();
    let id = find_card(&state, &id)?;
    let card = state.cards.get(&id).ok_or(ApiError::NotFound)?;
    if state.card_access(caller.user_id, card) == Access::None {
        return Err(ApiError::Forbidden);
    }
    Ok(json_response(StatusCode::OK, &render::card(&state, card, caller, legacy)))
}

/// Validates a `dataset_query` and returns it in MBQL 5, with its database and source table.
fn normalized_query(value: &Value) -> Result<(Value, i64, Option<i64>, &'static str), ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid("dataset_query", "Value must be a map.", value));
    }
    let modern = normalize::to_mbql5(value).map_err(|message| ApiError::invalid("dataset_query", &message, value))?;
    let database_id = modern
        .get("database")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid("dataset_query", "Value must have a :database", value))?;
    let stage = &modern["stages"][0];
    let native = stage.get("lib/type").and_then(Value::as_str) == Some("mbql.stage/native");
    let table_id = stage.get("source-table").and_then(Value::as_i64);
    Ok((modern, database_id, table_id, if native { "native" } else { "query" }))
}

fn check_can_run(
    state: &AppState,
    caller: Caller,
    database_id: i64,
    query_type: &str,
    query: &Value,
) -> Result<(), ApiError> {
    if !state.databases.contains_key(&database_id) {
        return Err(ApiError::NotFound);
    }
    let needed = if query_type == "native" { QueryAccess::QueryBuilderAndNative } else { QueryAccess::QueryBuilder };
    if state.query_access(caller.user_id, database_id) >= needed {
        return Ok(());
    }
    let mut data = Map::new();
    data.insert("status-code".into(), json!(403));
    data.insert("query".into(), query.clone());
    data.insert("required-perms".into(), json!({"perms/create-queries": if query_type == "native" { "query-builder-and-native" } else { "query-builder" }}));
    Err(ApiError::exception(
        StatusCode::FORBIDDEN,
        "You cannot save this Question because you do not have permissions to run its query.",
        data,
    ))
}

fn optional_list(body: &Body, key: &str) -> Result<Value, ApiError> {
    match body.get(key) {
        None => Ok(json!([])),
        Some(Value::Array(items)) => Ok(Value::Array(items.clone())),
        Some(other) => Err(ApiError::invalid(key, "nullable sequence of map", other)),
    }
}

/// `POST /api/card`.
pub(super) async fn create(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    let mut errors = Map::new();
    let mut specific = Map::new();
    for (key, description) in
        [("name", "value must be a non-blank string."), ("display", "value must be a non-blank string.")]
    {
        if body.get(key).and_then(Value::as_str).is_none_or(|text| text.trim().is_empty()) {
            errors.insert(key.into(), json!(description));
            specific.insert(
                key.into(),
                json!([format!("missing required key, received: {}", body.get(key).cloned().unwrap_or(Value::Null))]),
            );
        }
    }
    for key in ["dataset_query", "visualization_settings"] {
        if !body.get(key).is_some_and(Value::is_object) {
            errors.insert(key.into(), json!("Value must be a map."));
            specific.insert(
                key.into(),
                json!([format!("Value must be a map., received: {}", body.get(key).cloned().unwrap_or(Value::Null))]),
            );
        }
    }
    if let Some(description) = body.get("description")
        && description.as_str().is_none_or(|text| text.trim().is_empty())
    {
        errors.insert("description".into(), json!("nullable value must be a non-blank string."));
        specific
            .insert("description".into(), json!([format!("should be a non-blank string, received: {description}")]));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors, specific));
    }
    let card_type = body.optional_string("type")?.unwrap_or_else(|| "question".into());
    if !["question", "model", "metric"].contains(&card_type.as_str()) {
        return Err(ApiError::invalid("type", "nullable enum of question, model, metric", &json!(card_type)));
    }
    let collection_id = body.optional_positive_int("collection_id")?;
    let collection_position = body.optional_positive_int("collection_position")?;
    let cache_ttl = body.optional_positive_int("cache_ttl")?;
    let dashboard_id = body.optional_positive_int("dashboard_id")?;
    let raw_query = body.get("dataset_query").cloned().unwrap_or(Value::Null);
    context.observations.observe_query(&raw_query);
    let (dataset_query, database_id, table_id, query_type) = normalized_query(&raw_query)?;
    let parameters = optional_list(&body, "parameters")?;
    let parameter_mappings = optional_list(&body, "parameter_mappings")?;
    let mut state = context.state();
    if let Some(collection) = collection_id
        && !state.collections.contains_key(&collection)
    {
        return Err(ApiError::NotFound);
    }
    check_can_run(&state, caller, database_id, query_type, &raw_query)?;
    if state.collection_access(caller.user_id, collection_id) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    let id = state.next_id();
    let timestamp = now();
    let card = Card {
        id,
        entity_id: entity_id("card", id),
        name: body.required_string("name")?,
        description: body.optional_string("description")?,
        card_type,
        display: body.required_string("display")?,
        dataset_query,
        visualization_settings: body.get("visualization_settings").cloned().unwrap_or_else(|| json!({})),
        collection_id,
        collection_position,
        archived: false,
        archived_directly: false,
        creator_id: caller.user_id,
        created_at: timestamp.clone(),
        updated_at: timestamp,
        parameters,
        parameter_mappings,
        database_id,
        table_id,
        query_type: query_type.into(),
        cache_ttl,
        dashboard_id,
        result_metadata: Value::Null,
        extra: Map::new(),
    };
    let mut card = card;
    card.result_metadata = result_metadata(&context, &card.dataset_query);
    state.cards.insert(id, card.clone());
    Ok(json_response(StatusCode::OK, &render::card(&state, &card, caller, false)))
}

/// `PUT /api/card/:id`.
pub(super) async fn update(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let archived = body.optional_bool("archived")?;
    let name = body.optional_string("name")?;
    let display = body.optional_string("display")?;
    let new_collection =
        if body.has("collection_id") { Some(body.optional_positive_int("collection_id")?) } else { None };
    let query = match body.get("dataset_query") {
        Some(value) => {
            context.observations.observe_query(value);
            Some((value.clone(), normalized_query(value)?))
        }
        None => None,
    };
    let mut state = context.state();
    let card = state.cards.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if state.card_access(caller.user_id, &card) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    // Archiving drops any collection_id in the same body (api/updates-with-archived-directly).
    let moving_to =
        if archived == Some(true) { None } else { new_collection.filter(|target| *target != card.collection_id) };
    if let Some(target) = moving_to {
        if let Some(target_id) = target
            && !state.collections.contains_key(&target_id)
        {
            return Err(ApiError::NotFound);
        }
        if state.collection_access(caller.user_id, target) != Access::Write {
            return Err(ApiError::Forbidden);
        }
    }
    if let Some((raw, (_, database_id, _, query_type))) = &query {
        check_can_run(&state, caller, *database_id, query_type, raw)?;
    }
    if archived == Some(false) && card.archived && moving_to.is_none() {
        let original_trashed =
            card.collection_id.and_then(|owner| state.collections.get(&owner)).is_some_and(|owner| owner.archived);
        if original_trashed {
            return Err(ApiError::bad_request("Cannot restore a card to a trashed collection; move it elsewhere."));
        }
    }
    let stored = state.cards.get_mut(&id).ok_or(ApiError::NotFound)?;
    if let Some(name) = name {
        stored.name = name;
    }
    if let Some(display) = display {
        stored.display = display;
    }
    if body.has("description") {
        stored.description =
            body.get("description").and_then(Value::as_str).filter(|text| !text.is_empty()).map(str::to_owned);
    }
    if let Some(settings) = body.get("visualization_settings") {
        stored.visualization_settings = settings.clone();
    }
    if let Some(card_type) = body.get("type").and_then(Value::as_str) {
        stored.card_type = card_type.into();
        if card_type == "model" && body.get("display").and_then(Value::as_str) != Some("list") {
            stored.display = "table".into();
        }
    }
    if let Some((_, (modern, database_id, table_id, query_type))) = query {
        stored.result_metadata = result_metadata(&context, &modern);
        stored.dataset_query = modern;
        stored.database_id = database_id;
        stored.table_id = table_id;
        stored.query_type = query_type.into();
    }
    if let Some(target) = moving_to {
        stored.collection_id = target;
    }
    if body.has("collection_position") {
        stored.collection_position = body.get("collection_position").and_then(Value::as_i64);
    }
    if body.has("cache_ttl") {
        stored.cache_ttl = body.get("cache_ttl").and_then(Value::as_i64);
    }
    for key in ["parameters", "parameter_mappings"] {
        if let Some(value) = body.get(key) {
            if key == "parameters" {
                stored.parameters = value.clone()
            } else {
                stored.parameter_mappings = value.clone()
            }
        }
    }
    match archived {
        Some(true) if !stored.archived => {
            stored.archived = true;
            stored.archived_directly = true;
        }
        Some(false) if stored.archived => {
            stored.archived = false;
            stored.archived_directly = false;
        }
        _ => {}
    }
    stored.updated_at = now();
    let card = stored.clone();
    Ok(json_response(StatusCode::OK, &render::card(&state, &card, caller, false)))
}

/// `DELETE /api/card/:id`: a hard delete, 204.
pub(super) async fn remove(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    let mut state = context.state();
    let card = state.cards.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if state.card_access(caller.user_id, &card) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    state.cards.remove(&id);
    for dashboard in state.dashboards.values_mut() {
        dashboard.dashcards.retain(|dashcard| dashcard.card_id != Some(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
