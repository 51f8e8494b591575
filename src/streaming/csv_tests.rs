//! Tests of `csv`, kept beside it so the module itself stays short.

use super::*;

fn records(chunks: &[&str]) -> (Vec<Vec<String>>, Option<String>) {
    let mut reader = CsvReader::new();
    let mut found = Vec::new();
    let mut on_event = |event: Event<'_>| {
        if let Event::Record(record) = event {
            found.push(record.to_vec());
        }
        true
    };
    for chunk in chunks {
        reader.feed(chunk.as_bytes(), &mut on_event);
    }
    reader.finish(&mut on_event);
    let error = reader.error_text().map(|text| String::from_utf8_lossy(text).into_owned());
    (found, error)
}

#[test]
fn quoted_fields_with_commas_quotes_and_newlines_survive_chunk_boundaries() {
    let (found, error) = records(&["ID,NA", "ME\n1,\"a, \"\"b\"\"\nc\"\n2,", "plain\r\n3,last"]);
    assert_eq!(found, vec![vec!["ID", "NAME"], vec!["1", "a, \"b\"\nc"], vec!["2", "plain"], vec!["3", "last"]]);
    assert!(error.is_none());
}

#[test]
fn a_json_error_object_after_rows_is_reported() {
    let (found, error) = records(&["ID\n1\n2\n{\"status\":\"fai", "led\",\"error\":\"boom\"}"]);
    assert_eq!(found.len(), 3);
    assert_eq!(error.as_deref(), Some("{\"status\":\"failed\",\"error\":\"boom\"}"));
}

/// Reads `body` split at every position; returns the records and error text, checking that
/// every split agrees.
fn at_every_split(body: &str) -> (Vec<Vec<String>>, Option<String>) {
    let whole = records(&[body]);
    for split in 0..=body.len() {
        if body.is_char_boundary(split) {
            assert_eq!(records(&[&body[..split], &body[split..]]), whole, "split at {split}");
        }
    }
    whole
}

#[test]
fn a_failed_status_lookalike_value_mid_body_comes_through_as_rows() {
    let body = "ID,NOTE\n{\"status\":\"failed\",\"error\":\"x\"}\n\"{\"\"status\"\":\"\"failed\"\"}\",b\n\n{x},c\n9,d";
    let (found, error) = at_every_split(body);
    assert_eq!(error, None);
    assert_eq!(found.len(), 6, "{found:?}");
    assert_eq!(found[1][0], "{\"status\":\"failed\"");
    assert_eq!(found[2], vec!["{\"status\":\"failed\"}", "b"]);
    assert_eq!(found[3], vec![""], "the blank line after a held record is still a record");
    assert_eq!(found[4], vec!["{x}", "c"]);
    assert_eq!(found[5], vec!["9", "d"]);
}

#[test]
fn a_brace_value_last_in_the_body_is_data_unless_it_is_the_error_object() {
    for body in ["ID\n{x}\n", "ID\n{\"status\":\"failed\" but not json\n", "ID\n{\"status\":\"completed\"}"] {
        let (found, error) = at_every_split(body);
        assert_eq!((found.len(), error), (2, None), "{body}");
    }
    let (found, error) = at_every_split("ID\n1\n{\"status\":\"failed\",\"error\":\"a, \\\"b\\\"\\nc\"}\r\n");
    assert_eq!(found, vec![vec!["ID"], vec!["1"]]);
    assert_eq!(error.as_deref(), Some("{\"status\":\"failed\",\"error\":\"a, \\\"b\\\"\\nc\"}\r\n"));
}

#[test]
fn only_bytes_that_may_be_the_error_object_are_held() {
    let mut reader = CsvReader::new();
    let mut ignore = |_: Event<'_>| true;
    reader.feed(b"ID\n{", &mut ignore);
    assert_eq!(reader.held_from(), Some(3), "a record beginning with {{ may be the error object");
    reader.feed(b"x},1\n{\"sta", &mut ignore);
    assert_eq!(reader.held_from(), Some(9), "{{x}} is data; {{\"sta may begin the error object");
    reader.feed(b"tus\":\"ok\"}\n", &mut ignore);
    assert_eq!(reader.held_from(), None);
}

#[test]
fn a_record_past_the_limit_stops_reading_and_names_its_field_in_bounded_memory() {
    let mut reader = CsvReader::with_record_limit(1024);
    let mut events = Vec::new();
    let mut on_event = |event: Event<'_>| {
        events.push(match event {
            Event::Record(record) => format!("record {}", record.len()),
            Event::Oversized { field, bytes } => format!("oversized field {field} at {bytes}"),
            Event::ErrorObject => "error".to_owned(),
        });
        true
    };
    assert!(reader.feed(b"ID,BODY\n1,small\n2,\"", &mut on_event));
    let wide = vec![b'x'; 600];
    assert!(reader.feed(&wide, &mut on_event), "600 bytes of the field are under the limit");
    assert!(!reader.feed(&wide, &mut on_event), "1,200 bytes of one record are over it");
    assert_eq!(events, ["record 2", "record 2", "oversized field 1 at 1201"]);
    assert!(reader.record.capacity() < 4096, "the reader held {} bytes", reader.record.capacity());
}
