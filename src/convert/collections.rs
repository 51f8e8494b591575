//! Collections: the client's collection, tree node and item models to their messages, and the
//! create and update requests to the client's `CollectionCreate` and `CollectionUpdate` bodies.

use serde_json::Map;

use super::model::{extra, key_id, proto_of, small, timestamp};
use super::{collection_ref, collection_target};
use crate::error::GatewayError;
use crate::metabase::{
    Collection as UpstreamCollection, CollectionCreate, CollectionItem as UpstreamItem,
    CollectionTreeNode as UpstreamNode, CollectionUpdate,
};
use crate::pb::v1::{Collection, CollectionItem, CollectionTreeNode, CreateCollectionRequest, UpdateCollectionRequest};

impl From<UpstreamCollection> for Collection {
    /// Converts a collection; the root has id 0 and no parent.
    fn from(collection: UpstreamCollection) -> Self {
        let id = key_id(&collection.id).unwrap_or_default();
        Collection {
            id,
            entity_id: collection.entity_id.unwrap_or_default(),
            name: collection.name.unwrap_or_default(),
            description: collection.description,
            slug: collection.slug.unwrap_or_default(),
            location: collection.location,
            parent_id: collection_ref(collection.parent_id).filter(|_| id != 0),
            personal_owner_id: collection.personal_owner_id.map(|owner| owner.get()),
            namespace: collection.namespace,
            authority_level: collection.authority_level,
            archived: collection.archived,
            r#type: collection.collection_type,
            is_personal: collection.is_personal.unwrap_or_default(),
            can_write: collection.can_write,
            created_at: timestamp(collection.created_at.as_deref()),
            extra: extra(collection.extra, [("effective_location", proto_of(collection.effective_location.as_ref()))]),
        }
    }
}

impl From<UpstreamNode> for CollectionTreeNode {
    fn from(node: UpstreamNode) -> Self {
        CollectionTreeNode {
            id: key_id(&node.id).unwrap_or_default(),
            name: node.name.unwrap_or_default(),
            description: node.description,
            location: node.location.unwrap_or_default(),
            personal_owner_id: node.personal_owner_id.map(|owner| owner.get()),
            namespace: node.namespace,
            authority_level: node.authority_level,
            archived: node.archived,
            r#type: node.collection_type,
            can_write: node.can_write.unwrap_or_default(),
            children: node.children.into_iter().map(CollectionTreeNode::from).collect(),
            here: node.here,
            below: node.below,
            extra: extra(node.extra, [("entity_id", proto_of(node.entity_id.as_ref()))]),
        }
    }
}

impl From<UpstreamItem> for CollectionItem {
    fn from(item: UpstreamItem) -> Self {
        CollectionItem {
            model: item.model.unwrap_or_default(),
            id: item.id,
            name: item.name.unwrap_or_default(),
            description: item.description,
            entity_id: item.entity_id.unwrap_or_default(),
            display: item.display,
            collection_id: collection_ref(item.collection_id),
            collection_position: small(item.collection_position),
            archived: item.archived,
            database_id: item.database_id.map(|id| id.get()),
            dashboard_id: item.dashboard_id.map(|id| id.get()),
            authority_level: item.authority_level,
            personal_owner_id: item.personal_owner_id.map(|owner| owner.get()),
            location: item.location,
            r#type: item.item_type,
            last_used_at: timestamp(item.last_used_at.as_deref()),
            extra: extra(item.extra, [("last-edit-info", proto_of(item.last_edit_info.as_ref()))]),
        }
    }
}

impl TryFrom<CreateCollectionRequest> for CollectionCreate {
    type Error = GatewayError;

    /// Reads a create request; a blank description and a root parent are not sent.
    fn try_from(request: CreateCollectionRequest) -> Result<Self, GatewayError> {
        if request.name.trim().is_empty() {
            return Err(GatewayError::invalid_argument("name", "name is required"));
        }
        Ok(CollectionCreate {
            name: request.name,
            description: request.description.filter(|text| !text.trim().is_empty()),
            parent_id: request.parent_id.as_ref().and_then(collection_target),
            namespace: request.namespace,
            authority_level: request.authority_level,
            extra: Map::new(),
        })
    }
}

