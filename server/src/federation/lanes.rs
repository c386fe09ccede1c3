//! Lanes: the delivery task (`federation::outbox`) sends to each destination on its own, so a
//! destination that is down or never answers holds up only what is bound for it.
//!
//! ```text
//!  claim (busy destinations left out) ──▶ push      → 410000 ─▶ one batch in flight, in order
//!                                          push      → 100000 ─▶ (silent: waits out its budget)
//!                                          objection → 411100 ─▶ …
//!                                          fund      → 410000 ─▶ …
//! ```
//!
//! A lane is one queue (pushes, objection messages, housing-fund messages) and one destination.
//! It carries at most one claimed batch at a time, sent in order by a task of its own, so what
//! a destination receives keeps the order it had when everything went through one task. Claims
//! leave out the destinations whose lane is busy: their rows stay in the database, unleased,
//! until the lane is free (or another process, with its own lanes, claims them — the leases
//! keep two processes from sending the same row at once). The number of lanes is bounded by the
//! three queues times the destinations the node sends to. Lanes end with the set: dropping it
//! (with the delivery task) aborts them, and their rows' leases run out as after a crash.

use std::collections::{BTreeMap, HashMap};

use tokio::task::{Id, JoinSet};

use super::outbox::Pusher;
use crate::db::fund_messages::MessageRow as FundRow;
use crate::db::objection_outbox::MessageRow as ObjectionRow;
use crate::db::outbox::OutboxRow;
use crate::fund::delivery;

/// The queues the delivery task sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Push,
    Objection,
    Fund,
}

impl Queue {
    pub const ALL: [Queue; 3] = [Queue::Push, Queue::Objection, Queue::Fund];
}

/// One destination's claimed rows of one queue.
#[derive(Debug)]
pub enum Batch {
    Push(Vec<OutboxRow>),
    Objection(Vec<ObjectionRow>),
    Fund(Vec<FundRow>),
}

/// What one claim yields: how many rows, and the batches by destination.
#[derive(Debug)]
pub struct Claimed {
    pub rows: usize,
    /// Whether the claim took as many rows as one claim may, so more may be due at once.
    pub full: bool,
    pub batches: Vec<(String, Batch)>,
}

fn batches<R>(
    by_dest: BTreeMap<String, Vec<R>>,
    wrap: fn(Vec<R>) -> Batch,
) -> Vec<(String, Batch)> {
    by_dest
        .into_iter()
        .map(|(d, rows)| (d, wrap(rows)))
        .collect()
}

/// Claims the due rows of `queue` for every destination not in `skip`.
pub async fn claim(p: &Pusher, queue: Queue, skip: &[String]) -> Result<Claimed, sqlx::Error> {
    let (rows, limit, batches) = match queue {
        Queue::Push => {
            let (n, by_dest) = p.claim_pushes(skip).await?;
            (n, super::outbox::CLAIM, batches(by_dest, Batch::Push))
        }
        Queue::Objection => {
            let (n, by_dest) = p.claim_objections(skip).await?;
            (
                n,
                super::objections::CLAIM,
                batches(by_dest, Batch::Objection),
            )
        }
        Queue::Fund => {
            let (n, by_dest) = delivery::claim(p, skip).await?;
            (n, delivery::CLAIM, batches(by_dest, Batch::Fund))
        }
    };
    Ok(Claimed {
        rows,
        full: rows >= usize::try_from(limit).unwrap_or(usize::MAX),
        batches,
    })
}

/// The lanes with a batch in flight.
#[derive(Debug, Default)]
pub struct Lanes {
    busy: HashMap<Id, (Queue, String)>,
    tasks: JoinSet<()>,
}

impl Lanes {
    /// The destinations of `queue` whose lane is busy, for the next claim to leave out.
    pub fn busy(&self, queue: Queue) -> Vec<String> {
        self.busy
            .values()
            .filter(|(q, _)| *q == queue)
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// Sends `batch` to `destination` in a lane of its own.
    pub fn start(&mut self, p: &Pusher, queue: Queue, destination: String, batch: Batch) {
        let p = p.clone();
        let dest = destination.clone();
        let handle = self.tasks.spawn(async move {
            let sent = match batch {
                Batch::Push(rows) => p.deliver(&dest, rows).await,
                Batch::Objection(rows) => p.deliver_objections(rows).await,
                Batch::Fund(rows) => delivery::deliver(&p, rows).await,
            };
            if let Err(e) = sent {
                // The rows keep their lease and are sent again once it runs out.
                tracing::warn!(queue = ?queue, destination = %dest, error = %e,
                    "delivery lane failed");
            }
        });
        self.busy.insert(handle.id(), (queue, destination));
    }

    /// Waits until a lane finishes and frees it (the delivery task then claims again, for a
    /// destination may have more waiting); never returns while none is busy.
    pub async fn finished(&mut self) {
        match self.tasks.join_next_with_id().await {
            Some(done) => self.free(done),
            None => std::future::pending().await,
        }
    }

    /// Frees the lanes that have finished, without waiting.
    pub fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.free(done);
        }
    }

    /// Waits for every lane to finish.
    pub async fn drain(&mut self) {
        while let Some(done) = self.tasks.join_next_with_id().await {
            self.free(done);
        }
    }

    fn free(&mut self, done: Result<(Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(error = %e, "a delivery lane panicked; its rows wait for their lease to end");
                }
                e.id()
            }
        };
        self.busy.remove(&id);
    }
}
