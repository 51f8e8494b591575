//! Owns the audit event of each call. The audit step, near the outside of the access path,
//! creates a [`CallAudit`] that the inner steps fill in (who called, what the policy decided,
//! what the handler touched) and an [`AuditGuard`] that completes it however the call ends: an
//! answer, an error status, the deadline, the caller going away, or the gateway shutting down.
//! Completion runs on drop, never after an `.await` that might not return.
//!
//! A call that changes Metabase has its intent made durable before anything is sent (see the
//! write-ahead step); its outcome replaces the intent under the same id, so after a crash the
//! trail still shows the attempt, with its outcome unknown.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use http::{Request, Response};
use tonic::Code;
use tracing::Instrument;

use super::audited_body::AuditedBody;
use super::call::AuditNote;
use super::step::{Body, BoxFuture, Next, Step};
use super::trace::CallSpan;
use super::{Access, code_name, grpc_status};
use crate::audit::{AuditEvent, Decision, log_event, name_query, sentence};
use crate::identity::Identity;
use crate::rpcs::{RpcFacts, facts_for};
use crate::telemetry::metrics::metrics;

/// The code an intent carries until its outcome replaces it: the gateway never learnt how the
/// change ended (it crashed, or the store lost the outcome).
pub const OUTCOME_UNKNOWN: &str = "OUTCOME_UNKNOWN";

/// Who the trail names before the caller is identified.
const UNIDENTIFIED: &str = "an unidentified caller";

struct CallState {
    identity: Option<Identity>,
    decision: (Decision, String),
    intent_written: bool,
}

/// The audit record of one call, shared by the steps of the access path and the guard.
pub(crate) struct CallAudit {
    access: Arc<Access>,
    rpc: String,
    facts: Option<&'static RpcFacts>,
    span: tracing::Span,
    trace_id: String,
    started: Instant,
    time: chrono::DateTime<chrono::Utc>,
    id: String,
    peer: Option<IpAddr>,
    deadline: Option<Instant>,
    state: Mutex<CallState>,
    note: Arc<Mutex<AuditNote>>,
    finished: AtomicBool,
    /// Set when the call ended without an answer (the guard completed it).
    vanished: AtomicBool,
}

impl CallAudit {
    /// Returns the note handlers fill in (resources, rows, parameters).
    pub(crate) fn note(&self) -> Arc<Mutex<AuditNote>> {
        self.note.clone()
    }

    /// Returns the caller's network address, when the listener knows it.
    pub(crate) fn peer(&self) -> Option<IpAddr> {
        self.peer
    }

    /// Returns the facts of the call's RPC from the table, if it is a gateway RPC.
    pub(crate) fn facts(&self) -> Option<&'static RpcFacts> {
        self.facts
    }

    /// Records who the caller is.
    pub(crate) fn identified(&self, identity: Identity) {
        self.span.record("caller.principal", identity.principal.as_str());
        self.lock().identity = Some(identity);
    }

    /// Reports whether the call's response is a stream.
    pub(crate) fn streams(&self) -> bool {
        self.facts.is_some_and(|facts| facts.streams)
    }

    /// Records what the policy (or a rate) decided and why.
    pub(crate) fn decided(&self, decision: Decision, reason: String) {
        self.lock().decision = (decision, reason);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CallState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Builds the event as the call stands, ended with `code`.
    fn event(&self, code: &str) -> AuditEvent {
        let note = self.note.lock().map(|note| note.clone()).unwrap_or_default();
        let state = self.lock();
        let (decision, reason) = note.denied.clone().unwrap_or_else(|| state.decision.clone());
        let (principal, identity_source) = state.identity.as_ref().map_or_else(
            || (UNIDENTIFIED.to_owned(), "none".to_owned()),
            |id| (id.principal.clone(), id.source.clone()),
        );
        drop(state);
        let duration_ms = self.started.elapsed().as_millis() as i64;
        let mut text = if code == OUTCOME_UNKNOWN {
            let action = sentence(&principal, &self.rpc, &note.resources, Decision::Denied, "", None, 0, code);
            let action = action.trim_end_matches(": denied").replacen(" tried to ", " began to ", 1);
            format!("{action}: {decision}, outcome unknown (the gateway never learnt how it ended)")
        } else {
            sentence(&principal, &self.rpc, &note.resources, decision, &reason, note.rows, duration_ms, code)
        };
        if let Some(query) = &note.query {
            text = name_query(&text, query);
        }
        if let Some(bytes) = note.bytes {
            text = crate::audit::name_bytes(&text, bytes);
        }
        if self.vanished.load(Ordering::SeqCst)
            && self.facts.is_some_and(|facts| facts.mutates)
            && self.lock().intent_written
        {
            text.push_str("; the change was sent to Metabase, which may have applied it");
        }
        AuditEvent {
            id: self.id.clone(),
            time: self.time,
            principal,
            identity_source,
            rpc: self.rpc.clone(),
            resources: note.resources,
            decision,
            reason,
            grpc_code: code.to_owned(),
            rows: note.rows,
            duration_ms,
            trace_id: self.trace_id.clone(),
            sentence: text,
            parameters: note.parameters.map(crate::audit::bounded_parameters),
        }
    }

    /// Makes the intent of a call that changes Metabase durable, before anything is sent.
    pub(crate) async fn write_intent(&self) -> Result<(), String> {
        let Some(writer) = self.access.audit.clone() else {
            return Ok(());
        };
        writer.record_durably(self.event(OUTCOME_UNKNOWN)).await?;
        self.lock().intent_written = true;
        Ok(())
    }

    /// Completes the event with the call's final code, once; waits for the commit of a call
    /// that changed Metabase, so its outcome is on disk before the answer leaves.
    pub(crate) async fn complete(&self, code: Code) {
        if let Some(committed) = self.finish(code) {
            let _ = committed.await;
        }
    }

    /// Completes the event without waiting (a guard's drop, a stream's end).
    pub(crate) fn complete_detached(&self, code: Code) {
        let _ = self.finish(code);
    }

    /// Completes the event of a call the shutdown cut.
    pub(crate) fn cut_by_shutdown(&self) {
        self.vanished.store(true, Ordering::SeqCst);
        self.complete_detached(Code::Unavailable);
    }

    fn finish(&self, code: Code) -> Option<crate::audit::Committed> {
        if self.finished.swap(true, Ordering::SeqCst) {
            return None;
        }
        if let Ok(mut calls) = self.access.in_flight.lock() {
            calls.remove(&self.id);
        }
        let name = code_name(code);
        let event = self.event(name);
        self.span.record("rpc.grpc.status_code", code as i32);
        if super::trace::server_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        if let Some(rows) = event.rows {
            self.span.record("rows", rows);
            metrics().rows(u64::try_from(rows).unwrap_or_default());
        }
        if let Some(cause) = self.note.lock().ok().and_then(|note| note.limit_cause) {
            self.span.record("limit_cause", cause);
        }
        metrics().rpc(&self.rpc, name, self.started.elapsed().as_secs_f64());
        log_event(&event);
        let writer = self.access.audit.clone()?;
        let durable = self.lock().intent_written || self.facts.is_some_and(|facts| facts.mutates);
        if durable {
            return Some(writer.record_durably_now(event));
        }
        match &self.access.floods {
            Some(floods) if event.decision == Decision::Denied => floods.record(&writer, event, self.peer),
            _ => writer.record(event),
        }
        None
    }

    /// The code of a call that ended without an answer: the deadline, the shutdown, or the
    /// caller going away.
    fn vanished_code(&self) -> Code {
        if self.access.shutting_down.load(Ordering::SeqCst) {
            Code::Unavailable
        } else if self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            Code::DeadlineExceeded
        } else {
            Code::Cancelled
        }
    }
}

