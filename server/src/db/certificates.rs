//! Certificates issued at this node (生成一个、入库一个).

use sqlx::{AnyConnection, Row};

use super::audit::{append, AuditEntry};
use super::outbox::enqueue;
use super::Db;

#[derive(Debug, Clone)]
pub struct CertRow {
    pub id: String,
    pub type_code: String,
    pub holder_kind: String,
    pub holder_id: String,
    pub holder_name: String,
    pub issuer_code: String,
    /// The sealed certificate, base64url of its binary form.
    pub sealed: String,
    pub status: String,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub issued_at: i64,
    pub replaced_by: Option<String>,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<CertRow, sqlx::Error> {
    Ok(CertRow {
        id: r.try_get("id")?,
        type_code: r.try_get("type_code")?,
        holder_kind: r.try_get("holder_kind")?,
        holder_id: r.try_get("holder_id")?,
        holder_name: r.try_get("holder_name")?,
        issuer_code: r.try_get("issuer_code")?,
        sealed: r.try_get("sealed")?,
        status: r.try_get("status")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        issued_at: r.try_get("issued_at")?,
        replaced_by: r.try_get("replaced_by")?,
    })
}

const INSERT: &str =
    "INSERT INTO certificates (id, type_code, holder_kind, holder_id, holder_name, issuer_code,
    sealed, status, valid_from, valid_until, issued_at, replaced_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)";

async fn insert<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    e: E,
    c: &CertRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT)
        .bind(&c.id)
        .bind(&c.type_code)
        .bind(&c.holder_kind)
        .bind(&c.holder_id)
        .bind(&c.holder_name)
        .bind(&c.issuer_code)
        .bind(&c.sealed)
        .bind(&c.status)
        .bind(c.valid_from)
        .bind(c.valid_until)
        .bind(c.issued_at)
        .execute(e)
        .await?;
    Ok(())
}

/// Stores a newly sealed certificate and queues its push, inside the caller's transaction.
pub(super) async fn insert_issued(
    conn: &mut AnyConnection,
    c: &CertRow,
    at: i64,
) -> Result<(), sqlx::Error> {
    insert(&mut *conn, c).await?;
    enqueue(conn, &c.id, "issued", at).await
}

/// Marks a current certificate superseded by `new`, stores `new` and queues both pushes,
/// inside the caller's transaction; false (nothing written) when the old one is not current.
pub(super) async fn replace_in(
    conn: &mut AnyConnection,
    old_id: &str,
    new: &CertRow,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE certificates SET status = 'superseded', replaced_by = $1
         WHERE id = $2 AND status IN ('valid', 'disputed')",
    )
    .bind(&new.id)
    .bind(old_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    insert(&mut *conn, new).await?;
    enqueue(conn, old_id, "superseded", at).await?;
    enqueue(conn, &new.id, "corrected", at).await?;
    Ok(true)
}

impl Db {
    /// Stores a newly sealed certificate, its push to the tiers above and its audit entry
    /// together.
    pub async fn insert_certificate(
        &self,
        c: &CertRow,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_issued(&mut tx, c, audit.at).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(())
    }

    /// Stores a corrected version and marks the old one superseded, with both pushes, in one
    /// transaction.
    /// Refuses (returns false) when the old one is no longer current.
    pub async fn replace_certificate(
        &self,
        old_id: &str,
        new: &CertRow,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !replace_in(&mut tx, old_id, new, audit.at).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(true)
    }

    pub async fn certificate(&self, id: &str) -> Result<Option<CertRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM certificates WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Revokes a current certificate and queues the push of its status; false when it was not
    /// current.
    pub async fn revoke_certificate(
        &self,
        id: &str,
        issuer: &str,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE certificates SET status = 'revoked' WHERE id = $1 AND issuer_code = $2
             AND status IN ('valid', 'disputed')",
        )
        .bind(id)
        .bind(issuer)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        enqueue(&mut tx, id, "revoked", audit.at).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(true)
    }

    pub async fn certificates_of_holder(
        &self,
        holder_id: &str,
    ) -> Result<Vec<CertRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM certificates WHERE holder_id = $1 ORDER BY issued_at DESC")
            .bind(holder_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }
}
