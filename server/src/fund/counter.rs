//! The counter's rules for a case of a matter that uses the sharing platform (一证通办), as
//! the generic counter routes apply them: nothing is scanned before the applicant's ID card
//! is recorded, a scanned certificate must be the applicant's (or name the applicant, as a
//! spouse's 结婚证 does) to be used or attached, and 办结 waits for the confirmed records and
//! the debit card.

use wallet_core::{Certificate, SealedCertificate};

use super::{concerns_applicant, uses_sharing};
use crate::auth::Staff;
use crate::db::audit::AuditEntry;
use crate::db::cases::{CaseRow, Matter, RetrievalRow};
use crate::db::fund_counter::FundCounterRow;
use crate::error::ApiError;
use crate::state::AppState;

pub fn applicant_required() -> ApiError {
    ApiError::Conflict {
        code: "applicant_required",
        title: "请先录入申请人身份证号并取得其查询授权",
        detail: String::new(),
    }
}

pub fn not_applicants() -> ApiError {
    ApiError::bad(
        "certificate_not_applicants",
        "该证照不属于申请人本人或其配偶，不能用于本办件",
        "",
    )
}

/// What is left before 办结: `sharing_query`, `invoice_confirmation`, `deed_tax_confirmation`,
/// `debit_card`.
pub fn missing(row: &FundCounterRow) -> Vec<&'static str> {
    let mut out = Vec::new();
    if row.sharing.is_none() {
        out.push("sharing_query");
    }
    if row.invoice_confirmed.is_none() {
        out.push("invoice_confirmation");
    }
    if row.deed_tax_confirmed.is_none() {
        out.push("deed_tax_confirmation");
    }
    if row.debit_card.is_none() {
        out.push("debit_card");
    }
    out
}

/// Before a scan: the case's applicant when its matter uses the sharing platform (`None` for
/// other matters); refused until the ID card step is done.
pub async fn applicant_for_scan(
    s: &AppState,
    case: &CaseRow,
    matter: &Matter,
) -> Result<Option<String>, ApiError> {
    if !uses_sharing(matter) {
        return Ok(None);
    }
    match s.db.fund_counter_case(&case.id).await? {
        Some(row) => Ok(Some(row.applicant_id)),
        None => Err(applicant_required()),
    }
}

/// After a scan: a certificate that is not the applicant's is refused for the case, and the
/// refusal audited (the retrieval itself is on record as the hop's).
pub async fn check_retrieved(
    s: &AppState,
    staff: &Staff,
    case: &CaseRow,
    applicant: &str,
    cert: &Certificate,
    retrieval_id: &str,
) -> Result<(), ApiError> {
    if concerns_applicant(cert, applicant) {
        return Ok(());
    }
    let mut audit = AuditEntry::action(
        s.clock.now(),
        "retrieval_for_case",
        format!("{}:clerk:{}", s.settings.region, staff.id),
        &case.id,
        serde_json::json!({"retrieval": retrieval_id, "certificate": cert.id.to_string()})
            .to_string(),
        "",
    );
    audit.result = "certificate_not_applicants".into();
    s.db.audit(&audit).await?;
    Err(not_applicants())
}

/// Before 关联引用: the same rule, for a retrieval made earlier.
pub async fn check_attachable(
    s: &AppState,
    case: &CaseRow,
    r: &RetrievalRow,
) -> Result<(), ApiError> {
    let Some(matter) = s.db.matter(&case.matter).await? else {
        return Ok(());
    };
    if !uses_sharing(&matter) {
        return Ok(());
    }
    let row =
        s.db.fund_counter_case(&case.id)
            .await?
            .ok_or_else(applicant_required)?;
    let cert = SealedCertificate::try_from(r.sealed.clone())
        .map_err(ApiError::internal)?
        .certificate;
    if concerns_applicant(&cert, &row.applicant_id) {
        Ok(())
    } else {
        Err(not_applicants())
    }
}

/// Before 办结: the sharing platform's records confirmed and the debit card recorded.
pub async fn ready_to_finish(s: &AppState, case: &CaseRow) -> Result<(), ApiError> {
    let Some(matter) = s.db.matter(&case.matter).await? else {
        return Ok(());
    };
    if !uses_sharing(&matter) {
        return Ok(());
    }
    let row =
        s.db.fund_counter_case(&case.id)
            .await?
            .ok_or_else(applicant_required)?;
    let left = missing(&row);
    if left.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            code: "fund_case_incomplete",
            title: "请先完成共享数据确认并登记I类借记卡",
            detail: left.join(", "),
        })
    }
}
