//! The trace step, outermost: a server span per gateway RPC (the gateway's services and Flight),
//! parented from the caller's W3C trace context, so every later step, the handler and its
//! Metabase requests are inside it. Health and reflection pass by without one.

use http::{Request, Response};
use opentelemetry::trace::TraceContextExt;
use tonic::Code;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::step::{Body, BoxFuture, Next, Step};

/// The server span of a call and its trace id, for the steps inside.
#[derive(Clone)]
pub(crate) struct CallSpan {
    /// The `grpc.server` span.
    pub(crate) span: tracing::Span,
    /// The W3C trace id, from the span or else the caller's `traceparent`; empty when untraced.
    pub(crate) trace_id: String,
}

/// The trace step.
#[derive(Clone, Copy, Default)]
pub(crate) struct TraceStep;

impl Step for TraceStep {
    fn handle<S, B>(&self, mut request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        let rpc = request.uri().path().to_owned();
        if !crate::rpcs::is_guarded(&rpc) {
            return Box::pin(next.run(request));
        }
        let (span, span_trace_id) = server_span(&request, &rpc);
        let trace_id = span_trace_id.unwrap_or_else(|| self::trace_id(request.headers()));
        request.extensions_mut().insert(CallSpan { span: span.clone(), trace_id });
        Box::pin(next.run(request).instrument(span))
    }
}

/// Returns the trace id of a W3C `traceparent` header.
pub(crate) fn trace_id(headers: &http::HeaderMap) -> String {
    headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split('-').nth(1))
        .filter(|id| id.len() == 32)
        .unwrap_or_default()
        .to_owned()
}

/// Returns whether a code marks a server span as failed (the RPC semantic conventions).
pub(crate) fn server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// Returns the server span of one RPC, parented from the caller's W3C trace context, and its
/// trace id when the span has a valid OpenTelemetry context.
fn server_span<B>(request: &Request<B>, rpc: &str) -> (tracing::Span, Option<String>) {
    let name = rpc.trim_start_matches('/');
    let (service, method) = name.split_once('/').unwrap_or((name, ""));
    let authority = request
        .headers()
        .get("host")
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(|authority| authority.as_str()))
        .unwrap_or_default();
    let (host, port) = authority
        .rsplit_once(':')
        .map_or((authority, 0), |(host, port)| (host, port.parse::<u16>().unwrap_or_default()));
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        server.address = host,
        server.port = i64::from(port),
        caller.principal = tracing::field::Empty,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        rows = tracing::field::Empty,
        limit_cause = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    let _ = span.set_parent(crate::telemetry::propagation::extract(request.headers()));
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if !span_context.is_valid() {
        return (span, None);
    }
    let trace_id = span_context.trace_id().to_string();
    span.record("trace_id", trace_id.as_str());
    span.record("span_id", span_context.span_id().to_string());
    (span, Some(trace_id))
}
