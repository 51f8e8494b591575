//! Arrow record batches from the same typed cells as the protobuf rows: the schema a result's
//! Metabase column metadata gives, and [`ArrowRows`], a [`RowEncoder`] that builds one Arrow array
//! per column. A value that does not fit its column's type becomes a null and is counted, never
//! misread.
//!
//! Types: integers are Int64, floats and decimals Float64 (decimals lose exactness past 15
//! significant digits), booleans Boolean, dates Date32, timestamps Timestamp(µs, UTC) holding the
//! instant Metabase's text names (its offset applied; text without an offset is read as UTC), and
//! everything else Utf8.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::columns::{CellKind, ColumnInfo};
use super::wire::{BatchEncoder, RowEncoder};

/// The zone of every timestamp column: values are instants, read with Metabase's offsets.
pub(crate) const TIMESTAMP_ZONE: &str = "UTC";

/// The Arrow type of a result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrowKind {
    Int64,
    Float64,
    Boolean,
    Utf8,
    Date32,
    Timestamp,
}

impl ArrowKind {
    fn of(column: &ColumnInfo) -> Self {
        match column.kind {
            CellKind::Integer => ArrowKind::Int64,
            CellKind::Number => ArrowKind::Float64,
            CellKind::Boolean => ArrowKind::Boolean,
            CellKind::Text => match column.column.effective_type.as_str() {
                "type/Date" => ArrowKind::Date32,
                "type/DateTime"
                | "type/DateTimeWithTZ"
                | "type/DateTimeWithLocalTZ"
                | "type/DateTimeWithZoneOffset"
                | "type/DateTimeWithZoneID"
                | "type/Instant" => ArrowKind::Timestamp,
                _ => ArrowKind::Utf8,
            },
        }
    }

    fn data_type(self) -> DataType {
        match self {
            ArrowKind::Int64 => DataType::Int64,
            ArrowKind::Float64 => DataType::Float64,
            ArrowKind::Boolean => DataType::Boolean,
            ArrowKind::Utf8 => DataType::Utf8,
            ArrowKind::Date32 => DataType::Date32,
            ArrowKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_ZONE.into())),
        }
    }
}

/// Returns the Arrow schema of a result's columns. Each field is named by Metabase's column name
/// and keeps `name`, `display_name`, `base_type` and, when set, `semantic_type` as metadata under
/// `metabase.`.
pub(crate) fn schema(columns: &[ColumnInfo]) -> Schema {
    let fields: Vec<Field> = columns
        .iter()
        .map(|info| {
            let column = &info.column;
            let mut metadata = HashMap::from([
                ("metabase.name".to_owned(), column.name.clone()),
                ("metabase.display_name".to_owned(), column.display_name.clone()),
                ("metabase.base_type".to_owned(), column.base_type.clone()),
            ]);
            if let Some(semantic_type) = &column.semantic_type {
                metadata.insert("metabase.semantic_type".to_owned(), semantic_type.clone());
            }
            Field::new(column.name.clone(), ArrowKind::of(info).data_type(), true).with_metadata(metadata)
        })
        .collect();
    Schema::new(fields)
}

/// The array being built for one column.
enum ColumnBuilder {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Utf8(StringBuilder),
    Date32(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    fn new(kind: ArrowKind) -> Self {
        match kind {
            ArrowKind::Int64 => ColumnBuilder::Int64(Int64Builder::new()),
            ArrowKind::Float64 => ColumnBuilder::Float64(Float64Builder::new()),
            ArrowKind::Boolean => ColumnBuilder::Boolean(BooleanBuilder::new()),
            ArrowKind::Utf8 => ColumnBuilder::Utf8(StringBuilder::new()),
            ArrowKind::Date32 => ColumnBuilder::Date32(Date32Builder::new()),
            ArrowKind::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone(TIMESTAMP_ZONE))
            }
        }
    }

    fn null(&mut self) {
        match self {
            ColumnBuilder::Int64(builder) => builder.append_null(),
            ColumnBuilder::Float64(builder) => builder.append_null(),
            ColumnBuilder::Boolean(builder) => builder.append_null(),
            ColumnBuilder::Utf8(builder) => builder.append_null(),
            ColumnBuilder::Date32(builder) => builder.append_null(),
            ColumnBuilder::Timestamp(builder) => builder.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Int64(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Float64(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Boolean(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Utf8(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Date32(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Timestamp(builder) => Arc::new(builder.finish()),
        }
    }
}

/// Returns the days since 1970-01-01 of a date, or of the date part of a timestamp
/// (`2024-03-01T00:00:00Z`, as Metabase's JSON route renders dates).
fn parse_date(text: &str) -> Option<i32> {
    let (day, rest) = (text.get(..10)?, &text[10..]);
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return None;
    }
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    i32::try_from(date.signed_duration_since(NaiveDate::default()).num_days()).ok()
}

/// Returns the microseconds since the epoch of a timestamp: with its offset when it has one,
/// else as UTC; a bare date is its midnight.
fn parse_timestamp(text: &str) -> Option<i64> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_micros());
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|date| date.and_hms_opt(0, 0, 0)))?;
    Some(naive.and_utc().timestamp_micros())
}

