//! Owns the table of every gateway RPC: which capability it needs, at which level, whether it
//! changes Metabase, and which kind of resource its request names (for narrowing and audit).

use super::model::{Capability, Level};

/// The protobuf package every gateway service lives in.
pub const PACKAGE: &str = "metabase.gateway.v1";

/// The kind of resource an RPC's request names by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// The request names no single resource (lists, search, the caller itself).
    None,
    /// A saved question or model.
    Card,
    /// A dashboard.
    Dashboard,
    /// A collection (for creations: the collection the new item goes into).
    Collection,
    /// A database connection.
    Database,
    /// An ad-hoc query, MBQL or native.
    Query,
    /// A Metabase user.
    User,
    /// A permission group.
    Group,
    /// An alert.
    Alert,
}

/// What an RPC needs from a principal's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcRule {
    /// The capability the RPC belongs to; `None` for RPCs any identified caller may make.
    pub capability: Option<Capability>,
    /// The level of that capability the RPC needs.
    pub level: Level,
    /// Whether the RPC changes Metabase.
    pub mutates: bool,
    /// The kind of resource its request names.
    pub resource: ResourceKind,
}

macro_rules! rpc {
    ($service:literal / $method:literal, $capability:ident, $level:ident, $mutates:literal, $resource:ident) => {
        (
            concat!("/metabase.gateway.v1.", $service, "/", $method),
            RpcRule {
                capability: Some(Capability::$capability),
                level: Level::$level,
                mutates: $mutates,
                resource: ResourceKind::$resource,
            },
        )
    };
    ($service:literal / $method:literal, anyone) => {
        (
            concat!("/metabase.gateway.v1.", $service, "/", $method),
            RpcRule { capability: None, level: Level::Off, mutates: false, resource: ResourceKind::None },
        )
    };
}

/// Every gateway RPC by its full gRPC path, with what it needs.
pub static RPCS: &[(&str, RpcRule)] = &[
    rpc!("CardService" / "ListCards", Cards, Read, false, None),
    rpc!("CardService" / "GetCard", Cards, Read, false, Card),
    rpc!("CardService" / "CreateCard", Cards, Full, true, Collection),
    rpc!("CardService" / "UpdateCard", Cards, Full, true, Card),
    rpc!("CardService" / "RunCard", Cards, Read, false, Card),
    rpc!("CardService" / "ExportCard", Cards, Read, false, Card),
    rpc!("DashboardService" / "ListDashboards", Dashboards, Read, false, None),
    rpc!("DashboardService" / "GetDashboard", Dashboards, Read, false, Dashboard),
    rpc!("DashboardService" / "CreateDashboard", Dashboards, Full, true, Collection),
    rpc!("DashboardService" / "UpdateDashboard", Dashboards, Full, true, Dashboard),
    rpc!("CollectionService" / "GetCollectionTree", Collections, Read, false, None),
    rpc!("CollectionService" / "GetCollection", Collections, Read, false, Collection),
    rpc!("CollectionService" / "ListCollectionItems", Collections, Read, false, Collection),
    rpc!("CollectionService" / "CreateCollection", Collections, Full, true, Collection),
    rpc!("CollectionService" / "UpdateCollection", Collections, Full, true, Collection),
    rpc!("DatabaseService" / "ListDatabases", Databases, Read, false, None),
    rpc!("DatabaseService" / "GetDatabase", Databases, Read, false, Database),
    rpc!("DatabaseService" / "CreateDatabase", Databases, Full, true, None),
    rpc!("DatabaseService" / "UpdateDatabase", Databases, Full, true, Database),
    rpc!("DatabaseService" / "SyncDatabaseSchema", Databases, Full, true, Database),
    rpc!("DatasetService" / "RunQuery", Datasets, Read, false, Query),
    rpc!("DatasetService" / "ExportQuery", Datasets, Read, false, Query),
    rpc!("UserService" / "ListUsers", Users, Read, false, None),
    rpc!("UserService" / "GetUser", Users, Read, false, User),
    rpc!("UserService" / "GetCurrentUser", Users, Read, false, None),
    rpc!("UserService" / "CreateUser", Users, Full, true, None),
    rpc!("UserService" / "UpdateUser", Users, Full, true, User),
    rpc!("UserService" / "DeactivateUser", Users, Full, true, User),
    rpc!("UserService" / "ReactivateUser", Users, Full, true, User),
    rpc!("PermissionsService" / "ListGroups", Groups, Read, false, None),
    rpc!("PermissionsService" / "GetGroup", Groups, Read, false, Group),
    rpc!("PermissionsService" / "GetPermissionsGraph", Groups, Read, false, None),
    rpc!("PermissionsService" / "CreateGroup", Groups, Full, true, None),
    rpc!("PermissionsService" / "UpdateGroup", Groups, Full, true, Group),
    rpc!("PermissionsService" / "DeleteGroup", Groups, Full, true, Group),
    rpc!("PermissionsService" / "AddGroupMember", Groups, Full, true, Group),
    rpc!("PermissionsService" / "RemoveGroupMember", Groups, Full, true, Group),
    rpc!("PermissionsService" / "UpdatePermissionsGraph", Groups, Full, true, None),
    rpc!("AlertService" / "ListAlerts", Alerts, Read, false, None),
    rpc!("AlertService" / "GetAlert", Alerts, Read, false, Alert),
    rpc!("AlertService" / "UnsubscribeAlert", Alerts, Full, true, Alert),
    rpc!("SearchService" / "Search", Search, Read, false, None),
    rpc!("AuditService" / "ListAuditEvents", Audit, Read, false, None),
    rpc!("GatewayService" / "WhoAmI", anyone),
    rpc!("GatewayService" / "GetServerInfo", anyone),
];

