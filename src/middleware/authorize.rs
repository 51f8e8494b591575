//! The authorize step: the policy's grant for the RPC, decided by the pure `authorize_with` under
//! the rule the rate step matched, and, when allowed, the handler's [`CallContext`] with the
//! Metabase client of the caller's own credential. Narrowing and query inspection happen in the
//! handlers, which know what a request touches.

use std::sync::Arc;

use http::{Request, Response};

use super::audit::CallAudit;
use super::call::CallContext;
use super::rate::MatchedRule;
use super::step::{Body, BoxFuture, Next, Step};
use super::{Access, status_response};
use crate::audit::Decision;
use crate::error::GatewayError;
use crate::identity::Identity;
use crate::policy::authorize_with;
use crate::rpcs::short_name;
use crate::telemetry::metrics::metrics;

/// The authorize step.
#[derive(Clone)]
pub(crate) struct AuthorizeStep(pub(crate) Arc<Access>);

impl Step for AuthorizeStep {
    fn handle<S, B>(&self, mut request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        let access = self.0.clone();
        Box::pin(async move {
            let extensions = request.extensions();
            let (Some(audit), Some(identity), Some(matched)) = (
                extensions.get::<Arc<CallAudit>>().cloned(),
                extensions.get::<Identity>().cloned(),
                extensions.get::<MatchedRule>().cloned(),
            ) else {
                return next.run(request).await;
            };
            let rpc = request.uri().path().to_owned();
            let MatchedRule { policy, rule } = matched;
            let decision = authorize_with(
                &policy,
                rule,
                &crate::policy::Request {
                    principal: &identity.principal,
                    rpc: &rpc,
                    native_sql: false,
                    collection: None,
                    database: None,
                },
            );
            let kind = match (decision.allowed, decision.enforced) {
                (true, _) => Decision::Allowed,
                (false, true) => Decision::Denied,
                (false, false) => Decision::DryRunDenied,
            };
            let capability = match audit.facts() {
                Some(facts) if facts.descriptor_grant => "descriptor",
                facts => facts.and_then(|facts| facts.capability).map_or("none", |capability| capability.as_str()),
            };
            metrics().decision(capability, kind.as_str());
            audit.decided(kind, decision.reason.clone());
            if kind == Decision::Denied {
                let message = format!("{} may not call {}: {}", identity.principal, short_name(&rpc), decision.reason);
                return Ok(status_response(GatewayError::PolicyDenied { message }));
            }
            let credential = rule.and_then(|index| policy.credential_for(index)).map(str::to_owned);
            let client = match access.clients.client(&policy, credential.as_deref()) {
                Ok(client) => client,
                Err(error) => return Ok(status_response(error)),
            };
            request.extensions_mut().insert(CallContext {
                identity,
                policy,
                rule,
                client,
                credential: credential.unwrap_or_else(|| "default".into()),
                dry_run: !decision.enforced,
                note: audit.note(),
            });
            next.run(request).await
        })
    }
}
