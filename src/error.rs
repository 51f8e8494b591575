//! The gateway's error type and the one place it becomes a `tonic::Status` (API.md "Errors"):
//! an exhaustive mapping, each status carrying a `google.rpc.ErrorInfo` in domain
//! `metabase-grpc` with the upstream HTTP status where there was one. Every message, and every
//! field of the log line written here, passes through [`safe_text`]: no credential and no more
//! than 1 KiB of Metabase's or the caller's text is echoed.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::metabase::{MetabaseError, safe_text};

/// The `ErrorInfo` domain of every gateway error.
pub(crate) const ERROR_DOMAIN: &str = "metabase-grpc";

/// Why a gateway call failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A Metabase request failed; `subject` names what was asked for, such as `card 42`.
    #[error("metabase request for {subject} failed")]
    Metabase {
        /// What the call was about, for the message.
        subject: String,
        /// The client's error.
        #[source]
        source: Box<MetabaseError>,
    },
    /// The caller's request is malformed.
    #[error("invalid argument {field}: {message}")]
    InvalidArgument {
        /// The request field at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The caller's deadline passed before the call finished.
    #[error("the deadline passed before the call finished")]
    DeadlineExceeded,
    /// The caller could not be identified.
    #[error("the caller could not be identified: {reason}")]
    Unauthenticated {
        /// Why identification failed.
        reason: String,
    },
    /// The gateway's policy denies the call.
    #[error("{message}")]
    PolicyDenied {
        /// Which grant is missing.
        message: String,
    },
    /// The caller exceeded its request rate.
    #[error("{message}")]
    RateLimited {
        /// The limit that was exceeded.
        message: String,
    },
    /// The gateway or the caller has as much work in flight as it may; `reason` is the
    /// `ErrorInfo` reason (`OVERLOADED`, `STREAM_LIMIT`).
    #[error("{message}")]
    Overloaded {
        /// The `ErrorInfo` reason.
        reason: &'static str,
        /// Which limit was reached.
        message: String,
        /// When trying again is worthwhile.
        retry_after: std::time::Duration,
    },
    /// An export cannot be held to the call's row limit (a workbook cannot be cut part way), so
    /// it is refused before Metabase is asked.
    #[error("{format} exports cannot be cut at a row limit of {rows}; export csv or json, or run the query")]
    ExportNotLimitable {
        /// The export format, such as `xlsx`.
        format: &'static str,
        /// The row limit.
        rows: u64,
        /// Who set the limit, such as `LIMIT_CAUSE_POLICY_MAX_ROWS`.
        cause: &'static str,
    },
    /// The request message is larger than the gateway decodes.
    #[error("the request message is larger than the gateway accepts{}", limit_bytes.map(|limit| format!(" ({limit} bytes)")).unwrap_or_default())]
    RequestTooLarge {
        /// The gateway's limit, when known.
        limit_bytes: Option<u64>,
    },
    /// The audit store cannot record a change's intent, so the change was not sent (fail closed).
    #[error("the audit trail cannot record this change right now, so nothing was sent to metabase")]
    AuditUnavailable,
    /// The method exists in a protocol the gateway speaks but is not served (Flight's uploads,
    /// exchanges and actions).
    #[error("{method} is not served by this gateway: {instead}")]
    Unimplemented {
        /// The method, such as `FlightService/DoPut`.
        method: &'static str,
        /// What to use instead.
        instead: &'static str,
    },
    /// Something inside the gateway failed.
    #[error("internal gateway error: {message}")]
    Internal {
        /// A safe description.
        message: String,
    },
}

impl GatewayError {
    /// Returns an invalid-argument error for a request field.
    pub fn invalid_argument(field: &str, message: impl Into<String>) -> Self {
        GatewayError::InvalidArgument { field: field.into(), message: message.into() }
    }

    /// Returns a closure that wraps a client error with the subject of the call.
    pub fn metabase(subject: impl Into<String>) -> impl FnOnce(MetabaseError) -> GatewayError {
        let subject = subject.into();
        move |source| GatewayError::Metabase { subject, source: Box::new(source) }
    }
}

/// Builds the status, its message made safe to echo.
fn safe_status(code: Code, message: impl AsRef<str>, details: ErrorDetails) -> Status {
    Status::with_error_details(code, safe_text(message.as_ref()), details)
}

fn info(reason: &str, http_status: Option<u16>, route: Option<&str>, extra: &[(&str, String)]) -> ErrorDetails {
    let mut metadata = HashMap::new();
    if let Some(status) = http_status {
        metadata.insert("http_status".to_owned(), status.to_string());
    }
    if let Some(route) = route {
        metadata.insert("route".to_owned(), route.to_owned());
    }
    for (key, value) in extra {
        metadata.insert((*key).to_owned(), value.clone());
    }
    ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata)
}

