//! Service tokens between nodes: EdDSA JWTs signed with the calling node's key.
//!
//! Issuer is the calling region, audience the called one; they live `SERVICE_TTL` seconds,
//! carry a unique id (replay is refused by the receiver, which records the id) and the
//! correlation id of the retrieval or push they belong to. The header's `kid` picks the key
//! from the registry; only `EdDSA` is accepted, whatever the header claims.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use wallet_core::{KeyId, NodeKey, RegionCode};

use super::registry::Registry;
use crate::auth::tokens::{jti, pkcs8};

/// How long a service token lives: long enough for a slow hop, short enough that a captured
/// one is useless soon after.
pub const SERVICE_TTL: i64 = 30;
/// How far a caller's clock may run ahead of ours.
pub const CLOCK_SKEW: i64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Correlation id of the retrieval (or push) this call is part of.
    pub cid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceTokenError {
    #[error("no service token")]
    Missing,
    #[error("the service token is not a JWT")]
    Malformed,
    #[error("the service token uses an algorithm other than EdDSA")]
    Algorithm,
    #[error("the service token's key is not a current key of a registered node")]
    UnknownKey,
    #[error("the service token's signature does not verify")]
    BadSignature,
    #[error("the service token's issuer does not own its key")]
    IssuerMismatch,
    #[error("the service token is for another node")]
    WrongAudience,
    #[error("the service token has expired or is not yet valid")]
    Expired,
    #[error("the service token has been used before")]
    Replayed,
}

impl ServiceTokenError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceTokenError::Missing => "service_token_missing",
            ServiceTokenError::Malformed => "service_token_malformed",
            ServiceTokenError::Algorithm => "service_token_algorithm",
            ServiceTokenError::UnknownKey => "service_token_unknown_key",
            ServiceTokenError::BadSignature => "service_token_signature_invalid",
            ServiceTokenError::IssuerMismatch => "service_token_issuer_mismatch",
            ServiceTokenError::WrongAudience => "service_token_wrong_audience",
            ServiceTokenError::Expired => "service_token_expired",
            ServiceTokenError::Replayed => "service_token_replayed",
        }
    }
}

/// A node key prepared for signing service tokens. Preparing it (PKCS#8 wrapping and the
/// signer's key derivation) costs more than signing, so a node prepares it once.
pub struct Signer {
    kid: String,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.kid)
    }
}

