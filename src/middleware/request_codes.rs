//! The request-codes step, innermost: tonic answers a request body it cannot decode with INTERNAL
//! and one over the size limit with OUT_OF_RANGE, as if the gateway had failed. Both are the
//! caller's fault, so this step turns them into INVALID_ARGUMENT and RESOURCE_EXHAUSTED (with the
//! gateway's `ErrorInfo`) before the audit step records the call's code.

use http::{Request, Response};
use tonic::{Code, Status};

use super::step::{Body, BoxFuture, Next, Step};
use super::{grpc_status, status_response};
use crate::error::GatewayError;

/// How tonic's message for an undecodable protobuf body begins (prost's `DecodeError`).
const UNDECODABLE: &str = "failed to decode Protobuf message";
/// How tonic's message for a request over the decoding limit begins.
const TOO_LARGE: &str = "Error, decoded message length too large";

/// The request-codes step.
#[derive(Clone, Copy, Default)]
pub(crate) struct RequestCodesStep;

impl Step for RequestCodesStep {
    fn handle<S, B>(&self, request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        Box::pin(async move { Ok(corrected(next.run(request).await?)) })
    }
}

/// Returns the response with a decoding failure's code corrected; any other response unchanged.
fn corrected(response: Response<Body>) -> Response<Body> {
    if !matches!(grpc_status(response.headers()), Some(Code::Internal | Code::OutOfRange)) {
        return response;
    }
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    match status.code() {
        Code::Internal if status.message().starts_with(UNDECODABLE) => status_response(GatewayError::invalid_argument(
            "request",
            "the request message is not a valid protobuf encoding of its type",
        )),
        Code::OutOfRange if status.message().starts_with(TOO_LARGE) => {
            status_response(GatewayError::RequestTooLarge { limit_bytes: limit_of(status.message()) })
        }
        _ => response,
    }
}

/// Reads the limit out of tonic's message ("... the limit is: 4194304 bytes").
fn limit_of(message: &str) -> Option<u64> {
    let (_, after) = message.rsplit_once("the limit is: ")?;
    after.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::access::code_name;

    fn tonic_answer(status: Status) -> Response<Body> {
        status.into_http()
    }

    fn code_of(response: &Response<Body>) -> &'static str {
        code_name(grpc_status(response.headers()).expect("a grpc-status"))
    }

    #[test]
    fn decoding_failures_become_the_callers_fault_and_other_answers_pass() {
        let undecodable = corrected(tonic_answer(Status::internal(
            "failed to decode Protobuf message: invalid wire type: LengthDelimited (expected Varint)",
        )));
        let too_large = corrected(tonic_answer(Status::out_of_range(
            "Error, decoded message length too large: found 5242885 bytes, the limit is: 4194304 bytes",
        )));
        let ours = corrected(tonic_answer(Status::internal("internal gateway error: boom")));
        let out_of_range = corrected(tonic_answer(Status::out_of_range("page 9 is past the end")));

        assert_eq!(code_of(&undecodable), "INVALID_ARGUMENT");
        assert_eq!(code_of(&too_large), "RESOURCE_EXHAUSTED");
        let message = Status::from_header_map(too_large.headers()).unwrap().message().to_owned();
        assert_eq!(message, "the request message is larger than the gateway accepts (4194304 bytes)");
        assert_eq!((code_of(&ours), code_of(&out_of_range)), ("INTERNAL", "OUT_OF_RANGE"));
    }
}
