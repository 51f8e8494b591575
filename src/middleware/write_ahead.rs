//! The write-ahead step, innermost: for an RPC that changes Metabase, the call's intent is made
//! durable in the audit trail before the handler sends anything. When the trail cannot take it,
//! the change is refused with UNAVAILABLE (fail closed): no change reaches Metabase unrecorded.

use std::sync::Arc;

use http::{Request, Response};

use super::audit::CallAudit;
use super::status_response;
use super::step::{Body, BoxFuture, Next, Step};
use crate::error::GatewayError;

/// The write-ahead step.
#[derive(Clone, Copy, Default)]
pub(crate) struct WriteAheadStep;

impl Step for WriteAheadStep {
    fn handle<S, B>(&self, request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        Box::pin(async move {
            let audit = request.extensions().get::<Arc<CallAudit>>().cloned();
            if let Some(audit) = audit.filter(|audit| audit.facts().is_some_and(|facts| facts.mutates))
                && let Err(message) = audit.write_intent().await
            {
                tracing::error!(error = %message, "a change was refused: its intent could not be recorded");
                return Ok(status_response(GatewayError::AuditUnavailable));
            }
            next.run(request).await
        })
    }
}
