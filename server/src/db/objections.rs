//! Objections (异议): filed by a holder, decided by the issuing department.

use sqlx::Row;

use super::audit::{append, AuditEntry};
use super::outbox::enqueue;
use super::Db;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectionRow {
    pub id: String,
    pub cert_id: String,
    pub holder_id: String,
    pub reporter: String,
    pub reason: String,
    /// `open`, `upheld` or `rejected`.
    pub status: String,
    pub deadline: i64,
    pub decision: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<ObjectionRow, sqlx::Error> {
    Ok(ObjectionRow {
        id: r.try_get("id")?,
        cert_id: r.try_get("cert_id")?,
        holder_id: r.try_get("holder_id")?,
        reporter: r.try_get("reporter")?,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        deadline: r.try_get("deadline")?,
        decision: r.try_get("decision")?,
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
    })
}

impl Db {
    /// Files an objection and marks a current certificate disputed, together; the tiers above
    /// hear of the dispute through the outbox.
    pub async fn file_objection(
        &self,
        o: &ObjectionRow,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO objections (id, cert_id, holder_id, reporter, reason, status, deadline, decision, created_at, decided_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6, NULL, $7, NULL)",
        )
        .bind(&o.id)
        .bind(&o.cert_id)
        .bind(&o.holder_id)
        .bind(&o.reporter)
        .bind(&o.reason)
        .bind(o.deadline)
        .bind(o.created_at)
        .execute(&mut *tx)
        .await?;
        let disputed = sqlx::query(
            "UPDATE certificates SET status = 'disputed' WHERE id = $1 AND status = 'valid'",
        )
        .bind(&o.cert_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if disputed == 1 {
            enqueue(&mut tx, &o.cert_id, "disputed", audit.at).await?;
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        if disputed == 1 {
            self.wake_outbox();
        }
        Ok(())
    }

    pub async fn objections_by(&self, reporter: &str) -> Result<Vec<ObjectionRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM objections WHERE reporter = $1 ORDER BY created_at DESC")
            .bind(reporter)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Objections against certificates a department issued, open ones first.
    pub async fn objections_for_issuer(
        &self,
        issuer: &str,
    ) -> Result<Vec<ObjectionRow>, sqlx::Error> {
        sqlx::query(
            "SELECT o.* FROM objections o JOIN certificates c ON c.id = o.cert_id WHERE c.issuer_code = $1
             ORDER BY CASE WHEN o.status = 'open' THEN 0 ELSE 1 END, o.deadline",
        )
        .bind(issuer)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    pub async fn objection(&self, id: &str) -> Result<Option<ObjectionRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM objections WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Records the department's decision on an open objection. A rejected objection returns a
    /// disputed certificate to valid (unless another objection is still open); an upheld one
    /// leaves it disputed until the department corrects or revokes it.
    pub async fn decide_objection(
        &self,
        id: &str,
        upheld: bool,
        decision: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE objections SET status = $1, decision = $2, decided_at = $3 WHERE id = $4 AND status = 'open' RETURNING cert_id",
        )
        .bind(if upheld { "upheld" } else { "rejected" })
        .bind(decision)
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let cert_id: String = row.try_get(0)?;
        let mut restored = 0;
        if !upheld {
            restored = sqlx::query(
                "UPDATE certificates SET status = 'valid' WHERE id = $1 AND status = 'disputed'
                 AND NOT EXISTS (SELECT 1 FROM objections WHERE cert_id = $1 AND status IN ('open', 'upheld'))",
            )
            .bind(&cert_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if restored == 1 {
            enqueue(&mut tx, &cert_id, "dispute_resolved", now).await?;
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        if restored == 1 {
            self.wake_outbox();
        }
        Ok(true)
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
