//! The table itself: one row per gateway RPC, grouped by service in the order the protos declare
//! them, then Arrow Flight's methods. A new RPC (or a new service) needs its row here and nothing
//! else; the tests in the parent module fail until the table and the protos agree.

use super::{Object, Place, ResourceKind, RpcFacts, RpcPhrase};
use crate::policy::{Capability, Level};
// Short names for the place column, so each phrase reads as a sentence.
use Place::{Collection as InCollection, Database as OnDatabase, None as Nowhere};

/// The first half of a row: an RPC's path and what the policy and the access layer need to know.
struct Row {
    path: &'static str,
    capability: Option<Capability>,
    descriptor_grant: bool,
    level: Level,
    mutates: bool,
    streams: bool,
    resource: ResourceKind,
}

impl Row {
    /// Completes the row with how the RPC reads in an audit sentence.
    const fn says(self, past: &'static str, infinitive: &'static str, object: Object, place: Place) -> RpcFacts {
        let Row { path, capability, descriptor_grant, level, mutates, streams, resource } = self;
        let phrase = RpcPhrase { past, infinitive, object, place };
        RpcFacts { path, capability, descriptor_grant, level, mutates, streams, resource, phrase }
    }
}

/// `rpc!("Service/Method", Capability: Level | anyone, reads | changes, unary | streams, ResourceKind)`.
macro_rules! rpc {
    ($name:literal, $capability:ident: $level:ident, $effect:ident, $shape:ident, $resource:ident) => {
        Row {
            path: concat!("/metabase.gateway.v1.", $name),
            capability: Some(Capability::$capability),
            descriptor_grant: false,
            level: Level::$level,
            mutates: rpc!(@$effect),
            streams: rpc!(@$shape),
            resource: ResourceKind::$resource,
        }
    };
    ($name:literal, anyone, $effect:ident, $shape:ident, $resource:ident) => {
        Row {
            path: concat!("/metabase.gateway.v1.", $name),
            capability: None,
            descriptor_grant: false,
            level: Level::Off,
            mutates: rpc!(@$effect),
            streams: rpc!(@$shape),
            resource: ResourceKind::$resource,
        }
    };
    (@reads) => { false };
    (@changes) => { true };
    (@unary) => { false };
    (@streams) => { true };
}

/// `flight!("Method", by descriptor | Capability: Level | anyone, unary | streams, ResourceKind)`:
/// a method of Arrow Flight's `FlightService`, which only reads. `by descriptor` lets in a caller
/// holding `cards: read` or `datasets: read`; the handler checks the descriptor itself.
macro_rules! flight {
    ($name:literal, by descriptor, $shape:ident, $resource:ident) => {
        Row {
            path: concat!("/arrow.flight.protocol.FlightService/", $name),
            capability: None,
            descriptor_grant: true,
            level: Level::Read,
            mutates: false,
            streams: rpc!(@$shape),
            resource: ResourceKind::$resource,
        }
    };
    ($name:literal, $capability:ident: $level:ident, $shape:ident, $resource:ident) => {
        Row {
            path: concat!("/arrow.flight.protocol.FlightService/", $name),
            capability: Some(Capability::$capability),
            descriptor_grant: false,
            level: Level::$level,
            mutates: false,
            streams: rpc!(@$shape),
            resource: ResourceKind::$resource,
        }
    };
    ($name:literal, anyone, $shape:ident, $resource:ident) => {
        Row {
            path: concat!("/arrow.flight.protocol.FlightService/", $name),
            capability: None,
            descriptor_grant: false,
            level: Level::Off,
            mutates: false,
            streams: rpc!(@$shape),
            resource: ResourceKind::$resource,
        }
    };
}

const fn fixed(phrase: &'static str) -> Object {
    Object::Fixed(phrase)
}

const fn one(kind: &'static str, with_id: &'static str, without_id: &'static str) -> Object {
    Object::Resource { kind, with_id, without_id }
}