/// Returns what the RPC at a full gRPC path (`/metabase.gateway.v1.CardService/GetCard`) needs.
pub fn rule_for(path: &str) -> Option<&'static RpcRule> {
    // A linear scan of ~45 short strings costs less than hashing would be worth.
    RPCS.iter().find(|(known, _)| *known == path).map(|(_, rule)| rule)
}

/// Finds an RPC by its full path, by its path without the leading `/`, or by its short name
/// (`CardService/GetCard`), returning the full path and what it needs.
pub fn lookup(name: &str) -> Option<(&'static str, &'static RpcRule)> {
    RPCS.iter()
        .find(|(path, _)| *path == name || short_name(path) == short_name(name))
        .map(|(path, rule)| (*path, rule))
}

/// Returns an RPC path without its package: `CardService/GetCard`.
pub fn short_name(path: &str) -> &str {
    let trimmed = path.trim_start_matches('/');
    let Some(slash) = trimmed.rfind('/') else {
        return trimmed;
    };
    let start = trimmed[..slash].rfind('.').map_or(0, |dot| dot + 1);
    &trimmed[start..]
}

/// Returns the method name alone: `GetCard`.
pub fn method_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_path_is_in_the_gateway_package_and_listed_once() {
        let mut seen = HashSet::new();
        for (path, _) in RPCS {
            assert!(path.starts_with(&format!("/{PACKAGE}.")), "{path}");
            assert!(seen.insert(*path), "{path} is listed twice");
        }
        assert_eq!(RPCS.len(), 45);
    }

    #[test]
    fn the_table_lists_exactly_the_rpcs_the_protos_declare() {
        let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/metabase/gateway/v1");
        let mut declared = HashSet::new();
        for entry in std::fs::read_dir(directory).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut service = "";
            for line in text.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.trim_end_matches('{').trim();
                } else if let Some(rest) = line.strip_prefix("rpc ") {
                    let method = rest.split('(').next().unwrap_or_default().trim();
                    declared.insert(format!("/{PACKAGE}.{service}/{method}"));
                }
            }
        }
        let listed: HashSet<String> = RPCS.iter().map(|(path, _)| (*path).to_owned()).collect();

        assert_eq!(declared, listed);
    }

    #[test]
    fn rpcs_that_change_metabase_need_full_and_the_rest_read_or_nothing() {
        for (path, rule) in RPCS {
            let expected = match (rule.capability, rule.mutates) {
                (None, _) => Level::Off,
                (Some(_), true) => Level::Full,
                (Some(_), false) => Level::Read,
            };
            assert_eq!(rule.level, expected, "{path}");
        }
    }

    #[test]
    fn rules_are_found_by_full_path_and_by_short_name() {
        let get_card = rule_for("/metabase.gateway.v1.CardService/GetCard").unwrap();
        let (path, delete_group) = lookup("PermissionsService/DeleteGroup").unwrap();

        assert_eq!(get_card.capability, Some(Capability::Cards));
        assert_eq!(get_card.resource, ResourceKind::Card);
        assert_eq!(path, "/metabase.gateway.v1.PermissionsService/DeleteGroup");
        assert!(delete_group.mutates);
        assert_eq!(
            lookup("metabase.gateway.v1.SearchService/Search").map(|(path, _)| path),
            Some("/metabase.gateway.v1.SearchService/Search")
        );
        assert!(rule_for("CardService/GetCard").is_none());
        assert!(rule_for("/metabase.gateway.v1.CardService/DeleteCard").is_none());
        assert_eq!(rule_for("/metabase.gateway.v1.GatewayService/WhoAmI").unwrap().capability, None);
    }

    #[test]
    fn short_names_drop_the_package() {
        assert_eq!(short_name("/metabase.gateway.v1.CardService/GetCard"), "CardService/GetCard");
        assert_eq!(short_name("CardService/GetCard"), "CardService/GetCard");
        assert_eq!(short_name("/grpc.health.v1.Health/Check"), "Health/Check");
        assert_eq!(method_name("/metabase.gateway.v1.CardService/GetCard"), "GetCard");
    }
}
