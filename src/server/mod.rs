//! Builds and runs the gRPC server: every service, health (see [`health`]), reflection, the
//! deadline layer, request size limits, and a graceful shutdown that lets in-flight calls finish
//! within a grace period.

mod health;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

pub use self::health::LIVENESS_SERVICE;
use self::health::{set_health, watch_health};
use crate::audit::AuditStore;
use crate::audit::{AuditWriter, Floods, WriterConfig};
use crate::config::GatewayConfig;
use crate::connections::Connections;
use crate::metabase::MetabaseClient;
use crate::middleware::{Access, ClientPool, access_path};
use crate::pb::v1::audit_service_server::AuditServiceServer;
use crate::pb::v1::{
    alert_service_server::AlertServiceServer, card_service_server::CardServiceServer,
    collection_service_server::CollectionServiceServer, dashboard_service_server::DashboardServiceServer,
    database_service_server::DatabaseServiceServer, dataset_service_server::DatasetServiceServer,
    gateway_service_server::GatewayServiceServer, metadata_service_server::MetadataServiceServer,
    notification_service_server::NotificationServiceServer, permissions_service_server::PermissionsServiceServer,
    search_service_server::SearchServiceServer, user_service_server::UserServiceServer,
};
use crate::policy::{Policy, PolicyStore, RateLimiter};
use crate::services::{
    AlertApi, AuditApi, CardApi, CollectionApi, DashboardApi, DatabaseApi, DatasetApi, FlightApi, GatewayApi,
    GatewayState, MetadataApi, NotificationApi, PermissionsApi, SearchApi, UserApi,
};

/// The gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The Metabase client could not be built from the configuration.
    #[error("metabase client configuration is invalid")]
    Client(#[source] crate::metabase::ConfigError),
    /// The listener is unusable.
    #[error("gateway listener is unusable")]
    Listener(#[source] std::io::Error),
    /// The admin port cannot be bound, for example because another process holds it.
    #[error("the admin port {address} (--admin-listen, MBGRPC_ADMIN_LISTEN) cannot be used")]
    AdminListener {
        /// The address asked for.
        address: SocketAddr,
        /// Why, such as "Address already in use".
        #[source]
        source: std::io::Error,
    },
    /// Reflection could not be built from the descriptor set.
    #[error("reflection service could not be built")]
    Reflection(#[source] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("gateway transport failed")]
    Transport(#[source] tonic::transport::Error),
    /// The policy file is invalid.
    #[error("policy file is invalid: {0}")]
    Policy(String),
    /// Neither a policy nor --allow-all was given.
    #[error("no policy: pass --policy FILE, or --allow-all for local development")]
    NoPolicy,
    /// The audit database could not be opened.
    #[error("audit database cannot be opened")]
    Audit(#[source] crate::audit::AuditError),
    /// Both an SQLite file and a PostgreSQL URL were given for the audit trail.
    #[error("audit_db and audit_url are both set; choose one")]
    AuditTwice,
    /// The TLS files could not be read.
    #[error("tls files cannot be read: {0}")]
    Tls(String),
}

/// A running gateway.
pub struct GatewayHandle {
    /// The address it listens on.
    pub address: SocketAddr,
    /// The admin port's address (`/metrics`), when it serves one.
    pub admin_address: Option<SocketAddr>,
    connections: Arc<Connections>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
}

impl GatewayHandle {
    /// Returns the `http://` endpoint clients connect to.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns how many connections the gateway holds now.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }

    /// Signals shutdown and waits for in-flight calls (within the grace period).
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// Waits until the server stops by itself.
    pub async fn wait(mut self) -> Result<(), ServeError> {
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Serves the admin port: Prometheus metrics at `/metrics`, on its own listener so it can stay
/// off the network callers reach.
async fn serve_admin(address: SocketAddr, registry: prometheus::Registry) -> Result<SocketAddr, ServeError> {
    let unusable = |source| ServeError::AdminListener { address, source };
    let listener = TcpListener::bind(address).await.map_err(unusable)?;
    let bound = listener.local_addr().map_err(unusable)?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move {
                let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap_or_default();
                ([(http::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text)
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the admin port stopped");
        }
    });
    Ok(bound)
}

fn tls_config(files: &crate::config::TlsFiles) -> Result<ServerTlsConfig, ServeError> {
    let read = |path: &std::path::PathBuf| {
        std::fs::read(path).map_err(|error| ServeError::Tls(format!("{}: {error}", path.display())))
    };
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?));
    if let Some(ca) = &files.client_ca {
        // Clients without a certificate still connect, so they get a clear UNAUTHENTICATED
        // from the identity layer rather than a failed handshake.
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?)).client_auth_optional(true);
    }
    Ok(tls)
}

/// How long refusals from one caller fold into one summary event.
const FLOOD_WINDOW: Duration = Duration::from_secs(5);
/// How long the shutdown waits for queued audit events to be written.
const AUDIT_FLUSH: Duration = Duration::from_secs(10);

/// Opens the configured audit store, if any. Connecting to PostgreSQL blocks, so it runs on a
/// blocking thread.
async fn open_audit(config: &GatewayConfig) -> Result<Option<AuditStore>, ServeError> {
    match (&config.audit_db, &config.audit_url) {
        (Some(_), Some(_)) => Err(ServeError::AuditTwice),
        (Some(path), None) => AuditStore::open(path).map(Some).map_err(ServeError::Audit),
        (None, Some(url)) => {
            let url = url.clone();
            let connected = tokio::task::spawn_blocking(move || AuditStore::connect(url.expose())).await;
            // The blocking task ends by returning or by panicking; a panic goes on here.
            let connected = connected.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
            connected.map(Some).map_err(ServeError::Audit)
        }
        (None, None) => Ok(None),
    }
}

/// How long an accepted connection may sit idle before the kernel probes that its peer is alive.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// Returns the connections the listener accepts, each with `TCP_NODELAY` and keepalive set.
/// Tonic applies its own TCP settings only to listeners it binds itself; without `TCP_NODELAY`
/// a response's small frames (headers, data, trailers) wait for the caller's delayed ACK under
/// Nagle's algorithm, which adds about 40 ms to every unary call.
fn accepted_connections(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true)).with_keepalive(Some(TCP_KEEPALIVE))
}

