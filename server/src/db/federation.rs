//! What the federation stores at a node: accepted service-token ids and consent checks.

use sqlx::Row;

use super::Db;

impl Db {
    /// Records a service token's id; `false` if it was already recorded (a replay). Ids of
    /// tokens that can no longer verify are dropped on the way.
    pub async fn accept_service_token(
        &self,
        jti: &str,
        issuer: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO service_tokens (jti, issuer, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(issuer)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        // Cheap housekeeping on one call in 64, so the table stays the size of a minute.
        if jti.as_bytes().first().is_some_and(|b| b % 64 == 0) {
            sqlx::query("DELETE FROM service_tokens WHERE expires_at < $1")
                .bind(now - 60)
                .execute(&self.pool)
                .await?;
        }
        Ok(done.rows_affected() == 1)
    }

    pub async fn service_token_count(&self) -> Result<i64, sqlx::Error> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM service_tokens")
            .fetch_one(&self.pool)
            .await?;
        row.try_get("n")
    }
}

/// A consent check made by this node as the wallet province: the holder's usage log for
/// certificates held at other nodes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsentRow {
    pub correlation_id: String,
    pub cert_id: String,
    pub holder_id: String,
    pub presenter: String,
    pub grant_id: Option<String>,
    pub matter: String,
    pub counter_region: String,
    pub counter: String,
    pub clerk: String,
    pub case_id: String,
    pub result: String,
    pub created_at: i64,
}

/// Everything one node writes about one hop of a retrieval, committed in one transaction: the
/// nonce (where this node checks the presentation), the grant's use (at the wallet province),
/// the consent record, the counter's retrieval record, and the hop's audit entry. When one
/// node plays every role this is the single transaction of a local retrieval.
#[derive(Debug, Default)]
pub struct HopLedger {
    /// (hash of the nonce, when the code expires).
    pub nonce: Option<(String, i64)>,
    pub grant_use: Option<String>,
    pub consent: Option<ConsentRow>,
}

impl Db {
    /// Commits a hop that succeeded: the nonce must be fresh and the grant still usable,
    /// else nothing is written and the reason is returned.
    pub async fn record_hop(
        &self,
        ledger: &HopLedger,
        retrieval: Option<&super::cases::RetrievalRow>,
        audit: &super::audit::AuditEntry,
        now: i64,
    ) -> Result<Result<(), super::cases::RecordError>, sqlx::Error> {
        use super::cases::RecordError;
        let mut tx = self.pool.begin().await?;
        if let Some((nonce, expires)) = &ledger.nonce {
            if !super::cases::consume_nonce(&mut tx, nonce, now, *expires).await? {
                tx.rollback().await?;
                return Ok(Err(RecordError::NonceUsed));
            }
        }
        if let Some(grant) = &ledger.grant_use {
            let n = sqlx::query(
                "UPDATE grants SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL
                 AND (use_limit IS NULL OR uses < use_limit)",
            )
            .bind(grant)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                tx.rollback().await?;
                return Ok(Err(RecordError::GrantSpent));
            }
        }
        if let Some(c) = &ledger.consent {
            insert_consent(&mut tx, c).await?;
        }
        if let Some(r) = retrieval {
            super::cases::insert_retrieval(&mut tx, r).await?;
        }
        super::audit::append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Commits a hop that was refused: its audit entry, the nonce when the code was genuine
    /// (a refused code cannot be tried again) and the consent record with the refusal.
    pub async fn record_refused_hop(
        &self,
        ledger: &HopLedger,
        audit: &super::audit::AuditEntry,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if let Some((nonce, expires)) = &ledger.nonce {
            super::cases::consume_nonce(&mut tx, nonce, now, *expires).await?;
        }
        if let Some(c) = &ledger.consent {
            insert_consent(&mut tx, c).await?;
        }
        super::audit::append(&mut tx, audit).await?;
        tx.commit().await
    }

    /// The enterprises a person represents or administers, by credit code.
    pub async fn enterprises_of(&self, resident_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT credit_code FROM enterprises WHERE legal_rep_id = $1
             UNION SELECT credit_code FROM enterprise_admins WHERE resident_id = $1",
        )
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }

    /// When a live device key was registered (the time its binding states).
    pub async fn device_bound_at(&self, key_id: &str) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query("SELECT registered_at FROM device_keys WHERE key_id = $1")
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0)).transpose()
    }
}

async fn insert_consent(
    conn: &mut sqlx::AnyConnection,
    c: &ConsentRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consents (correlation_id, cert_id, holder_id, presenter, grant_id, matter,
           counter_region, counter, clerk, case_id, result, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (correlation_id) DO NOTHING",
    )
    .bind(&c.correlation_id)
    .bind(&c.cert_id)
    .bind(&c.holder_id)
    .bind(&c.presenter)
    .bind(&c.grant_id)
    .bind(&c.matter)
    .bind(&c.counter_region)
    .bind(&c.counter)
    .bind(&c.clerk)
    .bind(&c.case_id)
    .bind(&c.result)
    .bind(c.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
