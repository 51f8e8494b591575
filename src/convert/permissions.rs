//! Permission groups, members and the data-permissions graph, and the group, membership and
//! graph bodies.

use serde_json::Map;

use super::json::from_struct;
use super::model::{extra, object, proto_of};
use crate::error::GatewayError;
use crate::metabase;
use crate::pb::v1::{
    AddGroupMemberRequest, CreateGroupRequest, GroupMember, PermissionGroup, PermissionsGraph, UpdateGroupRequest,
    UpdatePermissionsGraphRequest,
};

impl From<metabase::PermissionGroup> for PermissionGroup {
    fn from(group: metabase::PermissionGroup) -> Self {
        PermissionGroup {
            id: group.id.get(),
            name: group.name.unwrap_or_default(),
            member_count: group.member_count.and_then(|count| i32::try_from(count).ok()),
            magic_group_type: group.magic_group_type,
            members: group.members.into_iter().map(GroupMember::from).collect(),
            extra: extra(group.extra, [("entity_id", proto_of(group.entity_id.as_ref()))]),
        }
    }
}

impl From<metabase::GroupMember> for GroupMember {
    fn from(member: metabase::GroupMember) -> Self {
        GroupMember {
            membership_id: member.membership_id.map_or(0, metabase::MembershipId::get),
            user_id: member.user_id.map_or(0, metabase::UserId::get),
            group_id: member.group_id.map_or(0, metabase::GroupId::get),
            email: member.email.unwrap_or_default(),
            first_name: member.first_name,
            last_name: member.last_name,
            common_name: member.common_name.unwrap_or_default(),
            is_superuser: member.is_superuser.unwrap_or_default(),
            is_group_manager: member.is_group_manager.unwrap_or_default(),
            extra: extra(member.extra, []),
        }
    }
}

impl From<metabase::PermissionsGraph> for PermissionsGraph {
    fn from(graph: metabase::PermissionsGraph) -> Self {
        PermissionsGraph { revision: graph.revision, groups: object(Some(graph.groups)), extra: extra(graph.extra, []) }
    }
}

fn group_body(name: String) -> Result<metabase::GroupBody, GatewayError> {
    if name.trim().is_empty() {
        return Err(GatewayError::invalid_argument("name", "name is required"));
    }
    Ok(metabase::GroupBody { name, extra: Map::new() })
}

/// Builds `POST /api/permissions/group`'s body; the name is required.
impl TryFrom<CreateGroupRequest> for metabase::GroupBody {
    type Error = GatewayError;

    fn try_from(request: CreateGroupRequest) -> Result<Self, GatewayError> {
        group_body(request.name)
    }
}

/// Builds `PUT /api/permissions/group/:id`'s body; the name is required.
impl TryFrom<UpdateGroupRequest> for metabase::GroupBody {
    type Error = GatewayError;

    fn try_from(request: UpdateGroupRequest) -> Result<Self, GatewayError> {
        group_body(request.name)
    }
}

/// Builds `POST /api/permissions/membership`'s body. `is_group_manager` is an Enterprise key, so
/// it is sent only when true and open-source Metabase never sees it.
impl From<AddGroupMemberRequest> for metabase::MembershipCreate {
    fn from(request: AddGroupMemberRequest) -> Self {
        metabase::MembershipCreate {
            group_id: metabase::GroupId(request.group_id),
            user_id: metabase::UserId(request.user_id),
            is_group_manager: request.is_group_manager.then_some(true),
            extra: Map::new(),
        }
    }
}

/// Builds `PUT /api/permissions/graph`'s body; the groups are required, `force` is sent only when
/// asked for.
impl TryFrom<UpdatePermissionsGraphRequest> for metabase::PermissionsGraphUpdate {
    type Error = GatewayError;

