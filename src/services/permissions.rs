//! PermissionsService: groups, memberships and the data-permissions graph.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::json::from_struct;
use crate::convert::paging::Page;
use crate::convert::{permissions, to_json};
use crate::error::GatewayError;
use crate::metabase::{GroupId, MembershipId, UserId};
use crate::middleware::call::CallContext;
use crate::pb::v1::permissions_service_server::PermissionsService;
use crate::pb::v1::{
    AddGroupMemberRequest, AddGroupMemberResponse, CreateGroupRequest, DeleteGroupRequest, DeleteGroupResponse,
    GetGroupRequest, GetPermissionsGraphRequest, ListGroupsRequest, ListGroupsResponse, PermissionGroup,
    PermissionsGraph, RemoveGroupMemberRequest, RemoveGroupMemberResponse, UpdateGroupRequest,
    UpdatePermissionsGraphRequest,
};

/// The PermissionsService handlers.
#[derive(Debug, Default)]
pub struct PermissionsApi;

fn group_name(name: &str) -> Result<&str, GatewayError> {
    if name.trim().is_empty() { Err(GatewayError::invalid_argument("name", "name is required")) } else { Ok(name) }
}

#[tonic::async_trait]
impl PermissionsService for PermissionsApi {
    async fn list_groups(&self, request: Request<ListGroupsRequest>) -> Result<Response<ListGroupsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let listed = call.client.permissions().list_groups().await.map_err(failed("permission groups"))?;
        let (listed, total) = page.slice(listed);
        Ok(Response::new(ListGroupsResponse {
            groups: listed.iter().map(|group| permissions::group(to_json(group))).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_group(&self, request: Request<GetGroupRequest>) -> Result<Response<PermissionGroup>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().group_id;
        let group = call.client.permissions().get_group(GroupId(id)).await.map_err(failed(format!("group {id}")))?;
        Ok(Response::new(permissions::group(to_json(&group))))
    }

    async fn create_group(&self, request: Request<CreateGroupRequest>) -> Result<Response<PermissionGroup>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let name = group_name(&request.name)?;
        let group = call.client.permissions().create_group(name).await.map_err(failed(format!("new group {name}")))?;
        Ok(Response::new(permissions::group(to_json(&group))))
    }

    async fn update_group(&self, request: Request<UpdateGroupRequest>) -> Result<Response<PermissionGroup>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let name = group_name(&request.name)?;
        let id = request.group_id;
        let group =
            call.client.permissions().update_group(GroupId(id), name).await.map_err(failed(format!("group {id}")))?;
        Ok(Response::new(permissions::group(to_json(&group))))
    }

    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().group_id;
        call.client.permissions().delete_group(GroupId(id)).await.map_err(failed(format!("group {id}")))?;
        Ok(Response::new(DeleteGroupResponse {}))
    }

    async fn add_group_member(
        &self,
        request: Request<AddGroupMemberRequest>,
    ) -> Result<Response<AddGroupMemberResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let members = call
            .client
            .permissions()
            .add_member(GroupId(request.group_id), UserId(request.user_id), request.is_group_manager)
            .await
            .map_err(failed(format!("membership of user {} in group {}", request.user_id, request.group_id)))?;
        Ok(Response::new(AddGroupMemberResponse {
            members: members.iter().map(|member| permissions::member(to_json(member))).collect(),
        }))
    }

    async fn remove_group_member(
        &self,
        request: Request<RemoveGroupMemberRequest>,
    ) -> Result<Response<RemoveGroupMemberResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().membership_id;
        call.client.permissions().remove_member(MembershipId(id)).await.map_err(failed(format!("membership {id}")))?;
        Ok(Response::new(RemoveGroupMemberResponse {}))
    }

    async fn get_permissions_graph(
        &self,
        request: Request<GetPermissionsGraphRequest>,
    ) -> Result<Response<PermissionsGraph>, Status> {
        let call = CallContext::of(&request)?;
        let graph = call.client.permissions().graph().await.map_err(failed("the permissions graph"))?;
        Ok(Response::new(permissions::graph(to_json(&graph))))
    }

    async fn update_permissions_graph(
        &self,
        request: Request<UpdatePermissionsGraphRequest>,
    ) -> Result<Response<PermissionsGraph>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let groups = request.groups.ok_or_else(|| GatewayError::invalid_argument("groups", "groups is required"))?;
        let graph = call
            .client
            .permissions()
            .update_graph(request.revision, serde_json::Value::Object(from_struct(groups)), request.force)
            .await
            .map_err(failed(format!("the permissions graph at revision {}", request.revision)))?;
        Ok(Response::new(permissions::graph(to_json(&graph))))
    }
}
