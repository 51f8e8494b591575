//! The stored objects of the emulated application database. JSON rendering lives with the routes
//! that serve each object; these are plain data.

use serde_json::{Map, Value};

/// A Metabase user: a person, or the user behind an API key.
#[derive(Debug, Clone)]
pub struct User {
    /// The user id.
    pub id: i64,
    /// The login email.
    pub email: String,
    /// The first name, if set.
    pub first_name: Option<String>,
    /// The last name, if set.
    pub last_name: Option<String>,
    /// The password; API-key users have none.
    pub password: Option<String>,
    /// Whether the user may log in.
    pub is_active: bool,
    /// `personal` for people, `api-key` for API-key users.
    pub kind: &'static str,
    /// When the user joined.
    pub date_joined: String,
    /// When the user last logged in.
    pub last_login: Option<String>,
    /// When the user was last changed.
    pub updated_at: String,
    /// The user's locale, if set.
    pub locale: Option<String>,
    /// Free-form login attributes.
    pub login_attributes: Option<Value>,
}

impl User {
    /// Returns "first last", or the email when the user has no name, as Metabase's `common_name`.
    pub fn common_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(first), Some(last)) => format!("{first} {last}"),
            (Some(first), None) => first.clone(),
            (None, Some(last)) => last.clone(),
            (None, None) => self.email.clone(),
        }
    }
}

/// A permission group.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group id.
    pub id: i64,
    /// The group name.
    pub name: String,
    /// `all-internal-users` or `admin` for the magic groups.
    pub magic_group_type: Option<&'static str>,
    /// The group's entity id.
    pub entity_id: String,
}

/// A user's membership of a group.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The membership id.
    pub id: i64,
    /// The group.
    pub group_id: i64,
    /// The member.
    pub user_id: i64,
    /// Whether the member manages the group (an EE feature; always false here).
    pub is_group_manager: bool,
}

/// A collection. The root collection is virtual and has no row.
#[derive(Debug, Clone)]
pub struct Collection {
    /// The collection id.
    pub id: i64,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The ancestor path, `/` for top level or like `/1/4/`.
    pub location: String,
    /// The owner, for personal collections.
    pub personal_owner_id: Option<i64>,
    /// Whether the collection is in the Trash.
    pub archived: bool,
    /// Whether it was trashed itself rather than with an ancestor.
    pub archived_directly: Option<bool>,
    /// `official` or none.
    pub authority_level: Option<String>,
    /// `trash`, `instance-analytics` or none.
    pub kind: Option<String>,
    /// The namespace, none for ordinary collections.
    pub namespace: Option<String>,
    /// The entity id.
    pub entity_id: String,
    /// When the collection was created.
    pub created_at: String,
}

impl Collection {
    /// Returns the id of this collection's parent, none for top-level collections.
    pub fn parent_id(&self) -> Option<i64> {
        self.location.trim_matches('/').rsplit('/').next().and_then(|last| last.parse().ok())
    }

    /// Returns the ids of this collection's ancestors, outermost first.
    pub fn ancestor_ids(&self) -> Vec<i64> {
        self.location.split('/').filter_map(|part| part.parse().ok()).collect()
    }

    /// Returns the location that children of this collection have.
    pub fn child_location(&self) -> String {
        format!("{}{}/", self.location, self.id)
    }
}

/// A saved question, model or metric.
#[derive(Debug, Clone)]
pub struct Card {
    /// The card id.
    pub id: i64,
    /// The entity id (a 21-character NanoID).
    pub entity_id: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// `question`, `model` or `metric`.
    pub card_type: String,
    /// The visualization, such as `table` or `bar`.
    pub display: String,
    /// The stored query, in MBQL 5.
    pub dataset_query: Value,
    /// Visualization settings.
    pub visualization_settings: Value,
    /// The collection, none for the root.
    pub collection_id: Option<i64>,
    /// The pinned position.
    pub collection_position: Option<i64>,
    /// Whether the card is in the Trash.
    pub archived: bool,
    /// Whether it was trashed itself.
    pub archived_directly: bool,
    /// The creator.
    pub creator_id: i64,
    /// The creation time.
    pub created_at: String,
    /// The last change time.
    pub updated_at: String,
    /// Card parameters.
    pub parameters: Value,
    /// Card parameter mappings.
    pub parameter_mappings: Value,
    /// The query's database.
    pub database_id: i64,
    /// The query's source table, for MBQL.
    pub table_id: Option<i64>,
    /// `native` or `query`.
    pub query_type: String,
    /// Cache TTL.
    pub cache_ttl: Option<i64>,
    /// The dashboard of a dashboard question.
    pub dashboard_id: Option<i64>,
    /// The result columns, as Metabase stores them when a card is saved.
    pub result_metadata: Value,
    /// Any other keys a client sent and Metabase would keep.
    pub extra: Map<String, Value>,
}

