//! The `:api` result body (CONTRACT.md §9.2): `{"data":{"rows":[` first, rows as they come, then
//! the rest of `data`, then the top-level keys, in the key order real responses have.

use std::io::Write;

use rusqlite::types::ValueRef;
use serde_json::{Value, json};

use super::ChunkSender;
use crate::query::columns::ResultColumn;
use crate::query::execute::{Execution, RowSink, Run, execute};
use crate::query::values::write_json;
use crate::query::{PreparedQuery, QueryFailure};

/// Everything the API body needs besides the rows.
pub struct ApiResponse<'a> {
    /// The run to perform.
    pub run: Run<'a>,
    /// The interactive cap that decides `rows_truncated`.
    pub cap: i64,
    /// `json_query` as Metabase echoes it.
    pub json_query: Value,
    /// The database id.
    pub database_id: i64,
    /// `ad-hoc`, `question`, ...
    pub context: &'a str,
    /// When the query started, ISO-8601.
    pub started_at: String,
    /// Whether this is a card query (which adds `dataset` and `model` to `data`).
    pub card: bool,
}

struct ApiRows<'a> {
    sender: &'a mut ChunkSender,
    started: bool,
    rows_written: bool,
}

impl ApiRows<'_> {
    fn begin(&mut self) {
        if !self.started {
            self.sender.buffer().extend_from_slice(br#"{"data":{"rows":["#);
            self.started = true;
        }
    }
}

impl RowSink for ApiRows<'_> {
    fn row(&mut self, values: &[ValueRef<'_>], columns: &[ResultColumn]) -> bool {
        self.begin();
        let buffer = self.sender.buffer();
        if self.rows_written {
            buffer.push(b',');
        }
        self.rows_written = true;
        buffer.push(b'[');
        for (index, (value, column)) in values.iter().zip(columns).enumerate() {
            if index > 0 {
                buffer.push(b',');
            }
            write_json(buffer, *value, column, true);
        }
        buffer.push(b']');
        self.sender.maybe_flush()
    }
}

fn native_form(query: &PreparedQuery) -> Value {
    json!({"query": query.sql, "params": if query.parameters.is_empty() { Value::Null } else { json!(query.parameters.iter().map(sql_value_json).collect::<Vec<_>>()) }})
}

fn sql_value_json(value: &rusqlite::types::Value) -> Value {
    match value {
        rusqlite::types::Value::Null => Value::Null,
        rusqlite::types::Value::Integer(integer) => json!(integer),
        rusqlite::types::Value::Real(real) => json!(real),
        rusqlite::types::Value::Text(text) => json!(text),
        rusqlite::types::Value::Blob(_) => json!("0x"),
    }
}

/// Runs the query and writes the whole API body; returns the execution for observers.
pub fn write_api_response(
    response: &ApiResponse<'_>,
    sender: &mut ChunkSender,
    started: std::time::Instant,
) -> Option<Execution> {
    let mut rows = ApiRows { sender, started: false, rows_written: false };
    let outcome = execute(&response.run, &mut rows, &mut |_| {});
    let started_rows = rows.started;
    match outcome {
        Ok(execution) if execution.stopped => Some(execution),
        Ok(execution) => {
            let mut rows = ApiRows { sender, started: started_rows, rows_written: true };
            rows.begin();
            write_tail(response, &execution, sender, started);
            sender.send();
            Some(execution)
        }
        Err((failure, execution)) => {
            write_failure(response, &failure, sender);
            sender.send();
            Some(execution)
        }
    }
}

fn write_tail(
    response: &ApiResponse<'_>,
    execution: &Execution,
    sender: &mut ChunkSender,
    started: std::time::Instant,
) {
    let columns: Vec<Value> = execution.columns.iter().map(ResultColumn::to_json).collect();
    let metadata: Vec<Value> = execution.columns.iter().map(ResultColumn::to_metadata_json).collect();
    let buffer = sender.buffer();
    let mut data_tail = serde_json::Map::new();
    data_tail.insert("results_timezone".into(), json!("UTC"));
    data_tail.insert("download_perms".into(), json!("full"));
    data_tail.insert("results_metadata".into(), json!({"columns": metadata}));
    data_tail.insert("requested_timezone".into(), json!("UTC"));
    data_tail.insert("format-rows?".into(), json!(true));
    data_tail.insert("cols".into(), Value::Array(columns));
    data_tail.insert("native_form".into(), native_form(response.run.query));
    data_tail.insert("is_sandboxed".into(), json!(false));
    if response.card {
        data_tail.insert("dataset".into(), json!(false));
        data_tail.insert("model".into(), json!(false));
    }
    data_tail.insert("insights".into(), Value::Null);
    if execution.row_count == response.cap {
        data_tail.insert("rows_truncated".into(), json!(response.cap));
    }
    buffer.push(b']');
    for (key, value) in &data_tail {
        buffer.push(b',');
        let _ = serde_json::to_writer(&mut *buffer, key);
        buffer.push(b':');
        let _ = serde_json::to_writer(&mut *buffer, value);
    }
    let running_time = started.elapsed().as_millis() as i64;
    let top = json!({
        "cached": null,
        "database_id": response.database_id,
        "started_at": response.started_at,
        "json_query": response.json_query,
        "average_execution_time": null,
        "status": "completed",
        "context": response.context,
        "row_count": execution.row_count,
        "running_time": running_time
    });
    buffer.push(b'}');
    if let Value::Object(top) = top {
        for (key, value) in &top {
            buffer.push(b',');
            let _ = serde_json::to_writer(&mut *buffer, key);
            buffer.push(b':');
            let _ = serde_json::to_writer(&mut *buffer, value);
        }
    }
    buffer.push(b'}');
}

/// Writes the failure body: alone when no rows were sent, appended to the partial body otherwise
/// (Metabase does the same, leaving an invalid JSON document).
fn write_failure(response: &ApiResponse<'_>, failure: &QueryFailure, sender: &mut ChunkSender) {
    let body =
        failure.to_json(&response.json_query, response.database_id, response.context, &response.started_at, true);
    let _ = serde_json::to_writer(&mut *sender, &body);
    let _ = sender.flush();
}
