//! Issuance (证照制作, 印章制作, 生成一个、入库一个): a department's business system issues,
//! revokes and corrects certificates of its catalog types, sealed with its current seal key.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use wallet_core::certificate::{Field, MAX_FIELD_VALUE, MAX_TEXT};
use wallet_core::{CertId, Certificate, CreditCode, Holder, Seal, SealKey, SecretKey};

use crate::db::audit::AuditEntry;
use crate::db::catalog::CertType;
use crate::db::certificates::CertRow;
use crate::db::departments::Department;
use crate::db::received_objections::Decision;
use crate::error::{rule, ApiError};
use crate::extract::{ApiJson, IssuerAuth};
use crate::routes::objection_decisions::decided;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub type_code: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    pub holder_id: String,
    pub holder_name: String,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub fields: BTreeMap<String, String>,
    /// The open objection reporting this certificate missing, which the issuance answers.
    #[serde(default)]
    pub objection: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectRequest {
    pub holder_name: String,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub fields: BTreeMap<String, String>,
    /// The open objection the correction answers (every open objection against the old
    /// version is answered with the new one; naming one checks it is still open).
    #[serde(default)]
    pub objection: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Issued {
    pub id: String,
    pub version: u16,
    pub status: &'static str,
    pub seal_key: String,
    /// The sealed certificate, base64url.
    pub sealed: String,
}

fn holder(kind: &str, id: &str) -> Result<Holder, ApiError> {
    match kind {
        "person" => Ok(Holder::Person(id.parse().map_err(rule)?)),
        "enterprise" => Ok(Holder::Enterprise(id.parse().map_err(rule)?)),
        _ => Err(ApiError::bad(
            "holder_kind_invalid",
            "持证人类型应为个人或企业",
            kind.to_owned(),
        )),
    }
}

/// Checks the data fields against the type's schema; returns them in schema order with salts.
fn fields(t: &CertType, given: &BTreeMap<String, String>) -> Result<Vec<Field>, ApiError> {
    if let Some(unknown) = given
        .keys()
        .find(|k| !t.fields.iter().any(|f| &f.name == *k))
    {
        return Err(ApiError::bad(
            "field_unknown",
            "证照数据项不在目录中",
            unknown.clone(),
        ));
    }
    let mut out = Vec::new();
    for spec in &t.fields {
        match given.get(&spec.name).map(|v| v.trim()) {
            Some(v) if v.len() > MAX_FIELD_VALUE => {
                return Err(ApiError::bad(
                    "field_too_long",
                    "证照数据项过长",
                    spec.name.clone(),
                ));
            }
            Some(v) if !v.is_empty() => out.push(Field::new(spec.name.clone(), v).map_err(rule)?),
            _ if spec.required => {
                return Err(ApiError::bad(
                    "field_missing",
                    "缺少必填的证照数据项",
                    spec.name.clone(),
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn check_common(
    holder_name: &str,
    valid_from: i64,
    valid_until: Option<i64>,
) -> Result<(), ApiError> {
    let name = holder_name.trim();
    if name.is_empty() || name.len() > MAX_TEXT {
        return Err(ApiError::bad(
            "holder_name_invalid",
            "请填写持证人名称",
            "1 to 256 bytes",
        ));
    }
    if matches!(valid_until, Some(u) if u <= valid_from) {
        return Err(ApiError::bad(
            "validity_invalid",
            "有效期截止日期须晚于起始日期",
            "valid_until <= valid_from",
        ));
    }
    Ok(())
}

async fn seal_key(s: &AppState, department: &str) -> Result<SealKey, ApiError> {
    let (_, secret) =
        s.db.current_seal_key(department)
            .await?
            .ok_or(ApiError::Conflict {
                code: "seal_key_missing",
                title: "部门尚无电子印章",
                detail: department.to_owned(),
            })?;
    let bytes = B64.decode(secret).map_err(ApiError::internal)?;
    SecretKey::from_bytes(&bytes).map_err(ApiError::internal)
}

async fn own_type(s: &AppState, dept: &str, code: &str) -> Result<CertType, ApiError> {
    let t =
        s.db.cert_type(code).await?.ok_or_else(|| {
            ApiError::bad("cert_type_unknown", "证照类型不在目录中", code.to_owned())
        })?;
    if t.department != dept {
        return Err(ApiError::Forbidden(
            "this certificate type is issued by another department",
        ));
    }
    Ok(t)
}

fn audit(
    s: &AppState,
    action: &str,
    dept: &str,
    subject: &str,
    detail: String,
    response: &str,
) -> AuditEntry {
    AuditEntry::action(
        s.clock.now(),
        action,
        format!("department:{dept}"),
        subject,
        detail,
        response,
    )
}

/// Seals `cert` with the department's current key and builds the row to store.
async fn seal(
    s: &AppState,
    dept: &str,
    t: &CertType,
    cert: Certificate,
) -> Result<(CertRow, Issued), ApiError> {
    let key = seal_key(s, dept).await?;
    let now = s.clock.now();
    let sealed = Seal::sign(cert, &key, now).map_err(rule)?;
    let c = &sealed.certificate;
    let (holder_kind, holder_id) = match &c.holder {
        Holder::Person(p) => ("person", p.to_string()),
        Holder::Enterprise(e) => ("enterprise", e.to_string()),
    };
    let encoded = String::from(sealed.clone());
    let row = CertRow {
        id: c.id.to_string(),
        type_code: t.code.clone(),
        holder_kind: holder_kind.into(),
        holder_id,
        holder_name: c.holder_name.clone(),
        issuer_code: dept.into(),
        sealed: encoded.clone(),
        status: "valid".into(),
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        issued_at: now,
        replaced_by: None,
    };
    let issued = Issued {
        id: row.id.clone(),
        version: c.id.version(),
        status: "valid",
        seal_key: key.key_id().to_string(),
        sealed: encoded,
    };
    Ok((row, issued))
}

/// Issues a certificate of one of the department's catalog types: the holder's identifier must
/// pass its check digit, the fields must match the type's schema, and the certificate gets a
/// fresh random identifier. Naming an open objection that reported it missing answers it. Sealing and storing happen before the reply; nothing half-made is
/// ever stored.
pub async fn issue(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let issued = issue_certificate(&s, &dept, req).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// The whole of issuance for one department, whoever asks: the route above for a business
/// system, the demo seed for its synthetic certificates. Checks, seals and stores with the
/// audit entry in one transaction.
pub async fn issue_certificate(
    s: &AppState,
    dept: &Department,
    req: IssueRequest,
) -> Result<Issued, ApiError> {
    let t = own_type(s, &dept.credit_code, &req.type_code).await?;
    if req.holder_kind != t.holder_kind {
        return Err(ApiError::bad(
            "holder_kind_mismatch",
            "持证人类型与证照类型不符",
            t.holder_kind.clone(),
        ));
    }
    let holder = holder(&req.holder_kind, req.holder_id.trim())?;
    check_common(&req.holder_name, req.valid_from, req.valid_until)?;
    let issuer: CreditCode = dept.credit_code.parse().map_err(ApiError::internal)?;
    let id = CertId::generate(&t.code, &issuer, 1).map_err(ApiError::internal)?;
    let cert = Certificate {
        id,
        type_name: t.name.clone(),
        holder,
        holder_name: req.holder_name.trim().to_owned(),
        issuer_name: dept.name.clone(),
        valid_from: req.valid_from,
        valid_until: req.valid_until,
        fields: fields(&t, &req.fields)?,
    };
    let (row, issued) = seal(s, &dept.credit_code, &t, cert).await?;
    let detail = serde_json::json!({ "type": t.code, "objection": req.objection });
    let entry = audit(
        s,
        "issue",
        &dept.credit_code,
        &row.id,
        detail.to_string(),
        &row.sealed,
    );
    match req.objection.as_deref() {
        None => s.db.insert_certificate(&row, &entry).await?,
        Some(o) => drop(decided(
            s.db.issue_for_objection(&row, o.trim(), &entry).await?,
        )?),
    }
    Ok(issued)
}

/// Revokes a current certificate of this department. Every later retrieval sees the status.
pub async fn revoke(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<StatusCode, ApiError> {
    let row = owned_certificate(&s, &dept.credit_code, &id).await?;
    let detail = serde_json::json!({ "reason": req.reason.trim() }).to_string();
    let entry = audit(&s, "revoke", &dept.credit_code, &row.id, detail, "revoked");
    if !s
        .db
        .revoke_certificate(&row.id, &dept.credit_code, &entry)
        .await?
    {
        return Err(not_current(&row.status));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Issues the next version of a certificate (same serial, version + 1) with corrected data and
/// marks the old version superseded, atomically; every open objection against the old version
/// is answered with the new one (`objection` names the one being answered, which must be open).
pub async fn correct(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CorrectRequest>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let old = owned_certificate(&s, &dept.credit_code, &id).await?;
    let old_id: CertId = old.id.parse().map_err(ApiError::internal)?;
    let t = own_type(&s, &dept.credit_code, &old.type_code).await?;
    check_common(&req.holder_name, req.valid_from, req.valid_until)?;
    let next = old_id
        .version()
        .checked_add(1)
        .filter(|v| *v <= 999)
        .ok_or(ApiError::Conflict {
            code: "version_exhausted",
            title: "证照版本号已用尽",
            detail: old.id.clone(),
        })?;
    let new_id = CertId::new(old_id.type_code(), old_id.issuer(), old_id.serial(), next)
        .map_err(ApiError::internal)?;
    let cert = Certificate {
        id: new_id,
        type_name: t.name.clone(),
        holder: holder(&old.holder_kind, &old.holder_id)?,
        holder_name: req.holder_name.trim().to_owned(),
        issuer_name: dept.name.clone(),
        valid_from: req.valid_from,
        valid_until: req.valid_until,
        fields: fields(&t, &req.fields)?,
    };
    let (row, issued) = seal(&s, &dept.credit_code, &t, cert).await?;
    let detail = serde_json::json!({ "replaces": old.id, "objection": req.objection }).to_string();
    let entry = audit(
        &s,
        "correct",
        &dept.credit_code,
        &row.id,
        detail,
        &row.sealed,
    );
    let named = req.objection.as_deref().map(str::trim);
    match s
        .db
        .correct_with_objections(&old.id, &row, named, &entry)
        .await?
    {
        Decision::NotCurrent => return Err(not_current(&old.status)),
        d => drop(decided(d)?),
    }
    Ok((StatusCode::CREATED, Json(issued)))
}

#[derive(Debug, Serialize)]
pub struct RotatedKey {
    pub key_id: String,
    pub public_key: String,
    pub not_before: i64,
}

/// Retires the department's current seal key and creates a new one. The retired key stays in
/// the trust list with its end time, so certificates it sealed keep verifying.
pub async fn rotate_seal_key(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
) -> Result<Json<RotatedKey>, ApiError> {
    let key = SecretKey::generate().map_err(ApiError::internal)?;
    let now = s.clock.now();
    let public = key.public_key().to_string();
    s.db.rotate_seal_key(
        &dept.credit_code,
        &key.key_id().to_string(),
        &public,
        &B64.encode(*key.to_bytes()),
        now,
    )
    .await?;
    let entry = audit(
        &s,
        "rotate_seal_key",
        &dept.credit_code,
        &key.key_id().to_string(),
        "{}".into(),
        &public,
    );
    s.db.audit(&entry).await?;
    Ok(Json(RotatedKey {
        key_id: key.key_id().to_string(),
        public_key: public,
        not_before: now,
    }))
}

async fn owned_certificate(s: &AppState, dept: &str, id: &str) -> Result<CertRow, ApiError> {
    match s.db.certificate(id).await? {
        Some(row) if row.issuer_code == dept => Ok(row),
        _ => Err(ApiError::NotFound {
            code: "certificate_not_found",
            what: "certificate",
        }),
    }
}

fn not_current(status: &str) -> ApiError {
    ApiError::Conflict {
        code: "certificate_not_current",
        title: "证照已注销或已被更正",
        detail: status.to_owned(),
    }
}
