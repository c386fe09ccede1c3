//! The newest 亮证码 each device has shown for each subject: refreshing on the phone makes the
//! code before it useless at once, not only when its minute runs out.

use wallet_core::{Presentation, Subject};

use super::audit::hex_sha256;
use super::Db;

/// `certificate:<id>` or `grant:<id>`: what a code presents, as stored.
pub fn subject_key(subject: &Subject) -> String {
    match subject {
        Subject::Certificate(id) => format!("certificate:{id}"),
        Subject::Grant(id) => format!("grant:{id}"),
    }
}

impl Db {
    /// Records `p` as the current code of its device and subject, unless a newer one is
    /// already recorded (the phone's calls may arrive out of order).
    pub async fn set_current_presentation(&self, p: &Presentation) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO current_presentations (key_id, subject, issued_at, nonce)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (key_id, subject) DO UPDATE
               SET issued_at = excluded.issued_at, nonce = excluded.nonce
               WHERE current_presentations.issued_at <= excluded.issued_at",
        )
        .bind(p.presenter.to_string())
        .bind(subject_key(&p.subject))
        .bind(p.issued_at)
        .bind(hex_sha256(&p.nonce))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a newer code of the same device and subject replaced `p`: one issued later, or
    /// another one issued in the same second.
    pub async fn presentation_superseded(&self, p: &Presentation) -> Result<bool, sqlx::Error> {
        let current: Option<(i64, String)> = sqlx::query_as(
            "SELECT issued_at, nonce FROM current_presentations WHERE key_id = $1 AND subject = $2",
        )
        .bind(p.presenter.to_string())
        .bind(subject_key(&p.subject))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match current {
            None => false,
            Some((issued_at, nonce)) => {
                p.issued_at < issued_at
                    || (p.issued_at == issued_at && nonce != hex_sha256(&p.nonce))
            }
        })
    }
}
