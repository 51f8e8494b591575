//! The durable audit store: [`AuditStore`] in front of one [`AuditBackend`], either an embedded
//! SQLite file (one replica) or a PostgreSQL server shared by several replicas.
//!
//! Every backend writes a batch in one transaction and replaces an event whose id it already holds,
//! so a write-ahead intent is completed in place by its outcome. Every call blocks: run it on a
//! blocking thread (`tokio::task::spawn_blocking`), never on a thread that drives async tasks.

mod postgres;
mod postgres_schema;
mod sqlite;

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::AuditError;
use super::event::{AuditEvent, Decision};
use crate::rpcs::full_path;

/// Which events [`AuditStore::list`] returns; every filter that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events of this principal (exact match).
    pub principal: Option<String>,
    /// Only events of this RPC: a full path (`/metabase.gateway.v1.CardService/GetCard`) or a
    /// short name (`CardService/GetCard`).
    pub rpc: Option<String>,
    /// Only events with this decision.
    pub decision: Option<Decision>,
    /// Only events at or after this time.
    pub start: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub end: Option<DateTime<Utc>>,
}

/// One condition of an [`AuditFilter`], which each backend writes in its own SQL dialect.
pub(super) enum Condition {
    /// `principal` equals the text.
    Principal(String),
    /// `rpc` equals the full method path.
    Rpc(String),
    /// `decision` equals the decision's stored name.
    Decision(Decision),
    /// `time` is at or after the instant.
    NotBefore(DateTime<Utc>),
    /// `time` is before the instant.
    Before(DateTime<Utc>),
}

impl AuditFilter {
    /// Returns the conditions this filter sets, with a short RPC name already made a full path.
    pub(super) fn conditions(&self) -> Vec<Condition> {
        let mut conditions = Vec::new();
        if let Some(principal) = &self.principal {
            conditions.push(Condition::Principal(principal.clone()));
        }
        if let Some(rpc) = &self.rpc {
            conditions.push(Condition::Rpc(full_path(rpc)));
        }
        if let Some(decision) = self.decision {
            conditions.push(Condition::Decision(decision));
        }
        if let Some(start) = self.start {
            conditions.push(Condition::NotBefore(start));
        }
        if let Some(end) = self.end {
            conditions.push(Condition::Before(end));
        }
        conditions
    }
}

/// Where audit events are kept: what the batching writer and AuditService need of a database.
pub trait AuditBackend: Send + Sync {
    /// Writes a batch of events in one transaction (group commit): all or none are stored. An
    /// event whose id is already stored, or that appears earlier in the batch, replaces the earlier
    /// one (an intent completed by its outcome) and keeps the earlier one's place in recording order.
    fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError>;

    /// Returns one page of the events matching `filter`, newest first (events at the same instant
    /// in reverse recording order), with the number of matching events across all pages.
    fn list(&self, filter: &AuditFilter, limit: usize, offset: usize) -> Result<(Vec<AuditEvent>, usize), AuditError>;

    /// Returns a short name for logs and metrics: `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
}

/// The audit trail, safe to share between threads, over whichever [`AuditBackend`] was opened.
pub struct AuditStore {
    backend: Box<dyn AuditBackend>,
}

impl fmt::Debug for AuditStore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("AuditStore").field("kind", &self.backend.kind()).finish()
    }
}

impl AuditStore {
    /// Opens or creates the SQLite audit database at `path`, with its table and indexes, in WAL
    /// mode with full synchronous commits.
    pub fn open(path: impl AsRef<Path>) -> Result<AuditStore, AuditError> {
        Ok(Self::from_backend(Box::new(sqlite::SqliteBackend::open(path.as_ref())?)))
    }

    /// Opens a private in-memory SQLite audit database, for tests and the demo.
    pub fn open_in_memory() -> Result<AuditStore, AuditError> {
        Ok(Self::from_backend(Box::new(sqlite::SqliteBackend::open_in_memory()?)))
    }

    /// Connects to the PostgreSQL server of a `postgres://user[:password]@host:port/database` URL
    /// (without TLS: loopback or a service mesh), creating or migrating the audit schema.
    pub fn connect(url: &str) -> Result<AuditStore, AuditError> {
        Ok(Self::from_backend(Box::new(self::postgres::PostgresBackend::connect(url)?)))
    }

