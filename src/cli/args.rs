//! The flags of each command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use metabase_grpc::config::GatewayConfig;
use metabase_grpc::identity::{IdentitySource, JwtVerifier};
use metabase_grpc::metabase::{ClientConfig, Secret};

/// The programs the binary runs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the gateway in front of a Metabase.
    Serve(Box<ServeArgs>),
    /// Runs the gateway with the embedded Metabase emulator and sample data, on loopback.
    #[cfg(feature = "emulator")]
    Demo(super::embedded::DemoArgs),
    /// Runs the Metabase emulator alone: a development and test double, not Metabase.
    #[cfg(feature = "emulator")]
    Emulator(super::embedded::EmulatorArgs),
    /// Checks a policy file, or explains a decision.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// `metabase-grpc policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validates a policy file and points at the bad line.
    Check {
        /// The policy file.
        file: PathBuf,
    },
    /// Prints the decision for a call and the rule that made it.
    Explain {
        /// The policy file.
        #[arg(long, env = "MBGRPC_POLICY")]
        policy: PathBuf,
        /// The caller.
        #[arg(long)]
        principal: String,
        /// The RPC, such as `CardService/GetCard`.
        #[arg(long)]
        rpc: String,
        /// The collection the call touches.
        #[arg(long)]
        collection: Option<i64>,
        /// The ids of that collection's ancestors, outermost first.
        #[arg(long, value_delimiter = ',')]
        collection_ancestors: Vec<i64>,
        /// The database the call touches.
        #[arg(long)]
        database: Option<i64>,
        /// The query is native SQL.
        #[arg(long)]
        native: bool,
    },
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
    /// The admin port, serving Prometheus metrics at `/metrics`.
    #[arg(long, env = "MBGRPC_ADMIN_LISTEN", default_value = "127.0.0.1:9464")]
    pub admin_listen: SocketAddr,
    /// The most calls in flight at once (a stream counts until it ends); more are answered
    /// RESOURCE_EXHAUSTED. 0 is unlimited.
    #[arg(long, env = "MBGRPC_MAX_CONCURRENT_CALLS", default_value_t = metabase_grpc::config::DEFAULT_MAX_CONCURRENT_CALLS)]
    pub max_concurrent_calls: usize,
    /// How long a streamed Metabase answer may send nothing before the stream ends UNAVAILABLE,
    /// in seconds.
    #[arg(long, env = "MBGRPC_METABASE_BODY_IDLE_SECS", default_value_t = 60)]
    pub metabase_body_idle_secs: u64,
    /// The most connections held at once; keep it well below the process's file limit. When
    /// full, the oldest connection that has not yet sent a request is closed for a new one.
    #[arg(long, env = "MBGRPC_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// How long a new connection may stay open without sending a gRPC request, in seconds
    /// (also bounds the TLS handshake).
    #[arg(long, env = "MBGRPC_FIRST_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub first_request_timeout_secs: u64,
    /// The most calls one HTTP/2 connection may carry at once.
    #[arg(long, env = "MBGRPC_MAX_STREAMS_PER_CONNECTION", default_value_t = metabase_grpc::config::DEFAULT_MAX_STREAMS_PER_CONNECTION)]
    pub max_streams_per_connection: u32,
}

