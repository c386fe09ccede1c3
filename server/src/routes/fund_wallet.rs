//! 全程网办 in the wallet (the province node): photos, the application, its status, the rating.
//! Uploading and applying need a real-person (实人) session; reading one's own applications a
//! real-name one.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::auth::secrets::random_string;
use crate::auth::Citizen;
use crate::db::audit::{citizen_actor, hex_sha256, AuditEntry};
use crate::db::fund_uploads::UploadRow;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::fund::apply::{message, submit, ApplicationRequest, Submitted};
use crate::fund::delivery::EvaluationTransfer;
use crate::fund::image::{self, ImageError};
use crate::fund::sharing::Mismatch;
use crate::fund::view::{self, ApplicationLine, ApplicationView, UploadView};
use crate::fund::UPLOAD_KINDS;
use crate::state::AppState;

/// Photos a person may hold that no application uses yet.
const MAX_UNUSED: i64 = 12;
/// Unused photos are forgotten after a day.
const KEEP_UNUSED: i64 = 86_400;

pub(super) fn real_person(me: &Citizen) -> Result<(), ApiError> {
    if me.level == "real_person" {
        Ok(())
    } else {
        Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            code: "real_person_required",
            title: "请先完成实人认证（刷脸）后再办理",
            detail: format!("session level {}", me.level),
        })
    }
}

