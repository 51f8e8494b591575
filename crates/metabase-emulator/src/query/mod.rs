//! The emulator's query processor: turns a Metabase query (native SQL, legacy MBQL or MBQL 5) into
//! SQLite SQL, runs it on a blocking thread, and streams rows to a response writer.

pub mod columns;
pub mod compile;
pub mod execute;
pub mod normalize;
pub mod template;
pub mod values;
pub mod writers;

use serde_json::{Map, Value, json};

use self::columns::ResultColumn;
use crate::catalog::Catalog;

/// A query failure, reported as Metabase's `"status": "failed"` body.
#[derive(Debug, Clone)]
pub struct QueryFailure {
    /// The `error` text.
    pub message: String,
    /// The `error_type`, such as `invalid-query`.
    pub error_type: &'static str,
    /// The Java-like exception class Metabase would name.
    pub class: &'static str,
    /// The SQL state, for database errors.
    pub state: Option<&'static str>,
}

impl QueryFailure {
    /// Returns an `invalid-query` failure.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        QueryFailure {
            message: message.into(),
            error_type: "invalid-query",
            class: "class clojure.lang.ExceptionInfo",
            state: None,
        }
    }

    /// Returns a failure of the given type.
    pub fn of_type(error_type: &'static str, message: impl Into<String>) -> Self {
        QueryFailure { message: message.into(), error_type, class: "class clojure.lang.ExceptionInfo", state: None }
    }

    /// Returns the failure for an error SQLite raised, as a JDBC driver error would read.
    pub fn from_sqlite(error: &rusqlite::Error) -> Self {
        QueryFailure {
            message: error.to_string(),
            error_type: "invalid-query",
            class: "class org.sqlite.SQLiteException",
            state: Some("42000"),
        }
    }

    /// Returns Metabase's failure body (CONTRACT.md §9.3) for the given context.
    pub fn to_json(
        &self,
        json_query: &Value,
        database_id: i64,
        context: &str,
        started_at: &str,
        include_query: bool,
    ) -> Value {
        let mut body = Map::new();
        body.insert("status".into(), json!("failed"));
        body.insert("class".into(), json!(self.class));
        body.insert("error".into(), json!(self.message));
        body.insert("stacktrace".into(), json!([]));
        if let Some(state) = self.state {
            body.insert("state".into(), json!(state));
        }
        body.insert("error_type".into(), json!(self.error_type));
        body.insert("ex-data".into(), json!({"type": self.error_type}));
        if include_query {
            body.insert("json_query".into(), json_query.clone());
        }
        body.insert("database_id".into(), json!(database_id));
        body.insert("started_at".into(), json!(started_at));
        body.insert("via".into(), json!([]));
        body.insert("context".into(), json!(context));
        body.insert("row_count".into(), json!(0));
        body.insert("running_time".into(), json!(0));
        body.insert("data".into(), json!({"rows": [], "cols": []}));
        Value::Object(body)
    }
}

/// A query ready to run.
#[derive(Debug, Clone)]
pub struct PreparedQuery {
    /// The SQL with `?` placeholders.
    pub sql: String,
    /// Values for the placeholders.
    pub parameters: Vec<rusqlite::types::Value>,
    /// The result columns, or none for native SQL, whose columns SQLite reports.
    pub columns: Option<Vec<ResultColumn>>,
    /// Whether the query aggregates (MBQL only; native never counts as aggregated).
    pub aggregated: bool,
    /// Whether the query is native SQL.
    pub native: bool,
    /// The query's own row limit.
    pub query_limit: Option<i64>,
    /// For a native query nested in a limiting stage: the inner SQL, whose columns the result
    /// has (SQLite renames duplicate names inside a subquery; Metabase reports the originals).
    pub describe_sql: Option<String>,
}

