//! The online application at the wallet province, steps (1)–(4) of the notice: the form and
//! the applicant's consent, the sharing platform's comparison, the certificates fetched by
//! resident ID, and the application stored with its message to the fund centre.

use serde::Deserialize;
use wallet_core::RegionCode;

use super::form::{parse_amount, record_number, DebitCard, Declared, Form};
use super::sharing::{compare, Mismatch};
use crate::auth::secrets::random_string;
use crate::auth::Citizen;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::db::cases::{Material, Matter};
use crate::db::fund::{ApplicationRow, SubmitError};
use crate::db::fund_messages::MessageRow;
use crate::db::index::holder_key;
use crate::error::ApiError;
use crate::federation::client::COUNTER_BUDGET;
use crate::federation::fetch::{fetch, FetchConsent, Fetched};
use crate::federation::Budget;
use crate::state::AppState;

/// The photos of the form, by upload id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uploads {
    pub debit_card: String,
    pub invoice: String,
    pub deed_tax: String,
}

/// `POST /api/wallet/fund/applications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// The matter's code, from the province's matter directory.
    pub matter: String,
    pub debit_card: DebitCard,
    pub invoice: Declared,
    pub deed_tax: Declared,
    /// The spouse takes part (结婚证 fetched).
    #[serde(default)]
    pub spouse_participates: bool,
    pub uploads: Uploads,
    /// 同意查询本人的相关信息: must be true.
    pub consent: bool,
}

/// How a submission ended.
#[derive(Debug)]
pub enum Submitted {
    Stored(Box<ApplicationRow>),
    /// Back to the form: these fields differ from the sharing platform's records.
    Mismatch(Vec<Mismatch>),
}

fn bad(code: &'static str, title: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::bad(code, title, detail)
}

/// The matter and the node whose counters (fund centre) handle it: this node's own, or one of
/// its cities' from the directory.
async fn matter_here(s: &AppState, code: &str) -> Result<(Matter, RegionCode), ApiError> {
    let own = s.settings.region;
    let found = match s.db.matter(code).await? {
        Some(m) => Some((m, own)),
        None => {
            s.db.directory_matters()
                .await?
                .into_iter()
                .find(|d| d.matter.code == code)
                .and_then(|d| d.region.parse().ok().map(|r| (d.matter, r)))
        }
    };
    match found {
        Some((m, region)) if super::uses_sharing(&m) => Ok((m, region)),
        _ => Err(bad(
            "matter_not_online",
            "该事项不支持网上提取申请",
            code.to_owned(),
        )),
    }
}

/// A material that concerns the spouse (the 结婚证 names the 配偶), fetched only when the
/// spouse takes part.
fn about_spouse(m: &Material) -> bool {
    m.fields.iter().any(|f| f.starts_with("配偶"))
}

/// The applicant's current certificate of a type: held here, or known from the index.
async fn current_certificate(
    s: &AppState,
    resident: &str,
    cert_type: &str,
) -> Result<Option<String>, ApiError> {
    let current = |status: &str| matches!(status, "valid" | "disputed");
    let mut local = s.db.certificates_of_holder(resident).await?;
    local.retain(|c| c.type_code == cert_type && current(&c.status));
    local.sort_by_key(|c| std::cmp::Reverse(c.valid_from));
    if let Some(c) = local.into_iter().next() {
        return Ok(Some(c.id));
    }
    let indexed =
        s.db.indexed_of_holder(&holder_key("person", resident))
            .await?;
    Ok(indexed
        .into_iter()
        .filter(|c| c.meta.type_code == cert_type && current(&c.meta.status))
        .max_by_key(|c| c.meta.valid_from)
        .map(|c| c.meta.cert_id))
}

fn form(req: &ApplicationRequest) -> Result<Form, ApiError> {
    Ok(Form {
        debit_card: req.debit_card.checked()?,
        invoice_number: record_number(&req.invoice.number, "invoice.number")?,
        invoice_amount_fen: parse_amount(&req.invoice.amount, "invoice.amount")?,
        deed_tax_number: record_number(&req.deed_tax.number, "deed_tax.number")?,
        deed_tax_amount_fen: parse_amount(&req.deed_tax.amount, "deed_tax.amount")?,
        spouse_participates: req.spouse_participates,
    })
}

