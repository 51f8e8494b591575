//! Users and their group memberships, and the create and update bodies.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::json::to_timestamp;
use super::model::{extra, proto_of};
use crate::error::GatewayError;
use crate::metabase;
use crate::pb::v1::{CreateUserRequest, GroupMembership, UpdateUserRequest, User};

impl From<metabase::User> for User {
    fn from(user: metabase::User) -> Self {
        let extra = extra(
            user.extra,
            [
                ("sso_source", proto_of(user.sso_source.as_ref())),
                ("login_attributes", proto_of(user.login_attributes.as_ref())),
            ],
        );
        User {
            id: user.id.get(),
            email: user.email.unwrap_or_default(),
            first_name: user.first_name,
            last_name: user.last_name,
            common_name: user.common_name.unwrap_or_default(),
            is_active: user.is_active,
            is_superuser: user.is_superuser.unwrap_or_default(),
            date_joined: user.date_joined.as_deref().and_then(to_timestamp),
            last_login: user.last_login.as_deref().and_then(to_timestamp),
            updated_at: user.updated_at.as_deref().and_then(to_timestamp),
            group_ids: user.group_ids.into_iter().map(metabase::GroupId::get).collect(),
            personal_collection_id: user.personal_collection_id.map(metabase::CollectionId::get),
            locale: user.locale,
            user_group_memberships: user.user_group_memberships.into_iter().map(GroupMembership::from).collect(),
            extra,
        }
    }
}

impl From<metabase::UserGroupMembership> for GroupMembership {
    fn from(membership: metabase::UserGroupMembership) -> Self {
        GroupMembership { id: membership.id.get(), is_group_manager: membership.is_group_manager.unwrap_or_default() }
    }
}

impl From<GroupMembership> for metabase::UserGroupMembership {
    fn from(membership: GroupMembership) -> Self {
        metabase::UserGroupMembership {
            id: metabase::GroupId(membership.id),
            is_group_manager: Some(membership.is_group_manager),
            extra: Map::new(),
        }
    }
}

fn memberships(memberships: Vec<GroupMembership>) -> Vec<metabase::UserGroupMembership> {
    memberships.into_iter().map(metabase::UserGroupMembership::from).collect()
}

/// Returns login attributes as a JSON object, in key order so the body is the same every time.
fn attributes(attributes: HashMap<String, String>) -> Map<String, Value> {
    attributes.into_iter().collect::<BTreeMap<_, _>>().into_iter().map(|(key, value)| (key, value.into())).collect()
}

/// Builds `POST /api/user`'s body; memberships and attributes are sent only when given.
impl TryFrom<CreateUserRequest> for metabase::UserCreate {
    type Error = GatewayError;

    fn try_from(request: CreateUserRequest) -> Result<Self, GatewayError> {
        if !request.email.contains('@') {
            return Err(GatewayError::invalid_argument("email", "email must be an email address"));
        }
        Ok(metabase::UserCreate {
            email: request.email,
            first_name: request.first_name,
            last_name: request.last_name,
            user_group_memberships: (!request.user_group_memberships.is_empty())
                .then(|| memberships(request.user_group_memberships)),
            login_attributes: (!request.login_attributes.is_empty()).then(|| attributes(request.login_attributes)),
            extra: Map::new(),
        })
    }
}