    fn try_from(request: UpdatePermissionsGraphRequest) -> Result<Self, GatewayError> {
        let groups = request.groups.ok_or_else(|| GatewayError::invalid_argument("groups", "groups is required"))?;
        Ok(metabase::PermissionsGraphUpdate {
            revision: request.revision,
            groups: from_struct(groups),
            force: request.force.then_some(true),
            extra: Map::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::convert::json::to_struct;

    fn structure(value: Value) -> Option<prost_types::Struct> {
        value.as_object().cloned().map(to_struct)
    }

    #[test]
    fn a_group_answer_converts_with_its_members_and_keeps_the_rest_in_extra() {
        let group: metabase::PermissionGroup = serde_json::from_value(json!({
            "id": 3, "name": "Finance", "entity_id": "abc", "member_count": 1, "newer_metabase_key": 1,
            "members": [{"membership_id": 11, "user_id": 5, "group_id": 3, "email": "ada@example.com",
                         "is_group_manager": true, "id": 5}]
        }))
        .unwrap();

        let group = PermissionGroup::from(group);

        assert_eq!((group.id, group.name.as_str(), group.member_count), (3, "Finance", Some(1)));
        let extra = group.extra.expect("extra");
        assert_eq!(extra.fields.keys().collect::<Vec<_>>(), vec!["entity_id", "newer_metabase_key"]);
        let member = &group.members[0];
        assert_eq!((member.membership_id, member.user_id, member.group_id), (11, 5, 3));
        assert_eq!(
            (member.email.as_str(), member.is_group_manager, member.is_superuser),
            ("ada@example.com", true, false)
        );
        assert_eq!(member.extra.as_ref().expect("member extra").fields.keys().collect::<Vec<_>>(), vec!["id"]);
    }

    #[test]
    fn the_graph_keeps_its_groups_and_other_keys() {
        let graph: metabase::PermissionsGraph = serde_json::from_value(json!({
            "revision": 7, "groups": {"1": {"2": {"view-data": "unrestricted"}}}, "sandboxes": []
        }))
        .unwrap();

        let graph = PermissionsGraph::from(graph);

        assert_eq!(graph.revision, 7);
        assert_eq!(graph.groups, structure(json!({"1": {"2": {"view-data": "unrestricted"}}})));
        assert_eq!(graph.extra.expect("extra").fields.keys().collect::<Vec<_>>(), vec!["sandboxes"]);
    }

    #[test]
    fn group_bodies_need_a_name() {
        let cases = [("", false), ("  ", false), ("Finance", true)];
        for (name, valid) in cases {
            let created = metabase::GroupBody::try_from(CreateGroupRequest { name: name.into() });
            let renamed = metabase::GroupBody::try_from(UpdateGroupRequest { group_id: 3, name: name.into() });
            for body in [created, renamed] {
                match body {
                    Ok(body) => assert!(valid && serde_json::to_value(&body).unwrap() == json!({"name": name})),
                    Err(error) => assert!(
                        !valid && matches!(&error, GatewayError::InvalidArgument { field, .. } if field == "name"),
                        "{name:?}: {error:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn membership_bodies_name_a_group_manager_only_when_true() {
        let cases = [
            (false, json!({"group_id": 3, "user_id": 5})),
            (true, json!({"group_id": 3, "user_id": 5, "is_group_manager": true})),
        ];
        for (is_group_manager, expected) in cases {
            let request = AddGroupMemberRequest { group_id: 3, user_id: 5, is_group_manager };
            assert_eq!(serde_json::to_value(metabase::MembershipCreate::from(request)).unwrap(), expected);
        }
    }

    #[test]
    fn graph_bodies_need_groups_and_send_force_only_when_asked() {
        let missing = UpdatePermissionsGraphRequest { revision: 3, groups: None, force: false };
        let error = metabase::PermissionsGraphUpdate::try_from(missing).expect_err("no groups");
        assert!(matches!(&error, GatewayError::InvalidArgument { field, .. } if field == "groups"), "{error:?}");

        let cases = [
            (false, json!({"revision": 3, "groups": {"1": {}}})),
            (true, json!({"revision": 3, "groups": {"1": {}}, "force": true})),
        ];
        for (force, expected) in cases {
            let request = UpdatePermissionsGraphRequest { revision: 3, groups: structure(json!({"1": {}})), force };
            let body = metabase::PermissionsGraphUpdate::try_from(request).expect("groups given");
            assert_eq!(serde_json::to_value(&body).unwrap(), expected);
        }
    }
}
