//! Owns the query inspector: it reads any query a caller supplies, in every shape Metabase
//! accepts (legacy MBQL 4 and native, MBQL 5 stages, nested source queries and joins), and reports
//! what it really does: whether any part is native SQL, and which databases, saved questions and
//! snippets it names. Whatever it cannot classify it denies; it never guesses "MBQL".
//!
//! Keys and keywords are normalised as Metabase does (a leading `:` dropped, lowercase, `_` as
//! `-`), each structural level allows only the keys it knows, and every key and value is read as
//! hostile: a query-bearing key hidden in an options map or metadata is denied, the recursion is
//! bounded, and no error quotes native text or more than 64 characters of anything.

mod clauses;
mod legacy;
mod native;
mod pmbql;
mod walk;

#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde_json::Value;

use self::walk::{At, Obj, integer};

/// What a query really does, as the inspector found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueryFacts {
    /// Whether any part of the query is native SQL (a native top level, a native stage, a native
    /// source query, at any depth).
    pub native: bool,
    /// Every database id the query names anywhere (top-level `database` and any nested one).
    pub databases: BTreeSet<i64>,
    /// Every saved question (card) id it references: `source-table: "card__N"`, MBQL 5
    /// `source-card: N`, the same inside joins and nested source queries, native template tags of
    /// type `card` (`card-id`), `{{#N}}` / `{{#N-slug}}` references in native text, and legacy
    /// `["metric", N]` clauses (metrics are cards since 0.50).
    pub cards: BTreeSet<i64>,
    /// Every snippet referenced: template tags of type `snippet` (`snippet-id`, `snippet-name`)
    /// and `{{snippet: name}}` in native text, as text such as `id 4` or `name "orders filter"`.
    pub snippets: BTreeSet<String>,
}

impl QueryFacts {
    /// Returns a phrase for audit sentences: `native SQL on database 1`, `an MBQL query on
    /// database 1 reading saved question 9`, `an MBQL query on database 1 reading saved questions
    /// 9 and 12`, `native SQL on databases 1 and 2 using snippet name "x"`.
    pub(crate) fn describe(&self) -> String {
        let mut phrase = if self.native { "native SQL".to_owned() } else { "an MBQL query".to_owned() };
        let parts = [
            ("on", "database", "databases", self.databases.iter().map(i64::to_string).collect::<Vec<_>>()),
            ("reading", "saved question", "saved questions", self.cards.iter().map(i64::to_string).collect()),
            ("using", "snippet", "snippets", self.snippets.iter().cloned().collect()),
        ];
        for (verb, one, many, items) in parts {
            if items.is_empty() {
                continue;
            }
            let noun = if items.len() == 1 { one } else { many };
            phrase.push_str(&format!(" {verb} {noun} {}", listed(&items)));
        }
        phrase
    }
}

/// Joins items as `1`, `1 and 2`, `1, 2 and 3`.
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Why the inspector refused a query. Its display text is what the caller sees in
/// INVALID_ARGUMENT, e.g. `the query key "foo" at query.joins[0] is not understood` or `the query
/// at stages[1] has lib/type "mbql.stage/weird", which is not understood`. It never includes
/// native SQL text or more than 64 characters of any key or value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct InspectError {
    /// Where in the query the problem is, as a JSON path like `query.source-query.joins[1]`
    /// (empty for the top level).
    pub path: String,
    /// The caller-facing sentence.
    pub message: String,
}

/// Inspects a whole dataset query, as sent to POST /api/dataset or stored as a card's
/// dataset_query, and returns what it does, or why it is not understood.
pub(crate) fn inspect(query: &Value) -> Result<QueryFacts, InspectError> {
    let top = Obj::read(query, &At::root())?;
    let mut facts = QueryFacts::default();
    // `stages` marks MBQL 5; a legacy key beside it is denied there, not guessed around.
    if top.has("stages") {
        pmbql::query(&top, &mut facts)?
    } else {
        legacy::query(&top, &mut facts)?
    }
    facts.databases.insert(integer(top.required("database")?, &top.at.field("database")?)?);
    if let Some(parameters) = top.get("parameters") {
        read_parameters(parameters, &top.at.field("parameters")?, &mut facts)?;
    }
    if let Some(constraints) = top.get("constraints") {
        read_constraints(constraints, &top.at.field("constraints")?)?;
    }
    Ok(facts)
}

/// Reads `parameters`: objects whose keys are free, but which carry no query; a `target` is a
/// clause tree.
fn read_parameters(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    for (index, parameter) in walk::array(value, at)?.iter().enumerate() {
        let parameter_at = at.index(index)?;
        let Value::Object(parameter) = parameter else {
            return Err(parameter_at.deny_type(parameter, "an object"));
        };
        for (key, item) in parameter {
            if clauses::is_query_bearing(key, item) {
                return Err(parameter_at.deny_key(key));
            }
            let reading =
                if walk::normalise(key) == "target" { clauses::Reading::Clause } else { clauses::Reading::Free };
            clauses::walk(item, &parameter_at.named(key)?, reading, facts)?;
        }
    }
    Ok(())
}

/// Reads `constraints`: only `max-results` and `max-results-bare-rows`, both integers.
fn read_constraints(value: &Value, at: &At) -> Result<(), InspectError> {
    let constraints = Obj::read(value, at)?;
    constraints.allow(&["max-results", "max-results-bare-rows"])?;
    for entry in constraints.entries() {
        integer(entry.value, &at.field(&entry.name)?)?;
    }
    Ok(())
}
