//! Bounded work: a global limit on calls in flight (`--max-concurrent-calls`) and a per-principal
//! limit on open streams (the policy's `max_streams`), each answered RESOURCE_EXHAUSTED with a
//! `RetryInfo` rather than queued. A slot is held by the response body, so a stream counts until
//! it ends, however it ends.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;
use tonic::Status;

use super::audit::CallAudit;
use super::rate::MatchedRule;
use super::step::{Body, BoxFuture, Next, Step};
use super::{Access, status_response};
use crate::audit::Decision;
use crate::error::GatewayError;
use crate::identity::Identity;

/// When a caller refused by the global limit may try again: calls in flight are short.
const OVERLOADED_RETRY: Duration = Duration::from_millis(200);
/// When a caller at its stream limit may try again: streams last longer.
const STREAM_LIMIT_RETRY: Duration = Duration::from_secs(1);

/// The open streams of each principal.
#[derive(Debug, Default)]
pub(crate) struct OpenStreams {
    by_principal: Mutex<HashMap<String, u32>>,
}

/// One open stream of a principal; dropping it closes the stream's slot.
struct StreamSlot {
    access: Arc<Access>,
    principal: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.access.streams.by_principal.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.principal) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.principal);
            }
        }
    }
}

/// Takes a stream slot for `principal` if it has fewer than `limit` open.
fn open_stream(access: &Arc<Access>, principal: &str, limit: u32) -> Option<StreamSlot> {
    let mut open = access.streams.by_principal.lock().unwrap_or_else(PoisonError::into_inner);
    let count = open.entry(principal.to_owned()).or_default();
    if *count >= limit {
        return None;
    }
    *count += 1;
    Some(StreamSlot { access: access.clone(), principal: principal.to_owned() })
}

/// A response body that holds a slot (a permit, a stream slot) until the body is dropped.
struct Holding<T> {
    inner: Body,
    _slot: T,
}

impl<T: Send + Unpin + 'static> http_body::Body for Holding<T> {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Pin::new(&mut self.inner).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Returns the response with its body holding `slot`.
fn holding<T: Send + Unpin + 'static>(response: Response<Body>, slot: T) -> Response<Body> {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::new(Holding { inner: body, _slot: slot }))
}

/// The global limit on calls in flight.
#[derive(Clone)]
pub(crate) struct LoadStep(pub(crate) Arc<Access>);

impl Step for LoadStep {
    fn handle<S, B>(&self, request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        let calls = self.0.calls.clone();
        Box::pin(async move {
            let (Some(calls), Some(audit)) = (calls, request.extensions().get::<Arc<CallAudit>>().cloned()) else {
                return next.run(request).await;
            };
            let permit: OwnedSemaphorePermit = match calls.try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    let message = "the gateway has as many calls in flight as it may; try again shortly".to_owned();
                    audit.decided(Decision::Denied, message.clone());
                    return Ok(status_response(GatewayError::Overloaded {
                        reason: "OVERLOADED",
                        message,
                        retry_after: OVERLOADED_RETRY,
                    }));
                }
            };
            let response = next.run(request).await?;
            Ok(holding(response, permit))
        })
    }
}

/// The per-principal limit on open streams.
#[derive(Clone)]
pub(crate) struct StreamsStep(pub(crate) Arc<Access>);

impl Step for StreamsStep {
    fn handle<S, B>(&self, request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        let access = self.0.clone();
        Box::pin(async move {
            let audit = request.extensions().get::<Arc<CallAudit>>().cloned();
            let identity = request.extensions().get::<Identity>().cloned();
            let rule = request.extensions().get::<MatchedRule>().cloned();
            let (Some(audit), Some(identity), Some(rule)) = (audit, identity, rule) else {
                return next.run(request).await;
            };
            let limit = rule.rule.and_then(|index| rule.policy.rule(index)).and_then(|rule| rule.max_streams);
            let Some(limit) = limit.filter(|_| audit.streams()) else {
                return next.run(request).await;
            };
            let Some(slot) = open_stream(&access, &identity.principal, limit) else {
                let message =
                    format!("{} already has {limit} streams open, as many as its rule allows", identity.principal);
                audit.decided(Decision::Denied, message.clone());
                return Ok(status_response(GatewayError::Overloaded {
                    reason: "STREAM_LIMIT",
                    message,
                    retry_after: STREAM_LIMIT_RETRY,
                }));
            };
            let response = next.run(request).await?;
            Ok(holding(response, slot))
        })
    }
}
