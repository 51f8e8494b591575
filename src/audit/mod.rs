//! The audit trail: one [`AuditEvent`] per gRPC call, with a sentence a person can read, stored
//! durably ([`AuditStore`] over SQLite or PostgreSQL, queried by AuditService) and emitted as a
//! structured log line ([`log_event`]).
//!
//! Events record request parameters but never credentials or row data: the event type has no
//! field for either.

mod event;
mod floods;
mod log;
mod parameters;
mod sentence;
mod store;
mod table;
mod writer;

use std::path::PathBuf;

pub(crate) use event::event_id;
pub use event::{AuditEvent, Decision};
pub(crate) use floods::Floods;
pub(crate) use log::log_event;
pub(crate) use parameters::bounded_parameters;
pub use sentence::thousands;
pub(crate) use sentence::{name_bytes, name_query, sentence};
pub(crate) use store::check_postgres_url;
pub use store::{AuditFilter, AuditStore};
pub(crate) use writer::{AuditWriter, Committed, WriterConfig};

/// Why the audit store could not open, record or list.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database file could not be opened or prepared.
    #[error("audit database {} could not be opened", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// SQLite refused to switch the database to write-ahead logging.
    #[error("audit database {} stays in journal mode {journal_mode} instead of wal", path.display())]
    NotWal {
        /// The database file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        journal_mode: String,
    },
    /// A statement against the audit database failed.
    #[error("audit database statement failed")]
    Sqlite(#[from] rusqlite::Error),
    /// The audit URL is not a PostgreSQL URL the gateway can use. The URL itself is never shown,
    /// as it may hold a password.
    #[error("audit database url is invalid: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
        /// The client's parse error, when the URL has the right scheme.
        #[source]
        source: Option<postgres::Error>,
    },
    /// The PostgreSQL server could not be reached, or refused the connection.
    #[error("audit database at {address} could not be reached")]
    Connect {
        /// The server's `host:port`.
        address: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// The audit schema on the PostgreSQL server could not be created or migrated.
    #[error("audit schema at {address} could not be migrated")]
    Migrate {
        /// The server's `host:port`.
        address: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// A statement against the PostgreSQL server failed.
    #[error("audit database statement failed at {address}")]
    Postgres {
        /// The server's `host:port`.
        address: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// An event's resources or parameters could not be encoded as JSON.
    #[error("audit event could not be encoded as json")]
    Encode(#[source] serde_json::Error),
    /// A stored event could not be read back.
    #[error("audit event {id} has an unreadable {column}: {reason}")]
    Corrupt {
        /// The event's id.
        id: String,
        /// The column that could not be parsed.
        column: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The store cannot take writes right now (a test double, or a store that is down).
    #[error("the audit store is unavailable: {message}")]
    Unavailable {
        /// What is wrong, without credentials.
        message: String,
    },
}
