//! The verb phrase of every RPC the gateway serves, for audit sentences: what a call did, in the
//! past tense ("ran saved question 42") and as an infinitive for denied calls ("run saved
//! question 42"), plus the helpers that turn full gRPC paths into short names and back.

// Short names for the table below, so each row reads as a sentence and fits on one line.
use self::Place::{Collection as InCollection, Database as OnDatabase, None as Nowhere};

/// The protobuf package of the gateway's own services.
pub const PACKAGE: &str = "metabase.gateway.v1";

/// What an RPC acts on, as it reads in a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// A fixed phrase, such as `saved questions` or `the permissions graph`.
    Fixed(&'static str),
    /// One resource, named by its id from the event's resources when the call recorded it.
    Resource {
        /// The resource kind, the key in the event's resources, such as `card`.
        kind: &'static str,
        /// The phrase with the id, where `{}` stands for the id: `saved question {}`.
        with_id: &'static str,
        /// The phrase when no id was recorded: `a saved question`.
        without_id: &'static str,
    },
}

/// Which recorded resource, besides the object, says where the call acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Nothing is added.
    None,
    /// ` in collection 7` when the call recorded a collection.
    Collection,
    /// ` on database 1` when the call recorded a database.
    Database,
}

/// How one RPC reads in an audit sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcPhrase {
    /// The short RPC name, `Service/Method`, such as `CardService/RunCard`.
    pub rpc: &'static str,
    /// The verb in the past tense, with any preposition: `ran`, `unsubscribed from`.
    pub past: &'static str,
    /// The verb as an infinitive, for "tried to ...": `run`, `unsubscribe from`.
    pub infinitive: &'static str,
    /// What the call acted on.
    pub object: Object,
    /// Which recorded resource is named as the place of the call.
    pub place: Place,
}

const fn fixed(phrase: &'static str) -> Object {
    Object::Fixed(phrase)
}

const fn one(kind: &'static str, with_id: &'static str, without_id: &'static str) -> Object {
    Object::Resource { kind, with_id, without_id }
}

const fn rpc(
    rpc: &'static str,
    past: &'static str,
    infinitive: &'static str,
    object: Object,
    place: Place,
) -> RpcPhrase {
    RpcPhrase { rpc, past, infinitive, object, place }
}

const CARD: Object = one("card", "saved question {}", "a saved question");
const DASHBOARD: Object = one("dashboard", "dashboard {}", "a dashboard");
const COLLECTION: Object = one("collection", "collection {}", "a collection");
const DATABASE: Object = one("database", "database {}", "a database");
const USER: Object = one("user", "user {}", "a user");
const GROUP: Object = one("group", "permission group {}", "a permission group");
const ALERT: Object = one("alert", "alert {}", "an alert");

/// Every RPC of the gateway's services with its phrase.
pub const RPC_PHRASES: &[RpcPhrase] = &[
    rpc("CardService/ListCards", "listed", "list", fixed("saved questions"), InCollection),
    rpc("CardService/GetCard", "read", "read", CARD, InCollection),
    rpc("CardService/CreateCard", "created", "create", fixed("a saved question"), InCollection),
    rpc("CardService/UpdateCard", "changed", "change", CARD, InCollection),
    rpc("CardService/RunCard", "ran", "run", CARD, InCollection),
    rpc("CardService/ExportCard", "exported", "export", CARD, InCollection),
    rpc("DashboardService/ListDashboards", "listed", "list", fixed("dashboards"), InCollection),
    rpc("DashboardService/GetDashboard", "read", "read", DASHBOARD, InCollection),
    rpc("DashboardService/CreateDashboard", "created", "create", fixed("a dashboard"), InCollection),
    rpc("DashboardService/UpdateDashboard", "changed", "change", DASHBOARD, InCollection),
    rpc("CollectionService/GetCollectionTree", "read", "read", fixed("the collection tree"), Nowhere),
    rpc("CollectionService/GetCollection", "read", "read", COLLECTION, Nowhere),
    rpc(
        "CollectionService/ListCollectionItems",
        "listed",
        "list",
        one("collection", "the items of collection {}", "the items of a collection"),
        Nowhere,
    ),
    rpc("CollectionService/CreateCollection", "created", "create", fixed("a collection"), InCollection),
    rpc("CollectionService/UpdateCollection", "changed", "change", COLLECTION, Nowhere),
    rpc("DatabaseService/ListDatabases", "listed", "list", fixed("databases"), Nowhere),
    rpc("DatabaseService/GetDatabase", "read", "read", DATABASE, Nowhere),
    rpc("DatabaseService/CreateDatabase", "created", "create", fixed("a database"), Nowhere),
    rpc("DatabaseService/UpdateDatabase", "changed", "change", DATABASE, Nowhere),
    rpc("DatabaseService/SyncDatabaseSchema", "synced the schema of", "sync the schema of", DATABASE, Nowhere),
    rpc("DatasetService/RunQuery", "ran", "run", fixed("an ad-hoc query"), OnDatabase),
    rpc("DatasetService/ExportQuery", "exported", "export", fixed("an ad-hoc query"), OnDatabase),
    rpc("UserService/ListUsers", "listed", "list", fixed("users"), Nowhere),
    rpc("UserService/GetUser", "read", "read", USER, Nowhere),
    rpc("UserService/GetCurrentUser", "read", "read", fixed("its own Metabase user"), Nowhere),
    rpc("UserService/CreateUser", "created", "create", fixed("a user"), Nowhere),
    rpc("UserService/UpdateUser", "changed", "change", USER, Nowhere),
    rpc("UserService/DeactivateUser", "deactivated", "deactivate", USER, Nowhere),
    rpc("UserService/ReactivateUser", "reactivated", "reactivate", USER, Nowhere),
    rpc("PermissionsService/ListGroups", "listed", "list", fixed("permission groups"), Nowhere),
    rpc("PermissionsService/GetGroup", "read", "read", GROUP, Nowhere),
    rpc("PermissionsService/CreateGroup", "created", "create", fixed("a permission group"), Nowhere),
    rpc("PermissionsService/UpdateGroup", "changed", "change", GROUP, Nowhere),
    rpc("PermissionsService/DeleteGroup", "deleted", "delete", GROUP, Nowhere),
    rpc("PermissionsService/AddGroupMember", "added a member to", "add a member to", GROUP, Nowhere),
    rpc(
        "PermissionsService/RemoveGroupMember",
        "removed",
        "remove",
        one("membership", "group membership {}", "a group membership"),
        Nowhere,
    ),
    rpc("PermissionsService/GetPermissionsGraph", "read", "read", fixed("the permissions graph"), Nowhere),
    rpc("PermissionsService/UpdatePermissionsGraph", "changed", "change", fixed("the permissions graph"), Nowhere),
    rpc("AlertService/ListAlerts", "listed", "list", fixed("alerts"), Nowhere),
    rpc("AlertService/GetAlert", "read", "read", ALERT, Nowhere),
    rpc("AlertService/UnsubscribeAlert", "unsubscribed from", "unsubscribe from", ALERT, Nowhere),
    rpc("SearchService/Search", "searched", "search", fixed("Metabase"), InCollection),
    rpc("GatewayService/WhoAmI", "asked", "ask", fixed("who it is"), Nowhere),
    rpc("GatewayService/GetServerInfo", "read", "read", fixed("the server info"), Nowhere),
    rpc("AuditService/ListAuditEvents", "listed", "list", fixed("audit events"), Nowhere),
];

