//! The command line: `serve`, `demo` and `emulator`, each flag also readable from an `MBGRPC_`
//! environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{CredentialSettings, GatewayConfig};
use crate::emulator::{self, EmulatorConfig};
use crate::metabase::{ClientConfig, Credential};

/// A gRPC gateway in front of Metabase.
#[derive(Debug, Parser)]
#[command(name = "metabase-grpc", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The programs the binary runs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the gateway in front of a Metabase.
    Serve(ServeArgs),
    /// Runs the gateway with the embedded Metabase emulator and sample data, on loopback.
    Demo(DemoArgs),
    /// Runs the Metabase emulator alone: a development and test double, not Metabase.
    Emulator(EmulatorArgs),
}

/// Flags shared by `serve` and `demo`.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// The address the gRPC server listens on.
    #[arg(long, env = "MBGRPC_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// How long a Metabase request may take, in seconds.
    #[arg(long, env = "MBGRPC_METABASE_TIMEOUT_SECS", default_value_t = 30)]
    pub metabase_timeout_secs: u64,
    /// How often Metabase's health is checked for the gRPC health service, in seconds.
    #[arg(long, env = "MBGRPC_HEALTH_INTERVAL_SECS", default_value_t = 5)]
    pub health_interval_secs: u64,
    /// How long calls in flight may finish after SIGTERM or SIGINT, in seconds.
    #[arg(long, env = "MBGRPC_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
    /// The largest request message accepted, in bytes.
    #[arg(long, env = "MBGRPC_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_request_bytes: usize,
}

impl GatewayArgs {
    fn config(&self, metabase: ClientConfig, allow_all: bool) -> GatewayConfig {
        GatewayConfig {
            metabase: metabase.with_timeout(Duration::from_secs(self.metabase_timeout_secs)),
            allow_all,
            health_interval: Duration::from_secs(self.health_interval_secs.max(1)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            max_request_bytes: self.max_request_bytes,
        }
    }
}

/// Flags of `metabase-grpc serve`. The Metabase credential comes from the environment:
/// `MBGRPC_METABASE_API_KEY` (or `MBGRPC_METABASE_API_KEY_FILE`), or `MBGRPC_METABASE_USERNAME`
/// with `MBGRPC_METABASE_PASSWORD` (or `MBGRPC_METABASE_PASSWORD_FILE`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Metabase's base URL, such as `https://metabase.internal`.
    #[arg(long, env = "MBGRPC_METABASE_URL")]
    pub metabase_url: String,
    /// Grants every call to every caller. For local development only.
    #[arg(long, env = "MBGRPC_ALLOW_ALL")]
    pub allow_all: bool,
    /// Gateway flags.
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// Flags of `metabase-grpc demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Gateway flags.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Where the emulator's generated sample database is cached.
    #[arg(long, env = "MBGRPC_EMULATOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Flags of `metabase-grpc emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// The address to listen on.
    #[arg(long, env = "MBGRPC_EMULATOR_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// How long a session lives, in seconds (Metabase's default is 14 days).
    #[arg(long, env = "MBGRPC_EMULATOR_SESSION_TTL_SECS", default_value_t = 14 * 24 * 3600)]
    pub session_ttl_secs: u64,
    /// Where the generated sample database is cached.
    #[arg(long, env = "MBGRPC_EMULATOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The seeded admin's password.
    #[arg(long, env = "MBGRPC_EMULATOR_ADMIN_PASSWORD", default_value = "emulator-admin", hide_default_value = true)]
    pub admin_password: String,
    /// The seeded analyst's password.
    #[arg(
        long,
        env = "MBGRPC_EMULATOR_ANALYST_PASSWORD",
        default_value = "emulator-analyst",
        hide_default_value = true
    )]
    pub analyst_password: String,
    /// The API key in the Administrators group.
    #[arg(
        long,
        env = "MBGRPC_EMULATOR_ADMIN_API_KEY",
        default_value = "mb_emulator_admin_key",
        hide_default_value = true
    )]
    pub admin_api_key: String,
    /// The API key in the narrow Analysts group.
    #[arg(
        long,
        env = "MBGRPC_EMULATOR_ANALYST_API_KEY",
        default_value = "mb_emulator_analyst_key",
        hide_default_value = true
    )]
    pub analyst_api_key: String,
}

