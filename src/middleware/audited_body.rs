//! A response body that completes its call's audit event when the stream ends: with the status in
//! its trailers, or, through the guard's drop, as cancelled, past its deadline, or cut by the
//! shutdown when it ends any other way.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};

use super::audit::AuditGuard;

/// Wraps a streaming response body and audits the call once it finishes.
pub(crate) struct AuditedBody {
    inner: tonic::body::Body,
    guard: AuditGuard,
}

impl AuditedBody {
    /// Returns the wrapped body; the guard completes the call's event.
    pub(crate) fn new(inner: tonic::body::Body, guard: AuditGuard) -> Self {
        AuditedBody { inner, guard }
    }

    fn finish(&self, code: Code) {
        self.guard.0.complete_detached(code);
    }
}

impl Body for AuditedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    self.finish(super::grpc_status(trailers).unwrap_or(Code::Unknown));
                }
            }
            Poll::Ready(Some(Err(status))) => self.finish(status.code()),
            Poll::Ready(None) => self.finish(Code::Ok),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
