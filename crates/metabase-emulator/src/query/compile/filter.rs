//! Filters and the values they compare with: MBQL filter clauses to SQL, with every value
//! bound as a parameter, never spliced into the text.

use serde_json::Value;

use super::{Compiler, clause_parts, invalid};
use crate::query::QueryFailure;

impl Compiler<'_> {
    fn value(&mut self, value: &Value) -> Result<String, QueryFailure> {
        if let Ok(("field", _, _)) = clause_parts(value) {
            return Ok(self.field_expression(value, "fields")?.0);
        }
        let bound = match value {
            Value::Null => rusqlite::types::Value::Null,
            Value::Bool(flag) => rusqlite::types::Value::Integer(i64::from(*flag)),
            Value::Number(number) => match number.as_i64() {
                Some(integer) => rusqlite::types::Value::Integer(integer),
                None => rusqlite::types::Value::Real(number.as_f64().unwrap_or_default()),
            },
            Value::String(text) => rusqlite::types::Value::Text(text.clone()),
            other => return Err(invalid(format!("Invalid value in filter: {other}"))),
        };
        self.parameters.push(bound);
        Ok("?".into())
    }

    pub(super) fn filter(&mut self, clause: &Value) -> Result<String, QueryFailure> {
        let (operator, options, arguments) = clause_parts(clause)?;
        let argument =
            |index: usize| arguments.get(index).ok_or_else(|| invalid(format!("Too few arguments to {operator}")));
        match operator {
            "and" | "or" => {
                let parts: Result<Vec<String>, QueryFailure> = arguments.iter().map(|part| self.filter(part)).collect();
                Ok(format!("({})", parts?.join(if operator == "and" { " AND " } else { " OR " })))
            }
            "not" => Ok(format!("(NOT {})", self.filter(argument(0)?)?)),
            "=" | "!=" => {
                let left = self.value(argument(0)?)?;
                let values: Result<Vec<String>, QueryFailure> =
                    arguments[1..].iter().map(|value| self.value(value)).collect();
                let values = values?;
                if values.is_empty() {
                    return Err(invalid(format!("Too few arguments to {operator}")));
                }
                Ok(match (operator, values.len()) {
                    ("=", 1) => format!("{left} = {}", values[0]),
                    ("!=", 1) => format!("{left} <> {}", values[0]),
                    ("=", _) => format!("{left} IN ({})", values.join(", ")),
                    _ => format!("{left} NOT IN ({})", values.join(", ")),
                })
            }
            "<" | ">" | "<=" | ">=" => {
                let left = self.value(argument(0)?)?;
                let right = self.value(argument(1)?)?;
                Ok(format!("{left} {operator} {right}"))
            }
            "between" => {
                let subject = self.value(argument(0)?)?;
                let low = self.value(argument(1)?)?;
                let high = self.value(argument(2)?)?;
                Ok(format!("{subject} BETWEEN {low} AND {high}"))
            }
            "contains" | "does-not-contain" | "starts-with" | "ends-with" => {
                let case_sensitive = options.get("case-sensitive").and_then(Value::as_bool).unwrap_or(true);
                let subject = self.value(argument(0)?)?;
                let needle = self.value(argument(1)?)?;
                let (subject, needle) = if case_sensitive {
                    (subject, needle)
                } else {
                    (format!("lower({subject})"), format!("lower({needle})"))
                };
                Ok(match operator {
                    "contains" => format!("instr({subject}, {needle}) > 0"),
                    "does-not-contain" => format!("instr({subject}, {needle}) = 0"),
                    "starts-with" => format!("substr({subject}, 1, length({needle})) = {needle}"),
                    _ => format!("substr({subject}, -length({needle})) = {needle}"),
                })
            }
            "is-null" => Ok(format!("{} IS NULL", self.value(argument(0)?)?)),
            "not-null" => Ok(format!("{} IS NOT NULL", self.value(argument(0)?)?)),
            "is-empty" => {
                let subject = self.value(argument(0)?)?;
                Ok(format!("({subject} IS NULL OR {subject} = '')"))
            }
            "not-empty" => {
                let subject = self.value(argument(0)?)?;
                Ok(format!("({subject} IS NOT NULL AND {subject} <> '')"))
            }
            other => Err(invalid(format!("Unsupported filter: {other}"))),
        }
    }
}
