//! Collections (CONTRACT.md §6): the list with the virtual root, the tree without it, details,
//! paged items with `{total,data,models,limit,offset}`, create, update (with the `archived`
//! default quirk) and delete of trashed collections.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, page, paging_json, positive_id};
use crate::state::{Access, AppState, Collection, entity_id, now};

/// A collection named in a route: the root, the Trash, or a stored collection.
enum Target {
    Root,
    Stored(i64),
}

fn resolve(state: &AppState, raw: &str) -> Result<Target, ApiError> {
    match raw {
        "root" => Ok(Target::Root),
        "trash" => Ok(Target::Stored(state.trash_collection_id())),
        _ if raw.len() == 21 && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => state
            .collections
            .values()
            .find(|collection| collection.entity_id == raw)
            .map(|collection| Target::Stored(collection.id))
            .ok_or(ApiError::NotFound),
        _ => positive_id("id", raw).map(Target::Stored),
    }
}

fn visible(state: &AppState, caller: Caller, collection: &Collection) -> bool {
    state.collection_access(caller.user_id, Some(collection.id)) != Access::None
}

fn list_entry(state: &AppState, collection: &Collection, caller: Caller) -> Value {
    let mut map = render::collection_columns(collection);
    map.insert(
        "can_write".into(),
        json!(state.collection_access(caller.user_id, Some(collection.id)) == Access::Write),
    );
    map.insert("is_personal".into(), json!(state.personal_owner(collection).is_some()));
    map.insert("can_delete".into(), json!(collection.archived && caller.is_superuser));
    map.insert("parent_id".into(), json!(collection.parent_id()));
    Value::Object(map)
}

/// `GET /api/collection`.
pub async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let archived = params.boolean("archived", false)?;
    let personal_only = params.boolean("personal-only", false)?;
    let exclude_others = params.boolean("exclude-other-user-collections", false)?;
    let state = context.state();
    let mut entries = Vec::new();
    if !archived && !personal_only && state.collection_access(caller.user_id, None) != Access::None {
        entries.push(render::root_collection(&state, caller));
    }
    let mut collections: Vec<&Collection> = state
        .collections
        .values()
        .filter(|collection| collection.archived == archived && collection.kind.as_deref() != Some("trash"))
        .filter(|collection| visible(&state, caller, collection))
        .filter(|collection| !personal_only || state.personal_owner(collection).is_some())
        .filter(|collection| {
            !exclude_others || state.personal_owner(collection).is_none_or(|owner| owner == caller.user_id)
        })
        .collect();
    collections.sort_by_key(|collection| (collection.authority_level.is_none(), collection.name.to_lowercase()));
    entries.extend(collections.into_iter().map(|collection| list_entry(&state, collection, caller)));
    Ok(json_response(StatusCode::OK, &Value::Array(entries)))
}

fn card_model(card_type: &str) -> &'static str {
    match card_type {
        "model" => "dataset",
        "metric" => "metric",
        _ => "card",
    }
}

fn tree_node(state: &AppState, collection: &Collection, caller: Caller, nodes: &[&Collection]) -> Value {
    let mut map = render::collection_columns(collection);
    map.insert(
        "can_write".into(),
        json!(state.collection_access(caller.user_id, Some(collection.id)) == Access::Write),
    );
    map.insert("is_personal".into(), json!(state.personal_owner(collection).is_some()));
    let children: Vec<Value> = visible_children(state, collection.child_location(), caller, nodes)
        .into_iter()
        .map(|child| tree_node(state, child, caller, nodes))
        .collect();
    let item_models = |location_matches: &dyn Fn(&Collection) -> bool| -> Vec<&'static str> {
        let mut models: Vec<&'static str> = state
            .cards
            .values()
            .filter(|card| !card.archived)
            .filter(|card| card.collection_id.and_then(|id| state.collections.get(&id)).is_some_and(location_matches))
            .map(|card| card_model(&card.card_type))
            .collect();
        models.sort_unstable();
        models.dedup();
        models
    };
    let here = item_models(&|owner: &Collection| owner.id == collection.id);
    let prefix = collection.child_location();
    let below = item_models(&|owner: &Collection| owner.location.starts_with(&prefix));
    if !here.is_empty() {
        map.insert("here".into(), json!(here));
    }
    if !below.is_empty() {
        map.insert("below".into(), json!(below));
    }
    map.insert("children".into(), Value::Array(children));
    Value::Object(map)
}

