//! The objection queue: messages about objections to other nodes — a holder's objection on its
//! way to the issuer's node, the department's decision on its way back to the wallet node —
//! written in the same transaction as the change they carry and kept until the receiver
//! acknowledges them (`federation::objections` sends them). As in the push outbox, a process
//! claims due rows with a lease, so processes sharing a database do not send a message twice
//! at once, and the receiver applies a repeated message harmlessly.

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::Db;

/// What the wallet node states about a holder's objection after checking the holder's right:
/// who holds (or should hold) which certificate, who reported it, why, and by when the
/// department must decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filed {
    pub objection: String,
    /// `wrong_data` or `missing`.
    pub kind: String,
    /// The certificate objected to; `None` for a missing one.
    pub cert_id: Option<String>,
    pub type_code: String,
    /// The department that issued the certificate, or should have.
    pub issuer_code: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    /// The holder's resident ID or credit code.
    pub holder_id: String,
    pub holder_name: String,
    /// The resident who reported: the holder, or one who acts for the enterprise.
    pub reporter: String,
    pub reason: String,
    pub filed_at: i64,
    pub deadline: i64,
}

/// The department's decision, as the issuer's node states it to the wallet node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decided {
    pub objection: String,
    /// `corrected` (a new version), `issued` (the missing certificate) or `rejected`.
    pub outcome: String,
    /// The reason for a rejection.
    pub decision: Option<String>,
    /// The new version or the newly issued certificate.
    pub new_cert_id: Option<String>,
    pub received_at: i64,
    pub decided_at: i64,
}

/// The payload of an objection envelope; the tag keeps one message from passing for another
/// (or for a push, whose payload has no tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum ObjectionMessage {
    ObjectionFiled(Filed),
    ObjectionDecided(Decided),
}

impl ObjectionMessage {
    pub fn objection(&self) -> &str {
        match self {
            ObjectionMessage::ObjectionFiled(f) => &f.objection,
            ObjectionMessage::ObjectionDecided(d) => &d.objection,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ObjectionMessage::ObjectionFiled(_) => "objection_filed",
            ObjectionMessage::ObjectionDecided(_) => "objection_decided",
        }
    }
}

/// The receiver's signed answer: which message of which objection it recorded, and when (for
/// a filing, the time the issuer's node received it — the holder's "received" step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum ObjectionReply {
    ObjectionAck {
        objection: String,
        of: String,
        at: i64,
    },
}

/// A claimed message.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: String,
    pub objection_id: String,
    pub destination: String,
    pub message: String,
    pub payload: String,
    pub attempts: i64,
}

/// Queues `msg` for `destination` inside the caller's transaction, once per objection and
/// message; the caller wakes the delivery task after committing.
pub async fn enqueue_message(
    conn: &mut AnyConnection,
    msg: &ObjectionMessage,
    destination: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_string(msg).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO objection_outbox (id, objection_id, destination, message, payload,
           created_at, attempts, next_attempt_at, lease_until, delivered_at, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $6, NULL, NULL, NULL)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(format!("{}/{}", msg.objection(), msg.name()))
    .bind(msg.objection())
    .bind(destination)
    .bind(msg.name())
    .bind(payload)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a message delivered (or given up on, with the reason) inside the caller's transaction.
pub(super) async fn close_message(
    conn: &mut AnyConnection,
    id: &str,
    now: i64,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE objection_outbox SET delivered_at = $1, lease_until = NULL, last_error = $2
         WHERE id = $3",
    )
    .bind(now)
    .bind(error)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// Claims up to `limit` due, unleased, undelivered messages (oldest first) until
    /// `lease_until`, counting the attempt, leaving out the destinations in `skip`.
    pub async fn claim_objection_messages(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
        skip: &[String],
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        let rows = super::outbox::claim_due(
            &self.pool,
            "objection_outbox",
            "created_at",
            "id, objection_id, destination, message, payload, attempts, created_at",
            (now, lease_until, limit),
            skip,
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MessageRow {
                    id: r.try_get("id")?,
                    objection_id: r.try_get("objection_id")?,
                    destination: r.try_get("destination")?,
                    message: r.try_get("message")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Releases a claimed message for another attempt at `next_attempt_at`, noting why this one
    /// failed.
    pub async fn objection_message_failed(
        &self,
        id: &str,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE objection_outbox SET next_attempt_at = $1, lease_until = NULL, last_error = $2
             WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a message delivered, or — with `error` — refused for good by its receiver.
    pub async fn objection_message_closed(
        &self,
        id: &str,
        now: i64,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        close_message(&mut conn, id, now, error).await
    }

    /// Forgets messages delivered (or given up) before `before`; what they carried is kept in
    /// the objections themselves. Returns how many.
    pub async fn prune_objection_messages(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(
            "DELETE FROM objection_outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Undelivered objection messages, per destination region.
    pub async fn objection_messages_pending(
        &self,
    ) -> Result<std::collections::BTreeMap<String, i64>, sqlx::Error> {
        sqlx::query(
            "SELECT destination, COUNT(*) AS n FROM objection_outbox WHERE delivered_at IS NULL
             GROUP BY destination",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("destination")?, r.try_get("n")?)))
        .collect()
    }
}
