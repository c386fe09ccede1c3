//! Grants (授权他人使用) kept by the wallet's node, their revocation and their use count.

use sqlx::Row;

use super::audit::{append, AuditEntry};
use super::Db;

#[derive(Debug, Clone, serde::Serialize)]
pub struct GrantRow {
    pub id: String,
    pub cert_id: String,
    pub holder_id: String,
    pub grantee_id: String,
    /// The signed grant, base64url.
    pub token: String,
    pub signer: String,
    pub not_before: i64,
    pub not_after: i64,
    pub use_limit: Option<i64>,
    pub uses: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<GrantRow, sqlx::Error> {
    Ok(GrantRow {
        id: r.try_get("id")?,
        cert_id: r.try_get("cert_id")?,
        holder_id: r.try_get("holder_id")?,
        grantee_id: r.try_get("grantee_id")?,
        token: r.try_get("token")?,
        signer: r.try_get("signer")?,
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        use_limit: r.try_get("use_limit")?,
        uses: r.try_get("uses")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Db {
    /// Stores a verified grant with its audit entry; false when the id exists already.
    pub async fn insert_grant(
        &self,
        g: &GrantRow,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "INSERT INTO grants (id, cert_id, holder_id, grantee_id, token, signer, not_before, not_after,
               use_limit, uses, created_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, NULL) ON CONFLICT DO NOTHING",
        )
        .bind(&g.id)
        .bind(&g.cert_id)
        .bind(&g.holder_id)
        .bind(&g.grantee_id)
        .bind(&g.token)
        .bind(&g.signer)
        .bind(g.not_before)
        .bind(g.not_after)
        .bind(g.use_limit)
        .bind(g.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn grant(&self, id: &str) -> Result<Option<GrantRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM grants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Grants of the certificates of any of `holders` (a person and the enterprises they act
    /// for), newest first.
    pub async fn grants_given(&self, holders: &[String]) -> Result<Vec<GrantRow>, sqlx::Error> {
        if holders.is_empty() {
            return Ok(Vec::new());
        }
        let list = (1..=holders.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("SELECT * FROM grants WHERE holder_id IN ({list}) ORDER BY created_at DESC");
        let mut q = sqlx::query(&sql);
        for h in holders {
            q = q.bind(h);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    pub async fn grants_received(&self, grantee_id: &str) -> Result<Vec<GrantRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM grants WHERE grantee_id = $1 ORDER BY created_at DESC")
            .bind(grantee_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Revokes the holder's grant; false when it is not theirs or already revoked.
    pub async fn revoke_grant(
        &self,
        id: &str,
        holder_id: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        super::audit::lock_chain(&mut tx).await?;
        let n = sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND holder_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .bind(holder_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}
