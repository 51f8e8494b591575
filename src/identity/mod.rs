//! Who is calling: the caller's identity from the sources configured with `--identity`, tried in
//! order: a trusted header set by the mesh proxy, Envoy's `x-forwarded-client-cert`, the
//! gateway's own mTLS client certificate, or a JWT bearer token checked against a JWKS file.
//!
//! A source that finds nothing lets the next one look; a source that finds a broken credential
//! fails the call, so a bad token never silently becomes another identity. No error message ever
//! carries a token or a header value.

mod identify;
mod jwks;
mod jwt;
mod mtls;
#[cfg(test)]
mod test_keys;
mod xfcc;

pub use identify::identify;
pub use jwt::JwtVerifier;

/// Where the gateway looks for the caller's identity.
#[derive(Debug, Clone)]
pub enum IdentitySource {
    /// A header set by a trusted proxy, such as Linkerd's `l5d-client-id`; the lowercase name.
    Header(String),
    /// Envoy's or Istio's `x-forwarded-client-cert`: the SPIFFE `URI=` of the nearest client.
    Xfcc,
    /// The SPIFFE URI SAN of the client certificate on the gateway's own TLS listener.
    Mtls,
    /// A JWT in `Authorization: Bearer`, verified against a JWKS file.
    Jwt(JwtVerifier),
}

impl IdentitySource {
    /// Returns the source's label, as in `--identity` and audit events: `header:l5d-client-id`,
    /// `xfcc`, `mtls` or `jwt`.
    pub fn label(&self) -> String {
        match self {
            IdentitySource::Header(name) => format!("header:{name}"),
            IdentitySource::Xfcc => "xfcc".to_owned(),
            IdentitySource::Mtls => "mtls".to_owned(),
            IdentitySource::Jwt(_) => "jwt".to_owned(),
        }
    }
}

/// The identified caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The principal: the header value, the SPIFFE URI, or the JWT `sub`.
    pub principal: String,
    /// The label of the source that identified the caller, such as `jwt`.
    pub source: String,
}

/// Why the caller could not be identified. Messages are safe to return to callers: they never
/// contain a token or a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// None of the configured sources found a credential.
    #[error("no identity: the caller presented none of {sources}")]
    Missing {
        /// The configured source labels, comma-separated, in the order they were tried.
        sources: String,
    },
    /// A bearer token was presented but is not valid.
    #[error("invalid bearer token: {0}")]
    InvalidJwt(String),
    /// The `x-forwarded-client-cert` header is present but cannot be parsed.
    #[error("the x-forwarded-client-cert header could not be parsed")]
    InvalidXfcc,
    /// mTLS is the only source and the caller presented no client certificate.
    #[error("no client certificate was presented")]
    NoClientCertificate,
    /// The presented (or forwarded) client certificate carries no SPIFFE URI.
    #[error("the client certificate carries no spiffe id")]
    NoSpiffeId,
    /// A trusted identity header is repeated or is not readable text.
    #[error("the identity header {header} must carry exactly one text value")]
    InvalidHeader {
        /// The header's name.
        header: String,
    },
}
