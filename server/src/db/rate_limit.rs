//! Fixed-window counters for rate limits, in the database so that every process of a node
//! counts against the same limit.

use sqlx::Row;

use super::Db;

impl Db {
    /// Counts one hit of `bucket` in the window starting at `window_start`; returns the hits in
    /// that window so far, this one included.
    pub async fn hit_rate_window(
        &self,
        bucket: &str,
        window_start: i64,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query(
            "INSERT INTO rate_windows (bucket, window_start, hits) VALUES ($1, $2, 1)
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_windows.hits + 1
             RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)
    }

    /// Forgets windows that started before `before`; returns how many.
    pub async fn forget_rate_windows(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
