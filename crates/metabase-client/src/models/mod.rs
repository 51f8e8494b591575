//! Owns the serde models of Metabase's JSON objects, one file per resource group.
//!
//! Every model keeps the keys it does not type in `extra` (`#[serde(flatten)]`), so nothing
//! Metabase sends is lost and keys added by newer releases pass through. Typed fields use
//! Metabase's own key names and are mostly optional, because releases 0.50 to 0.62 differ.
//! Timestamps stay ISO-8601 text.

mod alert;
mod card;
mod card_read;
mod collection;
mod common;
mod dashboard;
mod database;
mod metadata;
mod notification;
mod permissions;
mod search;
mod session;
mod user;

pub use self::alert::{Alert, AlertCard, AlertChannel};
pub use self::card::{Card, CardCreate, CardUpdate};
pub use self::collection::{
    Collection, CollectionCreate, CollectionItem, CollectionTreeNode, CollectionUpdate, ItemsPage,
};
pub use self::common::{CollectionSummary, LastEditInfo};
pub use self::dashboard::{
    DashCard, DashCardUpdate, Dashboard, DashboardCreate, DashboardTab, DashboardUpdate, HydratedCard, SeriesCard,
    TabUpdate,
};
pub use self::database::{Database, DatabaseList, SyncStatus, Table};
pub use self::metadata::{DatabaseMetadata, Field, FieldValues, TableMetadata};
pub use self::notification::{CardPayload, Handler, Notification, Recipient, Subscription};
pub use self::permissions::{GroupMember, PermissionGroup, PermissionsGraph};
pub use self::search::{SearchDashboard, SearchResponse, SearchResult};
pub use self::session::{SessionProperties, VersionInfo};
pub use self::user::{User, UserGroupMembership, UserList};
