//! Owns the decision: given a policy and one call (principal, RPC, and what the request touches),
//! [`authorize`] says whether it is allowed and why, in words an audit log can show a person. It
//! is pure: no I/O, no clock, so every rule can be tested by table.

use super::load::Policy;
use super::model::{Capability, Level, PrincipalRule};
use crate::rpcs::{self, RpcFacts};

/// A collection a request touches, with its ancestors so that narrowing covers subtrees.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectionScope {
    /// The collection's id; `None` is the root collection.
    pub id: Option<i64>,
    /// The ids of the collections above it, from Metabase's `location` (`/1/4/` gives 1 and 4).
    pub ancestors: Vec<i64>,
}

/// One call to decide on.
#[derive(Clone, Debug)]
pub(crate) struct Request<'a> {
    /// The caller's identity, as the identity layer found it.
    pub principal: &'a str,
    /// The full gRPC path, such as `/metabase.gateway.v1.CardService/GetCard`.
    pub rpc: &'a str,
    /// Whether the call runs native SQL (which needs `datasets: full`).
    pub native_sql: bool,
    /// The collection the call touches, when it touches one.
    pub collection: Option<CollectionScope>,
    /// The database the call touches, when it touches one.
    pub database: Option<i64>,
}

/// The outcome of [`authorize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Whether the policy allows the call.
    pub allowed: bool,
    /// False in dry-run mode: `allowed` is then what would be decided, and the call proceeds.
    pub enforced: bool,
    /// The index of the principal rule that matched, if any did.
    pub rule: Option<usize>,
    /// That rule's `match` text.
    pub matched: Option<String>,
    /// Why, as a sentence fragment: `its policy grants users: off`.
    pub reason: String,
    /// For a missing grant, the grant that would allow the call: `users: full`.
    pub missing: Option<String>,
}

/// Decides whether the policy allows a call. The first rule whose `match` fits the principal
/// applies; no rule, an unknown RPC, a grant below what the RPC needs, or a collection or database
/// outside the rule's allow-lists each deny.
pub(crate) fn authorize(policy: &Policy, request: &Request) -> Decision {
    authorize_with(policy, policy.matching_rule(request.principal), request)
}

/// Decides like [`authorize`] under a rule already matched to the principal (`rule_index`, as
/// [`Policy::matching_rule`] returned it), so a second check on one call does not match again.
pub(crate) fn authorize_with(policy: &Policy, rule_index: Option<usize>, request: &Request) -> Decision {
    let rule = rule_index.and_then(|index| policy.rule(index));
    let verdict = match (rule, rpcs::facts_for(request.rpc)) {
        (None, _) => Verdict::deny(format!("no policy rule matches principal {}", request.principal)),
        (Some(_), None) => Verdict::deny(format!("unknown rpc {}", request.rpc)),
        (Some(rule), Some(rpc_rule)) => judge(rule, rpc_rule, request),
    };
    Decision {
        allowed: verdict.allowed,
        enforced: !policy.dry_run(),
        rule: rule_index,
        matched: rule.map(|rule| rule.pattern.clone()),
        reason: verdict.reason,
        missing: verdict.missing,
    }
}

/// The part of a decision that depends on the rule alone.
struct Verdict {
    allowed: bool,
    reason: String,
    missing: Option<String>,
}

impl Verdict {
    fn deny(reason: String) -> Verdict {
        Verdict { allowed: false, reason, missing: None }
    }
}

/// The grant a Flight call holds before its descriptor is read: the handler checks the
/// descriptor as RunCard or RunQuery checks its request, so here a caller needs one of the two.
fn judge_descriptor_grant(rule: &PrincipalRule, request: &Request) -> Verdict {
    let (cards, datasets) = (rule.level(Capability::Cards), rule.level(Capability::Datasets));
    let grants = format!("its policy grants cards: {cards}, datasets: {datasets}");
    if cards >= Level::Read || datasets >= Level::Read {
        return Verdict { allowed: true, reason: grants, missing: None };
    }
    let method = rpcs::method_name(request.rpc);
    Verdict {
        allowed: false,
        reason: format!("{grants}; {method} needs cards: read for a saved question or datasets: read for a query"),
        missing: Some("cards: read or datasets: read".to_owned()),
    }
}