impl GatewayArgs {
    pub(crate) fn config(&self, metabase: ClientConfig, allow_all: bool) -> GatewayConfig {
        let metabase = metabase
            .with_timeout(Duration::from_secs(self.metabase_timeout_secs))
            .with_body_idle_timeout(Duration::from_secs(self.metabase_body_idle_secs.max(1)));
        let mut config = GatewayConfig::new(metabase);
        config.allow_all = allow_all;
        config.health_interval = Duration::from_secs(self.health_interval_secs.max(1));
        config.shutdown_grace = Duration::from_secs(self.shutdown_grace_secs);
        config.max_request_bytes = self.max_request_bytes;
        config.admin_listen = Some(self.admin_listen);
        config.max_concurrent_calls = (self.max_concurrent_calls > 0).then_some(self.max_concurrent_calls);
        config.connections = metabase_grpc::connections::ConnectionLimits {
            max_connections: self.max_connections.max(1),
            first_request_timeout: Duration::from_secs(self.first_request_timeout_secs.max(1)),
        };
        config.max_streams_per_connection = self.max_streams_per_connection.max(1);
        config
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
    /// The policy file (YAML); reloaded when it changes.
    #[arg(long, env = "MBGRPC_POLICY")]
    pub policy: Option<PathBuf>,
    /// Identity sources, tried in order: `header:NAME`, `xfcc`, `mtls`, `jwt`.
    #[arg(long = "identity", env = "MBGRPC_IDENTITY", value_delimiter = ',')]
    pub identity: Vec<String>,
    /// The gateway's TLS certificate chain (PEM).
    #[arg(long, env = "MBGRPC_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The gateway's TLS key (PEM).
    #[arg(long, env = "MBGRPC_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The CA that signs client certificates, for mTLS (PEM).
    #[arg(long, env = "MBGRPC_CLIENT_CA")]
    pub client_ca: Option<PathBuf>,
    /// The JWKS file JWTs are checked against.
    #[arg(long, env = "MBGRPC_JWT_JWKS")]
    pub jwt_jwks: Option<PathBuf>,
    /// The issuer JWTs must name.
    #[arg(long, env = "MBGRPC_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// The audience JWTs must name.
    #[arg(long, env = "MBGRPC_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// The SQLite audit database, for a single replica [default: metabase-grpc-audit.db, unless
    /// --audit-url is given].
    #[arg(long, env = "MBGRPC_AUDIT_DB")]
    pub audit_db: Option<PathBuf>,
    /// The PostgreSQL audit database, shared by several replicas:
    /// postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (no TLS: loopback or a service mesh).
    #[arg(long, env = "MBGRPC_AUDIT_URL", hide_env_values = true, value_parser = secret)]
    pub audit_url: Option<Secret>,
    /// The request rate each peer address gets before it is identified, such as `200/s`; floods
    /// from one address are refused before any identity work. Unlimited when unset.
    #[arg(long, env = "MBGRPC_PEER_RATE")]
    pub peer_rate: Option<metabase_grpc::policy::Rate>,
    /// Gateway flags.
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

impl ServeArgs {
    /// Returns the identity sources the flags name.
    pub fn identity_sources(&self) -> Result<Vec<IdentitySource>, String> {
        self.identity
            .iter()
            .map(|source| match source.as_str() {
                "xfcc" => Ok(IdentitySource::Xfcc),
                "mtls" if self.client_ca.is_some() && self.tls_cert.is_some() => Ok(IdentitySource::Mtls),
                "mtls" => Err("--identity mtls needs --tls-cert, --tls-key and --client-ca".to_owned()),
                "jwt" => {
                    let jwks = self.jwt_jwks.as_ref().ok_or("--identity jwt needs --jwt-jwks FILE")?;
                    JwtVerifier::from_jwks_file(jwks, self.jwt_issuer.clone(), self.jwt_audience.clone())
                        .map(IdentitySource::Jwt)
                        .map_err(|error| format!("--jwt-jwks {}: {error}", jwks.display()))
                }
                other => match other.strip_prefix("header:") {
                    Some(name) if http::HeaderName::from_bytes(name.as_bytes()).is_ok() => {
                        Ok(IdentitySource::Header(name.to_ascii_lowercase()))
                    }
                    Some(name) => Err(format!(
                        "--identity (MBGRPC_IDENTITY) header:{name}: {name:?} is not an HTTP header name; use letters, \
                         digits and '-' only, such as header:l5d-client-id"
                    )),
                    None => {
                        Err(format!("--identity (MBGRPC_IDENTITY) {other}: expected header:NAME, xfcc, mtls or jwt"))
                    }
                },
            })
            .collect()
    }
}

/// Reads a flag whose value is a credential, so that it never shows in debug output.
fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}
