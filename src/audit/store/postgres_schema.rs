//! The PostgreSQL audit schema, its versioned migrations, and how an [`AuditEvent`] maps to its
//! columns and back.
//!
//! `time` is a `timestamptz`, which holds microseconds; the event's nanoseconds past that
//! microsecond are kept in `time_nanos`, so times round-trip exactly and filter and sort as
//! SQLite's nanosecond text does. Resources and parameters are `jsonb`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use postgres::types::Json;
use postgres::{Client, Row};

use crate::audit::AuditError;
use crate::audit::event::{AuditEvent, UnknownDecision};

/// The key of the advisory lock held while migrating, so replicas starting together migrate one
/// after another instead of racing on `CREATE TABLE` ("mbgrpc" and a version in ASCII).
const MIGRATION_LOCK: i64 = 0x6d62_6772_7063_0001;

/// The migrations in order; the database records how many it has applied. A later version only
/// appends here (such as `ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS ...`), never edits.
const MIGRATIONS: &[&str] = &["
CREATE TABLE IF NOT EXISTS audit_events (
    seq             bigserial PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    time            timestamptz NOT NULL,
    time_nanos      smallint NOT NULL DEFAULT 0 CHECK (time_nanos BETWEEN 0 AND 999),
    principal       text NOT NULL,
    identity_source text NOT NULL,
    rpc             text NOT NULL,
    resources       jsonb NOT NULL,
    decision        text NOT NULL,
    reason          text NOT NULL,
    grpc_code       text NOT NULL,
    rows            bigint,
    duration_ms     bigint NOT NULL,
    trace_id        text NOT NULL,
    sentence        text NOT NULL,
    parameters      jsonb
);
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time, time_nanos, seq);
CREATE INDEX IF NOT EXISTS audit_events_principal_time ON audit_events (principal, time, time_nanos, seq);
CREATE INDEX IF NOT EXISTS audit_events_rpc_time ON audit_events (rpc, time, time_nanos, seq);
CREATE INDEX IF NOT EXISTS audit_events_decision_time ON audit_events (decision, time, time_nanos, seq);
"];

/// Brings the schema up to the newest version in one transaction, under the migration lock.
/// Returns the number of migrations applied now.
pub(super) fn migrate(client: &mut Client) -> Result<usize, postgres::Error> {
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    transaction.batch_execute("CREATE TABLE IF NOT EXISTS audit_schema_version (version integer NOT NULL)")?;
    let applied: i32 = transaction.query_one("SELECT coalesce(max(version), 0) FROM audit_schema_version", &[])?.get(0);
    let applied = usize::try_from(applied).unwrap_or_default();
    // A newer gateway may have migrated further; its migrations only add, so this one still works.
    let pending = MIGRATIONS.iter().enumerate().skip(applied);
    let mut count = 0;
    for (index, migration) in pending {
        transaction.batch_execute(migration)?;
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        transaction.execute("INSERT INTO audit_schema_version (version) VALUES ($1)", &[&version])?;
        count += 1;
    }
    transaction.commit()?;
    Ok(count)
}

/// Upserts a batch given as one array per column, in the arrays' order, so the sequence numbers
/// follow the batch; an event already stored keeps its `seq` and takes every other column.
pub(super) const UPSERT: &str = "
INSERT INTO audit_events (id, time, time_nanos, principal, identity_source, rpc, resources, decision, reason,
                          grpc_code, rows, duration_ms, trace_id, sentence, parameters)
SELECT id, time, time_nanos, principal, identity_source, rpc, resources, decision, reason,
       grpc_code, rows, duration_ms, trace_id, sentence, parameters
FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::text[], $5::text[], $6::text[], $7::jsonb[],
            $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::text[], $14::text[], $15::jsonb[])
     WITH ORDINALITY AS batch (id, time, time_nanos, principal, identity_source, rpc, resources, decision, reason,
                               grpc_code, rows, duration_ms, trace_id, sentence, parameters, position)
