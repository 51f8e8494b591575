//! Owns [`PolicyError`] and the means of pointing it at a line of the policy text: converting
//! serde_yaml's errors, and finding the line of a key for problems found after parsing.

use std::fmt;
use std::io;

/// A position in the policy text; both numbers start at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// The line.
    pub line: usize,
    /// The column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.line, self.column)
    }
}

/// Says why a policy could not be loaded or one of its credentials could not be resolved. No
/// variant ever carries a secret: only names of variables, files and credentials.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("policy file {path} could not be read: {}", .source.kind())]
    Read {
        /// The file's path.
        path: String,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// The text is not a valid policy; `location` points at the offending line where known.
    #[error("{file}{}: {message}", location_suffix(.location))]
    Invalid {
        /// The file's name, or `policy` for text that came from no file.
        file: String,
        /// Where in the text the problem is.
        location: Option<Location>,
        /// What is wrong and what would be valid.
        message: String,
    },
    /// A credential name that the policy does not define.
    #[error("credential {name:?} is not defined in the policy; defined credentials: {defined}")]
    UnknownCredential {
        /// The name asked for.
        name: String,
        /// The names the policy defines, comma-separated, or `none`.
        defined: String,
    },
    /// A credential spec that names no usable source.
    #[error("credential {name:?} {problem}")]
    BadCredential {
        /// The credential's name.
        name: String,
        /// What the spec lacks.
        problem: String,
    },
    /// An environment variable a credential reads is unset or blank.
    #[error("credential {name:?}: environment variable {variable} is {state}")]
    MissingVariable {
        /// The credential's name.
        name: String,
        /// The variable's name.
        variable: String,
        /// `not set` or `empty`.
        state: &'static str,
    },
    /// A file a credential reads could not be read.
    #[error("credential {name:?}: {part} file {path} could not be read: {}", .source.kind())]
    UnreadableFile {
        /// The credential's name.
        name: String,
        /// `api key` or `password`.
        part: &'static str,
        /// The file's path.
        path: String,
        /// Why reading failed (an I/O error, never the file's contents).
        #[source]
        source: io::Error,
    },
    /// A file a credential reads holds nothing but whitespace.
    #[error("credential {name:?}: {part} file {path} is empty")]
    EmptyFile {
        /// The credential's name.
        name: String,
        /// `api key` or `password`.
        part: &'static str,
        /// The file's path.
        path: String,
    },
}

impl PolicyError {
    /// Returns where in the policy text the problem is, when it is known.
    pub fn location(&self) -> Option<Location> {
        match self {
            PolicyError::Invalid { location, .. } => *location,
            _ => None,
        }
    }

    /// Builds the error for a serde_yaml failure, taking its position from the error itself.
    pub(crate) fn from_yaml(file: &str, error: &serde_yaml::Error) -> PolicyError {
        let location = error.location().map(|location| Location { line: location.line(), column: location.column() });
        PolicyError::Invalid { file: file.to_owned(), location, message: without_marks(&error.to_string()) }
    }

    /// Builds the error for a problem found after parsing.
    pub(crate) fn invalid(file: &str, location: Option<Location>, message: String) -> PolicyError {
        PolicyError::Invalid { file: file.to_owned(), location, message }
    }
}

fn location_suffix(location: &Option<Location>) -> String {
    location.map(|location| format!(":{location}")).unwrap_or_default()
}

