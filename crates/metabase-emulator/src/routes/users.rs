//! Users (CONTRACT.md §11): admin-only listing with `{data,total,limit,offset}`, self or admin
//! reads, creation with group memberships, updates, deactivation (200 `{"success":true}`) and
//! reactivation.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::render;
use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, Params, json_response, page, paging_json, positive_id};
use crate::state::{ADMINISTRATORS_GROUP_ID, ALL_USERS_GROUP_ID, AppState, Membership, User, now};

fn require_superuser(caller: Caller) -> Result<(), ApiError> {
    if caller.is_superuser { Ok(()) } else { Err(ApiError::Forbidden) }
}

fn user_with_memberships(state: &AppState, user: &User, caller: Caller) -> Value {
    let mut rendered = render::user(state, user, caller);
    let memberships: Vec<Value> = state
        .memberships
        .values()
        .filter(|membership| membership.user_id == user.id)
        .map(|membership| json!({"id": membership.group_id, "is_group_manager": membership.is_group_manager}))
        .collect();
    rendered["user_group_memberships"] = Value::Array(memberships);
    rendered["structured_attributes"] = json!({});
    rendered
}

/// `GET /api/user`.
pub(super) async fn list(State(context): State<Arc<Context>>, caller: Caller, params: Params) -> ApiResult {
    require_superuser(caller)?;
    let include_deactivated = params.boolean("include_deactivated", false)?;
    let status = if include_deactivated { "all" } else { params.get("status").unwrap_or("active") };
    if !matches!(status, "active" | "deactivated" | "all") {
        return Err(ApiError::invalid("status", "enum of active, deactivated, all", &json!(status)));
    }
    let group_id = params.positive_int("group_id")?;
    let query = params.get("query").map(str::to_lowercase);
    let paging = params.paging()?;
    let state = context.state();
    let mut users: Vec<&User> = state
        .users
        .values()
        .filter(|user| user.kind == "personal")
        .filter(|user| match status {
            "active" => user.is_active,
            "deactivated" => !user.is_active,
            _ => true,
        })
        .filter(|user| group_id.is_none_or(|group| state.group_ids(user.id).contains(&group)))
        .filter(|user| {
            query.as_ref().is_none_or(|needle| {
                [user.first_name.as_deref(), user.last_name.as_deref(), Some(user.email.as_str())]
                    .into_iter()
                    .flatten()
                    .any(|text| text.to_lowercase().contains(needle.as_str()))
            })
        })
        .collect();
    users.sort_by_key(|user| {
        (
            user.first_name.clone().unwrap_or_default().to_lowercase(),
            user.last_name.clone().unwrap_or_default().to_lowercase(),
            user.id,
        )
    });
    let total = users.len();
    let data: Vec<Value> = page(users, paging)
        .into_iter()
        .map(|user| render::with_groups(&state, render::user(&state, user, caller), user.id))
        .collect();
    let (limit, offset) = paging_json(paging);
    Ok(json_response(StatusCode::OK, &json!({"data": data, "total": total, "limit": limit, "offset": offset})))
}

/// `GET /api/user/current`.
pub(super) async fn current(State(context): State<Arc<Context>>, caller: Caller) -> ApiResult {
    let state = context.state();
    let user = state.users.get(&caller.user_id).ok_or(ApiError::Unauthenticated)?;
    let mut rendered = render::with_groups(&state, render::user(&state, user, caller), user.id);
    rendered["is_installer"] = json!(user.id == 1);
    rendered["has_invited_second_user"] = json!(true);
    rendered["has_question_and_dashboard"] = json!(true);
    rendered["first_login"] = json!(user.date_joined);
    rendered["custom_homepage"] = Value::Null;
    rendered["permissions"] = Value::Null;
    Ok(json_response(StatusCode::OK, &rendered))
}

