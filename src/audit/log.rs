//! The audit event as one structured log line, target `audit`, for log pipelines that collect
//! the trail beside (or instead of) the SQLite store.

use super::event::AuditEvent;

/// Emits one `info` line with target `audit` for the event: its fields (principal, identity
/// source, rpc, decision, reason, gRPC code, rows, duration, trace id, resources as JSON text)
/// and its sentence as the message. Parameters stay in the store only.
pub(crate) fn log_event(event: &AuditEvent) {
    if !tracing::enabled!(target: "audit", tracing::Level::INFO) {
        return;
    }
    let resources = serde_json::to_string(&event.resources).unwrap_or_default();
    tracing::info!(
        target: "audit",
        event_id = %event.id,
        principal = %event.principal,
        identity_source = %event.identity_source,
        rpc = %event.rpc,
        decision = event.decision.as_str(),
        reason = %event.reason,
        grpc_code = %event.grpc_code,
        rows = event.rows,
        duration_ms = event.duration_ms,
        trace_id = %event.trace_id,
        resources = %resources,
        "{}",
        event.sentence
    );
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::audit::Decision;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("capture lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'writer> MakeWriter<'writer> for Captured {
        type Writer = Captured;

        fn make_writer(&'writer self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture_json(event: &AuditEvent) -> Vec<serde_json::Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt().json().with_writer(captured.clone()).finish();
        tracing::subscriber::with_default(subscriber, || log_event(event));
        let bytes = captured.0.lock().expect("capture lock").clone();
        let text = String::from_utf8(bytes).expect("utf-8 log");
        text.lines().map(|line| serde_json::from_str(line).expect("json log line")).collect()
    }

    #[test]
    fn one_audit_line_carries_the_fields_and_the_sentence() {
        let event =
            AuditEvent::new("orders-api", "jwt", "/metabase.gateway.v1.CardService/RunCard", Decision::Allowed, "")
                .with_resource("card", 42)
                .with_resource("collection", 7)
                .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                .with_parameters(serde_json::json!({"card_id": 42, "max_rows": 10}))
                .finish("OK", Some(1532), 84);
        let lines = capture_json(&event);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert_eq!(line["target"], "audit");
        assert_eq!(line["level"], "INFO");
        let fields = &line["fields"];
        assert_eq!(fields["message"], "orders-api ran saved question 42 in collection 7: allowed, 1,532 rows, 84 ms");
        assert_eq!(fields["principal"], "orders-api");
        assert_eq!(fields["identity_source"], "jwt");
        assert_eq!(fields["rpc"], "/metabase.gateway.v1.CardService/RunCard");
        assert_eq!(fields["decision"], "allowed");
        assert_eq!(fields["grpc_code"], "OK");
        assert_eq!(fields["rows"], 1532);
        assert_eq!(fields["duration_ms"], 84);
        assert_eq!(fields["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(fields["resources"], r#"{"card":42,"collection":7}"#);
        assert!(fields.get("parameters").is_none(), "parameters stay out of log lines");
    }

    #[test]
    fn a_call_without_rows_logs_no_rows_field() {
        let event = AuditEvent::new(
            "agent-7",
            "header:l5d-client-id",
            "/metabase.gateway.v1.UserService/CreateUser",
            Decision::Denied,
            "its policy grants users: off",
        )
        .finish("PERMISSION_DENIED", None, 2);
        let lines = capture_json(&event);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["fields"]["decision"], "denied");
        assert_eq!(lines[0]["fields"]["reason"], "its policy grants users: off");
        assert!(lines[0]["fields"].get("rows").is_none());
    }
}
