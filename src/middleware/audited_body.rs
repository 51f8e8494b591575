//! A response body that writes its call's audit event when the stream ends: with the status in
//! its trailers, or as cancelled when the caller goes away first.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};

use super::access::CallRecord;

/// Wraps a streaming response body and audits the call once it finishes.
pub struct AuditedBody {
    inner: tonic::body::Body,
    record: Option<CallRecord>,
}

impl AuditedBody {
    /// Returns the wrapped body.
    pub fn new(inner: tonic::body::Body, record: CallRecord) -> Self {
        AuditedBody { inner, record: Some(record) }
    }

    fn finish(&mut self, code: Code) {
        if let Some(record) = self.record.take() {
            tokio::spawn(record.finish(code, false));
        }
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
                    let code = super::access::grpc_status(trailers).unwrap_or(Code::Unknown);
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(status))) => {
                let code = status.code();
                self.finish(code);
            }
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

impl Drop for AuditedBody {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}
