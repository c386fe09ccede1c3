//! Fixed-window counters for rate limits, in the database so that every process of a node
//! counts against the same limit, and the trace of failed logins.

use sqlx::Row;

use super::{Backend, Db};

const HIT: &str = "INSERT INTO rate_windows (bucket, window_start, hits, window_end)
     VALUES ($1, $2, 1, $3)
     ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_windows.hits + 1
     RETURNING hits";

const GIVE_BACK: &str = "UPDATE rate_windows SET hits = hits - 1
     WHERE bucket = $1 AND window_start = $2 AND hits > 0";

/// One failed check of a secret, or a limit reached, as a security officer reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthFailure {
    pub at: i64,
    /// `citizen_password`, `citizen_otp`, `register`, `staff_password`, `otp_send`.
    pub kind: String,
    /// `staff:<id>`, `citizen:<hash>` or `phone:<hash>`: never a resident ID or phone number.
    pub account: String,
    /// The client address as the limit counts it.
    pub client: String,
    /// The refusal's code (`login_failed`, `otp_wrong`, `rate_limited` …).
    pub result: String,
}

impl Db {
    /// Counts one hit of `bucket` in the window `[window_start, window_start + window)`;
    /// returns the hits in that window so far, this one included. The count is soft state: it
    /// is committed without waiting for the disk (a crash may forget the last few hits).
    pub async fn hit_rate_window(
        &self,
        bucket: &str,
        window_start: i64,
        window: i64,
    ) -> Result<i64, sqlx::Error> {
        let hit = sqlx::query(HIT)
            .bind(bucket)
            .bind(window_start)
            .bind(window_start + window);
        let row = match (&self.soft, self.backend) {
            (Some(soft), _) => hit.fetch_one(soft).await?,
            (None, Backend::Postgres) => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                let row = hit.fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row
            }
            (None, Backend::Sqlite) => hit.fetch_one(&self.pool).await?,
        };
        row.try_get(0)
    }

    /// Takes back one hit counted by `hit_rate_window` (an attempt that turned out not to
    /// count, such as a login with the right password).
    pub async fn give_back_rate_hit(
        &self,
        bucket: &str,
        window_start: i64,
    ) -> Result<(), sqlx::Error> {
        let q = sqlx::query(GIVE_BACK).bind(bucket).bind(window_start);
        match (&self.soft, self.backend) {
            (Some(soft), _) => {
                q.execute(soft).await?;
            }
            (None, Backend::Postgres) => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                q.execute(&mut *tx).await?;
                tx.commit().await?;
            }
            (None, Backend::Sqlite) => {
                q.execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    /// The hits of `bucket` in the window starting at `window_start` (0 when none).
    pub async fn rate_hits(&self, bucket: &str, window_start: i64) -> Result<i64, sqlx::Error> {
        let row =
            sqlx::query("SELECT hits FROM rate_windows WHERE bucket = $1 AND window_start = $2")
                .bind(bucket)
                .bind(window_start)
                .fetch_optional(&self.pool)
                .await?;
        row.map_or(Ok(0), |r| r.try_get(0))
    }

    /// Forgets windows that ended before `before`; returns how many.
    pub async fn forget_rate_windows(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM rate_windows WHERE window_end < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Records a failed login or a limit reached. Durable, unlike the counters: it is the
    /// evidence of an attack, and each row follows a password hash or a code check, which cost
    /// more than the commit.
    pub async fn record_auth_failure(&self, f: &AuthFailure) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_failures (at, kind, account, client, result)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(f.at)
        .bind(&f.kind)
        .bind(&f.account)
        .bind(&f.client)
        .bind(&f.result)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Failed logins and limits reached since `since`, newest first, at most `limit`.
    pub async fn auth_failures(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<AuthFailure>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT at, kind, account, client, result FROM auth_failures WHERE at >= $1
             ORDER BY at DESC LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuthFailure {
                    at: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    account: r.try_get(2)?,
                    client: r.try_get(3)?,
                    result: r.try_get(4)?,
                })
            })
            .collect()
    }
}
