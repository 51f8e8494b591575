//! Tests of `cut`, kept beside it so the module itself stays short.

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
    assert_eq!(leading.scan(Bytes::from_static(object)), Scan::Failed { data: Bytes::new(), error: object.to_vec() });
}
