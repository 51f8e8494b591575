//! ExportCard and ExportQuery: Metabase's export bytes passed through chunk by chunk, with the
//! content type and file name on the first chunk, and held to the call's row limit. A csv or json
//! body is cut on a row boundary once the limit is reached (and still parses); a workbook cannot
//! be cut, so the limit goes into an MBQL query, and other workbook exports under a limit are
//! refused. A query that fails after the response began makes Metabase write a JSON error object
//! into the body; the scanner finds it and the call ends with an error status instead of a file
//! with JSON in it.

mod cut;

use tokio::sync::mpsc::Sender;
use tonic::Status;

use self::cut::{BodyScanner, Scan};
use super::plan::{RowLimit, limited_query};
use crate::error::GatewayError;
use crate::metabase::{ExportFormat, MetabaseError, QuerySource, export_failure};
use crate::middleware::call::CallContext;
use crate::pb::v1::{ExportChunk, LimitCause, ResultSource};

/// The largest error object read from the end of an export body.
const MAX_ERROR_TEXT: usize = 256 * 1024;

/// Returns the source held to `limit` for `format`. Csv and json are cut as they stream, so they
/// go unchanged. A workbook cannot be cut: an ad-hoc MBQL query gets the limit as its own (the
/// smaller of its limit and the call's), and native SQL or a saved question is refused before
/// Metabase is asked.
pub(super) fn held_to(source: QuerySource, format: ExportFormat, limit: RowLimit) -> Result<QuerySource, GatewayError> {
    let (ExportFormat::Xlsx, Some(rows)) = (format, limit.rows) else {
        return Ok(source);
    };
    let refused =
        || GatewayError::ExportNotLimitable { format: format.as_str(), rows, cause: limit.cause.as_str_name() };
    match source {
        QuerySource::Dataset { query } => {
            limited_query(&query, rows).map(|query| QuerySource::Dataset { query }).ok_or_else(refused)
        }
        QuerySource::Card { .. } => Err(refused()),
    }
}

/// Streams an export into `sender`, cut at `limit` (csv and json). The rows sent and the limit
/// that cut them are noted on the call however the stream ends.
pub(crate) async fn produce(
    call: CallContext,
    source: QuerySource,
    format: ExportFormat,
    format_rows: bool,
    limit: RowLimit,
    sender: Sender<Result<ExportChunk, Status>>,
) {
    let mut scanner = BodyScanner::new(format, limit.rows);
    let outcome = stream(&call, &source, format, format_rows, &mut scanner, &sender).await;
    // Noted before the error goes out: the audit event is written when the caller sees the end.
    if let Some(rows) = scanner.rows() {
        note_rows(&call, limit, rows);
    }
    if let Err(Some(status)) = outcome {
        let _ = sender.send(Err(status)).await;
    }
}

/// Notes the rows sent and, when a limit was reached, which one (as RunQuery's summary names it).
fn note_rows(call: &CallContext, limit: RowLimit, rows: u64) {
    call.note_rows(i64::try_from(rows).unwrap_or(i64::MAX));
    let summary = limit.summary(rows, ResultSource::Export, false, 0);
    if let Ok(cause) = LimitCause::try_from(summary.limit_cause)
        && cause != LimitCause::None
    {
        call.note_limit(cause.as_str_name());
    }
}

async fn stream(
    call: &CallContext,
    source: &QuerySource,
    format: ExportFormat,
    format_rows: bool,
    scanner: &mut BodyScanner,
    sender: &Sender<Result<ExportChunk, Status>>,
) -> Result<(), Option<Status>> {
    let subject = source.subject();
    let failed = |error: MetabaseError| {
        Some(Status::from(GatewayError::Metabase { subject: subject.clone(), source: Box::new(error) }))
    };
    let mut response = call.client.queries().export(source, format, format_rows).await.map_err(failed)?;
    let mut first = Some((response.content_type().to_owned(), response.filename()));
    let mut error_text: Option<Vec<u8>> = None;
    let mut ended = false;
    while !ended {
        let chunk = tokio::select! {
            chunk = response.next_chunk() => chunk.map_err(failed)?,
            () = sender.closed() => return Err(None),
        };
        let scan = match chunk {
            Some(chunk) => {
                if let Some(text) = error_text.as_mut() {
                    text.extend_from_slice(&chunk);
                    if text.len() > MAX_ERROR_TEXT {
                        break;
                    }
                    continue;
                }
                scanner.scan(chunk)
            }
            None if error_text.is_some() => break,
            None => {
                ended = true;
                scanner.finish()
            }
        };
        let (data, cut) = match scan {
            Scan::Body(data) => (data, false),
            Scan::Cut(data) => (data, true),
            Scan::Failed { data, error } => {
                error_text = Some(error);
                (data, false)
            }
        };
        if !data.is_empty() || first.is_some() {
            let (content_type, filename) = first.take().unwrap_or_default();
            let length = data.len() as u64;
            let message = ExportChunk { data, content_type, filename };
            sender.send(Ok(message)).await.map_err(|_| None)?;
            call.note_bytes(length);
            // Kept current so a cancelled call's audit event still has a count; it includes the
            // chunks waiting in the channel that the caller may not have read.
            if let Some(rows) = scanner.rows() {
                call.note_rows(i64::try_from(rows).unwrap_or(i64::MAX));
            }
        }
        if cut {
            // Dropping the response closes the connection, so Metabase stops the query.
            drop(response);
            return Ok(());
        }
    }
    if let Some(text) = error_text {
        return Err(failed(response.failed(export_failure(&text))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_a_workbook_under_a_limit_is_changed_or_refused_before_metabase_is_asked() {
        let policy = RowLimit::new(0, Some(100));
        let card: crate::metabase::Card = serde_json::from_value(json!({"id": 7})).unwrap();
        let card = QuerySource::Card { card: Box::new(card), parameters: json!([]) };
        assert!(held_to(card.clone(), ExportFormat::Csv, policy).is_ok(), "csv is cut as it streams");
        assert!(held_to(card.clone(), ExportFormat::Xlsx, RowLimit::new(0, None)).is_ok(), "no limit");
        let refused = held_to(card, ExportFormat::Xlsx, policy).unwrap_err();
        assert!(
            matches!(refused, GatewayError::ExportNotLimitable { rows: 100, cause: "LIMIT_CAUSE_POLICY_MAX_ROWS", .. }),
            "{refused:?}"
        );
        let mbql = QuerySource::Dataset { query: json!({"type": "query", "query": {"source-table": 5}}) };
        let QuerySource::Dataset { query } = held_to(mbql, ExportFormat::Xlsx, RowLimit::new(25, Some(100))).unwrap()
        else {
            panic!("a dataset stays a dataset");
        };
        assert_eq!(query["query"]["limit"], 25, "the caller's smaller limit");
        let native = QuerySource::Dataset { query: json!({"type": "native", "native": {"query": "SELECT 1"}}) };
        assert!(held_to(native, ExportFormat::Xlsx, policy).is_err());
    }
}
