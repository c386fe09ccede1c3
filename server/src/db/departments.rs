//! Departments that issue through this node, and their seal keys.
//!
//! A seal key's secret is kept here, in the node's database; a production deployment would
//! hold it in a signing device, which is why signing goes through this one module.

use sqlx::Row;

use super::Db;

#[derive(Debug, Clone)]
pub struct Department {
    pub credit_code: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct SealKeyRow {
    pub key_id: String,
    pub department: String,
    pub department_name: String,
    pub public_key: String,
    pub not_before: i64,
    pub not_after: Option<i64>,
}

impl Db {
    pub async fn upsert_department(
        &self,
        credit_code: &str,
        name: &str,
        token_hash: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO departments (credit_code, name, token_hash) VALUES ($1, $2, $3)
             ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash",
        )
        .bind(credit_code)
        .bind(name)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn department_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Department>, sqlx::Error> {
        let row = sqlx::query("SELECT credit_code, name FROM departments WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Department {
                credit_code: r.try_get("credit_code")?,
                name: r.try_get("name")?,
            })
        })
        .transpose()
    }

    /// The department's current seal key: id and secret seed (base64url).
    pub async fn current_seal_key(
        &self,
        department: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT key_id, secret_key FROM seal_keys WHERE department = $1 AND not_after IS NULL
             ORDER BY not_before DESC LIMIT 1",
        )
        .bind(department)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("key_id")?, r.try_get("secret_key")?)))
            .transpose()
    }

    /// Retires the department's current key at `now` and installs a new one, atomically: the
    /// old key stays in the trust list, valid for what it sealed before `now`.
    pub async fn rotate_seal_key(
        &self,
        department: &str,
        key_id: &str,
        public_key: &str,
        secret_key: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE seal_keys SET not_after = $1 WHERE department = $2 AND not_after IS NULL",
        )
        .bind(now)
        .bind(department)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO seal_keys (key_id, department, public_key, secret_key, not_before, not_after)
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(key_id)
        .bind(department)
        .bind(public_key)
        .bind(secret_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Every seal key this node publishes, current and retired.
    pub async fn seal_keys(&self) -> Result<Vec<SealKeyRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT k.key_id, k.department, d.name, k.public_key, k.not_before, k.not_after
             FROM seal_keys k JOIN departments d ON d.credit_code = k.department
             ORDER BY k.department, k.not_before",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SealKeyRow {
                    key_id: r.try_get(0)?,
                    department: r.try_get(1)?,
                    department_name: r.try_get(2)?,
                    public_key: r.try_get(3)?,
                    not_before: r.try_get(4)?,
                    not_after: r.try_get(5)?,
                })
            })
            .collect()
    }
}
