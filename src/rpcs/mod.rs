//! Owns the one table of facts about every gateway RPC ([`RPCS`]), read by the policy, the access
//! layer, the audit and telemetry: its full path, the capability and level it needs, whether it
//! streams, whether it changes Metabase, the kind of resource its request names, and how a call
//! reads in an audit sentence; plus the helpers that turn paths into short names and back. The
//! gateway's own services and Arrow Flight's `FlightService` are in it alike.

mod table;

pub(crate) use self::table::RPCS;
use crate::policy::{Capability, Level};

/// The protobuf package every gateway service lives in.
pub(crate) const PACKAGE: &str = "metabase.gateway.v1";
/// The protobuf package of Arrow Flight's `FlightService`, served on the same port.
pub(crate) const FLIGHT_PACKAGE: &str = "arrow.flight.protocol";

/// Reports whether a gRPC path belongs to a service the access path guards: the gateway's
/// package or Flight's. Health and reflection are outside it.
pub(crate) fn is_guarded(path: &str) -> bool {
    let package = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    package.starts_with(&format!("{PACKAGE}.")) || package.starts_with(&format!("{FLIGHT_PACKAGE}."))
}

/// The kind of resource an RPC's request names by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ResourceKind {
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
    /// A Flight descriptor or ticket: a saved question or an ad-hoc query.
    Descriptor,
    /// A Metabase user.
    User,
    /// A permission group.
    Group,
    /// An alert.
    Alert,
    /// A table of a database.
    Table,
    /// A field of a table.
    Field,
    /// A notification (Metabase 0.54+ alerts).
    Notification,
}

/// What an RPC acts on, as it reads in an audit sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
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
pub(crate) enum Place {
    /// Nothing is added.
    None,
    /// ` in collection 7` when the call recorded a collection.
    Collection,
    /// ` on database 1` when the call recorded a database.
    Database,
}

/// How one RPC reads in an audit sentence: "ran saved question 42 in collection 7".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RpcPhrase {
    /// The verb in the past tense, with any preposition: `ran`, `unsubscribed from`.
    pub past: &'static str,
    /// The verb as an infinitive, for "tried to ...": `run`, `unsubscribe from`.
    pub infinitive: &'static str,
    /// What the call acted on.
    pub object: Object,
    /// Which recorded resource is named as the place of the call.
    pub place: Place,
}

/// Everything the gateway knows about one RPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RpcFacts {
    /// The full gRPC path: `/metabase.gateway.v1.CardService/GetCard`.
    pub path: &'static str,
    /// The capability the RPC belongs to; `None` for RPCs any identified caller may make, and
    /// for those whose grant depends on their descriptor.
    pub capability: Option<Capability>,
    /// Whether the grant depends on the Flight descriptor the request carries: the access path
    /// lets in a caller holding `cards: read` or `datasets: read`, and the handler checks the
    /// descriptor as RunCard (a saved question) or RunQuery (an ad-hoc query) checks its request.
    pub descriptor_grant: bool,
    /// The level of that capability the RPC needs.
    pub level: Level,
    /// Whether the RPC's response is a stream (its audit event is written when the stream ends).
    pub streams: bool,
    /// Whether the RPC changes Metabase (its audit event is stored before the response leaves).
    pub mutates: bool,
    /// The kind of resource its request names.
    pub resource: ResourceKind,
    /// How a call reads in an audit sentence.
    pub phrase: RpcPhrase,
}

impl RpcFacts {
    /// Returns the RPC's path without its package: `CardService/GetCard`.
    pub(crate) fn short_name(&self) -> &'static str {
        short_name(self.path)
    }
}

/// Returns the facts of the RPC at a full gRPC path (`/metabase.gateway.v1.CardService/GetCard`).
pub(crate) fn facts_for(path: &str) -> Option<&'static RpcFacts> {
    // A linear scan of ~45 short strings costs less than hashing would be worth.
    RPCS.iter().find(|facts| facts.path == path)
}

/// Finds an RPC by its full path, by its path without the leading `/`, or by its short name
/// (`CardService/GetCard`).
pub(crate) fn lookup(name: &str) -> Option<&'static RpcFacts> {
    RPCS.iter().find(|facts| facts.path == name || facts.short_name() == short_name(name))
}

/// Returns the phrase of a gateway RPC, given its full path or short name, if the table has it;
/// a path in another package has none.
pub(crate) fn phrase_for(rpc: &str) -> Option<&'static RpcPhrase> {
    facts_for(&full_path(rpc)).map(|facts| &facts.phrase)
}

