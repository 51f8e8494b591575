//! Owns the gateway's gRPC health: every service name is SERVING only while Metabase's
//! `/api/health` answers (and at once NOT_SERVING when the circuit breaker opens), but for the
//! `liveness` name, which is SERVING while the gateway runs.

use tonic_health::server::HealthReporter;

use crate::metabase::MetabaseClient;

const SERVICE_NAMES: &[&str] = &[
    "metabase.gateway.v1.CardService",
    "metabase.gateway.v1.DashboardService",
    "metabase.gateway.v1.CollectionService",
    "metabase.gateway.v1.DatabaseService",
    "metabase.gateway.v1.DatasetService",
    "metabase.gateway.v1.UserService",
    "metabase.gateway.v1.PermissionsService",
    "metabase.gateway.v1.AlertService",
    "metabase.gateway.v1.SearchService",
    "metabase.gateway.v1.MetadataService",
    "metabase.gateway.v1.NotificationService",
    "metabase.gateway.v1.GatewayService",
    "metabase.gateway.v1.AuditService",
    "arrow.flight.protocol.FlightService",
];

/// The health service name that is SERVING whenever the gateway answers, whatever Metabase's
/// state: the one a liveness probe asks for (`grpc: {port: 50051, service: liveness}`).
pub const LIVENESS_SERVICE: &str = "liveness";

pub(super) async fn set_health(reporter: &HealthReporter, serving: bool) {
    let status = if serving { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Polls Metabase's health and mirrors it into the gRPC health service, at once when the circuit
/// breaker opens or closes (while it is open the poll fails without a request; once it may probe,
/// the poll is the probe).
pub(super) fn watch_health(
    client: MetabaseClient,
    reporter: HealthReporter,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = None;
        let mut circuit = client.transport().resilience().circuit_closed();
        loop {
            let serving = client.server().health().await.unwrap_or(false);
            if last != Some(serving) {
                if serving {
                    tracing::info!("metabase is healthy: serving");
                } else {
                    tracing::warn!("metabase health check failed: not serving");
                }
                last = Some(serving);
            }
            set_health(&reporter, serving).await;
            circuit.borrow_and_update();
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                Ok(()) = circuit.changed() => {}
            }
        }
    })
}
