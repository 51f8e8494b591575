//! How an [`AuditEvent`] maps to a row of SQLite's `audit_events` table and back.
//!
//! Times are stored as RFC 3339 text with nanoseconds and a `Z` suffix, which sorts and compares
//! as time does; resources and parameters are stored as JSON text.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Row;

use super::AuditError;
use super::event::{AuditEvent, UnknownDecision};

/// The table and its indexes, created when missing.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_events (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    time            TEXT NOT NULL,
    principal       TEXT NOT NULL,
    identity_source TEXT NOT NULL,
    rpc             TEXT NOT NULL,
    resources       TEXT NOT NULL,
    decision        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    grpc_code       TEXT NOT NULL,
    rows            INTEGER,
    duration_ms     INTEGER NOT NULL,
    trace_id        TEXT NOT NULL,
    sentence        TEXT NOT NULL,
    parameters      TEXT
);
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time);
CREATE INDEX IF NOT EXISTS audit_events_principal_time ON audit_events (principal, time);
CREATE INDEX IF NOT EXISTS audit_events_rpc_time ON audit_events (rpc, time);
CREATE INDEX IF NOT EXISTS audit_events_decision_time ON audit_events (decision, time);
";

/// The stored columns, in the order of [`StoredEvent`]'s fields.
pub(super) const COLUMNS: &str = "id, time, principal, identity_source, rpc, resources, decision, reason, grpc_code, rows, \
                       duration_ms, trace_id, sentence, parameters";

/// Inserts an event, or replaces every column of the stored event with the same id but `seq`, so
/// an intent completed by its outcome keeps its place in recording order.
pub(super) const UPSERT: &str = "
INSERT INTO audit_events (id, time, principal, identity_source, rpc, resources, decision, reason, grpc_code, rows,
                          duration_ms, trace_id, sentence, parameters)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (id) DO UPDATE SET
    time = excluded.time, principal = excluded.principal, identity_source = excluded.identity_source,
    rpc = excluded.rpc, resources = excluded.resources, decision = excluded.decision, reason = excluded.reason,
    grpc_code = excluded.grpc_code, rows = excluded.rows, duration_ms = excluded.duration_ms,
    trace_id = excluded.trace_id, sentence = excluded.sentence, parameters = excluded.parameters
";

/// Returns the stored text of a time.
pub(super) fn time_text(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// One row as SQLite holds it, before its text columns are parsed.
pub(super) struct StoredEvent {
    id: String,
    time: String,
    principal: String,
    identity_source: String,
    rpc: String,
    resources: String,
    decision: String,
    reason: String,
    grpc_code: String,
    rows: Option<i64>,
    duration_ms: i64,
    trace_id: String,
    sentence: String,
    parameters: Option<String>,
}

impl StoredEvent {
    /// Reads the columns of [`COLUMNS`] from a result row.
    pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
        Ok(StoredEvent {
            id: row.get(0)?,
            time: row.get(1)?,
            principal: row.get(2)?,
            identity_source: row.get(3)?,
            rpc: row.get(4)?,
            resources: row.get(5)?,
            decision: row.get(6)?,
            reason: row.get(7)?,
            grpc_code: row.get(8)?,
            rows: row.get(9)?,
            duration_ms: row.get(10)?,
            trace_id: row.get(11)?,
            sentence: row.get(12)?,
            parameters: row.get(13)?,
        })
    }

    /// Parses the text columns, failing with [`AuditError::Corrupt`] on a damaged row.
    pub(super) fn into_event(self) -> Result<AuditEvent, AuditError> {
        let corrupt =
            |column: &'static str, reason: String| AuditError::Corrupt { id: self.id.clone(), column, reason };
        let time = DateTime::parse_from_rfc3339(&self.time)
            .map_err(|error| corrupt("time", error.to_string()))?
            .with_timezone(&Utc);
        let resources =
            serde_json::from_str(&self.resources).map_err(|error| corrupt("resources", error.to_string()))?;
        let decision =
            self.decision.parse().map_err(|error: UnknownDecision| corrupt("decision", error.to_string()))?;
        let parameters = self
            .parameters
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|error| corrupt("parameters", error.to_string()))?;
        Ok(AuditEvent {
            id: self.id,
            time,
            principal: self.principal,
            identity_source: self.identity_source,
            rpc: self.rpc,
            resources,
            decision,
            reason: self.reason,
            grpc_code: self.grpc_code,
            rows: self.rows,
            duration_ms: self.duration_ms,
            trace_id: self.trace_id,
            sentence: self.sentence,
            parameters,
        })
    }
}