/// Returns the visible collections directly under `location`, pulling up the visible children of
/// invisible ones, as Metabase does.
fn visible_children<'a>(
    state: &AppState,
    location: String,
    caller: Caller,
    nodes: &[&'a Collection],
) -> Vec<&'a Collection> {
    let mut children = Vec::new();
    for collection in nodes.iter().filter(|collection| collection.location == location) {
        if visible(state, caller, collection) {
            children.push(*collection);
        } else {
            children.extend(visible_children(state, collection.child_location(), caller, nodes));
        }
    }
    children.sort_by_key(|collection| (collection.authority_level.is_none(), collection.name.to_lowercase()));
    children
}

/// `GET /api/collection/tree`: top-level collections with nested children; no root.
pub async fn tree(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    let exclude_others = params.boolean("exclude-other-user-collections", false)?;
    let state = context.state();
    let nodes: Vec<&Collection> = state
        .collections
        .values()
        .filter(|collection| !collection.archived && collection.kind.as_deref() != Some("trash"))
        .filter(|collection| {
            !exclude_others || state.personal_owner(collection).is_none_or(|owner| owner == caller.user_id)
        })
        .collect();
    let top = visible_children(&state, "/".into(), caller, &nodes);
    let rendered: Vec<Value> =
        top.into_iter().map(|collection| tree_node(&state, collection, caller, &nodes)).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(rendered)))
}

/// `GET /api/collection/:id` (also `root` and `trash`).
pub async fn get_one(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let state = context.state();
    match resolve(&state, &id)? {
        Target::Root => Ok(json_response(StatusCode::OK, &render::root_collection(&state, caller))),
        Target::Stored(id) => {
            let collection = state.collections.get(&id).ok_or(ApiError::NotFound)?;
            if !visible(&state, caller, collection) {
                return Err(ApiError::Forbidden);
            }
            Ok(json_response(StatusCode::OK, &render::collection_detail(&state, collection, caller)))
        }
    }
}

const ITEM_MODELS: &[&str] =
    &["card", "dataset", "metric", "dashboard", "collection", "pulse", "snippet", "timeline", "document", "no_models"];