/// Returns an RPC path without its package or leading `/`: `CardService/GetCard`.
pub(crate) fn short_name(path: &str) -> &str {
    let trimmed = path.trim_start_matches('/');
    let Some(slash) = trimmed.rfind('/') else {
        return trimmed;
    };
    let start = trimmed[..slash].rfind('.').map_or(0, |dot| dot + 1);
    &trimmed[start..]
}

/// Returns the method name alone: `GetCard`.
pub(crate) fn method_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Returns the full gRPC path for a full path or a short name: `CardService/GetCard` becomes
/// `/metabase.gateway.v1.CardService/GetCard`; a service with a package
/// (`grpc.health.v1.Health/Check`) only gains the leading slash, and a full path is kept.
pub fn full_path(rpc: &str) -> String {
    if rpc.starts_with('/') {
        return rpc.to_owned();
    }
    let service = rpc.split('/').next().unwrap_or_default();
    match service {
        _ if service.contains('.') => format!("/{rpc}"),
        "FlightService" => format!("/{FLIGHT_PACKAGE}.{rpc}"),
        _ => format!("/{PACKAGE}.{rpc}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashSet};

    use super::*;

    /// Reads the protos: every declared RPC by full path, with whether its response is a stream.
    fn declared_rpcs() -> BTreeMap<String, bool> {
        let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/metabase/gateway/v1");
        let mut declared = BTreeMap::new();
        for entry in std::fs::read_dir(directory).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut service = "";
            for line in text.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.trim_end_matches('{').trim();
                } else if let Some(rest) = line.strip_prefix("rpc ") {
                    let method = rest.split('(').next().unwrap_or_default().trim();
                    let returns = rest.split_once("returns").map_or("", |(_, returns)| returns);
                    let streams = returns.trim_start().trim_start_matches('(').trim_start().starts_with("stream ");
                    declared.insert(format!("/{PACKAGE}.{service}/{method}"), streams);
                }
            }
        }
        declared
    }

    /// Flight's ten methods, as `arrow/format/Flight.proto` declares them: whether each answer
    /// streams.
    const FLIGHT_METHODS: [(&str, bool); 10] = [
        ("Handshake", true),
        ("ListFlights", true),
        ("GetFlightInfo", false),
        ("PollFlightInfo", false),
        ("GetSchema", false),
        ("DoGet", true),
        ("DoPut", true),
        ("DoExchange", true),
        ("DoAction", true),
        ("ListActions", true),
    ];

    fn in_gateway_package(facts: &&RpcFacts) -> bool {
        facts.path.starts_with(&format!("/{PACKAGE}."))
    }

    #[test]
    fn every_path_is_in_the_gateway_or_flight_package_and_listed_once() {
        let mut seen = HashSet::new();
        for facts in RPCS {
            assert!(is_guarded(facts.path), "{}", facts.path);
            assert!(seen.insert(facts.path), "{} is listed twice", facts.path);
        }
        assert_eq!(RPCS.iter().filter(in_gateway_package).count(), 57);
        assert_eq!(RPCS.len(), 57 + FLIGHT_METHODS.len());
    }

    #[test]
    fn the_table_lists_every_flight_method_with_its_shape() {
        let listed: BTreeMap<&str, bool> = RPCS
            .iter()
            .filter(|facts| facts.path.starts_with(&format!("/{FLIGHT_PACKAGE}.FlightService/")))
            .map(|facts| (method_name(facts.path), facts.streams))
            .collect();
        assert_eq!(listed, BTreeMap::from(FLIGHT_METHODS));
        for method in ["GetFlightInfo", "GetSchema", "DoGet"] {
            let facts = lookup(&format!("FlightService/{method}")).unwrap();
            assert!(facts.descriptor_grant && facts.capability.is_none(), "{method}");
        }
        let list = lookup("FlightService/ListFlights").unwrap();
        assert_eq!((list.capability, list.level, list.descriptor_grant), (Some(Capability::Cards), Level::Read, false));
        assert!(RPCS.iter().all(|facts| !facts.mutates || !facts.path.contains("arrow.flight")));
    }

    #[test]
    fn the_table_lists_exactly_the_rpcs_the_protos_declare() {
        let declared: BTreeSet<String> = declared_rpcs().into_keys().collect();
        let listed: BTreeSet<String> =
            RPCS.iter().filter(in_gateway_package).map(|facts| facts.path.to_owned()).collect();

        assert!(declared.len() >= 40, "found only {declared:?}");
        assert_eq!(declared, listed);
        for path in &declared {
            assert!(phrase_for(short_name(path)).is_some(), "{path} has no phrase");
        }
    }

    #[test]
    fn exactly_the_rpcs_the_protos_declare_as_streams_stream() {
        let declared: BTreeSet<String> =
            declared_rpcs().into_iter().filter(|(_, streams)| *streams).map(|(path, _)| path).collect();
        let streaming: BTreeSet<String> = RPCS
            .iter()
            .filter(in_gateway_package)
            .filter(|facts| facts.streams)
            .map(|facts| facts.path.to_owned())
            .collect();

        assert_eq!(streaming, declared);
        let methods: BTreeSet<&str> = streaming.iter().map(|path| method_name(path)).collect();
        assert_eq!(methods, BTreeSet::from(["ExportCard", "ExportQuery", "RunCard", "RunQuery"]));
    }

    #[test]
    fn rpcs_that_change_metabase_need_full_and_the_rest_read_or_nothing() {
        for facts in RPCS {
            let expected = match (facts.capability, facts.mutates) {
                (None, _) if facts.descriptor_grant => Level::Read,
                (None, _) => Level::Off,
                (Some(_), true) => Level::Full,
                (Some(_), false) => Level::Read,
            };
            assert_eq!(facts.level, expected, "{}", facts.path);
        }
    }

    #[test]
    fn facts_are_found_by_full_path_and_by_short_name() {
        let get_card = facts_for("/metabase.gateway.v1.CardService/GetCard").unwrap();
        let delete_group = lookup("PermissionsService/DeleteGroup").unwrap();

        assert_eq!(get_card.capability, Some(Capability::Cards));
        assert_eq!(get_card.resource, ResourceKind::Card);
        assert!(!get_card.streams);
        assert_eq!(delete_group.path, "/metabase.gateway.v1.PermissionsService/DeleteGroup");
        assert!(delete_group.mutates);
        assert_eq!(
            lookup("metabase.gateway.v1.SearchService/Search").map(|facts| facts.path),
            Some("/metabase.gateway.v1.SearchService/Search")
        );
        assert!(facts_for("CardService/GetCard").is_none());
        assert!(facts_for("/metabase.gateway.v1.CardService/DeleteCard").is_none());
        assert_eq!(facts_for("/metabase.gateway.v1.GatewayService/WhoAmI").unwrap().capability, None);
        assert!(facts_for("/metabase.gateway.v1.DatasetService/RunQuery").unwrap().streams);
    }

    #[test]
    fn short_names_drop_the_package_and_the_leading_slash() {
        assert_eq!(short_name("/metabase.gateway.v1.CardService/GetCard"), "CardService/GetCard");
        assert_eq!(short_name("CardService/GetCard"), "CardService/GetCard");
        assert_eq!(short_name("/grpc.health.v1.Health/Check"), "Health/Check");
        assert_eq!(short_name("weird"), "weird");
        assert_eq!(method_name("/metabase.gateway.v1.CardService/GetCard"), "GetCard");
    }

    #[test]
    fn full_paths_gain_the_gateway_package_only_when_the_service_has_none() {
        assert_eq!(full_path("CardService/GetCard"), "/metabase.gateway.v1.CardService/GetCard");
        assert_eq!(full_path("/metabase.gateway.v1.CardService/GetCard"), "/metabase.gateway.v1.CardService/GetCard");
        assert_eq!(full_path("grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
        assert_eq!(full_path("FlightService/DoGet"), "/arrow.flight.protocol.FlightService/DoGet");
    }

    #[test]
    fn the_access_path_guards_the_gateway_and_flight_but_not_health_or_reflection() {
        assert!(is_guarded("/metabase.gateway.v1.CardService/GetCard"));
        assert!(is_guarded("/arrow.flight.protocol.FlightService/DoGet"));
        assert!(is_guarded("/arrow.flight.protocol.FlightService/NoSuchMethod"));
        assert!(!is_guarded("/grpc.health.v1.Health/Check"));
        assert!(!is_guarded("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
        assert!(!is_guarded("/metabase.gateway.v1x.CardService/GetCard"));
    }

    #[test]
    fn phrases_are_found_by_full_path_or_short_name_but_not_under_another_package() {
        assert_eq!(phrase_for("/metabase.gateway.v1.CardService/RunCard").map(|phrase| phrase.past), Some("ran"));
        assert_eq!(phrase_for("CardService/RunCard").map(|phrase| phrase.past), Some("ran"));
        assert_eq!(phrase_for("/other.v1.CardService/RunCard"), None);
        assert_eq!(phrase_for("/grpc.health.v1.Health/Check"), None);
    }
}