/// Completes its call's audit event when dropped, if nothing completed it first.
pub(crate) struct AuditGuard(pub(crate) Arc<CallAudit>);

impl Drop for AuditGuard {
    fn drop(&mut self) {
        if self.0.finished.load(Ordering::SeqCst) {
            return;
        }
        let code = self.0.vanished_code();
        self.0.vanished.store(true, Ordering::SeqCst);
        self.0.complete_detached(code);
    }
}

/// The audit step: one guarded event per gateway call.
#[derive(Clone)]
pub(crate) struct AuditStep(pub(crate) Arc<Access>);

fn peer_address<B>(request: &Request<B>) -> Option<IpAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|info| info.get_ref().remote_addr()))
        .map(|address| address.ip())
}

impl Step for AuditStep {
    fn handle<S, B>(&self, mut request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        let access = self.0.clone();
        Box::pin(async move {
            let rpc = request.uri().path().to_owned();
            let Some(call_span) = request.extensions().get::<CallSpan>().cloned() else {
                return next.run(request).await;
            };
            let deadline = request
                .headers()
                .get("grpc-timeout")
                .and_then(|value| value.to_str().ok())
                .and_then(super::deadline::parse_grpc_timeout)
                .map(|timeout| Instant::now() + timeout);
            let audit = Arc::new(CallAudit {
                access,
                facts: facts_for(&rpc),
                rpc,
                span: call_span.span.clone(),
                trace_id: call_span.trace_id.clone(),
                started: Instant::now(),
                time: chrono::Utc::now(),
                id: crate::audit::event_id(),
                peer: peer_address(&request),
                deadline,
                state: Mutex::new(CallState {
                    identity: None,
                    decision: (Decision::Denied, String::new()),
                    intent_written: false,
                }),
                note: Arc::new(Mutex::new(AuditNote::default())),
                finished: AtomicBool::new(false),
                vanished: AtomicBool::new(false),
            });
            if let Ok(mut calls) = audit.access.in_flight.lock() {
                calls.insert(audit.id.clone(), Arc::downgrade(&audit));
            }
            let guard = AuditGuard(audit.clone());
            request.extensions_mut().insert(audit.clone());
            let response = next.run(request).instrument(call_span.span).await?;
            if let Some(code) = grpc_status(response.headers()) {
                // Past the deadline the caller is no longer waiting: the answer goes at once and
                // the event is still committed behind it.
                if code == Code::DeadlineExceeded {
                    // The handler was dropped mid-way, as when the caller leaves.
                    audit.vanished.store(true, Ordering::SeqCst);
                    audit.complete_detached(code);
                } else {
                    audit.complete(code).await;
                }
                return Ok(response);
            }
            if audit.facts.is_some_and(|facts| facts.streams) {
                let (parts, body) = response.into_parts();
                return Ok(Response::from_parts(parts, Body::new(AuditedBody::new(body, guard))));
            }
            audit.complete(Code::Ok).await;
            Ok(response)
        })
    }
}
