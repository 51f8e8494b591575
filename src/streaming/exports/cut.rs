//! Reads an export body as it passes through the gateway: counts its rows, finds where a csv or
//! json body must be cut so that no more rows than the call's limit leave the gateway, and finds
//! the error object Metabase writes into the body when a query fails part way. It keeps at most
//! one csv record or a few bytes of a workbook, never the body. A csv record that may be the
//! error object (see [`crate::streaming::csv`]) is held back until the body shows it is data.

use bytes::{Bytes, BytesMut};

use crate::metabase::ExportFormat;
use crate::streaming::csv::{CsvReader, Event};

/// What may leave the gateway after one chunk of an export body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scan {
    /// These bytes are body; more may follow.
    Body(Bytes),
    /// The row limit was reached: these bytes end the body (the document closed after the last
    /// row allowed), and nothing more is read.
    Cut(Bytes),
    /// Metabase's error object was found: `data` is the body before it, `error` its text so far.
    Failed {
        /// The body before the error object.
        data: Bytes,
        /// The error object's text read so far.
        error: Vec<u8>,
    },
}

/// Where a json or workbook chunk ends, as the scan of its bytes found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Body,
    Cut { end: usize, tail: &'static [u8] },
    Failed { start: usize },
}

impl Found {
    fn within(self, chunk: Bytes) -> Scan {
        match self {
            Found::Body => Scan::Body(chunk),
            Found::Cut { end, tail } => Scan::Cut(with_tail(chunk.slice(..end), tail)),
            Found::Failed { start } => Scan::Failed { data: chunk.slice(..start), error: chunk[start..].to_vec() },
        }
    }
}

/// Returns `body` followed by `tail`.
fn with_tail(body: Bytes, tail: &[u8]) -> Bytes {
    if tail.is_empty() {
        return body;
    }
    let mut joined = BytesMut::with_capacity(body.len() + tail.len());
    joined.extend_from_slice(&body);
    joined.extend_from_slice(tail);
    joined.freeze()
}

/// The start of Metabase's error object, as it appears inside a workbook's bytes.
const ERROR_MARKER: &[u8] = b"{\"status\":\"failed\"";
/// What follows the last row object of Metabase's json export (CONTRACT.md §10.3).
const JSON_CLOSE: &[u8] = b"\n]";
/// What follows the opening bracket of Metabase's json export of no rows: `[\n\n]`.
const JSON_EMPTY_CLOSE: &[u8] = b"\n\n]";

/// Where a json body's scan stands between chunks.
#[derive(Debug, Default)]
struct JsonState {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The last byte outside strings at the array's level or above.
    last: u8,
    seen_any: bool,
}

#[derive(Debug)]
enum Format {
    /// `held` are the body's bytes from offset `sent` on that the reader holds back.
    Csv {
        reader: CsvReader,
        header_seen: bool,
        sent: u64,
        held: Vec<u8>,
    },
    Json(JsonState),
    Binary {
        carry: Vec<u8>,
    },
}

/// Scans an export body chunk by chunk.
#[derive(Debug)]
pub(super) struct BodyScanner {
    format: Format,
    limit: Option<u64>,
    rows: u64,
}

impl BodyScanner {
    /// Returns a scanner for a body of `format` that cuts csv and json after `limit` rows
    /// (`None`: no limit). A workbook is never cut; only its error object is looked for.
    pub(super) fn new(format: ExportFormat, limit: Option<u64>) -> Self {
        let format = match format {
            ExportFormat::Csv => {
                Format::Csv { reader: CsvReader::new(), header_seen: false, sent: 0, held: Vec::new() }
            }
            ExportFormat::Json => Format::Json(JsonState::default()),
            ExportFormat::Xlsx => Format::Binary { carry: Vec::new() },
        };
        BodyScanner { format, limit, rows: 0 }
    }

    /// Returns the number of complete rows scanned so far (csv data records after the header,
    /// json array elements), or `None` for a workbook, whose rows are not counted.
    pub(super) fn rows(&self) -> Option<u64> {
        match self.format {
            Format::Binary { .. } => None,
            Format::Csv { .. } | Format::Json(_) => Some(self.rows),
        }
    }

    /// Scans the next chunk of the body and returns what of it (and of bytes held before) may
    /// leave the gateway.
    pub(super) fn scan(&mut self, chunk: Bytes) -> Scan {
        let limit = self.limit;
        let rows = &mut self.rows;
        match &mut self.format {
            Format::Csv { reader, header_seen, sent, held } => {
                let stop = reader.feed_until_stop(&chunk, &mut |event| count_csv(&event, header_seen, rows, limit));
                let joined = if held.is_empty() {
                    chunk
                } else {
                    let mut joined = std::mem::take(held);
                    joined.extend_from_slice(&chunk);
                    Bytes::from(joined)
                };
                let offset =
                    |at: u64| usize::try_from(at.saturating_sub(*sent)).unwrap_or(usize::MAX).min(joined.len());
                if let Some(end) = stop {
                    return Scan::Cut(joined.slice(..offset(end)));
                }
                let keep_from = reader.held_from().map_or(joined.len(), offset);
                *held = joined[keep_from..].to_vec();
                *sent += keep_from as u64;
                Scan::Body(joined.slice(..keep_from))
            }
            Format::Json(state) => scan_json(state, &chunk, rows, limit).within(chunk),
            Format::Binary { carry } => scan_binary(carry, &chunk).within(chunk),
        }
    }

