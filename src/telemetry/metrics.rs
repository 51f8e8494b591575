//! The gateway's metrics: RPCs by method and code, rows streamed, policy decisions by capability
//! and outcome, and audit events (the Metabase client records its own request durations). Instruments
//! come from the global meter provider, so they are created after telemetry is installed. Every
//! label set is bounded: an RPC is labelled by its short name from the table of RPCs, or `unknown`.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

use crate::rpcs::{RpcFacts, facts_for};

/// The `rpc.method` label of every path that is not in the table of RPCs, so that callers who
/// invent method names cannot create new metric series.
pub(crate) const UNKNOWN_RPC: &str = "unknown";

/// The instruments.
pub(crate) struct Metrics {
    rpc_calls: Counter<u64>,
    rpc_duration: Histogram<f64>,
    rows_streamed: Counter<u64>,
    policy_decisions: Counter<u64>,
    audit_events: Counter<u64>,
}

/// Returns the instruments, created on first use.
pub(crate) fn metrics() -> &'static Metrics {
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
            rows_streamed: meter
                .u64_counter("metabase.gateway.rows_streamed")
                .with_description("rows sent to callers")
                .build(),
            policy_decisions: meter
                .u64_counter("metabase.gateway.policy_decisions")
                .with_description("policy decisions")
                .build(),
            audit_events: meter
                .u64_counter("metabase.gateway.audit_events")
                .with_description("audit events by outcome: written, dropped (queue full), failed (store refused)")
                .build(),
        }
    })
}

impl Metrics {
    /// Counts one finished RPC, given its full gRPC path, labelled by [`rpc_label`].
    pub(crate) fn rpc(&self, path: &str, code: &str, seconds: f64) {
        let attributes =
            [KeyValue::new("rpc.method", rpc_label(path)), KeyValue::new("rpc.grpc.status_code", code.to_owned())];
        self.rpc_calls.add(1, &attributes);
        self.rpc_duration.record(seconds, &attributes);
    }

    /// Counts audit events by what became of them: `written`, `dropped` (the best-effort queue was
    /// full) or `failed` (the store refused a durable event, whose change was then refused).
    pub(crate) fn audit_events(&self, outcome: &'static str, count: u64) {
        self.audit_events.add(count, &[KeyValue::new("outcome", outcome)]);
    }

    /// Counts rows sent.
    pub(crate) fn rows(&self, rows: u64) {
        self.rows_streamed.add(rows, &[]);
    }

    /// Counts one policy decision.
    pub(crate) fn decision(&self, capability: &str, outcome: &str) {
        self.policy_decisions.add(
            1,
            &[KeyValue::new("capability", capability.to_owned()), KeyValue::new("outcome", outcome.to_owned())],
        );
    }
}

/// Returns the `rpc.method` label of a full gRPC path: the RPC's short name
/// (`CardService/GetCard`) when the table of RPCs has it, else [`UNKNOWN_RPC`].
pub(crate) fn rpc_label(path: &str) -> &'static str {
    facts_for(path).map_or(UNKNOWN_RPC, RpcFacts::short_name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::rpcs::RPCS;

    #[test]
    fn each_rpc_in_the_table_is_labelled_by_its_own_short_name() {
        assert_eq!(rpc_label("/metabase.gateway.v1.CardService/GetCard"), "CardService/GetCard");
        let labels: HashSet<&str> = RPCS.iter().map(|facts| rpc_label(facts.path)).collect();
        assert_eq!(labels.len(), RPCS.len());
        assert!(!labels.contains(UNKNOWN_RPC));
    }

    #[test]
    fn invented_method_names_collapse_to_unknown() {
        let mut invented: Vec<String> = (0..500_u32)
            .map(|seed| format!("/metabase.gateway.v1.CardService/M{:08x}", seed.wrapping_mul(2_654_435_761)))
            .collect();
        invented.extend(
            [
                "/metabase.gateway.v1.CardService/DeleteCard",
                "/metabase.gateway.v1.NoSuchService/GetCard",
                "/other.v1.CardService/GetCard",
                "/metabase.gateway.v1.CardService/GetCard/extra",
                "CardService/GetCard",
                "",
            ]
            .map(str::to_owned),
        );

        let labels: HashSet<&str> = invented.iter().map(|path| rpc_label(path)).collect();

        assert_eq!(labels, HashSet::from([UNKNOWN_RPC]));
    }
}
