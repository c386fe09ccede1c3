//! The attack suite: what people who want to use what is not theirs try, one named test per
//! attack, on SQLite and on PostgreSQL. Each test asserts the refusal and its stable code, that
//! nothing changed (`ledger`: the node's rows before and after), and that the attempt left its
//! trace — the hash-chained audit log for everything on the retrieval path and between nodes,
//! the failed-login trace for guessed secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod certificates;
mod codes;
mod federation;
mod grants;
mod inputs;
mod ledger;
mod rate_limits;
mod roles;
mod sessions;
mod uploads;

#[path = "../api/counter_world.rs"]
mod counter_world;
#[allow(dead_code, unused_imports)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/mod.rs"]
mod support;
