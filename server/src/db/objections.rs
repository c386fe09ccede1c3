//! Objections (异议) at the wallet node: what a holder reported, which the holder follows —
//! filed → received by the issuer's node → corrected / issued / rejected (or undeliverable,
//! when the issuer's node refused it for good).
//!
//! When the certificate (or the department) is at this very node, the issuer's record
//! (`received_objections`) is written in the same transaction; otherwise the filing goes
//! through the objection queue (`objection_outbox`), in the same transaction as the record.

use sqlx::{AnyConnection, Row};

use super::audit::{append, AuditEntry};
use super::objection_outbox::{close_message, enqueue_message, Decided, Filed, ObjectionMessage};
use super::received_objections::{receive_in, ReceivedRow};
use super::Db;

/// Statuses of a filed objection that is still waiting for its decision.
const WAITING: &str = "('filed', 'received')";

/// The wallet node's record of one objection.
#[derive(Debug, Clone)]
pub struct FiledRow {
    pub id: String,
    /// `wrong_data` or `missing`.
    pub kind: String,
    pub cert_id: Option<String>,
    pub type_code: String,
    pub type_name: String,
    pub issuer_code: String,
    pub issuer_name: String,
    /// The issuer's node; `None` when it is this node.
    pub destination: Option<String>,
    pub holder_kind: String,
    pub holder_id: String,
    pub holder_name: String,
    pub reporter: String,
    pub reason: String,
    /// `filed`, `received`, `corrected`, `issued`, `rejected` or `undeliverable`.
    pub status: String,
    pub filed_at: i64,
    pub deadline: i64,
    pub received_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// The reason for a rejection, or why the issuer's node refused the objection.
    pub decision: Option<String>,
    pub new_cert_id: Option<String>,
}

impl FiledRow {
    /// The message that carries this objection to the issuer's node.
    pub fn message(&self) -> Filed {
        Filed {
            objection: self.id.clone(),
            kind: self.kind.clone(),
            cert_id: self.cert_id.clone(),
            type_code: self.type_code.clone(),
            issuer_code: self.issuer_code.clone(),
            holder_kind: self.holder_kind.clone(),
            holder_id: self.holder_id.clone(),
            holder_name: self.holder_name.clone(),
            reporter: self.reporter.clone(),
            reason: self.reason.clone(),
            filed_at: self.filed_at,
            deadline: self.deadline,
        }
    }
}

fn filed_from(r: &sqlx::any::AnyRow) -> Result<FiledRow, sqlx::Error> {
    Ok(FiledRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        cert_id: r.try_get("cert_id")?,
        type_code: r.try_get("type_code")?,
        type_name: r.try_get("type_name")?,
        issuer_code: r.try_get("issuer_code")?,
        issuer_name: r.try_get("issuer_name")?,
        destination: r.try_get("destination")?,
        holder_kind: r.try_get("holder_kind")?,
        holder_id: r.try_get("holder_id")?,
        holder_name: r.try_get("holder_name")?,
        reporter: r.try_get("reporter")?,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        filed_at: r.try_get("filed_at")?,
        deadline: r.try_get("deadline")?,
        received_at: r.try_get("received_at")?,
        decided_at: r.try_get("decided_at")?,
        decision: r.try_get("decision")?,
        new_cert_id: r.try_get("new_cert_id")?,
    })
}

/// How a decision reached the wallet node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Already applied before (a repeated delivery).
    Known,
    /// No objection of that id was sent to the node that decided it.
    NotFound,
}

async fn insert_filed(conn: &mut AnyConnection, o: &FiledRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO objections_filed (id, kind, cert_id, type_code, type_name, issuer_code,
           issuer_name, destination, holder_kind, holder_id, holder_name, reporter, reason, status,
           filed_at, deadline, received_at, decided_at, decision, new_cert_id, receipt,
           decision_envelope)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, NULL,
           NULL, NULL, NULL, NULL)",
    )
    .bind(&o.id)
    .bind(&o.kind)
    .bind(&o.cert_id)
    .bind(&o.type_code)
    .bind(&o.type_name)
    .bind(&o.issuer_code)
    .bind(&o.issuer_name)
    .bind(&o.destination)
    .bind(&o.holder_kind)
    .bind(&o.holder_id)
    .bind(&o.holder_name)
    .bind(&o.reporter)
    .bind(&o.reason)
    .bind(&o.status)
    .bind(o.filed_at)
    .bind(o.deadline)
    .bind(o.received_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies a decision to the filed record inside the caller's transaction: `from` is the node
/// that decided (`None`: this node), `envelope` its signed statement.
pub(super) async fn apply_decided_in(
    conn: &mut AnyConnection,
    d: &Decided,
    from: Option<&str>,
    envelope: Option<&str>,
) -> Result<Applied, sqlx::Error> {
    let sql = format!(
        "UPDATE objections_filed SET status = $1, decision = $2, new_cert_id = $3,
           decided_at = $4, received_at = COALESCE(received_at, $5), decision_envelope = $6
         WHERE id = $7 AND status IN {WAITING} AND {}",
        if from.is_some() {
            "destination = $8"
        } else {
            "destination IS NULL"
        }
    );
    let mut q = sqlx::query(&sql)
        .bind(&d.outcome)
        .bind(&d.decision)
        .bind(&d.new_cert_id)
        .bind(d.decided_at)
        .bind(d.received_at)
        .bind(envelope)
        .bind(&d.objection);
    if let Some(f) = from {
        q = q.bind(f);
    }
    if q.execute(&mut *conn).await?.rows_affected() == 1 {
        return Ok(Applied::Changed);
    }
    let known = sqlx::query("SELECT destination FROM objections_filed WHERE id = $1")
        .bind(&d.objection)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>(0))
        .transpose()?;
    Ok(match known {
        Some(dest) if dest.as_deref() == from => Applied::Known,
        _ => Applied::NotFound,
    })
}

