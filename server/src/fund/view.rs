//! How an application reads for the applicant (wallet) and for the fund centre's reviewer
//! (back office): the same shape, with personal data masked wherever the full value is not
//! needed, and each certificate with its sealed form and issuer keys so the page verifies the
//! seal itself.

use serde::Serialize;
use wallet_core::{CertStatus, RegionCode, SealedCertificate, TrustEntry};

use super::form::{format_amount, Form};
use super::sharing::SharingMatch;
use crate::db::fund::ApplicationRow;
use crate::db::fund_uploads::UploadRow;
use crate::error::ApiError;
use crate::federation::fetch::Fetched;
use crate::state::AppState;

/// One fetched certificate as shown.
#[derive(Debug, Serialize)]
pub struct CertificateView {
    pub material: String,
    pub cert_id: String,
    pub type_name: String,
    pub holder_name: String,
    pub holder_id_masked: String,
    pub issuer_name: String,
    /// Only the fields the matter needs.
    pub fields: Vec<(String, String)>,
    pub valid_until: Option<i64>,
    /// As the owner's receipt states it at retrieval.
    pub status: CertStatus,
    pub retrieved_at: i64,
    pub correlation_id: String,
    /// Wallet province first, owner last, and as people read them.
    pub path: Vec<String>,
    pub path_names: Vec<String>,
    /// The sealed certificate, base64url, and the issuer's keys as the owner vouched for them.
    pub sealed: String,
    pub issuer_keys: Vec<TrustEntry>,
}

