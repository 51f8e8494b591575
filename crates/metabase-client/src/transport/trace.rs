//! One client span per HTTP request to Metabase (retries get their own, with
//! `http.request.resend_count`), named by method and route template, never by concrete ids; the
//! W3C trace context is injected into the request so Metabase's access log and any proxy can be
//! correlated with the caller's trace. Numeric attributes (`server.port`,
//! `http.response.status_code`) are recorded as integers, as the OpenTelemetry conventions say.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::propagation::Injector;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::request::Call;

/// The client span of one request, kept on the response so a body read later (a failed query
/// found in a 202 body) can still be marked on it.
#[derive(Clone, Debug)]
pub struct ClientSpan(pub tracing::Span);

/// Returns a new client span for attempt `attempt` (0 for the first) of a request to `base`.
pub(super) fn client_span(call: &Call<'_>, base: &Url, attempt: u32) -> tracing::Span {
    let name = format!("{} {}", call.method, call.route);
    let span = tracing::info_span!(
        "metabase.client",
        otel.name = %name,
        otel.kind = "client",
        http.request.method = %call.method,
        url.template = call.route,
        server.address = base.host_str().unwrap_or_default(),
        server.port = i64::from(base.port_or_known_default().unwrap_or_default()),
        http.request.resend_count = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if attempt > 0 {
        span.record("http.request.resend_count", i64::from(attempt));
    }
    span
}

/// Counts a request the open circuit refused without sending it.
pub(super) fn count_circuit_refusal(route: &'static str) {
    static REFUSALS: OnceLock<Counter<u64>> = OnceLock::new();
    REFUSALS
        .get_or_init(|| {
            opentelemetry::global::meter("metabase-grpc")
                .u64_counter("metabase.client.circuit_refusals")
                .with_description("Metabase requests failed at once because the circuit was open")
                .build()
        })
        .add(1, &[KeyValue::new("url.template", route)]);
}

struct Headers<'a>(&'a mut HeaderMap);

impl Injector for Headers<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

/// Returns the `traceparent` (and `tracestate`) headers for a span.
pub(super) fn trace_headers(span: &tracing::Span) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Headers(&mut headers))
    });
    headers
}

/// Marks a span as failed with `error.type`.
pub fn mark_error(span: &tracing::Span, error_type: &str) {
    span.record("error.type", error_type);
    span.record("otel.status_code", "ERROR");
}

/// Records a finished request on its span and in the request-duration metric.
pub(super) fn finish(span: &tracing::Span, route: &'static str, status: Option<u16>, seconds: f64) {
    static DURATION: OnceLock<Histogram<f64>> = OnceLock::new();
    let histogram = DURATION.get_or_init(|| {
        opentelemetry::global::meter("metabase-grpc").f64_histogram("metabase.client.duration").with_unit("s").build()
    });
    match status {
        Some(status) => {
            span.record("http.response.status_code", i64::from(status));
            if status >= 400 {
                mark_error(span, &status.to_string());
            }
        }
        None => mark_error(span, "transport"),
    }
    let status_code = status.map_or(0, i64::from);
    histogram.record(
        seconds,
        &[KeyValue::new("url.template", route), KeyValue::new("http.response.status_code", status_code)],
    );
}
