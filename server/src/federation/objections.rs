//! Objections between nodes: a holder's objection goes from the wallet node to the issuer's
//! node, the department's decision comes back. Each message leaves the objection queue
//! (`db::objection_outbox`) in a `NodeEnvelope` signed by the sending node, under a service
//! token, and is sent again until the receiver's signed acknowledgement comes back.
//!
//! ```text
//!  wallet node (province)                                  issuer's node (city, national …)
//!  file ─▶ objections_filed + queue ──objection_filed──▶ POST /federation/v1/objections
//!          received_at, receipt ◀──── signed ack ────── objections_received; disputed (pushed up)
//!                                                         department: reject / correct / issue
//!          decided ◀────────────── objection_decided ── queue
//!                   ── signed ack ─────────────────────▶ delivered
//! ```
//!
//! Sending is part of the outbox task (`federation::outbox`), in a lane of its own per
//! destination.
//! A refusal that no retry can change (the issuer's node does not hold the certificate, say)
//! ends the attempts and is shown to the holder; anything else — a node down, slow, or refusing
//! the call itself — is retried with the push outbox's backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use wallet_core::{NodeEnvelope, RegionCode};

use super::outbox::{backoff, Pusher, LEASE};
use super::registry::Registry;
use super::Budget;
use crate::db::audit::{hex_sha256, AuditEntry};
use crate::db::objection_outbox::{MessageRow, ObjectionReply};
use crate::error::ApiError;

/// The receiving route, on both sides.
pub const OBJECTIONS_PATH: &str = "/federation/v1/objections";
/// How far an envelope's `sent_at` may lie from the receiver's clock.
pub const ENVELOPE_WINDOW: i64 = 300;
/// Time allowed for one call.
const SEND_BUDGET: Duration = Duration::from_secs(10);
/// Messages claimed per round.
pub const CLAIM: i64 = 100;

/// Refusals by the receiver that a retry cannot change.
pub const FINAL_REFUSALS: &[&str] = &[
    "objection_invalid",
    "objection_certificate_unknown",
    "objection_holder_mismatch",
    "objection_type_unknown",
    "objection_id_taken",
    "objection_not_found",
];

/// Checks a receiver's signed acknowledgement of `row`: from the node it was sent to, addressed
/// here, recent, signed by a key the registry lists, about this objection and message. Returns
/// the time it states.
pub fn check_ack(
    registry: &Registry,
    to: RegionCode,
    reply: &NodeEnvelope,
    row: &MessageRow,
    now: i64,
) -> Result<i64, String> {
    let own = registry.own();
    if reply.from != to {
        return Err(format!("acknowledged by {}, not {to}", reply.from));
    }
    if (reply.sent_at - now).abs() > ENVELOPE_WINDOW {
        return Err("stale acknowledgement".into());
    }
    let key = registry
        .key(to, reply.signer, now)
        .ok_or("acknowledgement signed by an unknown key")?;
    let payload = reply
        .open(key, own)
        .map_err(|e| format!("acknowledgement: {e}"))?;
    let ObjectionReply::ObjectionAck { objection, of, at } =
        serde_json::from_str(payload).map_err(|e| format!("acknowledgement: {e}"))?;
    if objection != row.objection_id || of != row.message {
        return Err("acknowledgement of another message".into());
    }
    Ok(at)
}

impl Pusher {
    /// Claims the due objection messages, leaving out the destinations in `skip`; returns how
    /// many it claimed, grouped by destination (oldest first within each).
    pub async fn claim_objections(
        &self,
        skip: &[String],
    ) -> Result<(usize, BTreeMap<String, Vec<MessageRow>>), sqlx::Error> {
        let now = self.clock.now();
        let rows = self
            .db
            .claim_objection_messages(now, now + LEASE, CLAIM, skip)
            .await?;
        let claimed = rows.len();
        let mut by_dest: BTreeMap<String, Vec<MessageRow>> = BTreeMap::new();
        for row in rows {
            by_dest
                .entry(row.destination.clone())
                .or_default()
                .push(row);
        }
        Ok((claimed, by_dest))
    }

