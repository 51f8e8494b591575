//! The command line: `serve`, `demo`, `emulator` and `policy`, each flag also readable from an
//! `MBGRPC_` environment variable.

mod args;
mod run;

use std::process::ExitCode;

use clap::Parser;

use crate::telemetry::{self, LogFormat, TelemetryConfig};

pub use self::args::*;

/// A gRPC gateway in front of Metabase.
#[derive(Debug, Parser)]
#[command(name = "metabase-grpc", version, about)]
pub struct Cli {
    /// How log lines are written.
    #[arg(long, global = true, env = "MBGRPC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The demo's policy, shipped in `examples/demo-policy.yaml`.
#[cfg(feature = "emulator")]
pub(crate) const DEMO_POLICY: &str = include_str!("../../examples/demo-policy.yaml");

/// Exit status for invalid configuration (EX_USAGE).
pub const EXIT_CONFIG: u8 = 64;

/// Parses the command line and runs the chosen program.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("metabase-grpc: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let environment: std::collections::HashMap<String, String> = std::env::vars().collect();
    runtime.block_on(async move {
        let telemetry = match telemetry::init(&TelemetryConfig::from_environment(&environment, cli.log_format)) {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("metabase-grpc: invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: {error}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let registry = telemetry.registry.clone();
        let code = match cli.command {
            Command::Serve(args) => run::serve(*args, &environment, registry).await,
            #[cfg(feature = "emulator")]
            Command::Demo(args) => run::demo(args, &environment, registry).await,
            #[cfg(feature = "emulator")]
            Command::Emulator(args) => run::emulator(args, &environment).await,
            Command::Policy(command) => run::policy(command),
        };
        // Spans still buffered are exported before the process ends.
        telemetry.shutdown().await;
        code
    })
}
