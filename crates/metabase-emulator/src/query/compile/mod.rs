//! Compiles a one-stage MBQL 5 query to SQLite SQL with bound parameters: source-table, fields,
//! filters, breakout (with temporal units), aggregations, order-by and limit, plus implicit joins
//! through foreign keys (`source-field`). Anything else fails as Metabase fails an invalid query.

mod filter;

use serde_json::{Value, json};

use super::QueryFailure;
use super::columns::ResultColumn;
use crate::catalog::{Catalog, FieldDef, TableDef};

/// A compiled MBQL query.
#[derive(Debug, Clone)]
pub struct CompiledMbql {
    /// The SQL, with `?` placeholders.
    pub sql: String,
    /// Values for the placeholders, in order.
    pub parameters: Vec<rusqlite::types::Value>,
    /// The result columns.
    pub columns: Vec<ResultColumn>,
    /// Whether the stage aggregates (which picks the 10,000-row cap over the 2,000-row one).
    pub aggregated: bool,
    /// The stage's own limit.
    pub limit: Option<i64>,
}

const SUPPORTED_STAGE_KEYS: &[&str] = &[
    "lib/type",
    "source-table",
    "fields",
    "filters",
    "breakout",
    "aggregation",
    "order-by",
    "limit",
    "lib/stage-metadata",
];

struct Compiler<'a> {
    catalog: &'a Catalog,
    table: &'a TableDef,
    /// Implicit joins: foreign key id, alias, joined table, join condition.
    joins: Vec<(i64, String, String, String)>,
    parameters: Vec<rusqlite::types::Value>,
}

fn invalid(message: impl Into<String>) -> QueryFailure {
    QueryFailure::invalid_query(message)
}

/// Compiles the single MBQL stage of a query.
pub fn compile_stage(stage: &Value, catalog: &Catalog) -> Result<CompiledMbql, QueryFailure> {
    let Some(stage_map) = stage.as_object() else {
        return Err(invalid("Invalid query: stage must be a map"));
    };
    if let Some(key) = stage_map.keys().find(|key| !SUPPORTED_STAGE_KEYS.contains(&key.as_str())) {
        return Err(invalid(format!("Query feature not supported by this Metabase emulator: :{key}")));
    }
    let table_id = match stage.get("source-table") {
        Some(Value::Number(number)) => number.as_i64().unwrap_or_default(),
        Some(other) => return Err(invalid(format!("Invalid :source-table {other}"))),
        None => return Err(invalid("Invalid query: missing :source-table")),
    };
    let Some(table) = catalog.table(table_id) else {
        return Err(invalid(format!("Table {table_id} does not exist.")));
    };
    let mut compiler = Compiler { catalog, table, joins: Vec::new(), parameters: Vec::new() };
    compiler.compile(stage)
}