    /// Sends one destination's claimed messages in order; after a failure the rest wait for
    /// the next attempt with it.
    pub async fn deliver_objections(&self, rows: Vec<MessageRow>) -> Result<(), sqlx::Error> {
        let mut failed: Option<(i64, String)> = None;
        for row in rows {
            if let Some((retry_at, why)) = &failed {
                self.db
                    .objection_message_failed(&row.id, *retry_at, why)
                    .await?;
                continue;
            }
            if let Err(why) = self.send_objection_message(&row).await? {
                let retry_in = backoff(row.attempts);
                tracing::warn!(
                    objection = %row.objection_id, message = %row.message,
                    destination = %row.destination, attempt = row.attempts, retry_in_s = retry_in,
                    error = %why, "objection message not delivered; will retry"
                );
                let retry_at = self.clock.now() + retry_in;
                self.db
                    .objection_message_failed(&row.id, retry_at, &why)
                    .await?;
                failed = Some((retry_at, why));
            }
        }
        Ok(())
    }

    /// One call: the message sealed for its destination. Acknowledged → delivered (for a
    /// filing, the holder's "received" step); refused for good → given up, the holder told;
    /// otherwise the reason to retry.
    async fn send_objection_message(
        &self,
        row: &MessageRow,
    ) -> Result<Result<(), String>, sqlx::Error> {
        let now = self.clock.now();
        let registry = &self.federation.registry;
        let Ok(to) = row.destination.parse::<RegionCode>() else {
            return Ok(Err("destination is not a region code".into()));
        };
        let envelope =
            NodeEnvelope::seal(&self.node_key, registry.own(), to, now, row.payload.clone());
        let answer: Result<NodeEnvelope, ApiError> = self
            .federation
            .client
            .post(
                registry,
                &self.node_key,
                to,
                OBJECTIONS_PATH,
                &row.objection_id,
                &envelope,
                Budget::new(SEND_BUDGET),
                now,
            )
            .await;
        match answer {
            Ok(reply) => {
                let at = match check_ack(registry, to, &reply, row, self.clock.now()) {
                    Ok(at) => at,
                    Err(why) => return Ok(Err(why)),
                };
                if row.message == "objection_filed" {
                    let receipt = serde_json::to_string(&reply).unwrap_or_default();
                    self.db
                        .objection_acknowledged(&row.id, &row.objection_id, at, &receipt, now)
                        .await?;
                } else {
                    self.db.objection_message_closed(&row.id, now, None).await?;
                }
                Ok(Ok(()))
            }
            Err(ApiError::Relayed { code, title, .. })
                if FINAL_REFUSALS.contains(&code.as_str()) =>
            {
                self.refused(row, to, &code, &title, now).await?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    /// The receiver refused a message for good: a filing is shown to the holder as
    /// undeliverable with the receiver's reason (and audited); a decision the wallet node does
    /// not know is logged and dropped.
    async fn refused(
        &self,
        row: &MessageRow,
        to: RegionCode,
        code: &str,
        title: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        tracing::warn!(
            objection = %row.objection_id, message = %row.message, destination = %to,
            code = %code, "objection message refused by its receiver; not sent again"
        );
        if row.message != "objection_filed" {
            return self
                .db
                .objection_message_closed(&row.id, now, Some(code))
                .await;
        }
        let detail = serde_json::json!({ "to": to.to_string(), "code": code }).to_string();
        let audit = AuditEntry {
            at: now,
            correlation_id: row.objection_id.clone(),
            action: "objection_undeliverable".into(),
            actor: format!("node:{to}"),
            subject: row.objection_id.clone(),
            request_hash: hex_sha256(row.payload.as_bytes()),
            detail,
            result: code.into(),
            response_hash: hex_sha256(title.as_bytes()),
            latency_ms: 0,
        };
        self.db
            .objection_undeliverable(&row.id, &row.objection_id, title, now, &audit)
            .await
    }
}
