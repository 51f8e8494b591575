//! Owns the permission routes (`/api/permissions`, CONTRACT.md §12): groups, memberships and the
//! data-permission graph.

use serde::Serialize;
use serde_json::{Map, Value};

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
    pub async fn create_group(&self, body: &GroupBody) -> Result<PermissionGroup, MetabaseError> {
        let body = RequestBody::typed(body);
        self.transport.post_json("/api/permissions/group", "/api/permissions/group", &[], body).await
    }

    /// Renames a group (`PUT /api/permissions/group/:id`).
    pub async fn update_group(&self, id: GroupId, body: &GroupBody) -> Result<PermissionGroup, MetabaseError> {
        let path = format!("/api/permissions/group/{id}");
        self.transport.put_json("/api/permissions/group/{id}", &path, &[], RequestBody::typed(body)).await
    }

    /// Deletes a group (`DELETE /api/permissions/group/:id`, 204).
    pub async fn delete_group(&self, id: GroupId) -> Result<(), MetabaseError> {
        self.transport.delete("/api/permissions/group/{id}", &format!("/api/permissions/group/{id}")).await
    }

    /// Adds a user to a group (`POST /api/permissions/membership`) and returns the group's
    /// members as Metabase lists them afterwards.
    pub async fn add_member(&self, body: &MembershipCreate) -> Result<Vec<GroupMember>, MetabaseError> {
        let body = RequestBody::typed(body);
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

    /// Applies a (partial) graph (`PUT /api/permissions/graph`) and returns the new revision with
    /// the named groups. A stale revision is an upstream 409 unless `force` is set, which is then
    /// sent both in the body and as the `force` query parameter (releases read one or the other).
    pub async fn update_graph(&self, body: &PermissionsGraphUpdate) -> Result<PermissionsGraph, MetabaseError> {
        let query = if body.force == Some(true) { vec![param("force", true)] } else { Vec::new() };
        let body = RequestBody::typed(body);
        self.transport.put_json("/api/permissions/graph", "/api/permissions/graph", &query, body).await
    }
}

/// The body of `POST /api/permissions/group` and `PUT /api/permissions/group/:id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GroupBody {
    /// The group's name.
    pub name: String,
    /// Keys this type does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST /api/permissions/membership`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MembershipCreate {
    /// The group the user joins.
    pub group_id: GroupId,
    /// The user who joins.
    pub user_id: UserId,
    /// Whether the user manages the group: an Enterprise key, so leave it unset for open-source
    /// Metabase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_group_manager: Option<bool>,
    /// Keys this type does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `PUT /api/permissions/graph`: the revision it applies to and the groups it changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PermissionsGraphUpdate {
    /// The revision the change was made against.
    pub revision: i64,
    /// Group id → database id → permissions, for the groups that change.
    pub groups: Map<String, Value>,
    /// Whether to apply the change even when the revision is stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Keys this type does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::{MembershipCreate, PermissionsGraphUpdate};
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

        let groups = json!({"1": {}}).as_object().cloned().unwrap();
        let body = PermissionsGraphUpdate { revision: 3, groups, ..Default::default() };
        let error = api_key_client(&server).permissions().update_graph(&body).await.unwrap_err();

        assert_eq!(error.status(), Some(409));
        assert!(matches!(&error, MetabaseError::Upstream { message, .. } if message == text), "{error:?}");
    }

    #[tokio::test]
    async fn forced_graph_update_sends_force_in_the_body_and_the_query() {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path("/api/permissions/graph"))
            .and(query_param("force", "true"))
            .and(body_json(json!({"revision": 3, "groups": {}, "force": true})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"revision": 4, "groups": {}})))
            .expect(1)
            .mount(&server)
            .await;
        let body = PermissionsGraphUpdate { revision: 3, force: Some(true), ..Default::default() };

        let graph = api_key_client(&server).permissions().update_graph(&body).await.unwrap();

        assert_eq!(graph.revision, 4);
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

        let body = MembershipCreate {
            group_id: GroupId(3),
            user_id: UserId(5),
            is_group_manager: None,
            extra: Default::default(),
        };
        let members = api_key_client(&server).permissions().add_member(&body).await.unwrap();

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
