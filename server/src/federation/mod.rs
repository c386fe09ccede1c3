//! The federation: how one node reaches the others.
//!
//! - `registry`: who the other nodes are, where they listen, their keys and validity windows.
//! - `token`: the service JWT every inter-node call carries.
//! - `client`: pooled calls to a neighbour within the counter's time budget.
//! - `peer`: the extractor that authenticates an incoming inter-node call.
//! - `outbox`: the task that pushes certificate metadata to the tiers above.
//! - `lanes`: that task's deliveries, one lane per queue and destination.
//! - `fetch`: retrieval on an applicant's recorded consent, without a QR (scenario 2 online).
//! - `objections`: objections sent to the issuer's node and decisions back, from that task.

pub mod client;
pub mod fetch;
pub mod holder_copy;
pub mod lanes;
pub mod objections;
pub mod outbox;
pub mod peer;
pub mod registry;
pub mod resolve;
pub mod token;

pub use client::{Budget, PeerClient};
pub use registry::{NextHop, Registry};

/// The node's view of the federation, shared by every handler.
#[derive(Debug, Clone)]
pub struct Federation {
    pub registry: Registry,
    pub client: PeerClient,
}