impl Db {
    /// Files an objection at the wallet node. When the issuer is this node, its record (and the
    /// dispute) are written in the same transaction; otherwise the filing is queued for the
    /// issuer's node. The audit entry goes with it.
    pub async fn file_objection(
        &self,
        o: &FiledRow,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_filed(&mut tx, o).await?;
        match &o.destination {
            None => {
                let r = ReceivedRow::of(&o.message(), None, o.filed_at);
                receive_in(&mut tx, &r).await?;
            }
            Some(dest) => {
                let msg = ObjectionMessage::ObjectionFiled(o.message());
                enqueue_message(&mut tx, &msg, dest, o.filed_at).await?;
            }
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(())
    }

    /// Whether the holder already has an objection waiting about this certificate, or about
    /// this type from this department for a missing one.
    pub async fn objection_waiting(
        &self,
        holder_id: &str,
        cert_id: Option<&str>,
        type_code: &str,
        issuer_code: &str,
    ) -> Result<bool, sqlx::Error> {
        let row = match cert_id {
            Some(c) => sqlx::query(
                "SELECT 1 FROM objections_filed WHERE holder_id = $1 AND cert_id = $2
                 AND status IN ('filed', 'received')",
            )
            .bind(holder_id)
            .bind(c),
            None => sqlx::query(
                "SELECT 1 FROM objections_filed WHERE holder_id = $1 AND kind = 'missing'
                 AND type_code = $2 AND issuer_code = $3 AND status IN ('filed', 'received')",
            )
            .bind(holder_id)
            .bind(type_code)
            .bind(issuer_code),
        }
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The objections a person filed, and those about enterprises they act for, newest first.
    pub async fn objections_of(&self, resident_id: &str) -> Result<Vec<FiledRow>, sqlx::Error> {
        sqlx::query(
            "SELECT * FROM objections_filed WHERE reporter = $1 OR (holder_kind = 'enterprise'
               AND holder_id IN (SELECT credit_code FROM enterprises WHERE legal_rep_id = $1
                 UNION SELECT credit_code FROM enterprise_admins
                   WHERE resident_id = $1 AND removed_at IS NULL))
             ORDER BY filed_at DESC, id",
        )
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(filed_from)
        .collect()
    }

    pub async fn filed_objection(&self, id: &str) -> Result<Option<FiledRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM objections_filed WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(filed_from)
            .transpose()
    }

    /// The issuer's node acknowledged a filing: the message is delivered and the holder sees
    /// when it was received, with the signed acknowledgement kept.
    pub async fn objection_acknowledged(
        &self,
        message_id: &str,
        objection: &str,
        received_at: i64,
        receipt: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        close_message(&mut tx, message_id, now, None).await?;
        sqlx::query(
            "UPDATE objections_filed SET received_at = COALESCE(received_at, $1),
               status = CASE WHEN status = 'filed' THEN 'received' ELSE status END,
               receipt = COALESCE(receipt, $2)
             WHERE id = $3",
        )
        .bind(received_at)
        .bind(receipt)
        .bind(objection)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The issuer's node refused a filing for good: the holder sees why, and the message is
    /// not sent again.
    pub async fn objection_undeliverable(
        &self,
        message_id: &str,
        objection: &str,
        why: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        close_message(&mut tx, message_id, now, Some(why)).await?;
        sqlx::query(
            "UPDATE objections_filed SET status = 'undeliverable', decision = $1, decided_at = $2
             WHERE id = $3 AND status = 'filed'",
        )
        .bind(why)
        .bind(now)
        .bind(objection)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, audit).await?;
        tx.commit().await
    }

    /// A decision arrived from the issuer's node `from`: the holder sees it, with the signed
    /// statement kept. Audited when it changed anything.
    pub async fn apply_objection_decision(
        &self,
        from: &str,
        d: &Decided,
        envelope: &str,
        audit: &AuditEntry,
    ) -> Result<Applied, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let applied = apply_decided_in(&mut tx, d, Some(from), Some(envelope)).await?;
        if applied == Applied::Changed {
            append(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(applied)
    }

    pub async fn enterprise(
        &self,
        credit_code: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT credit_code, name FROM enterprises WHERE credit_code = $1 OR name = $1",
        )
        .bind(credit_code)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    pub async fn add_enterprise_admin(
        &self,
        credit_code: &str,
        resident_id: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO enterprise_admins (credit_code, resident_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(credit_code)
            .bind(resident_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
