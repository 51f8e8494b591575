//! Users and their group memberships, and the create and update bodies.

use serde_json::{Map, Value, json};

use super::BodyBuilder;
use super::json::Fields;
use crate::error::GatewayError;
use crate::pb::v1::{CreateUserRequest, GroupMembership, UpdateUserRequest, User};

/// Converts Metabase's user JSON.
pub fn user(value: Value) -> User {
    let mut fields = Fields::new(value);
    let memberships = fields
        .objects("user_group_memberships")
        .into_iter()
        .map(|membership| GroupMembership {
            id: membership.get("id").and_then(Value::as_i64).unwrap_or_default(),
            is_group_manager: membership.get("is_group_manager").and_then(Value::as_bool).unwrap_or_default(),
        })
        .collect();
    User {
        id: fields.int("id"),
        email: fields.string("email"),
        first_name: fields.opt_string("first_name"),
        last_name: fields.opt_string("last_name"),
        common_name: fields.string("common_name"),
        is_active: fields.opt_bool("is_active"),
        is_superuser: fields.bool("is_superuser"),
        date_joined: fields.timestamp("date_joined"),
        last_login: fields.timestamp("last_login"),
        updated_at: fields.timestamp("updated_at"),
        group_ids: fields.objects("group_ids").into_iter().filter_map(|id| id.as_i64()).collect(),
        personal_collection_id: fields.opt_int("personal_collection_id"),
        locale: fields.opt_string("locale"),
        user_group_memberships: memberships,
        extra: fields.extra(),
    }
}

fn memberships_json(memberships: Vec<GroupMembership>) -> Value {
    Value::Array(
        memberships
            .into_iter()
            .map(|membership| json!({"id": membership.id, "is_group_manager": membership.is_group_manager}))
            .collect(),
    )
}

/// Builds `POST /api/user`'s body.
pub fn create_body(request: CreateUserRequest) -> Result<Map<String, Value>, GatewayError> {
    if !request.email.contains('@') {
        return Err(GatewayError::invalid_argument("email", "email must be an email address"));
    }
    let mut body = BodyBuilder::default()
        .set("email", request.email)
        .maybe("first_name", request.first_name)
        .maybe("last_name", request.last_name)
        .build();
    if !request.user_group_memberships.is_empty() {
        body.insert("user_group_memberships".into(), memberships_json(request.user_group_memberships));
    }
    if !request.login_attributes.is_empty() {
        body.insert("login_attributes".into(), json!(request.login_attributes));
    }
    Ok(body)
}

/// Builds `PUT /api/user/:id`'s body from the fields the caller set.
pub fn update_body(request: UpdateUserRequest) -> Map<String, Value> {
    let mut body = BodyBuilder::default()
        .maybe("email", request.email)
        .maybe("first_name", request.first_name)
        .maybe("last_name", request.last_name)
        .maybe("is_superuser", request.is_superuser)
        .maybe(
            "locale",
            request.locale.map(|locale| if locale.is_empty() { Value::Null } else { Value::String(locale) }),
        )
        .build();
    if request.replace_group_memberships || !request.user_group_memberships.is_empty() {
        body.insert("user_group_memberships".into(), memberships_json(request.user_group_memberships));
    }
    if request.replace_login_attributes || !request.login_attributes.is_empty() {
        body.insert("login_attributes".into(), json!(request.login_attributes));
    }
    body
}