fn judge(rule: &PrincipalRule, rpc_rule: &RpcFacts, request: &Request) -> Verdict {
    if rpc_rule.descriptor_grant {
        return judge_descriptor_grant(rule, request);
    }
    let Some(capability) = rpc_rule.capability else {
        let reason = format!("any identified caller may call {}", rpcs::method_name(request.rpc));
        return Verdict { allowed: true, reason, missing: None };
    };
    let granted = rule.level(capability);
    let grants = format!("its policy grants {capability}: {granted}");
    let native = request.native_sql && capability == Capability::Datasets;
    let needed = if native { Level::Full } else { rpc_rule.level };
    if granted < needed {
        let reason = match (native, granted) {
            (true, _) => format!("native SQL needs {capability}: {needed}; {grants}"),
            (false, Level::Off) => grants,
            (false, _) => format!("{grants}; {} needs {needed}", rpcs::method_name(request.rpc)),
        };
        return Verdict { allowed: false, reason, missing: Some(format!("{capability}: {needed}")) };
    }
    if let Some(scope) = &request.collection
        && !rule_allows_collection(rule, scope)
    {
        let place = scope.id.map_or_else(|| "the root collection".to_owned(), |id| format!("collection {id}"));
        let listed = rule.collections.as_deref().unwrap_or_default();
        return Verdict::deny(format!("{place} is outside its collections {listed:?}"));
    }
    if let Some(database) = request.database
        && !rule_allows_database(rule, database)
    {
        let listed = rule.databases.as_deref().unwrap_or_default();
        return Verdict::deny(format!("database {database} is outside its databases {listed:?}"));
    }
    Verdict { allowed: true, reason: grants, missing: None }
}

fn rule_allows_collection(rule: &PrincipalRule, scope: &CollectionScope) -> bool {
    let Some(listed) = &rule.collections else {
        return true;
    };
    // The root is above every listed collection, so a narrowed principal never reaches it.
    let Some(id) = scope.id else {
        return false;
    };
    listed.contains(&id) || scope.ancestors.iter().any(|ancestor| listed.contains(ancestor))
}

fn rule_allows_database(rule: &PrincipalRule, database: i64) -> bool {
    rule.databases.as_ref().is_none_or(|listed| listed.contains(&database))
}

/// Reports whether the rule lets its principals reach a collection (for filtering lists): true
/// when the rule lists no collections, or lists the collection or one of its ancestors. No rule
/// reaches nothing.
pub(crate) fn allows_collection(policy: &Policy, rule_index: Option<usize>, scope: &CollectionScope) -> bool {
    rule_index.and_then(|index| policy.rule(index)).is_some_and(|rule| rule_allows_collection(rule, scope))
}

/// Reports whether the rule lets its principals reach a database (for filtering lists): true when
/// the rule lists no databases, or lists this one. No rule reaches nothing.
pub(crate) fn allows_database(policy: &Policy, rule_index: Option<usize>, database: i64) -> bool {
    rule_index.and_then(|index| policy.rule(index)).is_some_and(|rule| rule_allows_database(rule, database))
}

