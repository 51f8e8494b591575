//! The identity step: who is calling, from the configured sources (a trusted mesh header, XFCC,
//! mTLS, a JWT), after an optional per-peer rate that holds floods off before any identity work.
//! An unidentified caller is answered UNAUTHENTICATED here; the audit guard records it.

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response};

use super::audit::CallAudit;
use super::step::{Body, BoxFuture, Next, Step};
use super::{Access, status_response};
use crate::audit::Decision;
use crate::connections::RequestConnection;
use crate::error::GatewayError;
use crate::identity::{Identity, identify};

/// The identity step.
#[derive(Clone)]
pub(crate) struct IdentityStep(pub(crate) Arc<Access>);

fn peer_certificates<B>(request: &Request<B>) -> Option<Vec<Vec<u8>>> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let info = request.extensions().get::<TlsConnectInfo<TcpConnectInfo>>()?;
    info.peer_certs().map(|certificates| certificates.iter().map(|certificate| certificate.to_vec()).collect())
}

impl Step for IdentityStep {
    fn handle<S, B>(&self, mut request: Request<B>, next: Next<S>) -> BoxFuture<Response<Body>, S::Error>
    where
        S: tower::Service<Request<B>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        B: Send + 'static,
    {
        let access = self.0.clone();
        Box::pin(async move {
            let Some(audit) = request.extensions().get::<Arc<CallAudit>>().cloned() else {
                return next.run(request).await;
            };
            if let (Some(rate), Some(peer)) = (access.peer_rate, audit.peer())
                && access.limiter.check(&format!("peer {peer}"), rate, Instant::now()).is_err()
            {
                let reason = format!("its address {peer} is over the per-peer rate of {rate}");
                audit.decided(Decision::Denied, reason.clone());
                return Ok(status_response(GatewayError::RateLimited { message: format!("a caller from {reason}") }));
            }
            let identity = if access.sources.is_empty() {
                Ok(Identity { principal: "anonymous".into(), source: "none".into() })
            } else {
                identify(&access.sources, request.headers(), peer_certificates(&request).as_deref())
            };
            match identity {
                Ok(identity) => {
                    if let Some(connection) = request.extensions().get::<RequestConnection>() {
                        connection.identified();
                    }
                    audit.identified(identity.clone());
                    request.extensions_mut().insert(identity);
                    next.run(request).await
                }
                Err(error) => {
                    let reason = error.to_string();
                    audit.decided(Decision::Denied, reason.clone());
                    Ok(status_response(GatewayError::Unauthenticated { reason }))
                }
            }
        })
    }
}