/// `GET /api/user/recipients`: the active users a notification may be sent to, as
/// `{"data": [...]}` (with the default `user-visibility`, every active user).
pub(super) async fn recipients(State(context): State<Arc<Context>>, _caller: Caller) -> ApiResult {
    let state = context.state();
    let data: Vec<Value> = state
        .users
        .values()
        .filter(|user| user.is_active && user.kind == "personal")
        .map(|user| {
            json!({"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
                   "common_name": user.common_name(), "is_superuser": state.is_superuser(user.id)})
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"data": data})))
}

/// `GET /api/user/:id`.
pub(super) async fn get_one(State(context): State<Arc<Context>>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let id = positive_id("id", &id)?;
    if !caller.is_superuser && caller.user_id != id {
        return Err(ApiError::Forbidden);
    }
    let state = context.state();
    let user = state.users.get(&id).ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &user_with_memberships(&state, user, caller)))
}

fn email_taken(state: &AppState, email: &str, except: Option<i64>) -> bool {
    state.users.values().any(|user| user.email.eq_ignore_ascii_case(email) && Some(user.id) != except)
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None) if !local.is_empty() && domain.contains('.'))
}

fn requested_groups(body: &Body) -> Result<Option<Vec<(i64, bool)>>, ApiError> {
    let Some(value) = body.get("user_group_memberships") else {
        return Ok(None);
    };
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::invalid("user_group_memberships", "nullable sequence of map", value))?;
    items
        .iter()
        .map(|item| {
            let id = item
                .get("id")
                .and_then(Value::as_i64)
                .ok_or_else(|| ApiError::invalid("user_group_memberships", "nullable sequence of map", value))?;
            Ok((id, item.get("is_group_manager").and_then(Value::as_bool).unwrap_or(false)))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn set_memberships(state: &mut AppState, user_id: i64, groups: &[(i64, bool)]) -> Result<(), ApiError> {
    if let Some((missing, _)) = groups.iter().find(|(group, _)| !state.groups.contains_key(group)) {
        return Err(ApiError::invalid("user_group_memberships", "group does not exist", &json!(missing)));
    }
    state
        .memberships
        .retain(|_, membership| membership.user_id != user_id || membership.group_id == ALL_USERS_GROUP_ID);
    for (group_id, is_group_manager) in groups.iter().filter(|(group, _)| *group != ALL_USERS_GROUP_ID) {
        let id = state.next_id();
        state
            .memberships
            .insert(id, Membership { id, group_id: *group_id, user_id, is_group_manager: *is_group_manager });
    }
    if !state.group_ids(user_id).contains(&ALL_USERS_GROUP_ID) {
        let id = state.next_id();
        state.memberships.insert(id, Membership { id, group_id: ALL_USERS_GROUP_ID, user_id, is_group_manager: false });
    }
    Ok(())
}

/// `POST /api/user`.
pub(super) async fn create(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    require_superuser(caller)?;
    let email = match body.get("email") {
        Some(Value::String(email)) if valid_email(email) => email.clone(),
        Some(other) => return Err(ApiError::invalid("email", "value must be a valid email address.", other)),
        None => return Err(ApiError::missing("email", "value must be a valid email address.")),
    };
    let first_name = body.optional_string("first_name")?;
    let last_name = body.optional_string("last_name")?;
    let groups = requested_groups(&body)?.unwrap_or_default();
    let mut state = context.state();
    if email_taken(&state, &email, None) {
        return Err(ApiError::field_error(StatusCode::BAD_REQUEST, "email", "Email address already in use."));
    }
    let id = state.next_id();
    let timestamp = now();
    state.users.insert(
        id,
        User {
            id,
            email,
            first_name,
            last_name,
            password: None,
            is_active: true,
            kind: "personal",
            date_joined: timestamp.clone(),
            last_login: None,
            updated_at: timestamp,
            locale: None,
            login_attributes: body.get("login_attributes").cloned(),
        },
    );
    set_memberships(&mut state, id, &groups)?;
    let user = state.users.get(&id).cloned().ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &user_with_memberships(&state, &user, caller)))
}

