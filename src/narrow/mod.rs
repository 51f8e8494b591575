//! Owns answer narrowing: what a caller narrowed to some collections and databases may see of
//! what Metabase answered. Every answer that can carry resources passes through one of the pure
//! functions here before it leaves the gateway, so nothing outside the grant leaves by any route:
//! hidden items are dropped from lists, embedded cards outside the grant keep only their id, and
//! ancestors, parents and "effective" paths drop the collections the caller may not see.
//!
//! The gateway's admin credential sees everything in Metabase, so Metabase's own narrowing does
//! not protect a narrowed principal: this module does.

mod notifications;
mod resources;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

pub(crate) use self::notifications::{CardPlace, notification, sees_card, table};
pub(crate) use self::resources::{alert, card, collection, collection_item, dashboard, database, search_result, tree};

/// What one caller may see: its collections (with their subtrees) and databases, and the
/// locations of the collections the gateway knows, to tell a collection's ancestors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Visibility {
    collections: Option<BTreeSet<i64>>,
    databases: Option<BTreeSet<i64>>,
    locations: HashMap<i64, String>,
}

impl Visibility {
    /// Returns the visibility of a caller that is not narrowed: it sees everything.
    pub(crate) fn everything() -> Self {
        Visibility::default()
    }

    /// Returns the visibility of a caller narrowed to `collections` and `databases` (`None` is not
    /// narrowed), given the `locations` (`/1/4/`) of the collections the gateway read.
    pub(crate) fn new(collections: Option<&[i64]>, databases: Option<&[i64]>, locations: HashMap<i64, String>) -> Self {
        Visibility {
            collections: collections.map(|ids| ids.iter().copied().collect()),
            databases: databases.map(|ids| ids.iter().copied().collect()),
            locations,
        }
    }

    /// Returns the collection locations the gateway read, by collection id.
    pub(crate) fn locations(&self) -> &HashMap<i64, String> {
        &self.locations
    }

    /// Reports whether the caller's collections are narrowed at all.
    pub(crate) fn narrows_collections(&self) -> bool {
        self.collections.is_some()
    }

    /// Reports whether the caller's databases are narrowed at all.
    pub(crate) fn narrows_databases(&self) -> bool {
        self.databases.is_some()
    }

    /// Reports whether the caller is narrowed in any way.
    pub(crate) fn narrows(&self) -> bool {
        self.narrows_collections() || self.narrows_databases()
    }

    /// Reports whether the caller may see a database.
    pub(crate) fn sees_database(&self, id: i64) -> bool {
        self.databases.as_ref().is_none_or(|listed| listed.contains(&id))
    }

    /// Reports whether the caller may see a collection (`None` is the root): one of its
    /// collections or below one. The ancestry comes from `location` when given, else from the
    /// locations the gateway read; an unknown collection is seen only when it is listed itself.
    pub(crate) fn sees_collection(&self, id: Option<i64>, location: Option<&str>) -> bool {
        let Some(listed) = &self.collections else {
            return true;
        };
        let Some(id) = id else {
            return false;
        };
        if listed.contains(&id) {
            return true;
        }
        let location = location.or_else(|| self.locations.get(&id).map(String::as_str)).unwrap_or_default();
        location_ids(location).any(|ancestor| listed.contains(&ancestor))
    }

    /// Returns a location (`/1/2/8/`) keeping only the ancestors the caller may see, as
    /// Metabase's `effective_location` does for a user.
    pub(crate) fn effective_location(&self, location: &str) -> String {
        let visible: Vec<String> = location_ids(location)
            .filter(|ancestor| self.sees_collection(Some(*ancestor), None))
            .map(|ancestor| ancestor.to_string())
            .collect();
        if visible.is_empty() { "/".to_owned() } else { format!("/{}/", visible.join("/")) }
    }

    /// Returns the id of the nearest visible ancestor in a location, if any.
    fn visible_parent(&self, location: &str) -> Option<i64> {
        let ancestors: Vec<i64> = location_ids(location).collect();
        ancestors.into_iter().rev().find(|ancestor| self.sees_collection(Some(*ancestor), None))
    }

    /// Reports whether a JSON object that lives in a collection and may name a database (a
    /// card, a dashboard, an alert's card, a dashcard's series card) is visible. Its collection
    /// is `collection_id`, else the hydrated `collection.id`; its database is `database_id`.
    fn sees_object(&self, object: &Map<String, Value>) -> bool {
        let collection_id = object
            .get("collection_id")
            .and_then(Value::as_i64)
            .or_else(|| object.get("collection").and_then(|collection| collection.get("id")).and_then(Value::as_i64));
        let location =
            object.get("collection").and_then(|collection| collection.get("location")).and_then(Value::as_str);
        let database_visible =
            object.get("database_id").and_then(Value::as_i64).is_none_or(|id| self.sees_database(id));
        database_visible && self.sees_collection(collection_id, location)
    }

    /// Rewrites a hydrated collection object (`collection` on a card or dashboard, an item of
    /// `effective_ancestors`' owner) so its ancestry names only what the caller may see.
    fn scrub_collection_object(&self, object: &mut Map<String, Value>) {
        if !self.narrows_collections() {
            return;
        }
        for key in ["location", "effective_location"] {
            if let Some(Value::String(location)) = object.get(key) {
                let effective = self.effective_location(location);
                object.insert(key.to_owned(), Value::String(effective));
            }
        }
        if let Some(Value::Array(ancestors)) = object.get_mut("effective_ancestors") {
            ancestors.retain(|ancestor| {
                let id = ancestor.get("id").and_then(Value::as_i64);
                self.sees_collection(id, None)
            });
        }
        if let Some(Value::Array(ancestors)) = object.get_mut("ancestors") {
            ancestors.retain(|ancestor| self.sees_collection(ancestor.get("id").and_then(Value::as_i64), None));
        }
        if let Some(parent) = object.get("parent_id").and_then(Value::as_i64)
            && !self.sees_collection(Some(parent), None)
        {
            object.insert("parent_id".into(), Value::Null);
        }
    }
}

/// Returns the collection ids of a location such as `/1/4/`, outermost first.
fn location_ids(location: &str) -> impl Iterator<Item = i64> + '_ {
    location.split('/').filter_map(|part| part.parse().ok())
}
