//! The province's signed statement that a device key belongs to an account.
//!
//! Accounts and their device keys live at the province node (the wallet is a provincial
//! service). A binding lets any node check who signed a presentation or a grant without
//! asking the province again: it verifies the binding with the province's node key, then the
//! presentation with the bound device key.

use serde::{Deserialize, Serialize};

use crate::codec::Writer;
use crate::context::SigningContext;
use crate::error::Coded;
use crate::id::ResidentId;
use crate::keys::{KeyId, NodeKey, PublicKey, SignatureBytes};
use crate::receipt::sig_b64;
use crate::region::RegionCode;
use crate::UnixTime;

const FORMAT: u8 = 1;

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BindingTerms {
    /// The province node that keeps the account.
    pub province: RegionCode,
    /// The account's real-name identity.
    pub resident_id: ResidentId,
    pub device_key: PublicKey,
    pub bound_at: UnixTime,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DeviceBinding {
    pub terms: BindingTerms,
    pub signer: KeyId,
    #[serde(with = "sig_b64")]
    pub signature: SignatureBytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("the binding was not signed by that province key")]
    SignerMismatch,
    #[error("the binding's signature does not verify")]
    BadSignature,
}

impl Coded for BindingError {
    fn code(&self) -> &'static str {
        match self {
            BindingError::SignerMismatch => "binding_signer_mismatch",
            BindingError::BadSignature => "binding_signature_invalid",
        }
    }
    fn message_zh(&self) -> &'static str {
        "设备绑定验证失败"
    }
}

impl BindingTerms {
    fn payload(&self, signer: KeyId) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT)
            .u32(self.province.as_u32())
            .str(self.resident_id.as_str())
            .raw(&self.device_key.to_bytes())
            .i64(self.bound_at)
            .raw(&signer.0);
        w.finish()
    }

    pub fn sign(self, province_key: &NodeKey) -> DeviceBinding {
        let signer = province_key.key_id();
        let signature = province_key.sign(SigningContext::DeviceBinding, &self.payload(signer));
        DeviceBinding {
            terms: self,
            signer,
            signature,
        }
    }
}

impl DeviceBinding {
    pub fn verify(&self, province_key: &PublicKey) -> Result<(), BindingError> {
        if province_key.key_id() != self.signer {
            return Err(BindingError::SignerMismatch);
        }
        province_key
            .verify(
                SigningContext::DeviceBinding,
                &self.terms.payload(self.signer),
                &self.signature,
            )
            .map_err(|_| BindingError::BadSignature)
    }
}
