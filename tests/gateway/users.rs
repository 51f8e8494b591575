//! UserService through the gateway.

use metabase_grpc::pb::v1::{
    CreateUserRequest, DeactivateUserRequest, GetCurrentUserRequest, GetUserRequest, GroupMembership, ListUsersRequest,
    ReactivateUserRequest, UpdateUserRequest, UserStatus,
};

use crate::support::start;

#[tokio::test]
async fn users_are_created_updated_deactivated_and_reactivated() {
    let stack = start().await;
    let mut users = stack.users();
    let active = users.list_users(ListUsersRequest::default()).await.unwrap().into_inner();
    assert_eq!(active.total_size, 3, "API-key users are not listed; the deactivated one is not active");
    let everyone = users
        .list_users(ListUsersRequest { status: UserStatus::All as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(everyone.total_size, 4);
    let analysts =
        users.list_users(ListUsersRequest { group_id: Some(3), ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(analysts.users.iter().map(|user| user.email.as_str()).collect::<Vec<_>>(), vec!["analyst@example.com"]);

    let current = users.get_current_user(GetCurrentUserRequest {}).await.unwrap().into_inner();
    assert!(current.is_superuser, "the admin key's user");

    let created = users
        .create_user(CreateUserRequest {
            email: "new.hire@example.com".into(),
            first_name: Some("New".into()),
            last_name: Some("Hire".into()),
            user_group_memberships: vec![GroupMembership { id: 4, is_group_manager: false }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.common_name, "New Hire");
    assert!(created.user_group_memberships.iter().any(|membership| membership.id == 4));

    let renamed = users
        .update_user(UpdateUserRequest { user_id: created.id, first_name: Some("Newer".into()), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.first_name.as_deref(), Some("Newer"));
    let fetched = users.get_user(GetUserRequest { user_id: created.id }).await.unwrap().into_inner();
    assert_eq!(fetched.common_name, "Newer Hire");

    assert!(users.deactivate_user(DeactivateUserRequest { user_id: created.id }).await.unwrap().into_inner().success);
    let inactive = users
        .list_users(ListUsersRequest { status: UserStatus::Deactivated as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(inactive.users.iter().any(|user| user.id == created.id));
    let back = users.reactivate_user(ReactivateUserRequest { user_id: created.id }).await.unwrap().into_inner();
    assert_eq!(back.is_active, Some(true));
    let twice = users.reactivate_user(ReactivateUserRequest { user_id: created.id }).await.unwrap_err();
    assert_eq!(twice.code(), tonic::Code::InvalidArgument);
    assert!(twice.message().contains("Not able to reactivate an active user"), "{}", twice.message());
}
