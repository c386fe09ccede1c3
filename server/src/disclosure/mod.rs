//! 社会公示 (scenario 5): anyone, without logging in, finds an enterprise's disclosable
//! certificates — the 排污许可证 above all — by any part of its name, and sees the permit's
//! number, holder, validity with its status now, and issuing authority.
//!
//! ```text
//!  wallet page ──GET /api/public/disclosures?q=清源──▶ province (410000)
//!                                                      │ rate limit per client (db window)
//!                                                      │ listing: bigram index over the names
//!                                                      │          in its pushed index, ranked
//!                                                      ├─POST /federation/v1/disclosure──▶ Luohe
//!                                                      │   (one call per owning city, signed
//!                                                      │    answer: current fields and status)
//!  ◀──── results, statuses as of now, 12345 / 12369 ───┘   a city down: the index's copy, marked
//! ```
//!
//! - `name`: folding, bigrams, what a query may be, ranking.
//! - `answer`: the public view of a certificate and its status at answer time.
//! - `client`: who a client is, and the per-client search limit.
//! - `search`: one search, with the calls to the owning nodes.
//!
//! Only enterprise certificates of types the catalog marks disclosable are ever listed, and only
//! their disclosable fields leave a node; every node on the way checks that again.

pub mod answer;
pub mod client;
pub mod name;
pub mod search;
