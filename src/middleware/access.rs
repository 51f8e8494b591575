//! The access layer: for each gateway RPC it identifies the caller, applies its request rates and
//! the policy's grant for the RPC, hands the handler a [`CallContext`] with the caller's own
//! Metabase client, and records one audit event per call. An event for a call that changes
//! Metabase is committed before the response leaves; a stream's event is written when it ends.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use opentelemetry::trace::TraceContextExt;
use tonic::Code;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::audited_body::AuditedBody;
use super::call::{AuditNote, CallContext};
use crate::audit::{AuditEvent, AuditStore, Decision as AuditDecision, log_event, sentence};
use crate::error::GatewayError;
use crate::identity::{Identity, IdentitySource, identify};
use crate::metabase::{ClientConfig, MetabaseClient};
use crate::policy::{Policy, PolicyStore, RateLimiter, authorize};
use crate::rpcs::{facts_for, short_name};
use crate::telemetry::metrics::metrics;

/// The Metabase clients of the callers' credentials, built on first use.
pub struct ClientPool {
    default: MetabaseClient,
    template: ClientConfig,
    environment: HashMap<String, String>,
    named: RwLock<HashMap<String, MetabaseClient>>,
}

impl ClientPool {
    /// Returns a pool whose default is the gateway's own credential; named credentials are read
    /// from `environment` and files as the policy describes them.
    pub fn new(default: MetabaseClient, template: ClientConfig, environment: HashMap<String, String>) -> Self {
        ClientPool { default, template, environment, named: RwLock::new(HashMap::new()) }
    }

    /// Returns the client for a credential name, or the default for none.
    pub fn client(&self, policy: &Policy, name: Option<&str>) -> Result<MetabaseClient, GatewayError> {
        let Some(name) = name else {
            return Ok(self.default.clone());
        };
        if let Some(client) = self.named.read().ok().and_then(|named| named.get(name).cloned()) {
            return Ok(client);
        }
        let credential = policy.resolve_credential(name, &self.environment).map_err(|error| {
            GatewayError::Internal { message: format!("credential {name} cannot be used: {error}") }
        })?;
        let mut config = self.template.clone();
        config.credential = credential;
        let client = MetabaseClient::new(config).map_err(|error| GatewayError::Internal {
            message: format!("credential {name} cannot be used: {error}"),
        })?;
        if let Ok(mut named) = self.named.write() {
            named.insert(name.to_owned(), client.clone());
        }
        Ok(client)
    }

    /// Returns the default client.
    pub fn default_client(&self) -> &MetabaseClient {
        &self.default
    }
}

/// Everything the access layer needs.
pub struct Access {
    /// Identity sources, tried in order; none means every caller is `anonymous` (`--allow-all`).
    pub sources: Vec<IdentitySource>,
    /// The policy, reloaded when its file changes.
    pub policy: Arc<PolicyStore>,
    /// Request rates, per principal and per rule.
    pub limiter: RateLimiter,
    /// The callers' Metabase clients.
    pub clients: Arc<ClientPool>,
    /// Where audit events are stored (they are always logged too).
    pub audit: Option<Arc<AuditStore>>,
}

/// Adds [`AccessService`] around the gRPC router.
#[derive(Clone)]
pub struct AccessLayer(pub Arc<Access>);

impl<S> Layer<S> for AccessLayer {
    type Service = AccessService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessService { inner, access: self.0.clone() }
    }
}

/// Identifies, authorises and audits each gateway call.
#[derive(Clone)]
pub struct AccessService<S> {
    inner: S,
    access: Arc<Access>,
}

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

/// Returns the trace id of a W3C `traceparent` header.
pub fn trace_id(headers: &http::HeaderMap) -> String {
    headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split('-').nth(1))
        .filter(|id| id.len() == 32)
        .unwrap_or_default()
        .to_owned()
}

fn peer_certificates<B>(request: &Request<B>) -> Option<Vec<Vec<u8>>> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let info = request.extensions().get::<TlsConnectInfo<TcpConnectInfo>>()?;
    info.peer_certs().map(|certificates| certificates.iter().map(|certificate| certificate.to_vec()).collect())
}

