//! Export bodies (CONTRACT.md §10): csv with a header of column titles, json as a bare array of
//! row objects keyed by title, and xlsx; streamed as rows are produced, capped with no marker, and
//! with Metabase's JSON error object written into the body if the query fails part way.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use rusqlite::types::ValueRef;
use serde_json::Value;

use super::xlsx::XlsxWriter;
use super::{ChunkSender, SharedSender};
use crate::query::QueryFailure;
use crate::query::columns::ResultColumn;
use crate::query::execute::{Execution, RowSink, Run, execute};
use crate::query::values::{export_text, write_json};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// An Excel workbook.
    Xlsx,
}

impl ExportFormat {
    /// Parses the route's `:export-format`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(ExportFormat::Csv),
            "json" => Some(ExportFormat::Json),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }

    /// Returns the format's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv",
            ExportFormat::Json => "application/json; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// Returns the file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// One export to write.
pub struct ExportRequest<'a> {
    /// The run to perform (its `max_rows` is the export cap or the query's limit).
    pub run: Run<'a>,
    /// The format.
    pub format: ExportFormat,
    /// Whether values are formatted as the UI shows them.
    pub format_rows: bool,
    /// The failure body's context, such as `csv-download`.
    pub context: String,
    /// The database id.
    pub database_id: i64,
    /// When the query started.
    pub started_at: String,
}

enum Body {
    Csv(SharedSender),
    Json(SharedSender),
    Xlsx(Box<XlsxWriter<SharedSender>>),
}

struct ExportRows {
    body: Body,
    format_rows: bool,
    rows_written: u64,
    titles: Vec<String>,
    /// For json: the column index whose value each distinct title takes (the last one wins).
    json_slots: Vec<(String, usize)>,
    started: bool,
    failed_write: bool,
}

fn csv_field(buffer: &mut Vec<u8>, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        buffer.push(b'"');
        buffer.extend_from_slice(text.replace('"', "\"\"").as_bytes());
        buffer.push(b'"');
    } else {
        buffer.extend_from_slice(text.as_bytes());
    }
}

impl ExportRows {
    fn begin(&mut self, columns: &[ResultColumn]) {
        if self.started {
            return;
        }
        self.started = true;
        self.titles = columns.iter().map(|column| column.display_name.clone()).collect();
        let mut slots: Vec<(String, usize)> = Vec::new();
        for (index, title) in self.titles.iter().enumerate() {
            match slots.iter_mut().find(|(existing, _)| existing == title) {
                Some(slot) => slot.1 = index,
                None => slots.push((title.clone(), index)),
            }
        }
        self.json_slots = slots;
        let result = match &mut self.body {
            Body::Csv(sender) => {
                let mut line = Vec::new();
                for (index, title) in self.titles.iter().enumerate() {
                    if index > 0 {
                        line.push(b',');
                    }
                    csv_field(&mut line, title);
                }
                line.push(b'\n');
                sender.write_all(&line)
            }
            Body::Json(sender) => sender.write_all(b"[\n"),
            Body::Xlsx(writer) => writer.begin(&self.titles),
        };
        self.failed_write |= result.is_err();
    }

    fn finish(&mut self) {
        let result = match &mut self.body {
            Body::Csv(_) => Ok(()),
            Body::Json(sender) => sender.write_all(b"\n]"),
            Body::Xlsx(writer) => writer.finish(),
        };
        self.failed_write |= result.is_err();
    }
}

impl RowSink for ExportRows {
    fn row(&mut self, values: &[ValueRef<'_>], columns: &[ResultColumn]) -> bool {
        self.begin(columns);
        let format_rows = self.format_rows;
        let first = self.rows_written == 0;
        self.rows_written += 1;
        let result = match &mut self.body {
            Body::Csv(sender) => {
                let mut sender = sender.0.borrow_mut();
                let buffer = sender.buffer();
                for (index, (value, column)) in values.iter().zip(columns).enumerate() {
                    if index > 0 {
                        buffer.push(b',');
                    }
                    if let Some(text) = export_text(*value, column, format_rows) {
                        csv_field(buffer, &text);
                    }
                }
                buffer.push(b'\n');
                if sender.maybe_flush() { Ok(()) } else { Err(std::io::ErrorKind::BrokenPipe.into()) }
            }
            Body::Json(sender) => {
                let mut sender = sender.0.borrow_mut();
                let buffer = sender.buffer();
                if !first {
                    buffer.extend_from_slice(b",\n");
                }
                buffer.push(b'{');
                for (slot, (title, index)) in self.json_slots.iter().enumerate() {
                    if slot > 0 {
                        buffer.push(b',');
                    }
                    let _ = serde_json::to_writer(&mut *buffer, title);
                    buffer.push(b':');
                    if format_rows {
                        let text = export_text(values[*index], &columns[*index], true);
                        let _ = serde_json::to_writer(&mut *buffer, &text);
                    } else {
                        write_json(buffer, values[*index], &columns[*index], false);
                    }
                }
                buffer.push(b'}');
                if sender.maybe_flush() { Ok(()) } else { Err(std::io::ErrorKind::BrokenPipe.into()) }
            }
            Body::Xlsx(writer) => writer.row(values, columns, format_rows),
        };
        if result.is_err() {
            self.failed_write = true;
        }
        !self.failed_write
    }
}

/// Runs the query and writes the export body; returns the execution for observers.
pub fn write_export(request: &ExportRequest<'_>, sender: ChunkSender) -> Execution {
    let shared = SharedSender(Rc::new(RefCell::new(sender)));
    let body = match request.format {
        ExportFormat::Csv => Body::Csv(shared.clone()),
        ExportFormat::Json => Body::Json(shared.clone()),
        ExportFormat::Xlsx => Body::Xlsx(Box::new(XlsxWriter::new(shared.clone()))),
    };
    let mut rows = ExportRows {
        body,
        format_rows: request.format_rows,
        rows_written: 0,
        titles: Vec::new(),
        json_slots: Vec::new(),
        started: false,
        failed_write: false,
    };
    let mut columns_seen: Vec<ResultColumn> = Vec::new();
    let outcome = execute(&request.run, &mut rows, &mut |columns| columns_seen = columns.to_vec());
    let execution = match outcome {
        Ok(execution) => {
            if !execution.stopped {
                rows.begin(&columns_seen);
                rows.finish();
            }
            execution
        }
        Err((failure, execution)) => {
            write_error(&shared, &failure, request);
            execution
        }
    };
    drop(rows);
    shared.0.borrow_mut().send();
    execution
}

/// Writes Metabase's error object into the export body, then closes it so nothing (such as a
/// half-finished workbook's trailer) follows the error.
fn write_error(shared: &SharedSender, failure: &QueryFailure, request: &ExportRequest<'_>) {
    let mut body = failure.to_json(&Value::Null, request.database_id, &request.context, &request.started_at, false);
    if let Some(map) = body.as_object_mut() {
        map.remove("json_query");
    }
    let mut sender = shared.0.borrow_mut();
    let _ = serde_json::to_writer(&mut *sender, &body);
    sender.close();
}
