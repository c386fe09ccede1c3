//! The fund centre's back office (后台审核) at the node that handles the matter: the queue of
//! online applications, one application with its certificates and photos, and the decision,
//! taken once, with a reason for a rejection. Reviewers only: a clerk's token is refused here
//! as a reviewer's is at the counter, and a reviewer sees only their own department's matters.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::auth::Staff;
use crate::db::audit::AuditEntry;
use crate::db::fund::ApplicationRow;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::fund::apply::message;
use crate::fund::delivery::DecisionTransfer;
use crate::fund::view::{self, ApplicationLine, ApplicationView};
use crate::state::AppState;

/// The longest queue page.
const QUEUE_LIMIT: i64 = 200;

fn actor(s: &AppState, staff: &Staff) -> String {
    format!("{}:reviewer:{}", s.settings.region, staff.id)
}

/// The reviewer's department, or a refusal for anyone else.
async fn reviewer(s: &AppState, staff: &Staff) -> Result<String, ApiError> {
    if staff.role != "reviewer" {
        return Err(ApiError::Forbidden("back-office routes are for reviewers"));
    }
    s.db.staff(&staff.id)
        .await?
        .map(|row| row.department)
        .ok_or(ApiError::Unauthenticated("staff account gone"))
}

/// An application this node's fund centre handles, of the reviewer's department.
async fn handled(s: &AppState, staff: &Staff, id: &str) -> Result<ApplicationRow, ApiError> {
    let department = reviewer(s, staff).await?;
    match s.db.application(id).await? {
        Some(a) if a.handled_by == s.settings.region.to_string() && a.department == department => {
            Ok(a)
        }
        _ => Err(ApiError::NotFound {
            code: "application_not_found",
            what: "application",
        }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `under_review` (the default), `approved` or `rejected`.
    pub status: Option<String>,
}

/// `GET /api/review/fund/applications?status=`: the queue, oldest first.
pub async fn queue(
    State(s): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<Vec<ApplicationLine>>, ApiError> {
    let department = reviewer(&s, &staff).await?;
    let status = q.status.as_deref().unwrap_or("under_review");
    if !matches!(status, "under_review" | "approved" | "rejected") {
        return Err(ApiError::bad(
            "status_invalid",
            "状态参数错误",
            "under_review, approved or rejected",
        ));
    }
    let rows =
        s.db.applications_handled(
            &s.settings.region.to_string(),
            &department,
            status,
            QUEUE_LIMIT,
        )
        .await?;
    Ok(Json(rows.iter().map(view::line).collect()))
}

/// `GET /api/review/fund/applications/{id}`: the application with the sharing platform's
/// records, the certificates (sealed, with the issuer's keys, for the page's own seal check)
/// and the photos' metadata.
pub async fn show(
    State(s): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let a = handled(&s, &staff, &id).await?;
    Ok(Json(view::application(&s, a).await?))
}

/// `GET /api/review/fund/applications/{id}/uploads/{kind}`: a photo's bytes, only as the image
/// type its bytes proved, never sniffable, never cached; each viewing is audited.
pub async fn photo(
    State(s): State<AppState>,
    staff: Staff,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let a = handled(&s, &staff, &id).await?;
    let photo =
        s.db.uploads_of_application(&a.id, true)
            .await?
            .into_iter()
            .find(|u| u.kind == kind)
            .ok_or(ApiError::NotFound {
                code: "upload_not_found",
                what: "photo",
            })?;
    let audit = AuditEntry::action(
        s.clock.now(),
        "fund_upload_viewed",
        actor(&s, &staff),
        &a.id,
        serde_json::json!({"kind": photo.kind, "sha256": photo.sha256}).to_string(),
        "",
    );
    s.db.audit(&audit).await?;
    let content_type = match photo.content_type.as_str() {
        "image/png" => "image/png",
        _ => "image/jpeg",
    };
    let extension = if content_type == "image/png" {
        "png"
    } else {
        "jpg"
    };
    let disposition = format!("inline; filename=\"{}-{}.{extension}\"", a.id, photo.kind);
    let mut response = (StatusCode::OK, photo.data).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `approve` or `reject`.
    pub decision: String,
    /// Required for a rejection (shown to the applicant); optional with an approval.
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/review/fund/applications/{id}/decision`: approves or rejects an application under
/// review, once; the decision goes back to the applicant's wallet.
pub async fn decide(
    State(s): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Decision>,
) -> Result<Json<ApplicationView>, ApiError> {
    let status = match req.decision.as_str() {
        "approve" => "approved",
        "reject" => "rejected",
        _ => {
            return Err(ApiError::bad(
                "decision_invalid",
                "审核结论应为通过或不通过",
                "approve or reject",
            ))
        }
    };
    let reason = req.reason.trim();
    if status == "rejected" && reason.is_empty() {
        return Err(ApiError::bad("reason_required", "不予通过时请填写理由", ""));
    }
    if reason.chars().count() > 500 {
        return Err(ApiError::bad("reason_too_long", "理由不超过500字", ""));
    }
    let a = handled(&s, &staff, &id).await?;
    let now = s.clock.now();
    let msg = if a.wallet_region == s.settings.region.to_string() {
        None
    } else {
        let to = a.wallet_region.parse().map_err(ApiError::internal)?;
        let payload = serde_json::to_string(&DecisionTransfer {
            application_id: a.id.clone(),
            status: status.into(),
            reason: reason.into(),
            decided_at: now,
        })
        .map_err(ApiError::internal)?;
        Some(message(to, "decision", &a.id, payload)?)
    };
    let audit = AuditEntry::action(
        now,
        "fund_decision",
        actor(&s, &staff),
        &a.id,
        serde_json::json!({"status": status, "reason": reason}).to_string(),
        "",
    );
    if !s
        .db
        .decide_application(&a.id, status, &staff.id, reason, now, msg.as_ref(), &audit)
        .await?
    {
        return Err(ApiError::Conflict {
            code: "decision_exists",
            title: "该申请已审核，不能重复审核",
            detail: a.status,
        });
    }
    let decided = handled(&s, &staff, &id).await?;
    Ok(Json(view::application(&s, decided).await?))
}
