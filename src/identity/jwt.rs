//! JWT bearer tokens checked against a JWKS file: the key is chosen by `kid`, the algorithm comes
//! from the key and the token header (which must agree), and the signature, `exp` (required),
//! `nbf` (when present), `iss` and `aud` (when configured) are checked. The principal is `sub`.
//!
//! Errors name what was wrong with a token, never the token itself.

use std::path::Path;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde::Deserialize;

use super::IdentityError;
use super::jwks::{JwksError, check_key_set, public_key, read_jwks};

/// The clock skew, in seconds, allowed on `exp` and `nbf` unless configured otherwise.
pub(crate) const DEFAULT_LEEWAY_SECS: u64 = 30;

/// Verifies bearer tokens against a fixed set of public keys.
#[derive(Debug, Clone)]
pub struct JwtVerifier {
    keys: JwkSet,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
}

/// The claims the gateway reads; `sub` is optional here so a missing one is reported as such.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
}

impl JwtVerifier {
    /// Loads the key set from a JWKS file; `issuer` and `audience`, when given, must match the
    /// token's `iss` and `aud`.
    pub fn from_jwks_file(
        path: impl AsRef<Path>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<JwtVerifier, JwksError> {
        JwtVerifier::from_jwk_set(read_jwks(path.as_ref())?, issuer, audience)
    }

    /// Builds a verifier from a key set, checking that every key can verify tokens.
    pub fn from_jwk_set(
        keys: JwkSet,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<JwtVerifier, JwksError> {
        check_key_set(&keys)?;
        Ok(JwtVerifier { keys, issuer, audience, leeway_secs: DEFAULT_LEEWAY_SECS })
    }

    /// Returns the verifier with another allowed clock skew on `exp` and `nbf`.
    pub fn with_leeway_secs(mut self, leeway_secs: u64) -> JwtVerifier {
        self.leeway_secs = leeway_secs;
        self
    }

    /// Returns the required issuer, if one is configured.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Returns the required audience, if one is configured.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// Verifies a token and returns its subject, the caller's principal.
    pub fn verify(&self, token: &str) -> Result<String, IdentityError> {
        let header = decode_header(token).map_err(|_| invalid("malformed token"))?;
        // RFC 7515 §4.1.11: a token that marks header parameters critical must be rejected unless
        // every one is understood, and this gateway understands none.
        if header.crit.is_some() {
            return Err(invalid("token marks header parameters critical that this gateway does not understand"));
        }
        let jwk = match &header.kid {
            Some(kid) => self.keys.find(kid).ok_or_else(|| invalid("unknown key id"))?,
            None => match self.keys.keys.as_slice() {
                [only] => only,
                [] => return Err(invalid("unknown key id")),
                _ => return Err(invalid("token names no key id and the key set has several keys")),
            },
        };
        let (key, key_algorithm) = public_key(jwk).map_err(|_| invalid("the key cannot verify this token"))?;
        let algorithm_fits = match key_algorithm {
            Some(algorithm) => algorithm == header.alg,
            None => header.alg.family() == key.family(),
        };
        if !algorithm_fits {
            return Err(invalid("algorithm does not match the key"));
        }
        let validation = self.validation(header.alg);
        let claims = decode::<Claims>(token, &key, &validation).map_err(|error| invalid(reason(error.kind())))?.claims;
        match claims.sub {
            Some(subject) if !subject.is_empty() => Ok(subject),
            _ => Err(invalid("token has an empty sub claim")),
        }
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }
}

/// Returns the token of an `Authorization: Bearer <token>` header (the scheme in any case), or
/// `None` when there is no such header, it uses another scheme, or its token is empty.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, IdentityError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid("more than one authorization header"));
    }
    let text = value.to_str().map_err(|_| invalid("malformed authorization header"))?.trim();
    let Some((scheme, token)) = text.split_once(|character: char| character.is_ascii_whitespace()) else {
        return Ok(None);
    };
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Ok(None);
    }
    Ok(Some(token))
}

fn invalid(reason: &str) -> IdentityError {
    IdentityError::InvalidJwt(reason.to_owned())
}

