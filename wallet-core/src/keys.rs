//! Ed25519 keys: a holder's device key, a department's seal key, a node's key.
//!
//! One secret-key type serves all three; what keeps them apart is the [`SigningContext`]
//! every signature carries. Secret bytes never print (`Debug` shows the key id) and are wiped
//! from memory when the key is dropped.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::context::SigningContext;
use crate::error::Coded;

/// An Ed25519 signature.
pub type SignatureBytes = [u8; 64];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the operating system's random generator failed")]
    Randomness,
    #[error("a public key is 32 bytes of a valid curve point")]
    MalformedPublicKey,
    #[error("a secret key is 32 bytes")]
    MalformedSecretKey,
    #[error("a key id is 16 hexadecimal characters")]
    MalformedKeyId,
    #[error("signature does not verify")]
    BadSignature,
}

impl Coded for KeyError {
    fn code(&self) -> &'static str {
        match self {
            KeyError::Randomness => "randomness_unavailable",
            KeyError::MalformedPublicKey => "public_key_malformed",
            KeyError::MalformedSecretKey => "secret_key_malformed",
            KeyError::MalformedKeyId => "key_id_malformed",
            KeyError::BadSignature => "signature_invalid",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            KeyError::Randomness => "无法生成随机数，请稍后重试",
            KeyError::BadSignature => "签名验证失败",
            _ => "密钥格式错误",
        }
    }
}

/// The first 8 bytes of SHA-256 over the public key: names a key in QR codes and trust lists.
/// A key id only finds a key; the signature check is what binds the signer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl std::str::FromStr for KeyId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        if s.len() != 16 {
            return Err(KeyError::MalformedKeyId);
        }
        let mut out = [0u8; 8];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot =
                u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or(KeyError::MalformedKeyId)?, 16)
                    .map_err(|_| KeyError::MalformedKeyId)?;
        }
        Ok(KeyId(out))
    }
}

impl TryFrom<String> for KeyId {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        s.parse()
    }
}

impl From<KeyId> for String {
    fn from(k: KeyId) -> String {
        k.to_string()
    }
}

/// An Ed25519 public key. Serialized as unpadded base64url.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::MalformedPublicKey)?;
        let key = VerifyingKey::from_bytes(&arr).map_err(|_| KeyError::MalformedPublicKey)?;
        // Small-order keys would let one signature verify many messages.
        if key.is_weak() {
            return Err(KeyError::MalformedPublicKey);
        }
        Ok(PublicKey(key))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn key_id(&self) -> KeyId {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// Verifies `signature` over `payload` in `context`, refusing non-canonical signatures.
    pub fn verify(
        &self,
        context: SigningContext,
        payload: &[u8],
        signature: &SignatureBytes,
    ) -> Result<(), KeyError> {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.0
            .verify_strict(&context.message(payload), &sig)
            .map_err(|_| KeyError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&B64.encode(self.to_bytes()))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = B64.decode(s).map_err(|_| KeyError::MalformedPublicKey)?;
        PublicKey::from_bytes(&bytes)
    }
}

impl TryFrom<String> for PublicKey {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        s.parse()
    }
}

impl From<PublicKey> for String {
    fn from(k: PublicKey) -> String {
        k.to_string()
    }
}

/// An Ed25519 secret key. Zeroized on drop; never printed.
pub struct SecretKey(SigningKey);

/// The key on a holder's phone that signs grants and presentations.
pub type DeviceKey = SecretKey;
/// A department's electronic-seal key.
pub type SealKey = SecretKey;
/// A node's own key: receipts, device bindings, envelopes, service tokens.
pub type NodeKey = SecretKey;

impl SecretKey {
    /// A fresh key from the operating system's (or the browser's) random generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut()).map_err(|_| KeyError::Randomness)?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// Restores a key from its 32-byte seed (the page keeps it in IndexedDB; tests use fixed seeds).
    pub fn from_bytes(seed: &[u8]) -> Result<Self, KeyError> {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.try_into().map_err(|_| KeyError::MalformedSecretKey)?);
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// The seed, for storage by its owner only.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }

    pub fn sign(&self, context: SigningContext, payload: &[u8]) -> SignatureBytes {
        self.0.sign(&context.message(payload)).to_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, secret hidden)", self.key_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secret_bytes() {
        let key = SecretKey::from_bytes(&[7u8; 32]).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("secret hidden"));
        assert!(!shown.contains("0707"));
        assert!(!shown.contains(&B64.encode([7u8; 32])));
    }

    #[test]
    fn a_signature_does_not_cross_contexts() {
        let key = SecretKey::generate().unwrap();
        let sig = key.sign(SigningContext::Grant, b"payload");
        let public = key.public_key();
        assert!(public
            .verify(SigningContext::Grant, b"payload", &sig)
            .is_ok());
        assert_eq!(
            public.verify(SigningContext::Presentation, b"payload", &sig),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            public.verify(SigningContext::Grant, b"payloae", &sig),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn keys_and_ids_round_trip_as_text() {
        let key = SecretKey::generate().unwrap();
        let public = key.public_key();
        assert_eq!(public.to_string().parse::<PublicKey>().unwrap(), public);
        assert_eq!(
            public.key_id().to_string().parse::<KeyId>().unwrap(),
            key.key_id()
        );
        assert!("zz".parse::<KeyId>().is_err());
        assert!(PublicKey::from_bytes(&[0u8; 32]).is_err());
    }
}