/// Returns a float as an integer when it is one and fits 64 bits.
fn exact_integer(value: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or above it does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (value.fract() == 0.0 && (-LIMIT..LIMIT).contains(&value)).then_some(value as i64)
}

/// Builds Arrow record batches from typed cells, one array per column of the result's schema.
pub(crate) struct ArrowRows {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    /// The column the next cell of the current row goes to.
    next: usize,
    rows: usize,
    bytes: usize,
    mistyped: u64,
}

impl ArrowRows {
    /// Returns an encoder for a result's columns.
    pub(crate) fn new(columns: &[ColumnInfo]) -> Self {
        ArrowRows {
            schema: Arc::new(schema(columns)),
            columns: columns.iter().map(|column| ColumnBuilder::new(ArrowKind::of(column))).collect(),
            next: 0,
            rows: 0,
            bytes: 0,
            mistyped: 0,
        }
    }

    /// Returns the builder of the next cell in the row, or `None` past the last column.
    fn cell(&mut self) -> Option<&mut ColumnBuilder> {
        let column = self.columns.get_mut(self.next);
        self.next += 1;
        column
    }

    /// Appends a null for a value its column cannot hold, and counts it.
    fn mistyped_value(&mut self) {
        self.mistyped += 1;
        if let Some(column) = self.columns.get_mut(self.next - 1) {
            column.null();
        }
    }
}

impl RowEncoder for ArrowRows {
    fn null(&mut self) {
        if let Some(column) = self.cell() {
            column.null();
        }
    }

    fn boolean(&mut self, value: bool) {
        match self.cell() {
            Some(ColumnBuilder::Boolean(builder)) => builder.append_value(value),
            Some(ColumnBuilder::Utf8(builder)) => builder.append_value(if value { "true" } else { "false" }),
            _ => return self.mistyped_value(),
        }
        self.bytes += 1;
    }

    fn int(&mut self, value: i64) {
        match self.cell() {
            Some(ColumnBuilder::Int64(builder)) => builder.append_value(value),
            Some(ColumnBuilder::Float64(builder)) => builder.append_value(value as f64),
            Some(ColumnBuilder::Utf8(builder)) => builder.append_value(value.to_string()),
            _ => return self.mistyped_value(),
        }
        self.bytes += 8;
    }

    fn double(&mut self, value: f64) {
        match self.cell() {
            Some(ColumnBuilder::Float64(builder)) => builder.append_value(value),
            Some(ColumnBuilder::Int64(builder)) => match exact_integer(value) {
                Some(integer) => builder.append_value(integer),
                None => return self.mistyped_value(),
            },
            Some(ColumnBuilder::Utf8(builder)) => builder.append_value(value.to_string()),
            _ => return self.mistyped_value(),
        }
        self.bytes += 8;
    }

    fn text(&mut self, value: &str) {
        let fitted = match self.cell() {
            Some(ColumnBuilder::Utf8(builder)) => {
                builder.append_value(value);
                true
            }
            Some(ColumnBuilder::Int64(builder)) => value.parse().map(|integer| builder.append_value(integer)).is_ok(),
            Some(ColumnBuilder::Float64(builder)) => value.parse().map(|number| builder.append_value(number)).is_ok(),
            Some(ColumnBuilder::Boolean(builder)) => match value {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
            .map(|flag| builder.append_value(flag))
            .is_some(),
            Some(ColumnBuilder::Date32(builder)) => parse_date(value).map(|days| builder.append_value(days)).is_some(),
            Some(ColumnBuilder::Timestamp(builder)) => {
                parse_timestamp(value).map(|micros| builder.append_value(micros)).is_some()
            }
            None => false,
        };
        if fitted {
            self.bytes += value.len() + 4;
        } else {
            self.mistyped_value();
        }
    }

    fn end_row(&mut self) {
        // A short row's missing cells are nulls, so every array keeps the row count.
        for column in self.columns.iter_mut().skip(self.next) {
            column.null();
        }
        self.next = 0;
        self.rows += 1;
    }
}

impl BatchEncoder for ArrowRows {
    type Batch = Result<RecordBatch, ArrowError>;
    // Batches stay well under the 1 MiB per message the API promises (and gRPC's 4 MiB default
    // that Flight clients keep), counting validity bitmaps and IPC padding on top.
    const BATCH_BYTES: usize = 768 * 1024;

    fn rows(&self) -> usize {
        self.rows
    }

    fn byte_len(&self) -> usize {
        self.bytes
    }

    fn take(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = std::mem::take(&mut self.rows);
        self.bytes = 0;
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
    }

    fn mistyped(&self) -> u64 {
        self.mistyped
    }
}

#[cfg(test)]
#[path = "arrow_tests.rs"]
mod tests;
