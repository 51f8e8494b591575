//! The rate step: the caller's policy rule, matched once, and its request rates (the principal's
//! own `rate` and the rule's shared `rule_rate`). It sits before authorization so a caller over
//! its rate costs no policy work; the matched rule travels on for the authorize step.

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response};

use super::audit::CallAudit;
use super::step::{Body, BoxFuture, Next, Step};
use super::{Access, status_response};
use crate::audit::Decision;
use crate::error::GatewayError;
use crate::identity::Identity;
use crate::policy::Policy;

/// The policy in force when the call arrived and the index of the rule that matched its caller.
#[derive(Clone)]
pub(crate) struct MatchedRule {
    pub(crate) policy: Arc<Policy>,
    pub(crate) rule: Option<usize>,
}

/// The rate step.
#[derive(Clone)]
pub(crate) struct RateStep(pub(crate) Arc<Access>);

impl Step for RateStep {
    fn handle<S, B>(&self, mut request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        let access = self.0.clone();
        Box::pin(async move {
            let (Some(audit), Some(identity)) = (
                request.extensions().get::<Arc<CallAudit>>().cloned(),
                request.extensions().get::<Identity>().cloned(),
            ) else {
                return next.run(request).await;
            };
            let policy = access.policy.current();
            let rule = policy.matching_rule(&identity.principal);
            if let Some(index) = rule
                && let Err(exceeded) =
                    access.limiter.check_call(policy.call_rates(index, &identity.principal), Instant::now())
            {
                audit.decided(Decision::Denied, exceeded.reason());
                let message = exceeded.message(&identity.principal);
                return Ok(status_response(GatewayError::RateLimited { message }));
            }
            request.extensions_mut().insert(MatchedRule { policy, rule });
            next.run(request).await
        })
    }
}
