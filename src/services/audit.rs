//! AuditService: the audit log, newest first, filtered by caller, RPC, decision and time.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::total_size;
use crate::audit::{AuditFilter, AuditStore, Decision};
use crate::convert::paging::Page;
use crate::error::GatewayError;
use crate::pb::v1::audit_service_server::AuditService;
use crate::pb::v1::{AuditEvent, ListAuditEventsRequest, ListAuditEventsResponse};

/// The AuditService handlers.
pub(crate) struct AuditApi {
    store: Option<Arc<AuditStore>>,
}

impl AuditApi {
    /// Returns the service over the audit store (none when events are only logged).
    pub(crate) fn new(store: Option<Arc<AuditStore>>) -> Self {
        AuditApi { store }
    }
}

fn decision(raw: i32) -> Result<Option<Decision>, GatewayError> {
    match crate::pb::v1::Decision::try_from(raw) {
        Ok(crate::pb::v1::Decision::Unspecified) => Ok(None),
        Ok(crate::pb::v1::Decision::Allowed) => Ok(Some(Decision::Allowed)),
        Ok(crate::pb::v1::Decision::Denied) => Ok(Some(Decision::Denied)),
        Ok(crate::pb::v1::Decision::DryRunDenied) => Ok(Some(Decision::DryRunDenied)),
        Err(_) => Err(GatewayError::invalid_argument("decision", format!("unknown decision {raw}"))),
    }
}

/// Reads a time filter; a timestamp outside what a date can hold (or with nanos outside
/// 0..1e9) is an invalid argument naming the field, never silently dropped.
fn time(
    field: &'static str,
    timestamp: Option<prost_types::Timestamp>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, GatewayError> {
    let Some(timestamp) = timestamp else {
        return Ok(None);
    };
    u32::try_from(timestamp.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .and_then(|nanos| chrono::DateTime::from_timestamp(timestamp.seconds, nanos))
        .map(Some)
        .ok_or_else(|| GatewayError::invalid_argument(field, format!("{field} is not a time the audit log can hold")))
}

fn to_message(event: crate::audit::AuditEvent) -> AuditEvent {
    let decision = match event.decision {
        Decision::Allowed => crate::pb::v1::Decision::Allowed,
        Decision::Denied => crate::pb::v1::Decision::Denied,
        Decision::DryRunDenied => crate::pb::v1::Decision::DryRunDenied,
    };
    AuditEvent {
        id: event.id,
        time: Some(prost_types::Timestamp {
            seconds: event.time.timestamp(),
            nanos: event.time.timestamp_subsec_nanos() as i32,
        }),
        principal: event.principal,
        identity_source: event.identity_source,
        rpc: event.rpc,
        resources: event.resources.into_iter().collect(),
        decision: decision as i32,
        reason: event.reason,
        grpc_code: event.grpc_code,
        rows: event.rows.unwrap_or_default(),
        duration_ms: event.duration_ms,
        trace_id: event.trace_id,
        sentence: event.sentence,
        parameters: match event.parameters {
            Some(serde_json::Value::Object(map)) => Some(crate::convert::json::to_struct(map)),
            _ => None,
        },
    }
}

/// The most bytes of events one page carries: well under the 4 MiB that standard gRPC clients
/// accept, whatever the events' parameters hold.
const MAX_PAGE_BYTES: usize = 3 * 1024 * 1024;

/// Keeps events in order until the next would take the page past [`MAX_PAGE_BYTES`] (always at
/// least one, which the parameter bound keeps small).
fn within_message_limit(events: impl Iterator<Item = AuditEvent>) -> Vec<AuditEvent> {
    let mut kept = Vec::new();
    let mut bytes = 0;
    for event in events {
        let size = prost::Message::encoded_len(&event) + 8;
        if !kept.is_empty() && bytes + size > MAX_PAGE_BYTES {
            break;
        }
        bytes += size;
        kept.push(event);
    }
    kept
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let Some(store) = self.store.clone() else {
            return Err(Status::failed_precondition(
                "this gateway keeps no audit database (set --audit-db or --audit-url)",
            ));
        };
        let filter = AuditFilter {
            principal: request.principal.filter(|text| !text.is_empty()),
            rpc: request.rpc.filter(|text| !text.is_empty()),
            decision: decision(request.decision)?,
            start: time("start_time", request.start_time)?,
            end: time("end_time", request.end_time)?,
        };
        if let (Some(start), Some(end)) = (filter.start, filter.end)
            && start > end
        {
            return Err(GatewayError::invalid_argument("end_time", "end_time is before start_time").into());
        }
        let listed = tokio::task::spawn_blocking(move || store.list(&filter, page.size, page.offset))
            .await
            .map_err(|_| Status::from(GatewayError::Internal { message: "the audit query did not finish".into() }))?
            .map_err(|error| {
                Status::from(GatewayError::Internal {
                    message: format!("the audit database could not be read: {error}"),
                })
            })?;
        let (events, total) = listed;
        let events = within_message_limit(events.into_iter().map(to_message));
        // A page cut short by the size limit continues right after its last event.
        let next = Page { size: events.len(), offset: page.offset };
        Ok(Response::new(ListAuditEventsResponse {
            next_page_token: if events.len() < page.size { next.next_token(total) } else { page.next_token(total) },
            events,
            total_size: total_size(total),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_filters_out_of_range_are_invalid_arguments_that_name_the_field() {
        let at = |seconds: i64, nanos: i32| Some(prost_types::Timestamp { seconds, nanos });
        assert!(time("start_time", None).unwrap().is_none());
        assert_eq!(time("start_time", at(0, 0)).unwrap().unwrap().timestamp(), 0);
        for (seconds, nanos) in [(i64::MAX, 0), (i64::MIN, 0), (0, -1), (0, 1_000_000_000)] {
            let refused = time("end_time", at(seconds, nanos)).unwrap_err();
            assert!(
                matches!(&refused, GatewayError::InvalidArgument { field, .. } if field == "end_time"),
                "{seconds}.{nanos}: {refused:?}"
            );
        }
    }

    #[test]
    fn a_page_of_large_events_stops_under_the_message_limit() {
        let event =
            |index: usize| AuditEvent { id: index.to_string(), sentence: "x".repeat(100_000), ..Default::default() };

        let kept = within_message_limit((0..100).map(event));

        assert_eq!(kept.len(), 31);
        let bytes: usize = kept.iter().map(prost::Message::encoded_len).sum();
        assert!(bytes < MAX_PAGE_BYTES);
        assert_eq!(within_message_limit((0..3).map(event)).len(), 3);
    }
}