fn names(s: &AppState, path: &[RegionCode]) -> Vec<String> {
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

pub fn certificate(s: &AppState, f: &Fetched) -> Result<CertificateView, ApiError> {
    let sealed = SealedCertificate::try_from(f.sealed.clone()).map_err(ApiError::internal)?;
    let issuer_keys: Vec<TrustEntry> =
        serde_json::from_str(&f.issuer_keys.payload).map_err(ApiError::internal)?;
    let cert = sealed.certificate;
    Ok(CertificateView {
        material: f.material.clone(),
        cert_id: cert.id.to_string(),
        type_name: cert.type_name,
        holder_name: cert.holder_name,
        holder_id_masked: cert.holder.masked(),
        issuer_name: cert.issuer_name,
        fields: cert.fields.into_iter().map(|x| (x.name, x.value)).collect(),
        valid_until: cert.valid_until,
        status: f.receipt.terms.status,
        retrieved_at: f.receipt.terms.retrieved_at,
        correlation_id: f.receipt.terms.correlation_id.clone(),
        path: f.path.iter().map(ToString::to_string).collect(),
        path_names: names(s, &f.path),
        sealed: f.sealed.clone(),
        issuer_keys,
    })
}

/// A photo's metadata; the bytes only through the reviewer's own route.
#[derive(Debug, Serialize)]
pub struct UploadView {
    pub id: String,
    pub kind: String,
    pub content_type: String,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    pub sha256: String,
}

impl From<UploadRow> for UploadView {
    fn from(u: UploadRow) -> Self {
        UploadView {
            id: u.id,
            kind: u.kind,
            content_type: u.content_type,
            size: u.size,
            width: u.width,
            height: u.height,
            sha256: u.sha256,
        }
    }
}

/// The form as shown: the card masked, amounts in yuan.
#[derive(Debug, Serialize)]
pub struct FormView {
    pub bank: String,
    pub debit_card_masked: String,
    pub invoice_number: String,
    pub invoice_amount: String,
    pub deed_tax_number: String,
    pub deed_tax_amount: String,
    pub spouse_participates: bool,
}

/// An application as the applicant or a reviewer sees it.
#[derive(Debug, Serialize)]
pub struct ApplicationView {
    pub id: String,
    pub matter: String,
    pub matter_name: String,
    pub applicant_name: String,
    pub applicant_id_masked: String,
    /// `submitted`, `under_review`, `approved`, `rejected`, and how people read it.
    pub status: String,
    pub status_name: &'static str,
    /// The fund centre's node, as people read it.
    pub handled_by: String,
    pub handled_by_name: String,
    pub form: FormView,
    /// The sharing platform's records the form matched.
    pub sharing: SharingMatch,
    pub certificates: Vec<CertificateView>,
    pub uploads: Vec<UploadView>,
    pub consented_at: i64,
    pub submitted_at: i64,
    pub received_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// A rejection's reason (or a note with an approval).
    pub reason: Option<String>,
    pub evaluation: Option<EvaluationView>,
}

#[derive(Debug, Serialize)]
pub struct EvaluationView {
    pub score: i64,
    pub comment: String,
    pub at: i64,
}

/// A short line of an application, for lists and the review queue.
#[derive(Debug, Serialize)]
pub struct ApplicationLine {
    pub id: String,
    pub matter_name: String,
    pub applicant_name: String,
    pub applicant_id_masked: String,
    pub status: String,
    pub status_name: &'static str,
    pub submitted_at: i64,
    pub received_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub evaluated: bool,
}

fn masked_id(id: &str) -> String {
    id.parse::<wallet_core::ResidentId>()
        .map(|r| r.masked())
        .unwrap_or_else(|_| "***".into())
}

pub fn line(a: &ApplicationRow) -> ApplicationLine {
    ApplicationLine {
        id: a.id.clone(),
        matter_name: a.matter_name.clone(),
        applicant_name: a.applicant_name.clone(),
        applicant_id_masked: masked_id(&a.applicant_id),
        status: a.status.clone(),
        status_name: super::status_name(&a.status),
        submitted_at: a.submitted_at,
        received_at: a.received_at,
        decided_at: a.decided_at,
        evaluated: a.evaluation_score.is_some(),
    }
}

pub async fn application(s: &AppState, a: ApplicationRow) -> Result<ApplicationView, ApiError> {
    let form: Form = serde_json::from_str(&a.form).map_err(ApiError::internal)?;
    let sharing: SharingMatch = serde_json::from_str(&a.sharing).map_err(ApiError::internal)?;
    let fetched: Vec<Fetched> =
        serde_json::from_str(&a.certificates).map_err(ApiError::internal)?;
    let certificates = fetched
        .iter()
        .map(|f| certificate(s, f))
        .collect::<Result<Vec<_>, _>>()?;
    let uploads =
        s.db.uploads_of_application(&a.id, false)
            .await?
            .into_iter()
            .map(UploadView::from)
            .collect();
    let handled_by_name = match a.handled_by.parse::<RegionCode>() {
        Ok(r) => names(s, &[r]).pop().unwrap_or_default(),
        Err(_) => a.handled_by.clone(),
    };
    let evaluation = match (a.evaluation_score, a.evaluated_at) {
        (Some(score), Some(at)) => Some(EvaluationView {
            score,
            comment: a.evaluation_comment.clone().unwrap_or_default(),
            at,
        }),
        _ => None,
    };
    Ok(ApplicationView {
        applicant_id_masked: masked_id(&a.applicant_id),
        status_name: super::status_name(&a.status),
        form: FormView {
            debit_card_masked: form.debit_card.masked(),
            bank: form.debit_card.bank,
            invoice_number: form.invoice_number,
            invoice_amount: format_amount(form.invoice_amount_fen),
            deed_tax_number: form.deed_tax_number,
            deed_tax_amount: format_amount(form.deed_tax_amount_fen),
            spouse_participates: form.spouse_participates,
        },
        id: a.id,
        matter: a.matter,
        matter_name: a.matter_name,
        applicant_name: a.applicant_name,
        status: a.status,
        handled_by: a.handled_by,
        handled_by_name,
        sharing,
        certificates,
        uploads,
        consented_at: a.consented_at,
        submitted_at: a.submitted_at,
        received_at: a.received_at,
        decided_at: a.decided_at,
        reason: a.reason,
        evaluation,
    })
}