const CARD: Object = one("card", "saved question {}", "a saved question");
const DASHBOARD: Object = one("dashboard", "dashboard {}", "a dashboard");
const COLLECTION: Object = one("collection", "collection {}", "a collection");
const ITEMS: Object = one("collection", "the items of collection {}", "the items of a collection");
const DATABASE: Object = one("database", "database {}", "a database");
const USER: Object = one("user", "user {}", "a user");
const GROUP: Object = one("group", "permission group {}", "a permission group");
const MEMBERSHIP: Object = one("membership", "group membership {}", "a group membership");
const ALERT: Object = one("alert", "alert {}", "an alert");
/// What a Flight descriptor names: a saved question, or else an ad-hoc query (which the audit
/// sentence then names as the inspector found it: "native SQL on database 1 through Flight").
const FLIGHT: Object = one("card", "saved question {} through Flight", "an ad-hoc query through Flight");
const SCHEMAS: Object = one("database", "the schemas of database {}", "the schemas of a database");
const METADATA: Object = one("database", "the metadata of database {}", "the metadata of a database");
const TABLE: Object = one("table", "table {}", "a table");
const FIELD: Object = one("field", "field {}", "a field");
const FIELD_VALUES: Object = one("field", "the values of field {}", "the values of a field");
const NOTIFICATION: Object = one("notification", "notification {}", "a notification");

