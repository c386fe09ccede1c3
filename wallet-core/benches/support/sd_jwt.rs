//! The presentation's claims as an SD-JWT with key binding, EdDSA throughout, issued, presented
//! and verified with sd-jwt-rs (the OpenWallet Foundation's implementation, draft 7 format:
//! issuer-signed JWT `~` disclosures `~` KB-JWT with `sd_hash`).
//!
//! Mapping of the claims: the issuer (the wallet province's node) signs `iss`, `iat`, `exp`,
//! the presenter's key id `kid`, the holder's key in `cnf`, and the grant id `sub` as a
//! selectively disclosable claim; the holder's KB-JWT carries `aud` (our `resolve_at`),
//! `nonce` (our `jti`) and `iat`. SD-JWT needs two signatures where ours needs one: the issuer's
//! over the credential and the holder's over the presentation.
//!
//! sd-jwt-rs checks the issuer JWT's `exp` against the clock and does not look at the KB-JWT's
//! `iat`: the credential is issued for a year from now, and the KB-JWT's age is checked here
//! after the library's verification, as a verifier must (our presentation's lifetime, 60 s).

use ed25519_dalek::SigningKey;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sd_jwt_rs::issuer::ClaimsForSelectiveDisclosureStrategy;
use sd_jwt_rs::{SDJWTHolder, SDJWTIssuer, SDJWTSerializationFormat, SDJWTVerifier};
use serde_json::{json, Value};

use crate::{pkcs8, Claims};

pub const VERIFY_LABEL: &str = "SD-JWT+KB verify (sd-jwt-rs): issuer JWT + disclosure + KB-JWT";

/// How long after its `iat` a KB-JWT is accepted: our presentation's lifetime.
const KB_WINDOW: i64 = 60;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An issued and presented SD-JWT+KB, and what verifying it needs.
#[allow(missing_debug_implementations)] // jsonwebtoken's DecodingKey has no Debug
pub struct Case {
    pub token: String,
    issuer_key: DecodingKey,
    aud: String,
    nonce: String,
}

impl Case {
    pub fn new(c: &Claims, holder_seed: &[u8; 32], issuer_seed: &[u8; 32]) -> Case {
        let holder_pub = SigningKey::from_bytes(holder_seed).verifying_key();
        let issuer_pub = SigningKey::from_bytes(issuer_seed).verifying_key();
        let b64 = |b: &[u8]| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        };
        let holder_jwk: Jwk = serde_json::from_value(
            json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(holder_pub.as_bytes()) }),
        )
        .unwrap();
        let now = unix_now();
        let claims = json!({
            "iss": c.aud,
            "iat": now,
            "exp": now + 365 * 86400,
            "kid": c.kid,
            "sub": c.sub,
        });
        let issued = SDJWTIssuer::new(
            EncodingKey::from_ed_der(&pkcs8(issuer_seed)),
            Some("EdDSA".into()),
        )
        .issue_sd_jwt(
            claims.clone(),
            ClaimsForSelectiveDisclosureStrategy::Custom(vec!["$.sub"]),
            Some(holder_jwk),
            false,
            SDJWTSerializationFormat::Compact,
        )
        .unwrap();
        let token = SDJWTHolder::new(issued, SDJWTSerializationFormat::Compact)
            .unwrap()
            .create_presentation(
                claims.as_object().unwrap().clone(),
                Some(c.jti.clone()),
                Some(c.aud.clone()),
                Some(EncodingKey::from_ed_der(&pkcs8(holder_seed))),
                Some("EdDSA".into()),
            )
            .unwrap();
        Case {
            token,
            issuer_key: DecodingKey::from_ed_der(issuer_pub.as_bytes()),
            aud: c.aud.clone(),
            nonce: c.jti.clone(),
        }
    }

    /// Verifies the token and returns the disclosed claims; panics on any failure, so the
    /// bench only times tokens that verify.
    pub fn verify(&self) -> Value {
        let key = self.issuer_key.clone();
        let verified = SDJWTVerifier::new(
            self.token.clone(),
            Box::new(move |_, _| key.clone()),
            Some(self.aud.clone()),
            Some(self.nonce.clone()),
            SDJWTSerializationFormat::Compact,
        )
        .unwrap()
        .verified_claims;
        let kb = self.token.rsplit('~').next().unwrap();
        let iat = kb_iat(kb);
        let now = unix_now();
        assert!(iat <= now + 5 && now - iat <= KB_WINDOW);
        verified
    }
}

/// The KB-JWT's `iat`, read from its payload (its signature was checked by the verifier).
fn kb_iat(kb: &str) -> i64 {
    use base64::Engine;
    let payload = kb.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["iat"]
        .as_i64()
        .unwrap()
}
