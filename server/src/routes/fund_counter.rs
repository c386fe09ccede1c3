//! 一证通办 at the counter for matters whose materials come from the sharing platform (the
//! housing-fund withdrawal), the notice's steps (1) and (8) around scenario 1's scan:
//!
//! 1. the clerk records the applicant from the ID card (resident ID, check digit verified) with
//!    the applicant's consent to the queries; scans are refused until then, and a scanned
//!    certificate must be the applicant's (or name the applicant, as a spouse's 结婚证 does);
//! 2. the node asks the province's sharing platform for that applicant's invoices and deed-tax
//!    records, kept with the case only;
//! 3. the applicant confirms each record on screen; the clerk records the I类借记卡;
//! 4. 办结 is refused until those steps are done.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::ResidentId;

use super::counter::clerk_only;
use crate::auth::secrets::random_string;
use crate::auth::Staff;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::db::cases::{CaseRow, Matter};
use crate::db::fund_counter::Confirmed;
use crate::error::{rule, ApiError};
use crate::extract::ApiJson;
use crate::fund::counter::{applicant_required, missing};
use crate::fund::form::DebitCard;
use crate::fund::sharing::{query_for_counter, SharingQuery, SharingRecords};
use crate::fund::uses_sharing;
use crate::state::AppState;

fn actor(s: &AppState, staff: &Staff) -> String {
    format!("{}:clerk:{}", s.settings.region, staff.id)
}

fn case_not_found() -> ApiError {
    ApiError::NotFound {
        code: "case_not_found",
        what: "case",
    }
}

/// A case of this clerk for a matter that uses the sharing platform; open unless `closed_ok`.
async fn fund_case(
    s: &AppState,
    staff: &Staff,
    case_id: &str,
    closed_ok: bool,
) -> Result<(CaseRow, Matter), ApiError> {
    clerk_only(staff)?;
    let case = match s.db.case(case_id).await? {
        Some(c) if c.clerk == staff.id => c,
        _ => return Err(case_not_found()),
    };
    if !closed_ok && case.status != "open" {
        return Err(ApiError::Conflict {
            code: "case_closed",
            title: "办件已办结",
            detail: case.id,
        });
    }
    let matter =
        s.db.matter(&case.matter)
            .await?
            .ok_or_else(case_not_found)?;
    if !uses_sharing(&matter) {
        return Err(ApiError::bad(
            "matter_without_sharing",
            "本事项不使用共享平台数据",
            matter.code,
        ));
    }
    Ok((case, matter))
}

/// The 一证通办 state of a case, as the counter page shows it.
#[derive(Debug, Serialize)]
pub struct FundCaseView {
    pub case_id: String,
    /// `None` until the ID card step.
    pub applicant_id_masked: Option<String>,
    /// The name the population registry holds, once the platform was asked.
    pub person_name: Option<String>,
    pub consented_at: Option<i64>,
    pub sharing: Option<SharingRecords>,
    pub queried_at: Option<i64>,
    pub invoice_confirmed: Option<String>,
    pub invoice_confirmed_at: Option<i64>,
    pub deed_tax_confirmed: Option<String>,
    pub deed_tax_confirmed_at: Option<i64>,
    pub debit_bank: Option<String>,
    pub debit_card_masked: Option<String>,
    pub debit_recorded_at: Option<i64>,
    /// Materials replaced by attached certificates so far.
    pub attached: Vec<String>,
    /// What is left before 办结: `applicant`, `sharing_query`, `invoice_confirmation`,
    /// `deed_tax_confirmation`, `debit_card`.
    pub missing: Vec<&'static str>,
}

impl FundCaseView {
    /// A case whose ID card step has not happened yet: everything is still to do.
    fn before_applicant(case_id: &str) -> Self {
        FundCaseView {
            case_id: case_id.to_owned(),
            applicant_id_masked: None,
            person_name: None,
            consented_at: None,
            sharing: None,
            queried_at: None,
            invoice_confirmed: None,
            invoice_confirmed_at: None,
            deed_tax_confirmed: None,
            deed_tax_confirmed_at: None,
            debit_bank: None,
            debit_card_masked: None,
            debit_recorded_at: None,
            attached: Vec::new(),
            missing: vec![
                "applicant",
                "sharing_query",
                "invoice_confirmation",
                "deed_tax_confirmation",
                "debit_card",
            ],
        }
    }
}

