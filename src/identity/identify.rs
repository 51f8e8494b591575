//! Identifies the caller of one request from the configured sources, in order.

use http::HeaderMap;

use super::jwt::bearer_token;
use super::mtls::spiffe_id;
use super::xfcc::{XFCC_HEADER, nearest_spiffe_id};
use super::{Identity, IdentityError, IdentitySource};

/// Identifies the caller from the request's headers and the client certificate chain of the
/// connection (DER, leaf first), trying `sources` in order.
///
/// The first source that finds a caller wins and a source that finds nothing lets the next one
/// look; a source that finds a broken credential (an invalid token, an unparsable XFCC header,
/// a client certificate without a SPIFFE id) fails the call rather than falling through. Only
/// configured sources are read: an `l5d-client-id` or `x-forwarded-client-cert` header means
/// nothing unless its source is configured. Empty header values count as absent.
pub fn identify(
    sources: &[IdentitySource],
    headers: &HeaderMap,
    peer_certificates: Option<&[Vec<u8>]>,
) -> Result<Identity, IdentityError> {
    for source in sources {
        if let Some(principal) = principal_from(source, headers, peer_certificates)? {
            return Ok(Identity { principal, source: source.label() });
        }
    }
    if let [IdentitySource::Mtls] = sources {
        return Err(IdentityError::NoClientCertificate);
    }
    let labels: Vec<String> = sources.iter().map(IdentitySource::label).collect();
    let sources = if labels.is_empty() { "(none configured)".to_owned() } else { labels.join(", ") };
    Err(IdentityError::Missing { sources })
}

/// Returns the principal one source finds, `None` when it finds no credential at all.
fn principal_from(
    source: &IdentitySource,
    headers: &HeaderMap,
    peer_certificates: Option<&[Vec<u8>]>,
) -> Result<Option<String>, IdentityError> {
    match source {
        IdentitySource::Header(name) => trusted_header(headers, name),
        IdentitySource::Xfcc => {
            let Some(value) = joined_header(headers, XFCC_HEADER) else {
                return Ok(None);
            };
            nearest_spiffe_id(&value).map(Some)
        }
        IdentitySource::Mtls => {
            let Some(leaf) = peer_certificates.and_then(<[Vec<u8>]>::first) else {
                return Ok(None);
            };
            spiffe_id(leaf).map(Some).ok_or(IdentityError::NoSpiffeId)
        }
        IdentitySource::Jwt(verifier) => match bearer_token(headers)? {
            Some(token) => verifier.verify(token).map(Some),
            None => Ok(None),
        },
    }
}

/// Returns the single, non-empty value of a trusted header; a repeated or non-text value is an
/// error, since the proxy that sets it would never send one.
fn trusted_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, IdentityError> {
    let invalid = || IdentityError::InvalidHeader { header: name.to_owned() };
    let mut values = headers.get_all(name).iter().filter(|value| !value.as_bytes().trim_ascii().is_empty());
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid());
    }
    let text = value.to_str().map_err(|_| invalid())?;
    Ok(Some(text.trim().to_owned()))
}

