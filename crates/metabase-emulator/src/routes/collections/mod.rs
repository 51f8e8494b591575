//! Collections (CONTRACT.md §6): the list with the virtual root, the tree without it, details,
//! paged items with `{total,data,models,limit,offset}`, create, update (with the `archived`
//! default quirk) and delete of trashed collections.

mod items;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, page, paging_json, positive_id};
use crate::state::{Access, AppState, Collection, entity_id, now};

pub(super) use self::items::items;

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
pub(super) async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
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
pub(super) async fn tree(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
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
pub(super) async fn get_one(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
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

/// `POST /api/collection`: returns the bare inserted row.
pub(super) async fn create(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
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
pub(super) async fn update(
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
pub(super) async fn remove(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
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
