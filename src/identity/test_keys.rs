//! Test-only credentials: fresh ECDSA and RSA key pairs from rcgen with their public halves as JWKs,
//! tokens signed with `jsonwebtoken::encode`, and self-signed client certificates.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, RsaKeySize};
use serde_json::{Value, json};

use super::JwtVerifier;

/// The issuer tokens carry unless a test says otherwise.
pub(super) const ISSUER: &str = "https://issuer.example";
/// The audience tokens carry unless a test says otherwise.
pub(super) const AUDIENCE: &str = "metabase-grpc";

/// A private signing key and its public JWK.
pub(super) struct TestKey {
    /// The private key.
    pub encoding: EncodingKey,
    /// The public key, with the key id and `alg` set.
    pub jwk: Jwk,
    /// The algorithm the key signs with.
    pub algorithm: Algorithm,
}

impl TestKey {
    /// Returns a fresh P-256 key for ES256 with key id `kid`.
    pub(super) fn es256(kid: &str) -> TestKey {
        TestKey::generate(kid, Algorithm::ES256)
    }

    /// Returns a fresh P-384 key for ES384 with key id `kid`.
    pub(super) fn es384(kid: &str) -> TestKey {
        TestKey::generate(kid, Algorithm::ES384)
    }

    /// Returns a fresh 2048-bit RSA key for RS256 with key id `kid`.
    pub(super) fn rs256(kid: &str) -> TestKey {
        let key_pair = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).expect("rsa key pair");
        let encoding = EncodingKey::from_rsa_pem(key_pair.serialize_pem().as_bytes()).expect("rsa pem");
        TestKey::with_encoding(kid, encoding, Algorithm::RS256)
    }

    fn generate(kid: &str, algorithm: Algorithm) -> TestKey {
        let rcgen_algorithm = match algorithm {
            Algorithm::ES384 => &PKCS_ECDSA_P384_SHA384,
            _ => &PKCS_ECDSA_P256_SHA256,
        };
        let key_pair = KeyPair::generate_for(rcgen_algorithm).expect("ecdsa key pair");
        let encoding = EncodingKey::from_ec_pem(key_pair.serialize_pem().as_bytes()).expect("ec pem");
        TestKey::with_encoding(kid, encoding, algorithm)
    }

    fn with_encoding(kid: &str, encoding: EncodingKey, algorithm: Algorithm) -> TestKey {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).expect("public jwk");
        jwk.common.key_id = Some(kid.to_owned());
        TestKey { encoding, jwk, algorithm }
    }

    /// Signs `claims` with this key, naming it in the header's `kid`.
    pub(super) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = self.jwk.common.key_id.clone();
        encode(&header, claims, &self.encoding).expect("signed token")
    }

    /// Signs `claims` with this key, naming `critical` header parameters in `crit`.
    pub(super) fn sign_with_critical(&self, claims: &Value, critical: &[&str]) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = self.jwk.common.key_id.clone();
        header.crit = Some(critical.iter().map(|name| (*name).to_owned()).collect());
        encode(&header, claims, &self.encoding).expect("signed token")
    }

    /// Signs `claims` with this key and a header without `kid`.
    pub(super) fn sign_without_kid(&self, claims: &Value) -> String {
        encode(&Header::new(self.algorithm), claims, &self.encoding).expect("signed token")
    }
}

/// Returns the current time in seconds since the epoch, as JWT time claims count it.
pub(super) fn now() -> i64 {
    i64::try_from(get_current_timestamp()).expect("time fits")
}

/// Returns claims for `subject` valid for five minutes, with the test issuer and audience.
pub(super) fn claims(subject: &str) -> Value {
    json!({ "sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 300 })
}

/// Returns a verifier trusting `keys`, requiring the test issuer and audience.
pub(super) fn verifier(keys: &[&TestKey]) -> JwtVerifier {
    let set = JwkSet { keys: keys.iter().map(|key| key.jwk.clone()).collect() };
    JwtVerifier::from_jwk_set(set, Some(ISSUER.to_owned()), Some(AUDIENCE.to_owned())).expect("verifier")
}

/// Returns a self-signed DER certificate whose URI subject alternative names are `uris`.
pub(super) fn certificate(uris: &[&str]) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names =
        uris.iter().map(|uri| rcgen::SanType::URI((*uri).try_into().expect("ia5 string"))).collect();
    let key_pair = KeyPair::generate().expect("key pair");
    params.self_signed(&key_pair).expect("self-signed certificate").der().to_vec()
}
