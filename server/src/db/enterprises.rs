//! Who acts for an enterprise at the wallet province: its legal representative (from the
//! registry) and the certificate administrators (证照管理员) the legal representative appoints
//! and removes. Removing an administrator ends the grants they signed for the enterprise.

use sqlx::Row;

use super::audit::{append, AuditEntry};
use super::Db;

/// How a person acts for an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseRole {
    /// 法定代表人.
    LegalRep,
    /// 证照管理员.
    Admin,
}

/// A current certificate administrator.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdminRow {
    pub resident_id: String,
    /// As the population registry holds it; `None` for someone the registry does not know.
    pub name: Option<String>,
    /// `None` for an administrator from the node's configuration.
    pub appointed_by: Option<String>,
    pub appointed_at: Option<i64>,
}

/// What an appointment found.
#[derive(Debug, PartialEq, Eq)]
pub enum Appointed {
    /// Appointed now (or again, after a removal).
    Now,
    /// Already a current administrator: nothing changed.
    Already,
}

impl Db {
    /// The person's role for the enterprise, the legal representative's first.
    pub async fn enterprise_role(
        &self,
        credit_code: &str,
        resident_id: &str,
    ) -> Result<Option<EnterpriseRole>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT 'legal_rep' FROM enterprises WHERE credit_code = $1 AND legal_rep_id = $2
             UNION ALL SELECT 'admin' FROM enterprise_admins
               WHERE credit_code = $1 AND resident_id = $2 AND removed_at IS NULL",
        )
        .bind(credit_code)
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?;
        let mut role = None;
        for r in &rows {
            match r.try_get::<String, _>(0)?.as_str() {
                "legal_rep" => return Ok(Some(EnterpriseRole::LegalRep)),
                _ => role = Some(EnterpriseRole::Admin),
            }
        }
        Ok(role)
    }

    /// The enterprise's current administrators, in the order they were appointed.
    pub async fn enterprise_admins(&self, credit_code: &str) -> Result<Vec<AdminRow>, sqlx::Error> {
        sqlx::query(
            "SELECT a.resident_id, p.name, a.appointed_by, a.appointed_at
             FROM enterprise_admins a LEFT JOIN population p ON p.resident_id = a.resident_id
             WHERE a.credit_code = $1 AND a.removed_at IS NULL
             ORDER BY a.appointed_at IS NOT NULL, a.appointed_at, a.resident_id",
        )
        .bind(credit_code)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AdminRow {
                resident_id: r.try_get(0)?,
                name: r.try_get(1)?,
                appointed_by: r.try_get(2)?,
                appointed_at: r.try_get(3)?,
            })
        })
        .collect()
    }

    /// Appoints an administrator with its audit entry, in one transaction; someone removed
    /// before is appointed again.
    pub async fn appoint_admin(
        &self,
        credit_code: &str,
        resident_id: &str,
        by: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<Appointed, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "INSERT INTO enterprise_admins (credit_code, resident_id, appointed_by, appointed_at, removed_at)
             VALUES ($1, $2, $3, $4, NULL)
             ON CONFLICT (credit_code, resident_id) DO UPDATE
               SET appointed_by = excluded.appointed_by, appointed_at = excluded.appointed_at,
                   removed_at = NULL
               WHERE enterprise_admins.removed_at IS NOT NULL",
        )
        .bind(credit_code)
        .bind(resident_id)
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(Appointed::Already);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Appointed::Now)
    }

    /// Removes a current administrator and, in the same transaction, revokes every live grant
    /// of the enterprise's certificates signed on one of their devices. `audit` gets the ids of
    /// the grants revoked. `None` when the person is not a current administrator.
    pub async fn remove_admin(
        &self,
        credit_code: &str,
        resident_id: &str,
        now: i64,
        audit: impl FnOnce(&[String]) -> AuditEntry,
    ) -> Result<Option<Vec<String>>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        super::audit::lock_chain(&mut tx).await?;
        let n = sqlx::query(
            "UPDATE enterprise_admins SET removed_at = $1
             WHERE credit_code = $2 AND resident_id = $3 AND removed_at IS NULL",
        )
        .bind(now)
        .bind(credit_code)
        .bind(resident_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let revoked: Vec<String> = sqlx::query(
            "UPDATE grants SET revoked_at = $1
             WHERE holder_id = $2 AND revoked_at IS NULL
               AND signer IN (SELECT key_id FROM device_keys WHERE resident_id = $3)
             RETURNING id",
        )
        .bind(now)
        .bind(credit_code)
        .bind(resident_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        append(&mut tx, &audit(&revoked)).await?;
        tx.commit().await?;
        Ok(Some(revoked))
    }
}
