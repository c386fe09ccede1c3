//! Objections (异议) at the issuer's node: what arrived from a wallet node (or was filed here),
//! which the departments decide. Receiving a `wrong_data` objection marks a current
//! certificate disputed (pushed up like any status); rejecting the last open one returns it to
//! valid; a correction answers every open objection against the old version. Each decision
//! goes back to the holder in the same transaction: applied here when filed here, otherwise
//! queued for the wallet node (`objection_outbox`).

use sqlx::{AnyConnection, Row};

use super::audit::{append, AuditEntry};
use super::certificates::{insert_issued, replace_in, CertRow};
use super::objection_outbox::{enqueue_message, Decided, Filed, ObjectionMessage};
use super::objections::apply_decided_in;
use super::outbox::enqueue;
use super::Db;

/// The issuer node's record of one objection.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReceivedRow {
    pub id: String,
    /// The wallet node that sent it; `None` when it was filed at this node.
    pub origin: Option<String>,
    pub kind: String,
    pub cert_id: Option<String>,
    pub type_code: String,
    pub issuer_code: String,
    pub holder_kind: String,
    pub holder_id: String,
    pub holder_name: String,
    pub reporter: String,
    pub reason: String,
    /// `open`, `corrected`, `issued` or `rejected`.
    pub status: String,
    pub filed_at: i64,
    pub deadline: i64,
    pub received_at: i64,
    pub decided_at: Option<i64>,
    pub decision: Option<String>,
    pub new_cert_id: Option<String>,
}

impl ReceivedRow {
    /// The record of a filing that arrived at `received_at` from `origin`.
    pub fn of(f: &Filed, origin: Option<String>, received_at: i64) -> Self {
        ReceivedRow {
            id: f.objection.clone(),
            origin,
            kind: f.kind.clone(),
            cert_id: f.cert_id.clone(),
            type_code: f.type_code.clone(),
            issuer_code: f.issuer_code.clone(),
            holder_kind: f.holder_kind.clone(),
            holder_id: f.holder_id.clone(),
            holder_name: f.holder_name.clone(),
            reporter: f.reporter.clone(),
            reason: f.reason.clone(),
            status: "open".into(),
            filed_at: f.filed_at,
            deadline: f.deadline,
            received_at,
            decided_at: None,
            decision: None,
            new_cert_id: None,
        }
    }

    fn decided(&self) -> Decided {
        Decided {
            objection: self.id.clone(),
            outcome: self.status.clone(),
            decision: self.decision.clone(),
            new_cert_id: self.new_cert_id.clone(),
            received_at: self.received_at,
            decided_at: self.decided_at.unwrap_or(self.received_at),
        }
    }
}

fn received_from(r: &sqlx::any::AnyRow) -> Result<ReceivedRow, sqlx::Error> {
    Ok(ReceivedRow {
        id: r.try_get("id")?,
        origin: r.try_get("origin")?,
        kind: r.try_get("kind")?,
        cert_id: r.try_get("cert_id")?,
        type_code: r.try_get("type_code")?,
        issuer_code: r.try_get("issuer_code")?,
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

/// What became of a filing that reached the issuer's node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Recorded now.
    Recorded { received_at: i64 },
    /// Already recorded (a repeated delivery), from this origin.
    Known {
        origin: Option<String>,
        received_at: i64,
    },
}

/// What became of a department's decision.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Decided; the objections answered, the named one first.
    Done(Vec<ReceivedRow>),
    /// No such objection addressed to this department.
    NotFound,
    /// It was decided before.
    AlreadyDecided,
    /// The objection is not about this certificate (or this holder and type).
    Mismatch,
    /// The certificate to correct is no longer current.
    NotCurrent,
}

/// Records a received objection and marks a current certificate disputed, inside the caller's
/// transaction. Returns (recorded, disputed); not recorded when the id is already known.
pub(super) async fn receive_in(
    conn: &mut AnyConnection,
    r: &ReceivedRow,
) -> Result<(bool, bool), sqlx::Error> {
    let recorded = sqlx::query(
        "INSERT INTO objections_received (id, origin, kind, cert_id, type_code, issuer_code,
           holder_kind, holder_id, holder_name, reporter, reason, status, filed_at, deadline,
           received_at, decided_at, decision, new_cert_id, envelope)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13, $14, NULL, NULL,
           NULL, NULL)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&r.id)
    .bind(&r.origin)
    .bind(&r.kind)
    .bind(&r.cert_id)
    .bind(&r.type_code)
    .bind(&r.issuer_code)
    .bind(&r.holder_kind)
    .bind(&r.holder_id)
    .bind(&r.holder_name)
    .bind(&r.reporter)
    .bind(&r.reason)
    .bind(r.filed_at)
    .bind(r.deadline)
    .bind(r.received_at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let mut disputed = false;
    if let (true, Some(cert)) = (recorded, &r.cert_id) {
        disputed = sqlx::query(
            "UPDATE certificates SET status = 'disputed' WHERE id = $1 AND status = 'valid'",
        )
        .bind(cert)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        if disputed {
            enqueue(conn, cert, "disputed", r.received_at).await?;
        }
    }
    Ok((recorded, disputed))
}

