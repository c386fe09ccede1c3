//! Session JWTs: EdDSA with the node key, issuer and audience the node's region, a few minutes
//! long, bound to a stored session so that logout revokes them at once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use wallet_core::{NodeKey, PublicKey, RegionCode};

/// How long an access token lives.
pub const ACCESS_TTL: i64 = 15 * 60;
/// How long a session (and its refresh token) lives.
pub const SESSION_TTL: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// Resident ID for citizens, staff id for staff.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// `citizen` or `staff`.
    pub kind: String,
    /// `real_name` / `real_person` for citizens; the role for staff.
    pub lvl: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed or its signature does not verify")]
    Invalid,
    #[error("token has expired")]
    Expired,
}

/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410), which jsonwebtoken's signer takes.
pub(crate) fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

pub fn sign(key: &NodeKey, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    let der = zeroize::Zeroizing::new(pkcs8(&key.to_bytes()));
    jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        claims,
        &EncodingKey::from_ed_der(&der),
    )
}

/// Verifies signature, algorithm (EdDSA only), issuer and audience (this node), and expiry at
/// `now`. Whether the session is still live is the caller's check.
pub fn verify(
    token: &str,
    node: &PublicKey,
    region: RegionCode,
    now: i64,
) -> Result<Claims, TokenError> {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[region.to_string()]);
    v.set_issuer(&[region.to_string()]);
    v.validate_exp = false; // checked against the node's clock below
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let key = DecodingKey::from_ed_der(&node.to_bytes());
    let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|_| TokenError::Invalid)?;
    if now >= data.claims.exp {
        return Err(TokenError::Expired);
    }
    Ok(data.claims)
}

/// A token id.
pub fn jti() -> String {
    let mut b = [0u8; 12];
    getrandom::getrandom(&mut b)
        .map(|_| B64.encode(b))
        .unwrap_or_default()
}
