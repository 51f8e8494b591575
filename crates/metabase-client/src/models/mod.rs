//! Owns the serde models of Metabase's JSON objects, one file per resource group.
//!
//! Every model keeps the keys it does not type in `extra` (`#[serde(flatten)]`), so nothing
//! Metabase sends is lost and keys added by newer releases pass through. Typed fields use
//! Metabase's own key names and are mostly optional, because releases 0.50 to 0.62 differ.
//! Timestamps stay ISO-8601 text.

mod alert;
mod card;
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

pub use self::alert::Alert;
pub use self::card::Card;
pub use self::collection::{Collection, CollectionItem, CollectionTreeNode, ItemsPage};
pub use self::common::LastEditInfo;
pub use self::dashboard::{DashCard, Dashboard, DashboardTab};
pub use self::database::{Database, DatabaseList, Table};
pub use self::metadata::{DatabaseMetadata, Field, FieldValues, TableMetadata};
pub use self::notification::{CardPayload, Handler, Notification, Recipient, Subscription};
pub use self::permissions::{GroupMember, PermissionGroup, PermissionsGraph};
pub use self::search::{SearchResponse, SearchResult};
pub use self::session::{SessionProperties, VersionInfo};
pub use self::user::{User, UserGroupMembership, UserList};