/// Audits a decision and sends it to the wallet node — or applies it here, when the objection
/// was filed here — inside the deciding transaction. The department `r.issuer_code` decided.
async fn answer(conn: &mut AnyConnection, r: &ReceivedRow, now: i64) -> Result<(), sqlx::Error> {
    let detail = serde_json::json!({
        "outcome": r.status, "cert_id": r.cert_id, "new_cert_id": r.new_cert_id, "to": r.origin,
    });
    let audit = AuditEntry::action(
        now,
        "objection_decision",
        format!("department:{}", r.issuer_code),
        &r.id,
        detail.to_string(),
        r.decision.as_deref().unwrap_or(""),
    );
    append(conn, &audit).await?;
    let decided = r.decided();
    match &r.origin {
        None => apply_decided_in(conn, &decided, None, None)
            .await
            .map(|_| ()),
        Some(origin) => {
            enqueue_message(
                conn,
                &ObjectionMessage::ObjectionDecided(decided),
                origin,
                now,
            )
            .await
        }
    }
}

/// Why objection `id` could not be decided by department `issuer`: unknown to it, decided
/// before, or (still open) about another certificate, holder or type. Asked after the
/// deciding write found nothing, inside the same transaction.
async fn refusal_for(
    conn: &mut AnyConnection,
    id: &str,
    issuer: &str,
) -> Result<Decision, sqlx::Error> {
    let status: Option<String> =
        sqlx::query("SELECT status FROM objections_received WHERE id = $1 AND issuer_code = $2")
            .bind(id)
            .bind(issuer)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    Ok(match status.as_deref() {
        None => Decision::NotFound,
        Some("open") => Decision::Mismatch,
        Some(_) => Decision::AlreadyDecided,
    })
}

/// Closes open objections (`WHERE` part given, binding from `$4`) with `status` and the new
/// certificate, answering each; returns them.
async fn close_with(
    conn: &mut AnyConnection,
    filter: &str,
    binds: &[&str],
    status: &str,
    new_cert: &str,
    now: i64,
) -> Result<Vec<ReceivedRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE objections_received SET status = $1, new_cert_id = $2, decided_at = $3
         WHERE status = 'open' AND {filter} RETURNING id"
    );
    let mut q = sqlx::query(&sql).bind(status).bind(new_cert).bind(now);
    for b in binds {
        q = q.bind(*b);
    }
    let ids: Vec<String> = q
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut closed = Vec::with_capacity(ids.len());
    for id in ids {
        let r = sqlx::query("SELECT * FROM objections_received WHERE id = $1")
            .bind(&id)
            .fetch_one(&mut *conn)
            .await?;
        let r = received_from(&r)?;
        answer(conn, &r, now).await?;
        closed.push(r);
    }
    Ok(closed)
}

