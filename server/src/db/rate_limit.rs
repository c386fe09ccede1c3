//! Fixed-window counters for rate limits, in the database so that every process of a node
//! counts against the same limit.

use sqlx::Row;

use super::{Backend, Db};

const HIT: &str = "INSERT INTO rate_windows (bucket, window_start, hits) VALUES ($1, $2, 1)
     ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_windows.hits + 1
     RETURNING hits";

impl Db {
    /// Counts one hit of `bucket` in the window starting at `window_start`; returns the hits in
    /// that window so far, this one included. The count is soft state: it is committed without
    /// waiting for the disk (a crash may forget the last few hits).
    pub async fn hit_rate_window(
        &self,
        bucket: &str,
        window_start: i64,
    ) -> Result<i64, sqlx::Error> {
        let hit = sqlx::query(HIT).bind(bucket).bind(window_start);
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