/// Builds `PUT /api/user/:id`'s body from the fields the caller set: an empty locale is the site
/// default (`null`), and memberships or attributes replace the current ones when given or when
/// the caller asks to replace them with none.
impl From<UpdateUserRequest> for metabase::UserUpdate {
    fn from(request: UpdateUserRequest) -> Self {
        let replaces_memberships = request.replace_group_memberships || !request.user_group_memberships.is_empty();
        let replaces_attributes = request.replace_login_attributes || !request.login_attributes.is_empty();
        metabase::UserUpdate {
            email: request.email,
            first_name: request.first_name,
            last_name: request.last_name,
            is_superuser: request.is_superuser,
            locale: request.locale.map(|locale| (!locale.is_empty()).then_some(locale)),
            user_group_memberships: replaces_memberships.then(|| memberships(request.user_group_memberships)),
            login_attributes: replaces_attributes.then(|| attributes(request.login_attributes)),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_user_answer_fills_typed_fields_and_keeps_the_rest_in_extra() {
        let user: metabase::User = serde_json::from_value(json!({
            "id": 8, "email": "ada@example.com", "first_name": "Ada", "common_name": "Ada L", "is_superuser": true,
            "group_ids": [1, 4], "personal_collection_id": 12, "sso_source": "google",
            "user_group_memberships": [{"id": 4, "is_group_manager": true}, {"id": 1}],
            "last_login": "2024-01-02T03:04:05Z", "newer_metabase_key": true
        }))
        .unwrap();

        let user = User::from(user);

        assert_eq!((user.id, user.email.as_str(), user.common_name.as_str()), (8, "ada@example.com", "Ada L"));
        assert_eq!((user.first_name.as_deref(), user.last_name.as_deref()), (Some("Ada"), None));
        assert!(user.is_superuser);
        assert_eq!(user.is_active, None, "absent stays unknown");
        assert_eq!(user.group_ids, vec![1, 4]);
        assert_eq!(user.personal_collection_id, Some(12));
        assert_eq!(
            user.user_group_memberships,
            vec![GroupMembership { id: 4, is_group_manager: true }, GroupMembership { id: 1, is_group_manager: false }]
        );
        assert_eq!(user.last_login.map(|at| at.seconds), Some(1_704_164_645));
        let extra = user.extra.expect("extra");
        assert_eq!(extra.fields.keys().collect::<Vec<_>>(), vec!["newer_metabase_key", "sso_source"]);
    }

    #[test]
    fn create_requests_need_an_email_address() {
        let error = metabase::UserCreate::try_from(CreateUserRequest { email: "ada".into(), ..Default::default() })
            .expect_err("not an address");
        assert!(matches!(&error, GatewayError::InvalidArgument { field, .. } if field == "email"), "{error:?}");
    }

    #[test]
    fn create_requests_send_memberships_and_attributes_only_when_given() {
        let cases = [
            (
                CreateUserRequest { email: "ada@example.com".into(), ..Default::default() },
                json!({"email": "ada@example.com"}),
            ),
            (
                CreateUserRequest {
                    email: "ada@example.com".into(),
                    first_name: Some("Ada".into()),
                    user_group_memberships: vec![GroupMembership { id: 4, is_group_manager: false }],
                    login_attributes: HashMap::from([("region".into(), "emea".into()), ("tier".into(), "gold".into())]),
                    ..Default::default()
                },
                json!({"email": "ada@example.com", "first_name": "Ada",
                       "user_group_memberships": [{"id": 4, "is_group_manager": false}],
                       "login_attributes": {"region": "emea", "tier": "gold"}}),
            ),
        ];
        for (request, expected) in cases {
            let body = metabase::UserCreate::try_from(request).expect("a valid request");
            assert_eq!(serde_json::to_value(&body).unwrap(), expected);
        }
    }

    #[test]
    fn update_requests_send_what_the_caller_set_and_replace_sets_only_when_asked() {
        let request = |update: UpdateUserRequest| UpdateUserRequest { user_id: 8, ..update };
        let cases = [
            (request(UpdateUserRequest::default()), json!({})),
            (request(UpdateUserRequest { locale: Some(String::new()), ..Default::default() }), json!({"locale": null})),
            (request(UpdateUserRequest { locale: Some("de".into()), ..Default::default() }), json!({"locale": "de"})),
            (
                request(UpdateUserRequest {
                    replace_group_memberships: true,
                    is_superuser: Some(false),
                    ..Default::default()
                }),
                json!({"is_superuser": false, "user_group_memberships": []}),
            ),
            (
                request(UpdateUserRequest { replace_login_attributes: true, ..Default::default() }),
                json!({"login_attributes": {}}),
            ),
            (
                request(UpdateUserRequest {
                    user_group_memberships: vec![GroupMembership { id: 2, is_group_manager: true }],
                    ..Default::default()
                }),
                json!({"user_group_memberships": [{"id": 2, "is_group_manager": true}]}),
            ),
        ];
        for (request, expected) in cases {
            let body = metabase::UserUpdate::from(request);
            assert_eq!(serde_json::to_value(&body).unwrap(), expected);
        }
    }
}