/// Removes serde_yaml's ` at line N column M` and ` at position N`, which the prefix now carries.
fn without_marks(message: &str) -> String {
    let mut kept = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(" at ") {
        kept.push_str(&rest[..start]);
        let after = &rest[start + " at ".len()..];
        match mark_length(after) {
            Some(length) => rest = &after[length..],
            None => {
                kept.push_str(" at ");
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    kept
}

/// Returns the length of a `line N column M` or `position N` at the start of `text`.
fn mark_length(text: &str) -> Option<usize> {
    let digits = |from: &str| from.bytes().take_while(u8::is_ascii_digit).count();
    if let Some(line) = text.strip_prefix("line ") {
        let line_digits = digits(line);
        let column = line[line_digits..].strip_prefix(" column ")?;
        let column_digits = digits(column);
        let complete = line_digits > 0 && column_digits > 0;
        return complete.then(|| "line ".len() + line_digits + " column ".len() + column_digits);
    }
    let position = text.strip_prefix("position ")?;
    let position_digits = digits(position);
    (position_digits > 0).then(|| "position ".len() + position_digits)
}

/// Finds keys in the policy text, so that problems found after parsing can name a line.
pub(crate) struct KeyFinder<'text> {
    lines: Vec<&'text str>,
}

impl<'text> KeyFinder<'text> {
    /// Indexes the text's lines.
    pub(crate) fn new(text: &'text str) -> Self {
        KeyFinder { lines: text.lines().collect() }
    }

    /// Returns where `key:` first appears as a key on a line in `from..until` (0-based indexes).
    pub(crate) fn key_in(&self, key: &str, from: usize, until: usize) -> Option<Location> {
        let until = until.min(self.lines.len());
        (from..until).find_map(|index| {
            let line = self.lines[index];
            key_column(line, key).map(|column| Location { line: index + 1, column })
        })
    }

    /// Returns where `key:` first appears as a key at or after line index `from`.
    pub(crate) fn key_after(&self, key: &str, from: usize) -> Option<Location> {
        self.key_in(key, from, usize::MAX)
    }

    /// Returns the 0-based line index of the `occurrence`-th (0-based) `match:` key, which starts
    /// the principal rule with that index.
    pub(crate) fn rule_start(&self, occurrence: usize) -> Option<usize> {
        let mut from = 0;
        for _ in 0..occurrence {
            from = self.key_after("match", from)?.line;
        }
        self.key_after("match", from).map(|location| location.line - 1)
    }
}

/// Returns the 1-based column of `key` in `line` where it stands as a (possibly quoted) key.
fn key_column(line: &str, key: &str) -> Option<usize> {
    line.match_indices(key).find_map(|(start, _)| {
        let before = line[..start].chars().next_back();
        let after = &line[start + key.len()..];
        // A quoted key must close its quote right before the colon; a plain key is followed by it.
        let ends_key = match before {
            Some(quote @ ('"' | '\'')) => after.strip_prefix(quote).is_some_and(|rest| rest.starts_with(':')),
            Some(' ' | '\t' | '{' | ',') | None => after.starts_with(':'),
            Some(_) => false,
        };
        let prefix_end = if matches!(before, Some('"' | '\'')) { start - 1 } else { start };
        (ends_key && is_code(&line[..prefix_end])).then(|| line[..start].chars().count() + 1)
    })
}

/// Reports whether the text after `prefix` is still YAML structure: not inside a quoted string and
/// not in a comment.
fn is_code(prefix: &str) -> bool {
    let (mut in_double, mut in_single, mut previous) = (false, false, ' ');
    for character in prefix.chars() {
        match character {
            '"' if !in_single => in_double = !in_double,
            '\'' if !in_double => in_single = !in_single,
            '#' if !in_double && !in_single && previous.is_whitespace() => return false,
            _ => {}
        }
        previous = character;
    }
    !in_double && !in_single
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_yaml_marks_are_removed_from_messages() {
        assert_eq!(without_marks("unknown field `x` at line 4 column 5"), "unknown field `x`");
        assert_eq!(
            without_marks(
                "did not find expected key at line 3 column 1, while parsing a block mapping at line 1 column 1"
            ),
            "did not find expected key, while parsing a block mapping"
        );
        assert_eq!(without_marks("invalid type at position 7"), "invalid type");
        assert_eq!(without_marks("look at line one"), "look at line one");
    }

    #[test]
    fn keys_are_found_as_keys_not_inside_values_or_comments() {
        let text = "# rate: 1/s\nprincipals:\n  - match: \"x-rate: y, rate: z\"\n    grants: { cards: read } # rate: 2/s\n    rate: 5/x\n  - match: b\n";
        let finder = KeyFinder::new(text);

        assert_eq!(finder.key_after("rate", 0), Some(Location { line: 5, column: 5 }));
        assert_eq!(finder.key_after("cards", 0), Some(Location { line: 4, column: 15 }));
        assert_eq!(finder.rule_start(0), Some(2));
        assert_eq!(finder.rule_start(1), Some(5));
        assert_eq!(finder.rule_start(2), None);
        assert_eq!(finder.key_in("rate", 5, 6), None);
    }

    #[test]
    fn errors_without_a_location_print_only_the_file_name() {
        let error = PolicyError::invalid("policy.yaml", None, "missing field `version`".to_owned());

        assert_eq!(error.to_string(), "policy.yaml: missing field `version`");
        assert_eq!(error.location(), None);
    }
}
