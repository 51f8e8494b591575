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
mod tests {
    use super::*;
    use crate::streaming::plan::RowLimit;

    /// Feeds `body` in two chunks split at `split`; returns what leaves the gateway, the rows
    /// counted and where an error object began (in the body).
    fn pass(format: ExportFormat, limit: Option<u64>, body: &[u8], split: usize) -> (Vec<u8>, u64, Option<usize>) {
        let mut scanner = BodyScanner::new(format, limit);
        let rows = |scanner: &BodyScanner| scanner.rows().expect("csv and json rows are counted");
        let mut sent = Vec::new();
        let chunks = [&body[..split], &body[split..]];
        let scans = chunks.iter().map(|chunk| Some(Bytes::copy_from_slice(chunk))).chain([None]);
        for chunk in scans {
            let scan = match chunk {
                Some(chunk) => scanner.scan(chunk),
                None => scanner.finish(),
            };
            match scan {
                Scan::Body(data) => sent.extend_from_slice(&data),
                Scan::Cut(data) => {
                    sent.extend_from_slice(&data);
                    return (sent, rows(&scanner), None);
                }
                Scan::Failed { data, error } => {
                    sent.extend_from_slice(&data);
                    assert!(body[sent.len()..].starts_with(&error), "the error text is the body's end");
                    return (sent.clone(), rows(&scanner), Some(sent.len()));
                }
            }
        }
        (sent, rows(&scanner), None)
    }

    const CSV: &[u8] = b"ID,NOTE\r\n1,\"a, \"\"b\"\"\nc\"\r\n2,\"{x}\"\r\n3,\",\n,\"\r\n4,plain\r\n";

    #[test]
    fn a_csv_body_is_cut_after_the_nth_record_at_every_chunk_boundary() {
        let cases: [(Option<u64>, &[u8], u64); 6] = [
            (Some(1), b"ID,NOTE\r\n1,\"a, \"\"b\"\"\nc\"\r\n", 1),
            (Some(2), b"ID,NOTE\r\n1,\"a, \"\"b\"\"\nc\"\r\n2,\"{x}\"\r\n", 2),
            (Some(3), b"ID,NOTE\r\n1,\"a, \"\"b\"\"\nc\"\r\n2,\"{x}\"\r\n3,\",\n,\"\r\n", 3),
            (Some(4), CSV, 4),
            (Some(5), CSV, 4),
            (RowLimit::new(0, None).rows, CSV, 4),
        ];
        for (limit, expected, rows) in cases {
            for split in 0..=CSV.len() {
                let (sent, counted, failed) = pass(ExportFormat::Csv, limit, CSV, split);
                assert_eq!(sent, expected, "limit {limit:?}, split at {split}");
                assert_eq!((counted, failed), (rows, None), "limit {limit:?}, split at {split}");
            }
        }
    }

    #[test]
    fn a_csv_body_without_a_final_line_terminator_counts_its_last_row() {
        let body = b"A\n1\n2";
        for split in 0..=body.len() {
            assert_eq!(pass(ExportFormat::Csv, Some(2), body, split), (body.to_vec(), 2, None), "split at {split}");
            assert_eq!(pass(ExportFormat::Csv, Some(1), body, split), (b"A\n1\n".to_vec(), 1, None));
        }
    }

    #[test]
    fn a_csv_error_object_before_the_limit_is_found_and_rows_before_it_pass() {
        let body = b"A\n1\n2\n{\"status\":\"failed\",\"error\":\"boom\"}";
        for split in 0..=body.len() {
            assert_eq!(pass(ExportFormat::Csv, Some(5), body, split), (b"A\n1\n2\n".to_vec(), 2, Some(6)));
        }
        assert_eq!(pass(ExportFormat::Csv, Some(2), body, 3), (b"A\n1\n2\n".to_vec(), 2, None), "cut first");
    }

