//! The housing-fund withdrawal's online applications (scenario 2): the citizen's copy at the
//! wallet province, the fund centre's copy at the handling node. Every change commits with its
//! audit entry and, where the other end must hear of it, its message (`fund_messages`).

use sqlx::{AnyConnection, Row};

use super::audit::{append, AuditEntry};
use super::fund_messages::{insert_message, MessageRow};
use super::fund_uploads::{insert_upload, UploadRow};
use super::Db;

/// One online application; `form`, `sharing` and `certificates` are JSON (`fund::Form`,
/// `fund::SharingMatch`, `Vec<federation::fetch::Fetched>`).
#[derive(Debug, Clone)]
pub struct ApplicationRow {
    pub id: String,
    pub matter: String,
    pub matter_name: String,
    pub department: String,
    pub applicant_id: String,
    pub applicant_name: String,
    /// The province whose wallet took the application.
    pub wallet_region: String,
    /// The node whose fund centre reviews it.
    pub handled_by: String,
    /// `submitted`, `under_review`, `approved` or `rejected`.
    pub status: String,
    pub form: String,
    pub sharing: String,
    pub certificates: String,
    pub consented_at: i64,
    pub submitted_at: i64,
    /// When the handling node had it (at the wallet: acknowledged; there: received).
    pub received_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub reviewer: Option<String>,
    pub reason: Option<String>,
    pub evaluation_score: Option<i64>,
    pub evaluation_comment: Option<String>,
    pub evaluated_at: Option<i64>,
}

/// One statement of the fund tables, its arguments bound.
pub(super) type Change<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Why an application could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// A photo is not the applicant's, not of that kind, or used by another application.
    UploadUnavailable,
}

fn application_from(r: &sqlx::any::AnyRow) -> Result<ApplicationRow, sqlx::Error> {
    Ok(ApplicationRow {
        id: r.try_get("id")?,
        matter: r.try_get("matter")?,
        matter_name: r.try_get("matter_name")?,
        department: r.try_get("department")?,
        applicant_id: r.try_get("applicant_id")?,
        applicant_name: r.try_get("applicant_name")?,
        wallet_region: r.try_get("wallet_region")?,
        handled_by: r.try_get("handled_by")?,
        status: r.try_get("status")?,
        form: r.try_get("form")?,
        sharing: r.try_get("sharing")?,
        certificates: r.try_get("certificates")?,
        consented_at: r.try_get("consented_at")?,
        submitted_at: r.try_get("submitted_at")?,
        received_at: r.try_get("received_at")?,
        decided_at: r.try_get("decided_at")?,
        reviewer: r.try_get("reviewer")?,
        reason: r.try_get("reason")?,
        evaluation_score: r.try_get("evaluation_score")?,
        evaluation_comment: r.try_get("evaluation_comment")?,
        evaluated_at: r.try_get("evaluated_at")?,
    })
}

