//! ExportCard and ExportQuery: Metabase's export bytes passed through unchanged, chunk by chunk,
//! with the content type and file name on the first chunk. A query that fails after the
//! response began makes Metabase write a JSON error object into the body; the detector finds it
//! and the call ends with an error status instead of a file with JSON in it.

use serde_json::{Value, json};
use tokio::sync::mpsc::Sender;
use tonic::Status;

use super::csv::{CsvReader, Event};
use crate::error::GatewayError;
use crate::metabase::{CardId, ExportFormat, MetabaseClient, MetabaseError, RequestBody, check_query_body};
use crate::pb::v1::ExportChunk;

/// What an export stream exports.
#[derive(Debug, Clone)]
pub enum ExportSource {
    /// A saved question.
    Card {
        /// The card.
        id: i64,
        /// Its parameters.
        parameters: Value,
    },
    /// An ad-hoc query.
    Dataset {
        /// The query.
        query: Value,
    },
}

/// Finds where Metabase's error object begins in an export body.
enum Detector {
    Csv(CsvReader),
    Json { depth: u32, in_string: bool, escaped: bool, last: u8, seen_any: bool },
    Binary { carry: Vec<u8> },
}

const ERROR_MARKER: &[u8] = b"{\"status\":\"failed\"";

impl Detector {
    fn new(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Csv => Detector::Csv(CsvReader::new()),
            ExportFormat::Json => {
                Detector::Json { depth: 0, in_string: false, escaped: false, last: 0, seen_any: false }
            }
            ExportFormat::Xlsx => Detector::Binary { carry: Vec::new() },
        }
    }

    /// Returns the offset in `chunk` where the error object begins, if it begins in it.
    fn scan(&mut self, chunk: &[u8]) -> Option<usize> {
        match self {
            Detector::Csv(reader) => {
                let before = reader.error_text().map_or(0, <[u8]>::len);
                reader.feed(chunk, &mut |_: Event<'_>| true);
                let after = reader.error_text().map_or(0, <[u8]>::len);
                (after > before && before == 0).then(|| chunk.len() - after)
            }
            Detector::Json { depth, in_string, escaped, last, seen_any } => {
                for (index, byte) in chunk.iter().enumerate() {
                    if *in_string {
                        if *escaped {
                            *escaped = false;
                        } else if *byte == b'\\' {
                            *escaped = true;
                        } else if *byte == b'"' {
                            *in_string = false;
                        }
                        continue;
                    }
                    match byte {
                        b'"' => *in_string = true,
                        b'{' | b'[' => {
                            let starts_error =
                                *byte == b'{' && ((*depth == 0 && !*seen_any) || (*depth == 1 && *last == b'}'));
                            if starts_error {
                                return Some(index);
                            }
                            *depth += 1;
                        }
                        b'}' | b']' => *depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    if !byte.is_ascii_whitespace() {
                        *seen_any = true;
                        if *depth <= 1 {
                            *last = *byte;
                        }
                    }
                }
                None
            }
            Detector::Binary { carry } => {
                if carry.is_empty() && chunk.first() == Some(&b'{') {
                    return Some(0);
                }
                let mut window = std::mem::take(carry);
                let offset = window.len();
                window.extend_from_slice(chunk);
                let found = window.windows(ERROR_MARKER.len()).position(|candidate| candidate == ERROR_MARKER);
                let keep = window.len().saturating_sub(ERROR_MARKER.len() - 1);
                *carry = window.split_off(keep);
                found.map(|position| position.saturating_sub(offset))
            }
        }
    }
}

fn filename(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("filename=").nth(1))
        .map(|name| name.trim_matches(|character| character == '"' || character == ';').to_owned())
        .unwrap_or_default()
}

/// Streams an export into `sender`.
pub async fn produce(
    client: MetabaseClient,
    source: ExportSource,
    format: ExportFormat,
    format_rows: bool,
    sender: Sender<Result<ExportChunk, Status>>,
) {
    if let Err(Some(status)) = stream(&client, &source, format, format_rows, &sender).await {
        let _ = sender.send(Err(status)).await;
    }
}

