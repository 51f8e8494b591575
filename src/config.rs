//! The gateway's configuration, resolved from flags and `MBGRPC_` environment variables. Secrets
//! come from the environment or from files, never from flags echoed in help or logs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::metabase::{ClientConfig, Credential, Secret};

/// The gateway's own TLS listener, for mTLS identity.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server certificate chain (PEM).
    pub cert: PathBuf,
    /// The server key (PEM).
    pub key: PathBuf,
    /// The CA that signs client certificates (PEM); with it, clients present certificates.
    pub client_ca: Option<PathBuf>,
}

/// How the gateway runs.
#[derive(Clone)]
pub struct GatewayConfig {
    /// How to reach Metabase and with which credential.
    pub metabase: ClientConfig,
    /// Grants everything to every caller: local development only.
    pub allow_all: bool,
    /// The policy file, reloaded when it changes.
    pub policy_file: Option<PathBuf>,
    /// Identity sources, tried in order.
    pub identity: Vec<crate::identity::IdentitySource>,
    /// The gateway's own TLS listener.
    pub tls: Option<TlsFiles>,
    /// The SQLite audit database file, for a single replica; with neither this nor `audit_url`,
    /// audit events are only logged.
    pub audit_db: Option<PathBuf>,
    /// The PostgreSQL audit database (`postgres://user[:password]@host:port/database`), shared by
    /// several replicas; exclusive with `audit_db`.
    pub audit_url: Option<Secret>,
    /// The environment policy credentials are read from.
    pub environment: HashMap<String, String>,
    /// Where the admin port (Prometheus `/metrics`) listens; none to serve none.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// The registry `/metrics` serves.
    pub metrics_registry: Option<prometheus::Registry>,
    /// How often Metabase's `/api/health` is polled for the gRPC health service.
    pub health_interval: Duration,
    /// How long in-flight calls may run after a shutdown signal.
    pub shutdown_grace: Duration,
    /// The largest request message accepted, in bytes.
    pub max_request_bytes: usize,
    /// The request rate each peer address gets before it is identified; none is unlimited.
    pub peer_rate: Option<crate::policy::Rate>,
    /// The most calls in flight at once (a stream counts until it ends); none is unlimited.
    pub max_concurrent_calls: Option<usize>,
    /// How many connections the gateway holds and how long a silent one may stay.
    pub connections: crate::connections::ConnectionLimits,
    /// The most streams (calls) one HTTP/2 connection may carry at once.
    pub max_streams_per_connection: u32,
    /// How often an idle HTTP/2 connection is pinged, and how long the answer may take before the
    /// connection is closed as dead.
    pub http2_keepalive: (Duration, Duration),
}

impl GatewayConfig {
    /// Returns a configuration with the defaults for everything but Metabase: no policy (so
    /// `allow_all` must be set to serve), no identity sources, no TLS, no audit database.
    pub fn new(metabase: ClientConfig) -> Self {
        GatewayConfig {
            metabase,
            allow_all: false,
            policy_file: None,
            identity: Vec::new(),
            tls: None,
            audit_db: None,
            audit_url: None,
            environment: HashMap::new(),
            admin_listen: None,
            metrics_registry: None,
            health_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(20),
            max_request_bytes: 4 * 1024 * 1024,
            peer_rate: None,
            max_concurrent_calls: Some(DEFAULT_MAX_CONCURRENT_CALLS),
            connections: crate::connections::ConnectionLimits::default(),
            max_streams_per_connection: DEFAULT_MAX_STREAMS_PER_CONNECTION,
            http2_keepalive: (Duration::from_secs(30), Duration::from_secs(10)),
        }
    }
}

/// The streams one connection may carry at once unless told otherwise.
pub const DEFAULT_MAX_STREAMS_PER_CONNECTION: u32 = 256;

/// The calls in flight at once a configuration allows unless told otherwise.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 1024;

/// The audit database `serve` uses when neither `--audit-db` nor `--audit-url` is given.
pub(crate) const DEFAULT_AUDIT_DB: &str = "metabase-grpc-audit.db";

/// Where `serve` keeps its audit trail.
#[derive(Debug, Clone)]
pub enum AuditLocation {
    /// An SQLite file, for a single replica.
    Sqlite(PathBuf),
    /// A PostgreSQL database, shared by several replicas.
    Postgres(Secret),
}

