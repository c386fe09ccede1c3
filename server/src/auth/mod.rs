//! Who is calling: real-name citizens (实名, and 实人 after a liveness check) and counter
//! staff, each with a session-bound JWT signed by the node's key.
//!
//! Knowing a name and resident ID is never enough: registration needs a one-time code sent
//! to the phone being bound, and login needs that phone's code or the account's password.

pub mod identity;
pub mod providers;
pub mod secrets;
pub mod throttle;
pub mod tokens;

pub use identity::{Citizen, Staff};
