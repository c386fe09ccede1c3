//! Messages between the wallet province and the fund centre's node (application, decision,
//! rating), written with the change they report and kept until the receiver acknowledges them.
//! Processes sharing a database claim rows with a lease, as the certificate outbox does.

use sqlx::{AnyConnection, Row};

use super::Db;

/// A message to the other end of an application.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: String,
    pub destination: String,
    /// `application`, `decision` or `evaluation`.
    pub kind: String,
    pub application_id: String,
    /// The message body for decisions and evaluations; an application is built when sent.
    pub payload: String,
    pub attempts: i64,
}

pub(super) async fn insert_message(
    conn: &mut AnyConnection,
    m: &MessageRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO fund_messages (id, destination, kind, application_id, payload, created_at,
           attempts, next_attempt_at, lease_until, delivered_at, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $6, NULL, NULL, NULL)",
    )
    .bind(&m.id)
    .bind(&m.destination)
    .bind(&m.kind)
    .bind(&m.application_id)
    .bind(&m.payload)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// Claims up to `limit` due, unleased, undelivered messages until `lease_until`, counting
    /// the attempt and leaving out the destinations in `skip` (as `claim_outbox` does for
    /// pushes).
    pub async fn claim_fund_messages(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
        skip: &[String],
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        let rows = super::outbox::claim_due(
            &self.pool,
            "fund_messages",
            "created_at",
            "id, destination, kind, application_id, payload, attempts, created_at",
            (now, lease_until, limit),
            skip,
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MessageRow {
                    id: r.try_get("id")?,
                    destination: r.try_get("destination")?,
                    kind: r.try_get("kind")?,
                    application_id: r.try_get("application_id")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Marks a message acknowledged; an application's wallet copy is then under review.
    pub async fn fund_message_delivered(
        &self,
        m: &MessageRow,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE fund_messages SET delivered_at = $1, lease_until = NULL, last_error = NULL
             WHERE id = $2",
        )
        .bind(now)
        .bind(&m.id)
        .execute(&mut *tx)
        .await?;
        if m.kind == "application" {
            sqlx::query(
                "UPDATE fund_applications SET status = 'under_review', received_at = $1
                 WHERE id = $2 AND status = 'submitted'",
            )
            .bind(now)
            .bind(&m.application_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Releases a message for another attempt at `next_attempt_at`.
    pub async fn fund_message_failed(
        &self,
        id: &str,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE fund_messages SET next_attempt_at = $1, lease_until = NULL, last_error = $2
             WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Undelivered messages, for tests and operators.
    pub async fn fund_messages_pending(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM fund_messages WHERE delivered_at IS NULL")
            .fetch_one(&self.pool)
            .await
    }
}
