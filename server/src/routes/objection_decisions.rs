//! 异议 at the issuer's node: the department's business system lists the objections
//! addressed to it and rejects them with a reason; it accepts one by correcting the
//! certificate or issuing the missing one (`issuance`), naming the objection.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

use crate::db::received_objections::{Decision, ReceivedRow};
use crate::error::ApiError;
use crate::extract::{ApiJson, IssuerAuth};
use crate::routes::objections::reason;
use crate::state::AppState;

/// Objections addressed to the department, open ones first by deadline, then the decided.
pub async fn for_issuer(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
) -> Result<Json<Vec<ReceivedRow>>, ApiError> {
    Ok(Json(s.db.objections_for_issuer(&dept.credit_code).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    pub reason: String,
}

/// The errors of a department's decision, one way for every route that decides.
pub fn decided(d: Decision) -> Result<Vec<ReceivedRow>, ApiError> {
    match d {
        Decision::Done(rows) => Ok(rows),
        Decision::NotFound => Err(ApiError::NotFound {
            code: "objection_not_found",
            what: "objection",
        }),
        Decision::AlreadyDecided => Err(ApiError::Conflict {
            code: "objection_decided",
            title: "该异议已处理",
            detail: String::new(),
        }),
        Decision::Mismatch => Err(ApiError::bad(
            "objection_mismatch",
            "该异议与此证照不符",
            "the objection names another certificate, holder or type",
        )),
        Decision::NotCurrent => Err(ApiError::Conflict {
            code: "certificate_not_current",
            title: "证照已注销或已被更正",
            detail: String::new(),
        }),
    }
}

/// The department rejects an open objection addressed to it, with the reason the holder will
/// read. The certificate returns to valid when no other objection is open; the decision goes
/// back to the holder's wallet node.
pub async fn reject(
    State(s): State<AppState>,
    IssuerAuth(dept): IssuerAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Reject>,
) -> Result<Json<ReceivedRow>, ApiError> {
    let reason = reason(
        &req.reason,
        "rejection_reason_invalid",
        "请填写不予更正的理由（不超过1000字）",
    )?;
    let d =
        s.db.reject_objection(&id, &dept.credit_code, &reason, s.clock.now())
            .await?;
    let mut rows = decided(d)?;
    rows.pop()
        .map(Json)
        .ok_or_else(|| ApiError::internal(std::io::Error::other("no objection decided")))
}