async fn view(s: &AppState, case_id: &str, matter: &Matter) -> Result<FundCaseView, ApiError> {
    let row =
        s.db.fund_counter_case(case_id)
            .await?
            .ok_or_else(applicant_required)?;
    let sharing = row
        .sharing
        .as_deref()
        .map(serde_json::from_str::<SharingRecords>)
        .transpose()
        .map_err(ApiError::internal)?;
    // In the matter's order of materials, as the counter lists them.
    let mut attached: Vec<String> =
        s.db.retrievals_of_case(case_id)
            .await?
            .into_iter()
            .filter(|(_, a)| a.is_some())
            .map(|(r, _)| r.material)
            .collect();
    attached.sort_by_key(|name| matter.materials.iter().position(|m| &m.name == name));
    attached.dedup();
    Ok(FundCaseView {
        case_id: row.case_id.clone(),
        applicant_id_masked: row
            .applicant_id
            .parse::<ResidentId>()
            .map(|r| r.masked())
            .ok(),
        person_name: row.person_name.clone(),
        consented_at: Some(row.consented_at),
        sharing,
        queried_at: row.queried_at,
        invoice_confirmed: row.invoice_confirmed.clone(),
        invoice_confirmed_at: row.invoice_confirmed_at,
        deed_tax_confirmed: row.deed_tax_confirmed.clone(),
        deed_tax_confirmed_at: row.deed_tax_confirmed_at,
        debit_bank: row.debit_bank.clone(),
        debit_card_masked: row.debit_card.as_ref().map(|n| {
            DebitCard {
                bank: String::new(),
                number: n.clone(),
            }
            .masked()
        }),
        debit_recorded_at: row.debit_recorded_at,
        attached,
        missing: missing(&row),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicantRequest {
    /// The resident ID typed by the clerk or read from the ID card.
    pub resident_id: String,
    /// The applicant agreed that the sharing platform and the certificate systems be asked.
    pub consent: bool,
}

/// `POST /api/counter/cases/{id}/applicant`: the ID card step, once per case.
pub async fn applicant(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
    ApiJson(req): ApiJson<ApplicantRequest>,
) -> Result<(StatusCode, Json<FundCaseView>), ApiError> {
    let (case, matter) = fund_case(&s, &staff, &case_id, false).await?;
    let id: ResidentId = req.resident_id.trim().parse().map_err(rule)?;
    if !req.consent {
        return Err(ApiError::bad(
            "consent_required",
            "请先取得申请人对查询其购房发票、契税和电子证照信息的同意",
            "consent must be true",
        ));
    }
    let now = s.clock.now();
    let audit = AuditEntry::action(
        now,
        "fund_applicant_recorded",
        actor(&s, &staff),
        &case.id,
        serde_json::json!({"matter": matter.code, "applicant": citizen_actor(id.as_str())})
            .to_string(),
        "",
    );
    if !s
        .db
        .record_applicant(&case.id, id.as_str(), now, &audit)
        .await?
    {
        return Err(ApiError::Conflict {
            code: "applicant_exists",
            title: "本办件已录入申请人",
            detail: case.id,
        });
    }
    Ok((
        StatusCode::CREATED,
        Json(view(&s, &case.id, &matter).await?),
    ))
}

/// `POST /api/counter/cases/{id}/sharing`: the province's sharing platform, asked for the
/// applicant's invoices and deed-tax records (step 8); the answer is kept with the case.
pub async fn query(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
) -> Result<Json<FundCaseView>, ApiError> {
    let (case, matter) = fund_case(&s, &staff, &case_id, false).await?;
    let row =
        s.db.fund_counter_case(&case.id)
            .await?
            .ok_or_else(applicant_required)?;
    let q = SharingQuery {
        correlation_id: random_string(12).map_err(ApiError::internal)?,
        resident_id: row.applicant_id.clone(),
        matter: matter.code.clone(),
        case_id: case.id.clone(),
        counter: case.counter.clone(),
        clerk: staff.id.clone(),
        consented_at: row.consented_at,
    };
    let records = query_for_counter(&s, &q).await?;
    let text = serde_json::to_string(&records).map_err(ApiError::internal)?;
    let mut audit = AuditEntry::action(
        s.clock.now(),
        "sharing_received",
        actor(&s, &staff),
        &case.id,
        serde_json::json!({
            "applicant": citizen_actor(&row.applicant_id),
            "invoices": records.invoices.len(),
            "deed_taxes": records.deed_taxes.len(),
        })
        .to_string(),
        &text,
    );
    audit.correlation_id = q.correlation_id.clone();
    s.db.store_sharing(
        &case.id,
        records.person_name.as_deref(),
        &text,
        s.clock.now(),
        &audit,
    )
    .await?;
    Ok(Json(view(&s, &case.id, &matter).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// `invoice` or `deed_tax`.
    pub kind: String,
    /// The record's number as the platform gave it.
    pub number: String,
}

/// `POST /api/counter/cases/{id}/sharing/confirm`: the applicant confirmed one record.
pub async fn confirm(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Json<FundCaseView>, ApiError> {
    let (case, matter) = fund_case(&s, &staff, &case_id, false).await?;
    let row =
        s.db.fund_counter_case(&case.id)
            .await?
            .ok_or_else(applicant_required)?;
    let records: SharingRecords = match &row.sharing {
        Some(text) => serde_json::from_str(text).map_err(ApiError::internal)?,
        None => {
            return Err(ApiError::Conflict {
                code: "sharing_not_queried",
                title: "请先查询共享平台数据",
                detail: String::new(),
            })
        }
    };
    let number = req.number.trim();
    let (which, known) = match req.kind.as_str() {
        "invoice" => (
            Confirmed::Invoice,
            records.invoices.iter().any(|t| t.invoice_number == number),
        ),
        "deed_tax" => (
            Confirmed::DeedTax,
            records
                .deed_taxes
                .iter()
                .any(|d| d.certificate_number == number),
        ),
        _ => {
            return Err(ApiError::bad(
                "sharing_kind_invalid",
                "确认的记录类别错误",
                "invoice or deed_tax",
            ))
        }
    };
    if !known {
        return Err(ApiError::bad(
            "sharing_record_unknown",
            "共享平台未返回该记录，请核对",
            number.to_owned(),
        ));
    }
    let audit = AuditEntry::action(
        s.clock.now(),
        "sharing_confirmed",
        actor(&s, &staff),
        &case.id,
        serde_json::json!({"kind": req.kind, "number": number}).to_string(),
        "",
    );
    s.db.confirm_sharing(&case.id, which, number, s.clock.now(), &audit)
        .await?;
    Ok(Json(view(&s, &case.id, &matter).await?))
}

/// `POST /api/counter/cases/{id}/debit-card`: the I类借记卡 the withdrawal is paid to.
pub async fn debit_card(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
    ApiJson(req): ApiJson<DebitCard>,
) -> Result<Json<FundCaseView>, ApiError> {
    let (case, matter) = fund_case(&s, &staff, &case_id, false).await?;
    if s.db.fund_counter_case(&case.id).await?.is_none() {
        return Err(applicant_required());
    }
    let card = req.checked()?;
    let audit = AuditEntry::action(
        s.clock.now(),
        "debit_card_recorded",
        actor(&s, &staff),
        &case.id,
        serde_json::json!({"bank": card.bank, "card": card.masked()}).to_string(),
        "",
    );
    s.db.record_debit_card(&case.id, &card.bank, &card.number, s.clock.now(), &audit)
        .await?;
    Ok(Json(view(&s, &case.id, &matter).await?))
}

/// `GET /api/counter/cases/{id}/fund`: the case's 一证通办 state (also for printing the query
/// record, 打印查询记录).
pub async fn show(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
) -> Result<Json<FundCaseView>, ApiError> {
    let (case, matter) = fund_case(&s, &staff, &case_id, true).await?;
    // Before the ID card step the state is simply "everything to do", not an error: the page
    // asks as soon as a fund case opens.
    if s.db.fund_counter_case(&case.id).await?.is_none() {
        return Ok(Json(FundCaseView::before_applicant(&case.id)));
    }
    Ok(Json(view(&s, &case.id, &matter).await?))
}