/// Maps a failed query's `error_type` to a gRPC code (API.md's error table).
pub(crate) fn query_failure_code(error_type: Option<&str>) -> Code {
    match error_type {
        Some("invalid-query" | "missing-required-parameter" | "invalid-parameter") => Code::InvalidArgument,
        Some("missing-required-permissions") => Code::PermissionDenied,
        Some("timed-out") => Code::DeadlineExceeded,
        _ => Code::Internal,
    }
}

fn metabase_status(subject: &str, error: &MetabaseError) -> Status {
    let route = error.route();
    match error {
        MetabaseError::Upstream { status, message, field_errors, error_code, .. } => {
            let (code, reason, text) = match status {
                400 => (
                    Code::InvalidArgument,
                    "METABASE_BAD_REQUEST",
                    format!("metabase rejected the request for {subject}: {message}"),
                ),
                403 => (
                    Code::PermissionDenied,
                    "METABASE_FORBIDDEN",
                    format!("metabase denied access to {subject}: {message}"),
                ),
                404 => (Code::NotFound, "METABASE_NOT_FOUND", format!("{subject} not found in metabase: {message}")),
                409 => (
                    Code::Aborted,
                    "METABASE_CONFLICT",
                    format!("metabase refused a conflicting change to {subject}: {message}"),
                ),
                408 | 504 => {
                    (Code::Unavailable, "METABASE_UNAVAILABLE", format!("metabase timed out on {subject}: {message}"))
                }
                500..=599 => (
                    Code::Unavailable,
                    "METABASE_UNAVAILABLE",
                    format!("metabase failed on {subject} with status {status}: {message}"),
                ),
                _ => (
                    Code::FailedPrecondition,
                    "METABASE_REJECTED",
                    format!("metabase refused {subject} with status {status}: {message}"),
                ),
            };
            let mut extra = Vec::new();
            if let Some(error_code) = error_code {
                extra.push(("error_code", error_code.clone()));
            }
            let mut details = info(reason, Some(*status), route, &extra);
            for (field, description) in field_errors {
                details.add_bad_request_violation(field.clone(), description.clone());
            }
            safe_status(code, text, details)
        }
        MetabaseError::CredentialRejected { .. } => safe_status(
            Code::Internal,
            format!("metabase rejected the gateway's credential while serving {subject}"),
            info("UPSTREAM_CREDENTIAL_REJECTED", Some(401), route, &[]),
        ),
        MetabaseError::QueryFailed { error_type, message } => {
            let kind = error_type.clone().unwrap_or_default();
            safe_status(
                query_failure_code(error_type.as_deref()),
                format!("query for {subject} failed: {message}"),
                info("QUERY_FAILED", None, route, &[("error_type", kind)]),
            )
        }
        MetabaseError::Unavailable { .. } => safe_status(
            Code::Unavailable,
            format!("metabase is unreachable for {subject}"),
            info("METABASE_UNAVAILABLE", None, route, &[]),
        ),
        MetabaseError::CircuitOpen { retry_after, .. } => {
            let mut details = info("METABASE_CIRCUIT_OPEN", None, route, &[]);
            details.set_retry_info(Some(*retry_after));
            safe_status(
                Code::Unavailable,
                format!("metabase is failing, so the gateway does not ask it for {subject} right now"),
                details,
            )
        }
        MetabaseError::Stalled { idle, .. } => safe_status(
            Code::Unavailable,
            format!("metabase stopped sending {subject} for longer than {} s", idle.as_secs_f64()),
            info("METABASE_STALLED", None, route, &[]),
        ),
        MetabaseError::Timeout { .. } => safe_status(
            Code::DeadlineExceeded,
            format!("metabase did not answer in time for {subject}"),
            info("METABASE_TIMEOUT", None, route, &[]),
        ),
        MetabaseError::Decode { .. } => safe_status(
            Code::Internal,
            format!("metabase's answer for {subject} could not be read"),
            info("METABASE_RESPONSE_UNREADABLE", None, route, &[]),
        ),
    }
}

