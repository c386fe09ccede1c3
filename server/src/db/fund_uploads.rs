//! Applicants' photos for the housing-fund withdrawal: the bytes as BLOBs (BYTEA) with what
//! their check found, bound to the uploader and, once used, to one application.

use sqlx::{AnyConnection, Row};

use super::audit::{append, AuditEntry};
use super::Db;

/// A photo as stored: the bytes and what their check found.
#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: String,
    /// The resident who uploaded it (the applicant).
    pub owner_id: String,
    pub application_id: Option<String>,
    /// `debit_card`, `invoice` or `deed_tax`.
    pub kind: String,
    /// `image/jpeg` or `image/png`, as the bytes say.
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub width: i64,
    pub height: i64,
    pub data: Vec<u8>,
    pub created_at: i64,
}

fn upload_from(r: &sqlx::any::AnyRow, with_data: bool) -> Result<UploadRow, sqlx::Error> {
    Ok(UploadRow {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        application_id: r.try_get("application_id")?,
        kind: r.try_get("kind")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        data: if with_data {
            r.try_get("data")?
        } else {
            Vec::new()
        },
        created_at: r.try_get("created_at")?,
    })
}

/// The metadata columns, for listings that do not need the bytes.
const UPLOAD_META: &str = "id, owner_id, application_id, kind, content_type, size, sha256, width,
    height, created_at";

pub(super) async fn insert_upload(
    conn: &mut AnyConnection,
    u: &UploadRow,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "INSERT INTO fund_uploads (id, owner_id, application_id, kind, content_type, size, sha256,
           width, height, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
    )
    .bind(&u.id)
    .bind(&u.owner_id)
    .bind(&u.application_id)
    .bind(&u.kind)
    .bind(&u.content_type)
    .bind(u.size)
    .bind(&u.sha256)
    .bind(u.width)
    .bind(u.height)
    .bind(u.data.clone())
    .bind(u.created_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

impl Db {
    /// Stores a photo with its audit entry.
    pub async fn store_upload(&self, u: &UploadRow, audit: &AuditEntry) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_upload(&mut tx, u).await?;
        append(&mut tx, audit).await?;
        tx.commit().await
    }

    /// How many photos this person uploaded that no application uses yet.
    pub async fn unused_uploads(&self, owner_id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM fund_uploads WHERE owner_id = $1 AND application_id IS NULL",
        )
        .bind(owner_id)
        .fetch_one(&self.pool)
        .await
    }

    /// Forgets photos that no application took within a day of their upload.
    pub async fn forget_unused_uploads(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query(
                "DELETE FROM fund_uploads WHERE application_id IS NULL AND created_at < $1",
            )
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected(),
        )
    }

    /// A photo's metadata, without its bytes.
    pub async fn upload_meta(&self, id: &str) -> Result<Option<UploadRow>, sqlx::Error> {
        sqlx::query(&format!(
            "SELECT {UPLOAD_META} FROM fund_uploads WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(|r| upload_from(r, false))
        .transpose()
    }

    /// An application's photos; with their bytes only when asked.
    pub async fn uploads_of_application(
        &self,
        application_id: &str,
        with_data: bool,
    ) -> Result<Vec<UploadRow>, sqlx::Error> {
        let columns = if with_data { "*" } else { UPLOAD_META };
        sqlx::query(&format!(
            "SELECT {columns} FROM fund_uploads WHERE application_id = $1 ORDER BY kind"
        ))
        .bind(application_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| upload_from(r, with_data))
        .collect()
    }
}