fn list<'v>(stage: &'v Value, key: &str) -> &'v [Value] {
    stage.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn clause_parts(clause: &Value) -> Result<(&str, &Value, &[Value]), QueryFailure> {
    let items = clause.as_array().ok_or_else(|| invalid(format!("Invalid clause: {clause}")))?;
    let operator = items.first().and_then(Value::as_str).ok_or_else(|| invalid(format!("Invalid clause: {clause}")))?;
    let options = items
        .get(1)
        .filter(|options| options.is_object())
        .ok_or_else(|| invalid(format!("Invalid MBQL 5 clause (expected an options map second): {clause}")))?;
    Ok((operator, options, &items[2..]))
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Compiler<'_> {
    fn compile(&mut self, stage: &Value) -> Result<CompiledMbql, QueryFailure> {
        let breakouts = list(stage, "breakout");
        let aggregations = list(stage, "aggregation");
        let aggregated = !breakouts.is_empty() || !aggregations.is_empty();
        let mut select = Vec::new();
        let mut columns = Vec::new();
        let mut group_by = Vec::new();
        let mut aggregation_uuids = Vec::new();
        if aggregated {
            for breakout in breakouts {
                let (expression, column) = self.field_expression(breakout, "breakout")?;
                group_by.push(expression.clone());
                select.push(expression);
                columns.push(column);
            }
            for (index, aggregation) in aggregations.iter().enumerate() {
                let (expression, mut column) = self.aggregation(aggregation)?;
                column.aggregation_index = Some(index);
                column.field_ref = json!(["aggregation", index]);
                aggregation_uuids.push(clause_parts(aggregation)?.1.get("lib/uuid").cloned().unwrap_or(Value::Null));
                select.push(expression);
                columns.push(column);
            }
        } else if list(stage, "fields").is_empty() {
            for field in &self.table.fields {
                select.push(format!("{}.{}", quoted(self.table.name), quoted(field.name)));
                columns.push(ResultColumn::from_field(field, "fields"));
            }
        } else {
            for field in list(stage, "fields") {
                let (expression, column) = self.field_expression(field, "fields")?;
                select.push(expression);
                columns.push(column);
            }
        }
        let mut conditions = Vec::new();
        for filter in list(stage, "filters") {
            conditions.push(self.filter(filter)?);
        }
        let mut order_by = Vec::new();
        for order in list(stage, "order-by") {
            order_by.push(self.order(order, &select, &aggregation_uuids)?);
        }
        if order_by.is_empty() {
            order_by = group_by.iter().map(|expression| format!("{expression} ASC")).collect();
        }
        let limit = match stage.get("limit") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value.as_i64().filter(|limit| *limit >= 0).ok_or_else(|| invalid(format!("Invalid :limit {value}")))?,
            ),
        };
        let mut sql = format!("SELECT {} FROM {}", self.aliased(&select, &columns), quoted(self.table.name));
        for (_, alias, joined_table, condition) in &self.joins {
            sql.push_str(&format!(" LEFT JOIN {} AS {} ON {condition}", quoted(joined_table), quoted(alias)));
        }
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        if !group_by.is_empty() {
            sql.push_str(&format!(" GROUP BY {}", group_by.join(", ")));
        }
        if !order_by.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", order_by.join(", ")));
        }
        super::columns::deduplicate_names(&mut columns);
        Ok(CompiledMbql { sql, parameters: std::mem::take(&mut self.parameters), columns, aggregated, limit })
    }

    fn aliased(&self, select: &[String], columns: &[ResultColumn]) -> String {
        select
            .iter()
            .zip(columns)
            .map(|(expression, column)| format!("{expression} AS {}", quoted(&column.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn resolve_field(&mut self, clause: &Value) -> Result<(String, FieldDef, Option<String>), QueryFailure> {
        let (operator, options, arguments) = clause_parts(clause)?;
        if operator != "field" {
            return Err(invalid(format!("Unsupported reference: {operator}")));
        }
        let unit = options.get("temporal-unit").and_then(Value::as_str).map(str::to_owned);
        let source_field = options.get("source-field").and_then(Value::as_i64);
        let (table_alias, field) = match (arguments.first(), source_field) {
            (Some(Value::Number(id)), None) => {
                let id = id.as_i64().unwrap_or_default();
                let field = self.table.fields.iter().find(|field| field.id == id).cloned();
                let field = field.ok_or_else(|| invalid(format!("Field {id} is not in table {}", self.table.name)))?;
                (self.table.name.to_owned(), field)
            }
            (Some(Value::Number(id)), Some(foreign_key)) => {
                self.joined_field(id.as_i64().unwrap_or_default(), foreign_key)?
            }
            (Some(Value::String(name)), _) => {
                let field = self.table.fields.iter().find(|field| field.name.eq_ignore_ascii_case(name)).cloned();
                let field = field.ok_or_else(|| invalid(format!("Column \"{name}\" not found")))?;
                (self.table.name.to_owned(), field)
            }
            _ => return Err(invalid(format!("Invalid field reference: {clause}"))),
        };
        Ok((format!("{}.{}", quoted(&table_alias), quoted(field.name)), field, unit))
    }

    fn joined_field(&mut self, field_id: i64, foreign_key_id: i64) -> Result<(String, FieldDef), QueryFailure> {
        let foreign_key = self.table.fields.iter().find(|field| field.id == foreign_key_id).cloned();
        let foreign_key = foreign_key
            .ok_or_else(|| invalid(format!("Field {foreign_key_id} is not in table {}", self.table.name)))?;
        let target_id = foreign_key
            .fk_target_field_id
            .ok_or_else(|| invalid(format!("Field {foreign_key_id} is not a foreign key")))?;
        let (target_table, target_key) = self.catalog.field(target_id).ok_or_else(|| invalid("Broken foreign key"))?;
        let field = target_table.fields.iter().find(|field| field.id == field_id).cloned();
        let field = field.ok_or_else(|| invalid(format!("Field {field_id} is not in table {}", target_table.name)))?;
        let alias = format!("{}__via__{}", target_table.name, foreign_key.name);
        if !self.joins.iter().any(|(id, _, _, _)| *id == foreign_key_id) {
            let condition = format!(
                "{}.{} = {}.{}",
                quoted(self.table.name),
                quoted(foreign_key.name),
                quoted(&alias),
                quoted(target_key.name)
            );
            self.joins.push((foreign_key_id, alias.clone(), target_table.name.to_owned(), condition));
        }
        Ok((alias, field))
    }

    fn field_expression(
        &mut self,
        clause: &Value,
        source: &'static str,
    ) -> Result<(String, ResultColumn), QueryFailure> {
        let (expression, field, unit) = self.resolve_field(clause)?;
        let mut column = ResultColumn::from_field(&field, source);
        column.field_ref = super::normalize::to_legacy(
            &json!({"stages": [{"lib/type": "mbql.stage/mbql", "fields": [clause]}]}),
        )["query"]["fields"][0]
            .clone();
        let Some(unit) = unit.filter(|unit| unit != "default") else {
            return Ok((expression, column));
        };
        let (sql, extracts) = temporal(&expression, &unit)?;
        column.display_name = format!("{}: {}", field.display_name, unit_title(&unit));
        column.unit = Some(unit);
        if extracts {
            column.base_type = "type/Integer".into();
            column.effective_type = "type/Integer".into();
            column.semantic_type = None;
        }
        Ok((sql, column))
    }

    fn aggregation(&mut self, clause: &Value) -> Result<(String, ResultColumn), QueryFailure> {
        let (operator, options, arguments) = clause_parts(clause)?;
        let argument = match arguments.first() {
            Some(field) => Some(self.resolve_field(field)?),
            None => None,
        };
        let of = |label: &str| argument.as_ref().map(|(_, field, _)| format!("{label} of {}", field.display_name));
        let (sql, name, display, base_type) = match (operator, &argument) {
            ("count", None) => ("COUNT(*)".to_owned(), "count", "Count".to_owned(), "type/BigInteger".to_owned()),
            ("count", Some((expression, _, _))) => {
                (format!("COUNT({expression})"), "count", "Count".to_owned(), "type/BigInteger".to_owned())
            }
            ("sum", Some((expression, field, _))) => {
                (format!("SUM({expression})"), "sum", of("Sum").unwrap_or_default(), summed_type(field))
            }
            ("avg", Some((expression, _, _))) => {
                (format!("AVG({expression})"), "avg", of("Average").unwrap_or_default(), "type/Float".to_owned())
            }
            ("min", Some((expression, field, _))) => {
                (format!("MIN({expression})"), "min", of("Min").unwrap_or_default(), field.base_type.to_owned())
            }
            ("max", Some((expression, field, _))) => {
                (format!("MAX({expression})"), "max", of("Max").unwrap_or_default(), field.base_type.to_owned())
            }
            ("distinct", Some((expression, _, _))) => (
                format!("COUNT(DISTINCT {expression})"),
                "count",
                of("Distinct values").unwrap_or_default(),
                "type/BigInteger".to_owned(),
            ),
            _ => return Err(invalid(format!("Unsupported aggregation: {operator}"))),
        };
        let name = options.get("name").and_then(Value::as_str).unwrap_or(name);
        let display = options.get("display-name").and_then(Value::as_str).map_or(display, str::to_owned);
        let column = ResultColumn {
            name: name.into(),
            display_name: display,
            base_type: base_type.clone(),
            effective_type: base_type,
            semantic_type: if operator == "count" || operator == "distinct" {
                Some("type/Quantity".into())
            } else {
                None
            },
            database_type: if base_type_is_integer(operator) { "BIGINT".into() } else { "DOUBLE PRECISION".into() },
            source: "aggregation",
            field_ref: json!(["aggregation", 0]),
            field: None,
            unit: None,
            infer_type: false,
            aggregation_index: None,
        };
        Ok((sql, column))
    }

    fn order(
        &mut self,
        clause: &Value,
        select: &[String],
        aggregation_uuids: &[Value],
    ) -> Result<String, QueryFailure> {
        let (direction, _, arguments) = clause_parts(clause)?;
        let direction = match direction {
            "asc" => "ASC",
            "desc" => "DESC",
            other => return Err(invalid(format!("Invalid order-by direction: {other}"))),
        };
        let target = arguments.first().ok_or_else(|| invalid("Invalid order-by clause"))?;
        if let Ok(("aggregation", _, reference)) = clause_parts(target) {
            let reference = reference.first().cloned().unwrap_or(Value::Null);
            let index = aggregation_uuids
                .iter()
                .position(|uuid| *uuid == reference)
                .or_else(|| reference.as_u64().map(|index| index as usize))
                .ok_or_else(|| invalid("Invalid aggregation reference"))?;
            let offset = select.len() - aggregation_uuids.len();
            return Ok(format!("{} {direction}", index + offset + 1));
        }
        let (expression, _) = self.field_expression(target, "fields")?;
        Ok(format!("{expression} {direction}"))
    }
}

fn summed_type(field: &FieldDef) -> String {
    match field.base_type {
        "type/Integer" | "type/BigInteger" => "type/BigInteger".into(),
        other => other.into(),
    }
}

fn base_type_is_integer(operator: &str) -> bool {
    operator == "count" || operator == "distinct"
}

fn unit_title(unit: &str) -> String {
    unit.split('-')
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map(|first| first.to_uppercase().chain(characters).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" Of ", " of ")
}

/// Returns SQL for a temporal bucket and whether it extracts an integer rather than truncating.
fn temporal(expression: &str, unit: &str) -> Result<(String, bool), QueryFailure> {
    let truncated = |format: &str| format!("strftime('{format}', {expression})");
    Ok(match unit {
        "minute" => (truncated("%Y-%m-%dT%H:%M:00Z"), false),
        "hour" => (truncated("%Y-%m-%dT%H:00:00Z"), false),
        "day" => (truncated("%Y-%m-%dT00:00:00Z"), false),
        "week" => (
            format!("strftime('%Y-%m-%dT00:00:00Z', {expression}, '-' || strftime('%w', {expression}) || ' days')"),
            false,
        ),
        "month" => (truncated("%Y-%m-01T00:00:00Z"), false),
        "quarter" => (
            format!(
                "printf('%s-%02d-01T00:00:00Z', strftime('%Y', {expression}), ((CAST(strftime('%m', {expression}) AS INTEGER) - 1) / 3) * 3 + 1)"
            ),
            false,
        ),
        "year" => (truncated("%Y-01-01T00:00:00Z"), false),
        "minute-of-hour" => (format!("CAST(strftime('%M', {expression}) AS INTEGER)"), true),
        "hour-of-day" => (format!("CAST(strftime('%H', {expression}) AS INTEGER)"), true),
        "day-of-week" => (format!("(CAST(strftime('%w', {expression}) AS INTEGER) + 1)"), true),
        "day-of-month" => (format!("CAST(strftime('%d', {expression}) AS INTEGER)"), true),
        "day-of-year" => (format!("CAST(strftime('%j', {expression}) AS INTEGER)"), true),
        "month-of-year" => (format!("CAST(strftime('%m', {expression}) AS INTEGER)"), true),
        "quarter-of-year" => (format!("((CAST(strftime('%m', {expression}) AS INTEGER) + 2) / 3)"), true),
        other => return Err(invalid(format!("Unsupported temporal unit: {other}"))),
    })
}
