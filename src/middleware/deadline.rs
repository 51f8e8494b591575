//! Enforces the caller's gRPC deadline (`grpc-timeout`) with `DEADLINE_EXCEEDED` and an
//! `ErrorInfo`, where tonic on its own answers `CANCELLED`. Dropping the handler's future drops
//! its Metabase request, so an expired call stops upstream work at once.
//!
//! tonic's own timeout wraps every user layer and fires at the deadline itself, so this layer
//! fires a little earlier (the smaller of 10 ms and 10% of the budget) to answer first. The
//! deadline is also put in the request extensions for streaming handlers, whose streams outlive
//! the call future, and handed to the Metabase client, which retries only within it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use tower::{Layer, Service};

use crate::error::GatewayError;

/// When the caller's deadline passes, for handlers that must bound work themselves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(pub Instant);

/// Parses a `grpc-timeout` header value such as `250m` or `3S`.
pub(crate) fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Adds [`DeadlineService`] around a service.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService { inner }
    }
}

/// Answers `DEADLINE_EXCEEDED` when the caller's deadline passes before the handler answers.
#[derive(Debug, Clone)]
pub(crate) struct DeadlineService<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

impl<S, RequestBody> Service<Request<RequestBody>> for DeadlineService<S>
where
    S: Service<Request<RequestBody>, Response = Response<tonic::body::Body>> + Send + 'static,
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
        let budget =
            request.headers().get("grpc-timeout").and_then(|value| value.to_str().ok()).and_then(parse_grpc_timeout);
        let Some(budget) = budget else {
            return Box::pin(self.inner.call(request));
        };
        let deadline = Instant::now() + budget;
        request.extensions_mut().insert(Deadline(deadline));
        let margin = (budget / 10).min(Duration::from_millis(10));
        // The Metabase client retries only while a retry can still answer before this layer does.
        let future = crate::metabase::deadline::within(deadline - margin, self.inner.call(request));
        Box::pin(async move {
            match tokio::time::timeout(budget.saturating_sub(margin), future).await {
                Ok(result) => result,
                Err(_) => Ok(tonic::Status::from(GatewayError::DeadlineExceeded).into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_headers_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("1000u"), Some(Duration::from_millis(1)));
        assert_eq!(parse_grpc_timeout("12x"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
    }
}
