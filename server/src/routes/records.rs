//! What a counter shows again after the scan: a case read back with its retrievals (another
//! tab, the next morning) and the archive copy found by its verification code. Both carry the
//! sealed certificate and the issuer's keys as the owner vouched for them, so the page checks
//! the seal itself every time, not only at the scan.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use wallet_core::{CertStatus, RegionCode, RetrievalReceipt, SealedCertificate, TrustEntry};

use super::counter::{clerk_only, node_names};
use crate::auth::Staff;
use crate::db::cases::{AttachmentRow, CaseRow, Matter, RetrievalRow};
use crate::error::ApiError;
use crate::state::AppState;

/// One retrieval as the counter page shows it.
#[derive(Debug, Serialize)]
pub struct RetrievalRecord {
    pub retrieval_id: String,
    pub correlation_id: String,
    pub cert_id: String,
    pub type_name: String,
    pub holder_name: String,
    /// Masked resident ID (a person) or credit code (an enterprise).
    pub holder_id_masked: String,
    pub issuer_name: String,
    /// The certificate's status when it was retrieved, as the owner's receipt states it.
    pub status: CertStatus,
    /// The material the certificate replaces.
    pub material: String,
    /// Only the fields the matter needed.
    pub fields: Vec<(String, String)>,
    pub valid_until: Option<i64>,
    /// The sealed certificate (matter's fields only), base64url, for the page's own check.
    pub sealed: String,
    pub issuer_keys: Vec<TrustEntry>,
    pub path: Vec<String>,
    pub path_names: Vec<String>,
    pub consent_by: String,
    pub consent_by_name: String,
    pub grant_id: Option<String>,
    pub retrieved_at: i64,
    /// Set once the applicant confirmed (关联引用).
    pub attachment: Option<AttachmentRow>,
}

fn record(
    s: &AppState,
    r: RetrievalRow,
    attachment: Option<AttachmentRow>,
) -> Result<RetrievalRecord, ApiError> {
    let cert = SealedCertificate::try_from(r.sealed.clone())
        .map_err(ApiError::internal)?
        .certificate;
    let receipt: RetrievalReceipt = serde_json::from_str(&r.receipt).map_err(ApiError::internal)?;
    let path: Vec<RegionCode> = serde_json::from_str(&r.path).map_err(ApiError::internal)?;
    let issuer_keys: Vec<TrustEntry> =
        serde_json::from_str(&r.issuer_keys).map_err(ApiError::internal)?;
    let consent_names = match r.consent_by.parse::<RegionCode>() {
        Ok(region) => node_names(s, &[region]),
        Err(_) => Vec::new(),
    };
    Ok(RetrievalRecord {
        retrieval_id: r.id,
        correlation_id: r.correlation_id,
        cert_id: r.cert_id,
        type_name: cert.type_name,
        holder_name: cert.holder_name,
        holder_id_masked: cert.holder.masked(),
        issuer_name: cert.issuer_name,
        status: receipt.terms.status,
        material: r.material,
        fields: cert.fields.into_iter().map(|f| (f.name, f.value)).collect(),
        valid_until: cert.valid_until,
        sealed: r.sealed,
        issuer_keys,
        path_names: node_names(s, &path),
        path: path.iter().map(ToString::to_string).collect(),
        consent_by: r.consent_by,
        consent_by_name: consent_names.into_iter().next().unwrap_or_default(),
        grant_id: r.grant_id,
        retrieved_at: r.created_at,
        attachment,
    })
}

#[derive(Debug, Serialize)]
pub struct CaseView {
    pub case: CaseRow,
    pub matter: Matter,
    pub evaluated: bool,
    /// The matter's materials in its order, each marked with the attached e-certificate that
    /// replaced it.
    pub materials: Vec<CaseMaterial>,
    /// How many materials attached e-certificates replaced: 比以前少交N个材料.
    pub replaced: usize,
    pub retrievals: Vec<RetrievalRecord>,
}

