//! Runs a prepared query on SQLite, on the calling (blocking) thread, handing each row to a sink
//! as soon as SQLite produces it. Nothing holds the whole result.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::columns::{ResultColumn, deduplicate_names};
use super::{PreparedQuery, QueryFailure};

/// Where rows go: a response writer.
pub trait RowSink {
    /// Receives one row; returns false when the client is gone and the query should stop.
    fn row(&mut self, values: &[ValueRef<'_>], columns: &[ResultColumn]) -> bool;
}

/// What a finished (or stopped) execution produced.
#[derive(Debug)]
pub struct Execution {
    /// The result columns, with native types inferred from the rows.
    pub columns: Vec<ResultColumn>,
    /// How many rows the sink accepted.
    pub row_count: i64,
    /// Whether the sink stopped the query early because its client went away.
    pub stopped: bool,
}

/// Instructions for one execution.
pub struct Run<'a> {
    /// The SQLite file to read.
    pub database: &'a Path,
    /// The query.
    pub query: &'a PreparedQuery,
    /// The most rows to produce.
    pub max_rows: i64,
    /// An injected failure after this many rows, for fault tests.
    pub fail_after_rows: Option<i64>,
}

/// Opens the sample database read-only: queries may read anything and change nothing.
pub fn open(database: &Path) -> Result<Connection, QueryFailure> {
    Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|error| QueryFailure::from_sqlite(&error))
}

/// Types columns SQLite declares no type for (expressions) from the inner query's first row,
/// as a JDBC driver's result-set metadata would type them for Metabase without any row.
fn type_expression_columns(
    connection: &Connection,
    inner: &str,
    parameters: &[rusqlite::types::Value],
    columns: &mut [ResultColumn],
) {
    if !columns.iter().any(|column| column.infer_type) {
        return;
    }
    let Ok(mut statement) = connection.prepare(&format!("SELECT * FROM ({inner}) LIMIT 1")) else {
        return;
    };
    let Ok(mut rows) = statement.query(rusqlite::params_from_iter(parameters.iter())) else {
        return;
    };
    if let Ok(Some(row)) = rows.next() {
        for (index, column) in columns.iter_mut().enumerate() {
            if column.infer_type {
                column.infer_from(&row.get_ref(index).unwrap_or(ValueRef::Null));
            }
        }
    }
}

/// Runs the query, streaming rows to the sink. Errors after rows began are still errors: the
/// caller decides how to report them (Metabase appends them to the body).
pub fn execute(
    run: &Run<'_>,
    sink: &mut dyn RowSink,
    on_columns: &mut dyn FnMut(&[ResultColumn]),
) -> Result<Execution, (QueryFailure, Execution)> {
    let empty = || Execution { columns: Vec::new(), row_count: 0, stopped: false };
    let connection = open(run.database).map_err(|failure| (failure, empty()))?;
    let mut statement =
        connection.prepare(&run.query.sql).map_err(|error| (QueryFailure::from_sqlite(&error), empty()))?;
    let mut columns = match &run.query.columns {
        Some(columns) => columns.clone(),
        None => {
            let described = match &run.query.describe_sql {
                Some(inner) => {
                    Some(connection.prepare(inner).map_err(|error| (QueryFailure::from_sqlite(&error), empty()))?)
                }
                None => None,
            };
            let source = described.as_ref().unwrap_or(&statement);
            let mut columns: Vec<ResultColumn> =
                source.columns().map(|column| ResultColumn::native(column.name(), column.decl_type())).collect();
            deduplicate_names(&mut columns);
            if let Some(inner) = &run.query.describe_sql {
                type_expression_columns(&connection, inner, &run.query.parameters, &mut columns);
            }
            columns
        }
    };
    on_columns(&columns);
    let width = columns.len();
    let mut rows = statement
        .query(rusqlite::params_from_iter(run.query.parameters.iter()))
        .map_err(|error| (QueryFailure::from_sqlite(&error), empty()))?;
    let mut execution = Execution { columns: Vec::new(), row_count: 0, stopped: false };
    loop {
        if execution.row_count >= run.max_rows {
            break;
        }
        if run.fail_after_rows.is_some_and(|limit| execution.row_count >= limit) {
            execution.columns = columns;
            let failure = QueryFailure {
                message: format!("Emulated failure after {} rows", execution.row_count),
                error_type: "db",
                class: "class java.sql.SQLException",
                state: Some("HY000"),
            };
            return Err((failure, execution));
        }
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(error) => {
                execution.columns = columns;
                return Err((QueryFailure::from_sqlite(&error), execution));
            }
        };
        let mut values: Vec<ValueRef<'_>> = Vec::with_capacity(width);
        for (index, column) in columns.iter_mut().enumerate() {
            let value = row.get_ref(index).unwrap_or(ValueRef::Null);
            if column.infer_type {
                column.infer_from(&value);
            }
            values.push(value);
        }
        if !sink.row(&values, &columns) {
            execution.stopped = true;
            break;
        }
        execution.row_count += 1;
    }
    execution.columns = columns;
    Ok(execution)
}
