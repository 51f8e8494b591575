//! Search (CONTRACT.md §14): cards, models, metrics, dashboards, collections, databases and tables
//! matching `q`, filtered by permission, capped at 1,000 kept results and paged.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Caller, Params, json_response, page, paging_json};
use crate::state::{Access, AppState};

const MODELS: &[&str] = &[
    "dashboard",
    "metric",
    "segment",
    "indexed-entity",
    "card",
    "dataset",
    "collection",
    "table",
    "action",
    "database",
];
const MAX_RESULTS: usize = 1000;

fn collection_summary(state: &AppState, collection_id: Option<i64>) -> Value {
    match collection_id.and_then(|id| state.collections.get(&id)) {
        Some(collection) => {
            json!({"id": collection.id, "name": collection.name, "authority_level": collection.authority_level, "type": collection.kind})
        }
        None => json!({"id": "root", "name": "Our analytics", "authority_level": null, "type": null}),
    }
}

fn item(model: &str, id: i64, name: &str, description: Option<&str>, archived: bool, collection: Value) -> Value {
    json!({
        "model": model, "id": id, "name": name, "description": description, "archived": archived,
        "collection": collection, "database_id": null, "database_name": null, "table_id": null, "table_name": null,
        "table_schema": null, "table_description": null, "initial_sync_status": null, "pk_ref": null,
        "created_at": null, "updated_at": null, "last_edited_at": null, "creator_common_name": null,
        "last_editor_common_name": null, "bookmark": false, "effective_location": null, "context": null,
        "scores": [{"name": "text", "score": 1.0, "weight": 5, "contribution": 5.0}]
    })
}

