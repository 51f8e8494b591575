//! UserService: people (API-key users are not listed, as in Metabase).

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::error::GatewayError;
use crate::metabase::{GroupId, UserCreate, UserId, UserStatus as UpstreamStatus, UserUpdate};
use crate::middleware::call::CallContext;
use crate::pb::v1::user_service_server::UserService;
use crate::pb::v1::{
    CreateUserRequest, DeactivateUserRequest, DeactivateUserResponse, GetCurrentUserRequest, GetUserRequest,
    ListUsersRequest, ListUsersResponse, ReactivateUserRequest, UpdateUserRequest, User, UserStatus,
};

/// The UserService handlers.
#[derive(Debug, Default)]
pub(crate) struct UserApi;

fn status(raw: i32) -> Result<UpstreamStatus, GatewayError> {
    let status = UserStatus::try_from(raw)
        .map_err(|_| GatewayError::invalid_argument("status", format!("unknown user status {raw}")))?;
    Ok(match status {
        UserStatus::Unspecified | UserStatus::Active => UpstreamStatus::Active,
        UserStatus::Deactivated => UpstreamStatus::Deactivated,
        UserStatus::All => UpstreamStatus::All,
    })
}

#[tonic::async_trait]
impl UserService for UserApi {
    async fn list_users(&self, request: Request<ListUsersRequest>) -> Result<Response<ListUsersResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let listed = call
            .client
            .users()
            .list(
                status(request.status)?,
                Some(request.query.as_str()),
                request.group_id.map(GroupId),
                page.size as u32,
                page.offset as u64,
            )
            .await
            .map_err(failed("users"))?;
        let total = usize::try_from(listed.total).unwrap_or_default();
        Ok(Response::new(ListUsersResponse {
            users: listed.data.into_iter().map(User::from).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().user_id;
        let user = call.client.users().get(UserId(id)).await.map_err(failed(format!("user {id}")))?;
        Ok(Response::new(User::from(user)))
    }

    async fn get_current_user(&self, request: Request<GetCurrentUserRequest>) -> Result<Response<User>, Status> {
        let call = CallContext::of(&request)?;
        let user = call.client.users().current().await.map_err(failed("the current user"))?;
        Ok(Response::new(User::from(user)))
    }

    async fn create_user(&self, request: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        let call = CallContext::of(&request)?;
        let body = UserCreate::try_from(request.into_inner())?;
        let user = call.client.users().create(&body).await.map_err(failed("new user"))?;
        Ok(Response::new(User::from(user)))
    }

    async fn update_user(&self, request: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.user_id;
        let body = UserUpdate::from(request);
        let user = call.client.users().update(UserId(id), &body).await.map_err(failed(format!("user {id}")))?;
        Ok(Response::new(User::from(user)))
    }

    async fn deactivate_user(
        &self,
        request: Request<DeactivateUserRequest>,
    ) -> Result<Response<DeactivateUserResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().user_id;
        call.client.users().deactivate(UserId(id)).await.map_err(failed(format!("user {id}")))?;
        Ok(Response::new(DeactivateUserResponse { success: true }))
    }

    async fn reactivate_user(&self, request: Request<ReactivateUserRequest>) -> Result<Response<User>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().user_id;
        let user = call.client.users().reactivate(UserId(id)).await.map_err(failed(format!("user {id}")))?;
        Ok(Response::new(User::from(user)))
    }
}