/// Returns every non-empty value of a list header joined with commas, as HTTP allows, or `None`
/// when there is none.
fn joined_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    if values.is_empty() { None } else { Some(values.join(",")) }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::identity::test_keys::{TestKey, certificate, claims, verifier};

    const ORDERS: &str = "spiffe://cluster.local/ns/orders/sa/orders-api";
    const XFCC: &str = r#"By=spiffe://cluster.local/ns/default/sa/gateway;Hash=abc;Subject="";URI=spiffe://cluster.local/ns/orders/sa/orders-api"#;

    fn linkerd() -> IdentitySource {
        IdentitySource::Header("l5d-client-id".to_owned())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    fn identity(principal: &str, source: &str) -> Result<Identity, IdentityError> {
        Ok(Identity { principal: principal.to_owned(), source: source.to_owned() })
    }

    #[test]
    fn labels_name_each_source() {
        let key = TestKey::es256("k1");
        let labels: Vec<String> =
            [linkerd(), IdentitySource::Xfcc, IdentitySource::Mtls, IdentitySource::Jwt(verifier(&[&key]))]
                .iter()
                .map(IdentitySource::label)
                .collect();
        assert_eq!(labels, ["header:l5d-client-id", "xfcc", "mtls", "jwt"]);
    }

    #[test]
    fn the_first_source_that_finds_a_caller_wins() {
        let key = TestKey::es256("k1");
        let bearer = format!("Bearer {}", key.sign(&claims("jwt-user")));
        let request = headers(&[
            ("l5d-client-id", "orders-api.orders.serviceaccount.identity.linkerd.cluster.local"),
            ("authorization", &bearer),
        ]);
        let header_first = [linkerd(), IdentitySource::Jwt(verifier(&[&key]))];
        assert_eq!(
            identify(&header_first, &request, None),
            identity("orders-api.orders.serviceaccount.identity.linkerd.cluster.local", "header:l5d-client-id")
        );
        let jwt_first = [IdentitySource::Jwt(verifier(&[&key])), linkerd()];
        assert_eq!(identify(&jwt_first, &request, None), identity("jwt-user", "jwt"));
    }

    #[test]
    fn a_source_that_finds_nothing_lets_the_next_one_look() {
        let key = TestKey::es256("k1");
        let bearer = format!("Bearer {}", key.sign(&claims("jwt-user")));
        let sources = [linkerd(), IdentitySource::Xfcc, IdentitySource::Mtls, IdentitySource::Jwt(verifier(&[&key]))];
        let request = headers(&[("l5d-client-id", " "), ("authorization", &bearer)]);
        assert_eq!(identify(&sources, &request, Some(&[])), identity("jwt-user", "jwt"));
        assert_eq!(identify(&sources, &headers(&[("x-forwarded-client-cert", XFCC)]), None), identity(ORDERS, "xfcc"));
    }

    #[test]
    fn a_spoofed_linkerd_header_is_ignored_when_only_jwt_is_configured() {
        let key = TestKey::es256("k1");
        let request = headers(&[("l5d-client-id", "platform-admin")]);
        let error = identify(&[IdentitySource::Jwt(verifier(&[&key]))], &request, None).expect_err("no identity");
        assert_eq!(error, IdentityError::Missing { sources: "jwt".to_owned() });
        assert_eq!(error.to_string(), "no identity: the caller presented none of jwt");
    }

    #[test]
    fn a_spoofed_xfcc_header_is_ignored_when_only_a_header_source_is_configured() {
        let request = headers(&[("x-forwarded-client-cert", XFCC)]);
        let error = identify(&[linkerd()], &request, None).expect_err("no identity");
        assert_eq!(error.to_string(), "no identity: the caller presented none of header:l5d-client-id");
    }

    #[test]
    fn mtls_without_a_certificate_fails_alone_and_falls_through_otherwise() {
        assert_eq!(identify(&[IdentitySource::Mtls], &HeaderMap::new(), None), Err(IdentityError::NoClientCertificate));
        assert_eq!(
            identify(&[IdentitySource::Mtls], &HeaderMap::new(), Some(&[])),
            Err(IdentityError::NoClientCertificate)
        );
        let request = headers(&[("l5d-client-id", "orders-api")]);
        assert_eq!(
            identify(&[IdentitySource::Mtls, linkerd()], &request, None),
            identity("orders-api", "header:l5d-client-id")
        );
        let error = identify(&[IdentitySource::Mtls, linkerd()], &HeaderMap::new(), None).expect_err("no identity");
        assert_eq!(error.to_string(), "no identity: the caller presented none of mtls, header:l5d-client-id");
    }

    #[test]
    fn mtls_names_the_leaf_certificate_spiffe_id() {
        let chain = vec![certificate(&[ORDERS]), certificate(&["spiffe://cluster.local/ns/ca/sa/intermediate"])];
        assert_eq!(identify(&[IdentitySource::Mtls], &HeaderMap::new(), Some(&chain)), identity(ORDERS, "mtls"));
        let without_spiffe = vec![certificate(&["https://example.com/orders"])];
        let request = headers(&[("l5d-client-id", "orders-api")]);
        assert_eq!(
            identify(&[IdentitySource::Mtls, linkerd()], &request, Some(&without_spiffe)),
            Err(IdentityError::NoSpiffeId)
        );
    }

    #[test]
    fn a_broken_jwt_fails_rather_than_falling_through() {
        let key = TestKey::es256("k1");
        let sources = [IdentitySource::Jwt(verifier(&[&key])), linkerd()];
        let request = headers(&[("authorization", "Bearer not.a.token"), ("l5d-client-id", "orders-api")]);
        assert_eq!(identify(&sources, &request, None), Err(IdentityError::InvalidJwt("malformed token".to_owned())));
        let mut expired = claims("jwt-user");
        expired["exp"] = serde_json::json!(0);
        let stale =
            headers(&[("authorization", &format!("Bearer {}", key.sign(&expired))), ("l5d-client-id", "orders-api")]);
        assert_eq!(identify(&sources, &stale, None), Err(IdentityError::InvalidJwt("token expired".to_owned())));
        let basic = headers(&[("authorization", "Basic dXNlcjpwYXNz"), ("l5d-client-id", "orders-api")]);
        assert_eq!(identify(&sources, &basic, None), identity("orders-api", "header:l5d-client-id"));
    }

    #[test]
    fn a_broken_xfcc_header_fails_rather_than_falling_through() {
        let sources = [IdentitySource::Xfcc, linkerd()];
        let unparsable =
            headers(&[("x-forwarded-client-cert", r#"Hash=abc;Subject="open"#), ("l5d-client-id", "orders-api")]);
        assert_eq!(identify(&sources, &unparsable, None), Err(IdentityError::InvalidXfcc));
        let without_uri = headers(&[("x-forwarded-client-cert", "Hash=abc"), ("l5d-client-id", "orders-api")]);
        assert_eq!(identify(&sources, &without_uri, None), Err(IdentityError::NoSpiffeId));
    }

    #[test]
    fn repeated_xfcc_headers_read_as_one_list_nearest_last() {
        let far = "URI=spiffe://cluster.local/ns/outside/sa/far";
        let request = headers(&[("x-forwarded-client-cert", far), ("x-forwarded-client-cert", XFCC)]);
        assert_eq!(identify(&[IdentitySource::Xfcc], &request, None), identity(ORDERS, "xfcc"));
    }

    #[test]
    fn a_repeated_trusted_header_is_refused() {
        let request = headers(&[("l5d-client-id", "orders-api"), ("l5d-client-id", "platform-admin")]);
        let error = identify(&[linkerd()], &request, None).expect_err("ambiguous header");
        assert_eq!(error, IdentityError::InvalidHeader { header: "l5d-client-id".to_owned() });
        assert!(!error.to_string().contains("platform-admin"));
        let mut opaque = HeaderMap::new();
        opaque.insert("l5d-client-id", HeaderValue::from_bytes(b"caf\xe9").expect("opaque bytes"));
        assert!(matches!(identify(&[linkerd()], &opaque, None), Err(IdentityError::InvalidHeader { .. })));
    }
}