/// Returns the phrase of a gateway RPC, given its full path or short name, if the table has it.
pub fn phrase_for(rpc: &str) -> Option<&'static RpcPhrase> {
    let full_path = full_rpc_path(rpc);
    let own_prefix = format!("/{PACKAGE}.");
    let short_name = full_path.strip_prefix(&own_prefix)?;
    RPC_PHRASES.iter().find(|phrase| phrase.rpc == short_name)
}

/// Returns the short name of a gRPC path, `Service/Method` without the package:
/// `/metabase.gateway.v1.CardService/GetCard` becomes `CardService/GetCard`.
pub fn short_rpc_name(rpc: &str) -> &str {
    let path = rpc.trim_start_matches('/');
    let Some((service, _method)) = path.rsplit_once('/') else {
        return path;
    };
    match service.rfind('.') {
        Some(dot) => &path[dot + 1..],
        None => path,
    }
}

/// Returns the full gRPC path for a full path or a short name: `CardService/GetCard` becomes
/// `/metabase.gateway.v1.CardService/GetCard`; a service with a package
/// (`grpc.health.v1.Health/Check`) only gains the leading slash, and a full path is kept.
pub fn full_rpc_path(rpc: &str) -> String {
    if rpc.starts_with('/') {
        return rpc.to_owned();
    }
    let service = rpc.split('/').next().unwrap_or_default();
    if service.contains('.') { format!("/{rpc}") } else { format!("/{PACKAGE}.{rpc}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_drop_the_package_and_the_leading_slash() {
        assert_eq!(short_rpc_name("/metabase.gateway.v1.CardService/GetCard"), "CardService/GetCard");
        assert_eq!(short_rpc_name("/grpc.health.v1.Health/Check"), "Health/Check");
        assert_eq!(short_rpc_name("CardService/GetCard"), "CardService/GetCard");
        assert_eq!(short_rpc_name("weird"), "weird");
    }

    #[test]
    fn full_paths_gain_the_gateway_package_only_when_the_service_has_none() {
        assert_eq!(full_rpc_path("CardService/GetCard"), "/metabase.gateway.v1.CardService/GetCard");
        assert_eq!(
            full_rpc_path("/metabase.gateway.v1.CardService/GetCard"),
            "/metabase.gateway.v1.CardService/GetCard"
        );
        assert_eq!(full_rpc_path("grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
    }

    #[test]
    fn phrases_are_found_by_full_path_or_short_name_but_not_under_another_package() {
        assert_eq!(phrase_for("/metabase.gateway.v1.CardService/RunCard").map(|phrase| phrase.past), Some("ran"));
        assert_eq!(phrase_for("CardService/RunCard").map(|phrase| phrase.past), Some("ran"));
        assert_eq!(phrase_for("/other.v1.CardService/RunCard"), None);
        assert_eq!(phrase_for("/grpc.health.v1.Health/Check"), None);
    }

    #[test]
    fn the_table_names_each_rpc_once() {
        for (index, phrase) in RPC_PHRASES.iter().enumerate() {
            let later = RPC_PHRASES[index + 1..].iter().any(|other| other.rpc == phrase.rpc);
            assert!(!later, "{} is in the table twice", phrase.rpc);
        }
    }
}
