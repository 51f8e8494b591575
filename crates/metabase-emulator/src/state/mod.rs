//! The emulator's application database: users, groups, collections, cards, dashboards,
//! notifications, metadata edits, sessions, API keys and the permissions graph, held in memory
//! behind one lock.

mod model;
mod permissions;
mod seed;
mod seed_alerts;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

pub use model::*;
pub use permissions::{Access, QueryAccess};
use serde_json::Value;

/// The credentials the seeded instance accepts; documented defaults, overridable by flags.
#[derive(Debug, Clone)]
pub struct SeedCredentials {
    /// The admin user's email.
    pub admin_email: String,
    /// The admin user's password.
    pub admin_password: String,
    /// The analyst user's email.
    pub analyst_email: String,
    /// The analyst user's password.
    pub analyst_password: String,
    /// An API key in the Administrators group.
    pub admin_api_key: String,
    /// An API key in the narrow Analysts group.
    pub analyst_api_key: String,
}

impl Default for SeedCredentials {
    fn default() -> Self {
        Self {
            admin_email: "admin@example.com".into(),
            admin_password: "emulator-admin".into(),
            analyst_email: "analyst@example.com".into(),
            analyst_password: "emulator-analyst".into(),
            admin_api_key: "mb_emulator_admin_key".into(),
            analyst_api_key: "mb_emulator_analyst_key".into(),
        }
    }
}

/// Everything the emulated Metabase application database holds.
#[derive(Debug, Default)]
pub struct AppState {
    /// Users by id, including the users behind API keys.
    pub users: BTreeMap<i64, User>,
    /// Permission groups by id.
    pub groups: BTreeMap<i64, Group>,
    /// Group memberships by id.
    pub memberships: BTreeMap<i64, Membership>,
    /// Collections by id (the root is virtual and not stored).
    pub collections: BTreeMap<i64, Collection>,
    /// Saved questions, models and metrics by id.
    pub cards: BTreeMap<i64, Card>,
    /// Dashboards by id, with their dashcards and tabs.
    pub dashboards: BTreeMap<i64, Dashboard>,
    /// Databases by id.
    pub databases: BTreeMap<i64, Database>,
    /// Notifications by id; card notifications are also served as legacy alerts.
    pub notifications: BTreeMap<i64, Notification>,
    /// The ids of the notifications sent with `POST /api/notification/:id/send`, oldest first.
    pub sent_notifications: Vec<i64>,
    /// What `PUT /api/table/:id` and `PUT /api/table/:id/fields/order` changed, by table id.
    pub table_edits: BTreeMap<i64, serde_json::Map<String, Value>>,
    /// What `PUT /api/field/:id` changed, by field id.
    pub field_edits: BTreeMap<i64, serde_json::Map<String, Value>>,
    /// Live sessions by key.
    pub sessions: HashMap<String, Session>,
    /// API keys, each acting as its own user.
    pub api_keys: Vec<ApiKey>,
    /// Collection permissions: (group id, collection id or None for the root) to level.
    pub collection_permissions: HashMap<(i64, Option<i64>), Access>,
    /// The data permissions graph's groups, as Metabase serves them.
    pub data_permissions: BTreeMap<i64, BTreeMap<i64, Value>>,
    /// The data permissions graph's revision.
    pub permissions_revision: i64,
    /// How long a session lives.
    pub session_ttl: Duration,
    next_id: i64,
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user the session belongs to.
    pub user_id: i64,
    /// When the session was created.
    pub created: Instant,
}

/// An API key: the key itself, and the user that acts for it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// The raw key, starting `mb_`.
    pub key: String,
    /// The API-key user.
    pub user_id: i64,
}

impl AppState {
    /// Builds the seeded instance: users, groups, collections, cards, dashboards and alerts.
    pub fn seeded(credentials: &SeedCredentials, session_ttl: Duration) -> Self {
        let mut state = AppState { session_ttl, next_id: 1000, ..Default::default() };
        seed::seed(&mut state, credentials);
        state
    }

    /// Returns a fresh id for a new object; ids are unique across object kinds, like Metabase's
    /// per-table sequences look to a client.
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Returns the user a session key or API key names, if it is valid and active.
    pub fn authenticate(&self, session_key: Option<&str>, api_key: Option<&str>) -> Option<i64> {
        if let Some(key) = session_key
            && uuid::Uuid::parse_str(key).is_ok()
            && let Some(session) = self.sessions.get(key)
            && session.created.elapsed() < self.session_ttl
            && self.users.get(&session.user_id).is_some_and(|user| user.is_active)
        {
            return Some(session.user_id);
        }
        let key = api_key?;
        if !key.starts_with("mb_") || key.len() < 12 || key.len() > 254 {
            return None;
        }
        self.api_keys.iter().find(|api_key| api_key.key == key).map(|api_key| api_key.user_id)
    }

    /// Returns the ids of the groups a user belongs to.
    pub fn group_ids(&self, user_id: i64) -> Vec<i64> {
        self.memberships.values().filter(|membership| membership.user_id == user_id).map(|m| m.group_id).collect()
    }

    /// Returns whether a user is in the Administrators group.
    pub fn is_superuser(&self, user_id: i64) -> bool {
        self.group_ids(user_id).contains(&ADMINISTRATORS_GROUP_ID)
    }

    /// Returns the personal collection of a user, if it has one.
    pub fn personal_collection_id(&self, user_id: i64) -> Option<i64> {
        self.collections.values().find(|collection| collection.personal_owner_id == Some(user_id)).map(|c| c.id)
    }

    /// Returns the id of the Trash collection.
    pub fn trash_collection_id(&self) -> i64 {
        self.collections
            .values()
            .find(|collection| collection.kind.as_deref() == Some("trash"))
            .map_or(TRASH_COLLECTION_ID, |collection| collection.id)
    }
}

/// The magic All Users group.
pub const ALL_USERS_GROUP_ID: i64 = 1;
/// The magic Administrators group.
pub const ADMINISTRATORS_GROUP_ID: i64 = 2;
/// The seeded Trash collection.
pub const TRASH_COLLECTION_ID: i64 = 5;
