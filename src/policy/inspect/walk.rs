//! Owns the inspector's reading primitives: where in the query it stands (a JSON path and a depth
//! that bounds the recursion), Metabase's normalisation of keys and keywords, objects read by
//! normalised key, integer ids, and the sentences of a denial.

use std::fmt::Display;

use serde_json::Value;

use super::InspectError;

/// How many levels (keys and array positions) the inspector descends before it denies the query.
pub(super) const MAX_DEPTH: usize = 64;

/// How many characters of a key or value an error may quote.
const MAX_QUOTED_CHARS: usize = 64;

/// How many characters of a path an error message shows (the `path` field keeps all of it).
const MAX_SHOWN_PATH_CHARS: usize = 96;

/// The largest integer an f64 holds exactly; integral floats beyond it are not trusted as ids.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

/// Where the inspector stands in the query: the JSON path for errors, and how deep it is.
#[derive(Clone, Debug)]
pub(super) struct At {
    path: String,
    depth: usize,
}

impl At {
    /// Returns the top level of the query.
    pub(super) fn root() -> At {
        At { path: String::new(), depth: 0 }
    }

    /// Returns the position of a structural key the inspector knows, such as `joins`.
    pub(super) fn field(&self, name: &str) -> Result<At, InspectError> {
        let name = truncated(name);
        if self.path.is_empty() { self.child(name) } else { self.child(format!("{}.{name}", self.path)) }
    }

    /// Returns the position of an array element.
    pub(super) fn index(&self, index: usize) -> Result<At, InspectError> {
        self.child(format!("{}[{index}]", self.path))
    }

    /// Returns the position of a caller-chosen name, such as a template tag or an options key.
    pub(super) fn named(&self, name: &str) -> Result<At, InspectError> {
        self.child(format!("{}[{}]", self.path, quoted(name)))
    }

