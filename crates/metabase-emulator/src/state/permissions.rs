//! Who may see and change what: collection permissions from the caller's groups, and the data
//! permissions graph's `view-data` and `create-queries` for running queries.

use serde_json::Value;

use super::{AppState, Card, Collection};

/// A collection permission level, ordered from none to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// The collection is invisible.
    None,
    /// The collection and its items can be read.
    Read,
    /// The collection and its items can be changed.
    Write,
}

impl Access {
    /// Returns the collection graph's name for the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::None => "none",
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// What a caller may do with ad-hoc queries on a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QueryAccess {
    /// No ad-hoc queries.
    No,
    /// MBQL only.
    QueryBuilder,
    /// MBQL and native SQL.
    QueryBuilderAndNative,
}

impl AppState {
    /// Returns the caller's access to a collection (`None` is the root).
    pub fn collection_access(&self, user_id: i64, collection_id: Option<i64>) -> Access {
        if self.is_superuser(user_id) {
            return Access::Write;
        }
        let Some(id) = collection_id else {
            return self.group_access(user_id, None);
        };
        let Some(collection) = self.collections.get(&id) else {
            return Access::None;
        };
        if let Some(owner) = self.personal_owner(collection) {
            return if owner == user_id { Access::Write } else { Access::None };
        }
        if collection.kind.as_deref() == Some("trash") {
            return Access::Read;
        }
        self.group_access(user_id, Some(id))
    }

    fn group_access(&self, user_id: i64, collection_id: Option<i64>) -> Access {
        self.group_ids(user_id)
            .into_iter()
            .filter_map(|group_id| self.collection_permissions.get(&(group_id, collection_id)).copied())
            .max()
            .unwrap_or(Access::None)
    }

    /// Returns the owner of the personal collection this collection is, or lies within.
    pub fn personal_owner(&self, collection: &Collection) -> Option<i64> {
        if collection.personal_owner_id.is_some() {
            return collection.personal_owner_id;
        }
        collection
            .ancestor_ids()
            .first()
            .and_then(|root_ancestor| self.collections.get(root_ancestor))
            .and_then(|ancestor| ancestor.personal_owner_id)
    }

    /// Returns the caller's access to a card, through the collection it lives in.
    pub fn card_access(&self, user_id: i64, card: &Card) -> Access {
        self.collection_access(user_id, card.collection_id)
    }

    /// Returns what the caller may query ad hoc on a database.
    pub fn query_access(&self, user_id: i64, database_id: i64) -> QueryAccess {
        if self.is_superuser(user_id) {
            return QueryAccess::QueryBuilderAndNative;
        }
        self.group_ids(user_id)
            .into_iter()
            .filter_map(|group_id| self.data_permissions.get(&group_id)?.get(&database_id))
            .map(|permissions| match permissions.get("create-queries").and_then(Value::as_str) {
                Some("query-builder-and-native") => QueryAccess::QueryBuilderAndNative,
                Some("query-builder") => QueryAccess::QueryBuilder,
                _ => QueryAccess::No,
            })
            .max()
            .unwrap_or(QueryAccess::No)
    }

    /// Returns whether the caller may see a database at all (`view-data` not blocked anywhere).
    pub fn can_view_database(&self, user_id: i64, database_id: i64) -> bool {
        if self.is_superuser(user_id) {
            return true;
        }
        self.group_ids(user_id).into_iter().any(|group_id| {
            self.data_permissions
                .get(&group_id)
                .and_then(|databases| databases.get(&database_id))
                .and_then(|permissions| permissions.get("view-data"))
                .is_some_and(|view| view.as_str() != Some("blocked"))
        })
    }

    /// Gives a new collection the permissions its parent has, as Metabase does.
    pub fn inherit_collection_permissions(&mut self, new_id: i64, parent_id: Option<i64>) {
        let inherited: Vec<(i64, Access)> = self
            .collection_permissions
            .iter()
            .filter(|((_, collection), _)| *collection == parent_id)
            .map(|((group, _), access)| (*group, *access))
            .collect();
        for (group, access) in inherited {
            self.collection_permissions.insert((group, Some(new_id)), access);
        }
    }
}