ORDER BY position
ON CONFLICT (id) DO UPDATE SET
    time = excluded.time, time_nanos = excluded.time_nanos, principal = excluded.principal,
    identity_source = excluded.identity_source, rpc = excluded.rpc, resources = excluded.resources,
    decision = excluded.decision, reason = excluded.reason, grpc_code = excluded.grpc_code, rows = excluded.rows,
    duration_ms = excluded.duration_ms, trace_id = excluded.trace_id, sentence = excluded.sentence,
    parameters = excluded.parameters
";

/// The columns a listed event is read from, in the order [`event_from_row`] reads them.
pub(super) const COLUMNS: &str = "id, time, time_nanos, principal, identity_source, rpc, resources, decision, reason, \
                                  grpc_code, rows, duration_ms, trace_id, sentence, parameters";

/// Splits a time into the microsecond `timestamptz` holds and the nanoseconds past it.
pub(super) fn split_time(time: &DateTime<Utc>) -> (DateTime<Utc>, i16) {
    let microsecond = DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(*time);
    let nanos = i16::try_from(time.timestamp_subsec_nanos() % 1000).unwrap_or_default();
    (microsecond, nanos)
}

/// Returns each id's last version in the batch, at the place of its first: PostgreSQL cannot
/// update one row twice in a statement, and SQLite's one-by-one upserts end the same way.
pub(super) fn last_of_each_id(events: &[AuditEvent]) -> Vec<&AuditEvent> {
    let mut places: HashMap<&str, usize> = HashMap::with_capacity(events.len());
    let mut kept: Vec<&AuditEvent> = Vec::with_capacity(events.len());
    for event in events {
        match places.get(event.id.as_str()) {
            Some(&place) => kept[place] = event,
            None => {
                places.insert(&event.id, kept.len());
                kept.push(event);
            }
        }
    }
    kept
}

/// A batch as one array per column, the parameters of [`UPSERT`].
pub(super) struct BatchColumns<'a> {
    ids: Vec<&'a str>,
    times: Vec<DateTime<Utc>>,
    time_nanos: Vec<i16>,
    principals: Vec<&'a str>,
    identity_sources: Vec<&'a str>,
    rpcs: Vec<&'a str>,
    resources: Vec<Json<&'a BTreeMap<String, i64>>>,
    decisions: Vec<&'static str>,
    reasons: Vec<&'a str>,
    grpc_codes: Vec<&'a str>,
    rows: Vec<Option<i64>>,
    durations: Vec<i64>,
    trace_ids: Vec<&'a str>,
    sentences: Vec<&'a str>,
    parameters: Vec<Option<&'a serde_json::Value>>,
}

