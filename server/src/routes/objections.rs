//! 异议: a holder reports that a certificate is wrong; the certificate is marked disputed for
//! the issuer (nothing is suspended), with a deadline and a decision the holder can follow.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::auth::secrets::random_string;
use crate::auth::Citizen;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::db::objections::ObjectionRow;
use crate::error::ApiError;
use crate::extract::{ApiJson, IssuerAuth};
use crate::state::AppState;

/// How long the issuing department has to decide: 15 days.
pub const DECISION_DAYS: i64 = 15;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObjection {
    pub cert_id: String,
    pub reason: String,
}

fn audit(s: &AppState, action: &str, actor: String, subject: &str, detail: String) -> AuditEntry {
    AuditEntry::action(s.clock.now(), action, actor, subject, detail, "")
}

/// Files an objection against one of my certificates (or one of an enterprise I act for).
pub async fn file(
    State(s): State<AppState>,
    me: Citizen,
    ApiJson(req): ApiJson<FileObjection>,
) -> Result<(StatusCode, Json<ObjectionRow>), ApiError> {
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::bad(
            "objection_reason_invalid",
            "请填写异议理由（不超过1000字）",
            "",
        ));
    }
    let cert =
        s.db.certificate(req.cert_id.trim())
            .await?
            .ok_or(ApiError::NotFound {
                code: "certificate_not_found",
                what: "certificate",
            })?;
    if !s
        .db
        .acts_for_holder(&cert.holder_kind, &cert.holder_id, &me.resident_id)
        .await?
    {
        return Err(ApiError::NotFound {
            code: "certificate_not_found",
            what: "certificate",
        });
    }
    let now = s.clock.now();
    let row = ObjectionRow {
        id: format!("OBJ-{}", random_string(9).map_err(ApiError::internal)?),
        cert_id: cert.id.clone(),
        holder_id: cert.holder_id.clone(),
        reporter: me.resident_id.clone(),
        reason: reason.to_owned(),
        status: "open".into(),
        deadline: now + DECISION_DAYS * 86400,
        decision: None,
        created_at: now,
        decided_at: None,
    };
    let actor = citizen_actor(&me.resident_id);
    s.db.file_objection(
        &row,
        &audit(
            &s,
            "objection",
            actor,
            &row.id,
            serde_json::json!({ "cert_id": row.cert_id }).to_string(),
        ),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// My objections and their state.
pub async fn mine(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<ObjectionRow>>, ApiError> {
    Ok(Json(s.db.objections_by(&me.resident_id).await?))
}

/// Objections against the department's certificates, open first, by deadline.
pub async fn for_issuer(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
) -> Result<Json<Vec<ObjectionRow>>, ApiError> {
    Ok(Json(s.db.objections_for_issuer(&dept.credit_code).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub upheld: bool,
    pub decision: String,
}

/// The department's decision on an open objection against one of its certificates.
pub async fn decide(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Decide>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "objection_not_found",
        what: "objection",
    };
    let o = s.db.objection(&id).await?.ok_or_else(not_found)?;
    let cert = s.db.certificate(&o.cert_id).await?.ok_or_else(not_found)?;
    if cert.issuer_code != dept.credit_code {
        return Err(not_found());
    }
    if req.decision.trim().is_empty() {
        return Err(ApiError::bad("decision_missing", "请填写处理意见", ""));
    }
    let entry = audit(
        &s,
        "objection_decision",
        format!("department:{}", dept.credit_code),
        &id,
        serde_json::json!({ "upheld": req.upheld }).to_string(),
    );
    if !s
        .db
        .decide_objection(&id, req.upheld, req.decision.trim(), s.clock.now(), &entry)
        .await?
    {
        return Err(ApiError::Conflict {
            code: "objection_decided",
            title: "该异议已处理",
            detail: id,
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
