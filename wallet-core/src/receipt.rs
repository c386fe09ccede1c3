//! The retrieval receipt: the owning node's signed statement of what it handed out.
//!
//! Status (revoked, disputed …) is not part of the seal because it changes after issuance; the
//! receipt states it as of the retrieval, signed by the node that owns the certificate, and
//! binds it to the exact sealed bytes returned, the matter and the correlation id, so every node
//! on the way back can verify what it passes on.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{CodecError, Writer};
use crate::context::SigningContext;
use crate::error::Coded;
use crate::grant::GrantId;
use crate::id::CertId;
use crate::keys::{KeyId, NodeKey, PublicKey, SignatureBytes};
use crate::region::RegionCode;
use crate::UnixTime;

const FORMAT: u8 = 1;

/// A certificate's standing at its issuing node.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    Valid,
    /// An objection is open: the certificate is marked for the issuer, not suspended.
    Disputed,
    Revoked,
    /// Replaced by a corrected version.
    Superseded,
}

impl CertStatus {
    fn tag(self) -> u8 {
        match self {
            CertStatus::Valid => 1,
            CertStatus::Disputed => 2,
            CertStatus::Revoked => 3,
            CertStatus::Superseded => 4,
        }
    }
}

/// What the owning node signs when it returns a certificate.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReceiptTerms {
    /// One id for every hop of one retrieval.
    pub correlation_id: String,
    pub owner: RegionCode,
    /// The node whose counter asked.
    pub requested_by: RegionCode,
    pub cert_id: CertId,
    pub status: CertStatus,
    pub matter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantId>,
    /// SHA-256 of the sealed certificate bytes as returned (only the matter's fields).
    pub certificate_digest: String,
    pub retrieved_at: UnixTime,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RetrievalReceipt {
    pub terms: ReceiptTerms,
    pub signer: KeyId,
    #[serde(with = "sig_b64")]
    pub signature: SignatureBytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("the receipt was not signed by the owning node's key")]
    SignerMismatch,
    #[error("the receipt's signature does not verify")]
    BadSignature,
    #[error("the receipt is for other bytes than those returned")]
    DigestMismatch,
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl Coded for ReceiptError {
    fn code(&self) -> &'static str {
        match self {
            ReceiptError::SignerMismatch => "receipt_signer_mismatch",
            ReceiptError::BadSignature => "receipt_signature_invalid",
            ReceiptError::DigestMismatch => "receipt_digest_mismatch",
            ReceiptError::Codec(e) => e.code(),
        }
    }
    fn message_zh(&self) -> &'static str {
        "调阅回执验证失败，结果不可信"
    }
}

/// Hex SHA-256 of returned bytes, as the receipt names them.
pub fn digest_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ReceiptTerms {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT)
            .str(&self.correlation_id)
            .u32(self.owner.as_u32())
            .u32(self.requested_by.as_u32())
            .str(self.cert_id.as_str())
            .u8(self.status.tag())
            .str(&self.matter);
        match &self.grant {
            Some(g) => w.u8(1).raw(&g.0),
            None => w.u8(0),
        };
        w.str(&self.certificate_digest).i64(self.retrieved_at);
    }

    pub fn sign(self, key: &NodeKey) -> RetrievalReceipt {
        let signer = key.key_id();
        let mut w = Writer::new();
        self.encode(&mut w);
        w.raw(&signer.0);
        let signature = key.sign(SigningContext::RetrievalReceipt, w.as_slice());
        RetrievalReceipt {
            terms: self,
            signer,
            signature,
        }
    }
}

impl RetrievalReceipt {
    /// Verifies the receipt with the owning node's key and that it covers `returned` bytes.
    pub fn verify(&self, owner_key: &PublicKey, returned: &[u8]) -> Result<(), ReceiptError> {
        if owner_key.key_id() != self.signer {
            return Err(ReceiptError::SignerMismatch);
        }
        let mut w = Writer::new();
        self.terms.encode(&mut w);
        w.raw(&self.signer.0);
        owner_key
            .verify(
                SigningContext::RetrievalReceipt,
                w.as_slice(),
                &self.signature,
            )
            .map_err(|_| ReceiptError::BadSignature)?;
        if digest_hex(returned) != self.terms.certificate_digest {
            return Err(ReceiptError::DigestMismatch);
        }
        Ok(())
    }
}

pub(crate) mod sig_b64 {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(sig: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(sig))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let s = String::deserialize(d)?;
        let bytes = B64.decode(s).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a signature is 64 bytes"))
    }
}
