//! Owns the permission routes (`/api/permissions`, CONTRACT.md §12): groups, memberships and the
//! data-permission graph.

use serde_json::{Map, Value, json};

use super::error::MetabaseError;
use super::ids::{GroupId, MembershipId, UserId};
use super::models::{GroupMember, PermissionGroup, PermissionsGraph};
use super::transport::{RequestBody, Transport, param};

/// The permission routes, from [`super::MetabaseClient::permissions`].
#[derive(Clone, Copy, Debug)]
pub struct Permissions<'a> {
    transport: &'a Transport,
}

impl<'a> Permissions<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Lists the permission groups with their member counts (`GET /api/permissions/group`).
    pub async fn list_groups(&self) -> Result<Vec<PermissionGroup>, MetabaseError> {
        self.transport.get_json("/api/permissions/group", "/api/permissions/group", &[]).await
    }

    /// Returns one group with its active members (`GET /api/permissions/group/:id`).
    pub async fn get_group(&self, id: GroupId) -> Result<PermissionGroup, MetabaseError> {
        let path = format!("/api/permissions/group/{id}");
        self.transport.get_json("/api/permissions/group/{id}", &path, &[]).await
    }

    /// Creates a group (`POST /api/permissions/group`); a duplicate name is an upstream 400.
    pub async fn create_group(&self, name: &str) -> Result<PermissionGroup, MetabaseError> {
        let body = RequestBody::Json(json!({"name": name}));
        self.transport.post_json("/api/permissions/group", "/api/permissions/group", &[], body).await
    }

    /// Renames a group (`PUT /api/permissions/group/:id`).
    pub async fn update_group(&self, id: GroupId, name: &str) -> Result<PermissionGroup, MetabaseError> {
        let path = format!("/api/permissions/group/{id}");
        let body = RequestBody::Json(json!({"name": name}));
        self.transport.put_json("/api/permissions/group/{id}", &path, &[], body).await
    }

    /// Deletes a group (`DELETE /api/permissions/group/:id`, 204).
    pub async fn delete_group(&self, id: GroupId) -> Result<(), MetabaseError> {
        self.transport.delete("/api/permissions/group/{id}", &format!("/api/permissions/group/{id}")).await
    }

    /// Adds a user to a group (`POST /api/permissions/membership`) and returns the group's
    /// members as Metabase lists them afterwards. `is_group_manager` (Enterprise) is sent only
    /// when true, so open-source Metabase never sees it.
    pub async fn add_member(
        &self,
        group_id: GroupId,
        user_id: UserId,
        is_group_manager: bool,
    ) -> Result<Vec<GroupMember>, MetabaseError> {
        let mut body = Map::new();
        body.insert("group_id".to_owned(), json!(group_id));
        body.insert("user_id".to_owned(), json!(user_id));
        if is_group_manager {
            body.insert("is_group_manager".to_owned(), Value::Bool(true));
        }
        let body = RequestBody::Json(Value::Object(body));
        self.transport.post_json("/api/permissions/membership", "/api/permissions/membership", &[], body).await
    }

    /// Removes a membership (`DELETE /api/permissions/membership/:id`, 204); it takes the
    /// membership's id, not the user's.
    pub async fn remove_member(&self, membership_id: MembershipId) -> Result<(), MetabaseError> {
        let path = format!("/api/permissions/membership/{membership_id}");
        self.transport.delete("/api/permissions/membership/{id}", &path).await
    }

    /// Returns the data-permission graph (`GET /api/permissions/graph`).
    pub async fn graph(&self) -> Result<PermissionsGraph, MetabaseError> {
        self.transport.get_json("/api/permissions/graph", "/api/permissions/graph", &[]).await
    }

    /// Applies a (partial) graph for `groups` at `revision` (`PUT /api/permissions/graph`) and
    /// returns the new revision with the named groups. A stale revision is an upstream 409 unless
    /// `force` is set.
    pub async fn update_graph(
        &self,
        revision: i64,
        groups: Value,
        force: bool,
    ) -> Result<PermissionsGraph, MetabaseError> {
        let mut body = Map::new();
        body.insert("revision".to_owned(), json!(revision));
        body.insert("groups".to_owned(), groups);
        let mut query = Vec::new();
        if force {
            body.insert("force".to_owned(), Value::Bool(true));
            query.push(param("force", true));
        }
        let body = RequestBody::Json(Value::Object(body));
        self.transport.put_json("/api/permissions/graph", "/api/permissions/graph", &query, body).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::test_support::api_key_client;
    use crate::{GroupId, MembershipId, MetabaseError, UserId};

    #[tokio::test]
    async fn stale_graph_revision_is_upstream_409_with_metabase_text() {
        let server = MockServer::start().await;
        let text = "Looks like someone else edited the permissions and your data is out of date. \
                    Please fetch new data and try again.";
        Mock::given(method("PUT"))
            .and(path("/api/permissions/graph"))
            .and(body_json(json!({"revision": 3, "groups": {"1": {}}})))
            .respond_with(ResponseTemplate::new(409).set_body_raw(text, "text/plain"))
            .expect(1)
            .mount(&server)
            .await;

        let error = api_key_client(&server).permissions().update_graph(3, json!({"1": {}}), false).await.unwrap_err();

        assert_eq!(error.status(), Some(409));
        assert!(matches!(&error, MetabaseError::Upstream { message, .. } if message == text), "{error:?}");
    }

    #[tokio::test]
    async fn add_member_returns_the_group_member_list() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/permissions/membership"))
            .and(body_json(json!({"group_id": 3, "user_id": 5})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"membership_id": 11, "user_id": 5, "group_id": 3, "email": "ada@example.com", "id": 5}
            ])))
            .expect(1)
            .mount(&server)
            .await;

        let members = api_key_client(&server).permissions().add_member(GroupId(3), UserId(5), false).await.unwrap();

        assert_eq!(members[0].membership_id, Some(MembershipId(11)));
        assert_eq!(members[0].user_id, Some(UserId(5)));
    }

    #[tokio::test]
    async fn remove_member_accepts_204() {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path("/api/permissions/membership/11"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;

        api_key_client(&server).permissions().remove_member(MembershipId(11)).await.unwrap();
    }
}