/// `GET /api/search`.
pub(super) async fn search(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let requested: Vec<&str> = params.all("models");
    if let Some(bad) = requested.iter().find(|model| !MODELS.contains(model)) {
        return Err(ApiError::invalid("models", "nullable value must be a seq of search models", &json!(bad)));
    }
    let archived = params.boolean("archived", false)?;
    let collection_filter = params.positive_int("collection")?;
    let table_db_id = params.positive_int("table_db_id")?;
    let paging = params.paging()?;
    let needle = params.get("q").map(|text| text.trim().to_lowercase()).filter(|text| !text.is_empty());
    let wants = |model: &str| requested.is_empty() || requested.contains(&model);
    let matches = |name: &str, description: Option<&str>| {
        needle.as_ref().is_none_or(|needle| {
            name.to_lowercase().contains(needle.as_str())
                || description.is_some_and(|text| text.to_lowercase().contains(needle.as_str()))
        })
    };
    let in_collection =
        |collection_id: Option<i64>| collection_filter.is_none_or(|wanted| collection_id == Some(wanted));
    let state = context.state();
    let mut results: Vec<(String, Value)> = Vec::new();
    for card in state.cards.values() {
        let model = match card.card_type.as_str() {
            "model" => "dataset",
            "metric" => "metric",
            _ => "card",
        };
        if !wants(model)
            || card.archived != archived
            || !matches(&card.name, card.description.as_deref())
            || !in_collection(card.collection_id)
        {
            continue;
        }
        if table_db_id.is_some_and(|database| database != card.database_id)
            || state.card_access(caller.user_id, card) == Access::None
        {
            continue;
        }
        let mut rendered = item(
            model,
            card.id,
            &card.name,
            card.description.as_deref(),
            card.archived,
            collection_summary(&state, card.collection_id),
        );
        rendered["database_id"] = json!(card.database_id);
        rendered["table_id"] = json!(card.table_id);
        rendered["display"] = json!(card.display);
        rendered["created_at"] = json!(card.created_at);
        rendered["updated_at"] = json!(card.updated_at);
        rendered["last_edited_at"] = json!(card.updated_at);
        rendered["creator_common_name"] = json!(state.users.get(&card.creator_id).map(|user| user.common_name()));
        rendered["dashboard"] = Value::Null;
        rendered["display_type"] = json!(card.display);
        rendered["can_write"] = json!(state.card_access(caller.user_id, card) == Access::Write);
        rendered["collection_position"] = json!(card.collection_position);
        rendered["collection_authority_level"] =
            json!(card.collection_id.and_then(|id| state.collections.get(&id)).and_then(|c| c.authority_level.clone()));
        rendered["official_collection"] = Value::Null;
        rendered["creator_id"] = json!(card.creator_id);
        rendered["last_editor_id"] = json!(card.creator_id);
        rendered["last_editor_common_name"] = rendered["creator_common_name"].clone();
        rendered["moderated_status"] = Value::Null;
        rendered["verified"] = json!(false);
        rendered["dashboardcard_count"] = json!(
            state
                .dashboards
                .values()
                .flat_map(|dashboard| &dashboard.dashcards)
                .filter(|dashcard| dashcard.card_id == Some(card.id))
                .count()
        );
        results.push((card.name.to_lowercase(), rendered));
    }
    if wants("dashboard") {
        for dashboard in state.dashboards.values() {
            if dashboard.archived != archived
                || !matches(&dashboard.name, dashboard.description.as_deref())
                || !in_collection(dashboard.collection_id)
            {
                continue;
            }
            if state.collection_access(caller.user_id, dashboard.collection_id) == Access::None {
                continue;
            }
            let mut rendered = item(
                "dashboard",
                dashboard.id,
                &dashboard.name,
                dashboard.description.as_deref(),
                dashboard.archived,
                collection_summary(&state, dashboard.collection_id),
            );
            rendered["created_at"] = json!(dashboard.created_at);
            rendered["updated_at"] = json!(dashboard.updated_at);
            results.push((dashboard.name.to_lowercase(), rendered));
        }
    }
    if wants("collection") {
        for collection in state.collections.values() {
            if collection.archived != archived
                || collection.kind.as_deref() == Some("trash")
                || !matches(&collection.name, collection.description.as_deref())
            {
                continue;
            }
            if !in_collection(collection.parent_id()) && collection_filter.is_some() {
                continue;
            }
            let access = state.collection_access(caller.user_id, Some(collection.id));
            if access == Access::None {
                continue;
            }
            let mut rendered = item(
                "collection",
                collection.id,
                &collection.name,
                collection.description.as_deref(),
                collection.archived,
                collection_summary(&state, collection.parent_id()),
            );
            rendered["can_write"] = json!(access == Access::Write);
            rendered["effective_location"] = json!(collection.location);
            rendered["authority_level"] = json!(collection.authority_level);
            results.push((collection.name.to_lowercase(), rendered));
        }
    }
    if !archived && collection_filter.is_none() {
        for database in state.databases.values().filter(|database| state.can_view_database(caller.user_id, database.id))
        {
            if wants("database")
                && matches(&database.name, database.description.as_deref())
                && table_db_id.is_none_or(|wanted| wanted == database.id)
            {
                results.push((
                    database.name.to_lowercase(),
                    item("database", database.id, &database.name, database.description.as_deref(), false, Value::Null),
                ));
            }
            if wants("table") && database.is_sample && table_db_id.is_none_or(|wanted| wanted == database.id) {
                for table in &context.catalog.tables {
                    if !matches(table.display_name, Some(table.description)) && !matches(table.name, None) {
                        continue;
                    }
                    let mut rendered =
                        item("table", table.id, table.display_name, Some(table.description), false, Value::Null);
                    rendered["database_id"] = json!(database.id);
                    rendered["database_name"] = json!(database.name);
                    rendered["table_id"] = json!(table.id);
                    rendered["table_name"] = json!(table.name);
                    rendered["table_schema"] = json!("PUBLIC");
                    rendered["table_description"] = json!(table.description);
                    rendered["initial_sync_status"] = json!("complete");
                    results.push((table.display_name.to_lowercase(), rendered));
                }
            }
        }
    }
    results.sort_by(|left, right| left.0.cmp(&right.0));
    results.truncate(MAX_RESULTS);
    let total = results.len();
    let models: Vec<&str> = if requested.is_empty() { MODELS.to_vec() } else { requested.clone() };
    let data: Vec<Value> = page(results, paging).into_iter().map(|(_, value)| value).collect();
    let (limit, offset) = paging_json(paging);
    let _ = render::slug;
    Ok(json_response(
        StatusCode::OK,
        &json!({"data": data, "total": total, "limit": limit, "offset": offset, "models": models, "table_db_id": table_db_id, "engine": "search.engine/in-place"}),
    ))
}