/// Prepares an MBQL 5 query (legacy input must be converted first) against the sample catalog.
pub fn prepare(query: &Value, parameters: &Value, catalog: &Catalog) -> Result<PreparedQuery, QueryFailure> {
    let stages = query
        .get("stages")
        .and_then(Value::as_array)
        .ok_or_else(|| QueryFailure::invalid_query("Invalid query: missing :stages"))?;
    if let [source, outer] = stages.as_slice() {
        return prepare_nested_native(source, outer, parameters);
    }
    if stages.len() != 1 {
        return Err(QueryFailure::invalid_query(
            "Queries with more than one stage are not supported by this Metabase emulator",
        ));
    }
    let stage = &stages[0];
    match stage.get("lib/type").and_then(Value::as_str) {
        Some("mbql.stage/native") => {
            let sql = stage
                .get("native")
                .and_then(Value::as_str)
                .ok_or_else(|| QueryFailure::invalid_query("Invalid native query: missing :native"))?;
            let template_tags = stage.get("template-tags").cloned().unwrap_or_else(|| json!({}));
            let (sql, bound) = template::substitute(sql, &template_tags, parameters)?;
            Ok(PreparedQuery {
                sql,
                parameters: bound,
                columns: None,
                aggregated: false,
                native: true,
                query_limit: None,
                describe_sql: None,
            })
        }
        Some("mbql.stage/mbql") => {
            let compiled = compile::compile_stage(stage, catalog)?;
            Ok(PreparedQuery {
                sql: compiled.sql,
                parameters: compiled.parameters,
                columns: Some(compiled.columns),
                aggregated: compiled.aggregated,
                native: false,
                query_limit: compiled.limit,
                describe_sql: None,
            })
        }
        other => Err(QueryFailure::invalid_query(format!("Invalid stage type: {}", other.unwrap_or("nil")))),
    }
}

/// Prepares a native query used as the source of an MBQL stage that only limits it (the form a
/// client uses to read a native query's columns without its rows).
fn prepare_nested_native(source: &Value, outer: &Value, parameters: &Value) -> Result<PreparedQuery, QueryFailure> {
    let unsupported = || {
        QueryFailure::invalid_query(
            "Nested stages are supported by this Metabase emulator only as a native source with a limit",
        )
    };
    if source.get("lib/type").and_then(Value::as_str) != Some("mbql.stage/native") {
        return Err(unsupported());
    }
    let outer_keys_supported = outer.as_object().is_some_and(|stage| {
        stage.keys().all(|key| ["lib/type", "limit", "lib/stage-metadata"].contains(&key.as_str()))
    });
    if !outer_keys_supported {
        return Err(unsupported());
    }
    let sql = source
        .get("native")
        .and_then(Value::as_str)
        .ok_or_else(|| QueryFailure::invalid_query("Invalid native query: missing :native"))?;
    let template_tags = source.get("template-tags").cloned().unwrap_or_else(|| json!({}));
    let (sql, bound) = template::substitute(sql, &template_tags, parameters)?;
    let limit = outer.get("limit").and_then(Value::as_i64);
    let wrapped = match limit {
        Some(limit) => format!("SELECT * FROM ({sql}) AS \"source\" LIMIT {limit}"),
        None => format!("SELECT * FROM ({sql}) AS \"source\""),
    };
    Ok(PreparedQuery {
        sql: wrapped,
        parameters: bound,
        columns: None,
        aggregated: false,
        native: true,
        query_limit: limit,
        describe_sql: Some(sql),
    })
}

/// Returns the columns a query would produce, without running it (SQLite reports a prepared
/// statement's columns and declared types), for a card's `result_metadata`.
pub fn describe(
    query: &Value,
    catalog: &Catalog,
    database: &std::path::Path,
) -> Result<Vec<ResultColumn>, QueryFailure> {
    let prepared = prepare(query, &json!([]), catalog)?;
    if let Some(columns) = prepared.columns {
        return Ok(columns);
    }
    let connection = execute::open(database)?;
    let sql = prepared.describe_sql.as_deref().unwrap_or(&prepared.sql);
    let statement = connection.prepare(sql).map_err(|error| QueryFailure::from_sqlite(&error))?;
    let mut columns: Vec<ResultColumn> =
        statement.columns().map(|column| ResultColumn::native(column.name(), column.decl_type())).collect();
    columns::deduplicate_names(&mut columns);
    Ok(columns)
}

/// The row limits Metabase applies to interactive (JSON) queries.
#[derive(Debug, Clone, Copy)]
pub struct RowLimits {
    /// The cap for queries without aggregation, and for all native queries (default 2,000).
    pub unaggregated: i64,
    /// The cap for aggregated queries (default 10,000).
    pub aggregated: i64,
}

/// Metabase's absolute export cap: one less than Excel's row count, leaving room for a header.
pub const EXPORT_ROW_LIMIT: i64 = 1_048_575;

impl RowLimits {
    /// Returns the interactive cap for a query: the unaggregated cap is clamped to the aggregated.
    pub fn cap_for(&self, query: &PreparedQuery) -> i64 {
        let bare = self.unaggregated.min(self.aggregated);
        if query.aggregated { self.aggregated } else { bare }
    }
}
