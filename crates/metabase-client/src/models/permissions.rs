//! Owns the permission models: groups, members and the data-permission graph (CONTRACT.md §12).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::null_as_default;
use crate::ids::{GroupId, MembershipId, UserId};

/// A permission group; `GET /api/permissions/group/:id` fills `members`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermissionGroup {
    /// The group's id.
    pub id: GroupId,
    /// The group's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The 21-character NanoID.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// `all-internal-users` or `admin` for the built-in groups, else `None`.
    #[serde(default)]
    pub magic_group_type: Option<String>,
    /// The number of active members (on list answers).
    #[serde(default)]
    pub member_count: Option<i64>,
    /// The active members (on single-group answers).
    #[serde(default, deserialize_with = "null_as_default")]
    pub members: Vec<GroupMember>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupMember {
    /// The membership's id, which `DELETE /api/permissions/membership/:id` takes.
    #[serde(default)]
    pub membership_id: Option<MembershipId>,
    /// The member's user id.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The group's id.
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// The member's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The member's first name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The member's last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// "first last", or the email.
    #[serde(default)]
    pub common_name: Option<String>,
    /// Whether the member is an administrator.
    #[serde(default)]
    pub is_superuser: Option<bool>,
    /// Whether the member manages the group (Enterprise).
    #[serde(default)]
    pub is_group_manager: Option<bool>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The data-permission graph, `{revision, groups}`; `groups` is kept as Metabase's JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermissionsGraph {
    /// The revision a later update must name.
    pub revision: i64,
    /// Group id → database id → permissions (ids are JSON object keys, so strings).
    #[serde(default)]
    pub groups: Value,
    /// Every other key, verbatim (e.g. `sandboxes`, `impersonations`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
