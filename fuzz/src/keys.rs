//! The keys of `wallet-core/tests/vectors/v1.json` (seeds 0x11, 0x22 and 0x33): the seed
//! corpora carry structures signed by them, so verification gets past the key-id check and
//! into the signature and window checks for mutated inputs.

use wallet_core::trust_list::TrustEntry;
use wallet_core::{CreditCode, PublicKey, SecretKey, TrustList};

const SEEDS: [u8; 3] = [0x11, 0x22, 0x33];

/// The device, presenter and seal public keys of the vectors.
pub fn public_keys() -> Vec<PublicKey> {
    SEEDS
        .iter()
        .filter_map(|s| SecretKey::from_bytes(&[*s; 32]).ok())
        .map(|k| k.public_key())
        .collect()
}

/// The vectors' trust list: 郑州市市场监督管理局 with the 0x33 seal key.
pub fn trust_list() -> TrustList {
    let entries = CreditCode::with_check_char("11410100MB1234567")
        .ok()
        .zip(SecretKey::from_bytes(&[0x33; 32]).ok())
        .map(|(issuer, key)| TrustEntry {
            issuer,
            issuer_name: "郑州市市场监督管理局".into(),
            key: key.public_key(),
            not_before: 0,
            not_after: None,
        });
    TrustList::new(entries.into_iter().collect())
}
