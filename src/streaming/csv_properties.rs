//! Bounded, seeded property tests of the CSV reader: arbitrary bytes in arbitrary chunks never
//! panic and read the same however they are split, and rows written as Metabase writes them come
//! back exactly, never joined by rows made from the error object at the body's end.

use super::csv::{CsvReader, Event};
use crate::seeded::Seeded;

/// What a body read as: its records and Metabase's error object.
type Reading = (Vec<Vec<String>>, Option<Vec<u8>>);

/// Reads `body` split at `cuts` (sorted positions).
fn read(body: &[u8], cuts: &[usize]) -> Reading {
    let mut reader = CsvReader::new();
    let mut records = Vec::new();
    let mut on_event = |event: Event<'_>| {
        if let Event::Record(record) = event {
            records.push(record.to_vec());
        }
        true
    };
    let mut start = 0;
    for &cut in cuts.iter().chain([&body.len()]) {
        reader.feed(&body[start..cut], &mut on_event);
        start = cut;
    }
    reader.finish(&mut on_event);
    let error = reader.error_text().map(<[u8]>::to_vec);
    (records, error)
}

fn random_cuts(random: &mut Seeded, length: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = (0..random.below(5)).map(|_| random.below(length + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// Writes a field as Metabase's CSV writer does: quoted when it holds a comma, a quote or a
/// line break.
fn write_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[test]
fn arbitrary_bytes_in_arbitrary_chunks_never_panic_and_read_the_same_however_split() {
    let mut random = Seeded::new(0x6373_7631);
    let alphabet = b"ab1,\"\n\r{}: \\status failed";
    for _ in 0..3_000 {
        let mut body = random.text(alphabet, 120).into_bytes();
        if random.below(4) == 0 {
            body.extend(random.bytes(40));
        }
        if random.below(3) == 0 {
            body.extend_from_slice(b"{\"status\":\"failed\",\"error\":\"x\"}");
        }
        let whole = read(&body, &[]);
        let split = read(&body, &random_cuts(&mut random, body.len()));
        assert_eq!(split, whole, "{:?}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn rows_come_back_exactly_and_never_with_rows_from_the_error_object() {
    let mut random = Seeded::new(0x726f_7773);
    let alphabet = b"ab1 ,\"\n\r{}:";
    for _ in 0..2_000 {
        let columns = 1 + random.below(3);
        let rows: Vec<Vec<String>> = (0..random.below(6))
            .map(|_| (0..columns).map(|_| random.text(alphabet, 12)).collect())
            .filter(|row: &Vec<String>| !(columns == 1 && row[0].is_empty()))
            .collect();
        let header: Vec<String> = (0..columns).map(|index| format!("C{index}")).collect();
        let mut body = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let fields: Vec<String> = row.iter().map(|field| write_field(field)).collect();
            body.push_str(&fields.join(","));
            body.push_str("\r\n");
        }
        let failed = random.below(2) == 0;
        let error_object = serde_json::json!({"status": "failed", "error": random.text(alphabet, 30)}).to_string();
        if failed {
            body.push_str(&error_object);
        }
        let (records, error) = read(body.as_bytes(), &random_cuts(&mut random, body.len()));
        let expected: Vec<Vec<String>> = std::iter::once(header).chain(rows).collect();
        assert_eq!(records, expected, "{body:?}");
        assert_eq!(error, failed.then(|| error_object.into_bytes()), "{body:?}");
    }
}