/// `GET /api/collection/:id/items` (also `root/items`).
pub async fn items(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let requested: Vec<&str> = params.all("models");
    if let Some(bad) = requested.iter().find(|model| !ITEM_MODELS.contains(model)) {
        return Err(ApiError::invalid("models", "nullable value must be a seq of models", &json!(bad)));
    }
    let archived = params.boolean("archived", false)?;
    let paging = params.paging()?;
    let state = context.state();
    let target = resolve(&state, &id)?;
    let (collection_id, in_trash) = match target {
        Target::Root => (None, false),
        Target::Stored(id) => {
            let collection = state.collections.get(&id).ok_or(ApiError::NotFound)?;
            if !visible(&state, caller, collection) {
                return Err(ApiError::Forbidden);
            }
            (Some(id), collection.kind.as_deref() == Some("trash"))
        }
    };
    let mut models: Vec<&str> = if requested.is_empty() {
        vec!["card", "collection", "dashboard", "dataset", "metric"]
    } else {
        requested
            .iter()
            .copied()
            .filter(|model| ["card", "dataset", "metric", "dashboard", "collection"].contains(model))
            .collect()
    };
    models.sort_unstable();
    models.dedup();
    let listed = collection_id.map_or(json!(null), |id| json!(id));
    let mut items: Vec<(bool, String, i64, Value)> = Vec::new();
    let place_matches = |owner: Option<i64>, is_archived: bool, directly: bool| -> bool {
        if in_trash { is_archived && directly } else { owner == collection_id && is_archived == archived }
    };
    for card in state.cards.values() {
        let model = card_model(&card.card_type);
        if !models.contains(&model) || !place_matches(card.collection_id, card.archived, card.archived_directly) {
            continue;
        }
        if state.card_access(caller.user_id, card) == Access::None {
            continue;
        }
        items.push((
            false,
            card.name.to_lowercase(),
            card.id,
            json!({
                "id": card.id, "name": card.name, "description": card.description, "entity_id": card.entity_id,
                "model": model, "display": card.display, "collection_preview": true, "dataset_query": card.dataset_query,
                "collection_id": listed, "collection_position": card.collection_position, "dashboard_id": card.dashboard_id,
                "archived": card.archived, "database_id": card.database_id, "table_id": card.table_id, "query_type": card.query_type,
                "moderated_status": null, "icon": null, "last_used_at": null, "is_remote_synced": false, "authority_level": null,
                "personal_owner_id": null, "location": null, "type": null,
                "can_write": state.card_access(caller.user_id, card) == Access::Write,
                "last-edit-info": render::last_edit_info(&state, card.creator_id, &card.updated_at)
            }),
        ));
    }
    if models.contains(&"dashboard") {
        for dashboard in state.dashboards.values() {
            if !place_matches(dashboard.collection_id, dashboard.archived, dashboard.archived_directly)
                || state.collection_access(caller.user_id, dashboard.collection_id) == Access::None
            {
                continue;
            }
            items.push((
                false,
                dashboard.name.to_lowercase(),
                dashboard.id,
                json!({
                    "id": dashboard.id, "name": dashboard.name, "description": dashboard.description, "entity_id": dashboard.entity_id,
                    "model": "dashboard", "collection_id": listed, "collection_position": dashboard.collection_position,
                    "archived": dashboard.archived, "dashboard_id": null, "database_id": null, "display": null,
                    "moderated_status": null, "icon": null, "last_used_at": null, "is_remote_synced": false, "authority_level": null,
                    "personal_owner_id": null, "location": null, "type": null,
                    "can_write": state.collection_access(caller.user_id, dashboard.collection_id) == Access::Write,
                    "last-edit-info": render::last_edit_info(&state, dashboard.creator_id, &dashboard.updated_at)
                }),
            ));
        }
    }
    if models.contains(&"collection") {
        let location =
            collection_id.and_then(|id| state.collections.get(&id)).map_or("/".to_owned(), Collection::child_location);
        for child in state.collections.values() {
            let here = if in_trash {
                child.archived && child.archived_directly == Some(true)
            } else {
                child.location == location && child.archived == archived
            };
            if !here || child.kind.as_deref() == Some("trash") || !visible(&state, caller, child) {
                continue;
            }
            if collection_id.is_none() && state.personal_owner(child).is_some() {
                continue;
            }
            items.push((
                child.authority_level.is_some(),
                child.name.to_lowercase(),
                child.id,
                json!({
                    "id": child.id, "name": child.name, "description": child.description, "entity_id": child.entity_id,
                    "model": "collection", "location": child.location, "authority_level": child.authority_level,
                    "personal_owner_id": child.personal_owner_id, "type": child.kind, "archived": child.archived,
                    "collection_id": listed, "collection_position": null, "here": [], "below": [], "is_remote_synced": false,
                    "can_write": state.collection_access(caller.user_id, Some(child.id)) == Access::Write,
                    "database_id": null, "display": null, "moderated_status": null, "icon": null
                }),
            ));
        }
    }
    let descending = params.get("sort_direction") == Some("desc");
    items.sort_by(|left, right| {
        let order = right.0.cmp(&left.0).then_with(|| left.1.cmp(&right.1)).then_with(|| left.2.cmp(&right.2));
        if descending { order.reverse() } else { order }
    });
    let total = items.len();
    let data: Vec<Value> = page(items, paging).into_iter().map(|(_, _, _, item)| item).collect();
    let (limit, offset) = paging_json(paging);
    Ok(json_response(
        StatusCode::OK,
        &json!({"total": total, "data": data, "models": models, "limit": limit, "offset": offset}),
    ))
}

/// `POST /api/collection`: returns the bare inserted row.
pub async fn create(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    let name = body.required_string("name")?;
    let description = body.optional_string("description")?;
    let parent_id = body.optional_positive_int("parent_id")?;
    let namespace = body.optional_string("namespace")?;
    let authority_level = body.get("authority_level").and_then(Value::as_str).map(str::to_owned);
    if authority_level.is_some() && !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let mut state = context.state();
    let location = match parent_id {
        Some(parent) => state.collections.get(&parent).map(Collection::child_location).ok_or(ApiError::NotFound)?,
        None => "/".to_owned(),
    };
    if state.collection_access(caller.user_id, parent_id) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    let id = state.next_id();
    let collection = Collection {
        id,
        name,
        description,
        location,
        personal_owner_id: None,
        archived: false,
        archived_directly: None,
        authority_level,
        kind: None,
        namespace,
        entity_id: entity_id("collection", id),
        created_at: now(),
    };
    state.collections.insert(id, collection.clone());
    state.inherit_collection_permissions(id, parent_id);
    Ok(json_response(StatusCode::OK, &Value::Object(render::collection_columns(&collection))))
}

