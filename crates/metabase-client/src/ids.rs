//! Owns the newtype ids of Metabase objects, and [`CollectionKey`] for collection ids that may be
//! the virtual root (`"root"`).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// Returns the raw integer id, as Metabase writes it.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(raw: i64) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// Identifies a saved question, model or metric (`report_card.id`).
    CardId
);
id_type!(
    /// Identifies a dashboard.
    DashboardId
);
id_type!(
    /// Identifies a card placed on a dashboard (a dashcard); negative ids ask Metabase to create one.
    DashCardId
);
id_type!(
    /// Identifies a dashboard tab; negative ids are temporary ids for tabs still to be created.
    TabId
);
id_type!(
    /// Identifies a stored collection (never the virtual root; see [`CollectionKey`]).
    CollectionId
);
id_type!(
    /// Identifies a connected database.
    DatabaseId
);
id_type!(
    /// Identifies a table of a connected database.
    TableId
);
id_type!(
    /// Identifies a field (column) of a table.
    FieldId
);
id_type!(
    /// Identifies a notification (Metabase 0.54+ alerts live here).
    NotificationId
);
id_type!(
    /// Identifies a Metabase user.
    UserId
);
id_type!(
    /// Identifies a permission group.
    GroupId
);
id_type!(
    /// Identifies one user's membership of one group (not the user, not the group).
    MembershipId
);
id_type!(
    /// Identifies an alert (since 0.54, a card notification's id).
    AlertId
);

/// Names a collection as Metabase writes it: an integer id, or a name such as `"root"` for the
/// virtual root collection.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CollectionKey {
    /// A stored collection.
    Id(CollectionId),
    /// A virtual collection, in practice `"root"`.
    Named(String),
}

impl CollectionKey {
    /// Returns the stored collection's id, or `None` for a virtual collection.
    pub fn id(&self) -> Option<CollectionId> {
        match self {
            Self::Id(id) => Some(*id),
            Self::Named(_) => None,
        }
    }

    /// Reports whether this is the virtual root collection.
    pub fn is_root(&self) -> bool {
        matches!(self, Self::Named(name) if name == "root")
    }
}

impl fmt::Display for CollectionKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(formatter, "{id}"),
            Self::Named(name) => formatter.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{CardId, CollectionId, CollectionKey};

    #[test]
    fn ids_serialize_as_bare_integers_and_display_as_numbers() {
        let card_id: CardId = serde_json::from_value(json!(42)).unwrap();

        assert_eq!(card_id, CardId(42));
        assert_eq!(serde_json::to_value(card_id).unwrap(), json!(42));
        assert_eq!(card_id.to_string(), "42");
    }

    #[test]
    fn collection_key_reads_integer_ids_and_the_root_name() {
        let stored: CollectionKey = serde_json::from_value(json!(7)).unwrap();
        let root: CollectionKey = serde_json::from_value(json!("root")).unwrap();

        assert_eq!(stored.id(), Some(CollectionId(7)));
        assert!(root.is_root());
        assert_eq!(root.id(), None);
        assert_eq!(root.to_string(), "root");
    }
}
