//! The delivery task: sends the outbox (`db::outbox`) to the tiers above.
//!
//! ```text
//!  issue / revoke / correct / dispute ──same transaction──▶ outbox rows (one per destination)
//!        │ wake                                                  │ claim with a lease
//!        ▼                                                       ▼
//!  delivery task ──NodeEnvelope{events}, service token──▶ POST /federation/v1/push (province, national)
//!        ◀──────────────────── { "acked": [seq…] } ──────────────┘
//!  acked → delivered; refused or unreachable → retried after 1, 2, 4 … 30 s
//! ```
//!
//! One task per process, started by `server::start`. It wakes when a commit queued events or a
//! delivery lane finished, and otherwise polls every `POLL`, which also picks up rows whose
//! backoff has ended, leases other processes let lapse, and certificates whose validity has
//! ended (queued once as `expired`). Each round claims the push outbox, the objection queue
//! (`federation::objections`) and the housing-fund messages (`fund::delivery`) and hands each
//! destination's rows to a lane of its own (`federation::lanes`): a tier that never answers
//! holds up only its own deliveries, for the call budget, while the others go on.
//! Events for this node's own region (a province's or the national node's own certificates)
//! are applied to its own index without a call. The task ends when the last `AppState` holding
//! its `Outbox` handle is dropped, or with the runtime.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wallet_core::{NodeEnvelope, NodeKey, RegionCode};

use super::client::Budget;
use super::lanes::{self, Lanes, Queue};
use super::Federation;
use crate::db::audit::hex_sha256;
use crate::db::outbox::{OutboxRow, PushAck, PushBatch, PushEvent};
use crate::db::Db;
use crate::state::Clock;

/// The receiving route.
pub const PUSH_PATH: &str = "/federation/v1/push";
/// How often the task looks at the outbox when nothing woke it.
pub const POLL: Duration = Duration::from_secs(1);
/// The longest wait between two attempts at an event, in seconds.
pub const MAX_BACKOFF: i64 = 30;
/// How long a claimed row stays reserved for the process that claimed it, in seconds.
pub const LEASE: i64 = 60;
/// Rows claimed per round.
pub const CLAIM: i64 = 200;
/// The most payload bytes per push, well inside the receiver's body limit once the payload is
/// escaped into the envelope.
const MAX_PAYLOAD: usize = 40 * 1024;
/// Time allowed for one push call.
const PUSH_BUDGET: Duration = Duration::from_secs(10);
/// Delivered rows are kept this long (seconds) for inspection, then pruned.
const KEEP_DELIVERED: i64 = 7 * 86400;

/// The handle that keeps the delivery task alive: dropping it (with the `AppState` that holds
/// it) stops the task.
#[derive(Debug)]
pub struct Outbox {
    task: tokio::task::AbortHandle,
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the task needs of the node; deliberately not an `AppState`, which would keep itself
/// alive.
#[derive(Clone, Debug)]
pub struct Pusher {
    pub db: Db,
    pub clock: Clock,
    pub federation: Arc<Federation>,
    pub node_key: Arc<NodeKey>,
}

/// Starts the delivery task on the current runtime.
pub fn spawn(p: Pusher) -> Outbox {
    let task = tokio::spawn(run(p));
    Outbox {
        task: task.abort_handle(),
    }
}

/// Seconds to wait after the `attempts`-th failed attempt: 1, 2, 4, 8, 16, then 30.
pub fn backoff(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 6) - 1;
    (1i64 << exp).min(MAX_BACKOFF)
}

async fn run(p: Pusher) {
    let mut lanes = Lanes::default();
    let mut last_prune = i64::MIN;
    let mut last_token_prune = i64::MIN;
    loop {
        let now = p.clock.now();
        if now.saturating_sub(last_prune) > 3600 {
            last_prune = now;
            if let Err(e) = p.db.prune_outbox(now - KEEP_DELIVERED).await {
                tracing::warn!(error = %e, "outbox: pruning delivered events failed");
            }
            if let Err(e) = p.db.prune_objection_messages(now - KEEP_DELIVERED).await {
                tracing::warn!(error = %e, "outbox: pruning delivered objection messages failed");
            }
        }
        if now.saturating_sub(last_token_prune) >= 60 {
            last_token_prune = now;
            if let Err(e) = p.db.forget_service_tokens(now - 60).await {
                tracing::warn!(error = %e, "forgetting expired service-token ids failed");
            }
            if let Err(e) = p.db.forget_rate_windows(now - 120).await {
                tracing::warn!(error = %e, "forgetting past rate-limit windows failed");
            }
        }
        if let Err(e) = p.db.enqueue_expiries(now, CLAIM).await {
            tracing::warn!(error = %e, "outbox: queueing expiries failed");
        }
        lanes.reap();
        let mut full = false;
        for queue in Queue::ALL {
            match lanes::claim(&p, queue, &lanes.busy(queue)).await {
                Ok(claimed) => {
                    full |= claimed.full;
                    for (dest, batch) in claimed.batches {
                        lanes.start(&p, queue, dest, batch);
                    }
                }
                Err(e) => tracing::warn!(queue = ?queue, error = %e, "outbox: claiming failed"),
            }
        }
        if !full {
            tokio::select! {
                _ = p.db.outbox_wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = lanes.finished() => {}
            }
        }
    }
}

impl Pusher {
    /// Claims the due rows and delivers them, each destination in a lane of its own, and
    /// waits for all; returns how many rows it claimed. (The delivery task does not wait: it
    /// claims again for the lanes that are free.)
    pub async fn round(&self) -> Result<usize, sqlx::Error> {
        let claimed = lanes::claim(self, Queue::Push, &[]).await?;
        let mut lanes = Lanes::default();
        for (dest, batch) in claimed.batches {
            lanes.start(self, Queue::Push, dest, batch);
        }
        lanes.drain().await;
        Ok(claimed.rows)
    }