/// Archives or restores a collection and everything inside it.
fn set_archived(state: &mut AppState, id: i64, archived: bool) {
    let Some(collection) = state.collections.get(&id).cloned() else {
        return;
    };
    let prefix = collection.child_location();
    let subtree: Vec<i64> = state
        .collections
        .values()
        .filter(|other| other.id == id || other.location.starts_with(&prefix))
        .map(|other| other.id)
        .collect();
    for member in &subtree {
        if let Some(other) = state.collections.get_mut(member) {
            other.archived = archived;
            other.archived_directly = if archived { Some(*member == id) } else { None };
        }
    }
    for card in state.cards.values_mut().filter(|card| card.collection_id.is_some_and(|owner| subtree.contains(&owner)))
    {
        if !card.archived_directly {
            card.archived = archived;
        }
    }
    for dashboard in
        state.dashboards.values_mut().filter(|item| item.collection_id.is_some_and(|owner| subtree.contains(&owner)))
    {
        if !dashboard.archived_directly {
            dashboard.archived = archived;
        }
    }
}

/// `PUT /api/collection/:id`.
pub async fn update(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    let name = body.optional_string("name")?;
    let description = body.optional_string("description")?;
    // Metabase's schema defaults `archived` to false, so a body without it restores a trashed
    // collection (CONTRACT.md §6, PUT quirk).
    let archived = body.optional_bool("archived")?.unwrap_or(false);
    let mut state = context.state();
    let collection = state.collections.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if state.collection_access(caller.user_id, Some(id)) != Access::Write {
        return Err(ApiError::Forbidden);
    }
    if body.has("parent_id") {
        let parent = body.optional_positive_int("parent_id")?;
        if parent == Some(id)
            || parent.and_then(|p| state.collections.get(&p)).is_some_and(|p| p.ancestor_ids().contains(&id))
        {
            return Err(ApiError::bad_request(
                "You cannot move a Collection into itself or into one of its descendants.",
            ));
        }
        if state.collection_access(caller.user_id, parent) != Access::Write {
            return Err(ApiError::Forbidden);
        }
        let new_location = match parent {
            Some(parent) => state.collections.get(&parent).map(Collection::child_location).ok_or(ApiError::NotFound)?,
            None => "/".to_owned(),
        };
        let old_prefix = collection.child_location();
        let new_prefix = format!("{new_location}{id}/");
        for other in state.collections.values_mut() {
            if other.id == id {
                other.location = new_location.clone();
            } else if let Some(rest) = other.location.strip_prefix(&old_prefix) {
                other.location = format!("{new_prefix}{rest}");
            }
        }
    }
    if archived != collection.archived {
        set_archived(&mut state, id, archived);
    }
    if let Some(stored) = state.collections.get_mut(&id) {
        if let Some(name) = name {
            stored.name = name;
        }
        if body.has("description") {
            stored.description = description;
        }
        if body.has("authority_level") {
            stored.authority_level = body.get("authority_level").and_then(Value::as_str).map(str::to_owned);
        }
    }
    let collection = state.collections.get(&id).cloned().ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &render::collection_detail(&state, &collection, caller)))
}

/// `DELETE /api/collection/:id`: superuser only, and only once trashed; 200 with the row count.
pub async fn remove(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    if !caller.is_superuser {
        return Err(ApiError::Forbidden);
    }
    let mut state = context.state();
    let collection = state.collections.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if collection.personal_owner_id.is_some() || collection.namespace.is_some() {
        return Err(ApiError::bad_request("You cannot delete a personal collection or one in a namespace."));
    }
    if !collection.archived {
        return Err(ApiError::bad_request("Collection must be trashed before deletion."));
    }
    let prefix = collection.child_location();
    let subtree: Vec<i64> = state
        .collections
        .values()
        .filter(|other| other.id == id || other.location.starts_with(&prefix))
        .map(|other| other.id)
        .collect();
    state.collections.retain(|key, _| !subtree.contains(key));
    state.cards.retain(|_, card| !card.collection_id.is_some_and(|owner| subtree.contains(&owner)));
    state.dashboards.retain(|_, dashboard| !dashboard.collection_id.is_some_and(|owner| subtree.contains(&owner)));
    Ok(json_response(StatusCode::OK, &json!(1)))
}
