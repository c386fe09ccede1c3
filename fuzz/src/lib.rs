//! What the wallet-core targets share: the fixed keys the seed corpora were signed with, so a
//! mutated seed still reaches the signature and window checks.

pub mod keys;