async fn stream(
    client: &MetabaseClient,
    source: &ExportSource,
    format: ExportFormat,
    format_rows: bool,
    sender: &Sender<Result<ExportChunk, Status>>,
) -> Result<(), Option<Status>> {
    let mut form =
        vec![("format_rows".to_owned(), format_rows.to_string()), ("pivot_results".to_owned(), "false".to_owned())];
    let (subject, route, request) = match source {
        ExportSource::Card { id, parameters } => {
            form.push(("parameters".into(), parameters.to_string()));
            (
                format!("card {id}"),
                "/api/card/{id}/query/{format}",
                client.queries().export_card(CardId(*id), format, RequestBody::Form(form)).await,
            )
        }
        ExportSource::Dataset { query } => {
            form.push(("query".into(), query.to_string()));
            form.push(("visualization_settings".into(), "{}".into()));
            (
                "export query".to_owned(),
                "/api/dataset/{format}",
                client.queries().export_dataset(format, RequestBody::Form(form)).await,
            )
        }
    };
    let failed = |error: MetabaseError| {
        Some(Status::from(GatewayError::Metabase { subject: subject.clone(), source: Box::new(error) }))
    };
    let mut response = request.map_err(failed)?;
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut first = Some((content_type, filename(&response)));
    let mut detector = Detector::new(format);
    let mut error_text: Option<Vec<u8>> = None;
    loop {
        let chunk = tokio::select! {
            chunk = response.chunk() => chunk.map_err(|error| failed(MetabaseError::from_transport(route, error)))?,
            () = sender.closed() => return Err(None),
        };
        let Some(chunk) = chunk else { break };
        if let Some(text) = error_text.as_mut() {
            text.extend_from_slice(&chunk);
            continue;
        }
        let (data, error_start) = match detector.scan(&chunk) {
            Some(offset) => (chunk.slice(..offset), Some(offset)),
            None => (chunk.clone(), None),
        };
        if let Some(offset) = error_start {
            error_text = Some(chunk[offset..].to_vec());
        }
        if !data.is_empty() || first.is_some() {
            let (content_type, filename) = first.take().unwrap_or_default();
            let message = ExportChunk { data, content_type, filename };
            sender.send(Ok(message)).await.map_err(|_| None)?;
        }
    }
    if let Some(text) = error_text {
        return Err(failed(export_failure(&text)));
    }
    Ok(())
}

/// Returns the error an export reported after its rows began: the error object Metabase wrote
/// into the body, or a plain query failure when that text is not JSON.
pub(super) fn export_failure(text: &[u8]) -> MetabaseError {
    let error = serde_json::from_slice::<Value>(text)
        .unwrap_or_else(|_| json!({"status": "failed", "error": "the export failed part way"}));
    check_query_body(&error)
        .err()
        .unwrap_or(MetabaseError::QueryFailed { error_type: None, message: "the export failed part way".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_finds_an_appended_error_object_and_nothing_in_ordinary_data() {
        let mut csv = Detector::new(ExportFormat::Csv);
        assert_eq!(csv.scan(b"A,B\n\"{\"\"status\"\":\"\"failed\"\"}\",1\n"), None);
        assert_eq!(csv.scan(b"2,3\n{\"status\":\"failed\"}"), Some(4));
        let mut json = Detector::new(ExportFormat::Json);
        assert_eq!(json.scan(b"[\n{\"status\":\"failed\",\"n\":1},\n{\"a\":\"}{\"}"), None);
        assert_eq!(json.scan(b"{\"status\":\"failed\"}"), Some(0));
        let mut leading = Detector::new(ExportFormat::Json);
        assert_eq!(leading.scan(b"{\"status\":\"failed\"}"), Some(0), "a failure before any row");
        let mut binary = Detector::new(ExportFormat::Xlsx);
        assert_eq!(binary.scan(b"PK\x03\x04 zipped{\"sta"), None);
        assert!(binary.scan(b"tus\":\"failed\",\"error\":\"x\"}").is_some());
    }
}