/// Returns whether a code marks a server span as failed (the RPC semantic conventions).
fn server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// Returns the server span of one RPC, parented from the caller's W3C trace context, and its
/// trace id when the span has a valid OpenTelemetry context.
fn server_span<B>(request: &Request<B>, rpc: &str) -> (tracing::Span, Option<String>) {
    let name = rpc.trim_start_matches('/');
    let (service, method) = name.split_once('/').unwrap_or((name, ""));
    let authority = request
        .headers()
        .get("host")
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(|authority| authority.as_str()))
        .unwrap_or_default();
    let (host, port) = authority
        .rsplit_once(':')
        .map_or((authority, 0), |(host, port)| (host, port.parse::<u16>().unwrap_or_default()));
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        server.address = host,
        server.port = port,
        caller.principal = tracing::field::Empty,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        rows = tracing::field::Empty,
        limit_cause = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    let _ = span.set_parent(crate::telemetry::propagation::extract(request.headers()));
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if !span_context.is_valid() {
        return (span, None);
    }
    let trace_id = span_context.trace_id().to_string();
    span.record("trace_id", trace_id.as_str());
    span.record("span_id", span_context.span_id().to_string());
    (span, Some(trace_id))
}

/// Returns a status code's canonical name, as audit events record it.
pub fn code_name(code: Code) -> &'static str {
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

/// One call's facts, gathered for its audit event.
#[derive(Clone)]
pub struct CallRecord {
    access: Arc<Access>,
    span: tracing::Span,
    identity: Identity,
    rpc: String,
    trace_id: String,
    started: Instant,
    decision: (AuditDecision, String),
    note: Arc<Mutex<AuditNote>>,
}

impl CallRecord {
    /// Builds and stores the event; waits for the store when `durable` (calls that change
    /// Metabase), else stores it in the background.
    pub async fn finish(self, code: Code, durable: bool) {
        let note = self.note.lock().map(|mut note| std::mem::take(&mut *note)).unwrap_or_default();
        let (decision, reason) = note.denied.clone().unwrap_or(self.decision.clone());
        let duration_ms = self.started.elapsed().as_millis() as i64;
        let grpc_code = code_name(code);
        self.span.record("rpc.grpc.status_code", code as i32);
        if server_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        if let Some(rows) = note.rows {
            self.span.record("rows", rows);
            metrics().rows(u64::try_from(rows).unwrap_or_default());
        }
        if let Some(cause) = note.limit_cause {
            self.span.record("limit_cause", cause);
        }
        metrics().rpc(&self.rpc, grpc_code, self.started.elapsed().as_secs_f64());
        let sentence = sentence(
            &self.identity.principal,
            &self.rpc,
            &note.resources,
            decision,
            &reason,
            note.rows,
            duration_ms,
            grpc_code,
        );
        let sentence = match &note.query {
            Some(query) => crate::audit::name_query(&sentence, query),
            None => sentence,
        };
        let event = AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            time: chrono::Utc::now(),
            principal: self.identity.principal.clone(),
            identity_source: self.identity.source.clone(),
            rpc: self.rpc.clone(),
            resources: note.resources,
            decision,
            reason,
            grpc_code: grpc_code.to_owned(),
            rows: note.rows,
            duration_ms,
            trace_id: self.trace_id.clone(),
            sentence,
            parameters: note.parameters,
        };
        log_event(&event);
        let Some(store) = self.access.audit.clone() else {
            return;
        };
        let write = tokio::task::spawn_blocking(move || {
            if let Err(error) = store.record(&event) {
                tracing::error!(%error, "audit event could not be stored");
            }
        });
        if durable {
            let _ = write.await;
        }
    }
}

fn status_response(error: GatewayError) -> Response<tonic::body::Body> {
    tonic::Status::from(error).into_http()
}

fn response_code<B>(response: &Response<B>) -> Option<Code> {
    grpc_status(response.headers())
}

/// Reads the `grpc-status` of response headers or trailers.
pub(super) fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(Code::from_i32(value))
}