impl Db {
    /// Records an objection that arrived from the wallet node `r.origin`, with the filing as it
    /// signed it, the dispute and the audit entry, in one transaction; a repeated delivery
    /// changes nothing.
    pub async fn receive_objection(
        &self,
        r: &ReceivedRow,
        envelope: &str,
        audit: &AuditEntry,
    ) -> Result<Receipt, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let (recorded, disputed) = receive_in(&mut tx, r).await?;
        if !recorded {
            let known =
                sqlx::query("SELECT origin, received_at FROM objections_received WHERE id = $1")
                    .bind(&r.id)
                    .fetch_one(&mut *tx)
                    .await?;
            let receipt = Receipt::Known {
                origin: known.try_get(0)?,
                received_at: known.try_get(1)?,
            };
            tx.rollback().await?;
            return Ok(receipt);
        }
        sqlx::query("UPDATE objections_received SET envelope = $1 WHERE id = $2")
            .bind(envelope)
            .bind(&r.id)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        if disputed {
            self.wake_outbox();
        }
        Ok(Receipt::Recorded {
            received_at: r.received_at,
        })
    }

    /// Objections addressed to a department: open ones first, by deadline; then the decided,
    /// latest first.
    pub async fn objections_for_issuer(
        &self,
        issuer: &str,
    ) -> Result<Vec<ReceivedRow>, sqlx::Error> {
        sqlx::query(
            "SELECT * FROM objections_received WHERE issuer_code = $1
             ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END,
               CASE WHEN status = 'open' THEN deadline ELSE -decided_at END, id",
        )
        .bind(issuer)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(received_from)
        .collect()
    }

    pub async fn received_objection(&self, id: &str) -> Result<Option<ReceivedRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM objections_received WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(received_from)
            .transpose()
    }

    /// The department rejects an open objection with a reason. A disputed certificate with no
    /// other open objection returns to valid (pushed up); the decision goes back to the holder.
    pub async fn reject_objection(
        &self,
        id: &str,
        issuer: &str,
        reason: &str,
        now: i64,
    ) -> Result<Decision, sqlx::Error> {
        // The deciding write comes first: on SQLite a transaction that read before writing
        // cannot take the write lock once another connection has committed meanwhile.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE objections_received SET status = 'rejected', decision = $1, decided_at = $2
             WHERE id = $3 AND issuer_code = $4 AND status = 'open' RETURNING *",
        )
        .bind(reason)
        .bind(now)
        .bind(id)
        .bind(issuer)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let refused = refusal_for(&mut tx, id, issuer).await?;
            tx.rollback().await?;
            return Ok(refused);
        };
        let r = received_from(&row)?;
        if let Some(cert) = &r.cert_id {
            let restored = sqlx::query(
                "UPDATE certificates SET status = 'valid' WHERE id = $1 AND status = 'disputed'
                 AND NOT EXISTS (SELECT 1 FROM objections_received
                   WHERE cert_id = $1 AND status = 'open')",
            )
            .bind(cert)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if restored {
                enqueue(&mut tx, cert, "dispute_resolved", now).await?;
            }
        }
        answer(&mut tx, &r, now).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(Decision::Done(vec![r]))
    }

    /// The department corrects a certificate: the new version supersedes the old, and every
    /// open objection against the old one is answered with it — the one named (which must be
    /// open, this department's and about this certificate) first. One transaction.
    pub async fn correct_with_objections(
        &self,
        old_id: &str,
        new: &CertRow,
        named: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<Decision, sqlx::Error> {
        let now = new.issued_at;
        // Writes first (see `reject_objection`); a refusal rolls them back.
        let mut tx = self.pool.begin().await?;
        if !replace_in(&mut tx, old_id, new, now).await? {
            tx.rollback().await?;
            return Ok(Decision::NotCurrent);
        }
        let mut closed = close_with(
            &mut tx,
            "cert_id = $4 AND issuer_code = $5 AND kind = 'wrong_data'",
            &[old_id, &new.issuer_code],
            "corrected",
            &new.id,
            now,
        )
        .await?;
        if let Some(id) = named {
            let Some(at) = closed.iter().position(|r| r.id == id) else {
                let refused = refusal_for(&mut tx, id, &new.issuer_code).await?;
                tx.rollback().await?;
                return Ok(refused);
            };
            let first = closed.remove(at);
            closed.insert(0, first);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(Decision::Done(closed))
    }

    /// The department issues the certificate a holder reported missing: stored and pushed as
    /// any issuance, the objection answered with it. The objection must be open, this
    /// department's, and name this holder and type.
    pub async fn issue_for_objection(
        &self,
        new: &CertRow,
        objection: &str,
        audit: &AuditEntry,
    ) -> Result<Decision, sqlx::Error> {
        let now = new.issued_at;
        // Writes first (see `reject_objection`); a refusal rolls them back.
        let mut tx = self.pool.begin().await?;
        insert_issued(&mut tx, new, now).await?;
        let closed = close_with(
            &mut tx,
            "id = $4 AND issuer_code = $5 AND kind = 'missing' AND type_code = $6
               AND holder_kind = $7 AND holder_id = $8",
            &[
                objection,
                &new.issuer_code,
                &new.type_code,
                &new.holder_kind,
                &new.holder_id,
            ],
            "issued",
            &new.id,
            now,
        )
        .await?;
        if closed.is_empty() {
            let refused = refusal_for(&mut tx, objection, &new.issuer_code).await?;
            tx.rollback().await?;
            return Ok(refused);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(Decision::Done(closed))
    }
}