/// Returns a safe reason for a failed verification; none includes any part of the token.
fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => "token has no exp claim",
            "sub" => "token has no sub claim",
            "iss" => "token has no iss claim",
            "aud" => "token has no aud claim",
            _ => "token lacks a required claim",
        },
        ErrorKind::InvalidClaimFormat(_) => "token has a malformed time claim",
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm | ErrorKind::MissingAlgorithm => {
            "algorithm does not match the key"
        }
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEddsaKey => {
            "the key cannot verify this token"
        }
        _ => "malformed token",
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use serde_json::json;

    use super::*;
    use crate::identity::test_keys::{AUDIENCE, TestKey, claims, now, verifier};

    fn rejection(verifier: &JwtVerifier, token: &str) -> String {
        let error = verifier.verify(token).expect_err("token must be rejected");
        let message = error.to_string();
        for part in token.split('.').filter(|part| part.len() > 8) {
            assert!(!message.contains(part), "message {message:?} leaks the token");
        }
        assert!(!format!("{error:?}").contains(token), "debug output leaks the token");
        match error {
            IdentityError::InvalidJwt(reason) => reason,
            other => panic!("expected InvalidJwt, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_token_yields_its_subject() {
        let key = TestKey::es256("k1");
        let token = key.sign(&claims("orders-api"));
        assert_eq!(verifier(&[&key]).verify(&token).as_deref(), Ok("orders-api"));
    }

    #[test]
    fn es384_keys_verify_too() {
        let key = TestKey::es384("k384");
        assert_eq!(verifier(&[&key]).verify(&key.sign(&claims("agent-7"))).as_deref(), Ok("agent-7"));
    }

    #[test]
    fn rs256_keys_verify_and_a_token_signed_by_another_rsa_key_is_rejected() {
        let key = TestKey::rs256("rsa-1");
        assert_eq!(verifier(&[&key]).verify(&key.sign(&claims("billing-svc"))).as_deref(), Ok("billing-svc"));
        let impostor = TestKey::rs256("rsa-1");
        assert_eq!(rejection(&verifier(&[&key]), &impostor.sign(&claims("billing-svc"))), "bad signature");
    }

    #[test]
    fn an_expired_token_is_rejected_beyond_the_leeway_only() {
        let key = TestKey::es256("k1");
        let mut expired = claims("orders-api");
        expired["exp"] = json!(now() - 120);
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&expired)), "token expired");
        let mut just_expired = claims("orders-api");
        just_expired["exp"] = json!(now() - 10);
        assert_eq!(verifier(&[&key]).verify(&key.sign(&just_expired)).as_deref(), Ok("orders-api"));
        let strict = verifier(&[&key]).with_leeway_secs(0);
        assert_eq!(rejection(&strict, &key.sign(&just_expired)), "token expired");
    }

    #[test]
    fn a_token_without_exp_or_sub_is_rejected() {
        let key = TestKey::es256("k1");
        let mut no_exp = claims("orders-api");
        no_exp.as_object_mut().expect("object").remove("exp");
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&no_exp)), "token has no exp claim");
        let mut no_sub = claims("orders-api");
        no_sub.as_object_mut().expect("object").remove("sub");
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&no_sub)), "token has no sub claim");
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&claims(""))), "token has an empty sub claim");
    }

    #[test]
    fn a_token_used_before_its_nbf_is_rejected() {
        let key = TestKey::es256("k1");
        let mut early = claims("orders-api");
        early["nbf"] = json!(now() + 600);
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&early)), "token not yet valid");
    }

    #[test]
    fn issuer_and_audience_must_match_when_configured() {
        let key = TestKey::es256("k1");
        let mut wrong_issuer = claims("orders-api");
        wrong_issuer["iss"] = json!("https://elsewhere.example");
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&wrong_issuer)), "wrong issuer");
        let mut wrong_audience = claims("orders-api");
        wrong_audience["aud"] = json!(["someone-else"]);
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&wrong_audience)), "wrong audience");
        let mut no_audience = claims("orders-api");
        no_audience.as_object_mut().expect("object").remove("aud");
        assert_eq!(rejection(&verifier(&[&key]), &key.sign(&no_audience)), "token has no aud claim");
        let mut several_audiences = claims("orders-api");
        several_audiences["aud"] = json!(["someone-else", AUDIENCE]);
        assert!(verifier(&[&key]).verify(&key.sign(&several_audiences)).is_ok());
        let unconfigured =
            JwtVerifier::from_jwk_set(JwkSet { keys: vec![key.jwk.clone()] }, None, None).expect("verifier");
        assert_eq!(unconfigured.verify(&key.sign(&wrong_issuer)).as_deref(), Ok("orders-api"));
        assert_eq!((unconfigured.issuer(), unconfigured.audience()), (None, None));
    }

    #[test]
    fn a_tampered_token_has_a_bad_signature() {
        let key = TestKey::es256("k1");
        let token = key.sign(&claims("orders-api"));
        let parts: Vec<&str> = token.split('.').collect();
        let admin_token = TestKey::es256("k1").sign(&claims("platform-admin"));
        let admin_payload = admin_token.split('.').nth(1).expect("payload");
        let forged = format!("{}.{admin_payload}.{}", parts[0], parts[2]);
        assert_eq!(rejection(&verifier(&[&key]), &forged), "bad signature");
        let mut signature: Vec<char> = parts[2].chars().collect();
        signature[10] = if signature[10] == 'A' { 'B' } else { 'A' };
        let flipped = format!("{}.{}.{}", parts[0], parts[1], signature.into_iter().collect::<String>());
        assert_eq!(rejection(&verifier(&[&key]), &flipped), "bad signature");
        let other_key = TestKey::es256("k1");
        assert_eq!(rejection(&verifier(&[&key]), &other_key.sign(&claims("orders-api"))), "bad signature");
    }

    #[test]
    fn keys_are_chosen_by_kid() {
        let first = TestKey::es256("first");
        let second = TestKey::es256("second");
        let both = verifier(&[&first, &second]);
        assert_eq!(both.verify(&second.sign(&claims("b"))).as_deref(), Ok("b"));
        assert_eq!(both.verify(&first.sign(&claims("a"))).as_deref(), Ok("a"));
        let stranger = TestKey::es256("stranger");
        assert_eq!(rejection(&both, &stranger.sign(&claims("x"))), "unknown key id");
        assert_eq!(
            rejection(&both, &first.sign_without_kid(&claims("a"))),
            "token names no key id and the key set has several keys"
        );
        assert_eq!(verifier(&[&first]).verify(&first.sign_without_kid(&claims("a"))).as_deref(), Ok("a"));
    }

    #[test]
    fn a_token_with_critical_header_parameters_is_rejected_even_when_validly_signed() {
        let key = TestKey::es256("k1");
        let refused = "token marks header parameters critical that this gateway does not understand";
        assert_eq!(rejection(&verifier(&[&key]), &key.sign_with_critical(&claims("a"), &["exp-ext"])), refused);
        assert_eq!(rejection(&verifier(&[&key]), &key.sign_with_critical(&claims("a"), &[])), refused);
        assert_eq!(verifier(&[&key]).verify(&key.sign(&claims("a"))).as_deref(), Ok("a"));
    }

    #[test]
    fn the_token_algorithm_must_be_the_key_algorithm() {
        let p256 = TestKey::es256("shared");
        let p384 = TestKey::es384("shared");
        assert_eq!(rejection(&verifier(&[&p256]), &p384.sign(&claims("x"))), "algorithm does not match the key");
        let public_key_as_secret = serde_json::to_vec(&p256.jwk).expect("jwk json");
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("shared".to_owned());
        let hmac =
            jsonwebtoken::encode(&header, &claims("x"), &jsonwebtoken::EncodingKey::from_secret(&public_key_as_secret))
                .expect("hmac token");
        assert_eq!(rejection(&verifier(&[&p256]), &hmac), "algorithm does not match the key");
        let mut unpinned = p256.jwk.clone();
        unpinned.common.key_algorithm = None;
        let curve_pinned = JwtVerifier::from_jwk_set(JwkSet { keys: vec![unpinned] }, None, None).expect("verifier");
        assert_eq!(rejection(&curve_pinned, &p384.sign(&claims("x"))), "algorithm does not match the key");
        assert_eq!(curve_pinned.verify(&p256.sign(&claims("x"))).as_deref(), Ok("x"));
    }

    #[test]
    fn garbage_is_a_malformed_token() {
        let key = TestKey::es256("k1");
        for token in ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
            assert_eq!(rejection(&verifier(&[&key]), token), "malformed token", "{token}");
        }
    }

    #[test]
    fn bearer_tokens_are_read_with_any_scheme_case() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), Ok(None));
        for (value, expected) in [
            ("Bearer abc.def.ghi", Some("abc.def.ghi")),
            ("bearer  abc.def.ghi ", Some("abc.def.ghi")),
            ("BEARER abc", Some("abc")),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearer ", None),
            ("", None),
        ] {
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer_token(&headers), Ok(expected), "{value:?}");
        }
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer second"));
        assert_eq!(bearer_token(&headers), Err(IdentityError::InvalidJwt("more than one authorization header".into())));
    }
}
