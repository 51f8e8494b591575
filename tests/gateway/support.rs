//! Starts the emulator and the real gateway in-process on 127.0.0.1 and connects generated
//! clients, as a platform engineer's service would.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use metabase_emulator::{EmulatorConfig, EmulatorHandle};
use metabase_grpc::config::GatewayConfig;
use metabase_grpc::metabase::{ClientConfig, Credential};
use metabase_grpc::pb::v1::{
    alert_service_client::AlertServiceClient, card_service_client::CardServiceClient,
    collection_service_client::CollectionServiceClient, dashboard_service_client::DashboardServiceClient,
    database_service_client::DatabaseServiceClient, gateway_service_client::GatewayServiceClient,
    permissions_service_client::PermissionsServiceClient, search_service_client::SearchServiceClient,
    user_service_client::UserServiceClient,
};
use metabase_grpc::server::{self, GatewayHandle};
use tonic::transport::Channel;

/// The emulator's admin API key.
pub const ADMIN_KEY: &str = "mb_emulator_admin_key";

/// A gateway in front of an emulator.
pub struct Stack {
    pub emulator: EmulatorHandle,
    pub gateway: GatewayHandle,
    pub channel: Channel,
}

/// Returns a gateway configuration for a Metabase URL and credential.
pub fn gateway_config(url: String, credential: Credential) -> GatewayConfig {
    captured();
    let mut config = GatewayConfig::new(ClientConfig::new(url, credential).with_timeout(Duration::from_secs(10)));
    config.allow_all = true;
    config.health_interval = Duration::from_millis(200);
    config.shutdown_grace = Duration::from_secs(2);
    config
}

/// Starts a gateway on a loopback port in front of `url` and connects a channel to it.
pub async fn gateway(mut config: GatewayConfig) -> (GatewayHandle, Channel) {
    config.metrics_registry = Some(captured().registry.clone());
    config.admin_listen = Some("127.0.0.1:0".parse().expect("address"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let handle = server::start(config, listener).await.expect("gateway starts");
    let channel = Channel::from_shared(handle.endpoint()).expect("endpoint").connect().await.expect("connect");
    (handle, channel)
}

/// A plain HTTP/2 transport to the gateway that leaves the caller's deadline to the server.
pub type Unhurried = hyper_util::client::legacy::Client<HttpConnector, tonic::body::Body>;

/// Returns an [`Unhurried`] transport and the origin to give a generated client's `with_origin`.
///
/// tonic's `Channel` enforces a request's `grpc-timeout` itself and answers `CANCELLED` when its
/// own timer fires, which races the gateway's `DEADLINE_EXCEEDED` on a busy machine. This client
/// sends the header and waits for the gateway's answer, so a test sees what the gateway says.
pub fn unhurried(endpoint: &str) -> (Unhurried, http::Uri) {
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).http2_only(true).build_http();
    (client, endpoint.parse().expect("gateway endpoint"))
}

/// Starts an emulator and a gateway using the admin API key.
pub async fn start() -> Stack {
    start_with(EmulatorConfig::default(), |_| Credential::api_key(ADMIN_KEY)).await
}

/// Starts an emulator with a configuration and a gateway with a credential chosen for it.
pub async fn start_with(config: EmulatorConfig, credential: impl FnOnce(&EmulatorHandle) -> Credential) -> Stack {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let emulator = metabase_emulator::start(config, listener).await.expect("emulator starts");
    let credential = credential(&emulator);
    let (gateway, channel) = gateway(gateway_config(emulator.url(), credential)).await;
    Stack { emulator, gateway, channel }
}

impl Stack {
    pub fn cards(&self) -> CardServiceClient<Channel> {
        CardServiceClient::new(self.channel.clone())
    }
    pub fn dashboards(&self) -> DashboardServiceClient<Channel> {
        DashboardServiceClient::new(self.channel.clone())
    }
    pub fn collections(&self) -> CollectionServiceClient<Channel> {
        CollectionServiceClient::new(self.channel.clone())
    }
    pub fn databases(&self) -> DatabaseServiceClient<Channel> {
        DatabaseServiceClient::new(self.channel.clone())
    }
    pub fn users(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel.clone())
    }
    pub fn permissions(&self) -> PermissionsServiceClient<Channel> {
        PermissionsServiceClient::new(self.channel.clone())
    }
    pub fn alerts(&self) -> AlertServiceClient<Channel> {
        AlertServiceClient::new(self.channel.clone())
    }
    pub fn search(&self) -> SearchServiceClient<Channel> {
        SearchServiceClient::new(self.channel.clone())
    }
    pub fn gateway_service(&self) -> GatewayServiceClient<Channel> {
        GatewayServiceClient::new(self.channel.clone())
    }
}

/// What the gateway emitted during this test binary's run: log lines, spans and metrics.
pub struct Captured {
    /// Every log line.
    pub logs: Arc<Mutex<Vec<u8>>>,
    /// Every finished span.
    pub spans: opentelemetry_sdk::trace::InMemorySpanExporter,
    /// The metrics registry `/metrics` serves.
    pub registry: prometheus::Registry,
}

/// Installs, once per test binary, a subscriber that captures logs and exports spans in memory,
/// the W3C propagator, and a meter provider backed by a Prometheus registry.
pub fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer_logs = logs.clone();
        let spans = opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let telemetry = metabase_grpc::telemetry::providers(&Default::default()).expect("telemetry");
        let provider =
            opentelemetry_sdk::trace::SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info,metabase_grpc=trace"))
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("metabase-grpc")))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || CaptureWriter(writer_logs.clone()))
                    .with_ansi(false),
            );
        let _ = tracing::subscriber::set_global_default(subscriber);
        Captured { logs, spans, registry: telemetry.registry.clone() }
    })
}

/// Every log line the gateway writes during this test binary's run, for secret checks.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    captured().logs.clone()
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Returns the `ErrorInfo` reason and metadata of a status.
pub fn error_info(status: &tonic::Status) -> (String, std::collections::HashMap<String, String>) {
    use tonic_types::StatusExt;
    let info = status.get_details_error_info().expect("every gateway error carries ErrorInfo");
    assert_eq!(info.domain, "metabase-grpc");
    (info.reason, info.metadata)
}

/// Returns a `CollectionRef` to a collection id.
pub fn collection(id: i64) -> Option<metabase_grpc::pb::v1::CollectionRef> {
    Some(metabase_grpc::pb::v1::CollectionRef {
        collection: Some(metabase_grpc::pb::v1::collection_ref::Collection::Id(id)),
    })
}

/// Returns a `CollectionRef` to the root.
pub fn root() -> Option<metabase_grpc::pb::v1::CollectionRef> {
    Some(metabase_grpc::pb::v1::CollectionRef {
        collection: Some(metabase_grpc::pb::v1::collection_ref::Collection::Root(true)),
    })
}

/// Builds a protobuf Struct from JSON.
pub fn structure(value: serde_json::Value) -> Option<prost_types::Struct> {
    match value {
        serde_json::Value::Object(map) => Some(metabase_grpc::convert::json::to_struct(map)),
        _ => None,
    }
}
