//! Identity sources through the gateway: trusted headers only when configured, Envoy's XFCC,
//! JWTs checked against a JWKS file, and the gateway's own mTLS listener.

use std::time::Duration;

use metabase_grpc::identity::{IdentitySource, JwtVerifier};
use metabase_grpc::metabase::Credential;
use metabase_grpc::pb::v1::WhoAmIRequest;
use metabase_grpc::pb::v1::gateway_service_client::GatewayServiceClient;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, SanType};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::policed::policed;
use crate::support::{ADMIN_KEY, gateway_config};

const EVERYONE: &str = "version: 1\nprincipals:\n  - match: \"*\"\n    grants: { search: read }\n";

fn who(headers: &[(&'static str, &str)]) -> tonic::Request<WhoAmIRequest> {
    let mut request = tonic::Request::new(WhoAmIRequest {});
    for (name, value) in headers {
        request.metadata_mut().insert(*name, value.parse().unwrap());
    }
    request
}

#[tokio::test]
async fn a_spoofed_mesh_header_is_ignored_unless_that_source_is_configured() {
    let jwks = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(jwks.path(), r#"{"keys": []}"#).unwrap();
    let verifier = JwtVerifier::from_jwks_file(jwks.path(), None, None).unwrap();
    let stack = policed(EVERYONE, Some(vec![IdentitySource::Jwt(verifier)])).await;
    let mut gateway = GatewayServiceClient::new(stack.channel.clone());
    for (name, value) in [
        ("l5d-client-id", "admin.ns.serviceaccount.identity.linkerd"),
        ("x-forwarded-client-cert", "URI=spiffe://cluster.local/ns/x/sa/admin"),
    ] {
        let status = gateway.who_am_i(who(&[(name, value)])).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{name} must not identify anyone");
    }
}

#[tokio::test]
async fn xfcc_and_trusted_headers_identify_callers_in_the_order_given() {
    let sources = vec![IdentitySource::Header("l5d-client-id".into()), IdentitySource::Xfcc];
    let stack = policed(EVERYONE, Some(sources)).await;
    let mut gateway = GatewayServiceClient::new(stack.channel.clone());
    let xfcc = "By=spiffe://cluster.local/ns/metabase/sa/gateway;Hash=abc;Subject=\"\";URI=spiffe://cluster.local/ns/orders/sa/orders-api";
    let me = gateway.who_am_i(who(&[("x-forwarded-client-cert", xfcc)])).await.unwrap().into_inner();
    assert_eq!(
        (me.principal.as_str(), me.identity_source.as_str()),
        ("spiffe://cluster.local/ns/orders/sa/orders-api", "xfcc")
    );
    let me = gateway
        .who_am_i(who(&[("l5d-client-id", "web.default.serviceaccount"), ("x-forwarded-client-cert", xfcc)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.principal, "web.default.serviceaccount", "the first configured source wins");
    assert_eq!(gateway.who_am_i(who(&[])).await.unwrap_err().code(), Code::Unauthenticated);
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let value =
            chunk.iter().enumerate().fold(0u32, |acc, (index, byte)| acc | (u32::from(*byte) << (16 - 8 * index)));
        for index in 0..=chunk.len() {
            text.push(ALPHABET[((value >> (18 - 6 * index)) & 63) as usize] as char);
        }
    }
    text
}

fn token(key: &KeyPair, kid: &str, issuer: &str, expires_in: i64) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.into());
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({"sub": "agent-7", "iss": issuer, "aud": "metabase-grpc", "exp": now + expires_in, "iat": now});
    let encoding = jsonwebtoken::EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
}

#[tokio::test]
async fn jwts_are_checked_for_signature_issuer_audience_and_expiry() {
    let key = KeyPair::generate().unwrap();
    let point = key.public_key_raw();
    let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "k1", "x": base64url(&point[1..33]), "y": base64url(&point[33..65])}]});
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), jwks.to_string()).unwrap();
    let verifier =
        JwtVerifier::from_jwks_file(file.path(), Some("https://issuer.example".into()), Some("metabase-grpc".into()))
            .unwrap();
    let stack = policed(EVERYONE, Some(vec![IdentitySource::Jwt(verifier)])).await;
    let mut gateway = GatewayServiceClient::new(stack.channel.clone());
    let bearer = |token: String| format!("Bearer {token}");
    let valid = bearer(token(&key, "k1", "https://issuer.example", 300));
    let me = gateway.who_am_i(who(&[("authorization", &valid)])).await.unwrap().into_inner();
    assert_eq!((me.principal.as_str(), me.identity_source.as_str()), ("agent-7", "jwt"));
    let expired = bearer(token(&key, "k1", "https://issuer.example", -3600));
    let status = gateway.who_am_i(who(&[("authorization", &expired)])).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("expired"), "{}", status.message());
    let other_key = KeyPair::generate().unwrap();
    let forged = bearer(token(&other_key, "k1", "https://issuer.example", 300));
    assert_eq!(gateway.who_am_i(who(&[("authorization", &forged)])).await.unwrap_err().code(), Code::Unauthenticated);
    let wrong_issuer = bearer(token(&key, "k1", "https://elsewhere.example", 300));
    assert_eq!(
        gateway.who_am_i(who(&[("authorization", &wrong_issuer)])).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

/// A test CA, a server certificate for `localhost` and a client certificate whose URI SAN is
/// `spiffe://cluster.local/ns/orders/sa/orders-api`, as PEM (certificate, key) pairs.
pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) server: (String, String),
    pub(crate) client: (String, String),
}