/// Returns the most rows one query may return under the rule, if it sets a limit.
pub(crate) fn max_rows(policy: &Policy, rule_index: Option<usize>) -> Option<u64> {
    rule_index.and_then(|index| policy.rule(index)).and_then(|rule| rule.max_rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpcs::RPCS;

    const AGENT: &str = "spiffe://cluster.local/ns/agents/sa/agent-7";
    const RUN_QUERY: &str = "/metabase.gateway.v1.DatasetService/RunQuery";
    const GET_COLLECTION: &str = "/metabase.gateway.v1.CollectionService/GetCollection";
    const GET_DATABASE: &str = "/metabase.gateway.v1.DatabaseService/GetDatabase";

    fn policy(rules: &str) -> Policy {
        Policy::parse(&format!("version: 1\nprincipals:\n{rules}")).unwrap()
    }

    fn agents_granted(grants: &str) -> Policy {
        policy(&format!("  - match: \"spiffe://cluster.local/ns/agents/sa/*\"\n    grants: {grants}\n"))
    }

    fn call<'a>(principal: &'a str, rpc: &'a str) -> Request<'a> {
        Request { principal, rpc, native_sql: false, collection: None, database: None }
    }

    fn in_collection(id: Option<i64>, ancestors: &[i64]) -> Request<'static> {
        let scope = CollectionScope { id, ancestors: ancestors.to_vec() };
        Request { collection: Some(scope), ..call(AGENT, GET_COLLECTION) }
    }

    #[test]
    fn every_rpc_is_allowed_exactly_when_its_capability_level_suffices() {
        for capability in Capability::ALL {
            for level in [Level::Off, Level::Read, Level::Full] {
                let policy = agents_granted(&format!("{{ {capability}: {level} }}"));
                for rpc_rule in RPCS.iter().filter(|facts| facts.capability.is_some()) {
                    let path = rpc_rule.path;
                    let decision = authorize(&policy, &call(AGENT, path));
                    let suffices = rpc_rule.capability == Some(capability) && level >= rpc_rule.level;
                    assert_eq!(decision.allowed, suffices, "{capability}: {level} calling {path}: {}", decision.reason);
                    let needed = rpc_rule.capability.map(|needed| format!("{needed}: {}", rpc_rule.level));
                    assert_eq!(decision.missing, if suffices { None } else { needed }, "{path}");
                }
                let native = authorize(&policy, &Request { native_sql: true, ..call(AGENT, RUN_QUERY) });
                assert_eq!(native.allowed, capability == Capability::Datasets && level == Level::Full);
            }
        }
    }

    #[test]
    fn every_capability_has_a_read_rpc_and_all_but_search_and_audit_a_full_one() {
        for capability in Capability::ALL {
            let levels: Vec<Level> =
                RPCS.iter().filter(|facts| facts.capability == Some(capability)).map(|facts| facts.level).collect();
            assert!(levels.contains(&Level::Read), "{capability}");
            let has_full = levels.contains(&Level::Full) || capability == Capability::Datasets;
            assert_eq!(has_full, !matches!(capability, Capability::Search | Capability::Audit), "{capability}");
        }
    }

    #[test]
    fn flight_reads_let_in_a_caller_with_cards_or_datasets_and_leave_the_descriptor_to_the_handler() {
        const DO_GET: &str = "/arrow.flight.protocol.FlightService/DoGet";
        for (grants, allowed) in [
            ("{ cards: read }", true),
            ("{ datasets: read }", true),
            ("{ datasets: full }", true),
            ("{ dashboards: full, users: full }", false),
            ("{}", false),
        ] {
            let decision = authorize(&agents_granted(grants), &call(AGENT, DO_GET));
            assert_eq!(decision.allowed, allowed, "{grants}: {}", decision.reason);
            if !allowed {
                assert_eq!(decision.missing.as_deref(), Some("cards: read or datasets: read"));
                assert!(
                    decision.reason.contains("DoGet needs cards: read for a saved question"),
                    "{}",
                    decision.reason
                );
            }
        }
        let list = authorize(
            &agents_granted("{ datasets: full }"),
            &call(AGENT, "/arrow.flight.protocol.FlightService/ListFlights"),
        );
        assert!(!list.allowed, "ListFlights lists saved questions, which needs cards: read");
    }

    #[test]
    fn denials_say_what_is_granted_and_what_is_needed() {
        let policy = agents_granted("{ cards: read, datasets: read }");
        let create_user = authorize(&policy, &call(AGENT, "/metabase.gateway.v1.UserService/CreateUser"));
        let create_card = authorize(&policy, &call(AGENT, "/metabase.gateway.v1.CardService/CreateCard"));
        let get_card = authorize(&policy, &call(AGENT, "/metabase.gateway.v1.CardService/GetCard"));

        assert_eq!(create_user.reason, "its policy grants users: off");
        assert_eq!(create_user.missing.as_deref(), Some("users: full"));
        assert_eq!(create_card.reason, "its policy grants cards: read; CreateCard needs full");
        assert_eq!(create_card.missing.as_deref(), Some("cards: full"));
        assert!(get_card.allowed);
        assert_eq!(get_card.reason, "its policy grants cards: read");
        assert_eq!(get_card.matched.as_deref(), Some("spiffe://cluster.local/ns/agents/sa/*"));
    }

    #[test]
    fn an_unknown_principal_is_denied_every_rpc() {
        let policy = agents_granted("{ \"*\": full }");

        for path in RPCS.iter().map(|facts| facts.path) {
            let decision = authorize(&policy, &call("spiffe://cluster.local/ns/other/sa/x", path));
            assert!(!decision.allowed, "{path}");
            assert_eq!(decision.rule, None);
            assert_eq!(decision.reason, "no policy rule matches principal spiffe://cluster.local/ns/other/sa/x");
        }
    }

    #[test]
    fn an_unknown_rpc_is_denied_and_gateway_rpcs_need_no_grant() {
        let policy = agents_granted("{}");

        let unknown = authorize(&policy, &call(AGENT, "/metabase.gateway.v1.CardService/DeleteCard"));
        let who_am_i = authorize(&policy, &call(AGENT, "/metabase.gateway.v1.GatewayService/WhoAmI"));

        assert!(!unknown.allowed);
        assert_eq!(unknown.reason, "unknown rpc /metabase.gateway.v1.CardService/DeleteCard");
        assert!(who_am_i.allowed, "{}", who_am_i.reason);
    }

    #[test]
    fn a_star_grant_covers_every_capability_unless_one_is_named() {
        let policy = agents_granted("{ \"*\": read, users: off, cards: full }");

        assert!(authorize(&policy, &call(AGENT, "/metabase.gateway.v1.AuditService/ListAuditEvents")).allowed);
        assert!(authorize(&policy, &call(AGENT, "/metabase.gateway.v1.CardService/CreateCard")).allowed);
        assert!(!authorize(&policy, &call(AGENT, "/metabase.gateway.v1.DashboardService/CreateDashboard")).allowed);
        let users = authorize(&policy, &call(AGENT, "/metabase.gateway.v1.UserService/ListUsers"));
        assert_eq!(users.reason, "its policy grants users: off");
    }

    #[test]
    fn glob_principals_match_and_the_first_matching_rule_wins() {
        let policy = policy(
            "  - match: \"spiffe://cluster.local/ns/agents/sa/*\"\n    grants: { cards: read }\n  \
             - match: \"spiffe://cluster.local/ns/agents/sa/special\"\n    grants: { cards: full }\n",
        );
        let create = "/metabase.gateway.v1.CardService/CreateCard";

        let special = authorize(&policy, &call("spiffe://cluster.local/ns/agents/sa/special", create));
        let nested = authorize(&policy, &call("spiffe://cluster.local/ns/agents/sa/team/a", GET_COLLECTION));

        assert_eq!(special.rule, Some(0));
        assert!(!special.allowed);
        assert_eq!(nested.rule, Some(0));
    }

    #[test]
    fn datasets_read_allows_mbql_but_not_native_sql() {
        let policy = agents_granted("{ datasets: read }");

        let mbql = authorize(&policy, &call(AGENT, RUN_QUERY));
        let native = authorize(&policy, &Request { native_sql: true, ..call(AGENT, RUN_QUERY) });

        assert!(mbql.allowed);
        assert!(!native.allowed);
        assert_eq!(native.reason, "native SQL needs datasets: full; its policy grants datasets: read");
        assert_eq!(native.missing.as_deref(), Some("datasets: full"));
    }

    #[test]
    fn collection_narrowing_covers_subtrees_but_not_siblings_or_the_root() {
        let policy = agents_granted("{ collections: read }\n    collections: [5]");

        assert!(authorize(&policy, &in_collection(Some(5), &[])).allowed);
        assert!(authorize(&policy, &in_collection(Some(12), &[5, 9])).allowed);
        assert!(authorize(&policy, &call(AGENT, GET_COLLECTION)).allowed);
        let sibling = authorize(&policy, &in_collection(Some(12), &[3]));
        let root = authorize(&policy, &in_collection(None, &[]));
        assert_eq!(sibling.reason, "collection 12 is outside its collections [5]");
        assert_eq!(root.reason, "the root collection is outside its collections [5]");
        assert!(!sibling.allowed && !root.allowed);
        let scope = CollectionScope { id: Some(7), ancestors: vec![5] };
        assert!(allows_collection(&policy, Some(0), &scope));
        assert!(!allows_collection(&policy, Some(0), &CollectionScope::default()));
        assert!(!allows_collection(&policy, None, &scope));
        assert!(allows_collection(&agents_granted("{}"), Some(0), &CollectionScope::default()));
    }

    #[test]
    fn database_narrowing_allows_only_listed_databases() {
        let policy = agents_granted("{ databases: read }\n    databases: [1]\n    max_rows: 500");

        let listed = authorize(&policy, &Request { database: Some(1), ..call(AGENT, GET_DATABASE) });
        let other = authorize(&policy, &Request { database: Some(3), ..call(AGENT, GET_DATABASE) });

        assert!(listed.allowed);
        assert!(!other.allowed);
        assert_eq!(other.reason, "database 3 is outside its databases [1]");
        assert!(allows_database(&policy, Some(0), 1) && !allows_database(&policy, Some(0), 3));
        assert!(allows_database(&agents_granted("{}"), Some(0), 3));
        assert_eq!(max_rows(&policy, Some(0)), Some(500));
        assert_eq!(max_rows(&policy, None), None);
    }

    #[test]
    fn dry_run_reports_the_denial_without_enforcing_it() {
        let text = "version: 1\ndry_run: true\nprincipals:\n  - match: \"*\"\n    grants: { cards: read }\n";
        let policy = Policy::parse(text).unwrap();

        let decision = authorize(&policy, &call(AGENT, "/metabase.gateway.v1.UserService/ListUsers"));

        assert!(!decision.allowed);
        assert!(!decision.enforced);
        assert_eq!(decision.reason, "its policy grants users: off");
    }
}
