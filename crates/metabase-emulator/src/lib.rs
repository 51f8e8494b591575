//! A Metabase emulator: a small HTTP server that speaks the Metabase REST contract
//! (`docs/metabase-contract.md`) over a real SQLite sample database.
//!
//! It is a development and test double, the upstream for the gateway's tests and its demo; it is
//! not Metabase. It depends on nothing in the gateway, and the gateway never depends on it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]
#![recursion_limit = "256"]

pub mod catalog;
pub mod faults;
pub mod http;
pub mod query;
mod routes;
pub mod sample_data;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

use self::catalog::Catalog;
use self::faults::Faults;
use self::query::RowLimits;
use self::state::{AppState, SeedCredentials};

/// The Metabase version the emulator reports: the 0.58 line CONTRACT.md describes.
pub const EMULATED_VERSION: &str = "v0.58.3";

/// How the emulator is configured.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The seeded users' passwords and the API keys.
    pub credentials: SeedCredentials,
    /// How long a session lives before Metabase answers 401 to it.
    pub session_ttl: Duration,
    /// The interactive row caps (`MB_UNAGGREGATED_QUERY_ROW_LIMIT`, `MB_AGGREGATED_QUERY_ROW_LIMIT`).
    pub row_limits: RowLimits,
    /// Where the generated sample database is cached.
    pub data_dir: PathBuf,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            credentials: SeedCredentials::default(),
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            row_limits: RowLimits { unaggregated: 2_000, aggregated: 10_000 },
            data_dir: sample_data::default_data_dir(),
        }
    }
}

impl EmulatorConfig {
    /// Applies Metabase's row-limit environment variables from a map of the environment.
    pub fn with_environment(mut self, environment: &std::collections::HashMap<String, String>) -> Self {
        if let Some(limit) = environment.get("MB_UNAGGREGATED_QUERY_ROW_LIMIT").and_then(|value| value.parse().ok()) {
            self.row_limits.unaggregated = limit;
        }
        if let Some(limit) = environment.get("MB_AGGREGATED_QUERY_ROW_LIMIT").and_then(|value| value.parse().ok()) {
            self.row_limits.aggregated = limit;
        }
        self
    }
}

/// What tests can observe about the emulator from outside.
#[derive(Debug, Default)]
pub struct Observations {
    /// Queries stopped because their client went away.
    pub cancelled_queries: AtomicU64,
    /// Signalled whenever a query is cancelled.
    pub cancelled: Notify,
    /// Requests received, with method, path and headers, newest last.
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Successful logins (`POST /api/session`).
    pub logins: AtomicU64,
    /// Queries received (ad hoc, exported, or saved into a card) with a native part anywhere,
    /// however it was spelt, so tests can check who got native SQL through.
    pub native_queries: AtomicU64,
}

impl Observations {
    /// Counts a query a client sent if any part of it is native SQL.
    pub fn observe_query(&self, query: &serde_json::Value) {
        if mentions_native(query, 0) {
            self.native_queries.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Reports whether any part of a query is native, reading keys and keywords as Metabase
/// normalises them (`:native`, `NATIVE`, `source_query`): a `native` key, a native `type`, or a
/// native MBQL 5 stage, at any depth.
fn mentions_native(value: &serde_json::Value, depth: usize) -> bool {
    let normal = |text: &str| text.trim_start_matches(':').to_lowercase().replace('_', "-");
    match value {
        _ if depth > 200 => true,
        serde_json::Value::Object(map) => map.iter().any(|(key, item)| {
            let key = normal(key);
            let keyword = item.as_str().map(normal);
            key == "native"
                || (key == "type" && keyword.as_deref() == Some("native"))
                || (key == "lib/type" && keyword.as_deref() == Some("mbql.stage/native"))
                || mentions_native(item, depth + 1)
        }),
        serde_json::Value::Array(items) => items.iter().any(|item| mentions_native(item, depth + 1)),
        _ => false,
    }
}

/// A request as the emulator received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path and query.
    pub uri: String,
    /// The request headers.
    pub headers: Vec<(String, String)>,
}

/// State shared by every request.
pub struct Context {
    state: Mutex<AppState>,
    /// The sample database's synced metadata.
    pub catalog: Catalog,
    /// The SQLite file queries run against.
    pub database_path: PathBuf,
    /// The interactive row caps.
    pub row_limits: RowLimits,
    /// Injected faults.
    pub faults: Faults,
    /// What happened, for tests.
    pub observations: Observations,
}

impl Context {
    /// Locks the application state. The lock is never held across an await.
    pub fn state(&self) -> MutexGuard<'_, AppState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn note_cancelled(&self) {
        self.observations.cancelled_queries.fetch_add(1, Ordering::SeqCst);
        self.observations.cancelled.notify_waiters();
    }
}

/// A running emulator.
pub struct EmulatorHandle {
    /// The address it listens on.
    pub address: SocketAddr,
    context: Arc<Context>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EmulatorHandle {
    /// Returns the base URL, such as `http://127.0.0.1:3000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the faults a test can inject.
    pub fn faults(&self) -> &Faults {
        &self.context.faults
    }

    /// Returns what the emulator observed.
    pub fn observations(&self) -> &Observations {
        &self.context.observations
    }

    /// Returns the emulator's state, for tests that check what a change did.
    pub fn state(&self) -> MutexGuard<'_, AppState> {
        self.context.state()
    }

    /// Ends every live session, so the next request with one gets 401.
    pub fn expire_sessions(&self) {
        self.context.state().sessions.clear();
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The sample database could not be generated or opened.
    #[error("sample database could not be prepared in {path}")]
    SampleData {
        /// The data directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The listener could not be read.
    #[error("emulator listener is unusable")]
    Listener(#[source] std::io::Error),
}

/// Starts the emulator on a bound listener and returns at once; it serves until shut down.
pub async fn start(config: EmulatorConfig, listener: TcpListener) -> Result<EmulatorHandle, StartError> {
    let data_dir = config.data_dir.clone();
    let database_path = tokio::task::spawn_blocking(move || sample_data::ensure_sample_database(&data_dir))
        .await
        .map_err(|error| StartError::Listener(std::io::Error::other(error)))?
        .map_err(|source| StartError::SampleData { path: config.data_dir.clone(), source })?;
    let address = listener.local_addr().map_err(StartError::Listener)?;
    let context = Arc::new(Context {
        state: Mutex::new(AppState::seeded(&config.credentials, config.session_ttl)),
        catalog: Catalog::sample(),
        database_path,
        row_limits: config.row_limits,
        faults: Faults::default(),
        observations: Observations::default(),
    });
    routes::describe_seeded_cards(&context);
    let app = routes::router(context.clone());
    let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Answers leave at once, not after the client's delayed ACK (Nagle's algorithm).
        let listener = axum::serve::ListenerExt::tap_io(listener, |connection: &mut tokio::net::TcpStream| {
            if let Err(error) = connection.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY could not be set on an accepted connection");
            }
        });
        let served = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = shutdown_receiver.await;
        });
        if let Err(error) = served.await {
            tracing::error!(%error, "emulator stopped with an error");
        }
    });
    Ok(EmulatorHandle { address, context, shutdown: Some(shutdown_sender), task: Some(task) })
}
