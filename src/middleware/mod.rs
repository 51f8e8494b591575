//! The gateway's access path: one ordered stack of tower layers, one concern per layer and one file
//! per concern, built by [`access_path`]; plus the call context the path hands to handlers.

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod audited_body;
pub(crate) mod authorize;
pub(crate) mod call;
pub(crate) mod deadline;
pub(crate) mod identity;
pub(crate) mod load;
pub(crate) mod rate;
pub(crate) mod request_codes;
pub(crate) mod step;
pub(crate) mod trace;
pub(crate) mod write_ahead;

use std::sync::Arc;

use tower::ServiceBuilder;
use tower::layer::util::{Identity as NoLayer, Stack};

pub(crate) use self::access::{Access, ClientPool, code_name};
pub(crate) use self::access::{grpc_status, status_response};
use self::audit::AuditStep;
pub(crate) use self::audit::CallAudit;
pub use self::audit::OUTCOME_UNKNOWN;
use self::authorize::AuthorizeStep;
use self::deadline::DeadlineLayer;
use self::identity::IdentityStep;
pub(crate) use self::load::OpenStreams;
use self::load::{LoadStep, StreamsStep};
use self::rate::RateStep;
use self::request_codes::RequestCodesStep;
use self::step::StepLayer;
use self::trace::TraceStep;
use self::write_ahead::WriteAheadStep;

/// The access path's layers, outermost first.
pub(crate) type AccessPath = ServiceBuilder<
    Stack<
        StepLayer<RequestCodesStep>,
        Stack<
            StepLayer<WriteAheadStep>,
            Stack<
                StepLayer<StreamsStep>,
                Stack<
                    StepLayer<AuthorizeStep>,
                    Stack<
                        StepLayer<RateStep>,
                        Stack<
                            StepLayer<IdentityStep>,
                            Stack<
                                StepLayer<LoadStep>,
                                Stack<DeadlineLayer, Stack<StepLayer<AuditStep>, Stack<StepLayer<TraceStep>, NoLayer>>>,
                            >,
                        >,
                    >,
                >,
            >,
        >,
    >,
>;

/// Builds the access path every gateway RPC goes through, outermost first.
pub(crate) fn access_path(access: Arc<Access>) -> AccessPath {
    ServiceBuilder::new()
        // Trace: the server span comes first so every later step, and the handler's Metabase
        // requests, are inside it and carry the caller's trace id.
        .layer(StepLayer(TraceStep))
        // Audit: the guard of the call's event wraps everything below, so no ending (a refusal,
        // the deadline, the caller leaving, the shutdown) can skip the event.
        .layer(StepLayer(AuditStep(access.clone())))
        // Deadline: answers DEADLINE_EXCEEDED at the caller's deadline and drops the work below
        // it, including the Metabase request; inside the audit so that ending is recorded.
        .layer(DeadlineLayer)
        // Load: beyond the global limit on calls in flight, refuse at once, before any identity
        // work; inside the audit so the refusal is recorded.
        .layer(StepLayer(LoadStep(access.clone())))
        // Identity: who is calling, before any policy work; unidentified callers stop here.
        .layer(StepLayer(IdentityStep(access.clone())))
        // Rate: the caller's rates before authorization, so a caller over its rate costs little.
        .layer(StepLayer(RateStep(access.clone())))
        // Authorize: the policy's grant for the RPC, and the handler's context when allowed.
        .layer(StepLayer(AuthorizeStep(access.clone())))
        // Streams: the caller's open streams against its rule's `max_streams`, once the call is
        // allowed, so a denied call says PERMISSION_DENIED rather than RESOURCE_EXHAUSTED.
        .layer(StepLayer(StreamsStep(access)))
        // Write-ahead: a change's intent is durable before the handler sends it to Metabase.
        .layer(StepLayer(WriteAheadStep))
        // Request codes: undecodable or oversize requests are the caller's fault, so audited as such.
        .layer(StepLayer(RequestCodesStep))
}
