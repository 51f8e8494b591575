//! Owns `policy explain`: the decision for one hypothetical call, written out for a person with
//! the rule that made it, its grants and narrowing, and the limits that would apply.

use super::decide::{CollectionScope, Request, authorize};
use super::load::Policy;
use super::model::PrincipalRule;
use crate::rpcs;

/// Explains what the policy decides for a principal calling an RPC, given as a short name
/// (`CardService/GetCard`) or a full gRPC path, with what the call would touch.
pub fn explain(
    policy: &Policy,
    principal: &str,
    rpc: &str,
    native_sql: bool,
    collection: Option<CollectionScope>,
    database: Option<i64>,
) -> String {
    let path = rpcs::lookup(rpc).map_or(rpc, |facts| facts.path);
    let request = Request { principal, rpc: path, native_sql, collection, database };
    let decision = authorize(policy, &request);
    let verdict = if decision.allowed { "ALLOWED" } else { "DENIED" };
    let dry_run = if decision.enforced { "" } else { " (dry run: not enforced)" };
    let mut lines = vec![format!("{verdict}{dry_run}: {principal} calling {}", rpcs::short_name(path))];
    let rule = decision.rule.and_then(|index| policy.rule(index).map(|rule| (index, rule)));
    match rule {
        Some((index, rule)) => {
            lines.push(format!("rule: principals[{index}], match {:?}", rule.pattern));
            lines.push(format!("grants: {}", describe_grants(rule)));
            let collections = describe_list(rule.collections.as_deref(), " and everything below them");
            lines.push(format!("collections: {collections}"));
            lines.push(format!("databases: {}", describe_list(rule.databases.as_deref(), "")));
        }
        None => lines.push("rule: none matches".to_owned()),
    }
    lines.push(format!("reason: {}", decision.reason));
    if let Some(missing) = &decision.missing {
        lines.push(format!("missing: {missing}"));
    }
    if let Some(rpc_rule) = rpcs::facts_for(path) {
        let changes = if rpc_rule.mutates { "changes Metabase" } else { "reads only" };
        let needs = match rpc_rule.capability {
            Some(capability) => format!("{capability}: {}", rpc_rule.level),
            None if rpc_rule.descriptor_grant => {
                "cards: read for a saved question, datasets: read (full for native SQL) for a query".to_owned()
            }
            None => "any identified caller".to_owned(),
        };
        lines.push(format!("rpc: needs {needs}; {changes}"));
    }
    if let Some((index, rule)) = rule {
        let max_rows = rule.max_rows.map_or("no limit beyond the export cap".to_owned(), |rows| rows.to_string());
        let rate = policy.rate(index).map_or("unlimited".to_owned(), |rate| rate.to_string());
        lines.push(format!("max_rows: {max_rows}"));
        lines.push(format!("rate: {rate}"));
        if let Some(shared) = policy.rule_rate(index) {
            lines.push(format!("rule_rate: {shared}, shared by every principal the rule matches"));
        }
        lines.push(format!("credential: {}", policy.credential_for(index).unwrap_or("the gateway's own")));
    }
    lines.join("\n")
}

fn describe_grants(rule: &PrincipalRule) -> String {
    if rule.grants.is_empty() {
        return "none (everything is off)".to_owned();
    }
    rule.grants.iter().map(|(capability, level)| format!("{capability}: {level}")).collect::<Vec<_>>().join(", ")
}

fn describe_list(ids: Option<&[i64]>, below: &str) -> String {
    match ids {
        None => "any".to_owned(),
        Some(ids) => format!("only {ids:?}{below}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fixtures::API_EXAMPLE;

    const ORDERS: &str = "spiffe://cluster.local/ns/orders/sa/orders-api";

    #[test]
    fn an_allowed_call_shows_the_rule_its_grants_and_limits() {
        let policy = Policy::parse(API_EXAMPLE).unwrap();
        let scope = CollectionScope { id: Some(12), ancestors: vec![5] };

        let text = explain(&policy, ORDERS, "CardService/RunCard", false, Some(scope), None);

        assert_eq!(
            text,
            "ALLOWED: spiffe://cluster.local/ns/orders/sa/orders-api calling CardService/RunCard\n\
             rule: principals[0], match \"spiffe://cluster.local/ns/orders/sa/orders-api\"\n\
             grants: cards: read, collections: read, dashboards: read, search: read\n\
             collections: only [5] and everything below them\n\
             databases: any\n\
             reason: its policy grants cards: read\n\
             rpc: needs cards: read; reads only\n\
             max_rows: 100000\n\
             rate: 50/s\n\
             credential: reporting"
        );
    }

    #[test]
    fn a_denied_call_shows_the_reason_and_the_missing_grant() {
        let policy = Policy::parse(API_EXAMPLE).unwrap();

        let text = explain(
            &policy,
            "spiffe://cluster.local/ns/agents/sa/a",
            "/metabase.gateway.v1.DatasetService/RunQuery",
            true,
            None,
            Some(1),
        );

        assert!(
            text.starts_with("DENIED: spiffe://cluster.local/ns/agents/sa/a calling DatasetService/RunQuery\n"),
            "{text}"
        );
        assert!(
            text.contains("\nreason: native SQL needs datasets: full; its policy grants datasets: read\n"),
            "{text}"
        );
        assert!(text.contains("\nmissing: datasets: full\n"), "{text}");
        assert!(text.contains("\nmax_rows: no limit beyond the export cap\nrate: 5/s\ncredential: default"), "{text}");
    }

    #[test]
    fn a_rule_rate_is_shown_only_when_the_rule_has_one() {
        let shared = API_EXAMPLE.replace("    rate: 5/s\n", "    rate: 5/s\n    rule_rate: 100/m\n");
        let policy = Policy::parse(&shared).unwrap();
        let agent = "spiffe://cluster.local/ns/agents/sa/a";

        let text = explain(&policy, agent, "SearchService/Search", false, None, None);
        let orders = explain(&policy, ORDERS, "SearchService/Search", false, None, None);

        assert!(
            text.contains("\nrate: 5/s\nrule_rate: 100/m, shared by every principal the rule matches\ncredential:"),
            "{text}"
        );
        assert!(!orders.contains("rule_rate"), "{orders}");
    }

    #[test]
    fn an_unmatched_principal_and_a_dry_run_are_spelt_out() {
        let policy = Policy::parse(&API_EXAMPLE.replace("dry_run: false", "dry_run: true")).unwrap();

        let text = explain(&policy, "stranger", "SearchService/Search", false, None, None);

        assert!(text.starts_with("DENIED (dry run: not enforced): stranger calling SearchService/Search\n"), "{text}");
        assert!(text.contains("\nrule: none matches\nreason: no policy rule matches principal stranger\n"), "{text}");
        assert!(!text.contains("max_rows"), "{text}");
    }
}