    #[test]
    fn a_failed_status_lookalike_csv_value_mid_body_passes_unchanged_and_counts_as_a_row() {
        let body: &[u8] =
            b"ID,NOTE\r\n{\"status\":\"failed\",\"error\":\"x\"}\r\n2,\"{\"\"status\"\":\"\"failed\"\"}\"\r\n{x}\r\n";
        let first_row = b"ID,NOTE\r\n{\"status\":\"failed\",\"error\":\"x\"}\r\n".to_vec();
        for split in 0..=body.len() {
            assert_eq!(pass(ExportFormat::Csv, None, body, split), (body.to_vec(), 3, None), "split at {split}");
            assert_eq!(pass(ExportFormat::Csv, Some(1), body, split), (first_row.clone(), 1, None), "split at {split}");
        }
    }

    const JSON: &[u8] = b"[\n{\"ID\":1,\"NOTE\":\"}],\\\"{\"},\n{\"ID\":2,\"NOTE\":{\"a\":[1,{\"b\":\"]\"}]}},\n{\"ID\":3,\"NOTE\":\"\\\\\"},\n{\"ID\":4,\"NOTE\":null}\n]";

    fn rows_of(json: &[u8]) -> Vec<serde_json::Value> {
        serde_json::from_slice::<Vec<serde_json::Value>>(json).expect("a json array")
    }

    #[test]
    fn a_json_body_is_cut_after_the_nth_element_at_every_chunk_boundary() {
        let all = rows_of(JSON);
        assert_eq!(all.len(), 4);
        let unlimited = RowLimit::new(0, None).rows;
        for (limit, rows) in [(Some(1), 1), (Some(2), 2), (Some(3), 3), (Some(4), 4), (Some(5), 4), (unlimited, 4)] {
            for split in 0..=JSON.len() {
                let (sent, counted, failed) = pass(ExportFormat::Json, limit, JSON, split);
                assert_eq!(rows_of(&sent), all[..rows as usize], "limit {limit:?}, split at {split}");
                assert_eq!((counted, failed), (rows, None), "limit {limit:?}, split at {split}");
                if limit.is_none_or(|most| most >= 4) {
                    assert_eq!(sent, JSON, "as many rows as the limit: the body unchanged");
                }
            }
        }
    }

    #[test]
    fn a_json_limit_of_zero_leaves_metabases_empty_array() {
        assert_eq!(pass(ExportFormat::Json, Some(0), JSON, 5).0, b"[\n\n]");
        assert_eq!(pass(ExportFormat::Csv, Some(0), CSV, 5), (b"ID,NOTE\r\n".to_vec(), 0, None));
    }

    #[test]
    fn a_json_error_object_is_found_at_the_start_or_after_a_row_but_not_inside_one() {
        let after_rows = b"[\n{\"status\":\"failed\",\"n\":1},\n{\"a\":\"}{\"}{\"status\":\"failed\"}";
        for split in 0..=after_rows.len() {
            let (sent, counted, failed) = pass(ExportFormat::Json, Some(5), after_rows, split);
            assert_eq!((counted, failed), (2, Some(after_rows.len() - 19)), "split at {split}");
            assert_eq!(sent, after_rows[..after_rows.len() - 19]);
        }
        assert_eq!(pass(ExportFormat::Json, None, b" {\"status\":\"failed\"}", 0).2, Some(1));
    }

    #[test]
    fn a_workbooks_error_object_is_found_across_chunks() {
        let mut scanner = BodyScanner::new(ExportFormat::Xlsx, Some(1));
        let start = Bytes::from_static(b"PK\x03\x04 zipped{\"sta");
        assert_eq!(scanner.scan(start.clone()), Scan::Body(start), "a workbook is never cut");
        assert_eq!(scanner.rows(), None);
        assert!(matches!(scanner.scan(Bytes::from_static(b"tus\":\"failed\",\"error\":\"x\"}")), Scan::Failed { .. }));
        let mut leading = BodyScanner::new(ExportFormat::Xlsx, None);
        let object = b"{\"status\":\"failed\"}";
        assert_eq!(
            leading.scan(Bytes::from_static(object)),
            Scan::Failed { data: Bytes::new(), error: object.to_vec() }
        );
    }
}
