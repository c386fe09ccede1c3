//! The trust list: which seal keys speak for which issuing authority, and when.
//!
//! A department's key is valid from `not_before` until `not_after` (when it was retired by a
//! rotation). A seal is accepted when the key was valid at the moment it sealed, so a
//! rotation does not invalidate what the old key sealed, while anything the old key seals
//! after its retirement is refused.

use serde::{Deserialize, Serialize};

use crate::id::CreditCode;
use crate::keys::{KeyId, PublicKey};
use crate::UnixTime;

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TrustEntry {
    /// The issuing authority (颁发机构) this key seals for.
    pub issuer: CreditCode,
    pub issuer_name: String,
    pub key: PublicKey,
    pub not_before: UnixTime,
    /// When the key was retired; `None` while it is current.
    pub not_after: Option<UnixTime>,
}

impl TrustEntry {
    pub fn key_id(&self) -> KeyId {
        self.key.key_id()
    }

    pub fn valid_at(&self, t: UnixTime) -> bool {
        t >= self.not_before && self.not_after.is_none_or(|end| t < end)
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct TrustList {
    pub entries: Vec<TrustEntry>,
}

impl TrustList {
    pub fn new(entries: Vec<TrustEntry>) -> Self {
        TrustList { entries }
    }

    /// Every entry whose key has this id (an 8-byte id can, in principle, collide).
    pub fn by_key_id(&self, id: KeyId) -> impl Iterator<Item = &TrustEntry> {
        self.entries.iter().filter(move |e| e.key_id() == id)
    }
}
