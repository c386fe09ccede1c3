//! A node's signed message to another node (metadata pushes, status changes).
//!
//! Service calls between nodes authenticate with short-lived tokens; what must stay provable
//! after the call — that Zhengzhou told Henan a certificate was revoked, say — travels in an
//! envelope, which names sender, receiver and time and can be re-verified from the log.

use serde::{Deserialize, Serialize};

use crate::codec::Writer;
use crate::context::SigningContext;
use crate::error::Coded;
use crate::keys::{KeyId, NodeKey, PublicKey, SignatureBytes};
use crate::receipt::sig_b64;
use crate::region::RegionCode;
use crate::UnixTime;

const FORMAT: u8 = 1;

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NodeEnvelope {
    pub from: RegionCode,
    pub to: RegionCode,
    pub sent_at: UnixTime,
    /// JSON text of the message.
    pub payload: String,
    pub signer: KeyId,
    #[serde(with = "sig_b64")]
    pub signature: SignatureBytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the envelope is addressed to {0}, not to this node")]
    WrongRecipient(RegionCode),
    #[error("the envelope was not signed by that node key")]
    SignerMismatch,
    #[error("the envelope's signature does not verify")]
    BadSignature,
}

impl Coded for EnvelopeError {
    fn code(&self) -> &'static str {
        match self {
            EnvelopeError::WrongRecipient(_) => "envelope_wrong_recipient",
            EnvelopeError::SignerMismatch => "envelope_signer_mismatch",
            EnvelopeError::BadSignature => "envelope_signature_invalid",
        }
    }
    fn message_zh(&self) -> &'static str {
        "节点间消息验证失败"
    }
}

fn signed_bytes(
    from: RegionCode,
    to: RegionCode,
    sent_at: UnixTime,
    payload: &str,
    signer: KeyId,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(FORMAT)
        .u32(from.as_u32())
        .u32(to.as_u32())
        .i64(sent_at)
        .u32(payload.len() as u32)
        .raw(payload.as_bytes())
        .raw(&signer.0);
    w.finish()
}

impl NodeEnvelope {
    pub fn seal(
        key: &NodeKey,
        from: RegionCode,
        to: RegionCode,
        sent_at: UnixTime,
        payload: String,
    ) -> Self {
        let signer = key.key_id();
        let signature = key.sign(
            SigningContext::NodeEnvelope,
            &signed_bytes(from, to, sent_at, &payload, signer),
        );
        NodeEnvelope {
            from,
            to,
            sent_at,
            payload,
            signer,
            signature,
        }
    }

    /// Verifies sender key and recipient. Freshness and replay are the receiver's to judge
    /// (it records what it applied).
    pub fn open(&self, sender_key: &PublicKey, me: RegionCode) -> Result<&str, EnvelopeError> {
        if self.to != me {
            return Err(EnvelopeError::WrongRecipient(self.to));
        }
        self.verify_signature(sender_key)
    }

    /// Verifies only that `sender_key` signed the envelope, for a node that passes a message on
    /// to its recipient and must not pass on a forgery.
    pub fn verify_signature(&self, sender_key: &PublicKey) -> Result<&str, EnvelopeError> {
        if sender_key.key_id() != self.signer {
            return Err(EnvelopeError::SignerMismatch);
        }
        sender_key
            .verify(
                SigningContext::NodeEnvelope,
                &signed_bytes(self.from, self.to, self.sent_at, &self.payload, self.signer),
                &self.signature,
            )
            .map_err(|_| EnvelopeError::BadSignature)?;
        Ok(&self.payload)
    }
}