impl<'a> BatchColumns<'a> {
    /// Lays out the events column by column.
    pub(super) fn new(events: &[&'a AuditEvent]) -> BatchColumns<'a> {
        let column = |read: fn(&'a AuditEvent) -> &'a str| events.iter().copied().map(read).collect::<Vec<_>>();
        let (times, time_nanos) = events.iter().map(|event| split_time(&event.time)).unzip();
        BatchColumns {
            ids: column(|event| &event.id),
            times,
            time_nanos,
            principals: column(|event| &event.principal),
            identity_sources: column(|event| &event.identity_source),
            rpcs: column(|event| &event.rpc),
            resources: events.iter().map(|event| Json(&event.resources)).collect(),
            decisions: events.iter().map(|event| event.decision.as_str()).collect(),
            reasons: column(|event| &event.reason),
            grpc_codes: column(|event| &event.grpc_code),
            rows: events.iter().map(|event| event.rows).collect(),
            durations: events.iter().map(|event| event.duration_ms).collect(),
            trace_ids: column(|event| &event.trace_id),
            sentences: column(|event| &event.sentence),
            parameters: events.iter().map(|event| event.parameters.as_ref()).collect(),
        }
    }

    /// Returns the parameters of [`UPSERT`], `$1` to `$15`.
    pub(super) fn parameters(&self) -> [&(dyn postgres::types::ToSql + Sync); 15] {
        [
            &self.ids,
            &self.times,
            &self.time_nanos,
            &self.principals,
            &self.identity_sources,
            &self.rpcs,
            &self.resources,
            &self.decisions,
            &self.reasons,
            &self.grpc_codes,
            &self.rows,
            &self.durations,
            &self.trace_ids,
            &self.sentences,
            &self.parameters,
        ]
    }
}

/// Reads an event from a row of [`COLUMNS`], failing with [`AuditError::Corrupt`] on a damaged row.
pub(super) fn event_from_row(row: &Row) -> Result<AuditEvent, AuditError> {
    let id: String = row.try_get(0).map_err(|error| AuditError::Corrupt {
        id: String::new(),
        column: "id",
        reason: error.to_string(),
    })?;
    let corrupt = |column: &'static str, reason: String| AuditError::Corrupt { id: id.clone(), column, reason };
    let get_text = |index: usize, column: &'static str| {
        row.try_get::<_, String>(index).map_err(|error| corrupt(column, error.to_string()))
    };
    let time: DateTime<Utc> = row.try_get(1).map_err(|error| corrupt("time", error.to_string()))?;
    let time_nanos: i16 = row.try_get(2).map_err(|error| corrupt("time_nanos", error.to_string()))?;
    if !(0..1000).contains(&time_nanos) {
        return Err(corrupt("time_nanos", format!("{time_nanos} is not between 0 and 999")));
    }
    let resources: serde_json::Value = row.try_get(6).map_err(|error| corrupt("resources", error.to_string()))?;
    let decision = get_text(7, "decision")?;
    let parameters: Option<serde_json::Value> =
        row.try_get(14).map_err(|error| corrupt("parameters", error.to_string()))?;
    Ok(AuditEvent {
        time: time + chrono::Duration::nanoseconds(i64::from(time_nanos)),
        principal: get_text(3, "principal")?,
        identity_source: get_text(4, "identity_source")?,
        rpc: get_text(5, "rpc")?,
        resources: serde_json::from_value(resources).map_err(|error| corrupt("resources", error.to_string()))?,
        decision: decision.parse().map_err(|error: UnknownDecision| corrupt("decision", error.to_string()))?,
        reason: get_text(8, "reason")?,
        grpc_code: get_text(9, "grpc_code")?,
        rows: row.try_get(10).map_err(|error| corrupt("rows", error.to_string()))?,
        duration_ms: row.try_get(11).map_err(|error| corrupt("duration_ms", error.to_string()))?,
        trace_id: get_text(12, "trace_id")?,
        sentence: get_text(13, "sentence")?,
        parameters,
        id,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::audit::event::Decision;

    #[test]
    fn a_time_splits_into_its_microsecond_and_the_nanoseconds_past_it() {
        let time = Utc.timestamp_opt(1_767_225_600, 123_456_789).single().expect("valid time");
        let (microsecond, nanos) = split_time(&time);
        assert_eq!(microsecond, Utc.timestamp_opt(1_767_225_600, 123_456_000).single().expect("valid time"));
        assert_eq!(nanos, 789);
        let before_2000 = Utc.timestamp_opt(-1, 999_999_999).single().expect("valid time");
        let (microsecond, nanos) = split_time(&before_2000);
        assert_eq!(microsecond + chrono::Duration::nanoseconds(i64::from(nanos)), before_2000);
        assert_eq!(nanos, 999);
    }

    #[test]
    fn a_batch_keeps_each_ids_last_version_at_its_first_place() {
        let event = |principal: &str| AuditEvent::new(principal, "jwt", "/a.B/C", Decision::Allowed, "");
        let intent = event("writer");
        let other = event("reader");
        let outcome = intent.clone().finish("OK", None, 5);
        let batch = [intent, other.clone(), outcome.clone()];
        let kept = last_of_each_id(&batch);
        assert_eq!(kept, vec![&outcome, &other]);
    }
}
