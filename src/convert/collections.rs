//! Collections: the tree, details, items, and the create and update bodies.

use serde_json::{Map, Value};

use super::json::Fields;
use super::{BodyBuilder, collection_value, legacy_collection_ref as collection_ref};
use crate::error::GatewayError;
use crate::pb::v1::{Collection, CollectionItem, CollectionTreeNode, CreateCollectionRequest, UpdateCollectionRequest};

/// Reads a collection id, where the root (`"root"`) is 0.
fn collection_id(fields: &mut Fields) -> i64 {
    fields.opt_int("id").unwrap_or_default()
}

/// Converts Metabase's collection JSON (the root has id 0).
pub fn collection(value: Value) -> Collection {
    let mut fields = Fields::new(value);
    let id = collection_id(&mut fields);
    Collection {
        id,
        entity_id: fields.string("entity_id"),
        name: fields.string("name"),
        description: fields.opt_string("description"),
        slug: fields.string("slug"),
        location: fields.opt_string("location"),
        parent_id: collection_ref(&fields.take("parent_id")).filter(|_| id != 0),
        personal_owner_id: fields.opt_int("personal_owner_id"),
        namespace: fields.opt_string("namespace"),
        authority_level: fields.opt_string("authority_level"),
        archived: fields.bool("archived"),
        r#type: fields.opt_string("type"),
        is_personal: fields.bool("is_personal"),
        can_write: fields.opt_bool("can_write"),
        created_at: fields.timestamp("created_at"),
        extra: fields.extra(),
    }
}

/// Converts one node of `GET /api/collection/tree`, with its children.
pub fn tree_node(value: Value) -> CollectionTreeNode {
    let mut fields = Fields::new(value);
    CollectionTreeNode {
        id: collection_id(&mut fields),
        name: fields.string("name"),
        description: fields.opt_string("description"),
        location: fields.string("location"),
        personal_owner_id: fields.opt_int("personal_owner_id"),
        namespace: fields.opt_string("namespace"),
        authority_level: fields.opt_string("authority_level"),
        archived: fields.bool("archived"),
        r#type: fields.opt_string("type"),
        can_write: fields.bool("can_write"),
        children: fields.objects("children").into_iter().map(tree_node).collect(),
        here: fields.strings("here"),
        below: fields.strings("below"),
        extra: fields.extra(),
    }
}

/// Converts one item of `GET /api/collection/:id/items`.
pub fn item(value: Value) -> CollectionItem {
    let mut fields = Fields::new(value);
    CollectionItem {
        model: fields.string("model"),
        id: fields.int("id"),
        name: fields.string("name"),
        description: fields.opt_string("description"),
        entity_id: fields.string("entity_id"),
        display: fields.opt_string("display"),
        collection_id: collection_ref(&fields.take("collection_id")),
        collection_position: fields.opt_i32("collection_position"),
        archived: fields.bool("archived"),
        database_id: fields.opt_int("database_id"),
        dashboard_id: fields.opt_int("dashboard_id"),
        authority_level: fields.opt_string("authority_level"),
        personal_owner_id: fields.opt_int("personal_owner_id"),
        location: fields.opt_string("location"),
        r#type: fields.opt_string("type"),
        last_used_at: fields.timestamp("last_used_at"),
        extra: fields.extra(),
    }
}

/// Builds `POST /api/collection`'s body.
pub fn create_body(request: CreateCollectionRequest) -> Result<Map<String, Value>, GatewayError> {
    if request.name.trim().is_empty() {
        return Err(GatewayError::invalid_argument("name", "name is required"));
    }
    Ok(BodyBuilder::default()
        .set("name", request.name)
        .maybe("description", request.description.filter(|text| !text.trim().is_empty()))
        .maybe("parent_id", request.parent_id.as_ref().map(collection_value).filter(|value| !value.is_null()))
        .maybe("namespace", request.namespace)
        .maybe("authority_level", request.authority_level)
        .build())
}

/// Builds `PUT /api/collection/:id`'s body. `current_archived` is the collection's present state:
/// Metabase reads a missing `archived` as false and would restore a trashed collection, so the
/// body always carries it (CONTRACT.md §6).
pub fn update_body(request: UpdateCollectionRequest, current_archived: bool) -> Map<String, Value> {
    BodyBuilder::default()
        .maybe("name", request.name)
        .maybe("description", request.description.filter(|text| !text.trim().is_empty()))
        .maybe("parent_id", request.parent_id.as_ref().map(collection_value))
        .maybe("authority_level", request.authority_level)
        .set("archived", request.archived.unwrap_or(current_archived))
        .build()
}