impl<S, RequestBody> Service<Request<RequestBody>> for AccessService<S>
where
    S: Service<Request<RequestBody>, Response = Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RequestBody: Send + 'static,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request<RequestBody>) -> Self::Future {
        let access = self.access.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let rpc = request.uri().path().to_owned();
            if !rpc.starts_with("/metabase.gateway.v1.") {
                return inner.call(request).await;
            }
            let started = Instant::now();
            let (span, span_trace_id) = server_span(&request, &rpc);
            let call_trace_id = span_trace_id.unwrap_or_else(|| trace_id(request.headers()));
            let certificates = peer_certificates(&request);
            let identity = if access.sources.is_empty() {
                Ok(Identity { principal: "anonymous".into(), source: "none".into() })
            } else {
                identify(&access.sources, request.headers(), certificates.as_deref())
            };
            let note = Arc::new(Mutex::new(AuditNote::default()));
            let record = |identity: Identity, decision: (AuditDecision, String)| CallRecord {
                access: access.clone(),
                span: span.clone(),
                identity,
                rpc: rpc.clone(),
                trace_id: call_trace_id.clone(),
                started,
                decision,
                note: note.clone(),
            };
            let identity = match identity {
                Ok(identity) => identity,
                Err(error) => {
                    let reason = error.to_string();
                    let unidentified = Identity { principal: "an unidentified caller".into(), source: "none".into() };
                    record(unidentified, (AuditDecision::Denied, reason.clone()))
                        .finish(Code::Unauthenticated, false)
                        .await;
                    return Ok(status_response(GatewayError::Unauthenticated { reason }));
                }
            };
            span.record("caller.principal", identity.principal.as_str());
            let policy = access.policy.current();
            let decision = authorize(
                &policy,
                &crate::policy::Request {
                    principal: &identity.principal,
                    rpc: &rpc,
                    native_sql: false,
                    collection: None,
                    database: None,
                },
            );
            let rule = decision.rule;
            let rpc_facts = facts_for(&rpc);
            let capability =
                rpc_facts.and_then(|facts| facts.capability).map_or("none", |capability| capability.as_str());
            let kind = match (decision.allowed, decision.enforced) {
                (true, _) => AuditDecision::Allowed,
                (false, true) => AuditDecision::Denied,
                (false, false) => AuditDecision::DryRunDenied,
            };
            metrics().decision(capability, kind.as_str());
            if let Some(index) = rule
                && let Err(exceeded) =
                    access.limiter.check_call(policy.call_rates(index, &identity.principal), Instant::now())
            {
                record(identity.clone(), (AuditDecision::Denied, exceeded.reason()))
                    .finish(Code::ResourceExhausted, false)
                    .await;
                let message = exceeded.message(&identity.principal);
                return Ok(status_response(GatewayError::RateLimited { message }));
            }
            let reason = decision.reason.clone();
            if kind == AuditDecision::Denied {
                record(identity.clone(), (kind, reason.clone())).finish(Code::PermissionDenied, false).await;
                return Ok(status_response(GatewayError::PolicyDenied {
                    message: format!("{} may not call {}: {reason}", identity.principal, short_name(&rpc)),
                }));
            }
            let audit_decision = (kind, reason);
            let credential = rule.and_then(|index| policy.credential_for(index)).map(str::to_owned);
            let client = match access.clients.client(&policy, credential.as_deref()) {
                Ok(client) => client,
                Err(error) => {
                    record(identity.clone(), audit_decision.clone()).finish(Code::Internal, false).await;
                    return Ok(status_response(error));
                }
            };
            let mutates = rpc_facts.is_some_and(|facts| facts.mutates);
            let streaming = rpc_facts.is_some_and(|facts| facts.streams);
            request.extensions_mut().insert(CallContext {
                identity: identity.clone(),
                policy: policy.clone(),
                rule,
                client,
                credential: credential.unwrap_or_else(|| "default".into()),
                dry_run: !decision.enforced,
                note: note.clone(),
            });
            let call_record = record(identity, audit_decision);
            let response = inner.call(request).instrument(span.clone()).await?;
            if let Some(code) = response_code(&response) {
                call_record.finish(code, mutates).await;
                return Ok(response);
            }
            if streaming {
                let (parts, body) = response.into_parts();
                return Ok(Response::from_parts(parts, tonic::body::Body::new(AuditedBody::new(body, call_record))));
            }
            call_record.finish(Code::Ok, mutates).await;
            Ok(response)
        })
    }
}
