//! PermissionsService: groups, memberships and the data-permissions graph.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::metabase::{GroupBody, GroupId, MembershipCreate, MembershipId, PermissionsGraphUpdate};
use crate::middleware::call::CallContext;
use crate::pb::v1::permissions_service_server::PermissionsService;
use crate::pb::v1::{
    AddGroupMemberRequest, AddGroupMemberResponse, CreateGroupRequest, DeleteGroupRequest, DeleteGroupResponse,
    GetGroupRequest, GetPermissionsGraphRequest, GroupMember, ListGroupsRequest, ListGroupsResponse, PermissionGroup,
    PermissionsGraph, RemoveGroupMemberRequest, RemoveGroupMemberResponse, UpdateGroupRequest,
    UpdatePermissionsGraphRequest,
};

/// The PermissionsService handlers.
#[derive(Debug, Default)]
pub(crate) struct PermissionsApi;

#[tonic::async_trait]
impl PermissionsService for PermissionsApi {
    async fn list_groups(&self, request: Request<ListGroupsRequest>) -> Result<Response<ListGroupsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let listed = call.client.permissions().list_groups().await.map_err(failed("permission groups"))?;
        let (listed, total) = page.slice(listed);
        Ok(Response::new(ListGroupsResponse {
            groups: listed.into_iter().map(PermissionGroup::from).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_group(&self, request: Request<GetGroupRequest>) -> Result<Response<PermissionGroup>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().group_id;
        let group = call.client.permissions().get_group(GroupId(id)).await.map_err(failed(format!("group {id}")))?;
        Ok(Response::new(PermissionGroup::from(group)))
    }

    async fn create_group(&self, request: Request<CreateGroupRequest>) -> Result<Response<PermissionGroup>, Status> {
        let call = CallContext::of(&request)?;
        let body = GroupBody::try_from(request.into_inner())?;
        let group =
            call.client.permissions().create_group(&body).await.map_err(failed(format!("new group {}", body.name)))?;
        Ok(Response::new(PermissionGroup::from(group)))
    }

    async fn update_group(&self, request: Request<UpdateGroupRequest>) -> Result<Response<PermissionGroup>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.group_id;
        let body = GroupBody::try_from(request)?;
        let group =
            call.client.permissions().update_group(GroupId(id), &body).await.map_err(failed(format!("group {id}")))?;
        Ok(Response::new(PermissionGroup::from(group)))
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
        let body = MembershipCreate::from(request.into_inner());
        let members = call
            .client
            .permissions()
            .add_member(&body)
            .await
            .map_err(failed(format!("membership of user {} in group {}", body.user_id, body.group_id)))?;
        Ok(Response::new(AddGroupMemberResponse { members: members.into_iter().map(GroupMember::from).collect() }))
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
        Ok(Response::new(PermissionsGraph::from(graph)))
    }

    async fn update_permissions_graph(
        &self,
        request: Request<UpdatePermissionsGraphRequest>,
    ) -> Result<Response<PermissionsGraph>, Status> {
        let call = CallContext::of(&request)?;
        let body = PermissionsGraphUpdate::try_from(request.into_inner())?;
        let graph = call
            .client
            .permissions()
            .update_graph(&body)
            .await
            .map_err(failed(format!("the permissions graph at revision {}", body.revision)))?;
        Ok(Response::new(PermissionsGraph::from(graph)))
    }
}