    /// Ends the body and returns what is left to send: a csv record held back is delivered as
    /// data (and counted), or found to be Metabase's error object.
    pub(super) fn finish(&mut self) -> Scan {
        let limit = self.limit;
        let rows = &mut self.rows;
        let Format::Csv { reader, header_seen, sent, held } = &mut self.format else {
            return Scan::Body(Bytes::new());
        };
        let held_from = reader.held_from();
        let stop = reader.finish(&mut |event| count_csv(&event, header_seen, rows, limit));
        let rest = Bytes::from(std::mem::take(held));
        let offset = |at: u64| usize::try_from(at.saturating_sub(*sent)).unwrap_or(usize::MAX).min(rest.len());
        if let (Some(error), Some(start)) = (reader.error_text(), held_from) {
            return Scan::Failed { data: rest.slice(..offset(start)), error: error.to_vec() };
        }
        match stop {
            Some(end) => Scan::Cut(rest.slice(..offset(end))),
            None => Scan::Body(rest),
        }
    }
}

/// Counts a csv record (the first is the header, not a row); returns false once the limit is
/// reached, which makes the reader stop right after that record.
fn count_csv(event: &Event<'_>, header_seen: &mut bool, rows: &mut u64, limit: Option<u64>) -> bool {
    if !matches!(event, Event::Record(_)) {
        return true;
    }
    if *header_seen {
        *rows += 1;
    } else {
        *header_seen = true;
    }
    limit.is_none_or(|most| *rows < most)
}

/// Scans Metabase's json export, a bare array of row objects: strings (with escapes) are
/// skipped, each object or array closing back to the array's level is a row. A `{` where no
/// row may begin (first in the body, or right after a row's `}` without a comma) starts the
/// error object.
fn scan_json(state: &mut JsonState, chunk: &[u8], rows: &mut u64, limit: Option<u64>) -> Found {
    let mut index = 0;
    while index < chunk.len() {
        if state.in_string {
            if state.escaped {
                state.escaped = false;
                index += 1;
                continue;
            }
            let Some(offset) = memchr::memchr2(b'"', b'\\', &chunk[index..]) else {
                return Found::Body;
            };
            index += offset;
            if chunk[index] == b'\\' {
                state.escaped = true;
            } else {
                state.in_string = false;
            }
            index += 1;
            continue;
        }
        let byte = chunk[index];
        match byte {
            b'"' => state.in_string = true,
            b'{' | b'[' => {
                let starts_error =
                    byte == b'{' && ((state.depth == 0 && !state.seen_any) || (state.depth == 1 && state.last == b'}'));
                if starts_error {
                    return Found::Failed { start: index };
                }
                state.depth += 1;
                if state.depth == 1 && limit == Some(0) {
                    return Found::Cut { end: index + 1, tail: JSON_EMPTY_CLOSE };
                }
            }
            b'}' | b']' => {
                state.depth = state.depth.saturating_sub(1);
                if state.depth == 1 {
                    *rows += 1;
                    if limit.is_some_and(|most| *rows >= most) {
                        return Found::Cut { end: index + 1, tail: JSON_CLOSE };
                    }
                }
            }
            _ => {}
        }
        if !byte.is_ascii_whitespace() {
            state.seen_any = true;
            if state.depth <= 1 {
                state.last = byte;
            }
        }
        index += 1;
    }
    Found::Body
}

/// Finds the error object in a workbook's bytes: the whole body when it starts with `{`, else
/// the marker, which may straddle chunks (the last few bytes are carried over).
fn scan_binary(carry: &mut Vec<u8>, chunk: &[u8]) -> Found {
    if carry.is_empty() && chunk.first() == Some(&b'{') {
        return Found::Failed { start: 0 };
    }
    let mut window = std::mem::take(carry);
    let offset = window.len();
    window.extend_from_slice(chunk);
    let found = window.windows(ERROR_MARKER.len()).position(|candidate| candidate == ERROR_MARKER);
    let keep = window.len().saturating_sub(ERROR_MARKER.len() - 1);
    *carry = window.split_off(keep);
    found.map_or(Found::Body, |position| Found::Failed { start: position.saturating_sub(offset) })
}

#[cfg(test)]
#[path = "cut_tests.rs"]
mod tests;
