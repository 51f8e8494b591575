//! Loading and checking the JSON Web Key Set that JWT bearer tokens are verified against.
//!
//! Only public keys (RSA, EC on P-256 or P-384, Ed25519) are accepted, so a token can never be
//! checked as an HMAC keyed with a public key; each key is checked when the set is loaded, so a
//! bad file fails at startup rather than on the first call.

use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

/// Why a JWKS could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The JWKS file could not be read.
    #[error("jwks file {} could not be read", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// The JWKS file is not a JSON Web Key Set.
    #[error("jwks file {} is not a json web key set", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Two keys share a key id, so a token's `kid` would be ambiguous.
    #[error("the json web key set holds key id {kid} more than once")]
    DuplicateKeyId {
        /// The repeated key id.
        kid: String,
    },
    /// A key cannot verify tokens.
    #[error("json web key {key} cannot verify tokens: {reason}")]
    UnusableKey {
        /// The key's id, or its position as `#0`, `#1`, ...
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Reads a JWKS file.
pub(super) fn read_jwks(path: &Path) -> Result<JwkSet, JwksError> {
    let text = std::fs::read_to_string(path).map_err(|source| JwksError::Read { path: path.into(), source })?;
    serde_json::from_str(&text).map_err(|source| JwksError::Parse { path: path.into(), source })
}

/// Checks that no key id repeats and that every key can verify tokens. An empty set is
/// accepted (with a warning): it rejects every token.
pub(super) fn check_key_set(keys: &JwkSet) -> Result<(), JwksError> {
    if keys.keys.is_empty() {
        // Allowed, so a key set can be emptied during an incident, but worth saying once.
        tracing::warn!("the json web key set holds no keys; every bearer token will be rejected");
    }
    for (index, jwk) in keys.keys.iter().enumerate() {
        if let Some(kid) = &jwk.common.key_id
            && keys.keys[index + 1..].iter().any(|other| other.common.key_id.as_ref() == Some(kid))
        {
            return Err(JwksError::DuplicateKeyId { kid: kid.clone() });
        }
        if let Err(reason) = public_key(jwk) {
            let key = jwk.common.key_id.clone().unwrap_or_else(|| format!("#{index}"));
            return Err(JwksError::UnusableKey { key, reason });
        }
    }
    Ok(())
}

/// Returns the verifying key of a JWK and the one algorithm it is pinned to, if any: its `alg`,
/// or the algorithm its elliptic curve implies.
pub(super) fn public_key(jwk: &Jwk) -> Result<(DecodingKey, Option<Algorithm>), &'static str> {
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "its parameters are not a valid public key")?;
    if key.family() == AlgorithmFamily::Hmac {
        return Err("it is a symmetric key; only public keys are accepted");
    }
    let curve_algorithm = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(parameters) => match parameters.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => return Err("its curve is not supported; use P-256 or P-384"),
        },
        _ => None,
    };
    let declared_algorithm = match jwk.common.key_algorithm {
        Some(key_algorithm) => Some(Algorithm::try_from(key_algorithm).map_err(|_| "its alg cannot sign tokens")?),
        None => None,
    };
    if let Some(algorithm) = declared_algorithm
        && (algorithm.family() != key.family() || curve_algorithm.is_some_and(|implied| implied != algorithm))
    {
        return Err("its alg does not fit its key type");
    }
    Ok((key, declared_algorithm.or(curve_algorithm)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use serde_json::json;

    use super::*;
    use crate::identity::test_keys::{TestKey, claims};
    use crate::identity::{IdentityError, JwtVerifier};

    fn jwks_file(contents: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(contents.as_bytes()).expect("write jwks");
        file
    }

    fn load(set: serde_json::Value) -> Result<JwtVerifier, JwksError> {
        let file = jwks_file(&set.to_string());
        JwtVerifier::from_jwks_file(file.path(), None, None)
    }

    #[test]
    fn a_jwks_file_loads_and_verifies_its_tokens() {
        let key = TestKey::es256("k1");
        let verifier = load(json!({ "keys": [key.jwk] })).expect("loads");
        assert_eq!(verifier.verify(&key.sign(&claims("orders-api"))).as_deref(), Ok("orders-api"));
    }

    #[test]
    fn a_hand_written_p256_jwk_without_alg_is_accepted() {
        let key = TestKey::es256("k1");
        let AlgorithmParameters::EllipticCurve(parameters) = &key.jwk.algorithm else {
            panic!("expected an ec jwk");
        };
        let hand_written = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "x": parameters.x, "y": parameters.y }] });
        let verifier = load(hand_written).expect("loads");
        assert_eq!(verifier.verify(&key.sign(&claims("orders-api"))).as_deref(), Ok("orders-api"));
    }

    #[test]
    fn unreadable_and_malformed_files_are_configuration_errors() {
        let missing = JwtVerifier::from_jwks_file("/nonexistent/jwks.json", None, None).expect_err("missing file");
        assert!(matches!(missing, JwksError::Read { .. }));
        assert_eq!(missing.to_string(), "jwks file /nonexistent/jwks.json could not be read");
        let file = jwks_file("{ not json");
        let malformed = JwtVerifier::from_jwks_file(file.path(), None, None).expect_err("malformed");
        assert!(matches!(malformed, JwksError::Parse { .. }), "{malformed:?}");
    }

    #[test]
    fn an_empty_key_set_loads_and_rejects_every_token() {
        let verifier = load(json!({ "keys": [] })).expect("loads");
        let key = TestKey::es256("k1");
        let unknown = IdentityError::InvalidJwt("unknown key id".to_owned());
        assert_eq!(verifier.verify(&key.sign(&claims("orders-api"))), Err(unknown.clone()));
        assert_eq!(verifier.verify(&key.sign_without_kid(&claims("orders-api"))), Err(unknown));
    }

    #[test]
    fn symmetric_keys_are_refused() {
        let secret = json!({ "keys": [{ "kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ" }] });
        let error = load(secret).expect_err("oct key");
        assert_eq!(
            error.to_string(),
            "json web key shared cannot verify tokens: it is a symmetric key; only public keys are accepted"
        );
    }

    #[test]
    fn inconsistent_or_ambiguous_keys_are_refused() {
        let key = TestKey::es256("k1");
        let mut wrong_alg = key.jwk.clone();
        wrong_alg.common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::RS256);
        assert!(matches!(load(json!({ "keys": [wrong_alg] })), Err(JwksError::UnusableKey { .. })));
        let mut wrong_curve = key.jwk.clone();
        wrong_curve.common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::ES384);
        assert!(matches!(load(json!({ "keys": [wrong_curve] })), Err(JwksError::UnusableKey { .. })));
        let duplicate = load(json!({ "keys": [key.jwk, TestKey::es256("k1").jwk] })).expect_err("duplicate kid");
        assert_eq!(duplicate.to_string(), "the json web key set holds key id k1 more than once");
    }
}
