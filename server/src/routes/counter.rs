//! 窗口受理: a clerk opens a case for a matter, scans what the applicant shows, gets the
//! certificate with its seal and receipt, attaches it once the applicant confirms, prints an
//! archive copy, finishes the case and records the applicant's rating.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::{CertStatus, RegionCode, RetrievalReceipt, SealedCertificate, TrustEntry};

use crate::auth::secrets::random_string;
use crate::auth::Staff;
use crate::db::cases::{AttachmentRow, CaseRow, Matter, RetrievalRow};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::client::COUNTER_BUDGET;
use crate::federation::resolve::{resolve, settle, HopAudit, HopRequest, Origin, Served, Step};
use crate::federation::Budget;
use crate::state::AppState;

fn clerk(staff: &Staff) -> Result<(), ApiError> {
    if staff.role == "clerk" {
        Ok(())
    } else {
        Err(ApiError::Forbidden("counter routes are for clerks"))
    }
}

/// The matters this node's counters handle, with their materials.
pub async fn matters(
    State(s): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<Matter>>, ApiError> {
    clerk(&staff)?;
    Ok(Json(s.db.matters().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub matter: String,
}

#[derive(Debug, Serialize)]
pub struct OpenedCase {
    pub case: CaseRow,
    pub matter: Matter,
}

/// Opens a case (办件) for a matter; the reply lists its materials and which an e-certificate
/// replaces.
pub async fn open_case(
    State(s): State<AppState>,
    staff: Staff,
    ApiJson(req): ApiJson<OpenCase>,
) -> Result<(StatusCode, Json<OpenedCase>), ApiError> {
    clerk(&staff)?;
    let matter =
        s.db.matter(&req.matter)
            .await?
            .ok_or_else(|| ApiError::bad("matter_unknown", "事项不存在", req.matter.clone()))?;
    let counter =
        s.db.staff(&staff.id)
            .await?
            .map(|st| st.counter)
            .unwrap_or_default();
    let case = CaseRow {
        id: format!("CASE-{}", random_string(9).map_err(ApiError::internal)?),
        matter: matter.code.clone(),
        clerk: staff.id.clone(),
        counter,
        status: "open".into(),
        opened_at: s.clock.now(),
        finished_at: None,
    };
    s.db.open_case(&case).await?;
    Ok((StatusCode::CREATED, Json(OpenedCase { case, matter })))
}

/// Node names as people read them (`漯河市电子证照系统` …), for a path of regions.
pub(super) fn node_names(s: &AppState, path: &[RegionCode]) -> Vec<String> {
    path.iter()
        .map(|r| {
            if *r == s.settings.region {
                s.settings.name.clone()
            } else {
                s.federation.registry.name_of(*r)
            }
        })
        .collect()
}

pub(super) fn clerk_only(staff: &Staff) -> Result<(), ApiError> {
    clerk(staff)
}

async fn own_open_case(s: &AppState, staff: &Staff, id: &str) -> Result<CaseRow, ApiError> {
    match s.db.case(id).await? {
        Some(c) if c.clerk == staff.id && c.status == "open" => Ok(c),
        Some(c) if c.clerk == staff.id => Err(ApiError::Conflict {
            code: "case_closed",
            title: "办件已办结",
            detail: c.id,
        }),
        _ => Err(ApiError::NotFound {
            code: "case_not_found",
            what: "case",
        }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    /// What the scanner typed (`EC1:…`).
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Retrieved {
    pub retrieval_id: String,
    pub correlation_id: String,
    /// The sealed certificate with only the matter's fields, base64url; the page verifies it.
    pub sealed: String,
    pub receipt: RetrievalReceipt,
    pub status: CertStatus,
    /// The material this certificate replaces.
    pub material: String,
    pub type_name: String,
    pub holder_name: String,
    /// The holder's resident ID masked (a person) or credit code (an enterprise).
    pub holder_id_masked: String,
    pub issuer_name: String,
    pub fields: Vec<(String, String)>,
    pub valid_until: Option<i64>,
    /// Regions the retrieval passed through, counter's node first, owner last.
    pub path: Vec<String>,
    /// The same, as people read them (`漯河市电子证照系统` …).
    pub path_names: Vec<String>,
    /// The node that checked the holder's consent (the wallet province).
    pub consent_by: String,
    /// The issuer's seal keys as the owner vouched for them, for the page's own check.
    pub issuer_keys: Vec<TrustEntry>,
    pub grant_id: Option<String>,
}

/// Scans a presentation for a case (调阅). The code is resolved through the tiers
/// (`federation::resolve`): the wallet province checks the presenter's device key, the code's
/// signature and time and the grant (grantee, matter, window, revocation, use limit) and
/// consumes the nonce atomically with its record, so a second scan of the same code is refused
/// even on another process sharing the database; the owner checks the holder's consent again,
/// the certificate's status and validity, and returns only the fields the matter needs. Every
/// attempt is audited at every node it reaches.
pub async fn retrieve(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
    ApiJson(req): ApiJson<Scan>,
) -> Result<(StatusCode, Json<Retrieved>), ApiError> {
    clerk(&staff)?;
    let started = Instant::now();
    let case = own_open_case(&s, &staff, &case_id).await?;
    let matter = s.db.matter(&case.matter).await?.ok_or(ApiError::NotFound {
        code: "matter_unknown",
        what: "matter",
    })?;
    // 一证通办: the applicant from the ID card comes first (housing-fund withdrawal).
    let applicant = crate::fund::counter::applicant_for_scan(&s, &case, &matter).await?;
    let hop = HopRequest {
        correlation_id: random_string(12).map_err(ApiError::internal)?,
        origin: Origin {
            region: s.settings.region,
            clerk: staff.id.clone(),
            case_id: case.id.clone(),
            counter: case.counter.clone(),
            matter: matter.code.clone(),
        },
        presentation: req.text.trim().to_owned(),
        materials: matter
            .materials
            .iter()
            .filter(|m| m.cert_type.is_some())
            .cloned()
            .collect(),
        path: Vec::new(),
        consent: None,
    };
    let outcome = resolve(&s, &hop, Budget::new(COUNTER_BUDGET), None).await;
    let now = s.clock.now();
    let grant_id = |served: &Served| served.receipt.terms.grant.map(|g| g.to_string());
    let retrieval_id = format!("RET-{}", random_string(9).map_err(ApiError::internal)?);
    let record = |served: &Served| -> Result<RetrievalRow, ApiError> {
        Ok(RetrievalRow {
            id: retrieval_id.clone(),
            correlation_id: hop.correlation_id.clone(),
            case_id: case.id.clone(),
            cert_id: served.receipt.terms.cert_id.to_string(),
            holder_id: served.holder_id.clone(),
            matter: matter.code.clone(),
            material: served.material.clone(),
            presenter: served.presenter.clone(),
            grant_id: grant_id(served),
            sealed: served.sealed.clone(),
            receipt: serde_json::to_string(&served.receipt).map_err(ApiError::internal)?,
            created_at: now,
            path: serde_json::to_string(&served.path).map_err(ApiError::internal)?,
            consent_by: served.consent_by.to_string(),
            issuer_keys: served.issuer_keys.payload.clone(),
        })
    };
    let audit = HopAudit {
        action: "retrieval",
        actor: format!("{}:clerk:{}", s.settings.region, staff.id),
        started,
    };
    let step = settle(&s, &hop, outcome, audit, Some(&record)).await;
    let served = match step {
        Ok(Step::Served(served)) => served,
        Ok(Step::Consented(..)) => {
            return Err(ApiError::internal(std::io::Error::other(
                "a consent came back to the counter's node",
            )))
        }
        Err(e) => {
            s.metrics.record_retrieval(e.parts().1);
            return Err(e);
        }
    };
    s.metrics.record_retrieval("ok");
    let sealed = SealedCertificate::try_from(served.sealed.clone()).map_err(ApiError::internal)?;
    let issuer_keys: Vec<TrustEntry> =
        serde_json::from_str(&served.issuer_keys.payload).map_err(ApiError::internal)?;
    let cert = sealed.certificate;
    if let Some(applicant) = &applicant {
        crate::fund::counter::check_retrieved(&s, &staff, &case, applicant, &cert, &retrieval_id)
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(Retrieved {
            holder_id_masked: cert.holder.masked(),
            issuer_name: cert.issuer_name,
            retrieval_id,
            correlation_id: hop.correlation_id.clone(),
            status: served.receipt.terms.status,
            grant_id: grant_id(&served),
            sealed: served.sealed,
            receipt: served.receipt,
            material: served.material,
            type_name: cert.type_name,
            holder_name: cert.holder_name,
            fields: cert.fields.into_iter().map(|f| (f.name, f.value)).collect(),
            valid_until: cert.valid_until,
            path: served.path.iter().map(ToString::to_string).collect(),
            path_names: node_names(&s, &served.path),
            consent_by: served.consent_by.to_string(),
            issuer_keys,
        }),
    ))
}

#[derive(Debug, Serialize)]
pub struct Attached {
    pub attachment: AttachmentRow,
}

/// 申请人确认 → 关联引用: the retrieval becomes an attachment of its case, with the
/// verification code printed on the archive copy.
pub async fn confirm(
    State(s): State<AppState>,
    staff: Staff,
    Path(retrieval_id): Path<String>,
) -> Result<(StatusCode, Json<Attached>), ApiError> {
    clerk(&staff)?;
    let r =
        s.db.retrieval(&retrieval_id)
            .await?
            .ok_or(ApiError::NotFound {
                code: "retrieval_not_found",
                what: "retrieval",
            })?;
    let case = own_open_case(&s, &staff, &r.case_id).await?;
    crate::fund::counter::check_attachable(&s, &case, &r).await?;
    if let Some(existing) = s.db.attachment_of(&r.id).await? {
        return Ok((
            StatusCode::OK,
            Json(Attached {
                attachment: existing,
            }),
        ));
    }
    let attachment = AttachmentRow {
        id: format!("ATT-{}", random_string(9).map_err(ApiError::internal)?),
        case_id: r.case_id.clone(),
        retrieval_id: r.id.clone(),
        verification_code: verification_code().map_err(ApiError::internal)?,
        confirmed_at: s.clock.now(),
    };
    if !s.db.attach(&attachment).await? {
        let existing = s.db.attachment_of(&r.id).await?.ok_or(ApiError::NotFound {
            code: "retrieval_not_found",
            what: "retrieval",
        })?;
        return Ok((
            StatusCode::OK,
            Json(Attached {
                attachment: existing,
            }),
        ));
    }
    Ok((StatusCode::CREATED, Json(Attached { attachment })))
}

/// Twelve symbols of an alphabet without look-alikes, grouped in fours: `7KQ2-M9XD-4TPW`.
fn verification_code() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes)?;
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// Finishes (办结) an open case of this clerk.
pub async fn finish(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    clerk(&staff)?;
    let case = own_open_case(&s, &staff, &case_id).await?;
    crate::fund::counter::ready_to_finish(&s, &case).await?;
    if !s.db.finish_case(&case_id, &staff.id, s.clock.now()).await? {
        return Err(ApiError::Conflict {
            code: "case_closed",
            title: "办件已办结",
            detail: case_id,
        });
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// 1 (非常不满意) to 5 (非常满意).
    pub score: i64,
    #[serde(default)]
    pub comment: String,
}

/// 办事体验评价: the applicant rates a finished case once, on the counter's rating pad.
pub async fn evaluate(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
    ApiJson(req): ApiJson<Evaluation>,
) -> Result<StatusCode, ApiError> {
    clerk(&staff)?;
    if !(1..=5).contains(&req.score) {
        return Err(ApiError::bad(
            "score_invalid",
            "评分应为1至5分",
            req.score.to_string(),
        ));
    }
    if req.comment.chars().count() > 500 {
        return Err(ApiError::bad("comment_too_long", "评价内容不超过500字", ""));
    }
    match s.db.case(&case_id).await? {
        Some(c) if c.clerk == staff.id && c.status == "finished" => {}
        Some(c) if c.clerk == staff.id => {
            return Err(ApiError::Conflict {
                code: "case_not_finished",
                title: "办件办结后才能评价",
                detail: c.id,
            })
        }
        _ => {
            return Err(ApiError::NotFound {
                code: "case_not_found",
                what: "case",
            })
        }
    }
    if !s
        .db
        .evaluate(&case_id, req.score, req.comment.trim(), s.clock.now())
        .await?
    {
        return Err(ApiError::Conflict {
            code: "evaluation_exists",
            title: "该办件已评价",
            detail: case_id,
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
