//! Permission groups, memberships and the data-permissions graph (CONTRACT.md §12).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, page, positive_id};
use crate::state::{ADMINISTRATORS_GROUP_ID, ALL_USERS_GROUP_ID, AppState, Group, Membership, entity_id};

fn require_superuser(caller: Caller) -> Result<(), ApiError> {
    if caller.is_superuser { Ok(()) } else { Err(ApiError::Forbidden) }
}

fn group_json(state: &AppState, group: &Group) -> Value {
    let member_count = state
        .memberships
        .values()
        .filter(|membership| membership.group_id == group.id)
        .filter(|membership| {
            state.users.get(&membership.user_id).is_some_and(|user| user.is_active && user.kind == "personal")
        })
        .count();
    json!({
        "id": group.id, "name": group.name, "entity_id": group.entity_id,
        "magic_group_type": group.magic_group_type, "is_tenant_group": false, "member_count": member_count
    })
}

fn members(state: &AppState, group_id: i64) -> Vec<Value> {
    let mut members: Vec<(String, Value)> = state
        .memberships
        .values()
        .filter(|membership| membership.group_id == group_id)
        .filter_map(|membership| {
            let user = state.users.get(&membership.user_id).filter(|user| user.is_active && user.kind == "personal")?;
            let sort_key = user.common_name().to_lowercase();
            Some((
                sort_key,
                json!({
                    "membership_id": membership.id, "group_id": group_id, "user_id": user.id, "id": user.id,
                    "first_name": user.first_name, "last_name": user.last_name, "email": user.email,
                    "is_superuser": state.is_superuser(user.id), "common_name": user.common_name()
                }),
            ))
        })
        .collect();
    members.sort_by(|left, right| left.0.cmp(&right.0));
    members.into_iter().map(|(_, member)| member).collect()
}

/// `GET /api/permissions/group`.
pub(super) async fn list_groups(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    require_superuser(caller)?;
    let paging = params.paging()?;
    let state = context.state();
    let mut groups: Vec<&Group> = state.groups.values().collect();
    groups.sort_by_key(|group| group.name.to_lowercase());
    let data: Vec<Value> = page(groups, paging).into_iter().map(|group| group_json(&state, group)).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(data)))
}

/// `GET /api/permissions/group/:id`.
pub(super) async fn get_group(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    require_superuser(caller)?;
    let state = context.state();
    let group = state.groups.get(&id).ok_or(ApiError::NotFound)?;
    let mut rendered = group_json(&state, group);
    if let Some(map) = rendered.as_object_mut() {
        map.remove("member_count");
    }
    rendered["members"] = Value::Array(members(&state, id));
    Ok(json_response(StatusCode::OK, &rendered))
}

/// `POST /api/permissions/group`.
pub(super) async fn create_group(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    require_superuser(caller)?;
    let name = body.required_string("name")?;
    let mut state = context.state();
    if state.groups.values().any(|group| group.name.eq_ignore_ascii_case(&name)) {
        return Err(ApiError::bad_request("A group with that name already exists."));
    }
    let id = state.next_id();
    let group = Group { id, name, magic_group_type: None, entity_id: entity_id("group", id) };
    state.groups.insert(id, group.clone());
    Ok(json_response(StatusCode::OK, &group_json(&state, &group)))
}

/// `PUT /api/permissions/group/:id`.
pub(super) async fn update_group(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    require_superuser(caller)?;
    let name = body.required_string("name")?;
    let mut state = context.state();
    let group = state.groups.get(&id).ok_or(ApiError::NotFound)?;
    if group.magic_group_type.is_some() {
        return Err(ApiError::bad_request(format!(
            "You cannot edit or delete the '{}' permissions group!",
            group.name
        )));
    }
    if state.groups.values().any(|other| other.id != id && other.name.eq_ignore_ascii_case(&name)) {
        return Err(ApiError::bad_request("A group with that name already exists."));
    }
    let group = state.groups.get_mut(&id).ok_or(ApiError::NotFound)?;
    group.name = name;
    let group = group.clone();
    Ok(json_response(StatusCode::OK, &group_json(&state, &group)))
}

