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
    /// The audit database; none keeps audit events in the log only.
    pub audit_db: Option<PathBuf>,
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
            environment: HashMap::new(),
            admin_listen: None,
            metrics_registry: None,
            health_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(20),
            max_request_bytes: 4 * 1024 * 1024,
            peer_rate: None,
        }
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