/// One material of a case's matter.
#[derive(Debug, Serialize)]
pub struct CaseMaterial {
    pub name: String,
    /// The certificate type whose e-certificate can replace it; `None`: handed in as before.
    pub cert_type: Option<String>,
    /// Supplied by the province's sharing platform (`tax_invoice`, `deed_tax`).
    pub sharing: Option<String>,
    /// The e-certificate attached in its place once the applicant confirmed (关联引用).
    pub replaced_by: Option<Replacement>,
}

#[derive(Debug, Serialize)]
pub struct Replacement {
    pub retrieval_id: String,
    pub cert_id: String,
    /// The archive copy's verification code.
    pub verification_code: String,
}

/// Marks each material with the first attachment that replaced it.
fn materials(matter: &Matter, retrievals: &[RetrievalRecord]) -> Vec<CaseMaterial> {
    matter
        .materials
        .iter()
        .map(|m| CaseMaterial {
            name: m.name.clone(),
            cert_type: m.cert_type.clone(),
            sharing: m.sharing.clone(),
            replaced_by: retrievals
                .iter()
                .filter(|r| r.material == m.name && m.cert_type.is_some())
                .find_map(|r| {
                    r.attachment.as_ref().map(|a| Replacement {
                        retrieval_id: r.retrieval_id.clone(),
                        cert_id: r.cert_id.clone(),
                        verification_code: a.verification_code.clone(),
                    })
                }),
        })
        .collect()
}

/// A case of this clerk, open or finished, with everything scanned for it and which of the
/// matter's materials the attached e-certificates replaced.
pub async fn case(
    State(s): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    clerk_only(&staff)?;
    let not_found = || ApiError::NotFound {
        code: "case_not_found",
        what: "case",
    };
    let case = match s.db.case(&id).await? {
        Some(c) if c.clerk == staff.id => c,
        _ => return Err(not_found()),
    };
    let matter = s.db.matter(&case.matter).await?.ok_or_else(not_found)?;
    let evaluated = s.db.evaluated(&case.id).await?;
    let retrievals =
        s.db.retrievals_of_case(&case.id)
            .await?
            .into_iter()
            .map(|(r, a)| record(&s, r, a))
            .collect::<Result<Vec<_>, _>>()?;
    let materials = materials(&matter, &retrievals);
    Ok(Json(CaseView {
        case,
        matter,
        evaluated,
        replaced: materials.iter().filter(|m| m.replaced_by.is_some()).count(),
        materials,
        retrievals,
    }))
}

#[derive(Debug, Serialize)]
pub struct ArchiveRecord {
    pub verification_code: String,
    pub case_id: String,
    pub matter: String,
    pub matter_name: String,
    pub counter: String,
    pub confirmed_at: i64,
    #[serde(flatten)]
    pub retrieval: RetrievalRecord,
}

/// 打印存档: what an archive copy shows, found by its verification code. Anyone holding the
/// printed copy can check it against the record, seal included.
pub async fn archive(
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<ArchiveRecord>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "archive_not_found",
        what: "archive record",
    };
    let a =
        s.db.attachment_by_code(code.trim())
            .await?
            .ok_or_else(not_found)?;
    let r =
        s.db.retrieval(&a.retrieval_id)
            .await?
            .ok_or_else(not_found)?;
    let case = s.db.case(&r.case_id).await?.ok_or_else(not_found)?;
    let matter_name =
        s.db.matter(&r.matter)
            .await?
            .map(|m| m.name)
            .unwrap_or_default();
    Ok(Json(ArchiveRecord {
        verification_code: a.verification_code.clone(),
        case_id: case.id,
        matter: r.matter.clone(),
        matter_name,
        counter: case.counter,
        confirmed_at: a.confirmed_at,
        retrieval: record(&s, r, Some(a))?,
    }))
}
