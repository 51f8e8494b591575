//! Table-driven tests of [`inspect`] over whole queries in both dialects, and of
//! [`QueryFacts::describe`].

use serde_json::{Value, json};

use super::*;

fn facts(native: bool, databases: &[i64], cards: &[i64], snippets: &[&str]) -> QueryFacts {
    QueryFacts {
        native,
        databases: databases.iter().copied().collect(),
        cards: cards.iter().copied().collect(),
        snippets: snippets.iter().map(|snippet| (*snippet).to_owned()).collect(),
    }
}

fn native_source() -> Value {
    json!({"native": "SELECT secret FROM t", "template-tags": {}})
}

fn mbql_stage(source_table: i64) -> Value {
    json!({"lib/type": "mbql.stage/mbql", "source-table": source_table})
}

fn native_stage() -> Value {
    json!({"lib/type": "mbql.stage/native", "native": "SELECT secret FROM t"})
}

#[test]
fn queries_in_every_shape_are_classified() {
    let cases: Vec<(&str, Value, QueryFacts)> = vec![
        (
            "plain legacy mbql",
            json!({"database": 1, "type": "query", "query": {"source-table": 2}}),
            facts(false, &[1], &[], &[]),
        ),
        (
            "legacy native",
            json!({"database": 1, "type": "native", "native": {"query": "SELECT 1", "template-tags": {}}}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "upper-case type",
            json!({"database": 1, "type": "NATIVE", "native": {"query": "x"}}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "keyword type",
            json!({"database": 1, "type": ":native", "native": {"query": "x"}}),
            facts(true, &[1], &[], &[]),
        ),
        (
            // What a caller with datasets: read sends in the `mbql` Struct field to run SQL.
            "native sent as mbql, with integral float ids from a protobuf struct",
            json!({"database": 1.0, "type": "native", "native": {"query": "SELECT secret FROM t"}}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "snake and screaming case keys",
            json!({"DATABASE": 3, "Type": "QUERY",
                ":query": {"SOURCE_TABLE": 2, "order_by": [["asc", ["field", 1, null]]]}}),
            facts(false, &[3], &[], &[]),
        ),
        (
            "mbql 5 with a native stage",
            json!({"lib/type": "mbql/query", "database": 1, "stages": [native_stage()]}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "mbql 5 mbql stage followed by a native stage",
            json!({"database": 1, "stages": [mbql_stage(2), native_stage()]}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "legacy native source query at depth 3",
            json!({"database": 1, "type": "query",
                "query": {"source-query": {"source-query": {"source-query": native_source()}}}}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "legacy join on a native source query",
            json!({"database": 1, "type": "query", "query": {"source-table": 2, "joins": [
                {"source-query": native_source(), "alias": "j", "condition": ["=", 1, 1]}]}}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "mbql 5 join whose stages include a native stage",
            json!({"database": 1, "stages": [{"lib/type": "mbql.stage/mbql", "source-table": 2, "joins": [
                {"lib/type": "mbql/join", "alias": "j",
                    "stages": [native_stage(), {"lib/type": "mbql.stage/mbql"}]}]}]}),
            facts(true, &[1], &[], &[]),
        ),
        (
            "card source table",
            json!({"database": 1, "type": "query", "query": {"source-table": "card__9"}}),
            facts(false, &[1], &[9], &[]),
        ),
        (
            "mbql 5 source card",
            json!({"database": 1, "stages": [{"lib/type": "mbql.stage/mbql", "source-card": 9}]}),
            facts(false, &[1], &[9], &[]),
        ),
        (
            "legacy join on a card",
            json!({"database": 1, "type": "query",
                "query": {"source-table": 2, "joins": [{"source-table": "card__12", "alias": "c"}]}}),
            facts(false, &[1], &[12], &[]),
        ),
        (
            "mbql 5 join on a card",
            json!({"database": 1, "stages": [{"lib/type": "mbql.stage/mbql", "source-card": 9, "joins": [
                {"stages": [{"lib/type": "mbql.stage/mbql", "source-card": 12}]}]}]}),
            facts(false, &[1], &[9, 12], &[]),
        ),
        (
            "native card references in text and tags",
            json!({"database": 1, "type": "native", "native": {"query": "select * from {{#12-foo}} join {{x}}",
                "template-tags": {"#12-foo": {"type": "card", "name": "#12-foo", "card-id": 12},
                    "q": {"type": "card", "card-id": 30.0}, "x": {"type": "text", "card-id": null}}}}),
            facts(true, &[1], &[12, 30], &[]),
        ),
        (
            "snippets by tag and by text",
            json!({"database": 1, "type": "native", "native": {"query": "select 1 where {{ snippet:  orders filter }}",
                "template-tags": {"snippet: orders filter":
                    {"type": "snippet", "snippet-name": "orders filter", "snippet-id": 4}}}}),
            facts(true, &[1], &[], &["id 4", r#"name "orders filter""#]),
        ),
        (
            "legacy and mbql 5 metric clauses",
            json!({"database": 1, "stages": [{"lib/type": "mbql.stage/mbql", "source-table": 2,
                "aggregation": [["metric", {"lib/uuid": "a"}, 12]], "filters": [[">", {}, ["metric", 5], 1]]}]}),
            facts(false, &[1], &[5, 12], &[]),
        ),
        (
            "a native source query naming its database",
            json!({"database": 1, "type": "query", "query": {"source-query": {"native": "x", "database": 2}}}),
            facts(true, &[1, 2], &[], &[]),
        ),
        (
            "parameters, constraints and metadata that carry no query",
            json!({"database": 1, "type": "query", "query": {"source-table": 2,
                    "expressions": {"Prix total": ["+", 1, ["metric", 7]]},
                    "source-metadata": [{"name": "x", "field_ref": ["field", 1, null],
                        "fingerprint": {"type": {"type/Text": {}}}}]},
                "parameters": [{"type": "category", "value": ["metric", 5],
                    "target": ["dimension", ["field", 1, null]]}],
                "constraints": {"max-results": 10000.0, "max_results_bare_rows": 2000}}),
            facts(false, &[1], &[7], &[]),
        ),
    ];
    for (name, query, expected) in cases {
        assert_eq!(inspect(&query), Ok(expected), "{name}");
    }
}

#[test]
fn shapes_the_inspector_does_not_understand_are_denied_with_where_and_why() {
    let legacy = |inner: Value| json!({"database": 1, "type": "query", "query": inner});
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "info, which can carry a card-id",
            json!({"database": 1, "type": "query", "query": {"source-table": 2}, "info": {"card-id": 9}}),
            r#"the query key "info" at the top level is not understood"#,
        ),
        (
            "an unknown top-level key",
            json!({"database": 1, "type": "query", "query": {"source-table": 2}, "middleware": {}}),
            r#"the query key "middleware" at the top level is not understood"#,
        ),
        (
            "a missing type",
            json!({"database": 1, "query": {"source-table": 2}}),
            r#"the query at the top level has no "type""#,
        ),
        (
            "an unknown type",
            json!({"database": 1, "type": "internal", "query": {}}),
            r#"the query at the top level has type "internal", which is not understood"#,
        ),
        (
            "type query with a native key",
            json!({"database": 1, "type": "query", "query": {"source-table": 2}, "native": {"query": "x"}}),
            r#"the query at the top level has type "query" and a "native" key"#,
        ),
        (
            "both sources",
            legacy(json!({"source-table": 2, "source-query": {"source-table": 2}})),
            r#"the query at query has both "source-table" and "source-query""#,
        ),
        (
            "no source",
            legacy(json!({"filter": ["=", 1, 1]})),
            r#"the query at query has neither "source-table" nor "source-query""#,
        ),
        (
            "duplicate normalised keys",
            legacy(json!({"source-table": 2, "SOURCE_TABLE": "card__9"})),
            r#"the query at query has the keys "source-table" and "SOURCE_TABLE", which both mean "source-table""#,
        ),
        (
            "a query-bearing key in a clause options map",
            legacy(json!({"source-table": 2, "joins": [{"source-table": 3,
                    "condition": ["=", ["field", 1, {"source-query": native_source()}], 1]}]})),
            r#"the query key "source-query" at query.joins[0].condition[1][2] is not understood"#,
        ),
        (
            "an unknown key in a join",
            legacy(json!({"source-table": 2, "joins": [{"source-table": 3, "foo": 1}]})),
            r#"the query key "foo" at query.joins[0] is not understood"#,
        ),
        (
            "a non-integral database",
            json!({"database": 1.5, "type": "query", "query": {"source-table": 2}}),
            "the query at database is a non-integral number where an integer is expected",
        ),
        (
            "a string database",
            json!({"database": "1", "type": "query", "query": {"source-table": 2}}),
            "the query at database is a string where an integer is expected",
        ),
        (
            "a table name",
            legacy(json!({"source-table": "orders"})),
            r#"the query at query.source-table is a string that is not "card__<id>""#,
        ),
        (
            "joins that are not an array",
            legacy(json!({"source-table": 2, "joins": {}})),
            "the query at query.joins is an object where an array is expected",
        ),
        (
            "an unknown stage type",
            json!({"database": 1, "stages": [mbql_stage(2), {"lib/type": "mbql.stage/weird"}]}),
            r#"the query at stages[1] has lib/type "mbql.stage/weird", which is not understood"#,
        ),
        (
            "a top level whose lib/type is not a query",
            json!({"lib/type": "mbql/join", "database": 1, "stages": [mbql_stage(2)]}),
            r#"the query at the top level has lib/type "mbql/join", which is not understood"#,
        ),
        ("no stages", json!({"database": 1, "stages": []}), "the query at stages is an empty array of stages"),
        (
            "stages beside a legacy type",
            json!({"database": 1, "type": "query", "stages": [mbql_stage(2)]}),
            r#"the query at the top level has both "stages" and "type""#,
        ),
        (
            "a string stage",
            json!({"database": 1, "stages": ["native"]}),
            "the query at stages[0] is a string where an object is expected",
        ),
        (
            "a source on a later stage",
            json!({"database": 1, "stages": [mbql_stage(2), mbql_stage(3)]}),
            r#"the query at stages[1] has "source-table", but only the first stage may have a source"#,
        ),
        (
            "a first stage without a source",
            json!({"database": 1, "stages": [{"lib/type": "mbql.stage/mbql"}]}),
            r#"the query at stages[0] is a first stage with neither "source-table" nor "source-card""#,
        ),
        (
            "a native tag of an unknown type",
            json!({"database": 1, "type": "native",
                "native": {"query": "SELECT secret FROM t", "template-tags": {"t": {"type": "table"}}}}),
            r#"the query at native.template-tags["t"] has type "table", which is not understood"#,
        ),
        (
            "a card tag without a card-id",
            json!({"database": 1, "type": "native",
                "native": {"query": "SELECT secret FROM t", "template-tags": {"c": {"type": "card"}}}}),
            r#"the query at native.template-tags["c"] is a card template tag without a card-id"#,
        ),
        (
            "a native query hidden in a parameter",
            json!({"database": 1, "type": "query", "query": {"source-table": 2},
                "parameters": [{"type": "native", "value": "x"}]}),
            r#"the query key "type" at parameters[0] is not understood"#,
        ),
        (
            "an unknown constraint",
            json!({"database": 1, "type": "query", "query": {"source-table": 2},
                "constraints": {"max-results": 1, "skip-results-metadata?": true}}),
            r#"the query key "skip-results-metadata?" at constraints is not understood"#,
        ),
    ];
    for (name, query, expected) in cases {
        let error = inspect(&query).expect_err(name);
        assert_eq!(error.message, expected, "{name}");
        assert_eq!(error.to_string(), error.message, "{name}");
    }
}

#[test]
fn errors_never_quote_native_sql_or_long_values() {
    let sql = "SELECT secret FROM t";
    let denied_with_sql = [
        json!({"database": 1, "type": "native", "native": {"query": sql, "template-tags": 3}}),
        json!({"database": 1, "type": "native", "native": {"query": format!("{sql} {{{{#}}}}")}}),
        json!({"database": 1, "type": "native", "native": {"query": format!("{sql} {{{{snippet: }}}}")}}),
        json!({"database": 1, "type": "native", "native": {"query": sql, "x": 1}}),
        json!({"database": 1, "type": "native", "native": {"query": [sql]}}),
        json!({"database": 1, "type": "query", "query": {"source-query": {"native": sql, "x": 1}}}),
        json!({"database": 1, "stages": [{"lib/type": "mbql.stage/native", "native": sql, "joins": []}]}),
        json!({"database": 1.5, "stages": [{"lib/type": "mbql.stage/native", "native": sql}]}),
    ];
    for query in denied_with_sql {
        let error = inspect(&query).expect_err("denied");
        assert!(!error.message.contains("secret"), "{}", error.message);
    }
    let long = "x".repeat(300);
    let denied_with_long_text = [
        json!({"database": 1, "stages": [{"lib/type": long}]}),
        json!({"database": 1, "stages": [{"lib/type": "mbql.stage/mbql", "source-table": 1, long.clone(): 1}]}),
        json!({"database": 1, "type": long, "query": {}}),
        json!({"database": 1, "type": "query", "query": {"source-table": long}}),
        json!({"database": 1, "type": "native",
            "native": {"query": "x", "template-tags": {long.clone(): {"type": long}}}}),
    ];
    for query in denied_with_long_text {
        let error = inspect(&query).expect_err("denied");
        assert!(!error.message.contains(&"x".repeat(65)), "{}", error.message);
        assert!(error.message.chars().count() < 240, "{}", error.message);
    }
}

#[test]
fn deep_nesting_is_denied_without_overflowing_the_stack() {
    let mut inner = json!({"source-table": 2});
    let mut clause = json!(["field", 1, null]);
    for _ in 0..2_000 {
        inner = json!({"source-query": inner});
        clause = json!(["not", clause]);
    }
    let deep_sources = json!({"database": 1, "type": "query", "query": inner});
    let error = inspect(&deep_sources).unwrap_err();
    assert!(error.message.ends_with("is nested more than 64 levels deep"), "{}", error.message);
    assert!(error.path.starts_with("query.source-query.source-query"));
    let deep_clause = json!({"database": 1, "type": "query", "query": {"source-table": 2, "filter": clause}});
    assert!(inspect(&deep_clause).unwrap_err().message.ends_with("is nested more than 64 levels deep"));
}

#[test]
fn describe_phrases_what_the_query_does() {
    let cases = [
        (facts(true, &[1], &[], &[]), "native SQL on database 1"),
        (facts(false, &[1], &[9], &[]), "an MBQL query on database 1 reading saved question 9"),
        (facts(false, &[1], &[12, 9], &[]), "an MBQL query on database 1 reading saved questions 9 and 12"),
        (facts(true, &[2, 1], &[], &[r#"name "x""#]), r#"native SQL on databases 1 and 2 using snippet name "x""#),
        (
            facts(true, &[1, 2, 3], &[4], &["id 4", r#"name "x""#]),
            r#"native SQL on databases 1, 2 and 3 reading saved question 4 using snippets id 4 and name "x""#,
        ),
        (QueryFacts::default(), "an MBQL query"),
    ];
    for (query_facts, expected) in cases {
        assert_eq!(query_facts.describe(), expected);
    }
}
