//! Owns legacy (MBQL 4) queries: the top level with `type` `query` or `native`, the inner MBQL
//! query, nested `source-query` (MBQL or native), joins, and the top-level `native` object.

use serde_json::Value;

use super::clauses::{self, Reading};
use super::native;
use super::walk::{At, Obj, array, integer};
use super::{InspectError, QueryFacts};

/// The keys of a legacy top level. `info` is deliberately absent: it can carry `card-id`, which
/// makes Metabase check the permissions of that card instead of the data permissions of what the
/// query reads. `middleware` is absent too: it changes how Metabase processes the query.
const TOP_KEYS: [&str; 6] = ["database", "type", "query", "native", "parameters", "constraints"];

/// The keys of an inner MBQL query (`query`, or an MBQL `source-query`).
const INNER_KEYS: [&str; 15] = [
    "source-table",
    "source-query",
    "source-metadata",
    "joins",
    "fields",
    "filter",
    "aggregation",
    "breakout",
    "order-by",
    "expressions",
    "limit",
    "page",
    "aggregation-idents",
    "breakout-idents",
    "expression-idents",
];

/// The keys of a legacy join.
const JOIN_KEYS: [&str; 9] = [
    "source-table",
    "source-query",
    "condition",
    "alias",
    "fields",
    "strategy",
    "fk-field-id",
    "source-metadata",
    "ident",
];

/// The keys of a native source query. `database` is read as one more database the query names.
const NATIVE_SOURCE_KEYS: [&str; 4] = ["native", "template-tags", "collection", "database"];

/// The keys of the top-level `native` object.
const NATIVE_KEYS: [&str; 3] = ["query", "template-tags", "collection"];

/// Reads a legacy top level except `database`, `parameters` and `constraints`, which both
/// dialects share.
pub(super) fn query(top: &Obj<'_>, facts: &mut QueryFacts) -> Result<(), InspectError> {
    top.allow(&TOP_KEYS)?;
    let (kind, raw_kind) = top.keyword("type")?;
    match kind.as_str() {
        "query" => {
            if top.has("native") {
                return Err(top.at.deny("has type \"query\" and a \"native\" key"));
            }
            let at = top.at.field("query")?;
            inner(&Obj::read(top.required("query")?, &at)?, facts)
        }
        "native" => {
            if top.has("query") {
                return Err(top.at.deny("has type \"native\" and a \"query\" key"));
            }
            facts.native = true;
            native_object(top.required("native")?, &top.at.field("native")?, facts)
        }
        _ => Err(top.at.deny_keyword("type", raw_kind)),
    }
}

/// Reads an inner MBQL query.
fn inner(query: &Obj<'_>, facts: &mut QueryFacts) -> Result<(), InspectError> {
    query.allow(&INNER_KEYS)?;
    source(query, facts)?;
    for entry in query.entries() {
        let at = query.at.field(&entry.name)?;
        match entry.name.as_str() {
            "source-table" | "source-query" => {}
            "source-metadata" => metadata(entry.value, &at, facts)?,
            "joins" => {
                for (index, join_value) in array(entry.value, &at)?.iter().enumerate() {
                    join(&Obj::read(join_value, &at.index(index)?)?, facts)?;
                }
            }
            "expressions" => {
                let Value::Object(expressions) = entry.value else {
                    return Err(at.deny_type(entry.value, "an object"));
                };
                for (name, expression) in expressions {
                    clauses::walk(expression, &at.named(name)?, Reading::Clause, facts)?;
                }
            }
            _ => clauses::walk(entry.value, &at, Reading::Clause, facts)?,
        }
    }
    Ok(())
}

/// Reads a legacy join: a source like an inner query's, then conditions and fields.
fn join(join: &Obj<'_>, facts: &mut QueryFacts) -> Result<(), InspectError> {
    join.allow(&JOIN_KEYS)?;
    source(join, facts)?;
    for entry in join.entries() {
        let at = join.at.field(&entry.name)?;
        match entry.name.as_str() {
            "source-table" | "source-query" => {}
            "source-metadata" => metadata(entry.value, &at, facts)?,
            _ => clauses::walk(entry.value, &at, Reading::Clause, facts)?,
        }
    }
    Ok(())
}

/// Reads the source of an inner query or a join: exactly one of `source-table` and `source-query`.
fn source(query: &Obj<'_>, facts: &mut QueryFacts) -> Result<(), InspectError> {
    match (query.get("source-table"), query.get("source-query")) {
        (Some(_), Some(_)) => Err(query.at.deny("has both \"source-table\" and \"source-query\"")),
        (None, None) => Err(query.at.deny("has neither \"source-table\" nor \"source-query\"")),
        (Some(table), None) => source_table(table, &query.at.field("source-table")?, facts),
        (None, Some(source_query)) => {
            let at = query.at.field("source-query")?;
            let source_query = Obj::read(source_query, &at)?;
            if source_query.has("native") { native_source(&source_query, facts) } else { inner(&source_query, facts) }
        }
    }
}

/// Reads a `source-table`: a table id, or `card__N` for saved question N.
fn source_table(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let Some(text) = value.as_str() else { return integer(value, at).map(|_| ()) };
    let card = text
        .strip_prefix("card__")
        .filter(|digits| !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|byte| byte.is_ascii_digit()))
        .and_then(|digits| digits.parse::<i64>().ok());
    match card {
        Some(card) => {
            facts.cards.insert(card);
            Ok(())
        }
        None => Err(at.deny("is a string that is not \"card__<id>\"")),
    }
}

/// Reads a native source query: `{"native": "SQL", "template-tags": {...}}`.
fn native_source(source_query: &Obj<'_>, facts: &mut QueryFacts) -> Result<(), InspectError> {
    source_query.allow(&NATIVE_SOURCE_KEYS)?;
    facts.native = true;
    native_parts(source_query, "native", facts)
}

/// Reads the top-level `native` object: `{"query": "SQL", "template-tags": {...}}`.
fn native_object(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let native = Obj::read(value, at)?;
    native.allow(&NATIVE_KEYS)?;
    native_parts(&native, "query", facts)
}

/// Reads the text (under `text_key`), template tags, collection and database of a native object.
pub(super) fn native_parts(native: &Obj<'_>, text_key: &str, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let text = native.required(text_key)?;
    for entry in native.entries() {
        let at = native.at.field(&entry.name)?;
        match entry.name.as_str() {
            "template-tags" => native::template_tags(entry.value, &at, facts)?,
            "database" => {
                facts.databases.insert(integer(entry.value, &at)?);
            }
            name if name == text_key => {
                let Some(sql) = text.as_str() else { return Err(at.deny_type(text, "a string")) };
                native::text(sql, &at, facts)?;
            }
            _ => clauses::walk(entry.value, &at, Reading::Free, facts)?,
        }
    }
    Ok(())
}

/// Reads `source-metadata`: an array of column metadata objects.
fn metadata(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    for (index, column) in array(value, at)?.iter().enumerate() {
        let column_at = at.index(index)?;
        if !column.is_object() {
            return Err(column_at.deny_type(column, "an object"));
        }
        clauses::walk(column, &column_at, Reading::Free, facts)?;
    }
    Ok(())
}
