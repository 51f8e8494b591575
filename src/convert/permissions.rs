//! Permission groups, members and the data-permissions graph.

use serde_json::Value;

use super::json::Fields;
use crate::pb::v1::{GroupMember, PermissionGroup, PermissionsGraph};

/// Converts Metabase's group JSON (with `members` when Metabase sent them).
pub fn group(value: Value) -> PermissionGroup {
    let mut fields = Fields::new(value);
    PermissionGroup {
        id: fields.int("id"),
        name: fields.string("name"),
        member_count: fields.opt_i32("member_count"),
        magic_group_type: fields.opt_string("magic_group_type"),
        members: fields.objects("members").into_iter().map(member).collect(),
        extra: fields.extra(),
    }
}

/// Converts one member of a group.
pub fn member(value: Value) -> GroupMember {
    let mut fields = Fields::new(value);
    GroupMember {
        membership_id: fields.int("membership_id"),
        user_id: fields.int("user_id"),
        group_id: fields.int("group_id"),
        email: fields.string("email"),
        first_name: fields.opt_string("first_name"),
        last_name: fields.opt_string("last_name"),
        common_name: fields.string("common_name"),
        is_superuser: fields.bool("is_superuser"),
        is_group_manager: fields.bool("is_group_manager"),
        extra: fields.extra(),
    }
}

/// Converts the permissions graph.
pub fn graph(value: Value) -> PermissionsGraph {
    let mut fields = Fields::new(value);
    PermissionsGraph { revision: fields.int("revision"), groups: fields.structure("groups"), extra: fields.extra() }
}
