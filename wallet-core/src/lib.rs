//! Every rule of the e-certificate wallet, once, for the server and the browser alike.
//!
//! The same code runs natively inside each node and as WebAssembly inside the wallet and
//! counter page, so a seal, a grant or a QR code is accepted or refused by the same rules
//! wherever it is checked. Nothing here performs I/O or reads the clock: the time is always
//! a parameter (`now`, Unix seconds), and randomness comes only from the operating system's
//! generator through `getrandom` when a key, a nonce or a serial number is made.
//!
//! ```text
//!  issuing department            holder's phone                 grantee's phone
//!  Certificate ──seal──▶ SealedCertificate
//!                          │ (stored at the issuing node)
//!                          │               DeviceKey ──sign──▶ Grant (cert, grantee, matters, window)
//!                          │                                        │
//!                          │                          DeviceKey ──sign──▶ Presentation (grant, nonce, ≤5 min)
//!                          │                                        │ encode_text → Base45 → QR (SVG)
//!  counter: decode_text → verify presentation → verify grant → resolve → verify seal
//! ```
//!
//! Every signed structure signs under its own [`SigningContext`], so bytes signed as one
//! thing can never be accepted as another.

pub mod base45;
pub mod binding;
pub mod certificate;
pub mod codec;
pub mod context;
pub mod envelope;
pub mod error;
pub mod grant;
pub mod holder;
pub mod id;
pub mod keys;
pub mod presentation;
pub mod qr;
pub mod receipt;
pub mod region;
pub mod seal;
pub mod trust_list;

pub use binding::DeviceBinding;
pub use certificate::{Certificate, Field};
pub use context::SigningContext;
pub use envelope::NodeEnvelope;
pub use error::Coded;
pub use grant::{Grant, GrantId, Grantee, MatterScope};
pub use holder::Holder;
pub use id::{CertId, CreditCode, ResidentId};
pub use keys::{DeviceKey, KeyId, NodeKey, PublicKey, SealKey, SecretKey};
pub use presentation::{Presentation, Subject};
pub use receipt::{CertStatus, RetrievalReceipt};
pub use region::{RegionCode, Tier};
pub use seal::{Seal, SealedCertificate};
pub use trust_list::{TrustEntry, TrustList};

/// Seconds since the Unix epoch, UTC. Every time in the core is one of these.
pub type UnixTime = i64;