/// Returns `PUT /api/collection/:id`'s body. `current_archived` is the collection's present state:
/// Metabase reads a missing `archived` as false and would restore a trashed collection, so the
/// body always carries it (CONTRACT.md §6).
pub(crate) fn update_body(request: UpdateCollectionRequest, current_archived: bool) -> CollectionUpdate {
    CollectionUpdate {
        name: request.name,
        description: request.description.filter(|text| !text.trim().is_empty()),
        parent_id: request.parent_id.as_ref().map(collection_target),
        authority_level: request.authority_level,
        archived: request.archived.unwrap_or(current_archived),
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::convert::json::from_struct;
    use crate::pb::v1::{CollectionRef, collection_ref};

    fn reference(collection: collection_ref::Collection) -> Option<CollectionRef> {
        Some(CollectionRef { collection: Some(collection) })
    }

    #[test]
    fn the_root_collection_has_id_zero_and_no_parent_and_unknown_keys_land_in_extra() {
        let root: UpstreamCollection =
            serde_json::from_value(json!({"id": "root", "name": "Our analytics", "new_key": 1})).unwrap();
        let child: UpstreamCollection = serde_json::from_value(json!({
            "id": 4, "name": "Sales", "location": "/1/", "parent_id": 1, "effective_location": "/1/", "is_personal": true
        }))
        .unwrap();

        let (root, child) = (Collection::from(root), Collection::from(child));

        assert_eq!((root.id, root.parent_id, root.name.as_str()), (0, None, "Our analytics"));
        assert!(root.extra.unwrap().fields.contains_key("new_key"));
        assert_eq!(child.parent_id, reference(collection_ref::Collection::Id(1)));
        assert_eq!((child.location.as_deref(), child.is_personal), (Some("/1/"), true));
        assert_eq!(from_struct(child.extra.unwrap())["effective_location"], json!("/1/"));
    }

    #[test]
    fn tree_nodes_convert_with_their_children() {
        let node: UpstreamNode = serde_json::from_value(json!({
            "id": 1, "name": "A", "location": "/", "entity_id": "e1",
            "children": [{"id": 2, "name": "B", "location": "/1/", "here": ["card"], "can_write": true}]
        }))
        .unwrap();

        let converted = CollectionTreeNode::from(node);

        let child = &converted.children[0];
        assert_eq!((child.id, child.location.as_str(), child.can_write), (2, "/1/", true));
        assert_eq!(child.here, ["card"]);
        assert_eq!(from_struct(converted.extra.unwrap())["entity_id"], json!("e1"));
    }

    #[test]
    fn items_read_their_place_kind_and_owner_and_keep_unknown_keys_in_extra() {
        let item: UpstreamItem = serde_json::from_value(json!({
            "id": 5, "model": "collection", "name": "Mine", "location": "/2/", "type": "instance-analytics",
            "personal_owner_id": 3, "collection_id": null, "moderated_status": null
        }))
        .unwrap();

        let converted = CollectionItem::from(item);

        assert_eq!((converted.model.as_str(), converted.location.as_deref()), ("collection", Some("/2/")));
        assert_eq!((converted.r#type.as_deref(), converted.personal_owner_id), (Some("instance-analytics"), Some(3)));
        assert_eq!(converted.collection_id, reference(collection_ref::Collection::Root(true)));
        assert!(converted.extra.unwrap().fields.contains_key("moderated_status"));
    }

    #[test]
    fn bodies_keep_what_metabase_must_receive() {
        let root = reference(collection_ref::Collection::Root(true));
        let create = CreateCollectionRequest {
            name: "Sales".into(),
            description: Some("  ".into()),
            parent_id: root,
            ..Default::default()
        };
        let cases = [
            (serde_json::to_value(CollectionCreate::try_from(create).unwrap()).unwrap(), json!({"name": "Sales"})),
            (
                serde_json::to_value(update_body(UpdateCollectionRequest::default(), true)).unwrap(),
                json!({"archived": true}),
            ),
            (
                serde_json::to_value(update_body(
                    UpdateCollectionRequest { parent_id: root, archived: Some(false), ..Default::default() },
                    true,
                ))
                .unwrap(),
                json!({"parent_id": null, "archived": false}),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(body, expected);
        }
    }
}
