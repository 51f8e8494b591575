//! The SQLite backend: an embedded database file in WAL mode with `synchronous=FULL`, so an event
//! recorded before a call was answered survives a crash right after the answer. One batch is one
//! transaction and so one sync to disk, which is what makes group commit fast.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::{AuditBackend, AuditFilter, Condition, sql_count};
use crate::audit::AuditError;
use crate::audit::event::AuditEvent;
use crate::audit::table::{COLUMNS, SCHEMA, StoredEvent, UPSERT, time_text};

/// How long a write waits for another connection to the same file before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The audit trail in an embedded SQLite database.
#[derive(Debug)]
pub(super) struct SqliteBackend {
    connection: Mutex<Connection>,
}

impl SqliteBackend {
    /// Opens or creates the audit database at `path`, with its table and indexes, in WAL mode
    /// with full synchronous commits.
    pub(super) fn open(path: &Path) -> Result<SqliteBackend, AuditError> {
        let path = path.to_path_buf();
        let open_error = |source| AuditError::Open { path: path.clone(), source };
        let connection = Connection::open(&path).map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        let journal_mode: String =
            connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0)).map_err(open_error)?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            return Err(AuditError::NotWal { path, journal_mode });
        }
        Self::prepare(connection, path)
    }

    /// Opens a private in-memory audit database.
    pub(super) fn open_in_memory() -> Result<SqliteBackend, AuditError> {
        let connection =
            Connection::open_in_memory().map_err(|source| AuditError::Open { path: ":memory:".into(), source })?;
        Self::prepare(connection, ":memory:".into())
    }

    fn prepare(connection: Connection, path: PathBuf) -> Result<SqliteBackend, AuditError> {
        let open_error = |source| AuditError::Open { path: path.clone(), source };
        connection.pragma_update(None, "synchronous", "FULL").map_err(open_error)?;
        connection.execute_batch(SCHEMA).map_err(open_error)?;
        Ok(SqliteBackend { connection: Mutex::new(connection) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-done: an open
        // transaction rolls back when it is dropped during the unwind.
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AuditBackend for SqliteBackend {
    fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            let resources = serde_json::to_string(&event.resources).map_err(AuditError::Encode)?;
            let parameters =
                event.parameters.as_ref().map(serde_json::to_string).transpose().map_err(AuditError::Encode)?;
            rows.push((event, resources, parameters));
        }
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        {
            let mut upsert = transaction.prepare_cached(UPSERT)?;
            for (event, resources, parameters) in &rows {
                upsert.execute(params![
                    event.id,
                    time_text(&event.time),
                    event.principal,
                    event.identity_source,
                    event.rpc,
                    resources,
                    event.decision.as_str(),
                    event.reason,
                    event.grpc_code,
                    event.rows,
                    event.duration_ms,
                    event.trace_id,
                    event.sentence,
                    parameters,
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    fn list(&self, filter: &AuditFilter, limit: usize, offset: usize) -> Result<(Vec<AuditEvent>, usize), AuditError> {
        let (where_clause, mut values) = where_clause(filter);
        let connection = self.lock();
        // One read transaction, so the total and the page see the same snapshot even while
        // another process appends to the file.
        let snapshot = connection.unchecked_transaction()?;
        let total: i64 = snapshot.query_row(
            &format!("SELECT COUNT(*) FROM audit_events{where_clause}"),
            params_from_iter(values.iter()),
            |row| row.get(0),
        )?;
        values.push(Value::Integer(sql_count(limit)));
        values.push(Value::Integer(sql_count(offset)));
        let mut statement = snapshot.prepare(&format!(
            "SELECT {COLUMNS} FROM audit_events{where_clause} ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?"
        ))?;
        let rows = statement.query_map(params_from_iter(values.iter()), StoredEvent::from_row)?;
        let events = rows
            .map(|row| row.map_err(AuditError::from).and_then(StoredEvent::into_event))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, usize::try_from(total).unwrap_or_default()))
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

fn where_clause(filter: &AuditFilter) -> (String, Vec<Value>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    for condition in filter.conditions() {
        let (sql, value) = match condition {
            Condition::Principal(principal) => ("principal = ?", principal),
            Condition::Rpc(rpc) => ("rpc = ?", rpc),
            Condition::Decision(decision) => ("decision = ?", decision.as_str().to_owned()),
            // Times are stored as fixed-width RFC 3339 text, which compares as time does.
            Condition::NotBefore(start) => ("time >= ?", time_text(&start)),
            Condition::Before(end) => ("time < ?", time_text(&end)),
        };
        conditions.push(sql);
        values.push(Value::Text(value));
    }
    if conditions.is_empty() {
        return (String::new(), values);
    }
    (format!(" WHERE {}", conditions.join(" AND ")), values)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::audit::event::Decision;
    use crate::audit::store::AuditStore;
    use crate::rpcs::full_path;

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

    fn ids(events: &[AuditEvent]) -> Vec<&str> {
        events.iter().map(|event| event.principal.as_str()).collect()
    }

    fn seeded() -> AuditStore {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        let events = [
            event("a", "CardService/GetCard", Decision::Allowed, at(0)),
            event("b", "CardService/RunCard", Decision::Denied, at(10)),
            event("c", "CardService/GetCard", Decision::DryRunDenied, at(20)),
            event("a", "UserService/CreateUser", Decision::Denied, at(30)),
        ];
        for event in &events {
            store.record(event).expect("record");
        }
        store
    }

    #[test]
    fn an_event_round_trips_with_every_field() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        let event =
            AuditEvent::new("orders-api", "xfcc", "/metabase.gateway.v1.CardService/RunCard", Decision::Allowed, "")
                .with_resource("card", 42)
                .with_resource("collection", 7)
                .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                .with_parameters(
                    serde_json::json!({"parameters": [{"type": "category", "value": "Widget"}], "max_rows": 0}),
                )
                .finish("OK", Some(1532), 84);
        let without_optionals =
            AuditEvent::new("", "", "/grpc.health.v1.Health/Check", Decision::Denied, "no identity").finish(
                "UNAUTHENTICATED",
                None,
                0,
            );
        store.record(&event).expect("record");
        store.record(&without_optionals).expect("record");
        let (events, total) = store.list(&AuditFilter::default(), 10, 0).expect("list");
        assert_eq!(total, 2);
        assert_eq!(events, vec![without_optionals, event]);
    }

    #[test]
    fn list_filters_by_principal_rpc_and_decision() {
        let store = seeded();
        let by_principal = AuditFilter { principal: Some("a".into()), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&by_principal, 10, 0).expect("list").0), ["a", "a"]);
        let full =
            AuditFilter { rpc: Some("/metabase.gateway.v1.CardService/GetCard".into()), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&full, 10, 0).expect("list").0), ["c", "a"]);
        let short = AuditFilter { rpc: Some("CardService/GetCard".into()), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&short, 10, 0).expect("list").0), ["c", "a"]);
        let denied = AuditFilter { decision: Some(Decision::Denied), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&denied, 10, 0).expect("list").0), ["a", "b"]);
        let dry_run = AuditFilter { decision: Some(Decision::DryRunDenied), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&dry_run, 10, 0).expect("list").0), ["c"]);
        let combined =
            AuditFilter { principal: Some("a".into()), decision: Some(Decision::Allowed), ..AuditFilter::default() };
        let (events, total) = store.list(&combined, 10, 0).expect("list");
        assert_eq!((events.len(), total), (1, 1));
        assert_eq!(events[0].rpc, "/metabase.gateway.v1.CardService/GetCard");
    }

    #[test]
    fn time_range_includes_its_start_and_excludes_its_end() {
        let store = seeded();
        let range = AuditFilter { start: Some(at(10)), end: Some(at(30)), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&range, 10, 0).expect("list").0), ["c", "b"]);
        let one_nanosecond_later = at(10) + chrono::Duration::nanoseconds(1);
        let after_b = AuditFilter { start: Some(one_nanosecond_later), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&after_b, 10, 0).expect("list").0), ["a", "c"]);
        let before_end = AuditFilter { end: Some(at(20) + chrono::Duration::nanoseconds(1)), ..AuditFilter::default() };
        assert_eq!(ids(&store.list(&before_end, 10, 0).expect("list").0), ["c", "b", "a"]);
    }

    #[test]
    fn pages_come_newest_first_with_the_total_of_all_pages() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        for second in 0..25 {
            store
                .record(&event(&format!("p{second:02}"), "CardService/GetCard", Decision::Allowed, at(second)))
                .expect("record");
        }
        let (first, total) = store.list(&AuditFilter::default(), 10, 0).expect("page 1");
        assert_eq!(total, 25);
        assert_eq!(first.first().map(|event| event.principal.as_str()), Some("p24"));
        assert_eq!(first.last().map(|event| event.principal.as_str()), Some("p15"));
        let (last, total_again) = store.list(&AuditFilter::default(), 10, 20).expect("page 3");
        assert_eq!(total_again, 25);
        assert_eq!(ids(&last), ["p04", "p03", "p02", "p01", "p00"]);
        let (beyond, _) = store.list(&AuditFilter::default(), 10, 30).expect("past the end");
        assert!(beyond.is_empty());
    }

    #[test]
    fn events_at_the_same_instant_list_in_reverse_recording_order() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        for principal in ["first", "second", "third"] {
            store.record(&event(principal, "CardService/GetCard", Decision::Allowed, at(5))).expect("record");
        }
        assert_eq!(ids(&store.list(&AuditFilter::default(), 10, 0).expect("list").0), ["third", "second", "first"]);
    }

    #[test]
    fn a_file_store_runs_in_wal_mode_with_full_sync() {
        let directory = tempfile::tempdir().expect("temp dir");
        let backend = SqliteBackend::open(&directory.path().join("audit.db")).expect("open");
        let connection = backend.lock();
        let journal_mode: String =
            connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).expect("journal mode");
        assert_eq!(journal_mode, "wal");
        let synchronous: i64 = connection.query_row("PRAGMA synchronous", [], |row| row.get(0)).expect("synchronous");
        assert_eq!(synchronous, 2, "synchronous=FULL is 2");
    }

    #[test]
    fn an_outcome_replaces_its_intent_in_place() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        let intent = event("writer", "CardService/UpdateCard", Decision::Allowed, at(1));
        let later = event("reader", "CardService/GetCard", Decision::Allowed, at(1));
        store.write_batch(&[intent.clone(), later.clone()]).expect("intent");
        let mut outcome = intent.clone().finish("NOT_FOUND", None, 31);
        outcome.reason = "card 42 not found".into();
        store.record(&outcome).expect("outcome");
        let (events, total) = store.list(&AuditFilter::default(), 10, 0).expect("list");
        assert_eq!(total, 2, "the outcome replaced the intent rather than adding a row");
        assert_eq!(events, vec![later, outcome], "the completed event keeps the intent's place");
    }

    #[test]
    fn an_intent_and_its_outcome_in_one_batch_leave_the_outcome() {
        let store = AuditStore::open_in_memory().expect("in-memory store");
        let intent = event("writer", "CardService/UpdateCard", Decision::Allowed, at(1));
        let outcome = intent.clone().finish("INTERNAL", None, 12);
        store.write_batch(&[intent, outcome.clone()]).expect("batch");
        assert_eq!(store.list(&AuditFilter::default(), 10, 0).expect("list"), (vec![outcome], 1));
    }

    #[test]
    fn recorded_events_are_visible_to_another_open_of_the_same_file() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("audit.db");
        let writer = AuditStore::open(&path).expect("open writer");
        let recorded = event("orders-api", "CardService/RunCard", Decision::Allowed, at(1));
        writer.record(&recorded).expect("record");
        let reader = AuditStore::open(&path).expect("open reader");
        assert_eq!(reader.list(&AuditFilter::default(), 10, 0).expect("list"), (vec![recorded.clone()], 1));
        drop(writer);
        drop(reader);
        let reopened = AuditStore::open(&path).expect("reopen");
        assert_eq!(reopened.list(&AuditFilter::default(), 10, 0).expect("list").0, vec![recorded]);
    }

    #[test]
    fn a_store_is_shared_between_threads() {
        let store = std::sync::Arc::new(AuditStore::open_in_memory().expect("in-memory store"));
        let writers: Vec<_> = (0..4)
            .map(|thread| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    for second in 0..5 {
                        let recorded =
                            event(&format!("t{thread}"), "CardService/GetCard", Decision::Allowed, at(second));
                        store.record(&recorded).expect("record");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer thread");
        }
        assert_eq!(store.list(&AuditFilter::default(), 1, 0).expect("list").1, 20);
    }
}
