//! Reads an export body as it passes through the gateway: counts its rows, finds where a csv or
//! json body must be cut so that no more rows than the call's limit leave the gateway, and finds
//! the error object Metabase writes into the body when a query fails part way. It keeps at most
//! one csv record or a few bytes of a workbook, never the body.

use crate::metabase::ExportFormat;
use crate::streaming::csv::{CsvReader, Event};

/// What one chunk of an export body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// The whole chunk is body.
    Body,
    /// The row limit was reached: the body ends at `end`, `tail` closes the document, and nothing
    /// more is read.
    Cut {
        /// Where the last row allowed ends (just past its line terminator or closing brace).
        end: usize,
        /// What closes the document after that row.
        tail: &'static [u8],
    },
    /// Metabase's error object begins at `start`; the body before it is still sent.
    Failed {
        /// Where the error object begins.
        start: usize,
    },
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
    Csv { reader: CsvReader, header_seen: bool },
    Json(JsonState),
    Binary { carry: Vec<u8> },
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
            ExportFormat::Csv => Format::Csv { reader: CsvReader::new(), header_seen: false },
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

    /// Scans the next chunk of the body.
    pub(super) fn scan(&mut self, chunk: &[u8]) -> Scan {
        let limit = self.limit;
        let rows = &mut self.rows;
        match &mut self.format {
            Format::Csv { reader, header_seen } => {
                let before = reader.error_text().map_or(0, <[u8]>::len);
                let stop = reader.feed_until_stop(chunk, &mut |event| count_csv(&event, header_seen, rows, limit));
                if let Some(end) = stop {
                    return Scan::Cut { end, tail: b"" };
                }
                let after = reader.error_text().map_or(0, <[u8]>::len);
                if after > before && before == 0 { Scan::Failed { start: chunk.len() - after } } else { Scan::Body }
            }
            Format::Json(state) => scan_json(state, chunk, rows, limit),
            Format::Binary { carry } => scan_binary(carry, chunk),
        }
    }

    /// Ends the body: a csv body's last record without a line terminator is counted.
    pub(super) fn finish(&mut self) {
        let limit = self.limit;
        let rows = &mut self.rows;
        if let Format::Csv { reader, header_seen } = &mut self.format {
            reader.finish(&mut |event| count_csv(&event, header_seen, rows, limit));
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
fn scan_json(state: &mut JsonState, chunk: &[u8], rows: &mut u64, limit: Option<u64>) -> Scan {
    let mut index = 0;
    while index < chunk.len() {
        if state.in_string {
            if state.escaped {
                state.escaped = false;
                index += 1;
                continue;
            }
            let Some(offset) = memchr::memchr2(b'"', b'\\', &chunk[index..]) else {
                return Scan::Body;
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
                    return Scan::Failed { start: index };
                }
                state.depth += 1;
                if state.depth == 1 && limit == Some(0) {
                    return Scan::Cut { end: index + 1, tail: JSON_EMPTY_CLOSE };
                }
            }
            b'}' | b']' => {
                state.depth = state.depth.saturating_sub(1);
                if state.depth == 1 {
                    *rows += 1;
                    if limit.is_some_and(|most| *rows >= most) {
                        return Scan::Cut { end: index + 1, tail: JSON_CLOSE };
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
    Scan::Body
}

/// Finds the error object in a workbook's bytes: the whole body when it starts with `{`, else
/// the marker, which may straddle chunks (the last few bytes are carried over).
fn scan_binary(carry: &mut Vec<u8>, chunk: &[u8]) -> Scan {
    if carry.is_empty() && chunk.first() == Some(&b'{') {
        return Scan::Failed { start: 0 };
    }
    let mut window = std::mem::take(carry);
    let offset = window.len();
    window.extend_from_slice(chunk);
    let found = window.windows(ERROR_MARKER.len()).position(|candidate| candidate == ERROR_MARKER);
    let keep = window.len().saturating_sub(ERROR_MARKER.len() - 1);
    *carry = window.split_off(keep);
    found.map_or(Scan::Body, |position| Scan::Failed { start: position.saturating_sub(offset) })
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
        let mut consumed = 0;
        for chunk in [&body[..split], &body[split..]] {
            match scanner.scan(chunk) {
                Scan::Body => sent.extend_from_slice(chunk),
                Scan::Cut { end, tail } => {
                    sent.extend_from_slice(&chunk[..end]);
                    sent.extend_from_slice(tail);
                    return (sent, rows(&scanner), None);
                }
                Scan::Failed { start } => {
                    sent.extend_from_slice(&chunk[..start]);
                    return (sent, rows(&scanner), Some(consumed + start));
                }
            }
            consumed += chunk.len();
        }
        scanner.finish();
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
        assert_eq!(scanner.scan(b"PK\x03\x04 zipped{\"sta"), Scan::Body, "a workbook is never cut");
        assert_eq!(scanner.rows(), None);
        assert!(matches!(scanner.scan(b"tus\":\"failed\",\"error\":\"x\"}"), Scan::Failed { .. }));
        let mut leading = BodyScanner::new(ExportFormat::Xlsx, None);
        assert_eq!(leading.scan(b"{\"status\":\"failed\"}"), Scan::Failed { start: 0 });
    }
}