impl AuditLocation {
    /// Chooses the audit store from `--audit-db` and `--audit-url`: the URL's PostgreSQL, else
    /// the file ([`DEFAULT_AUDIT_DB`] when neither is given). Both at once, or a URL the
    /// PostgreSQL client cannot use, is an error naming the flags.
    pub fn from_flags(audit_db: Option<PathBuf>, audit_url: Option<Secret>) -> Result<AuditLocation, ConfigError> {
        match (audit_db, audit_url) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                "--audit-db (MBGRPC_AUDIT_DB) and --audit-url (MBGRPC_AUDIT_URL)",
                "both are set; pass --audit-db PATH for SQLite on a single replica, or --audit-url postgres://... \
                 for PostgreSQL shared by several replicas",
            )),
            (_, Some(url)) => match crate::audit::check_postgres_url(url.expose()) {
                Ok(()) => Ok(AuditLocation::Postgres(url)),
                Err(error) => Err(ConfigError::new("--audit-url (MBGRPC_AUDIT_URL)", error.to_string())),
            },
            (audit_db, None) => Ok(AuditLocation::Sqlite(audit_db.unwrap_or_else(|| DEFAULT_AUDIT_DB.into()))),
        }
    }

    /// Sets the configuration's `audit_db` or `audit_url` to this location, clearing the other.
    pub fn apply(self, config: &mut GatewayConfig) {
        (config.audit_db, config.audit_url) = match self {
            AuditLocation::Sqlite(path) => (Some(path), None),
            AuditLocation::Postgres(url) => (None, Some(url)),
        };
    }
}

/// A configuration value is missing or invalid; the message says which and what would be valid.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// The flag or variable at fault.
    pub key: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl ConfigError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        ConfigError { key: key.into(), message: message.into() }
    }
}

/// The raw credential settings, as flags and variables give them.
#[derive(Debug, Clone, Default)]
pub struct CredentialSettings {
    /// `MBGRPC_METABASE_API_KEY`.
    pub api_key: Option<Secret>,
    /// `MBGRPC_METABASE_API_KEY_FILE`.
    pub api_key_file: Option<PathBuf>,
    /// `MBGRPC_METABASE_USERNAME`.
    pub username: Option<String>,
    /// `MBGRPC_METABASE_PASSWORD`.
    pub password: Option<Secret>,
    /// `MBGRPC_METABASE_PASSWORD_FILE`.
    pub password_file: Option<PathBuf>,
}

fn read_secret_file(key: &str, path: &PathBuf) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::new(key, format!("cannot read {}: {error}", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::new(key, format!("{} is empty", path.display())));
    }
    Ok(Secret::new(trimmed.to_owned()))
}

impl CredentialSettings {
    /// Reads the settings from a map of the environment (tests pass their own map).
    pub fn from_environment(environment: &HashMap<String, String>) -> Self {
        let get = |name: &str| environment.get(name).filter(|value| !value.is_empty()).cloned();
        CredentialSettings {
            api_key: get("MBGRPC_METABASE_API_KEY").map(Secret::new),
            api_key_file: get("MBGRPC_METABASE_API_KEY_FILE").map(PathBuf::from),
            username: get("MBGRPC_METABASE_USERNAME"),
            password: get("MBGRPC_METABASE_PASSWORD").map(Secret::new),
            password_file: get("MBGRPC_METABASE_PASSWORD_FILE").map(PathBuf::from),
        }
    }