impl Signer {
    pub fn new(key: &NodeKey) -> Self {
        let der = zeroize::Zeroizing::new(pkcs8(&key.to_bytes()));
        Signer {
            kid: key.key_id().to_string(),
            key: EncodingKey::from_ed_der(&der),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// A token for one call from `from` to `to`.
    pub fn sign(
        &self,
        from: RegionCode,
        to: RegionCode,
        correlation: &str,
        now: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = ServiceClaims {
            iss: from.to_string(),
            aud: to.to_string(),
            iat: now,
            exp: now + SERVICE_TTL,
            jti: jti(),
            cid: correlation.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

/// A token for one call from `from` to `to`, signed with `key`.
pub fn mint(
    key: &NodeKey,
    from: RegionCode,
    to: RegionCode,
    correlation: &str,
    now: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    Signer::new(key).sign(from, to, correlation, now)
}

/// Checks everything but replay (the caller records `jti` in the same store as its other
/// writes): algorithm, key from the registry valid now, signature, issuer = owner of the key,
/// audience = this node, time.
pub fn verify(
    token: &str,
    registry: &Registry,
    now: i64,
) -> Result<(RegionCode, ServiceClaims), ServiceTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| ServiceTokenError::Malformed)?;
    if header.alg != Algorithm::EdDSA {
        return Err(ServiceTokenError::Algorithm);
    }
    let kid: KeyId = header
        .kid
        .as_deref()
        .and_then(|k| k.parse().ok())
        .ok_or(ServiceTokenError::UnknownKey)?;
    // The issuer is read unverified only to pick the key; the signature then binds it.
    let iss: RegionCode = unverified_issuer(token).ok_or(ServiceTokenError::Malformed)?;
    let key = registry
        .key(iss, kid, now)
        .ok_or(ServiceTokenError::UnknownKey)?;
    let mut v = Validation::new(Algorithm::EdDSA);
    v.validate_exp = false;
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data = jsonwebtoken::decode::<ServiceClaims>(
        token,
        &DecodingKey::from_ed_der(&key.to_bytes()),
        &v,
    )
    .map_err(|_| ServiceTokenError::BadSignature)?;
    let c = data.claims;
    if c.iss != iss.to_string() {
        return Err(ServiceTokenError::IssuerMismatch);
    }
    if c.aud != registry.own().to_string() {
        return Err(ServiceTokenError::WrongAudience);
    }
    if now >= c.exp || c.iat > now + CLOCK_SKEW || c.exp - c.iat > SERVICE_TTL {
        return Err(ServiceTokenError::Expired);
    }
    Ok((iss, c))
}

fn unverified_issuer(token: &str) -> Option<RegionCode> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = B64.decode(payload).ok()?;
    let iss: Iss = serde_json::from_slice(&bytes).ok()?;
    iss.iss.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PeerKey, PeerSettings};
    use wallet_core::SecretKey;

    fn key(b: u8) -> NodeKey {
        SecretKey::from_bytes(&[b; 32]).unwrap()
    }

    fn r(code: &str) -> RegionCode {
        code.parse().unwrap()
    }

    /// Henan's view: Luohe is registered with key 1 until t=1000 and key 2 from t=900.
    fn henan() -> Registry {
        Registry::new(
            r("410000"),
            &[PeerSettings {
                region: r("411100"),
                name: "漯河".into(),
                url: "http://127.0.0.1:1".into(),
                keys: vec![
                    PeerKey {
                        key: key(1).public_key(),
                        not_before: 0,
                        not_after: Some(1000),
                    },
                    PeerKey {
                        key: key(2).public_key(),
                        not_before: 900,
                        not_after: None,
                    },
                ],
            }],
        )
    }

    #[test]
    fn a_token_from_a_registered_node_to_this_node_verifies() {
        let t = mint(&key(1), r("411100"), r("410000"), "cid-1", 500).unwrap();
        let (from, c) = verify(&t, &henan(), 510).unwrap();
        assert_eq!(from, r("411100"));
        assert_eq!(c.cid, "cid-1");
        // The rotated key works inside its window, the old one only until its end.
        let t2 = mint(&key(2), r("411100"), r("410000"), "c", 950).unwrap();
        assert!(verify(&t2, &henan(), 951).is_ok());
        let old = mint(&key(1), r("411100"), r("410000"), "c", 1001).unwrap();
        assert_eq!(
            verify(&old, &henan(), 1002),
            Err(ServiceTokenError::UnknownKey)
        );
    }

    #[test]
    fn tokens_for_another_audience_or_expired_or_unknown_are_refused() {
        let wrong_aud = mint(&key(1), r("411100"), r("410100"), "c", 500).unwrap();
        assert_eq!(
            verify(&wrong_aud, &henan(), 500),
            Err(ServiceTokenError::WrongAudience)
        );
        let t = mint(&key(1), r("411100"), r("410000"), "c", 500).unwrap();
        assert_eq!(
            verify(&t, &henan(), 500 + SERVICE_TTL),
            Err(ServiceTokenError::Expired)
        );
        assert_eq!(verify(&t, &henan(), 400), Err(ServiceTokenError::Expired));
        let stranger = mint(&key(9), r("411100"), r("410000"), "c", 500).unwrap();
        assert_eq!(
            verify(&stranger, &henan(), 500),
            Err(ServiceTokenError::UnknownKey)
        );
        // Luohe's key claiming to be Zhengzhou: no such key for Zhengzhou.
        let posing = mint(&key(1), r("410100"), r("410000"), "c", 500).unwrap();
        assert_eq!(
            verify(&posing, &henan(), 500),
            Err(ServiceTokenError::UnknownKey)
        );
    }

    #[test]
    fn other_algorithms_and_tampering_are_refused() {
        let t = mint(&key(1), r("411100"), r("410000"), "c", 500).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        use base64::Engine;
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert!(verify(&none, &henan(), 500).is_err());
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"iss":"411100","aud":"410000","iat":500,"exp":520,"jti":"x","cid":"c"}),
            &EncodingKey::from_secret(&key(1).public_key().to_bytes()),
        )
        .unwrap();
        assert_eq!(
            verify(&hs, &henan(), 500),
            Err(ServiceTokenError::Algorithm)
        );
        let mut claims: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        claims["aud"] = "410100".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(claims.to_string()),
            parts[2]
        );
        assert_eq!(
            verify(&forged, &henan(), 500),
            Err(ServiceTokenError::BadSignature)
        );
        assert_eq!(
            verify("not a token", &henan(), 500),
            Err(ServiceTokenError::Malformed)
        );
    }
}