/// `PUT /api/user/:id`.
pub(super) async fn update(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    if !caller.is_superuser && caller.user_id != id {
        return Err(ApiError::Forbidden);
    }
    let groups = requested_groups(&body)?;
    let mut state = context.state();
    if !state.users.get(&id).is_some_and(|user| user.is_active) {
        return Err(ApiError::NotFound);
    }
    if let Some(email) = body.optional_string("email")? {
        if !valid_email(&email) {
            return Err(ApiError::invalid("email", "value must be a valid email address.", &json!(email)));
        }
        if email_taken(&state, &email, Some(id)) {
            return Err(ApiError::field_error(StatusCode::BAD_REQUEST, "email", "Email address already in use."));
        }
    }
    if let (Some(superuser), Some(groups)) = (body.optional_bool("is_superuser")?, &groups)
        && superuser != groups.iter().any(|(group, _)| *group == ADMINISTRATORS_GROUP_ID)
    {
        return Err(ApiError::field_error(
            StatusCode::BAD_REQUEST,
            "is_superuser",
            "Admin group membership and is_superuser must agree.",
        ));
    }
    let first_name = body.optional_string("first_name")?;
    let last_name = body.optional_string("last_name")?;
    let email = body.optional_string("email")?;
    let locale = body.get("locale").and_then(Value::as_str).map(str::to_owned);
    if let Some(user) = state.users.get_mut(&id) {
        if let Some(email) = email {
            user.email = email;
        }
        if first_name.is_some() {
            user.first_name = first_name;
        }
        if last_name.is_some() {
            user.last_name = last_name;
        }
        if body.has("locale") {
            user.locale = locale;
        }
        if let Some(attributes) = body.get("login_attributes") {
            user.login_attributes = Some(attributes.clone());
        }
        user.updated_at = now();
    }
    if caller.is_superuser {
        if let Some(groups) = groups {
            set_memberships(&mut state, id, &groups)?;
        } else if let Some(superuser) = body.optional_bool("is_superuser")? {
            let mut current: Vec<(i64, bool)> = state.group_ids(id).into_iter().map(|group| (group, false)).collect();
            current.retain(|(group, _)| *group != ADMINISTRATORS_GROUP_ID);
            if superuser {
                current.push((ADMINISTRATORS_GROUP_ID, false));
            }
            set_memberships(&mut state, id, &current)?;
        }
    }
    let user = state.users.get(&id).cloned().ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &user_with_memberships(&state, &user, caller)))
}

/// `DELETE /api/user/:id`: deactivates; 200 `{"success":true}`.
pub(super) async fn deactivate(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    require_superuser(caller)?;
    let mut state = context.state();
    let user = state.users.get_mut(&id).ok_or(ApiError::NotFound)?;
    user.is_active = false;
    user.updated_at = now();
    state.sessions.retain(|_, session| session.user_id != id);
    Ok(json_response(StatusCode::OK, &json!({"success": true})))
}

/// `PUT /api/user/:id/reactivate`.
pub(super) async fn reactivate(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id("id", &id)?;
    require_superuser(caller)?;
    let mut state = context.state();
    let user = state.users.get_mut(&id).ok_or(ApiError::NotFound)?;
    if user.is_active {
        return Err(ApiError::exception(
            StatusCode::BAD_REQUEST,
            "Not able to reactivate an active user".to_owned(),
            serde_json::Map::from_iter([("status-code".to_owned(), json!(400))]),
        ));
    }
    user.is_active = true;
    user.updated_at = now();
    state
        .memberships
        .retain(|_, membership| !(membership.user_id == id && membership.group_id == ADMINISTRATORS_GROUP_ID));
    let user = state.users.get(&id).cloned().ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &user_with_memberships(&state, &user, caller)))
}