/// Issues a fresh [`Pki`].
pub(crate) fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    // Each certificate names itself: with rcgen's one default name, a leaf's subject would equal
    // its issuer, and BoringSSL (Envoy) would take it for self-signed.
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params.distinguished_name.push(DnType::CommonName, "metabase-grpc test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params.distinguished_name = DistinguishedName::new();
    server_params.distinguished_name.push(DnType::CommonName, "localhost");
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params.distinguished_name = DistinguishedName::new();
    client_params.distinguished_name.push(DnType::CommonName, "orders-api");
    client_params.subject_alt_names =
        vec![SanType::URI("spiffe://cluster.local/ns/orders/sa/orders-api".try_into().unwrap())];
    let client = client_params.signed_by(&client_key, &issuer).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: (server.pem(), server_key.serialize_pem()),
        client: (client.pem(), client_key.serialize_pem()),
    }
}

#[tokio::test]
async fn mtls_identifies_by_spiffe_id_and_a_client_without_a_certificate_is_unauthenticated() {
    let pki = pki();
    let directory = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = directory.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let tls = metabase_grpc::config::TlsFiles {
        cert: write("server.pem", &pki.server.0),
        key: write("server.key", &pki.server.1),
        client_ca: Some(write("ca.pem", &pki.ca_pem)),
    };
    let emulator_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = metabase_emulator::start(Default::default(), emulator_listener).await.unwrap();
    let mut config = gateway_config(emulator.url(), Credential::api_key(ADMIN_KEY));
    config.allow_all = false;
    config.policy_file = Some(write("policy.yaml", EVERYONE));
    config.identity = vec![IdentitySource::Mtls];
    config.tls = Some(tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _gateway = metabase_grpc::server::start(config, listener).await.unwrap();
    let endpoint = format!("https://127.0.0.1:{port}");
    let base = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca_pem)).domain_name("localhost");
    let with_cert = Channel::from_shared(endpoint.clone())
        .unwrap()
        .tls_config(base.clone().identity(Identity::from_pem(&pki.client.0, &pki.client.1)))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let me = GatewayServiceClient::new(with_cert).who_am_i(WhoAmIRequest {}).await.unwrap().into_inner();
    assert_eq!(
        (me.principal.as_str(), me.identity_source.as_str()),
        ("spiffe://cluster.local/ns/orders/sa/orders-api", "mtls")
    );
    let without_cert = Channel::from_shared(endpoint).unwrap().tls_config(base).unwrap().connect().await.unwrap();
    let status = GatewayServiceClient::new(without_cert).who_am_i(WhoAmIRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}