/// A dashboard with its cards and tabs.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The dashboard id.
    pub id: i64,
    /// The entity id.
    pub entity_id: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The collection, none for the root.
    pub collection_id: Option<i64>,
    /// The pinned position.
    pub collection_position: Option<i64>,
    /// Whether the dashboard is in the Trash.
    pub archived: bool,
    /// Whether it was trashed itself.
    pub archived_directly: bool,
    /// Dashboard filters.
    pub parameters: Value,
    /// The creator.
    pub creator_id: i64,
    /// The creation time.
    pub created_at: String,
    /// The last change time.
    pub updated_at: String,
    /// `fixed` or `full`.
    pub width: String,
    /// Whether filters apply at once.
    pub auto_apply_filters: bool,
    /// Cache TTL.
    pub cache_ttl: Option<i64>,
    /// The cards on the dashboard.
    pub dashcards: Vec<DashCard>,
    /// The tabs.
    pub tabs: Vec<DashboardTab>,
    /// Other writable keys (caveats, points_of_interest, position, ...).
    pub extra: Map<String, Value>,
}

/// A card placed on a dashboard.
#[derive(Debug, Clone)]
pub struct DashCard {
    /// The dashcard id.
    pub id: i64,
    /// The card shown, none for virtual cards such as text.
    pub card_id: Option<i64>,
    /// The tab the card sits on.
    pub dashboard_tab_id: Option<i64>,
    /// Grid row.
    pub row: i64,
    /// Grid column.
    pub col: i64,
    /// Width in grid cells.
    pub size_x: i64,
    /// Height in grid cells.
    pub size_y: i64,
    /// Parameter mappings.
    pub parameter_mappings: Value,
    /// Visualization settings.
    pub visualization_settings: Value,
    /// Extra series.
    pub series: Value,
    /// Inline parameters.
    pub inline_parameters: Value,
    /// The creation time.
    pub created_at: String,
    /// The last change time.
    pub updated_at: String,
}

/// A dashboard tab.
#[derive(Debug, Clone)]
pub struct DashboardTab {
    /// The tab id.
    pub id: i64,
    /// The tab name.
    pub name: String,
    /// The tab's position.
    pub position: i64,
    /// The entity id.
    pub entity_id: String,
    /// The creation time.
    pub created_at: String,
    /// The last change time.
    pub updated_at: String,
}

/// A connected warehouse.
#[derive(Debug, Clone)]
pub struct Database {
    /// The database id.
    pub id: i64,
    /// The name.
    pub name: String,
    /// The engine (driver).
    pub engine: String,
    /// Connection details, including secrets.
    pub details: Map<String, Value>,
    /// Whether this is the sample database.
    pub is_sample: bool,
    /// Whether a full sync runs.
    pub is_full_sync: bool,
    /// Whether field values are fetched on demand.
    pub is_on_demand: bool,
    /// Whether queries run automatically in the UI.
    pub auto_run_queries: bool,
    /// The description.
    pub description: Option<String>,
    /// Database settings.
    pub settings: Map<String, Value>,
    /// The creation time.
    pub created_at: String,
    /// The last change time.
    pub updated_at: String,
    /// Other keys (caveats, points_of_interest, ...).
    pub extra: Map<String, Value>,
}

/// A notification (Metabase 0.54+): a card alert's payload, its cron subscriptions and its
/// handlers with their recipients. The legacy `/api/alert` routes are a view of the card ones.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The notification id.
    pub id: i64,
    /// `notification/card`, `notification/dashboard`, `notification/system-event` or `notification/testing`.
    pub payload_type: String,
    /// The card payload, for `notification/card`.
    pub payload: Option<CardPayload>,
    /// Whether it is active (archived alerts are inactive).
    pub active: bool,
    /// The creator.
    pub creator_id: i64,
    /// The subscriptions, as Metabase stores them: `{id, notification_id, type, cron_schedule, ...}`.
    pub subscriptions: Vec<Value>,
    /// The handlers, each with its `recipients`, as Metabase stores them.
    pub handlers: Vec<Value>,
    /// The creation time.
    pub created_at: String,
    /// The last change time.
    pub updated_at: String,
}

/// The card payload of a notification (`notification_card`).
#[derive(Debug, Clone)]
pub struct CardPayload {
    /// The payload row's id.
    pub id: i64,
    /// The card watched.
    pub card_id: i64,
    /// `has_result`, `goal_above` or `goal_below`.
    pub send_condition: String,
    /// Whether it fires only once.
    pub send_once: bool,
    /// The creation time.
    pub created_at: String,
    /// The last change time.
    pub updated_at: String,
}

impl Notification {
    /// Returns the card the notification watches, for card notifications.
    pub fn card_id(&self) -> Option<i64> {
        self.payload.as_ref().map(|payload| payload.card_id)
    }

    /// Returns the ids of the users among the recipients of every handler.
    pub fn recipient_user_ids(&self) -> Vec<i64> {
        self.handlers
            .iter()
            .filter_map(|handler| handler.get("recipients").and_then(Value::as_array))
            .flatten()
            .filter_map(|recipient| recipient.get("user_id").and_then(Value::as_i64))
            .collect()
    }
}

/// Returns a deterministic 21-character NanoID-like entity id for an object.
pub fn entity_id(kind: &str, id: i64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
    let mut state = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ kind.bytes().fold(0u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(byte)));
    (0..21)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ALPHABET[(state % 64) as usize] as char
        })
        .collect()
}

/// Returns the current time as Metabase renders timestamps.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
