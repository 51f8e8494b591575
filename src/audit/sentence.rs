//! The readable sentence of an audit event, such as
//! "orders-api ran saved question 42 in collection 7: allowed, 1,532 rows, 84 ms" or
//! "agent-7 tried to create a user: denied, its policy grants users: off".

use std::collections::BTreeMap;

use super::event::Decision;
use crate::rpcs::{Object, Place, RpcPhrase, phrase_for, short_name};

/// Who the sentence names when the caller was not identified.
const UNIDENTIFIED: &str = "an unidentified caller";

/// Returns a sentence a person can read for one call: who did what to which resources, what the
/// policy decided and why, and how the call ended (rows, failure code, duration).
///
/// A denied call reads "tried to ..." and ends with the reason; an allowed or dry-run call reads
/// in the past tense and ends with the outcome and duration. Rows and milliseconds carry
/// thousands separators; an RPC outside the gateway's table reads "called Service/Method".
#[allow(clippy::too_many_arguments)]
pub(crate) fn sentence(
    principal: &str,
    rpc: &str,
    resources: &BTreeMap<String, i64>,
    decision: Decision,
    reason: &str,
    rows: Option<i64>,
    duration_ms: i64,
    grpc_code: &str,
) -> String {
    let subject = if principal.is_empty() { UNIDENTIFIED } else { principal };
    let reason_clause = if reason.is_empty() { String::new() } else { format!(", {reason}") };
    let duration = format!("{} ms", thousands(duration_ms));
    match decision {
        Decision::Denied => {
            let action = action(rpc, resources, Tense::Infinitive);
            format!("{subject} tried to {action}: denied{reason_clause}")
        }
        Decision::Allowed => {
            let action = action(rpc, resources, Tense::Past);
            let outcome = outcome(grpc_code, rows);
            format!("{subject} {action}: allowed{outcome}, {duration}")
        }
        Decision::DryRunDenied => {
            let action = action(rpc, resources, Tense::Past);
            let outcome = outcome(grpc_code, rows);
            format!("{subject} {action}: would be denied (dry run){reason_clause}{outcome}, {duration}")
        }
    }
}

/// Names what a call's query did, as the query inspector found it, in a sentence made by
/// [`sentence`]: "agent-7 ran an ad-hoc query on database 1: ..." becomes "agent-7 ran native SQL
/// on database 1: ...", and a saved question's query is added after the action ("created a saved
/// question in collection 2 with an MBQL query on database 1: ...").
pub(crate) fn name_query(sentence: &str, query: &str) -> String {
    const AD_HOC: &str = "an ad-hoc query";
    if let Some(start) = sentence.find(AD_HOC) {
        let rest = &sentence[start + AD_HOC.len()..];
        // The inspector's phrase names the databases itself, so the place goes.
        let rest = match rest.strip_prefix(" on database ") {
            Some(after) => after.trim_start_matches(|character: char| character.is_ascii_digit()),
            None => rest,
        };
        return format!("{}{query}{rest}", &sentence[..start]);
    }
    match sentence.find(": ") {
        Some(colon) => format!("{} with {query}{}", &sentence[..colon], &sentence[colon..]),
        None => format!("{sentence} with {query}"),
    }
}

/// Adds the bytes an export sent to its sentence, after its rows or its outcome: "... allowed,
/// 10 rows, 1,234 bytes, 5 ms".
pub(crate) fn name_bytes(sentence: &str, bytes: u64) -> String {
    let amount = format!("{} bytes", thousands(i64::try_from(bytes).unwrap_or(i64::MAX)));
    // The duration is the sentence's last clause; the bytes go just before it.
    match sentence.rfind(", ") {
        Some(last) if sentence.ends_with(" ms") => format!("{}, {amount}{}", &sentence[..last], &sentence[last..]),
        _ => format!("{sentence}, {amount}"),
    }
}

