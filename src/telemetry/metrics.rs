//! The gateway's metrics: RPCs by method and code, Metabase requests by route template and
//! status, rows streamed, and policy decisions by capability and outcome. Instruments come from
//! the global meter provider, so they are created after telemetry is installed.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

/// The instruments.
pub struct Metrics {
    rpc_calls: Counter<u64>,
    rpc_duration: Histogram<f64>,
    metabase_duration: Histogram<f64>,
    rows_streamed: Counter<u64>,
    policy_decisions: Counter<u64>,
}

/// Returns the instruments, created on first use.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = opentelemetry::global::meter("metabase-grpc");
        Metrics {
            rpc_calls: meter.u64_counter("rpc.server.calls").with_description("gRPC calls served").build(),
            rpc_duration: meter
                .f64_histogram("rpc.server.duration")
                .with_unit("s")
                .with_description("gRPC call duration")
                .build(),
            metabase_duration: meter
                .f64_histogram("metabase.client.duration")
                .with_unit("s")
                .with_description("Metabase request duration, to the response headers")
                .build(),
            rows_streamed: meter
                .u64_counter("metabase.gateway.rows_streamed")
                .with_description("rows sent to callers")
                .build(),
            policy_decisions: meter
                .u64_counter("metabase.gateway.policy_decisions")
                .with_description("policy decisions")
                .build(),
        }
    })
}

impl Metrics {
    /// Counts one finished RPC.
    pub fn rpc(&self, method: &str, code: &str, seconds: f64) {
        let attributes =
            [KeyValue::new("rpc.method", method.to_owned()), KeyValue::new("rpc.grpc.status_code", code.to_owned())];
        self.rpc_calls.add(1, &attributes);
        self.rpc_duration.record(seconds, &attributes);
    }

    /// Records one Metabase request.
    pub fn metabase_request(&self, route: &'static str, status: u16, seconds: f64) {
        self.metabase_duration.record(
            seconds,
            &[KeyValue::new("url.template", route), KeyValue::new("http.response.status_code", i64::from(status))],
        );
    }

    /// Counts rows sent.
    pub fn rows(&self, rows: u64) {
        self.rows_streamed.add(rows, &[]);
    }

    /// Counts one policy decision.
    pub fn decision(&self, capability: &str, outcome: &str) {
        self.policy_decisions.add(
            1,
            &[KeyValue::new("capability", capability.to_owned()), KeyValue::new("outcome", outcome.to_owned())],
        );
    }
}
