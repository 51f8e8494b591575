//! The tower plumbing every layer of the access path shares, written once: a [`Step`] is one
//! concern of the path as an async function from a request and the rest of the stack to a
//! response, and [`StepLayer`] makes it a tower layer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};

/// A boxed, sendable future.
pub(crate) type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// The response body every gateway layer answers with.
pub(crate) type Body = tonic::body::Body;

/// The rest of the stack, as a step sees it: call it at most once.
pub(crate) struct Next<S> {
    inner: S,
}

impl<S> Next<S> {
    /// Passes the request on to the next layer and returns its response.
    pub(crate) async fn run<B>(mut self, request: Request<B>) -> Result<Response<Body>, S::Error>
    where
        S: Service<Request<B>, Response = Response<Body>>,
    {
        self.inner.call(request).await
    }
}

/// One concern of the access path.
pub(crate) trait Step: Clone + Send + Sync + 'static {
    /// Handles one request, passing it on through `next` or answering it itself.
    fn handle<S, B>(&self, request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static;
}

/// A [`Step`] as a tower layer.
#[derive(Clone)]
pub(crate) struct StepLayer<T>(pub(crate) T);

impl<T: Step, S> Layer<S> for StepLayer<T> {
    type Service = StepService<T, S>;

    fn layer(&self, inner: S) -> Self::Service {
        StepService { step: self.0.clone(), inner }
    }
}

/// A [`Step`] around the rest of the stack.
#[derive(Clone)]
pub(crate) struct StepService<T, S> {
    step: T,
    inner: S,
}

impl<T, S, B> Service<Request<B>> for StepService<T, S>
where
    T: Step,
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Response<Body>, S::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service that was polled ready is the one that serves this call; a fresh clone
        // waits for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        self.step.handle(request, Next { inner })
    }
}
