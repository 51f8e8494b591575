//! The commands that embed the Metabase emulator, `demo` and `emulator`: built only with the
//! `emulator` feature (on by default), so a production binary can leave the emulator out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use metabase_emulator::{self as emulator, EmulatorConfig};
use metabase_grpc::identity::IdentitySource;
use metabase_grpc::metabase::{ClientConfig, Credential};

use super::run::{bind, serve_until_signal};
use super::{EXIT_CONFIG, GatewayArgs};

/// The demo's policy, shipped in `examples/demo-policy.yaml`.
pub(crate) const DEMO_POLICY: &str = include_str!("../../examples/demo-policy.yaml");

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

pub(super) async fn emulator(args: EmulatorArgs, environment: &std::collections::HashMap<String, String>) -> ExitCode {
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

pub(super) async fn demo(
    args: DemoArgs,
    environment: &std::collections::HashMap<String, String>,
    registry: prometheus::Registry,
) -> ExitCode {
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
    let metabase = ClientConfig::new(emulator.url(), Credential::api_key(api_key.clone()));
    let demo_dir = std::env::temp_dir().join("metabase-grpc-demo");
    let policy_path = demo_dir.join("demo-policy.yaml");
    if let Err(error) = std::fs::create_dir_all(&demo_dir).and_then(|()| std::fs::write(&policy_path, DEMO_POLICY)) {
        eprintln!("metabase-grpc demo: cannot write the demo policy to {}: {error}", policy_path.display());
        return ExitCode::FAILURE;
    }
    let mut config = args.gateway.config(metabase, false);
    config.metrics_registry = Some(registry);
    config.policy_file = Some(policy_path.clone());
    config.identity = vec![IdentitySource::Header("x-demo-caller".into())];
    config.audit_db = Some(demo_dir.join("audit.db"));
    config.environment = std::collections::HashMap::from([
        ("MBGRPC_DEMO_ADMIN_KEY".to_owned(), api_key),
        ("MBGRPC_DEMO_ANALYST_KEY".to_owned(), "mb_emulator_analyst_key".to_owned()),
    ]);
    eprintln!(
        "\nmetabase-grpc demo\n  gateway:  {address} (gRPC, plaintext, reflection on)\n  metabase: {} (the embedded emulator, a test double)\n  \
         policy:   {} (callers named by the x-demo-caller header)\n  audit:    {}\n\n\
         Try:\n  grpcurl -plaintext {address} list\n  \
         grpcurl -plaintext -H 'x-demo-caller: orders-api' -d '{{\"card_id\": 1}}' {address} metabase.gateway.v1.CardService/RunCard\n  \
         grpcurl -plaintext -H 'x-demo-caller: orders-api' -d '{{\"card_id\": 9}}' {address} metabase.gateway.v1.CardService/GetCard   # outside its collections: denied\n  \
         grpcurl -plaintext -H 'x-demo-caller: agent-7' -d '{{\"query\": \"orders\"}}' {address} metabase.gateway.v1.SearchService/Search\n  \
         grpcurl -plaintext -H 'x-demo-caller: agent-7' {address} metabase.gateway.v1.GatewayService/WhoAmI\n  \
         grpcurl -plaintext -H 'x-demo-caller: platform-admin' -d '{{\"page_size\": 5}}' {address} metabase.gateway.v1.AuditService/ListAuditEvents\n\n\
         Press Ctrl-C to stop.",
        emulator.url(),
        policy_path.display(),
        demo_dir.join("audit.db").display()
    );
    let code = serve_until_signal(config, listener).await;
    emulator.shutdown().await;
    code
}
