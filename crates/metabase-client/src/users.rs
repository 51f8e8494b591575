//! Owns the user routes (`/api/user`, CONTRACT.md §11): list, get, current, create, update,
//! deactivate and reactivate, and the typed create and update bodies.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::MetabaseError;
use super::ids::{GroupId, UserId};
use super::models::{User, UserGroupMembership, UserList};
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

/// The body of `POST /api/user`: `email` is required, the rest is sent only when set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UserCreate {
    /// The new user's email address.
    pub email: String,
    /// The first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The groups the user joins (the All Users group is implied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_group_memberships: Option<Vec<UserGroupMembership>>,
    /// Attributes used for sandboxing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_attributes: Option<Map<String, Value>>,
    /// Keys this type does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `PUT /api/user/:id`: only the keys that are set are sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UserUpdate {
    /// The new email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The new first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The new last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Whether the user becomes (or stops being) an administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_superuser: Option<bool>,
    /// The new locale; `Some(None)` sends `null`, which means the site default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<Option<String>>,
    /// The complete set of the user's groups, replacing the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_group_memberships: Option<Vec<UserGroupMembership>>,
    /// The complete set of sandboxing attributes, replacing the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_attributes: Option<Map<String, Value>>,
    /// Keys this type does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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

    /// Creates (invites) a user (`POST /api/user`).
    pub async fn create(&self, body: &UserCreate) -> Result<User, MetabaseError> {
        self.transport.post_json("/api/user", "/api/user", &[], RequestBody::typed(body)).await
    }

    /// Updates an active user with the keys `body` sets (`PUT /api/user/:id`).
    pub async fn update(&self, id: UserId, body: &UserUpdate) -> Result<User, MetabaseError> {
        self.transport.put_json("/api/user/{id}", &format!("/api/user/{id}"), &[], RequestBody::typed(body)).await
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
    use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::{UserStatus, UserUpdate};
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
    async fn update_sends_a_null_locale_and_nothing_unset() {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path("/api/user/8"))
            .and(body_json(json!({"first_name": "Ada", "locale": null})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 8, "first_name": "Ada"})))
            .expect(1)
            .mount(&server)
            .await;
        let body = UserUpdate { first_name: Some("Ada".into()), locale: Some(None), ..Default::default() };

        let updated = api_key_client(&server).users().update(UserId(8), &body).await.unwrap();

        assert_eq!(updated.first_name.as_deref(), Some("Ada"));
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
