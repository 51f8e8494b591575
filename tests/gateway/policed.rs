//! A gateway with a real policy file, identity sources and an audit database, for the policy,
//! identity and audit tests.

use std::collections::HashMap;
use std::path::PathBuf;

use metabase_emulator::{EmulatorConfig, EmulatorHandle};
use metabase_grpc::identity::IdentitySource;
use metabase_grpc::metabase::{Credential, Secret};
use metabase_grpc::server::GatewayHandle;
use tonic::transport::Channel;

use crate::support::{ADMIN_KEY, gateway, gateway_config};

/// The header the policed gateways identify callers by.
pub const CALLER: &str = "x-caller";

/// A policed gateway in front of an emulator. The servers and the directory are held so they
/// live as long as the test.
#[allow(dead_code)]
pub struct Policed {
    pub emulator: EmulatorHandle,
    pub gateway: GatewayHandle,
    pub channel: Channel,
    pub policy_path: PathBuf,
    pub audit_path: PathBuf,
    pub directory: tempfile::TempDir,
}

/// The environment policy credentials are read from in these tests.
pub fn environment() -> HashMap<String, String> {
    HashMap::from([
        ("TEST_ADMIN_KEY".to_owned(), ADMIN_KEY.to_owned()),
        ("TEST_ANALYST_KEY".to_owned(), "mb_emulator_analyst_key".to_owned()),
    ])
}

/// Starts an emulator and a gateway under `policy`, identifying callers by the `x-caller`
/// header (or the given sources).
pub async fn policed(policy: &str, sources: Option<Vec<IdentitySource>>) -> Policed {
    start(policy, sources, None, |_| ()).await
}

/// Starts a policed gateway whose configuration `change` adjusts first.
pub async fn policed_with(policy: &str, change: impl FnOnce(&mut metabase_grpc::config::GatewayConfig)) -> Policed {
    start(policy, None, None, change).await
}

/// Starts an emulator and a gateway under `policy` that keeps its audit trail in the PostgreSQL
/// database at `audit_url` instead of a file (`audit_path` then stays unused).
pub async fn policed_on_postgres(policy: &str, audit_url: &str) -> Policed {
    start(policy, None, Some(audit_url), |_| ()).await
}

async fn start(
    policy: &str,
    sources: Option<Vec<IdentitySource>>,
    audit_url: Option<&str>,
    change: impl FnOnce(&mut metabase_grpc::config::GatewayConfig),
) -> Policed {
    let directory = tempfile::tempdir().expect("tempdir");
    let policy_path = directory.path().join("policy.yaml");
    std::fs::write(&policy_path, policy).expect("write policy");
    let audit_path = directory.path().join("audit.db");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let emulator = metabase_emulator::start(EmulatorConfig::default(), listener).await.expect("emulator");
    let mut config = gateway_config(emulator.url(), Credential::api_key(ADMIN_KEY));
    config.allow_all = false;
    config.policy_file = Some(policy_path.clone());
    config.identity = sources.unwrap_or_else(|| vec![IdentitySource::Header(CALLER.into())]);
    match audit_url {
        Some(url) => config.audit_url = Some(Secret::new(url)),
        None => config.audit_db = Some(audit_path.clone()),
    }
    config.environment = environment();
    change(&mut config);
    let (gateway, channel) = gateway(config).await;
    Policed { emulator, gateway, channel, policy_path, audit_path, directory }
}

/// Wraps a message in a request from `principal`.
pub fn from<T>(principal: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(CALLER, principal.parse().expect("ascii principal"));
    request
}
