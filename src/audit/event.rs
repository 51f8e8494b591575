//! The audit event: one record per gRPC call, with who called, what they touched, what the policy
//! decided and how the call ended.
//!
//! The type has no field for a credential or for row data, so neither can be recorded by mistake;
//! request parameters are kept because they say what was asked.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sentence::sentence;

/// The policy decision recorded for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The policy allowed the call.
    Allowed,
    /// The policy denied the call, which ended with `PERMISSION_DENIED`.
    Denied,
    /// The policy would have denied the call, but `dry_run` let it through.
    DryRunDenied,
}

impl Decision {
    /// Every decision, in the order the API lists them.
    pub const ALL: [Decision; 3] = [Decision::Allowed, Decision::Denied, Decision::DryRunDenied];

    /// Returns the decision's stored and logged name: `allowed`, `denied` or `dry-run-denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Denied => "denied",
            Decision::DryRunDenied => "dry-run-denied",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The error returned when a string names no [`Decision`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit decision {name:?}: expected allowed, denied or dry-run-denied")]
pub struct UnknownDecision {
    /// The name that was not recognised.
    pub name: String,
}

impl FromStr for Decision {
    type Err = UnknownDecision;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Decision::ALL
            .into_iter()
            .find(|decision| decision.as_str() == name)
            .ok_or_else(|| UnknownDecision { name: name.to_owned() })
    }
}

/// One audited gRPC call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Event id, a UUID v7 (time-ordered, so new ids append to the index), unique within the audit store.
    pub id: String,
    /// When the call started.
    pub time: DateTime<Utc>,
    /// The caller as identified; empty when the caller was not identified.
    pub principal: String,
    /// Where the identity came from, such as `jwt` or `header:l5d-client-id`.
    pub identity_source: String,
    /// The full gRPC method path, such as `/metabase.gateway.v1.CardService/RunCard`.
    pub rpc: String,
    /// Resource ids the call touched, by kind, such as `card: 42` and `collection: 7`.
    pub resources: BTreeMap<String, i64>,
    /// The policy decision.
    pub decision: Decision,
    /// Why the policy decided as it did, such as `its policy grants users: off`.
    pub reason: String,
    /// The final gRPC status code name, such as `OK` or `NOT_FOUND`.
    pub grpc_code: String,
    /// Rows returned, for calls that return rows.
    pub rows: Option<i64>,
    /// How long the call took, in milliseconds.
    pub duration_ms: i64,
    /// The W3C trace id of the call; empty when the call was not traced.
    pub trace_id: String,
    /// A sentence a person can read, as made by [`sentence`].
    pub sentence: String,
    /// The request's parameters, without credentials or row data.
    pub parameters: Option<serde_json::Value>,
}

/// Returns a fresh event id: a UUIDv7 (its first 48 bits the wall clock in milliseconds, so ids
/// sort roughly by time) whose other 74 bits come from a per-thread generator seeded at random.
/// An id names an event and guards nothing, so it needs uniqueness, not secrecy; the generator
/// spares every call the `getrandom` system call that `Uuid::now_v7` makes.
pub(crate) fn event_id() -> String {
    let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
    let mut random = [0_u8; 10];
    fastrand::fill(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid().to_string()
}

impl AuditEvent {
    /// Starts an event for a call that begins now, with a fresh id; the outcome fields hold
    /// placeholders (`OK`, no rows, 0 ms) until [`AuditEvent::finish`] records the real ones.
    pub fn new(
        principal: impl Into<String>,
        identity_source: impl Into<String>,
        rpc: impl Into<String>,
        decision: Decision,
        reason: impl Into<String>,
    ) -> Self {
        AuditEvent {
            id: event_id(),
            time: Utc::now(),
            principal: principal.into(),
            identity_source: identity_source.into(),
            rpc: rpc.into(),
            resources: BTreeMap::new(),
            decision,
            reason: reason.into(),
            grpc_code: "OK".to_owned(),
            rows: None,
            duration_ms: 0,
            trace_id: String::new(),
            sentence: String::new(),
            parameters: None,
        }
    }

    /// Returns the event with one more touched resource, such as `("card", 42)`.
    pub fn with_resource(mut self, kind: impl Into<String>, id: i64) -> Self {
        self.resources.insert(kind.into(), id);
        self
    }

    /// Returns the event with the request's parameters; the caller strips credentials first.
    pub fn with_parameters(mut self, parameters: serde_json::Value) -> Self {
        self.parameters = Some(parameters);
        self
    }

    /// Returns the event with the call's W3C trace id.
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = trace_id.into();
        self
    }

    /// Records how the call ended and writes the event's sentence from all its fields.
    pub fn finish(mut self, grpc_code: impl Into<String>, rows: Option<i64>, duration_ms: i64) -> Self {
        self.grpc_code = grpc_code.into();
        self.rows = rows;
        self.duration_ms = duration_ms;
        self.sentence = self.describe();
        self
    }

    /// Returns the readable sentence for the event's current fields.
    pub fn describe(&self) -> String {
        sentence(
            &self.principal,
            &self.rpc,
            &self.resources,
            self.decision,
            &self.reason,
            self.rows,
            self.duration_ms,
            &self.grpc_code,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_names_round_trip_through_from_str() {
        for decision in Decision::ALL {
            assert_eq!(decision.as_str().parse::<Decision>(), Ok(decision));
        }
        assert_eq!(Decision::DryRunDenied.as_str(), "dry-run-denied");
        let error = "maybe".parse::<Decision>().unwrap_err();
        assert_eq!(error.to_string(), "unknown audit decision \"maybe\": expected allowed, denied or dry-run-denied");
    }

    #[test]
    fn decision_serializes_as_its_stored_name() {
        assert_eq!(serde_json::to_string(&Decision::DryRunDenied).unwrap(), "\"dry-run-denied\"");
    }

    #[test]
    fn finish_records_the_outcome_and_writes_the_sentence() {
        let event =
            AuditEvent::new("orders-api", "jwt", "/metabase.gateway.v1.CardService/RunCard", Decision::Allowed, "")
                .with_resource("card", 42)
                .with_resource("collection", 7)
                .finish("OK", Some(1532), 84);
        assert_eq!(event.sentence, "orders-api ran saved question 42 in collection 7: allowed, 1,532 rows, 84 ms");
        assert_eq!(event.grpc_code, "OK");
        assert_eq!(event.rows, Some(1532));
        assert!(uuid::Uuid::parse_str(&event.id).is_ok());
    }

    #[test]
    fn event_ids_are_distinct_version_7_uuids_carrying_the_time() {
        let before = Utc::now().timestamp_millis();
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| event_id()).collect();
        assert_eq!(ids.len(), 10_000, "every id is new");
        let id = uuid::Uuid::parse_str(ids.iter().next().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);
        let (seconds, nanos) = id.get_timestamp().unwrap().to_unix();
        let millis = i64::try_from(seconds).unwrap() * 1000 + i64::from(nanos / 1_000_000);
        assert!((before..=Utc::now().timestamp_millis()).contains(&millis), "the id carries the time it was made");
    }
}
