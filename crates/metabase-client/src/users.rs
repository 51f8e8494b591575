//! Owns the user routes (`/api/user`, CONTRACT.md §11): list, get, current, create, update,
//! deactivate and reactivate.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::MetabaseError;
use super::ids::{GroupId, UserId};
use super::models::{User, UserList};
use super::transport::{RequestBody, Transport, param};

/// Says which users `GET /api/user` returns (its `status` parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserStatus {
    /// Active users only.
    #[default]
    Active,
    /// Deactivated users only.
    Deactivated,
    /// Everyone.
    All,
}

impl UserStatus {
    /// Returns the `status` value Metabase expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deactivated => "deactivated",
            Self::All => "all",
        }
    }
}

/// The answer of a user deactivation.
#[derive(Deserialize)]
struct Success {
    #[serde(default)]
    success: bool,
}

/// The user routes, from [`super::MetabaseClient::users`].
#[derive(Clone, Copy, Debug)]
pub struct Users<'a> {
    transport: &'a Transport,
}

impl<'a> Users<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Returns one page of users (`GET /api/user`), filtered by status, by a text `query` on
    /// names and email, and by group.
    pub async fn list(
        &self,
        status: UserStatus,
        query: Option<&str>,
        group_id: Option<GroupId>,
        limit: u32,
        offset: u64,
    ) -> Result<UserList, MetabaseError> {
        let mut params = vec![param("status", status.as_str())];
        if let Some(text) = query.map(str::trim).filter(|text| !text.is_empty()) {
            params.push(param("query", text));
        }
        if let Some(group_id) = group_id {
            params.push(param("group_id", group_id));
        }
        params.push(param("limit", limit));
        params.push(param("offset", offset));
        self.transport.get_json("/api/user", "/api/user", &params).await
    }

    /// Returns one user with their group memberships (`GET /api/user/:id`).
    pub async fn get(&self, id: UserId) -> Result<User, MetabaseError> {
        self.transport.get_json("/api/user/{id}", &format!("/api/user/{id}"), &[]).await
    }

    /// Returns the user the client's credential belongs to (`GET /api/user/current`).
    pub async fn current(&self) -> Result<User, MetabaseError> {
        self.transport.get_json("/api/user/current", "/api/user/current", &[]).await
    }

    /// Creates (invites) a user from `body` exactly as given (`POST /api/user`; `email` required).
    pub async fn create(&self, body: Map<String, Value>) -> Result<User, MetabaseError> {
        let body = RequestBody::Json(Value::Object(body));
        self.transport.post_json("/api/user", "/api/user", &[], body).await
    }

    /// Updates an active user with the partial `body` exactly as given (`PUT /api/user/:id`).
    pub async fn update(&self, id: UserId, body: Map<String, Value>) -> Result<User, MetabaseError> {
        let body = RequestBody::Json(Value::Object(body));
        self.transport.put_json("/api/user/{id}", &format!("/api/user/{id}"), &[], body).await
    }

    /// Deactivates a user (`DELETE /api/user/:id`, which answers 200 `{"success": true}`).
    pub async fn deactivate(&self, id: UserId) -> Result<(), MetabaseError> {
        let answer: Success = self.transport.delete_json("/api/user/{id}", &format!("/api/user/{id}")).await?;
        if answer.success {
            return Ok(());
        }
        Err(MetabaseError::Upstream {
            status: 200,
            route: "/api/user/{id}".to_owned(),
            message: format!("metabase did not confirm the deactivation of user {id}"),
            field_errors: Vec::new(),
            error_code: None,
        })
    }

    /// Reactivates a deactivated user (`PUT /api/user/:id/reactivate`); an active user gives an
    /// upstream 400.
    pub async fn reactivate(&self, id: UserId) -> Result<User, MetabaseError> {
        let path = format!("/api/user/{id}/reactivate");
        self.transport.put_json("/api/user/{id}/reactivate", &path, &[], RequestBody::None).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::UserStatus;
    use crate::test_support::api_key_client;
    use crate::{GroupId, MetabaseError, UserId};

    #[tokio::test]
    async fn list_sends_status_group_and_paging_but_not_a_blank_query() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/user"))
            .and(query_param("status", "deactivated"))
            .and(query_param("group_id", "4"))
            .and(query_param("limit", "10"))
            .and(query_param("offset", "0"))
            .and(query_param_is_missing("query"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"id": 8, "email": "old@example.com", "is_active": false}],
                "total": 1, "limit": 10, "offset": 0
            })))
            .expect(1)
            .mount(&server)
            .await;

        let users = api_key_client(&server)
            .users()
            .list(UserStatus::Deactivated, Some("  "), Some(GroupId(4)), 10, 0)
            .await
            .unwrap();

        assert_eq!(users.data[0].id, UserId(8));
        assert_eq!(users.data[0].is_active, Some(false));
    }

    #[tokio::test]
    async fn deactivate_accepts_200_success_true() {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/api/user/8"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
            .expect(1)
            .mount(&server)
            .await;

        api_key_client(&server).users().deactivate(UserId(8)).await.unwrap();
    }

    #[tokio::test]
    async fn reactivating_an_active_user_gives_the_exception_message() {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path("/api/user/8/reactivate"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "message": "Not able to reactivate an active user", "via": [], "trace": []
            })))
            .mount(&server)
            .await;

        let error = api_key_client(&server).users().reactivate(UserId(8)).await.unwrap_err();

        assert!(
            matches!(&error, MetabaseError::Upstream { status: 400, message, .. }
                if message == "Not able to reactivate an active user"),
            "{error:?}"
        );
    }
}
