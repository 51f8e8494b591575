//! W3C trace context from the caller: extracted from its gRPC metadata, so the call's server span
//! continues the caller's trace (the Metabase client injects it into each request it sends).

use opentelemetry::Context;
use opentelemetry::propagation::Extractor;

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Returns the trace context a request carries (`traceparent`, `tracestate`).
pub(crate) fn extract(headers: &http::HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}
