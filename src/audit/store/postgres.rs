//! The PostgreSQL backend, shared by several gateway replicas: one connection for writes and one
//! for reads, each reconnected when the server drops it. The synchronous `postgres` client runs
//! every statement to completion on the calling (blocking) thread.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::config::Host;
use postgres::error::Severity;
use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls};

use super::postgres_schema::{BatchColumns, COLUMNS, UPSERT, event_from_row, last_of_each_id, migrate, split_time};
use super::{AuditBackend, AuditFilter, Condition, sql_count};
use crate::audit::AuditError;
use crate::audit::event::AuditEvent;

/// How long connecting may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The audit trail in a PostgreSQL database.
pub(super) struct PostgresBackend {
    writer: Session,
    reader: Session,
}

impl PostgresBackend {
    /// Connects both sessions and brings the schema up to date.
    pub(super) fn connect(url: &str) -> Result<PostgresBackend, AuditError> {
        let config = parse_url(url)?;
        let address = address(&config);
        let writer = Session { config: config.clone(), address: address.clone(), client: Mutex::new(None) };
        let migrated = writer.run(migrate, |address, source| AuditError::Migrate { address, source })?;
        let reader = Session { config, address, client: Mutex::new(None) };
        reader.run(|client| client.batch_execute(""), statement_failed)?;
        tracing::info!(address = %writer.address, migrations = migrated, "audit database connected");
        Ok(PostgresBackend { writer, reader })
    }
}

impl AuditBackend for PostgresBackend {
    fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let events = last_of_each_id(events);
        let columns = BatchColumns::new(&events);
        // One statement is one transaction: the whole batch is stored, or none of it.
        self.writer.run(|client| client.execute(UPSERT, &columns.parameters()), statement_failed)?;
        Ok(())
    }

    fn list(&self, filter: &AuditFilter, limit: usize, offset: usize) -> Result<(Vec<AuditEvent>, usize), AuditError> {
        let (where_clause, mut values) = where_clause(filter);
        let count = format!("SELECT count(*) FROM audit_events{where_clause}");
        let page = format!(
            "SELECT {COLUMNS} FROM audit_events{where_clause} ORDER BY time DESC, time_nanos DESC, seq DESC \
             LIMIT ${} OFFSET ${}",
            values.len() + 1,
            values.len() + 2
        );
        let filter_count = values.len();
        values.push(Box::new(sql_count(limit)));
        values.push(Box::new(sql_count(offset)));
        let parameters: Vec<&(dyn ToSql + Sync)> = values.iter().map(|value| value.as_ref()).collect();
        let (total, rows) = self.reader.run(
            |client| {
                // One snapshot, so the total and the page agree while other replicas write.
                let mut snapshot = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()?;
                let total: i64 = snapshot.query_one(&count, &parameters[..filter_count])?.get(0);
                let rows = snapshot.query(&page, &parameters)?;
                snapshot.commit()?;
                Ok((total, rows))
            },
            statement_failed,
        )?;
        let events = rows.iter().map(event_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok((events, usize::try_from(total).unwrap_or_default()))
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

fn statement_failed(address: String, source: postgres::Error) -> AuditError {
    AuditError::Postgres { address, source }
}

/// One connection, opened on first use and opened again after the server dropped it.
struct Session {
    config: Config,
    /// The server's `host:port`, for errors and logs.
    address: String,
    client: Mutex<Option<Client>>,
}

impl Session {
    /// Runs `work` on the connection, connecting first when there is none. When the connection
    /// turns out to be lost, it reconnects and runs `work` once more: every statement here is a
    /// read or an upsert, so running one twice is harmless.
    fn run<T>(
        &self,
        mut work: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
        failed: impl Fn(String, postgres::Error) -> AuditError,
    ) -> Result<T, AuditError> {
        // A panic while holding the lock leaves at worst a connection with a transaction the
        // server rolls back; the next statement then fails or reconnects.
        let mut slot = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        let mut attempts_left = 2;
        loop {
            attempts_left -= 1;
            let client = match &mut *slot {
                Some(client) if !client.is_closed() => client,
                stale => stale.insert(self.connect()?),
            };
            let error = match work(client) {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let lost = connection_lost(client, &error);
            if lost {
                tracing::warn!(address = %self.address, %error, "audit database connection lost; reconnecting");
                *slot = None;
            }
            if !lost || attempts_left == 0 {
                return Err(failed(self.address.clone(), error));
            }
        }
    }

    fn connect(&self) -> Result<Client, AuditError> {
        self.config.connect(NoTls).map_err(|source| AuditError::Connect { address: self.address.clone(), source })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let client = self.client.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        // The client closes its connection on a runtime of its own, which panics on a thread that
        // drives async tasks; a gateway may drop the last handle to the store on one.
        if let Some(client) = client
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(client));
        }
    }
}

/// Tells whether an error means the connection is gone, rather than that a statement failed.
fn connection_lost(client: &Client, error: &postgres::Error) -> bool {
    if client.is_closed() || error.is_closed() {
        return true;
    }
    match error.as_db_error() {
        // The server ends the session after a fatal error, such as an administrator's shutdown.
        Some(db_error) => matches!(db_error.parsed_severity(), Some(Severity::Fatal | Severity::Panic)),
        // Not the server's answer: the connection broke or the protocol went wrong.
        None => true,
    }
}

/// Parses a `postgres://` or `postgresql://` URL, adding a connect timeout and an application
/// name when it sets none.
pub(super) fn parse_url(url: &str) -> Result<Config, AuditError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(AuditError::InvalidUrl {
            reason: "expected postgres://USER[:PASSWORD]@HOST:PORT/DATABASE",
            source: None,
        });
    }
    let mut config: Config = url.parse().map_err(|source| AuditError::InvalidUrl {
        reason: "the postgres client cannot parse it",
        source: Some(source),
    })?;
    if config.get_hosts().is_empty() {
        return Err(AuditError::InvalidUrl { reason: "it names no host", source: None });
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("metabase-grpc");
    }
    Ok(config)
}