impl EmulatorArgs {
    /// Returns the emulator configuration these flags describe, with Metabase's row-limit
    /// variables read from `environment`.
    pub fn config(&self, environment: &std::collections::HashMap<String, String>) -> EmulatorConfig {
        let mut config = EmulatorConfig::default().with_environment(environment);
        config.session_ttl = Duration::from_secs(self.session_ttl_secs);
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        config.credentials.admin_password = self.admin_password.clone();
        config.credentials.analyst_password = self.analyst_password.clone();
        config.credentials.admin_api_key = self.admin_api_key.clone();
        config.credentials.analyst_api_key = self.analyst_api_key.clone();
        config
    }
}

/// Exit status for invalid configuration (EX_USAGE).
pub const EXIT_CONFIG: u8 = 64;

/// Parses the command line and runs the chosen program.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("metabase-grpc: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let environment: std::collections::HashMap<String, String> = std::env::vars().collect();
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => run_serve(args, &environment).await,
            Command::Demo(args) => run_demo(args, &environment).await,
            Command::Emulator(args) => run_emulator(args, &environment).await,
        }
    })
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

async fn run_emulator(args: EmulatorArgs, environment: &std::collections::HashMap<String, String>) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("metabase-grpc emulator: cannot listen on {}: {error}", args.listen);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let handle = match emulator::start(args.config(environment), listener).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("metabase-grpc emulator: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "Metabase emulator (a test double, not Metabase) listening on {}\n  try: curl -H 'X-Api-Key: mb_emulator_admin_key' {}/api/card",
        handle.url(),
        handle.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    ExitCode::SUCCESS
}

/// Waits for SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn config_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("metabase-grpc: invalid configuration: {message}");
    ExitCode::from(EXIT_CONFIG)
}

async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, ExitCode> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| config_error(format!("MBGRPC_LISTEN: cannot listen on {address}: {error}")))
}

async fn serve_until_signal(config: GatewayConfig, listener: tokio::net::TcpListener) -> ExitCode {
    let handle = match crate::server::start(config, listener).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("metabase-grpc: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(address = %handle.address, "gateway listening");
    shutdown_signal().await;
    tracing::info!("shutting down: letting calls in flight finish");
    match handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("metabase-grpc: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_serve(args: ServeArgs, environment: &std::collections::HashMap<String, String>) -> ExitCode {
    if !args.allow_all {
        return config_error(
            "--allow-all (MBGRPC_ALLOW_ALL): this build has no caller policy yet, so serving requires --allow-all, \
             which grants every call to every caller; use it only for local development",
        );
    }
    tracing::warn!("--allow-all: EVERY caller may make EVERY call. Local development only; never expose this gateway.");
    let credential = match CredentialSettings::from_environment(environment).resolve() {
        Ok(credential) => credential,
        Err(error) => return config_error(error),
    };
    let metabase = ClientConfig::new(args.metabase_url.clone(), credential);
    let listener = match bind(args.gateway.listen).await {
        Ok(listener) => listener,
        Err(code) => return code,
    };
    serve_until_signal(args.gateway.config(metabase, true), listener).await
}

async fn run_demo(args: DemoArgs, environment: &std::collections::HashMap<String, String>) -> ExitCode {
    let emulator_listener = match bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
        Ok(listener) => listener,
        Err(code) => return code,
    };
    let mut emulator_config = EmulatorConfig::default().with_environment(environment);
    if let Some(dir) = &args.data_dir {
        emulator_config.data_dir = dir.clone();
    }
    let api_key = emulator_config.credentials.admin_api_key.clone();
    eprintln!("Preparing the sample database (generated once, then cached)...");
    let emulator = match emulator::start(emulator_config, emulator_listener).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("metabase-grpc demo: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match bind(args.gateway.listen).await {
        Ok(listener) => listener,
        Err(code) => return code,
    };
    let address = args.gateway.listen;
    let metabase = ClientConfig::new(emulator.url(), Credential::api_key(api_key));
    eprintln!(
        "\nmetabase-grpc demo\n  gateway:  {address} (gRPC, plaintext, reflection on)\n  metabase: {} (the embedded emulator, a test double)\n\n\
         Try:\n  grpcurl -plaintext {address} list\n  grpcurl -plaintext -d '{{\"card_id\": 1}}' {address} metabase.gateway.v1.CardService/GetCard\n  \
         grpcurl -plaintext -d '{{\"query\": \"orders\"}}' {address} metabase.gateway.v1.SearchService/Search\n\nPress Ctrl-C to stop.",
        emulator.url()
    );
    let code = serve_until_signal(args.gateway.config(metabase, true), listener).await;
    emulator.shutdown().await;
    code
}
