//! Which Metabase route serves a query, which row limit applies, how a query is made to carry
//! the limit itself, and how the summary reports it.

use serde_json::{Map, Value, json};

use crate::pb::v1::{LimitCause, ResultSource, ResultSummary};

/// Metabase's default cap on rows from its JSON query route (for queries without aggregation).
pub(crate) const INTERACTIVE_ROW_LIMIT: u64 = 2_000;
/// Metabase's cap on rows in an export: one less than Excel's row count.
pub(crate) const EXPORT_ROW_LIMIT: u64 = 1_048_575;

/// The row limit a call runs under and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowLimit {
    /// The most rows to send, if limited.
    pub rows: Option<u64>,
    /// Who set it.
    pub cause: LimitCause,
}

impl RowLimit {
    /// Combines the caller's `max_rows` (0 is unlimited) with the policy's; the smaller wins.
    pub(crate) fn new(caller_max_rows: i64, policy_max_rows: Option<u64>) -> Self {
        let caller = u64::try_from(caller_max_rows).ok().filter(|rows| *rows > 0);
        match (caller, policy_max_rows) {
            (Some(caller), Some(policy)) if policy < caller => {
                RowLimit { rows: Some(policy), cause: LimitCause::PolicyMaxRows }
            }
            (Some(caller), _) => RowLimit { rows: Some(caller), cause: LimitCause::CallerMaxRows },
            (None, Some(policy)) => RowLimit { rows: Some(policy), cause: LimitCause::PolicyMaxRows },
            (None, None) => RowLimit { rows: None, cause: LimitCause::None },
        }
    }

    /// Returns the route: the JSON query route while the limit fits Metabase's interactive cap,
    /// the export route (up to 1,048,575 rows) beyond it.
    pub(crate) fn source(&self) -> ResultSource {
        match self.rows {
            Some(rows) if rows <= INTERACTIVE_ROW_LIMIT => ResultSource::JsonQuery,
            _ => ResultSource::Export,
        }
    }

    /// Returns the summary for `row_count` rows sent. Hitting a limit exactly counts as reaching
    /// it, as Metabase flags a result of exactly its cap as truncated.
    pub(crate) fn summary(
        &self,
        row_count: u64,
        source: ResultSource,
        metabase_truncated: bool,
        running_time_ms: i64,
    ) -> ResultSummary {
        let cause = if self.rows == Some(row_count) {
            self.cause
        } else if source == ResultSource::Export && row_count >= EXPORT_ROW_LIMIT {
            LimitCause::MetabaseExportLimit
        } else if source == ResultSource::JsonQuery && metabase_truncated {
            LimitCause::MetabaseInteractiveLimit
        } else {
            LimitCause::None
        };
        ResultSummary {
            row_count: row_count as i64,
            limit_reached: cause != LimitCause::None,
            limit_cause: cause as i32,
            running_time_ms,
            source: source as i32,
        }
    }
}

/// Returns the part of an ad-hoc query where its row limit goes: legacy MBQL's `query` map, or
/// MBQL 5's last stage when that stage is MBQL. Mixed or unknown shapes have none, so that a
/// limit is never put where Metabase would not read it.
fn limit_holder(query: &mut Value) -> Option<&mut Map<String, Value>> {
    let modern = query.get("lib/type").and_then(Value::as_str) == Some("mbql/query") && query.get("type").is_none();
    let legacy = query.get("type").and_then(Value::as_str) == Some("query")
        && query.get("lib/type").is_none()
        && query.get("stages").is_none();
    if modern {
        let last = query.get_mut("stages")?.as_array_mut()?.last_mut()?.as_object_mut()?;
        let is_mbql = last.get("lib/type").and_then(Value::as_str) == Some("mbql.stage/mbql");
        return is_mbql.then_some(last);
    }
    if legacy {
        return query.get_mut("query")?.as_object_mut();
    }
    None
}

