//! The counter's 一证通办 for one case of a matter with sharing-platform materials: the
//! applicant from the ID card and their consent, the sharing platform's records for that
//! applicant, each record the applicant confirmed, and the debit card. Each step commits with
//! its audit entry (`Db::change_with_audit`, `Db::change_once` in `fund.rs`).

use sqlx::Row;

use super::audit::AuditEntry;
use super::Db;

#[derive(Debug, Clone, serde::Serialize)]
pub struct FundCounterRow {
    pub case_id: String,
    pub applicant_id: String,
    pub consented_at: i64,
    /// The name the population registry holds for the applicant.
    pub person_name: Option<String>,
    /// JSON of the sharing platform's answer (`fund::SharingRecords`).
    pub sharing: Option<String>,
    pub queried_at: Option<i64>,
    pub invoice_confirmed: Option<String>,
    pub invoice_confirmed_at: Option<i64>,
    pub deed_tax_confirmed: Option<String>,
    pub deed_tax_confirmed_at: Option<i64>,
    pub debit_bank: Option<String>,
    pub debit_card: Option<String>,
    pub debit_recorded_at: Option<i64>,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<FundCounterRow, sqlx::Error> {
    Ok(FundCounterRow {
        case_id: r.try_get("case_id")?,
        applicant_id: r.try_get("applicant_id")?,
        consented_at: r.try_get("consented_at")?,
        person_name: r.try_get("person_name")?,
        sharing: r.try_get("sharing")?,
        queried_at: r.try_get("queried_at")?,
        invoice_confirmed: r.try_get("invoice_confirmed")?,
        invoice_confirmed_at: r.try_get("invoice_confirmed_at")?,
        deed_tax_confirmed: r.try_get("deed_tax_confirmed")?,
        deed_tax_confirmed_at: r.try_get("deed_tax_confirmed_at")?,
        debit_bank: r.try_get("debit_bank")?,
        debit_card: r.try_get("debit_card")?,
        debit_recorded_at: r.try_get("debit_recorded_at")?,
    })
}

/// Which record of the sharing platform the applicant confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    Invoice,
    DeedTax,
}

impl Db {
    /// Records the applicant of a case, once; false when the case has one already.
    pub async fn record_applicant(
        &self,
        case_id: &str,
        applicant_id: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let change = sqlx::query(
            "INSERT INTO fund_counter_cases (case_id, applicant_id, consented_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(case_id)
        .bind(applicant_id)
        .bind(now);
        self.change_once(change, None, now, audit).await
    }

    pub async fn fund_counter_case(
        &self,
        case_id: &str,
    ) -> Result<Option<FundCounterRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM fund_counter_cases WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Keeps the sharing platform's answer with the case; a new query replaces the records and
    /// the confirmations made on the old ones.
    pub async fn store_sharing(
        &self,
        case_id: &str,
        person_name: Option<&str>,
        sharing: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let change = sqlx::query(
            "UPDATE fund_counter_cases SET person_name = $1, sharing = $2, queried_at = $3,
               invoice_confirmed = NULL, invoice_confirmed_at = NULL,
               deed_tax_confirmed = NULL, deed_tax_confirmed_at = NULL
             WHERE case_id = $4",
        )
        .bind(person_name)
        .bind(sharing)
        .bind(now)
        .bind(case_id);
        self.change_with_audit(change, audit).await
    }

    /// The applicant confirmed one record on screen.
    pub async fn confirm_sharing(
        &self,
        case_id: &str,
        which: Confirmed,
        number: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let sql = match which {
            Confirmed::Invoice => {
                "UPDATE fund_counter_cases SET invoice_confirmed = $1, invoice_confirmed_at = $2
                 WHERE case_id = $3"
            }
            Confirmed::DeedTax => {
                "UPDATE fund_counter_cases SET deed_tax_confirmed = $1, deed_tax_confirmed_at = $2
                 WHERE case_id = $3"
            }
        };
        let change = sqlx::query(sql).bind(number).bind(now).bind(case_id);
        self.change_with_audit(change, audit).await
    }

    /// Records the applicant's I类借记卡 for the payment.
    pub async fn record_debit_card(
        &self,
        case_id: &str,
        bank: &str,
        number: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<(), sqlx::Error> {
        let change = sqlx::query(
            "UPDATE fund_counter_cases SET debit_bank = $1, debit_card = $2, debit_recorded_at = $3
             WHERE case_id = $4",
        )
        .bind(bank)
        .bind(number)
        .bind(now)
        .bind(case_id);
        self.change_with_audit(change, audit).await
    }
}
