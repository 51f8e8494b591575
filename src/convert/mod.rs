//! Conversions between protobuf messages and Metabase's models, in one place: each resource turns
//! from the client's typed model into its message (typed fields, everything else in `extra`), and
//! each create or update request turns into the client's typed body, holding only what the caller
//! set.

pub(crate) mod alerts;
pub(crate) mod cards;
pub(crate) mod collections;
pub(crate) mod dashboards;
pub(crate) mod databases;
pub(crate) mod flight;
pub mod json;
pub(crate) mod metadata;
pub(crate) mod model;
pub(crate) mod notifications;
pub(crate) mod paging;
pub(crate) mod permissions;
#[cfg(test)]
mod property_tests;
pub(crate) mod proto_json;
pub(crate) mod proto_ser;
pub(crate) mod search;
pub(crate) mod users;

use serde_json::{Map, Value};

use crate::metabase::CollectionId;
use crate::pb::v1::{CollectionRef, collection_ref};

/// Returns a model's collection id (`None` is the root) as a `CollectionRef`.
pub(crate) fn collection_ref(id: Option<CollectionId>) -> Option<CollectionRef> {
    let collection = match id {
        Some(id) => collection_ref::Collection::Id(id.get()),
        None => collection_ref::Collection::Root(true),
    };
    Some(CollectionRef { collection: Some(collection) })
}

/// Returns the collection a `CollectionRef` names: an id, or `None` for the root (sent to
/// Metabase as `null`).
pub(crate) fn collection_target(reference: &CollectionRef) -> Option<CollectionId> {
    match reference.collection {
        Some(collection_ref::Collection::Id(id)) => Some(CollectionId(id)),
        Some(collection_ref::Collection::Root(_)) | None => None,
    }
}

/// A JSON object being built for a Metabase request body.
#[derive(Debug, Default)]
pub struct BodyBuilder(Map<String, Value>);

impl BodyBuilder {
    /// Sets a key.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// Sets a key only when the value is present.
    pub fn maybe(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(value) => self.set(key, value),
            None => self,
        }
    }

    /// Sets a key from an optional `Struct`.
    pub fn structure(self, key: &str, value: Option<prost_types::Struct>) -> Self {
        self.maybe(key, value.map(|value| Value::Object(json::from_struct(value))))
    }

    /// Sets a key from an optional `ListValue`.
    pub fn list(self, key: &str, value: Option<prost_types::ListValue>) -> Self {
        self.maybe(key, value.map(json::from_list))
    }

    /// Returns the body.
    pub fn build(self) -> Map<String, Value> {
        self.0
    }
}
