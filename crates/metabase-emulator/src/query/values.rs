//! Encodes SQLite values the way Metabase encodes warehouse values: JSON numbers (large integers as
//! strings where `js-int-to-string?` is on), ISO-8601 temporals, `0x`-prefixed bytes, and the
//! formatted strings of `format_rows=true` exports.

use std::io::Write;

use rusqlite::types::ValueRef;

use super::columns::ResultColumn;

/// The largest integer JavaScript represents exactly; beyond it Metabase sends strings.
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// Writes a value as JSON. `large_ints_as_strings` is Metabase's `js-int-to-string?`.
pub fn write_json(buffer: &mut Vec<u8>, value: ValueRef<'_>, column: &ResultColumn, large_ints_as_strings: bool) {
    match value {
        ValueRef::Null => buffer.extend_from_slice(b"null"),
        ValueRef::Integer(integer) if column.is_boolean() => {
            buffer.extend_from_slice(if integer != 0 { b"true" } else { b"false" })
        }
        ValueRef::Integer(integer)
            if large_ints_as_strings && !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&integer) =>
        {
            let _ = write!(buffer, "\"{integer}\"");
        }
        ValueRef::Integer(integer) => {
            let _ = write!(buffer, "{integer}");
        }
        ValueRef::Real(real) if real.is_finite() => {
            let _ = serde_json::to_writer(&mut *buffer, &real);
        }
        ValueRef::Real(_) => buffer.extend_from_slice(b"null"),
        ValueRef::Text(text) => {
            let _ = serde_json::to_writer(&mut *buffer, &String::from_utf8_lossy(text));
        }
        ValueRef::Blob(bytes) => {
            let _ = write!(buffer, "\"{}\"", blob_text(bytes));
        }
    }
}

fn blob_text(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().take(4).map(|byte| format!("{byte:02X}")).collect();
    format!("0x{hex}")
}

/// Returns a value as export text: raw when `format_rows` is false, as the UI shows it when true.
/// `None` is a SQL null.
pub fn export_text(value: ValueRef<'_>, column: &ResultColumn, format_rows: bool) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(integer) if column.is_boolean() => Some((integer != 0).to_string()),
        ValueRef::Integer(integer) if format_rows && !is_identifier(column) => {
            Some(group_thousands(&integer.to_string()))
        }
        ValueRef::Integer(integer) => Some(integer.to_string()),
        ValueRef::Real(real) if format_rows => Some(format_decimal(real)),
        ValueRef::Real(real) => Some(serde_json::to_string(&real).unwrap_or_default()),
        ValueRef::Text(text) if format_rows && column.base_type.starts_with("type/Date") => {
            Some(format_temporal(&String::from_utf8_lossy(text), column.base_type == "type/Date"))
        }
        ValueRef::Text(text) => Some(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => Some(blob_text(bytes)),
    }
}

fn is_identifier(column: &ResultColumn) -> bool {
    matches!(column.semantic_type.as_deref(), Some("type/PK") | Some("type/FK"))
}

fn group_thousands(digits: &str) -> String {
    let (sign, digits) = digits.strip_prefix('-').map_or(("", digits), |rest| ("-", rest));
    let mut grouped = String::new();
    for (index, character) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(character);
    }
    format!("{sign}{grouped}")
}

fn format_decimal(real: f64) -> String {
    let rounded = format!("{real:.2}");
    let (whole, fraction) = rounded.split_once('.').unwrap_or((&rounded, "00"));
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { group_thousands(whole) } else { format!("{}.{fraction}", group_thousands(whole)) }
}

fn format_temporal(text: &str, date_only: bool) -> String {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return if date_only {
            time.format("%B %-d, %Y").to_string()
        } else {
            time.format("%B %-d, %Y, %-I:%M %p").to_string()
        };
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.format("%B %-d, %Y").to_string();
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(base_type: &str) -> ResultColumn {
        let mut column = ResultColumn::native("X", None);
        column.base_type = base_type.into();
        column
    }

    #[test]
    fn integers_beyond_2_pow_53_become_strings_only_when_asked() {
        let mut buffer = Vec::new();
        write_json(&mut buffer, ValueRef::Integer(9_007_199_254_740_993), &column("type/BigInteger"), true);
        assert_eq!(buffer, b"\"9007199254740993\"");
        buffer.clear();
        write_json(&mut buffer, ValueRef::Integer(9_007_199_254_740_993), &column("type/BigInteger"), false);
        assert_eq!(buffer, b"9007199254740993");
    }

    #[test]
    fn formatted_exports_read_as_the_ui_shows_them() {
        assert_eq!(
            export_text(ValueRef::Integer(1234567), &column("type/Integer"), true).as_deref(),
            Some("1,234,567")
        );
        assert_eq!(export_text(ValueRef::Real(1234.5), &column("type/Float"), true).as_deref(), Some("1,234.5"));
        let when = ValueRef::Text(b"2023-07-19T19:44:56.582Z");
        assert_eq!(export_text(when, &column("type/DateTime"), true).as_deref(), Some("July 19, 2023, 7:44 PM"));
    }
}