    fn child(&self, path: String) -> Result<At, InspectError> {
        let at = At { path, depth: self.depth + 1 };
        if at.depth > MAX_DEPTH {
            return Err(at.deny(format_args!("is nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(at)
    }

    /// Returns the denial `the query at <path> <what>`.
    pub(super) fn deny(&self, what: impl Display) -> InspectError {
        InspectError { path: self.path.clone(), message: format!("the query at {} {what}", self.place()) }
    }

    /// Returns the denial for a key the inspector does not understand at this position.
    pub(super) fn deny_key(&self, raw_key: &str) -> InspectError {
        let message = format!("the query key {} at {} is not understood", quoted(raw_key), self.place());
        InspectError { path: self.path.clone(), message }
    }

    /// Returns the denial for a string where the inspector needs a value it knows, e.g.
    /// `has lib/type "mbql.stage/weird", which is not understood`.
    pub(super) fn deny_keyword(&self, key: &str, raw_value: &str) -> InspectError {
        self.deny(format_args!("has {key} {}, which is not understood", quoted(raw_value)))
    }

    /// Returns the denial for a value of the wrong JSON type.
    pub(super) fn deny_type(&self, value: &Value, expected: &str) -> InspectError {
        self.deny(format_args!("is {} where {expected} is expected", json_type(value)))
    }

    fn place(&self) -> String {
        if self.path.is_empty() {
            return "the top level".to_owned();
        }
        let count = self.path.chars().count();
        if count <= MAX_SHOWN_PATH_CHARS {
            return self.path.clone();
        }
        let tail: String = self.path.chars().skip(count - MAX_SHOWN_PATH_CHARS).collect();
        format!("…{tail}")
    }
}

/// Normalises a key or keyword the way Metabase does: a leading `:` dropped, lowercase, `_` as `-`.
pub(super) fn normalise(token: &str) -> String {
    let bare = token.strip_prefix(':').unwrap_or(token);
    bare.to_lowercase().replace('_', "-")
}

/// Normalises more loosely than Metabase (every leading `:` and surrounding spaces dropped), for
/// spotting query-bearing keys in places where none belongs: matching too much only denies more.
pub(super) fn loosely_normalise(token: &str) -> String {
    normalise(token.trim().trim_start_matches(':').trim())
}

/// Returns a quoted, escaped and truncated copy of a caller's string for an error message.
pub(super) fn quoted(text: &str) -> String {
    format!("{:?}", truncated(text))
}

fn truncated(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    short.push('…');
    short
}

/// Returns an integer id: a JSON integer, or an integral float (protobuf Struct numbers are f64).
pub(super) fn as_integer(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else { return None };
    if let Some(integer) = number.as_i64() {
        return Some(integer);
    }
    let float = number.as_f64()?;
    let exact = float.is_finite() && float.fract() == 0.0 && float.abs() <= MAX_EXACT_FLOAT;
    // The bound above keeps the cast exact.
    exact.then_some(float as i64)
}

/// Returns an integer id, or the denial naming where it was expected.
pub(super) fn integer(value: &Value, at: &At) -> Result<i64, InspectError> {
    as_integer(value).ok_or_else(|| at.deny(format_args!("is {} where an integer is expected", json_type(value))))
}

/// Returns the array at a structural position, or the denial.
pub(super) fn array<'v>(value: &'v Value, at: &At) -> Result<&'v [Value], InspectError> {
    value.as_array().map(Vec::as_slice).ok_or_else(|| at.deny_type(value, "an array"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if as_integer(value).is_none() && number.as_f64().is_some() => "a non-integral number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object at a structural position, read by normalised key.
pub(super) struct Obj<'v> {
    /// Where the object is.
    pub(super) at: At,
    entries: Vec<Entry<'v>>,
}

/// One key of an [`Obj`]: its normalised name, the key as sent, and its value.
pub(super) struct Entry<'v> {
    pub(super) name: String,
    pub(super) raw: &'v str,
    pub(super) value: &'v Value,
}

impl<'v> Obj<'v> {
    /// Reads an object, denying anything else and two keys that normalise to one name (Metabase
    /// would keep one of them, and the inspector cannot know which).
    pub(super) fn read(value: &'v Value, at: &At) -> Result<Obj<'v>, InspectError> {
        let Value::Object(map) = value else { return Err(at.deny_type(value, "an object")) };
        let mut entries: Vec<Entry<'v>> = Vec::with_capacity(map.len());
        for (raw, value) in map {
            let name = normalise(raw);
            if let Some(earlier) = entries.iter().find(|entry| entry.name == name) {
                let both = format!("{} and {}", quoted(earlier.raw), quoted(raw));
                return Err(at.deny(format_args!("has the keys {both}, which both mean {}", quoted(&name))));
            }
            entries.push(Entry { name, raw, value });
        }
        Ok(Obj { at: at.clone(), entries })
    }

    /// Denies the first key not among `allowed`, naming it.
    pub(super) fn allow(&self, allowed: &[&str]) -> Result<(), InspectError> {
        match self.entries.iter().find(|entry| !allowed.contains(&entry.name.as_str())) {
            Some(entry) => Err(self.at.deny_key(entry.raw)),
            None => Ok(()),
        }
    }

    /// Returns the entries, in the order they were sent.
    pub(super) fn entries(&self) -> &[Entry<'v>] {
        &self.entries
    }

    /// Returns the value of a normalised key.
    pub(super) fn get(&self, name: &str) -> Option<&'v Value> {
        self.entries.iter().find(|entry| entry.name == name).map(|entry| entry.value)
    }

    /// Returns whether the object has a normalised key.
    pub(super) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Returns the value of a key the shape needs, or the denial saying it is missing.
    pub(super) fn required(&self, name: &str) -> Result<&'v Value, InspectError> {
        self.get(name).ok_or_else(|| self.at.deny(format_args!("has no {name:?}")))
    }

    /// Returns a required keyword (such as `type` or `lib/type`), normalised, with the string as sent.
    pub(super) fn keyword(&self, name: &str) -> Result<(String, &'v str), InspectError> {
        let value = self.required(name)?;
        let Some(raw) = value.as_str() else {
            return Err(self.at.deny(format_args!("has {name:?} as {} where a string is expected", json_type(value))));
        };
        Ok((normalise(raw), raw))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_normalise_like_metabase() {
        for raw in ["source-table", "SOURCE_TABLE", "source_table", ":source-table", ":Source_Table"] {
            assert_eq!(normalise(raw), "source-table", "{raw}");
        }
        assert_eq!(normalise("LIB/TYPE"), "lib/type");
        assert_eq!(normalise("::native"), ":native");
        assert_eq!(loosely_normalise(" ::native "), "native");
    }

    #[test]
    fn integral_floats_are_ids_and_other_numbers_are_not() {
        assert_eq!(as_integer(&json!(1)), Some(1));
        assert_eq!(as_integer(&json!(1.0)), Some(1));
        assert_eq!(as_integer(&json!(-1337.0)), Some(-1337));
        assert_eq!(as_integer(&json!(1.5)), None);
        assert_eq!(as_integer(&json!(1e300)), None);
        assert_eq!(as_integer(&json!(u64::MAX)), None);
        assert_eq!(as_integer(&json!("1")), None);
    }

    #[test]
    fn errors_quote_at_most_64_characters_and_shorten_long_paths() {
        let long = "k".repeat(500);
        let error = At::root().deny_key(&long);
        assert!(error.message.contains(&format!("\"{}…\"", "k".repeat(64))), "{}", error.message);
        assert!(!error.message.contains(&"k".repeat(65)));
        let mut at = At::root();
        for _ in 0..40 {
            at = at.field("source-query").unwrap();
        }
        let message = at.deny("is odd").message;
        assert!(message.starts_with("the query at …") && message.len() < 140, "{message}");
    }

    #[test]
    fn two_keys_that_normalise_alike_are_denied() {
        let error = Obj::read(&json!({"type": "query", "TYPE": "native"}), &At::root()).err().unwrap();
        assert_eq!(
            error.message,
            r#"the query at the top level has the keys "type" and "TYPE", which both mean "type""#
        );
    }
}