    /// Claims the due rows, leaving out the destinations in `skip`; returns how many it
    /// claimed, grouped by destination (in event order within each).
    pub async fn claim_pushes(
        &self,
        skip: &[String],
    ) -> Result<(usize, BTreeMap<String, Vec<OutboxRow>>), sqlx::Error> {
        let now = self.clock.now();
        let rows = self.db.claim_outbox(now, now + LEASE, CLAIM, skip).await?;
        let claimed = rows.len();
        let mut by_dest: BTreeMap<String, Vec<OutboxRow>> = BTreeMap::new();
        for r in rows {
            by_dest.entry(r.destination.clone()).or_default().push(r);
        }
        Ok((claimed, by_dest))
    }

    /// Sends one destination's claimed rows, chunk by chunk.
    pub async fn deliver(&self, dest: &str, rows: Vec<OutboxRow>) -> Result<(), sqlx::Error> {
        let now = self.clock.now();
        let mut events = Vec::with_capacity(rows.len());
        let mut good = Vec::with_capacity(rows.len());
        for r in rows {
            match serde_json::from_str::<PushEvent>(&r.payload) {
                Ok(e) => {
                    events.push(e);
                    good.push(r);
                }
                // Cannot happen for rows this code wrote; kept out of the way, not dropped.
                Err(e) => {
                    self.db
                        .outbox_failed(&[r.id], now + MAX_BACKOFF, &format!("payload: {e}"))
                        .await?
                }
            }
        }
        let Ok(to) = dest.parse::<RegionCode>() else {
            let ids: Vec<String> = good.into_iter().map(|r| r.id).collect();
            return self
                .db
                .outbox_failed(&ids, now + MAX_BACKOFF, "destination is not a region code")
                .await;
        };
        let own = self.federation.registry.own();
        if to == own {
            let ids: Vec<String> = good.iter().map(|r| r.id.clone()).collect();
            return self.db.apply_own_events(own, &ids, &events, now).await;
        }
        // Chunk by chunk; after a failure the rest waits for the next round with it, and the
        // round leaves one warning naming the tier.
        let mut failed: Vec<OutboxRow> = Vec::new();
        let mut reason = String::new();
        for (rows, events) in chunks(good, events) {
            if !failed.is_empty() {
                failed.extend(rows);
                continue;
            }
            if let Err((rows, why)) = self.send(to, rows, events).await? {
                failed.extend(rows);
                reason = why;
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        let attempts = failed.iter().map(|r| r.attempts).max().unwrap_or(1);
        let retry_in = backoff(attempts);
        tracing::warn!(
            tier = %self.federation.registry.name_of(to), region = %to, events = failed.len(),
            attempt = attempts, retry_in_s = retry_in, error = %reason,
            "push to the tier above failed; will retry"
        );
        let ids: Vec<String> = failed.into_iter().map(|r| r.id).collect();
        self.db.outbox_failed(&ids, now + retry_in, &reason).await
    }

    /// One push call: the events in an envelope signed with the node key, sent with a service
    /// token. Acknowledged rows are marked delivered; the others come back with the reason.
    async fn send(
        &self,
        to: RegionCode,
        rows: Vec<OutboxRow>,
        events: Vec<PushEvent>,
    ) -> Result<Result<(), (Vec<OutboxRow>, String)>, sqlx::Error> {
        let now = self.clock.now();
        let own = self.federation.registry.own();
        let (first, last) = (
            events.first().map_or(0, |e| e.seq),
            events.last().map_or(0, |e| e.seq),
        );
        let payload = match serde_json::to_string(&PushBatch { events }) {
            Ok(p) => p,
            Err(e) => return Ok(Err((rows, format!("encode: {e}")))),
        };
        let envelope = NodeEnvelope::seal(&self.node_key, own, to, now, payload);
        let correlation =
            hex_sha256(format!("push:{own}:{to}:{first}-{last}:{now}").as_bytes())[..32].to_owned();
        let answer: Result<PushAck, _> = self
            .federation
            .client
            .post(
                &self.federation.registry,
                &self.node_key,
                to,
                PUSH_PATH,
                &correlation,
                &envelope,
                Budget::new(PUSH_BUDGET),
                now,
            )
            .await;
        match answer {
            Ok(ack) => {
                let (done, missing): (Vec<OutboxRow>, Vec<OutboxRow>) =
                    rows.into_iter().partition(|r| ack.acked.contains(&r.seq));
                let done: Vec<String> = done.into_iter().map(|r| r.id).collect();
                self.db.outbox_delivered(&done, now).await?;
                if missing.is_empty() {
                    Ok(Ok(()))
                } else {
                    Ok(Err((missing, "not acknowledged".into())))
                }
            }
            Err(e) => Ok(Err((rows, e.to_string()))),
        }
    }
}

/// Splits the events into pushes of at most `MAX_PAYLOAD` bytes (at least one event each).
fn chunks(rows: Vec<OutboxRow>, events: Vec<PushEvent>) -> Vec<(Vec<OutboxRow>, Vec<PushEvent>)> {
    let mut out: Vec<(Vec<OutboxRow>, Vec<PushEvent>)> = Vec::new();
    let mut size = 0;
    for (r, e) in rows.into_iter().zip(events) {
        let len = r.payload.len() + 1;
        match out.last_mut() {
            Some((rs, es)) if size + len <= MAX_PAYLOAD => {
                rs.push(r);
                es.push(e);
                size += len;
            }
            _ => {
                out.push((vec![r], vec![e]));
                size = len;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let waits: Vec<i64> = (1..=8).map(backoff).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(0), 1);
    }
}
