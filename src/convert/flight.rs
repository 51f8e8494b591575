//! Flight descriptors and tickets: the JSON command a caller sends (docs/API.md "Arrow Flight")
//! read into what it asks for. A ticket is the descriptor's command unchanged, so DoGet reads it
//! here again and every check is made again: a ticket grants nothing by itself.

use arrow_flight::FlightDescriptor;
use arrow_flight::flight_descriptor::DescriptorType;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::GatewayError;
use crate::streaming::AdHocQuery;

/// What a Flight command asks to run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FlightQuery {
    /// A saved question.
    Card {
        /// The card's id.
        card_id: i64,
    },
    /// An ad-hoc query on a database.
    AdHoc {
        /// The database it runs on.
        database_id: i64,
        /// The query.
        query: AdHocQuery,
    },
}

/// A Flight command: `{"card_id": N}`, `{"database_id": N, "native": "SQL"}` or
/// `{"database_id": N, "mbql": {...}}`, each with optional `"parameters"` and `"max_rows"`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FlightCommand {
    /// What to run.
    pub query: FlightQuery,
    /// Metabase's parameters, a JSON array (empty when not given).
    pub parameters: Value,
    /// The caller's row limit; 0 is none.
    pub max_rows: i64,
}

/// The command's keys; any other key is refused by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    card_id: Option<i64>,
    database_id: Option<i64>,
    native: Option<String>,
    mbql: Option<Map<String, Value>>,
    parameters: Option<Vec<Value>>,
    max_rows: Option<i64>,
}

impl FlightCommand {
    /// Reads a descriptor, which must be a command (`DescriptorType::Cmd`).
    pub(crate) fn from_descriptor(descriptor: &FlightDescriptor) -> Result<Self, GatewayError> {
        if descriptor.r#type != DescriptorType::Cmd as i32 {
            return Err(GatewayError::invalid_argument(
                "descriptor",
                "path descriptors name nothing here; send a command descriptor holding a JSON object",
            ));
        }
        Self::parse("descriptor", &descriptor.cmd)
    }

    /// Reads a ticket, which holds a descriptor's command.
    pub(crate) fn from_ticket(ticket: &[u8]) -> Result<Self, GatewayError> {
        Self::parse("ticket", ticket)
    }

    /// Returns a command's JSON bytes, as descriptors and tickets carry them.
    pub(crate) fn for_card(card_id: i64) -> Vec<u8> {
        serde_json::json!({ "card_id": card_id }).to_string().into_bytes()
    }

    fn parse(field: &str, bytes: &[u8]) -> Result<Self, GatewayError> {
        let invalid = |message: String| GatewayError::invalid_argument(field, message);
        let raw: RawCommand = serde_json::from_slice(bytes)
            .map_err(|error| invalid(format!("the command is not a JSON object of known keys: {error}")))?;
        let query = match raw {
            RawCommand { card_id: Some(card_id), database_id: None, native: None, mbql: None, .. } => {
                FlightQuery::Card { card_id }
            }
            RawCommand { card_id: Some(_), .. } => {
                return Err(invalid("card_id runs a saved question; it takes no database_id, native or mbql".into()));
            }
            RawCommand { database_id: Some(database_id), native: Some(sql), mbql: None, .. } => {
                let template_tags = Value::Object(Map::new());
                FlightQuery::AdHoc { database_id, query: AdHocQuery::Native { sql, template_tags } }
            }
            RawCommand { database_id: Some(database_id), native: None, mbql: Some(mbql), .. } => {
                FlightQuery::AdHoc { database_id, query: AdHocQuery::Mbql(mbql) }
            }
            RawCommand { database_id: Some(_), native: Some(_), mbql: Some(_), .. } => {
                return Err(invalid("give native or mbql, not both".into()));
            }
            RawCommand { database_id: Some(_), .. } => {
                return Err(invalid("an ad-hoc query needs native (SQL text) or mbql (an object)".into()));
            }
            RawCommand { database_id: None, .. } => {
                return Err(invalid("the command needs card_id, or database_id with native or mbql".into()));
            }
        };
        Ok(FlightCommand {
            query,
            parameters: Value::Array(raw.parameters.unwrap_or_default()),
            max_rows: raw.max_rows.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Result<FlightCommand, String> {
        FlightCommand::from_ticket(text.as_bytes()).map_err(|error| error.to_string())
    }

    #[test]
    fn the_three_command_shapes_are_read_with_their_options() {
        let card = parse(r#"{"card_id": 42, "parameters": [{"type": "category"}], "max_rows": 10}"#).unwrap();
        assert_eq!(card.query, FlightQuery::Card { card_id: 42 });
        assert_eq!(card.parameters, json!([{"type": "category"}]));
        assert_eq!(card.max_rows, 10);

        let native = parse(r#"{"database_id": 1, "native": "SELECT 1"}"#).unwrap();
        let expected = AdHocQuery::Native { sql: "SELECT 1".into(), template_tags: json!({}) };
        assert_eq!(native.query, FlightQuery::AdHoc { database_id: 1, query: expected });
        assert_eq!((native.parameters, native.max_rows), (json!([]), 0));

        let mbql = parse(r#"{"database_id": 1, "mbql": {"type": "query", "query": {"source-table": 5}}}"#).unwrap();
        let FlightQuery::AdHoc { query: AdHocQuery::Mbql(object), .. } = mbql.query else { panic!("mbql") };
        assert_eq!(object["query"]["source-table"], 5);
    }

    #[test]
    fn malformed_commands_are_refused_naming_what_is_wrong() {
        let cases = [
            ("not json", "not a JSON object"),
            (r#"{"card_id": 1, "sql": "x"}"#, "unknown field `sql`"),
            (r#"{"card_id": "one"}"#, "invalid type"),
            (r#"{"card_id": 1, "native": "SELECT 1"}"#, "takes no database_id, native or mbql"),
            (r#"{"database_id": 1}"#, "needs native (SQL text) or mbql"),
            (r#"{"database_id": 1, "native": "x", "mbql": {}}"#, "not both"),
            (r#"{"max_rows": 5}"#, "needs card_id, or database_id"),
            (r#"{"database_id": 1, "mbql": "SELECT 1"}"#, "invalid type"),
        ];
        for (text, expected) in cases {
            let message = parse(text).unwrap_err();
            assert!(message.starts_with("invalid argument ticket: "), "{text}: {message}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn only_command_descriptors_are_read() {
        let path = FlightDescriptor::new_path(vec!["cards".into(), "42".into()]);
        let error = FlightCommand::from_descriptor(&path).unwrap_err().to_string();
        assert!(error.contains("send a command descriptor"), "{error}");
        let command = FlightDescriptor::new_cmd(FlightCommand::for_card(7));
        assert_eq!(FlightCommand::from_descriptor(&command).unwrap().query, FlightQuery::Card { card_id: 7 });
    }
}
