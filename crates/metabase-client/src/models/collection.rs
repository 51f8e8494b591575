//! Owns the collection models (collections, the tree, and paged items, CONTRACT.md §6) and the
//! bodies that create and update one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{LastEditInfo, null_as_default};
use crate::ids::{CollectionId, CollectionKey, DashboardId, DatabaseId, UserId};

/// A collection as `GET /api/collection/:id` (or `root`) returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    /// The collection's id, or `"root"` for the virtual root.
    pub id: CollectionKey,
    /// The collection's name (`Our analytics` for the root).
    #[serde(default)]
    pub name: Option<String>,
    /// The collection's description.
    #[serde(default)]
    pub description: Option<String>,
    /// The 21-character NanoID that is stable across instances.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// The URL slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// The ancestor path, e.g. `/` or `/1/4/`.
    #[serde(default)]
    pub location: Option<String>,
    /// The ancestor path as the caller sees it.
    #[serde(default)]
    pub effective_location: Option<String>,
    /// The parent collection; `None` is the root.
    #[serde(default)]
    pub parent_id: Option<CollectionId>,
    /// The owner, for personal collections.
    #[serde(default)]
    pub personal_owner_id: Option<UserId>,
    /// The namespace, e.g. `snippets`; `None` is the default namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `official`, or `None`.
    #[serde(default)]
    pub authority_level: Option<String>,
    /// The kind, e.g. `trash` or `instance-analytics`; `None` for ordinary collections.
    #[serde(default, rename = "type")]
    pub collection_type: Option<String>,
    /// Whether the collection is in the Trash.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    /// Whether the caller may write to the collection.
    #[serde(default)]
    pub can_write: Option<bool>,
    /// Whether it is someone's personal collection.
    #[serde(default)]
    pub is_personal: Option<bool>,
    /// Creation time, ISO-8601.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A node of `GET /api/collection/tree` (the root itself is never a node).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionTreeNode {
    /// The collection's id.
    pub id: CollectionKey,
    /// The collection's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The collection's description.
    #[serde(default)]
    pub description: Option<String>,
    /// The 21-character NanoID.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// The ancestor path.
    #[serde(default)]
    pub location: Option<String>,
    /// The owner, for personal collections.
    #[serde(default)]
    pub personal_owner_id: Option<UserId>,
    /// The namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `official`, or `None`.
    #[serde(default)]
    pub authority_level: Option<String>,
    /// The kind, e.g. `trash`.
    #[serde(default, rename = "type")]
    pub collection_type: Option<String>,
    /// Whether the collection is in the Trash.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    /// Whether the caller may write to the collection.
    #[serde(default)]
    pub can_write: Option<bool>,
    /// The item kinds at this level (`card`, `dataset`, `metric`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub here: Vec<String>,
    /// The item kinds further down.
    #[serde(default, deserialize_with = "null_as_default")]
    pub below: Vec<String>,
    /// The child collections (empty for leaves).
    #[serde(default, deserialize_with = "null_as_default")]
    pub children: Vec<CollectionTreeNode>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `GET /api/collection/:id/items`: a card, dashboard, collection or other model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionItem {
    /// The item's id, in the id space of its `model`.
    pub id: i64,
    /// `card`, `dataset`, `metric`, `dashboard`, `collection`, `pulse`, `snippet`, ...
    #[serde(default)]
    pub model: Option<String>,
    /// The item's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The item's description.
    #[serde(default)]
    pub description: Option<String>,
    /// The 21-character NanoID.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// The visualization, for cards.
    #[serde(default)]
    pub display: Option<String>,
    /// The collection being listed.
    #[serde(default)]
    pub collection_id: Option<CollectionId>,
    /// The dashboard of a dashboard question.
    #[serde(default)]
    pub dashboard_id: Option<DashboardId>,
    /// The database, for cards.
    #[serde(default)]
    pub database_id: Option<DatabaseId>,
    /// The pinned position.
    #[serde(default)]
    pub collection_position: Option<i64>,
    /// `official`, or `None`.
    #[serde(default)]
    pub authority_level: Option<String>,
    /// The owner, for personal collections.
    #[serde(default)]
    pub personal_owner_id: Option<UserId>,
    /// The ancestor path, for collections.
    #[serde(default)]
    pub location: Option<String>,
    /// The kind: a card's `question`, `model` or `metric`, a collection's `trash` or
    /// `instance-analytics`.
    #[serde(default, rename = "type")]
    pub item_type: Option<String>,
    /// Whether the item is in the Trash.
    #[serde(default, deserialize_with = "null_as_default")]
    pub archived: bool,
    /// Last use, ISO-8601.
    #[serde(default)]
    pub last_used_at: Option<String>,
    /// Who last edited the item and when.
    #[serde(default, rename = "last-edit-info")]
    pub last_edit_info: Option<LastEditInfo>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of collection items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemsPage {
    /// The items on this page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<CollectionItem>,
    /// The number of matching items across all pages.
    #[serde(default)]
    pub total: i64,
    /// The models that were actually queried.
    #[serde(default, deserialize_with = "null_as_default")]
    pub models: Vec<String>,
    /// The page size echoed back, `None` without paging.
    #[serde(default)]
    pub limit: Option<i64>,
    /// The offset echoed back, `None` without paging.
    #[serde(default)]
    pub offset: Option<i64>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST /api/collection`: `name` is required, every other key is sent only when set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CollectionCreate {
    /// The collection's name.
    pub name: String,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The parent collection; unset creates it in the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<CollectionId>,
    /// The namespace, e.g. `snippets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `official`, or unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_level: Option<String>,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `PUT /api/collection/:id`: only the keys that are set are sent, except `archived`,
/// which Metabase reads as `false` when missing (and would then restore a trashed collection).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CollectionUpdate {
    /// The new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Moves the collection; `Some(None)` sends `null`, the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Option<CollectionId>>,
    /// `official`, or unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_level: Option<String>,
    /// Whether the collection is in the Trash: always sent.
    pub archived: bool,
    /// Keys this type does not name, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Collection, CollectionTreeNode, ItemsPage};
    use crate::ids::{CollectionId, CollectionKey};

    #[test]
    fn root_collection_has_a_named_id() {
        let root: Collection =
            serde_json::from_value(json!({"id": "root", "name": "Our analytics", "is_personal": false})).unwrap();

        assert!(root.id.is_root());
        assert_eq!(root.is_personal, Some(false));
    }

    #[test]
    fn tree_nodes_nest_children() {
        let nodes: Vec<CollectionTreeNode> = serde_json::from_value(json!([
            {"id": 1, "name": "A", "children": [{"id": 2, "name": "B", "children": [], "here": ["card"]}]}
        ]))
        .unwrap();

        assert_eq!(nodes[0].children[0].id, CollectionKey::Id(CollectionId(2)));
        assert_eq!(nodes[0].children[0].here, vec!["card".to_owned()]);
    }

    #[test]
    fn items_page_reads_paging_and_nullable_limit() {
        let page: ItemsPage = serde_json::from_value(json!({
            "total": 12, "data": [{"id": 5, "model": "dashboard", "name": "Sales", "moderated_status": null}],
            "models": ["dashboard"], "limit": null, "offset": null
        }))
        .unwrap();

        assert_eq!(page.total, 12);
        assert_eq!(page.limit, None);
        assert_eq!(page.data[0].model.as_deref(), Some("dashboard"));
        assert!(page.data[0].extra.contains_key("moderated_status"));
    }
}