    /// Wraps any backend.
    pub fn from_backend(backend: Box<dyn AuditBackend>) -> AuditStore {
        AuditStore { backend }
    }

    /// Returns the backend's short name: `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    /// Records one event, blocking until it is committed; an event with the same id is replaced.
    pub fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        self.backend.write_batch(std::slice::from_ref(event))
    }

    /// Records a batch of events in one transaction, blocking until it is committed; see
    /// [`AuditBackend::write_batch`].
    pub fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        if events.is_empty() {
            return Ok(());
        }
        self.backend.write_batch(events)
    }

    /// Returns one page of the events matching `filter`, newest first, with the number of
    /// matching events across all pages.
    pub fn list(
        &self,
        filter: &AuditFilter,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<AuditEvent>, usize), AuditError> {
        self.backend.list(filter, limit, offset)
    }
}

/// Checks that a URL is one [`AuditStore::connect`] can use, without connecting.
pub(crate) fn check_postgres_url(url: &str) -> Result<(), AuditError> {
    self::postgres::parse_url(url).map(drop)
}

/// Returns a page bound or count as SQL's `BIGINT`, saturating.
pub(super) fn sql_count(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_767_225_600 + seconds, 123_456_789).single().expect("valid time")
    }

    fn event(principal: &str, short_rpc: &str, decision: Decision, time: DateTime<Utc>) -> AuditEvent {
        let mut event = AuditEvent::new(principal, "jwt", full_path(short_rpc), decision, "")
            .with_resource("card", 42)
            .finish("OK", Some(3), 9);
        event.time = time;
        event
    }

    fn principals(events: &[AuditEvent]) -> Vec<&str> {
        events.iter().map(|event| event.principal.as_str()).collect()
    }

    #[test]
    fn a_filter_names_only_the_conditions_it_sets_with_a_full_rpc_path() {
        assert!(AuditFilter::default().conditions().is_empty());
        let filter = AuditFilter {
            rpc: Some("CardService/GetCard".into()),
            decision: Some(Decision::Denied),
            end: Some(at(1)),
            ..AuditFilter::default()
        };
        let conditions = filter.conditions();
        assert_eq!(conditions.len(), 3);
        assert!(
            matches!(&conditions[0], Condition::Rpc(path) if path == "/metabase.gateway.v1.CardService/GetCard"),
            "a short rpc name becomes a full path"
        );
        assert!(matches!(conditions[1], Condition::Decision(Decision::Denied)));
        assert!(matches!(conditions[2], Condition::Before(time) if time == at(1)));
    }

    #[test]
    fn record_is_a_batch_of_one_and_an_empty_batch_writes_nothing() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        assert_eq!(store.kind(), "sqlite");
        store.write_batch(&[]).expect("empty batch");
        assert_eq!(store.list(&AuditFilter::default(), 10, 0).expect("list").1, 0);
        let recorded = event("orders-api", "CardService/GetCard", Decision::Allowed, at(0));
        store.record(&recorded).expect("record");
        assert_eq!(store.list(&AuditFilter::default(), 10, 0).expect("list"), (vec![recorded], 1));
    }

    #[test]
    fn a_batch_is_listed_newest_first_and_same_instant_events_in_reverse_order() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        let batch = [
            event("early", "CardService/GetCard", Decision::Allowed, at(1)),
            event("tie-first", "CardService/GetCard", Decision::Allowed, at(5)),
            event("tie-second", "CardService/GetCard", Decision::Allowed, at(5)),
            event("late", "CardService/GetCard", Decision::Allowed, at(9)),
        ];
        store.write_batch(&batch).expect("batch");
        let (events, total) = store.list(&AuditFilter::default(), 10, 0).expect("list");
        assert_eq!(total, 4);
        assert_eq!(principals(&events), ["late", "tie-second", "tie-first", "early"]);
    }

    #[test]
    fn the_store_debug_output_names_its_backend() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        assert_eq!(format!("{store:?}"), "AuditStore { kind: \"sqlite\" }");
    }
}
