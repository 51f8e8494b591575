//! Native query template tags: `{{name}}` becomes a bound parameter, and an optional clause
//! `[[ ... ]]` stays only when every tag inside it has a value.

use serde_json::Value;

use super::QueryFailure;

/// Substitutes template tags in `sql` with bound values from `parameters` and tag defaults.
pub fn substitute(
    sql: &str,
    template_tags: &Value,
    parameters: &Value,
) -> Result<(String, Vec<rusqlite::types::Value>), QueryFailure> {
    if !sql.contains("{{") {
        return Ok((sql.to_owned(), Vec::new()));
    }
    let mut output = String::with_capacity(sql.len());
    let mut bound = Vec::new();
    let mut rest = sql;
    while let Some(start) = rest.find("[[") {
        output_segment(&rest[..start], template_tags, parameters, &mut output, &mut bound, true)?;
        let after = &rest[start + 2..];
        let end = after.find("]]").ok_or_else(|| QueryFailure::invalid_query("Unclosed optional clause [["))?;
        let optional = &after[..end];
        let mut clause = String::new();
        let mut clause_bound = Vec::new();
        if output_segment(optional, template_tags, parameters, &mut clause, &mut clause_bound, false)? {
            output.push_str(&clause);
            bound.extend(clause_bound);
        }
        rest = &after[end + 2..];
    }
    output_segment(rest, template_tags, parameters, &mut output, &mut bound, true)?;
    Ok((output, bound))
}

/// Writes a segment, binding its tags; returns false when an optional segment lacks a value.
fn output_segment(
    segment: &str,
    template_tags: &Value,
    parameters: &Value,
    output: &mut String,
    bound: &mut Vec<rusqlite::types::Value>,
    required: bool,
) -> Result<bool, QueryFailure> {
    let mut rest = segment;
    while let Some(start) = rest.find("{{") {
        output.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| QueryFailure::invalid_query("Unclosed template tag {{"))?;
        let name = after[..end].trim();
        let tag = template_tags.get(name);
        let value = parameter_value(parameters, name).or_else(|| tag.and_then(|tag| tag.get("default")).cloned());
        match value.filter(|value| !value.is_null()) {
            Some(value) => {
                output.push('?');
                bound.push(to_sql(&value, tag));
            }
            None if !required => return Ok(false),
            None => {
                let display = tag.and_then(|tag| tag.get("display-name")).and_then(Value::as_str).unwrap_or(name);
                return Err(QueryFailure::of_type(
                    "missing-required-parameter",
                    format!("You'll need to pick a value for '{display}' before this query can run."),
                ));
            }
        }
        rest = &after[end + 2..];
    }
    output.push_str(rest);
    Ok(true)
}

fn parameter_value(parameters: &Value, name: &str) -> Option<Value> {
    parameters.as_array()?.iter().find_map(|parameter| {
        let target = parameter.get("target")?;
        let tag = target.get(1)?;
        let tag_name = tag.get(1).and_then(Value::as_str)?;
        if tag_name != name {
            return None;
        }
        let value = parameter.get("value")?.clone();
        Some(match value {
            Value::Array(mut values) if values.len() == 1 => values.remove(0),
            other => other,
        })
    })
}

fn to_sql(value: &Value, tag: Option<&Value>) -> rusqlite::types::Value {
    let numeric = tag.and_then(|tag| tag.get("type")).and_then(Value::as_str) == Some("number");
    match value {
        Value::Bool(flag) => rusqlite::types::Value::Integer(i64::from(*flag)),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => rusqlite::types::Value::Integer(integer),
            None => rusqlite::types::Value::Real(number.as_f64().unwrap_or_default()),
        },
        Value::String(text) if numeric => text
            .parse::<i64>()
            .map(rusqlite::types::Value::Integer)
            .or_else(|_| text.parse::<f64>().map(rusqlite::types::Value::Real))
            .unwrap_or_else(|_| rusqlite::types::Value::Text(text.clone())),
        Value::String(text) => rusqlite::types::Value::Text(text.clone()),
        other => rusqlite::types::Value::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tags_bind_values_and_optional_clauses_drop_without_them() {
        let tags = json!({"category": {"type": "text"}, "min": {"type": "number"}});
        let parameters =
            json!([{"type": "category", "target": ["variable", ["template-tag", "category"]], "value": "Gizmo"}]);
        let (sql, bound) = substitute(
            "SELECT * FROM PRODUCTS WHERE CATEGORY = {{category}} [[AND PRICE > {{min}}]]",
            &tags,
            &parameters,
        )
        .expect("substitutes");
        assert_eq!(sql, "SELECT * FROM PRODUCTS WHERE CATEGORY = ? ");
        assert_eq!(bound, vec![rusqlite::types::Value::Text("Gizmo".into())]);
    }

    #[test]
    fn a_required_tag_without_a_value_is_a_missing_required_parameter() {
        let failure = substitute("SELECT {{x}}", &json!({"x": {"display-name": "X"}}), &json!([])).expect_err("fails");
        assert_eq!(failure.error_type, "missing-required-parameter");
    }
}
