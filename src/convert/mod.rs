//! Conversions between protobuf messages and Metabase's JSON, in one place: each resource turns
//! from Metabase's object into its message (typed fields, everything else in `extra`), and each
//! create or update request turns into the body Metabase expects, holding only what the caller
//! set.

pub mod alerts;
pub mod cards;
pub mod collections;
pub mod dashboards;
pub mod databases;
pub mod json;
pub mod metadata;
pub mod notifications;
pub mod paging;
pub mod permissions;
pub mod search;
pub mod users;

use serde_json::{Map, Value};

use crate::pb::v1::{CollectionRef, collection_ref};

/// Returns a model as JSON (every model serializes back to Metabase's keys, `extra` included).
pub fn to_json<T: serde::Serialize>(model: &T) -> Value {
    serde_json::to_value(model).unwrap_or(Value::Null)
}

/// Reads a Metabase collection id (`null` or `"root"` for the root) as a `CollectionRef`.
pub fn collection_ref(value: &Value) -> Option<CollectionRef> {
    let collection = match value {
        Value::Number(number) => collection_ref::Collection::Id(number.as_i64().unwrap_or_default()),
        _ => collection_ref::Collection::Root(true),
    };
    Some(CollectionRef { collection: Some(collection) })
}

/// Returns the Metabase value for a `CollectionRef`: an id, or `null` for the root.
pub fn collection_value(reference: &CollectionRef) -> Value {
    match reference.collection {
        Some(collection_ref::Collection::Id(id)) => Value::from(id),
        Some(collection_ref::Collection::Root(_)) | None => Value::Null,
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