    /// Resolves the credential: an API key first, else a username and password.
    pub fn resolve(&self) -> Result<Credential, ConfigError> {
        if let Some(key) = &self.api_key {
            return Ok(Credential::ApiKey(key.clone()));
        }
        if let Some(path) = &self.api_key_file {
            return Ok(Credential::ApiKey(read_secret_file("MBGRPC_METABASE_API_KEY_FILE", path)?));
        }
        if let Some(username) = &self.username {
            let password = match (&self.password, &self.password_file) {
                (Some(password), _) => password.clone(),
                (None, Some(path)) => read_secret_file("MBGRPC_METABASE_PASSWORD_FILE", path)?,
                (None, None) => {
                    return Err(ConfigError::new(
                        "MBGRPC_METABASE_PASSWORD",
                        "a username needs a password (MBGRPC_METABASE_PASSWORD or MBGRPC_METABASE_PASSWORD_FILE)",
                    ));
                }
            };
            return Ok(Credential::Session { username: username.clone(), password });
        }
        Err(ConfigError::new(
            "MBGRPC_METABASE_API_KEY",
            "no Metabase credential: set MBGRPC_METABASE_API_KEY (or MBGRPC_METABASE_API_KEY_FILE), \
             or MBGRPC_METABASE_USERNAME with MBGRPC_METABASE_PASSWORD",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_key_wins_and_a_username_needs_a_password() {
        let environment = HashMap::from([
            ("MBGRPC_METABASE_API_KEY".to_owned(), "mb_key_from_env".to_owned()),
            ("MBGRPC_METABASE_USERNAME".to_owned(), "a@example.com".to_owned()),
        ]);
        let credential = CredentialSettings::from_environment(&environment).resolve().unwrap();
        assert!(matches!(credential, Credential::ApiKey(_)));
        let only_user = HashMap::from([("MBGRPC_METABASE_USERNAME".to_owned(), "a@example.com".to_owned())]);
        let error = CredentialSettings::from_environment(&only_user).resolve().unwrap_err();
        assert_eq!(error.key, "MBGRPC_METABASE_PASSWORD");
        let error = CredentialSettings::default().resolve().unwrap_err();
        assert!(error.to_string().contains("no Metabase credential"), "{error}");
    }

    #[test]
    fn the_audit_store_is_the_url_or_the_file_and_never_both() {
        let file = PathBuf::from("/var/lib/audit.db");
        let url = || Some(Secret::new("postgres://auditor:s3cret@db:5432/audit"));
        assert!(matches!(
            AuditLocation::from_flags(None, None),
            Ok(AuditLocation::Sqlite(path)) if path.as_path() == std::path::Path::new(DEFAULT_AUDIT_DB)
        ));
        assert!(matches!(
            AuditLocation::from_flags(Some(file.clone()), None),
            Ok(AuditLocation::Sqlite(path)) if path == file
        ));
        let Ok(AuditLocation::Postgres(chosen)) = AuditLocation::from_flags(None, url()) else {
            panic!("a url chooses postgres");
        };
        assert_eq!(chosen.expose(), "postgres://auditor:s3cret@db:5432/audit");
        let both = AuditLocation::from_flags(Some(file), url()).unwrap_err();
        assert!(both.key.contains("--audit-db") && both.key.contains("--audit-url"), "{both}");
        assert!(!both.to_string().contains("s3cret"), "{both}");
        let mysql = AuditLocation::from_flags(None, Some(Secret::new("mysql://auditor:s3cret@db/audit"))).unwrap_err();
        assert_eq!(
            mysql.to_string(),
            "--audit-url (MBGRPC_AUDIT_URL): audit database url is invalid: \
             expected postgres://USER[:PASSWORD]@HOST:PORT/DATABASE"
        );
    }

    #[test]
    fn applying_an_audit_location_sets_one_field_and_clears_the_other() {
        let mut config = GatewayConfig::new(ClientConfig::new("http://127.0.0.1:1", Credential::api_key("key")));
        config.audit_db = Some("/tmp/old.db".into());
        AuditLocation::Postgres(Secret::new("postgres://auditor@db/audit")).apply(&mut config);
        assert_eq!(config.audit_db, None);
        assert_eq!(config.audit_url.as_ref().map(Secret::expose), Some("postgres://auditor@db/audit"));
        AuditLocation::Sqlite("/tmp/new.db".into()).apply(&mut config);
        assert_eq!(config.audit_db, Some(PathBuf::from("/tmp/new.db")));
        assert!(config.audit_url.is_none());
    }

    #[test]
    fn secrets_can_come_from_files_and_never_show_in_debug_output() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("key");
        std::fs::write(&path, "mb_secret_from_file\n").unwrap();
        let settings = CredentialSettings { api_key_file: Some(path), ..Default::default() };
        let credential = settings.resolve().unwrap();
        assert!(!format!("{credential:?}").contains("mb_secret_from_file"));
        match credential {
            Credential::ApiKey(secret) => assert_eq!(secret.expose(), "mb_secret_from_file"),
            Credential::Session { .. } => panic!("expected an api key"),
        }
    }
}
