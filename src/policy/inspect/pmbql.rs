//! Owns MBQL 5 (pMBQL) queries: the top level with `stages`, MBQL and native stages, and joins,
//! whose own stages follow the same rules.

use serde_json::Value;

use super::clauses::{self, Reading};
use super::legacy::native_parts;
use super::walk::{At, Obj, array, integer};
use super::{InspectError, QueryFacts};

/// The keys of an MBQL 5 top level; a legacy `type`, `query` or `native` beside `stages` is denied.
const TOP_KEYS: [&str; 5] = ["lib/type", "database", "stages", "parameters", "constraints"];

/// The keys of an MBQL stage.
const MBQL_STAGE_KEYS: [&str; 14] = [
    "lib/type",
    "source-table",
    "source-card",
    "joins",
    "fields",
    "filters",
    "aggregation",
    "breakout",
    "order-by",
    "expressions",
    "limit",
    "page",
    "lib/stage-metadata",
    "lib/options",
];

/// The keys of a native stage; MBQL keys in a native stage are not understood.
const NATIVE_STAGE_KEYS: [&str; 6] =
    ["lib/type", "native", "template-tags", "collection", "lib/stage-metadata", "lib/options"];

/// The keys of an MBQL 5 join.
const JOIN_KEYS: [&str; 8] =
    ["lib/type", "stages", "conditions", "alias", "fields", "strategy", "lib/options", "ident"];

/// Reads an MBQL 5 top level except `database`, `parameters` and `constraints`, which both
/// dialects share.
pub(super) fn query(top: &Obj<'_>, facts: &mut QueryFacts) -> Result<(), InspectError> {
    if let Some(legacy) = ["type", "query", "native"].into_iter().find(|name| top.has(name)) {
        return Err(top.at.deny(format_args!("has both \"stages\" and {legacy:?}")));
    }
    top.allow(&TOP_KEYS)?;
    expect_lib_type(top, "mbql/query")?;
    stages(top.required("stages")?, &top.at.field("stages")?, facts)
}

/// Reads a non-empty array of stages; only the first may have a source, and it must.
fn stages(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let stages = array(value, at)?;
    if stages.is_empty() {
        return Err(at.deny("is an empty array of stages"));
    }
    for (index, stage) in stages.iter().enumerate() {
        let stage_at = at.index(index)?;
        let stage = Obj::read(stage, &stage_at)?;
        let (kind, raw_kind) = stage.keyword("lib/type")?;
        match kind.as_str() {
            "mbql.stage/native" => {
                stage.allow(&NATIVE_STAGE_KEYS)?;
                facts.native = true;
                native_parts(&stage, "native", facts)?;
            }
            "mbql.stage/mbql" => mbql_stage(&stage, index == 0, facts)?,
            _ => return Err(stage_at.deny_keyword("lib/type", raw_kind)),
        }
    }
    Ok(())
}

fn mbql_stage(stage: &Obj<'_>, first: bool, facts: &mut QueryFacts) -> Result<(), InspectError> {
    stage.allow(&MBQL_STAGE_KEYS)?;
    match (first, stage.has("source-table"), stage.has("source-card")) {
        (true, true, true) => return Err(stage.at.deny("has both \"source-table\" and \"source-card\"")),
        (true, false, false) => {
            return Err(stage.at.deny("is a first stage with neither \"source-table\" nor \"source-card\""));
        }
        (false, true, _) => {
            return Err(stage.at.deny("has \"source-table\", but only the first stage may have a source"));
        }
        (false, _, true) => {
            return Err(stage.at.deny("has \"source-card\", but only the first stage may have a source"));
        }
        _ => {}
    }
    for entry in stage.entries() {
        let at = stage.at.field(&entry.name)?;
        match entry.name.as_str() {
            "lib/type" => {}
            "source-table" => {
                integer(entry.value, &at)?;
            }
            "source-card" => {
                facts.cards.insert(integer(entry.value, &at)?);
            }
            "joins" => {
                for (index, join) in array(entry.value, &at)?.iter().enumerate() {
                    join_stage(join, &at.index(index)?, facts)?;
                }
            }
            "expressions" => {
                array(entry.value, &at)?;
                clauses::walk(entry.value, &at, Reading::Clause, facts)?;
            }
            "lib/stage-metadata" | "lib/options" => clauses::walk(entry.value, &at, Reading::Free, facts)?,
            _ => clauses::walk(entry.value, &at, Reading::Clause, facts)?,
        }
    }
    Ok(())
}

fn join_stage(value: &Value, at: &At, facts: &mut QueryFacts) -> Result<(), InspectError> {
    let join = Obj::read(value, at)?;
    join.allow(&JOIN_KEYS)?;
    expect_lib_type(&join, "mbql/join")?;
    if !join.has("stages") {
        return Err(at.deny("is a join without \"stages\""));
    }
    for entry in join.entries() {
        let entry_at = at.field(&entry.name)?;
        match entry.name.as_str() {
            "lib/type" => {}
            "stages" => stages(entry.value, &entry_at, facts)?,
            "lib/options" => clauses::walk(entry.value, &entry_at, Reading::Free, facts)?,
            _ => clauses::walk(entry.value, &entry_at, Reading::Clause, facts)?,
        }
    }
    Ok(())
}

/// Denies a `lib/type` other than `expected`; an absent one is fine (Metabase fills it in).
fn expect_lib_type(object: &Obj<'_>, expected: &str) -> Result<(), InspectError> {
    if !object.has("lib/type") {
        return Ok(());
    }
    let (kind, raw_kind) = object.keyword("lib/type")?;
    if kind != expected {
        return Err(object.at.deny_keyword("lib/type", raw_kind));
    }
    Ok(())
}
