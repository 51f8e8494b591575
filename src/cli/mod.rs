//! The command line: `serve`, `demo`, `emulator` and `policy`, each flag also readable from an
//! `MBGRPC_` environment variable.

mod args;
mod run;

use std::process::ExitCode;

use clap::Parser;

pub use self::args::*;

/// A gRPC gateway in front of Metabase.
#[derive(Debug, Parser)]
#[command(name = "metabase-grpc", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The demo's policy, shipped in `examples/demo-policy.yaml`.
pub(crate) const DEMO_POLICY: &str = include_str!("../../examples/demo-policy.yaml");

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
            Command::Serve(args) => run::serve(args, &environment).await,
            Command::Demo(args) => run::demo(args, &environment).await,
            Command::Emulator(args) => run::emulator(args, &environment).await,
            Command::Policy(command) => run::policy(command),
        }
    })
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