async fn insert_application(
    conn: &mut AnyConnection,
    a: &ApplicationRow,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "INSERT INTO fund_applications (id, matter, matter_name, department, applicant_id,
           applicant_name, wallet_region, handled_by, status, form, sharing, certificates,
           consented_at, submitted_at, received_at, decided_at, reviewer, reason,
           evaluation_score, evaluation_comment, evaluated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
           $18, $19, $20, $21) ON CONFLICT DO NOTHING",
    )
    .bind(&a.id)
    .bind(&a.matter)
    .bind(&a.matter_name)
    .bind(&a.department)
    .bind(&a.applicant_id)
    .bind(&a.applicant_name)
    .bind(&a.wallet_region)
    .bind(&a.handled_by)
    .bind(&a.status)
    .bind(&a.form)
    .bind(&a.sharing)
    .bind(&a.certificates)
    .bind(a.consented_at)
    .bind(a.submitted_at)
    .bind(a.received_at)
    .bind(a.decided_at)
    .bind(&a.reviewer)
    .bind(&a.reason)
    .bind(a.evaluation_score)
    .bind(&a.evaluation_comment)
    .bind(a.evaluated_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

impl Db {
    /// Stores a new application at the wallet province: the application, its photos bound to
    /// it (each must be the applicant's, of its kind and unused), the message for the handling
    /// node when there is one, and the audit entry, together.
    pub async fn submit_application(
        &self,
        a: &ApplicationRow,
        uploads: &[(String, String)],
        message: Option<&MessageRow>,
        audit: &AuditEntry,
    ) -> Result<Result<(), SubmitError>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_application(&mut tx, a).await?;
        for (kind, id) in uploads {
            let n = sqlx::query(
                "UPDATE fund_uploads SET application_id = $1
                 WHERE id = $2 AND owner_id = $3 AND kind = $4 AND application_id IS NULL",
            )
            .bind(&a.id)
            .bind(id)
            .bind(&a.applicant_id)
            .bind(kind)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                tx.rollback().await?;
                return Ok(Err(SubmitError::UploadUnavailable));
            }
        }
        if let Some(m) = message {
            insert_message(&mut tx, m, a.submitted_at).await?;
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        if message.is_some() {
            self.wake_outbox();
        }
        Ok(Ok(()))
    }

    pub async fn application(&self, id: &str) -> Result<Option<ApplicationRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM fund_applications WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(application_from)
            .transpose()
    }

    /// A citizen's applications, newest first.
    pub async fn applications_of(
        &self,
        applicant_id: &str,
    ) -> Result<Vec<ApplicationRow>, sqlx::Error> {
        sqlx::query(
            "SELECT * FROM fund_applications WHERE applicant_id = $1 ORDER BY submitted_at DESC, id",
        )
        .bind(applicant_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(application_from)
        .collect()
    }

    /// The applications of one department that this node's fund centre handles, with a
    /// status, oldest first (a queue).
    pub async fn applications_handled(
        &self,
        handled_by: &str,
        department: &str,
        status: &str,
        limit: i64,
    ) -> Result<Vec<ApplicationRow>, sqlx::Error> {
        sqlx::query(
            "SELECT * FROM fund_applications WHERE handled_by = $1 AND department = $2
               AND status = $3
             ORDER BY submitted_at, id LIMIT $4",
        )
        .bind(handled_by)
        .bind(department)
        .bind(status)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(application_from)
        .collect()
    }

    /// Decides an application under review, once: false when it is not under review (decided
    /// before, by anyone). The message for the wallet province, if any, commits with it.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_application(
        &self,
        id: &str,
        status: &str,
        reviewer: &str,
        reason: &str,
        now: i64,
        message: Option<&MessageRow>,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let change = sqlx::query(
            "UPDATE fund_applications SET status = $1, reviewer = $2, reason = $3, decided_at = $4
             WHERE id = $5 AND status = 'under_review'",
        )
        .bind(status)
        .bind(reviewer)
        .bind(reason)
        .bind(now)
        .bind(id);
        self.change_once(change, message, now, audit).await
    }

    /// Records the applicant's rating of a decided application, once.
    #[allow(clippy::too_many_arguments)]
    pub async fn evaluate_application(
        &self,
        id: &str,
        applicant_id: &str,
        score: i64,
        comment: &str,
        now: i64,
        message: Option<&MessageRow>,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let change = sqlx::query(
            "UPDATE fund_applications SET evaluation_score = $1, evaluation_comment = $2,
               evaluated_at = $3
             WHERE id = $4 AND applicant_id = $5 AND evaluation_score IS NULL
               AND status IN ('approved', 'rejected')",
        )
        .bind(score)
        .bind(comment)
        .bind(now)
        .bind(id)
        .bind(applicant_id);
        self.change_once(change, message, now, audit).await
    }

    /// At the handling node: stores a delivered application and its photos, once (a repeated
    /// delivery changes nothing).
    pub async fn receive_application(
        &self,
        a: &ApplicationRow,
        uploads: &[UploadRow],
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if insert_application(&mut tx, a).await? {
            for u in uploads {
                insert_upload(&mut tx, u).await?;
            }
        }
        append(&mut tx, audit).await?;
        tx.commit().await
    }

    /// At the wallet province: the handling node's decision, applied once and only from the
    /// node that handles the application.
    pub async fn apply_decision(
        &self,
        id: &str,
        handled_by: &str,
        status: &str,
        reason: &str,
        decided_at: i64,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let change = sqlx::query(
            "UPDATE fund_applications SET status = $1, reason = $2, decided_at = $3,
               received_at = COALESCE(received_at, $3)
             WHERE id = $4 AND handled_by = $5 AND status IN ('submitted', 'under_review')",
        )
        .bind(status)
        .bind(reason)
        .bind(decided_at)
        .bind(id)
        .bind(handled_by);
        self.change_with_audit(change, audit).await
    }

    /// At the handling node: the applicant's rating, applied once.
    pub async fn apply_evaluation(
        &self,
        id: &str,
        wallet_region: &str,
        score: i64,
        comment: &str,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let change = sqlx::query(
            "UPDATE fund_applications SET evaluation_score = $1, evaluation_comment = $2,
               evaluated_at = $3
             WHERE id = $4 AND wallet_region = $5 AND evaluation_score IS NULL",
        )
        .bind(score)
        .bind(comment)
        .bind(at)
        .bind(id)
        .bind(wallet_region);
        self.change_with_audit(change, audit).await
    }

    /// The registered name of a resident (公安部门人口基础信息), if the registry has them.
    pub async fn resident_name(&self, resident_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT name FROM population WHERE resident_id = $1")
            .bind(resident_id)
            .fetch_optional(&self.pool)
            .await
    }
}

impl Db {
    /// Runs one change with its audit entry, in one transaction.
    pub(super) async fn change_with_audit(
        &self,
        change: Change<'_>,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        change.execute(&mut *tx).await?;
        append(&mut tx, audit).await?;
        tx.commit().await
    }

    /// Runs a change that must touch exactly one row, with its audit entry and, when the other
    /// end must hear of it, its message (created `now`), in one transaction. A change that
    /// touched no row (done before, by anyone) writes nothing: false.
    pub(super) async fn change_once(
        &self,
        change: Change<'_>,
        message: Option<&MessageRow>,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if change.execute(&mut *tx).await?.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(m) = message {
            insert_message(&mut tx, m, now).await?;
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        if message.is_some() {
            self.wake_outbox();
        }
        Ok(true)
    }
}

impl Db {
    /// At the wallet province, after a certificate was fetched on an applicant's consent: the
    /// consent row (the holder's 用证记录) and the hop's audit entry, together.
    pub async fn record_fetch(
        &self,
        consent: Option<&super::federation::ConsentRow>,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if let Some(c) = consent {
            sqlx::query(
                "INSERT INTO consents (correlation_id, cert_id, holder_id, presenter, grant_id,
                   matter, counter_region, counter, clerk, case_id, result, created_at)
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
            .execute(&mut *tx)
            .await?;
        }
        append(&mut tx, audit).await?;
        tx.commit().await
    }
}