fn image_error(e: ImageError) -> ApiError {
    let (code, title) = e.code_and_title();
    let status = if e == ImageError::TooLarge {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    ApiError::Refused {
        status,
        code,
        title,
        detail: e.to_string(),
    }
}

/// `POST /api/wallet/fund/uploads/{kind}`: one photo (`debit_card`, `invoice`, `deed_tax`),
/// the raw JPEG or PNG bytes with their `Content-Type`, at most 2 MiB. The bytes decide the
/// type; a declared type that lies, a damaged image or an oversized one is refused.
pub async fn upload(
    State(s): State<AppState>,
    me: Citizen,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<UploadView>), ApiError> {
    real_person(&me)?;
    if !UPLOAD_KINDS.contains(&kind.as_str()) {
        return Err(ApiError::bad(
            "upload_kind_invalid",
            "照片类别错误",
            "debit_card, invoice or deed_tax",
        ));
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let too_large = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > image::MAX_BYTES);
    if too_large {
        return Err(image_error(ImageError::TooLarge));
    }
    let bytes = axum::body::to_bytes(body, image::MAX_BYTES)
        .await
        .map_err(|_| image_error(ImageError::TooLarge))?;
    let checked = image::check(&declared, &bytes).map_err(image_error)?;
    let now = s.clock.now();
    s.db.forget_unused_uploads(now - KEEP_UNUSED).await?;
    if s.db.unused_uploads(&me.resident_id).await? >= MAX_UNUSED {
        return Err(ApiError::Conflict {
            code: "upload_limit_reached",
            title: "未使用的照片过多，请先提交申请或稍后再试",
            detail: String::new(),
        });
    }
    let row = UploadRow {
        id: format!("UPL-{}", random_string(12).map_err(ApiError::internal)?),
        owner_id: me.resident_id.clone(),
        application_id: None,
        kind,
        content_type: checked.content_type.into(),
        size: bytes.len() as i64,
        sha256: hex_sha256(&bytes),
        width: i64::from(checked.width),
        height: i64::from(checked.height),
        data: bytes.to_vec(),
        created_at: now,
    };
    let detail = serde_json::json!({
        "kind": row.kind, "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
    })
    .to_string();
    let audit = AuditEntry::action(
        now,
        "fund_upload",
        citizen_actor(&me.resident_id),
        &row.id,
        detail,
        "",
    );
    s.db.store_upload(&row, &audit).await?;
    Ok((StatusCode::CREATED, Json(UploadView::from(row))))
}

/// The 422 sent back to the form: problem details with the fields that differ.
fn mismatch(differ: Vec<Mismatch>) -> Response {
    let body = serde_json::json!({
        "type": "urn:e-cert:problem:sharing_mismatch",
        "title": "填写的信息与税务部门共享数据不一致，请核对后重新填写",
        "status": 422,
        "code": "sharing_mismatch",
        "detail": differ.iter().map(|m| m.field).collect::<Vec<_>>().join(", "),
        "mismatches": differ,
    });
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// `POST /api/wallet/fund/applications`, the notice's steps (1)–(4) online: the form and the
/// consent; the sharing platform compares the invoice and deed tax with the applicant's own
/// records (a mismatch goes back to the form with the fields that differ); a match fetches
/// the certificates by resident ID and stores the application for the fund centre.
pub async fn apply(
    State(s): State<AppState>,
    me: Citizen,
    ApiJson(req): ApiJson<ApplicationRequest>,
) -> Result<Response, ApiError> {
    real_person(&me)?;
    match submit(&s, &me, req).await? {
        Submitted::Mismatch(differ) => Ok(mismatch(differ)),
        Submitted::Stored(row) => {
            let shown = view::application(&s, *row).await?;
            Ok((StatusCode::CREATED, Json(shown)).into_response())
        }
    }
}

/// `GET /api/wallet/fund/applications`: my applications, newest first, with their status.
pub async fn list(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<ApplicationLine>>, ApiError> {
    let rows = s.db.applications_of(&me.resident_id).await?;
    Ok(Json(rows.iter().map(view::line).collect()))
}

async fn mine(
    s: &AppState,
    me: &Citizen,
    id: &str,
) -> Result<crate::db::fund::ApplicationRow, ApiError> {
    match s.db.application(id).await? {
        Some(a) if a.applicant_id == me.resident_id => Ok(a),
        _ => Err(ApiError::NotFound {
            code: "application_not_found",
            what: "application",
        }),
    }
}

/// `GET /api/wallet/fund/applications/{id}`: one of my applications, its status and, once
/// decided, the decision and its reason.
pub async fn show(
    State(s): State<AppState>,
    me: Citizen,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let a = mine(&s, &me, &id).await?;
    Ok(Json(view::application(&s, a).await?))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// 1 (非常不满意) to 5 (非常满意).
    pub score: i64,
    #[serde(default)]
    pub comment: String,
}

/// `POST /api/wallet/fund/applications/{id}/evaluation`: 办事体验评价 of a decided application,
/// once; it also goes to the fund centre.
pub async fn evaluate(
    State(s): State<AppState>,
    me: Citizen,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Evaluation>,
) -> Result<StatusCode, ApiError> {
    if !(1..=5).contains(&req.score) {
        return Err(ApiError::bad(
            "score_invalid",
            "评分应为1至5分",
            req.score.to_string(),
        ));
    }
    let comment = req.comment.trim();
    if comment.chars().count() > 500 {
        return Err(ApiError::bad("comment_too_long", "评价内容不超过500字", ""));
    }
    let a = mine(&s, &me, &id).await?;
    if !matches!(a.status.as_str(), "approved" | "rejected") {
        return Err(ApiError::Conflict {
            code: "application_not_decided",
            title: "申请办结后才能评价",
            detail: a.status,
        });
    }
    let now = s.clock.now();
    let own = s.settings.region.to_string();
    let msg = if a.handled_by == own {
        None
    } else {
        let to = a.handled_by.parse().map_err(ApiError::internal)?;
        let payload = serde_json::to_string(&EvaluationTransfer {
            application_id: a.id.clone(),
            score: req.score,
            comment: comment.to_owned(),
            at: now,
        })
        .map_err(ApiError::internal)?;
        Some(message(to, "evaluation", &a.id, payload)?)
    };
    let audit = AuditEntry::action(
        now,
        "fund_evaluation",
        citizen_actor(&me.resident_id),
        &a.id,
        serde_json::json!({"score": req.score}).to_string(),
        "",
    );
    if !s
        .db
        .evaluate_application(
            &a.id,
            &me.resident_id,
            req.score,
            comment,
            now,
            msg.as_ref(),
            &audit,
        )
        .await?
    {
        return Err(ApiError::Conflict {
            code: "evaluation_exists",
            title: "该申请已评价",
            detail: a.id,
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
