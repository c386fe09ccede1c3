//! Signing contexts: every signed structure signs `label || 0x00 || payload`.
//!
//! A grant's bytes signed by a device key can therefore never verify as a presentation, nor a
//! node's receipt as a seal, even when the same key signs both (the namespace idea of
//! bitwarden's signing module, applied to plain Ed25519).

/// The kinds of signed statement in the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningContext {
    /// An issuing authority's electronic seal over a certificate.
    Seal,
    /// A holder's permission for a grantee (授权他人使用).
    Grant,
    /// A presenter's short-lived QR code (亮证码).
    Presentation,
    /// A node's signed message to another node.
    NodeEnvelope,
    /// The owning node's statement of what it handed out, for whom.
    RetrievalReceipt,
    /// The province's statement that a device key belongs to an account.
    DeviceBinding,
}

impl SigningContext {
    pub fn label(self) -> &'static [u8] {
        match self {
            SigningContext::Seal => b"cn.e-cert.seal.v1",
            SigningContext::Grant => b"cn.e-cert.grant.v1",
            SigningContext::Presentation => b"cn.e-cert.presentation.v1",
            SigningContext::NodeEnvelope => b"cn.e-cert.node-envelope.v1",
            SigningContext::RetrievalReceipt => b"cn.e-cert.retrieval-receipt.v1",
            SigningContext::DeviceBinding => b"cn.e-cert.device-binding.v1",
        }
    }

    /// The exact bytes a key signs for `payload` in this context.
    pub fn message(self, payload: &[u8]) -> Vec<u8> {
        let label = self.label();
        let mut m = Vec::with_capacity(label.len() + 1 + payload.len());
        m.extend_from_slice(label);
        m.push(0);
        m.extend_from_slice(payload);
        m
    }
}