impl From<GatewayError> for Status {
    fn from(error: GatewayError) -> Self {
        match &error {
            GatewayError::Metabase { subject, source } => {
                tracing::warn!(
                    subject = %safe_text(subject),
                    error = %safe_text(&source.to_string()),
                    route = source.route(),
                    "metabase call failed"
                );
                metabase_status(subject, source)
            }
            GatewayError::InvalidArgument { field, message } => {
                let mut details = info("INVALID_ARGUMENT", None, None, &[]);
                details.add_bad_request_violation(safe_text(field), safe_text(message));
                safe_status(Code::InvalidArgument, error.to_string(), details)
            }
            GatewayError::DeadlineExceeded => {
                safe_status(Code::DeadlineExceeded, error.to_string(), info("DEADLINE_EXCEEDED", None, None, &[]))
            }
            GatewayError::Unauthenticated { .. } => {
                safe_status(Code::Unauthenticated, error.to_string(), info("UNAUTHENTICATED", None, None, &[]))
            }
            GatewayError::PolicyDenied { .. } => {
                safe_status(Code::PermissionDenied, error.to_string(), info("POLICY_DENIED", None, None, &[]))
            }
            GatewayError::RateLimited { .. } => {
                safe_status(Code::ResourceExhausted, error.to_string(), info("RATE_LIMITED", None, None, &[]))
            }
            GatewayError::Overloaded { reason, retry_after, .. } => {
                let mut details = info(reason, None, None, &[]);
                details.set_retry_info(Some(*retry_after));
                safe_status(Code::ResourceExhausted, error.to_string(), details)
            }
            GatewayError::ExportNotLimitable { rows, cause, .. } => safe_status(
                Code::FailedPrecondition,
                error.to_string(),
                info(
                    "EXPORT_NOT_LIMITABLE",
                    None,
                    None,
                    &[("max_rows", rows.to_string()), ("limit_cause", (*cause).into())],
                ),
            ),
            GatewayError::RequestTooLarge { limit_bytes } => safe_status(
                Code::ResourceExhausted,
                error.to_string(),
                info(
                    "REQUEST_TOO_LARGE",
                    None,
                    None,
                    &limit_bytes.map(|limit| ("limit_bytes", limit.to_string())).into_iter().collect::<Vec<_>>(),
                ),
            ),
            GatewayError::AuditUnavailable => {
                safe_status(Code::Unavailable, error.to_string(), info("AUDIT_UNAVAILABLE", None, None, &[]))
            }
            GatewayError::Unimplemented { .. } => {
                safe_status(Code::Unimplemented, error.to_string(), info("UNIMPLEMENTED", None, None, &[]))
            }
            GatewayError::Internal { .. } => {
                tracing::error!(error = %safe_text(&error.to_string()), "internal gateway error");
                safe_status(Code::Internal, error.to_string(), info("INTERNAL", None, None, &[]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, message: &str) -> GatewayError {
        GatewayError::Metabase {
            subject: "card 42".into(),
            source: Box::new(MetabaseError::Upstream {
                status,
                route: "/api/card/{id}".into(),
                message: message.into(),
                field_errors: vec![("name".into(), "value must be a non-blank string.".into())],
                error_code: None,
            }),
        }
    }

    #[test]
    fn upstream_statuses_map_to_the_api_error_table() {
        let cases = [
            (400, Code::InvalidArgument, "METABASE_BAD_REQUEST"),
            (403, Code::PermissionDenied, "METABASE_FORBIDDEN"),
            (404, Code::NotFound, "METABASE_NOT_FOUND"),
            (409, Code::Aborted, "METABASE_CONFLICT"),
            (503, Code::Unavailable, "METABASE_UNAVAILABLE"),
        ];
        for (http, code, reason) in cases {
            let status = Status::from(upstream(http, "Not found."));
            assert_eq!(status.code(), code, "{http}");
            let error_info = status.get_details_error_info().expect("error info");
            assert_eq!((error_info.reason.as_str(), error_info.domain.as_str()), (reason, ERROR_DOMAIN));
            assert_eq!(error_info.metadata["http_status"], http.to_string());
            assert!(status.message().contains("card 42"), "{}", status.message());
        }
        let bad_request = Status::from(upstream(400, "invalid")).get_details_bad_request().expect("violations");
        assert_eq!(bad_request.field_violations[0].field, "name");
    }

    #[test]
    fn failed_queries_map_by_error_type() {
        for (error_type, code) in [
            ("invalid-query", Code::InvalidArgument),
            ("missing-required-parameter", Code::InvalidArgument),
            ("invalid-parameter", Code::InvalidArgument),
            ("missing-required-permissions", Code::PermissionDenied),
            ("timed-out", Code::DeadlineExceeded),
            ("db", Code::Internal),
        ] {
            let error = GatewayError::Metabase {
                subject: "query".into(),
                source: Box::new(MetabaseError::QueryFailed {
                    error_type: Some(error_type.into()),
                    message: "boom".into(),
                }),
            };
            assert_eq!(Status::from(error).code(), code, "{error_type}");
        }
    }

    #[test]
    fn an_export_that_cannot_be_limited_is_a_failed_precondition_that_says_why() {
        let status = Status::from(GatewayError::ExportNotLimitable {
            format: "xlsx",
            rows: 100,
            cause: "LIMIT_CAUSE_POLICY_MAX_ROWS",
        });
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "xlsx exports cannot be cut at a row limit of 100; export csv or json, or run the query"
        );
        let error_info = status.get_details_error_info().expect("error info");
        assert_eq!(error_info.reason, "EXPORT_NOT_LIMITABLE");
        assert_eq!(
            (error_info.metadata["max_rows"].as_str(), error_info.metadata["limit_cause"].as_str()),
            ("100", "LIMIT_CAUSE_POLICY_MAX_ROWS")
        );
    }
}