/// Returns a copy of an ad-hoc query that returns at most `rows` rows: legacy MBQL's
/// `query.limit`, or MBQL 5's last stage's `limit`, becomes the smaller of its own and `rows`.
/// Returns `None` for native SQL (also as MBQL 5's last stage) and for shapes it does not know.
pub(crate) fn limited_query(query: &Value, rows: u64) -> Option<Value> {
    let mut limited = query.clone();
    let holder = limit_holder(&mut limited)?;
    let own = holder.get("limit").and_then(Value::as_u64);
    holder.insert("limit".into(), json!(own.map_or(rows, |own| own.min(rows))));
    Some(limited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_limits_use_the_json_route_and_the_rest_export() {
        assert_eq!(RowLimit::new(2000, None).source(), ResultSource::JsonQuery);
        assert_eq!(RowLimit::new(2001, None).source(), ResultSource::Export);
        assert_eq!(RowLimit::new(0, None).source(), ResultSource::Export);
        assert_eq!(RowLimit::new(0, Some(100)).source(), ResultSource::JsonQuery);
    }

    #[test]
    fn the_summary_names_the_limit_that_was_hit() {
        let unlimited = RowLimit::new(0, None);
        let capped = unlimited.summary(EXPORT_ROW_LIMIT, ResultSource::Export, false, 5);
        assert!(capped.limit_reached);
        assert_eq!(capped.limit_cause, LimitCause::MetabaseExportLimit as i32);
        let whole = unlimited.summary(10, ResultSource::Export, false, 5);
        assert_eq!((whole.limit_reached, whole.limit_cause), (false, LimitCause::None as i32));
        let caller = RowLimit::new(50, Some(100)).summary(50, ResultSource::JsonQuery, false, 1);
        assert_eq!(caller.limit_cause, LimitCause::CallerMaxRows as i32);
        let policy = RowLimit::new(500, Some(100)).summary(100, ResultSource::JsonQuery, false, 1);
        assert_eq!(policy.limit_cause, LimitCause::PolicyMaxRows as i32);
    }

    #[test]
    fn a_query_is_limited_where_metabase_reads_its_limit_and_never_raised() {
        let legacy = json!({"database": 1, "type": "query", "query": {"source-table": 2}});
        assert_eq!(limited_query(&legacy, 10).unwrap()["query"]["limit"], 10);
        let legacy_small = json!({"type": "query", "query": {"source-table": 2, "limit": 3}});
        assert_eq!(limited_query(&legacy_small, 10).unwrap()["query"]["limit"], 3);
        let legacy_large = json!({"type": "query", "query": {"source-table": 2, "limit": 50}});
        assert_eq!(limited_query(&legacy_large, 10).unwrap()["query"]["limit"], 10);
        let modern = json!({"lib/type": "mbql/query", "stages": [
            {"lib/type": "mbql.stage/native", "native": "SELECT 1"},
            {"lib/type": "mbql.stage/mbql", "limit": 500}
        ]});
        let limited = limited_query(&modern, 10).unwrap();
        assert_eq!((limited["stages"][1]["limit"].clone(), limited["stages"][0].get("limit")), (json!(10), None));
    }

    #[test]
    fn native_sql_and_unknown_shapes_cannot_be_limited() {
        let cases = [
            json!({"type": "native", "native": {"query": "SELECT 1"}}),
            json!({"lib/type": "mbql/query", "stages": [{"lib/type": "mbql.stage/native", "native": "SELECT 1"}]}),
            json!({"lib/type": "mbql/query", "stages": [{"source-table": 2}]}),
            json!({"lib/type": "mbql/query", "stages": []}),
            json!({"type": "native", "native": {"query": "SELECT 1"}, "stages": [{"lib/type": "mbql.stage/mbql"}]}),
            json!({"type": "query", "query": {"source-table": 2}, "stages": [{"lib/type": "mbql.stage/mbql"}]}),
            json!({"source-table": 2}),
        ];
        for query in cases {
            assert_eq!(limited_query(&query, 10), None, "{query}");
        }
    }
}