/// `DELETE /api/permissions/group/:id`: 204.
pub(super) async fn delete_group(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    require_superuser(caller)?;
    let mut state = context.state();
    if let Some(group) = state.groups.get(&id)
        && group.magic_group_type.is_some()
    {
        return Err(ApiError::bad_request(format!(
            "You cannot edit or delete the '{}' permissions group!",
            group.name
        )));
    }
    state.groups.remove(&id);
    state.memberships.retain(|_, membership| membership.group_id != id);
    state.data_permissions.remove(&id);
    state.collection_permissions.retain(|(group, _), _| *group != id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/permissions/membership`: `{"<user-id>": [membership...]}`.
pub(super) async fn list_memberships(State(context): State<Arc<Context>>, caller: Caller) -> ApiResult {
    require_superuser(caller)?;
    let state = context.state();
    let mut by_user: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for membership in state.memberships.values() {
        by_user.entry(membership.user_id.to_string()).or_default().push(json!({
            "membership_id": membership.id, "group_id": membership.group_id,
            "user_id": membership.user_id, "is_group_manager": membership.is_group_manager
        }));
    }
    Ok(json_response(StatusCode::OK, &json!(by_user)))
}

const ALL_USERS_MESSAGE: &str = "You cannot add or remove users to/from the 'All Users' group.";

/// `POST /api/permissions/membership`: returns the group's full member list.
pub(super) async fn add_member(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    require_superuser(caller)?;
    let group_id = body
        .optional_positive_int("group_id")?
        .ok_or_else(|| ApiError::missing("group_id", "value must be an integer greater than zero."))?;
    let user_id = body
        .optional_positive_int("user_id")?
        .ok_or_else(|| ApiError::missing("user_id", "value must be an integer greater than zero."))?;
    let is_group_manager = body.optional_bool("is_group_manager")?.unwrap_or(false);
    let mut state = context.state();
    if group_id == ALL_USERS_GROUP_ID {
        return Err(ApiError::bad_request(ALL_USERS_MESSAGE));
    }
    if !state.groups.contains_key(&group_id) || !state.users.contains_key(&user_id) {
        return Err(ApiError::NotFound);
    }
    if !state.memberships.values().any(|membership| membership.group_id == group_id && membership.user_id == user_id) {
        let id = state.next_id();
        state.memberships.insert(id, Membership { id, group_id, user_id, is_group_manager });
    }
    Ok(json_response(StatusCode::OK, &Value::Array(members(&state, group_id))))
}

/// `DELETE /api/permissions/membership/:id`: 204.
pub(super) async fn remove_member(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    require_superuser(caller)?;
    let mut state = context.state();
    let membership = state.memberships.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if membership.group_id == ALL_USERS_GROUP_ID {
        return Err(ApiError::bad_request(ALL_USERS_MESSAGE));
    }
    if membership.group_id == ADMINISTRATORS_GROUP_ID {
        let admins = state
            .memberships
            .values()
            .filter(|other| {
                other.group_id == ADMINISTRATORS_GROUP_ID
                    && state.users.get(&other.user_id).is_some_and(|user| user.kind == "personal")
            })
            .count();
        if admins <= 1 {
            return Err(ApiError::bad_request("You cannot remove the last member of the 'Admin' group!"));
        }
    }
    state.memberships.remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn admin_permissions() -> Value {
    json!({
        "view-data": "unrestricted", "create-queries": "query-builder-and-native",
        "download": {"schemas": "full"}, "data-model": {"schemas": "all"}, "details": "yes"
    })
}

fn graph_json(state: &AppState, only: Option<&[i64]>) -> Value {
    let mut groups = Map::new();
    for group_id in state.groups.keys() {
        if only.is_some_and(|wanted| !wanted.contains(group_id)) {
            continue;
        }
        let mut databases = Map::new();
        for database_id in state.databases.keys() {
            let permissions = if *group_id == ADMINISTRATORS_GROUP_ID {
                admin_permissions()
            } else {
                match state.data_permissions.get(group_id).and_then(|databases| databases.get(database_id)) {
                    Some(value) => value.clone(),
                    None => continue,
                }
            };
            databases.insert(database_id.to_string(), permissions);
        }
        groups.insert(group_id.to_string(), Value::Object(databases));
    }
    json!({"revision": state.permissions_revision, "groups": groups})
}

/// `GET /api/permissions/graph`.
pub(super) async fn graph(State(context): State<Arc<Context>>, caller: Caller) -> ApiResult {
    require_superuser(caller)?;
    let state = context.state();
    Ok(json_response(StatusCode::OK, &graph_json(&state, None)))
}

const STALE_GRAPH: &str =
    "Looks like someone else edited the permissions and your data is out of date. Please fetch new data and try again.";

/// `PUT /api/permissions/graph`: revision-checked, applies the partial graph.
pub(super) async fn update_graph(
    State(context): State<Arc<Context>>,
    caller: Caller,
    params: Params,
    body: Body,
) -> ApiResult {
    require_superuser(caller)?;
    let force = params.boolean("force", false)? || body.optional_bool("force")?.unwrap_or(false);
    let skip_graph = params.boolean("skip-graph", false)?;
    let revision = match body.get("revision") {
        Some(value) => {
            value.as_i64().ok_or_else(|| ApiError::invalid("revision", "value must be an integer.", value))?
        }
        None => return Err(ApiError::missing("revision", "value must be an integer.")),
    };
    let groups = body.optional_map("groups")?.ok_or_else(|| ApiError::missing("groups", "map"))?;
    let mut state = context.state();
    if !force && revision != state.permissions_revision {
        return Err(ApiError::Text(StatusCode::CONFLICT, STALE_GRAPH.into()));
    }
    let mut parsed: Vec<(i64, Vec<(i64, Value)>)> = Vec::new();
    for (group_key, databases) in &groups {
        let group_id: i64 = group_key.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "Cannot parse permissions graph because it is invalid: {group_key} is not a group id"
            ))
        })?;
        if !state.groups.contains_key(&group_id) {
            return Err(ApiError::bad_request(format!(
                "Cannot parse permissions graph because it is invalid: group {group_id} does not exist"
            )));
        }
        let databases = databases.as_object().ok_or_else(|| {
            ApiError::bad_request("Cannot parse permissions graph because it is invalid: expected a map of databases")
        })?;
        let mut entries = Vec::new();
        for (database_key, permissions) in databases {
            let database_id: i64 = database_key.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "Cannot parse permissions graph because it is invalid: {database_key} is not a database id"
                ))
            })?;
            let view = permissions.get("view-data").and_then(Value::as_str);
            let create = permissions.get("create-queries").and_then(Value::as_str);
            if view == Some("blocked") && create == Some("query-builder-and-native") {
                return Err(ApiError::bad_request(
                    "Cannot parse permissions graph because it is invalid: native query access requires unblocked data access",
                ));
            }
            entries.push((database_id, permissions.clone()));
        }
        parsed.push((group_id, entries));
    }
    for (group_id, entries) in &parsed {
        if *group_id == ADMINISTRATORS_GROUP_ID {
            continue;
        }
        for (database_id, permissions) in entries {
            let stored =
                state.data_permissions.entry(*group_id).or_default().entry(*database_id).or_insert_with(|| json!({}));
            if let (Some(stored), Some(changes)) = (stored.as_object_mut(), permissions.as_object()) {
                for (key, value) in changes {
                    stored.insert(key.clone(), value.clone());
                }
            }
        }
    }
    state.permissions_revision += 1;
    if skip_graph {
        return Ok(json_response(StatusCode::OK, &json!({"revision": state.permissions_revision})));
    }
    let named: Vec<i64> = parsed.iter().map(|(group, _)| *group).collect();
    Ok(json_response(StatusCode::OK, &graph_json(&state, Some(&named))))
}
