//! What the access path shares: the callers' Metabase clients ([`ClientPool`]), everything the
//! steps need ([`Access`]), and the helpers that read and write gRPC statuses.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use http::Response;
use tonic::Code;

use crate::audit::{AuditWriter, Floods};
use crate::error::GatewayError;
use crate::identity::IdentitySource;
use crate::metabase::{ClientConfig, MetabaseClient};
use crate::policy::{CredentialSpec, Policy, PolicyStore, Rate, RateLimiter};

/// The Metabase clients of the callers' credentials, built on first use and rebuilt when what
/// they were built from changes: the credential's spec in a reloaded policy, or the modified time
/// or length of one of its secret files. The stale client is dropped, so a rotated or revoked key
/// stops being sent for new calls without a restart.
pub(crate) struct ClientPool {
    default: MetabaseClient,
    template: ClientConfig,
    environment: HashMap<String, String>,
    named: RwLock<HashMap<String, NamedClient>>,
}

/// A credential's client and what it was built from.
struct NamedClient {
    spec: CredentialSpec,
    files: Vec<(String, Option<FileStamp>)>,
    client: MetabaseClient,
}

/// What a secret file looked like when its client was built; a change means it was rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    length: u64,
}

impl FileStamp {
    fn of(path: &str) -> Option<FileStamp> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(FileStamp { modified: metadata.modified().ok(), length: metadata.len() })
    }
}

/// Returns each secret file of a spec with its current stamp.
fn stamped_files(spec: &CredentialSpec) -> Vec<(String, Option<FileStamp>)> {
    [&spec.api_key_file, &spec.password_file]
        .into_iter()
        .flatten()
        .map(|path| (path.clone(), FileStamp::of(path)))
        .collect()
}

impl NamedClient {
    /// Reports whether the client still matches the policy's spec and the secret files on disk
    /// (one `stat` per file: cheap enough for every call).
    fn is_current(&self, spec: &CredentialSpec) -> bool {
        self.spec == *spec && self.files.iter().all(|(path, stamp)| FileStamp::of(path) == *stamp)
    }
}

impl ClientPool {
    /// Returns a pool whose default is the gateway's own credential; named credentials are read
    /// from `environment` and files as the policy describes them.
    pub(crate) fn new(default: MetabaseClient, template: ClientConfig, environment: HashMap<String, String>) -> Self {
        ClientPool { default, template, environment, named: RwLock::new(HashMap::new()) }
    }

    /// Returns the client for a credential name, or the default for none.
    pub(crate) fn client(&self, policy: &Policy, name: Option<&str>) -> Result<MetabaseClient, GatewayError> {
        let Some(name) = name else {
            return Ok(self.default.clone());
        };
        let unusable = |error: &dyn std::fmt::Display| GatewayError::Internal {
            message: format!("credential {name} cannot be used: {error}"),
        };
        let spec = policy.file().credentials.get(name);
        if let Some(spec) = spec {
            let named = self.named.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cached) = named.get(name).filter(|cached| cached.is_current(spec)) {
                return Ok(cached.client.clone());
            }
        }
        // Stamped before reading, so a file rewritten while it is read is read again next time.
        let files = spec.map(stamped_files).unwrap_or_default();
        let resolved = policy.resolve_credential(name, &self.environment).map_err(|error| {
            self.forget(name);
            unusable(&error)
        })?;
        let mut config = self.template.clone();
        config.credential = resolved;
        let client = self.default.sibling(config).map_err(|error| {
            self.forget(name);
            unusable(&error)
        })?;
        if let Some(spec) = spec {
            let fresh = NamedClient { spec: spec.clone(), files, client: client.clone() };
            self.named.write().unwrap_or_else(PoisonError::into_inner).insert(name.to_owned(), fresh);
        }
        Ok(client)
    }

    /// Drops the client of a credential that can no longer be resolved.
    fn forget(&self, name: &str) {
        self.named.write().unwrap_or_else(PoisonError::into_inner).remove(name);
    }
}

/// Everything the access layer needs.
pub(crate) struct Access {
    /// Identity sources, tried in order; none means every caller is `anonymous` (`--allow-all`).
    pub sources: Vec<IdentitySource>,
    /// The policy, reloaded when its file changes.
    pub policy: Arc<PolicyStore>,
    /// Request rates, per principal and per rule.
    pub limiter: RateLimiter,
    /// The callers' Metabase clients.
    pub clients: Arc<ClientPool>,
    /// Where audit events are written (they are always logged too).
    pub audit: Option<Arc<AuditWriter>>,
    /// Folds floods of refusals into summary events, when the trail is kept.
    pub floods: Option<Arc<Floods>>,
    /// The request rate each peer address gets before it is identified, if limited.
    pub peer_rate: Option<Rate>,
    /// Set once the gateway begins to shut down, so calls it cuts say so in the trail.
    pub shutting_down: std::sync::atomic::AtomicBool,
    /// The audit records of calls in flight, by event id, so the shutdown can complete them.
    pub in_flight: std::sync::Mutex<HashMap<String, std::sync::Weak<super::CallAudit>>>,
    /// The slots of the global limit on calls in flight, if limited.
    pub calls: Option<Arc<tokio::sync::Semaphore>>,
    /// The open streams of each principal, for the policy's `max_streams`.
    pub streams: super::OpenStreams,
}

impl Access {
    /// Completes the audit event of every call still in flight as cut by the shutdown
    /// (UNAVAILABLE, with the rows sent so far); returns how many there were.
    pub(crate) fn cut_calls_in_flight(&self) -> usize {
        self.shutting_down.store(true, std::sync::atomic::Ordering::SeqCst);
        let calls: Vec<_> = self
            .in_flight
            .lock()
            .map(|mut calls| calls.drain().filter_map(|(_, call)| call.upgrade()).collect())
            .unwrap_or_default();
        for call in &calls {
            call.cut_by_shutdown();
        }
        calls.len()
    }
}

/// Returns a status code's canonical name, as audit events record it.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Answers a call with a gateway error's status.
pub(crate) fn status_response(error: GatewayError) -> Response<tonic::body::Body> {
    tonic::Status::from(error).into_http()
}

/// Reads the `grpc-status` of response headers or trailers.
pub(crate) fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(Code::from_i32(value))
}