/// Returns the servers of a configuration as `host:port`, comma-separated; never the user or
/// the password.
pub(super) fn address(config: &Config) -> String {
    let ports = config.get_ports();
    let port = |index: usize| ports.get(index).or(ports.first()).copied().unwrap_or(5432);
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| match host {
            Host::Tcp(name) => format!("{name}:{}", port(index)),
            #[cfg(unix)]
            Host::Unix(directory) => format!("{}:{}", directory.display(), port(index)),
        })
        .collect::<Vec<_>>()
        .join(",")
}

type Parameter = Box<dyn ToSql + Sync>;

fn where_clause(filter: &AuditFilter) -> (String, Vec<Parameter>) {
    let mut conditions = Vec::new();
    let mut values: Vec<Parameter> = Vec::new();
    for condition in filter.conditions() {
        let next = values.len() + 1;
        let (sql, mut parameters): (String, Vec<Parameter>) = match condition {
            Condition::Principal(principal) => (format!("principal = ${next}"), vec![Box::new(principal)]),
            Condition::Rpc(rpc) => (format!("rpc = ${next}"), vec![Box::new(rpc)]),
            Condition::Decision(decision) => (format!("decision = ${next}"), vec![Box::new(decision.as_str())]),
            Condition::NotBefore(start) => time_condition(">=", &start, next),
            Condition::Before(end) => time_condition("<", &end, next),
        };
        conditions.push(sql);
        values.append(&mut parameters);
    }
    if conditions.is_empty() {
        return (String::new(), values);
    }
    (format!(" WHERE {}", conditions.join(" AND ")), values)
}

/// Compares times as (microsecond, nanoseconds) pairs, which is exact to the nanosecond.
fn time_condition(operator: &str, time: &DateTime<Utc>, next: usize) -> (String, Vec<Parameter>) {
    let (microsecond, nanos) = split_time(time);
    (format!("(time, time_nanos) {operator} (${next}, ${})", next + 1), vec![Box::new(microsecond), Box::new(nanos)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_is_not_postgres_is_refused_without_echoing_it() {
        for url in ["mysql://auditor:s3cret@db:3306/audit", "host=db user=auditor password=s3cret", ""] {
            let error = parse_url(url).expect_err("refused");
            assert_eq!(
                error.to_string(),
                "audit database url is invalid: expected postgres://USER[:PASSWORD]@HOST:PORT/DATABASE"
            );
        }
        let error = parse_url("postgres://auditor:s3cret@db:notaport/audit").expect_err("refused");
        assert_eq!(error.to_string(), "audit database url is invalid: the postgres client cannot parse it");
        assert!(!format!("{error:?}").contains("s3cret"), "{error:?}");
        let error = parse_url("postgres:///audit").expect_err("refused");
        assert_eq!(error.to_string(), "audit database url is invalid: it names no host");
    }

    #[test]
    fn the_address_names_host_and_port_but_never_the_credentials() {
        let config = parse_url("postgresql://auditor:s3cret@db.internal:6432/audit").expect("valid url");
        assert_eq!(address(&config), "db.internal:6432");
        assert_eq!(address(&parse_url("postgres://auditor@10.0.0.5/audit").expect("valid url")), "10.0.0.5:5432");
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(config.get_application_name(), Some("metabase-grpc"));
        let several = parse_url("postgres://auditor@a:1,b:2/audit").expect("valid url");
        assert_eq!(address(&several), "a:1,b:2");
    }

    #[test]
    fn a_server_that_is_not_there_is_a_connect_error_naming_its_address() {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = unused.local_addr().expect("address").port();
        drop(unused);
        let url = format!("postgres://auditor:s3cret@127.0.0.1:{port}/audit?connect_timeout=5");
        let error = PostgresBackend::connect(&url).err().expect("nothing listens there");
        assert!(matches!(error, AuditError::Connect { .. }), "{error:?}");
        assert_eq!(error.to_string(), format!("audit database at 127.0.0.1:{port} could not be reached"));
        let mut chain = format!("{error:?}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        assert!(!chain.contains("s3cret"), "{chain}");
    }

    #[test]
    fn filters_become_numbered_conditions_with_exact_times() {
        use chrono::TimeZone;
        let start = chrono::Utc.timestamp_opt(1_767_225_600, 5).single().expect("valid time");
        let filter = AuditFilter {
            principal: Some("orders-api".into()),
            decision: Some(crate::audit::Decision::Denied),
            start: Some(start),
            end: Some(start),
            ..AuditFilter::default()
        };
        let (sql, values) = where_clause(&filter);
        assert_eq!(
            sql,
            " WHERE principal = $1 AND decision = $2 AND (time, time_nanos) >= ($3, $4) AND (time, time_nanos) < ($5, $6)"
        );
        assert_eq!(values.len(), 6);
        assert_eq!(where_clause(&AuditFilter::default()).0, "");
    }
}