/// Formats an integer with a comma every three digits: `1532` becomes `1,532`.
pub fn thousands(number: i64) -> String {
    let digits = number.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if number < 0 {
        grouped.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[derive(Clone, Copy)]
enum Tense {
    Past,
    Infinitive,
}

/// Returns the verb phrase with its object and place, such as "ran saved question 42 in
/// collection 7" or "run an ad-hoc query on database 1".
fn action(rpc: &str, resources: &BTreeMap<String, i64>, tense: Tense) -> String {
    let Some(phrase) = phrase_for(rpc) else {
        let verb = match tense {
            Tense::Past => "called",
            Tense::Infinitive => "call",
        };
        return format!("{verb} {}", short_name(rpc));
    };
    let verb = match tense {
        Tense::Past => phrase.past,
        Tense::Infinitive => phrase.infinitive,
    };
    let object = object(phrase, resources);
    let place = place(phrase, resources);
    format!("{verb} {object}{place}")
}

fn object(phrase: &RpcPhrase, resources: &BTreeMap<String, i64>) -> String {
    match phrase.object {
        Object::Fixed(text) => text.to_owned(),
        Object::Resource { kind, with_id, without_id } => match resources.get(kind) {
            Some(id) => with_id.replace("{}", &id.to_string()),
            None => without_id.to_owned(),
        },
    }
}

fn place(phrase: &RpcPhrase, resources: &BTreeMap<String, i64>) -> String {
    let (kind, preposition) = match phrase.place {
        Place::None => return String::new(),
        Place::Collection => ("collection", "in"),
        Place::Database => ("database", "on"),
    };
    match resources.get(kind) {
        Some(id) => format!(" {preposition} {kind} {id}"),
        None => String::new(),
    }
}

/// Returns ", 1,532 rows" for a call that ended OK, or ", failed with NOT_FOUND" (with
/// " after 10 rows" when rows had been sent) for one that did not.
fn outcome(grpc_code: &str, rows: Option<i64>) -> String {
    let succeeded = grpc_code.is_empty() || grpc_code == "OK";
    match (succeeded, rows) {
        (true, None) => String::new(),
        (true, Some(count)) => format!(", {}", row_count(count)),
        (false, None) => format!(", failed with {grpc_code}"),
        (false, Some(count)) => format!(", failed with {grpc_code} after {}", row_count(count)),
    }
}

fn row_count(count: i64) -> String {
    if count == 1 { "1 row".to_owned() } else { format!("{} rows", thousands(count)) }
}

#[cfg(test)]
mod query_tests {
    use super::name_query;

    #[test]
    fn the_inspectors_finding_replaces_the_ad_hoc_query_or_follows_the_action() {
        let cases = [
            (
                "agent-7 ran an ad-hoc query on database 1: allowed, 3 rows, 4 ms",
                "native SQL on database 1",
                "agent-7 ran native SQL on database 1: allowed, 3 rows, 4 ms",
            ),
            (
                "agent-7 tried to run an ad-hoc query on database 12: denied, native SQL needs datasets: full",
                "native SQL on database 12",
                "agent-7 tried to run native SQL on database 12: denied, native SQL needs datasets: full",
            ),
            (
                "agent-7 ran an ad-hoc query: allowed, 1 row, 2 ms",
                "an MBQL query on database 1 reading saved question 9",
                "agent-7 ran an MBQL query on database 1 reading saved question 9: allowed, 1 row, 2 ms",
            ),
            (
                "bot created a saved question in collection 2: allowed, 9 ms",
                "an MBQL query on database 1",
                "bot created a saved question in collection 2 with an MBQL query on database 1: allowed, 9 ms",
            ),
        ];
        for (sentence, query, expected) in cases {
            assert_eq!(name_query(sentence, query), expected);
        }
    }

    #[test]
    fn an_exports_bytes_go_before_its_duration() {
        assert_eq!(
            super::name_bytes("bot exported saved question 4: allowed, 10 rows, 5 ms", 12_345),
            "bot exported saved question 4: allowed, 10 rows, 12,345 bytes, 5 ms"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpcs::{PACKAGE, RPCS};

    fn resources(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(kind, id)| ((*kind).to_owned(), *id)).collect()
    }

    fn path(name: &str) -> String {
        format!("/{PACKAGE}.{name}")
    }

    #[test]
    fn allowed_run_reads_with_rows_and_duration() {
        let touched = resources(&[("card", 42), ("collection", 7)]);
        let text =
            sentence("orders-api", &path("CardService/RunCard"), &touched, Decision::Allowed, "", Some(1532), 84, "OK");
        assert_eq!(text, "orders-api ran saved question 42 in collection 7: allowed, 1,532 rows, 84 ms");
    }

    #[test]
    fn denied_call_reads_tried_to_with_the_reason() {
        let reason = "its policy grants users: off";
        let text = sentence(
            "agent-7",
            &path("UserService/CreateUser"),
            &resources(&[]),
            Decision::Denied,
            reason,
            None,
            3,
            "PERMISSION_DENIED",
        );
        assert_eq!(text, "agent-7 tried to create a user: denied, its policy grants users: off");
        let run = sentence(
            "agent-7",
            &path("CardService/RunCard"),
            &resources(&[("card", 42)]),
            Decision::Denied,
            "",
            None,
            1,
            "PERMISSION_DENIED",
        );
        assert_eq!(run, "agent-7 tried to run saved question 42: denied");
    }

    #[test]
    fn allowed_call_that_failed_upstream_names_the_code() {
        let text = sentence(
            "orders-api",
            &path("CardService/GetCard"),
            &resources(&[("card", 42)]),
            Decision::Allowed,
            "",
            None,
            12,
            "NOT_FOUND",
        );
        assert_eq!(text, "orders-api read saved question 42: allowed, failed with NOT_FOUND, 12 ms");
        let streamed = sentence(
            "orders-api",
            &path("CardService/RunCard"),
            &resources(&[("card", 42)]),
            Decision::Allowed,
            "",
            Some(2000),
            40,
            "INTERNAL",
        );
        assert_eq!(streamed, "orders-api ran saved question 42: allowed, failed with INTERNAL after 2,000 rows, 40 ms");
    }

    #[test]
    fn dry_run_denial_reads_would_be_denied_with_reason_and_duration() {
        let reason = "its policy grants users: off";
        let text = sentence(
            "agent-7",
            &path("UserService/CreateUser"),
            &resources(&[]),
            Decision::DryRunDenied,
            reason,
            None,
            5,
            "OK",
        );
        assert_eq!(text, "agent-7 created a user: would be denied (dry run), its policy grants users: off, 5 ms");
    }

    #[test]
    fn ad_hoc_queries_name_their_database() {
        let touched = resources(&[("database", 1)]);
        let text =
            sentence("agent-7", &path("DatasetService/RunQuery"), &touched, Decision::Allowed, "", Some(1), 1234, "OK");
        assert_eq!(text, "agent-7 ran an ad-hoc query on database 1: allowed, 1 row, 1,234 ms");
    }

    #[test]
    fn unknown_rpcs_and_unidentified_callers_still_read() {
        let text = sentence(
            "",
            "/grpc.health.v1.Health/Check",
            &resources(&[]),
            Decision::Denied,
            "",
            None,
            0,
            "UNAUTHENTICATED",
        );
        assert_eq!(text, "an unidentified caller tried to call Health/Check: denied");
        let allowed =
            sentence("ops", "/grpc.health.v1.Health/Check", &resources(&[]), Decision::Allowed, "", None, 0, "OK");
        assert_eq!(allowed, "ops called Health/Check: allowed, 0 ms");
    }

    #[test]
    fn numbers_carry_thousands_separators() {
        let cases = [(0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (1532, "1,532"), (999_999, "999,999")];
        for (number, expected) in cases {
            assert_eq!(thousands(number), expected);
        }
        assert_eq!(thousands(1_048_575), "1,048,575");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn every_rpc_in_the_table_has_its_own_phrase_in_both_tenses() {
        for facts in RPCS {
            let (rpc, phrase) = (facts.path, facts.phrase);
            let allowed = sentence("p", rpc, &resources(&[]), Decision::Allowed, "", None, 1, "OK");
            let denied = sentence("p", rpc, &resources(&[]), Decision::Denied, "r", None, 1, "PERMISSION_DENIED");
            assert!(!allowed.contains("called"), "{rpc}: {allowed}");
            assert!(allowed.starts_with(&format!("p {} ", phrase.past)), "{rpc}: {allowed}");
            assert!(denied.starts_with(&format!("p tried to {} ", phrase.infinitive)), "{rpc}: {denied}");
            assert!(!allowed.contains("{}") && !denied.contains("{}"), "{rpc}: {allowed}");
        }
    }
}
