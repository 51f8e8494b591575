//! Owns the native parts of a query: template tags (saved-question and snippet tags among them)
//! and the `{{#N}}`, `{{#N-slug}}` and `{{snippet: name}}` references in native text. Native text
//! never reaches an error message.

use serde_json::Value;

use super::clauses::{self, Reading};
use super::walk::{At, Obj, integer};
use super::{InspectError, QueryFacts};

/// The keys a template tag may have.
const TAG_KEYS: [&str; 14] = [
    "type",
    "name",
    "display-name",
    "id",
    "card-id",
    "snippet-id",
    "snippet-name",
    "dimension",
    "widget-type",
    "required",
    "default",
    "options",
    "alias",
    "temporal-units",
];

/// The template tag types the inspector understands.
const TAG_TYPES: [&str; 8] = ["text", "number", "date", "boolean", "dimension", "temporal-unit", "card", "snippet"];

/// Snippet names are at most 254 characters in Metabase; a longer reference is not understood.
const MAX_SNIPPET_REFERENCE_CHARS: usize = 1024;

/// More digits than this cannot be a card id (and would not fit an i64).
const MAX_CARD_DIGITS: usize = 18;

/// Reads native text, recording the saved questions and snippets its `{{...}}` tags reference.
///
/// It reads more than Metabase would (any `{{` up to the next `}}`, overlapping openings too, any
/// case of `snippet`): recording too much only makes the policy stricter. It runs in linear time.
pub(super) fn text(sql: &str, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let bytes = sql.as_bytes();
    let mut next_close: Option<usize> = None;
    for open in 0..bytes.len().saturating_sub(1) {
        if &bytes[open..open + 2] != b"{{" {
            continue;
        }
        let start = open + 2;
        // Openings only move forward, so each part of the text is searched for `}}` once.
        if next_close.is_none_or(|close| close < start) {
            next_close = bytes[start..].windows(2).position(|pair| pair == b"}}").map(|found| found + start);
        }
        let Some(end) = next_close else { break };
        // `{` and `}` are ASCII, so both ends are character boundaries.
        reference(&sql[start..end], at, facts)?;
    }
    Ok(())
}

/// Records the saved question or snippet that a tag name (the text between `{{` and `}}`) names.
fn reference(content: &str, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let name = content.trim_start();
    if let Some(after_hash) = name.strip_prefix('#') {
        let digits_end = after_hash.find(|character: char| !character.is_ascii_digit()).unwrap_or(after_hash.len());
        let digits = &after_hash[..digits_end];
        let card = if digits.len() <= MAX_CARD_DIGITS { digits.parse::<i64>().ok() } else { None };
        let Some(card) = card else {
            return Err(at.deny("has a saved-question reference in native text that is not understood"));
        };
        facts.cards.insert(card);
        return Ok(());
    }
    let Some(after_word) = name.get(.."snippet".len()).filter(|word| word.eq_ignore_ascii_case("snippet")) else {
        return Ok(());
    };
    let Some(snippet) = name[after_word.len()..].trim_start().strip_prefix(':').map(str::trim) else {
        return Ok(());
    };
    if snippet.is_empty() || snippet.chars().count() > MAX_SNIPPET_REFERENCE_CHARS {
        return Err(at.deny("has a snippet reference in native text that is not understood"));
    }
    facts.snippets.insert(format!("name {snippet:?}"));
    Ok(())
}

/// Reads a `template-tags` map (tag name to tag), recording card and snippet tags.
pub(super) fn template_tags(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let Value::Object(tags) = value else { return Err(at.deny_type(value, "an object")) };
    for (name, tag) in tags {
        let tag_at = at.named(name)?;
        reference(name, &tag_at, facts)?;
        template_tag(tag, &tag_at, facts)?;
    }
    Ok(())
}

fn template_tag(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let tag = Obj::read(value, at)?;
    tag.allow(&TAG_KEYS)?;
    let (kind, raw_kind) = tag.keyword("type")?;
    if !TAG_TYPES.contains(&kind.as_str()) {
        return Err(at.deny_keyword("type", raw_kind));
    }
    let mut names_card = false;
    let mut names_snippet = false;
    for entry in tag.entries() {
        let entry_at = at.field(&entry.name)?;
        // The frontend may send a null id for tags of other types; null names nothing.
        if entry.value.is_null() {
            continue;
        }
        match entry.name.as_str() {
            "type" => {}
            "card-id" => {
                facts.cards.insert(integer(entry.value, &entry_at)?);
                names_card = true;
            }
            "snippet-id" => {
                facts.snippets.insert(format!("id {}", integer(entry.value, &entry_at)?));
                names_snippet = true;
            }
            "snippet-name" => {
                let Some(name) = entry.value.as_str() else { return Err(entry_at.deny_type(entry.value, "a string")) };
                facts.snippets.insert(format!("name {name:?}"));
                names_snippet = true;
            }
            "name" => match entry.value.as_str() {
                Some(name) => reference(name, &entry_at, facts)?,
                None => return Err(entry_at.deny_type(entry.value, "a string")),
            },
            "dimension" => clauses::walk(entry.value, &entry_at, Reading::Clause, facts)?,
            _ => clauses::walk(entry.value, &entry_at, Reading::Free, facts)?,
        }
    }
    match kind.as_str() {
        "card" if !names_card => Err(at.deny("is a card template tag without a card-id")),
        "snippet" if !names_snippet => Err(at.deny("is a snippet template tag without a snippet-id or snippet-name")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(sql: &str) -> Result<QueryFacts, InspectError> {
        let mut facts = QueryFacts::default();
        text(sql, &At::root(), &mut facts).map(|()| facts)
    }

    #[test]
    fn card_and_snippet_references_in_native_text_are_found() {
        let facts =
            scan("select * from {{#123}} join {{ #45-orders-by-month }} on {{{#6}}} where {{snippet:  a b }}").unwrap();
        assert_eq!(facts.cards.into_iter().collect::<Vec<_>>(), [6, 45, 123]);
        assert_eq!(facts.snippets.into_iter().collect::<Vec<_>>(), [r#"name "a b""#]);
        let facts = scan("{{ SNIPPET :x}} {{snippets}} {{x}} {{ unclosed").unwrap();
        assert_eq!(facts.snippets.into_iter().collect::<Vec<_>>(), [r#"name "x""#]);
        assert!(facts.cards.is_empty());
    }

    #[test]
    fn unreadable_references_are_denied_without_quoting_the_text() {
        for sql in ["SELECT secret FROM t {{#}}", "SELECT secret FROM t {{#99999999999999999999}}", "{{snippet: }}"] {
            let error = scan(sql).unwrap_err();
            assert!(!error.message.contains("secret") && !error.message.contains("999"), "{}", error.message);
        }
    }

    #[test]
    fn a_text_of_many_openings_is_read_in_linear_time() {
        let sql = "{{".repeat(200_000) + "#7}}";
        assert_eq!(scan(&sql).unwrap().cards.into_iter().collect::<Vec<_>>(), [7]);
    }
}