/// Every gateway RPC with its facts. Each row reads: the RPC, the capability and level it needs
/// (`anyone` for any identified caller), whether it `reads` or `changes` Metabase, whether its
/// answer is `unary` or `streams`, the kind of resource its request names; then how a call reads
/// in an audit sentence: past tense, infinitive, object, and which recorded resource is its place.
#[rustfmt::skip]
pub(crate) static RPCS: &[RpcFacts] = &[
    rpc!("CardService/ListCards",  Cards: Read, reads,   unary,   None)
        .says("listed", "list", fixed("saved questions"), InCollection),
    rpc!("CardService/GetCard",    Cards: Read, reads,   unary,   Card)
        .says("read", "read", CARD, InCollection),
    rpc!("CardService/CreateCard", Cards: Full, changes, unary,   Collection)
        .says("created", "create", fixed("a saved question"), InCollection),
    rpc!("CardService/UpdateCard", Cards: Full, changes, unary,   Card)
        .says("changed", "change", CARD, InCollection),
    rpc!("CardService/RunCard",    Cards: Read, reads,   streams, Card)
        .says("ran", "run", CARD, InCollection),
    rpc!("CardService/ExportCard", Cards: Read, reads,   streams, Card)
        .says("exported", "export", CARD, InCollection),

    rpc!("DashboardService/ListDashboards",  Dashboards: Read, reads,   unary, None)
        .says("listed", "list", fixed("dashboards"), InCollection),
    rpc!("DashboardService/GetDashboard",    Dashboards: Read, reads,   unary, Dashboard)
        .says("read", "read", DASHBOARD, InCollection),
    rpc!("DashboardService/CreateDashboard", Dashboards: Full, changes, unary, Collection)
        .says("created", "create", fixed("a dashboard"), InCollection),
    rpc!("DashboardService/UpdateDashboard", Dashboards: Full, changes, unary, Dashboard)
        .says("changed", "change", DASHBOARD, InCollection),

    rpc!("CollectionService/GetCollectionTree",   Collections: Read, reads,   unary, None)
        .says("read", "read", fixed("the collection tree"), Nowhere),
    rpc!("CollectionService/GetCollection",       Collections: Read, reads,   unary, Collection)
        .says("read", "read", COLLECTION, Nowhere),
    rpc!("CollectionService/ListCollectionItems", Collections: Read, reads,   unary, Collection)
        .says("listed", "list", ITEMS, Nowhere),
    rpc!("CollectionService/CreateCollection",    Collections: Full, changes, unary, Collection)
        .says("created", "create", fixed("a collection"), InCollection),
    rpc!("CollectionService/UpdateCollection",    Collections: Full, changes, unary, Collection)
        .says("changed", "change", COLLECTION, Nowhere),

    rpc!("DatabaseService/ListDatabases",      Databases: Read, reads,   unary, None)
        .says("listed", "list", fixed("databases"), Nowhere),
    rpc!("DatabaseService/GetDatabase",        Databases: Read, reads,   unary, Database)
        .says("read", "read", DATABASE, Nowhere),
    rpc!("DatabaseService/CreateDatabase",     Databases: Full, changes, unary, None)
        .says("created", "create", fixed("a database"), Nowhere),
    rpc!("DatabaseService/UpdateDatabase",     Databases: Full, changes, unary, Database)
        .says("changed", "change", DATABASE, Nowhere),
    rpc!("DatabaseService/SyncDatabaseSchema", Databases: Full, changes, unary, Database)
        .says("synced the schema of", "sync the schema of", DATABASE, Nowhere),

    rpc!("DatasetService/RunQuery",    Datasets: Read, reads, streams, Query)
        .says("ran", "run", fixed("an ad-hoc query"), OnDatabase),
    rpc!("DatasetService/ExportQuery", Datasets: Read, reads, streams, Query)
        .says("exported", "export", fixed("an ad-hoc query"), OnDatabase),

    rpc!("UserService/ListUsers",      Users: Read, reads,   unary, None)
        .says("listed", "list", fixed("users"), Nowhere),
    rpc!("UserService/GetUser",        Users: Read, reads,   unary, User)
        .says("read", "read", USER, Nowhere),
    rpc!("UserService/GetCurrentUser", Users: Read, reads,   unary, None)
        .says("read", "read", fixed("its own Metabase user"), Nowhere),
    rpc!("UserService/CreateUser",     Users: Full, changes, unary, None)
        .says("created", "create", fixed("a user"), Nowhere),
    rpc!("UserService/UpdateUser",     Users: Full, changes, unary, User)
        .says("changed", "change", USER, Nowhere),
    rpc!("UserService/DeactivateUser", Users: Full, changes, unary, User)
        .says("deactivated", "deactivate", USER, Nowhere),
    rpc!("UserService/ReactivateUser", Users: Full, changes, unary, User)
        .says("reactivated", "reactivate", USER, Nowhere),

    rpc!("PermissionsService/ListGroups",             Groups: Read, reads,   unary, None)
        .says("listed", "list", fixed("permission groups"), Nowhere),
    rpc!("PermissionsService/GetGroup",               Groups: Read, reads,   unary, Group)
        .says("read", "read", GROUP, Nowhere),
    rpc!("PermissionsService/GetPermissionsGraph",    Groups: Read, reads,   unary, None)
        .says("read", "read", fixed("the permissions graph"), Nowhere),
    rpc!("PermissionsService/CreateGroup",            Groups: Full, changes, unary, None)
        .says("created", "create", fixed("a permission group"), Nowhere),
    rpc!("PermissionsService/UpdateGroup",            Groups: Full, changes, unary, Group)
        .says("changed", "change", GROUP, Nowhere),
    rpc!("PermissionsService/DeleteGroup",            Groups: Full, changes, unary, Group)
        .says("deleted", "delete", GROUP, Nowhere),
    rpc!("PermissionsService/AddGroupMember",         Groups: Full, changes, unary, Group)
        .says("added a member to", "add a member to", GROUP, Nowhere),
    rpc!("PermissionsService/RemoveGroupMember",      Groups: Full, changes, unary, Group)
        .says("removed", "remove", MEMBERSHIP, Nowhere),
    rpc!("PermissionsService/UpdatePermissionsGraph", Groups: Full, changes, unary, None)
        .says("changed", "change", fixed("the permissions graph"), Nowhere),

    rpc!("AlertService/ListAlerts",       Alerts: Read, reads,   unary, None)
        .says("listed", "list", fixed("alerts"), Nowhere),
    rpc!("AlertService/GetAlert",         Alerts: Read, reads,   unary, Alert)
        .says("read", "read", ALERT, Nowhere),
    rpc!("AlertService/UnsubscribeAlert", Alerts: Full, changes, unary, Alert)
        .says("unsubscribed from", "unsubscribe from", ALERT, Nowhere),

    rpc!("MetadataService/ListSchemas",         Databases: Read, reads, unary, Database)
        .says("listed", "list", SCHEMAS, Nowhere),
    rpc!("MetadataService/ListTables",          Databases: Read, reads, unary, Database)
        .says("listed", "list", fixed("tables"), OnDatabase),
    rpc!("MetadataService/GetTable",            Databases: Read, reads, unary, Table)
        .says("read", "read", TABLE, OnDatabase),
    rpc!("MetadataService/GetDatabaseMetadata", Databases: Read, reads, unary, Database)
        .says("read", "read", METADATA, Nowhere),
    rpc!("MetadataService/GetField",            Databases: Read, reads, unary, Field)
        .says("read", "read", FIELD, OnDatabase),
    rpc!("MetadataService/GetFieldValues",      Databases: Read, reads, unary, Field)
        .says("read", "read", FIELD_VALUES, OnDatabase),

    rpc!("NotificationService/ListNotifications",       Alerts: Read, reads,   unary, None)
        .says("listed", "list", fixed("notifications"), Nowhere),
    rpc!("NotificationService/GetNotification",         Alerts: Read, reads,   unary, Notification)
        .says("read", "read", NOTIFICATION, InCollection),
    rpc!("NotificationService/CreateNotification",      Alerts: Full, changes, unary, Card)
        .says("created", "create", fixed("a notification"), InCollection),
    rpc!("NotificationService/UpdateNotification",      Alerts: Full, changes, unary, Notification)
        .says("changed", "change", NOTIFICATION, InCollection),
    rpc!("NotificationService/UnsubscribeNotification", Alerts: Full, changes, unary, Notification)
        .says("unsubscribed from", "unsubscribe from", NOTIFICATION, InCollection),
    rpc!("NotificationService/SendNotification",        Alerts: Full, changes, unary, Notification)
        .says("sent", "send", NOTIFICATION, InCollection),

    rpc!("SearchService/Search", Search: Read, reads, unary, None)
        .says("searched", "search", fixed("Metabase"), InCollection),

    rpc!("AuditService/ListAuditEvents", Audit: Read, reads, unary, None)
        .says("listed", "list", fixed("audit events"), Nowhere),

    rpc!("GatewayService/WhoAmI",        anyone, reads, unary, None)
        .says("asked", "ask", fixed("who it is"), Nowhere),
    rpc!("GatewayService/GetServerInfo", anyone, reads, unary, None)
        .says("read", "read", fixed("the server info"), Nowhere),

    // Arrow Flight. The methods that read a result answer for what their descriptor names; the
    // rest answer UNIMPLEMENTED, still behind identity, rates and the audit.
    flight!("Handshake",      anyone,                 streams, None)
        .says("made", "make", fixed("a Flight handshake"), Nowhere),
    flight!("ListFlights",    Cards: Read,            streams, None)
        .says("listed", "list", fixed("saved questions through Flight"), Nowhere),
    flight!("GetFlightInfo",  by descriptor,          unary,   Descriptor)
        .says("described", "describe", FLIGHT, Nowhere),
    flight!("PollFlightInfo", anyone,                 unary,   None)
        .says("polled", "poll", fixed("a Flight query"), Nowhere),
    flight!("GetSchema",      by descriptor,          unary,   Descriptor)
        .says("read the schema of", "read the schema of", FLIGHT, Nowhere),
    flight!("DoGet",          by descriptor,          streams, Descriptor)
        .says("ran", "run", FLIGHT, Nowhere),
    flight!("DoPut",          anyone,                 streams, None)
        .says("uploaded", "upload", fixed("data through Flight"), Nowhere),
    flight!("DoExchange",     anyone,                 streams, None)
        .says("exchanged", "exchange", fixed("data through Flight"), Nowhere),
    flight!("DoAction",       anyone,                 streams, None)
        .says("asked for", "ask for", fixed("a Flight action"), Nowhere),
    flight!("ListActions",    anyone,                 streams, None)
        .says("listed", "list", fixed("Flight actions"), Nowhere),
];
