//! Owns the user models (CONTRACT.md §11).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::null_as_default;
use crate::ids::{CollectionId, GroupId, UserId};

/// A Metabase user. Which keys are present depends on who is asking (admins and the user see the
/// most).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The user's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The user's first name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The user's last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// "first last", or the email.
    #[serde(default)]
    pub common_name: Option<String>,
    /// Whether the user is active (not deactivated).
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Whether the user is an administrator.
    #[serde(default)]
    pub is_superuser: Option<bool>,
    /// The user's locale, `None` for the site default.
    #[serde(default)]
    pub locale: Option<String>,
    /// How the user signs in, e.g. `google`, `ldap`, `jwt`.
    #[serde(default)]
    pub sso_source: Option<String>,
    /// Attributes used for sandboxing.
    #[serde(default)]
    pub login_attributes: Option<Value>,
    /// The user's personal collection.
    #[serde(default)]
    pub personal_collection_id: Option<CollectionId>,
    /// The groups the user belongs to (admins' view).
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_ids: Vec<GroupId>,
    /// The user's memberships, on single-user answers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_group_memberships: Vec<UserGroupMembership>,
    /// When the user joined, ISO-8601.
    #[serde(default)]
    pub date_joined: Option<String>,
    /// The last login, ISO-8601.
    #[serde(default)]
    pub last_login: Option<String>,
    /// Last update time, ISO-8601.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One of a user's group memberships, as `user_group_memberships` lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserGroupMembership {
    /// The group's id (not the membership's).
    pub id: GroupId,
    /// Whether the user manages the group (Enterprise).
    #[serde(default)]
    pub is_group_manager: Option<bool>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `GET /api/user`: `{data, total, limit, offset}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserList {
    /// The users on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<User>,
    /// The number of matching users across all pages.
    #[serde(default)]
    pub total: i64,
    /// The page size echoed back, `None` without paging.
    #[serde(default)]
    pub limit: Option<i64>,
    /// The offset echoed back, `None` without paging.
    #[serde(default)]
    pub offset: Option<i64>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
