//! Behaviour of one node over HTTP, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod counter;
mod counter_world;
mod disclosure;
mod enterprise;
mod fund;
mod helpers;
mod issuance;
mod node;
mod objections;
mod session;
#[path = "../support/mod.rs"]
mod support;
