//! The command line: `serve`, `demo` and `emulator`, each flag also readable from an `MBGRPC_`
//! environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::emulator::{self, EmulatorConfig};

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
    /// Runs the Metabase emulator alone: a development and test double, not Metabase.
    Emulator(EmulatorArgs),
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