/// Checks, compares, fetches and stores; see the module documentation.
pub async fn submit(
    s: &AppState,
    me: &Citizen,
    req: ApplicationRequest,
) -> Result<Submitted, ApiError> {
    if !req.consent {
        return Err(bad(
            "consent_required",
            "请先同意查询本人的购房发票、契税和电子证照信息",
            "consent must be true",
        ));
    }
    let (matter, handled_by) = matter_here(s, req.matter.trim()).await?;
    let form = form(&req)?;
    let uploads = [
        ("debit_card", &req.uploads.debit_card),
        ("invoice", &req.uploads.invoice),
        ("deed_tax", &req.uploads.deed_tax),
    ];
    for (kind, id) in uploads {
        let usable = s.db.upload_meta(id).await?.is_some_and(|u| {
            u.owner_id == me.resident_id && u.kind == kind && u.application_id.is_none()
        });
        if !usable {
            return Err(upload_unavailable(kind));
        }
    }
    let account =
        s.db.account(&me.resident_id)
            .await?
            .ok_or(ApiError::Unauthenticated("account gone"))?;
    let id = format!("GJJ-{}", random_string(9).map_err(ApiError::internal)?);
    let matched = match compare(s, &me.resident_id, &form, &id, &matter.code).await? {
        Ok(m) => m,
        Err(differ) => return Ok(Submitted::Mismatch(differ)),
    };
    let now = s.clock.now();
    // One budget for all fetches, as a counter's scan has.
    let budget = Budget::new(COUNTER_BUDGET);
    let mut fetched: Vec<Fetched> = Vec::new();
    for material in matter.materials.iter().filter(|m| m.cert_type.is_some()) {
        if about_spouse(material) && !form.spouse_participates {
            continue;
        }
        let cert_type = material.cert_type.as_deref().unwrap_or_default();
        let cert_id = current_certificate(s, &me.resident_id, cert_type)
            .await?
            .ok_or_else(|| {
                bad(
                    "certificate_not_found_for_applicant",
                    "未查到申请人名下所需的电子证照，请到窗口办理",
                    material.name.clone(),
                )
            })?;
        let consent = FetchConsent {
            correlation_id: random_string(12).map_err(ApiError::internal)?,
            application_id: id.clone(),
            resident_id: me.resident_id.clone(),
            matter: matter.code.clone(),
            cert_id,
            material: material.clone(),
            consented_at: now,
        };
        fetched.push(fetch(s, consent, budget).await?);
    }
    let own = s.settings.region;
    let here = handled_by == own;
    let row = ApplicationRow {
        id: id.clone(),
        matter: matter.code.clone(),
        matter_name: matter.name.clone(),
        department: matter.department.clone(),
        applicant_id: me.resident_id.clone(),
        applicant_name: account.name,
        wallet_region: own.to_string(),
        handled_by: handled_by.to_string(),
        // A matter of this node's own counters is with its reviewers at once.
        status: if here { "under_review" } else { "submitted" }.into(),
        form: serde_json::to_string(&form).map_err(ApiError::internal)?,
        sharing: serde_json::to_string(&matched).map_err(ApiError::internal)?,
        certificates: serde_json::to_string(&fetched).map_err(ApiError::internal)?,
        consented_at: now,
        submitted_at: now,
        received_at: here.then_some(now),
        decided_at: None,
        reviewer: None,
        reason: None,
        evaluation_score: None,
        evaluation_comment: None,
        evaluated_at: None,
    };
    let message = (!here)
        .then(|| message(handled_by, "application", &id, String::new()))
        .transpose()?;
    let detail = serde_json::json!({
        "matter": matter.code,
        "handled_by": row.handled_by,
        "certificates": fetched.iter().map(|f| f.receipt.terms.cert_id.to_string()).collect::<Vec<_>>(),
        "uploads": uploads.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(),
    })
    .to_string();
    let audit = AuditEntry::action(
        now,
        "fund_application",
        citizen_actor(&me.resident_id),
        &id,
        detail,
        &row.certificates,
    );
    let photos: Vec<(String, String)> = uploads
        .iter()
        .map(|(kind, id)| ((*kind).to_owned(), (*id).clone()))
        .collect();
    match s
        .db
        .submit_application(&row, &photos, message.as_ref(), &audit)
        .await?
    {
        Ok(()) => Ok(Submitted::Stored(Box::new(row))),
        Err(SubmitError::UploadUnavailable) => Err(upload_unavailable("any")),
    }
}

fn upload_unavailable(kind: &str) -> ApiError {
    ApiError::Conflict {
        code: "upload_unavailable",
        title: "照片不存在或已用于其他申请，请重新上传",
        detail: kind.to_owned(),
    }
}

/// A message for the other end of an application.
pub fn message(
    to: RegionCode,
    kind: &str,
    application_id: &str,
    payload: String,
) -> Result<MessageRow, ApiError> {
    Ok(MessageRow {
        id: format!("MSG-{}", random_string(12).map_err(ApiError::internal)?),
        destination: to.to_string(),
        kind: kind.into(),
        application_id: application_id.into(),
        payload,
        attempts: 0,
    })
}
