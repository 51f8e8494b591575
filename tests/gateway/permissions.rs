//! PermissionsService through the gateway.

use metabase_grpc::pb::v1::{
    AddGroupMemberRequest, CreateGroupRequest, DeleteGroupRequest, GetGroupRequest, GetPermissionsGraphRequest,
    ListGroupsRequest, RemoveGroupMemberRequest, UpdateGroupRequest, UpdatePermissionsGraphRequest,
};
use serde_json::json;

use crate::support::{error_info, start, structure};

#[tokio::test]
async fn groups_and_memberships_change_and_show_on_a_second_read() {
    let stack = start().await;
    let mut permissions = stack.permissions();
    let groups = permissions.list_groups(ListGroupsRequest::default()).await.unwrap().into_inner();
    let names: Vec<&str> = groups.groups.iter().map(|group| group.name.as_str()).collect();
    assert_eq!(names, vec!["Administrators", "All Users", "Analysts", "Marketing"]);
    assert_eq!(
        groups.groups[1].member_count,
        Some(3),
        "active people only: the deactivated user and API-key users do not count"
    );

    let created =
        permissions.create_group(CreateGroupRequest { name: "Finance readers".into() }).await.unwrap().into_inner();
    let renamed = permissions
        .update_group(UpdateGroupRequest { group_id: created.id, name: "Finance".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.name, "Finance");

    let members = permissions
        .add_group_member(AddGroupMemberRequest { group_id: created.id, user_id: 3, is_group_manager: false })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        members.members.iter().map(|member| member.email.as_str()).collect::<Vec<_>>(),
        vec!["rita@example.com"]
    );
    let group = permissions.get_group(GetGroupRequest { group_id: created.id }).await.unwrap().into_inner();
    assert_eq!(group.members.len(), 1, "the membership shows on a second read");
    permissions
        .remove_group_member(RemoveGroupMemberRequest { membership_id: group.members[0].membership_id })
        .await
        .unwrap();
    let group = permissions.get_group(GetGroupRequest { group_id: created.id }).await.unwrap().into_inner();
    assert!(group.members.is_empty());

    permissions.delete_group(DeleteGroupRequest { group_id: created.id }).await.unwrap();
    let gone = permissions.get_group(GetGroupRequest { group_id: created.id }).await.unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);

    let magic =
        permissions.update_group(UpdateGroupRequest { group_id: 1, name: "Everyone".into() }).await.unwrap_err();
    assert_eq!(magic.code(), tonic::Code::InvalidArgument);
    assert!(
        magic.message().contains("You cannot edit or delete the 'All Users' permissions group!"),
        "{}",
        magic.message()
    );
}

#[tokio::test]
async fn the_permissions_graph_updates_at_its_revision_and_a_stale_revision_aborts() {
    let stack = start().await;
    let mut permissions = stack.permissions();
    let graph = permissions.get_permissions_graph(GetPermissionsGraphRequest {}).await.unwrap().into_inner();
    let change =
        structure(json!({"4": {"1": {"view-data": "unrestricted", "create-queries": "query-builder-and-native"}}}));
    let updated = permissions
        .update_permissions_graph(UpdatePermissionsGraphRequest {
            revision: graph.revision,
            groups: change.clone(),
            force: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.revision, graph.revision + 1);
    let stale = permissions
        .update_permissions_graph(UpdatePermissionsGraphRequest {
            revision: graph.revision,
            groups: change,
            force: false,
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), tonic::Code::Aborted);
    let (reason, metadata) = error_info(&stale);
    assert_eq!((reason.as_str(), metadata["http_status"].as_str()), ("METABASE_CONFLICT", "409"));
}
