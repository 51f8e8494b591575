//! The caller's SPIFFE id from the client certificate of the gateway's own mTLS listener.
//!
//! The TLS layer has already verified the chain against `--client-ca`; this only reads the
//! leaf certificate's URI subject alternative names.

use x509_parser::extensions::GeneralName;
use x509_parser::parse_x509_certificate;

/// Returns the first URI subject alternative name starting with `spiffe://` of a DER-encoded
/// certificate, or `None` when the certificate cannot be parsed or carries no SPIFFE URI.
pub(crate) fn spiffe_id(der: &[u8]) -> Option<String> {
    let (_, certificate) = parse_x509_certificate(der).ok()?;
    let alternative_names = certificate.subject_alternative_name().ok()??;
    let uris: Vec<&str> = alternative_names
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some(*uri),
            _ => None,
        })
        .collect();
    // An X.509-SVID carries exactly one URI SAN (SPIFFE X509-SVID §2): a certificate with several
    // names no single workload, whatever order they come in.
    match uris.as_slice() {
        [only] if only.starts_with("spiffe://") => Some((*only).to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair, SanType};

    use super::*;

    fn certificate(alternative_names: Vec<SanType>) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = alternative_names;
        let key_pair = KeyPair::generate().expect("key pair");
        params.self_signed(&key_pair).expect("self-signed certificate").der().to_vec()
    }

    fn uri(text: &str) -> SanType {
        SanType::URI(text.try_into().expect("ia5 string"))
    }

    #[test]
    fn a_certificate_with_one_spiffe_uri_san_names_it() {
        let der = certificate(vec![
            SanType::DnsName("orders-api.orders.svc".try_into().expect("dns name")),
            uri("spiffe://cluster.local/ns/orders/sa/orders-api"),
        ]);
        assert_eq!(spiffe_id(&der).as_deref(), Some("spiffe://cluster.local/ns/orders/sa/orders-api"));
    }

    #[test]
    fn a_certificate_with_several_uri_sans_is_no_svid_and_names_no_one() {
        let beside_another = certificate(vec![
            uri("https://example.com/not-an-identity"),
            uri("spiffe://cluster.local/ns/orders/sa/orders-api"),
        ]);
        let two_workloads = certificate(vec![
            uri("spiffe://cluster.local/ns/orders/sa/orders-api"),
            uri("spiffe://cluster.local/ns/admin/sa/platform-admin"),
        ]);
        assert_eq!(spiffe_id(&beside_another), None);
        assert_eq!(spiffe_id(&two_workloads), None);
    }

    #[test]
    fn a_certificate_without_a_spiffe_uri_has_none() {
        let dns_only = certificate(vec![SanType::DnsName("orders-api.orders.svc".try_into().expect("dns name"))]);
        assert_eq!(spiffe_id(&dns_only), None);
        let other_uri = certificate(vec![uri("https://example.com/orders-api")]);
        assert_eq!(spiffe_id(&other_uri), None);
        assert_eq!(spiffe_id(&certificate(Vec::new())), None);
    }

    #[test]
    fn bytes_that_are_not_a_certificate_have_none() {
        assert_eq!(spiffe_id(b"not a certificate"), None);
        assert_eq!(spiffe_id(&[]), None);
    }
}