/// Starts the gateway on a bound listener and returns at once.
pub async fn start(config: GatewayConfig, listener: TcpListener) -> Result<GatewayHandle, ServeError> {
    let address = listener.local_addr().map_err(ServeError::Listener)?;
    let client = MetabaseClient::new(config.metabase.clone()).map_err(ServeError::Client)?;
    let state = Arc::new(GatewayState::new(client.clone()));
    state.refresh_version().await;
    let policy = match (&config.policy_file, config.allow_all) {
        (Some(path), _) => {
            let store = PolicyStore::load(path).map_err(|error| ServeError::Policy(error.to_string()))?;
            store.spawn_reload(Duration::from_secs(1));
            store
        }
        (None, true) => Arc::new(PolicyStore::from_policy(Policy::allow_all())),
        (None, false) => return Err(ServeError::NoPolicy),
    };
    let audit = open_audit(&config).await?.map(Arc::new);
    let pool = Arc::new(ClientPool::new(state.client.clone(), config.metabase.clone(), config.environment.clone()));
    let writer = audit.clone().map(|store| Arc::new(AuditWriter::start(store, WriterConfig::default())));
    let floods = writer.as_ref().map(|_| Arc::new(Floods::new(FLOOD_WINDOW, 10_000)));
    let access = Arc::new(Access {
        sources: config.identity.clone(),
        policy,
        limiter: RateLimiter::new(),
        clients: pool,
        audit: writer.clone(),
        floods: floods.clone(),
        peer_rate: config.peer_rate,
        shutting_down: Default::default(),
        in_flight: Default::default(),
        calls: config.max_concurrent_calls.map(|calls| Arc::new(tokio::sync::Semaphore::new(calls))),
        streams: Default::default(),
    });
    let flood_task = writer.clone().zip(floods.clone()).map(|(writer, floods)| {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FLOOD_WINDOW);
            loop {
                ticks.tick().await;
                floods.flush(&writer, false);
            }
        })
    });
    let (reporter, health_service) = tonic_health::server::health_reporter();
    set_health(&reporter, false).await;
    // Liveness says only that this process answers: a Metabase outage must not get every
    // replica restarted, so this name never follows Metabase's health.
    reporter.set_service_status(LIVENESS_SERVICE, tonic_health::ServingStatus::Serving).await;
    let health_task = watch_health(client, reporter, config.health_interval);
    // Both reflection versions: grpcurl and newer tools speak v1, many others still v1alpha.
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder().build_v1().map_err(ServeError::Reflection)?;
    let reflection_alpha = reflection_builder().build_v1alpha().map_err(ServeError::Reflection)?;
    let limit = config.max_request_bytes;
    let connections = Connections::new(config.connections);
    let mut builder = Server::builder()
        .max_concurrent_streams(config.max_streams_per_connection)
        .http2_keepalive_interval(Some(config.http2_keepalive.0))
        .http2_keepalive_timeout(Some(config.http2_keepalive.1));
    if let Some(tls) = &config.tls {
        let tls = tls_config(tls)?.timeout(config.connections.first_request_timeout);
        builder = builder.tls_config(tls).map_err(ServeError::Transport)?;
    }
    let heard = connections.clone();
    let held = connections.clone();
    let router = builder
        // A connection that carried a request is no longer silent; the identity layer marks it
        // a caller's (never evicted) once a request of it is identified.
        .layer(tower::util::MapRequestLayer::new(move |mut request: http::Request<tonic::body::Body>| {
            if let Some(peer) = crate::connections::peer(&request) {
                heard.heard_from(peer);
                request.extensions_mut().insert(heard.handle(peer));
            }
            request
        }))
        // Every gateway RPC goes through the access path: trace, audit, deadline, identity,
        // rate, authorize, write-ahead (see `middleware::access_path`).
        .layer(access_path(access.clone()))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(CardServiceServer::new(CardApi).max_decoding_message_size(limit))
        .add_service(DashboardServiceServer::new(DashboardApi).max_decoding_message_size(limit))
        .add_service(CollectionServiceServer::new(CollectionApi).max_decoding_message_size(limit))
        .add_service(DatabaseServiceServer::new(DatabaseApi).max_decoding_message_size(limit))
        .add_service(DatasetServiceServer::new(DatasetApi).max_decoding_message_size(limit))
        .add_service(UserServiceServer::new(UserApi).max_decoding_message_size(limit))
        .add_service(PermissionsServiceServer::new(PermissionsApi).max_decoding_message_size(limit))
        .add_service(AlertServiceServer::new(AlertApi).max_decoding_message_size(limit))
        .add_service(SearchServiceServer::new(SearchApi).max_decoding_message_size(limit))
        .add_service(MetadataServiceServer::new(MetadataApi).max_decoding_message_size(limit))
        .add_service(NotificationServiceServer::new(NotificationApi).max_decoding_message_size(limit))
        .add_service(GatewayServiceServer::new(GatewayApi::new(state)).max_decoding_message_size(limit))
        .add_service(AuditServiceServer::new(AuditApi::new(audit)).max_decoding_message_size(limit))
        // Arrow Flight on the same port and access path, for dataframe clients.
        .add_service(FlightServiceServer::new(FlightApi).max_decoding_message_size(limit));
    let admin_address = match config.admin_listen {
        Some(address) => Some(serve_admin(address, config.metrics_registry.clone().unwrap_or_default()).await?),
        None => None,
    };
    let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
    let (signalled_sender, signalled_receiver) = oneshot::channel::<()>();
    let grace = config.shutdown_grace;
    let task = tokio::spawn(async move {
        let shutdown_access = access.clone();
        let shutdown = async move {
            let _ = shutdown_receiver.await;
            shutdown_access.shutting_down.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = signalled_sender.send(());
        };
        let serving = router.serve_with_incoming_shutdown(connections.guard(accepted_connections(listener)), shutdown);
        tokio::pin!(serving);
        let result = tokio::select! {
            result = &mut serving => result,
            () = async {
                let _ = signalled_receiver.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs_f64(), "grace period over; dropping calls still in flight");
                Ok(())
            }
        };
        health_task.abort();
        if let Some(task) = flood_task {
            task.abort();
        }
        // Calls the shutdown cut (streams past the grace period) are completed now, with the
        // rows they sent; then what is queued is written before the process goes.
        let cut = access.cut_calls_in_flight();
        if cut > 0 {
            tracing::warn!(calls = cut, "calls still in flight were cut by the shutdown");
        }
        if let (Some(writer), Some(floods)) = (writer, floods) {
            floods.flush(&writer, true);
            let left = tokio::task::spawn_blocking(move || writer.close(AUDIT_FLUSH)).await.unwrap_or_default();
            if left > 0 {
                tracing::error!(events = left, "audit events were still queued at shutdown");
            }
        }
        result.map_err(ServeError::Transport)
    });
    Ok(GatewayHandle { address, admin_address, connections: held, shutdown: Some(shutdown_sender), task: Some(task) })
}
