//! 异议: a holder reports from the wallet that a certificate's data is wrong, or that a
//! certificate is missing. The wallet node checks the holder's right with what it knows (the
//! certificate held here, or the index of those held below; the issuer directory for a missing
//! one), keeps the objection so the holder can follow it, and sends it to the node of the
//! issuing department (`federation::objections`). There the certificate is marked disputed —
//! nothing is suspended — and the department rejects with a reason (`objection_decisions`) or
//! answers with a correction (`issuance::correct`) or the missing certificate
//! (`issuance::issue`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::{RegionCode, SealedCertificate};

use crate::auth::secrets::random_string;
use crate::auth::Citizen;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::db::index::holder_key;
use crate::db::issuers::IssuerEntry;
use crate::db::objections::FiledRow;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::client::{tier_error, TierFailure};
use crate::state::AppState;

/// How long the issuing department has to decide, from filing: 15 days.
pub const DECISION_DAYS: i64 = 15;
/// The longest reason, in characters.
pub const MAX_REASON: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObjection {
    /// `wrong_data` (the default: a certificate's data is wrong) or `missing`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The certificate, for `wrong_data`.
    pub cert_id: Option<String>,
    /// The type and department that should have issued it, for `missing`.
    pub type_code: Option<String>,
    pub issuer_code: Option<String>,
    /// For a missing enterprise certificate: the enterprise's credit code.
    pub enterprise: Option<String>,
    pub reason: String,
}

/// One step the holder sees, with its time.
#[derive(Debug, Serialize)]
pub struct Step {
    /// `filed`, `received`, `corrected`, `issued`, `rejected` or `undeliverable`.
    pub step: String,
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_cert_id: Option<String>,
}

/// An objection as the holder follows it.
#[derive(Debug, Serialize)]
pub struct ObjectionView {
    pub id: String,
    pub kind: String,
    pub cert_id: Option<String>,
    pub type_code: String,
    pub type_name: String,
    pub issuer_code: String,
    pub issuer_name: String,
    /// The node the objection went to, and its name.
    pub handled_at: String,
    pub handled_by: String,
    pub holder_kind: String,
    /// The enterprise's credit code and name, for an enterprise certificate.
    pub enterprise: Option<String>,
    pub enterprise_name: Option<String>,
    pub reason: String,
    /// `filed`, `received`, `corrected`, `issued`, `rejected` or `undeliverable`.
    pub status: String,
    pub filed_at: i64,
    pub deadline: i64,
    pub received_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// The department's reason for a rejection, or the issuer node's for refusing delivery.
    pub decision: Option<String>,
    /// The corrected version, or the certificate issued for a missing one.
    pub new_cert_id: Option<String>,
    pub steps: Vec<Step>,
}

impl ObjectionView {
    fn of(s: &AppState, o: FiledRow) -> Self {
        let own = s.settings.region;
        let (handled_at, handled_by) = match o.destination.as_deref().map(str::parse::<RegionCode>)
        {
            Some(Ok(r)) if r != own => (r.to_string(), s.federation.registry.name_of(r)),
            Some(_) | None => (own.to_string(), s.settings.name.clone()),
        };
        let mut steps = vec![Step {
            step: "filed".into(),
            at: o.filed_at,
            reason: None,
            new_cert_id: None,
        }];
        if let Some(at) = o.received_at {
            steps.push(Step {
                step: "received".into(),
                at,
                reason: None,
                new_cert_id: None,
            });
        }
        if let Some(at) = o.decided_at {
            steps.push(Step {
                step: o.status.clone(),
                at,
                reason: o.decision.clone(),
                new_cert_id: o.new_cert_id.clone(),
            });
        }
        let enterprise = o.holder_kind == "enterprise";
        ObjectionView {
            enterprise: enterprise.then(|| o.holder_id.clone()),
            enterprise_name: enterprise.then(|| o.holder_name.clone()),
            id: o.id,
            kind: o.kind,
            cert_id: o.cert_id,
            type_code: o.type_code,
            type_name: o.type_name,
            issuer_code: o.issuer_code,
            issuer_name: o.issuer_name,
            handled_at,
            handled_by,
            holder_kind: o.holder_kind,
            reason: o.reason,
            status: o.status,
            filed_at: o.filed_at,
            deadline: o.deadline,
            received_at: o.received_at,
            decided_at: o.decided_at,
            decision: o.decision,
            new_cert_id: o.new_cert_id,
            steps,
        }
    }
}

/// What the wallet node knows of the certificate objected to (or the one missing), and where
/// the objection goes: `None` when that is this node.
struct Target {
    cert_id: Option<String>,
    type_code: String,
    type_name: String,
    issuer_code: String,
    issuer_name: String,
    holder_kind: String,
    holder_id: String,
    holder_name: String,
    destination: Option<RegionCode>,
}

fn certificate_not_found() -> ApiError {
    ApiError::NotFound {
        code: "certificate_not_found",
        what: "certificate",
    }
}

/// A reason: trimmed, 1 to `MAX_REASON` characters.
pub(crate) fn reason(
    text: &str,
    code: &'static str,
    title: &'static str,
) -> Result<String, ApiError> {
    let r = text.trim();
    if r.is_empty() || r.chars().count() > MAX_REASON {
        return Err(ApiError::bad(code, title, "1 to 1000 characters"));
    }
    Ok(r.to_owned())
}

fn not_current(status: &str) -> Result<(), ApiError> {
    if matches!(status, "revoked" | "superseded") {
        return Err(ApiError::Conflict {
            code: "certificate_not_current",
            title: "证照已注销或已被更正，不能提出异议",
            detail: status.to_owned(),
        });
    }
    Ok(())
}

async fn person_name(s: &AppState, resident_id: &str) -> Result<String, ApiError> {
    Ok(s.db
        .account(resident_id)
        .await?
        .map(|a| a.name)
        .unwrap_or_default())
}

/// A certificate I hold (or an enterprise I act for holds): held here, or known from the
/// index of the nodes below. Anyone else's is "not found", like an unknown one.
async fn certificate_target(s: &AppState, me: &Citizen, id: &str) -> Result<Target, ApiError> {
    if let Some(c) = s.db.certificate(id).await? {
        if !s
            .db
            .acts_for_holder(&c.holder_kind, &c.holder_id, &me.resident_id)
            .await?
        {
            return Err(certificate_not_found());
        }
        not_current(&c.status)?;
        let sealed = SealedCertificate::try_from(c.sealed).map_err(ApiError::internal)?;
        return Ok(Target {
            cert_id: Some(c.id),
            type_code: c.type_code,
            type_name: sealed.certificate.type_name,
            issuer_code: c.issuer_code,
            issuer_name: sealed.certificate.issuer_name,
            holder_kind: c.holder_kind,
            holder_id: c.holder_id,
            holder_name: c.holder_name,
            destination: None,
        });
    }
    let ix =
        s.db.indexed_certificate(id)
            .await?
            .ok_or_else(certificate_not_found)?;
    let m = ix.meta;
    let (holder_id, holder_name) = match m.holder_kind.as_str() {
        "person" if m.holder_key == holder_key("person", &me.resident_id) => (
            me.resident_id.clone(),
            person_name(s, &me.resident_id).await?,
        ),
        "enterprise"
            if s.db
                .acts_for_enterprise(&m.holder_key, &me.resident_id)
                .await? =>
        {
            let name = m.enterprise_name.unwrap_or_else(|| m.holder_key.clone());
            (m.holder_key, name)
        }
        _ => return Err(certificate_not_found()),
    };
    not_current(&m.status)?;
    let owner: RegionCode = ix.owner_region.parse().map_err(ApiError::internal)?;
    if owner == s.settings.region {
        // Indexed as held here, yet not here: nothing to object to.
        return Err(certificate_not_found());
    }
    Ok(Target {
        cert_id: Some(m.cert_id),
        type_code: m.type_code,
        type_name: m.type_name,
        issuer_code: m.issuer_code,
        issuer_name: m.issuer_name,
        holder_kind: m.holder_kind,
        holder_id,
        holder_name,
        destination: Some(owner),
    })
}

/// A certificate missing from my wallet: a type and the department that should have issued it,
/// as this node's catalog or issuer directory knows them; for an enterprise type, an
/// enterprise I act for.
async fn missing_target(
    s: &AppState,
    me: &Citizen,
    req: &FileObjection,
) -> Result<Target, ApiError> {
    let (Some(type_code), Some(issuer_code)) = (&req.type_code, &req.issuer_code) else {
        return Err(ApiError::bad(
            "objection_issuer_missing",
            "请选择证照类型和应当发证的部门",
            "type_code and issuer_code",
        ));
    };
    let own = s.settings.region;
    let entry: IssuerEntry =
        s.db.issuer_entry(own, type_code.trim(), issuer_code.trim())
            .await?
            .ok_or_else(|| {
                ApiError::bad(
                    "objection_issuer_unknown",
                    "未找到签发该类证照的部门",
                    format!("{type_code} / {issuer_code}"),
                )
            })?;
    let (holder_id, holder_name) = match (entry.holder_kind.as_str(), &req.enterprise) {
        ("person", None) => (
            me.resident_id.clone(),
            person_name(s, &me.resident_id).await?,
        ),
        ("enterprise", Some(code)) => {
            let not_found = || ApiError::NotFound {
                code: "enterprise_not_found",
                what: "enterprise",
            };
            let (code, name) = s.db.enterprise(code.trim()).await?.ok_or_else(not_found)?;
            if !s.db.acts_for_enterprise(&code, &me.resident_id).await? {
                return Err(not_found());
            }
            (code, name)
        }
        (kind, _) => {
            return Err(ApiError::bad(
                "objection_holder_kind",
                "该类证照的持证人是企业时请选择企业，是个人时不选",
                kind.to_owned(),
            ))
        }
    };
    let region: RegionCode = entry.region.parse().map_err(ApiError::internal)?;
    Ok(Target {
        cert_id: None,
        type_code: entry.type_code,
        type_name: entry.type_name,
        issuer_code: entry.issuer_code,
        issuer_name: entry.issuer_name,
        holder_kind: entry.holder_kind,
        holder_id,
        holder_name,
        destination: (region != own).then_some(region),
    })
}

/// Files an objection: a certificate's data is wrong (`cert_id`), or a certificate is missing
/// (`type_code` + `issuer_code`, and `enterprise` for an enterprise type). Only the holder, or
/// who acts for the holding enterprise, may object; one objection per certificate (or missing
/// type and department) waits at a time. Stored here before the reply, and sent on to the
/// issuer's node until it acknowledges, so the holder can follow it even while that node is
/// down.
pub async fn file(
    State(s): State<AppState>,
    me: Citizen,
    ApiJson(req): ApiJson<FileObjection>,
) -> Result<(StatusCode, Json<ObjectionView>), ApiError> {
    let reason = reason(
        &req.reason,
        "objection_reason_invalid",
        "请填写异议理由（不超过1000字）",
    )?;
    let kind = req.kind.as_deref().unwrap_or("wrong_data");
    let target = match (kind, &req.cert_id) {
        ("wrong_data", Some(id))
            if req.enterprise.is_none() && req.type_code.is_none() && req.issuer_code.is_none() =>
        {
            certificate_target(&s, &me, id.trim()).await?
        }
        ("missing", None) => missing_target(&s, &me, &req).await?,
        _ => {
            return Err(ApiError::bad(
                "objection_kind_invalid",
                "请说明是证照信息有误（选择证照）还是应有证照却查不到（选择证照类型和部门）",
                kind.to_owned(),
            ))
        }
    };
    if let Some(dest) = target.destination {
        if s.federation.registry.peer(dest).is_none() {
            let name = s.federation.registry.name_of(dest);
            return Err(tier_error(TierFailure::NotRegistered, dest, &name));
        }
    }
    if s.db
        .objection_waiting(
            &target.holder_id,
            target.cert_id.as_deref(),
            &target.type_code,
            &target.issuer_code,
        )
        .await?
    {
        return Err(ApiError::Conflict {
            code: "objection_waiting",
            title: "已有处理中的异议，请等待处理结果",
            detail: target.cert_id.unwrap_or(target.type_code),
        });
    }
    let now = s.clock.now();
    let here = target.destination.is_none();
    let row = FiledRow {
        id: format!("OBJ-{}", random_string(12).map_err(ApiError::internal)?),
        kind: kind.to_owned(),
        cert_id: target.cert_id,
        type_code: target.type_code,
        type_name: target.type_name,
        issuer_code: target.issuer_code,
        issuer_name: target.issuer_name,
        destination: target.destination.map(|r| r.to_string()),
        holder_kind: target.holder_kind,
        holder_id: target.holder_id,
        holder_name: target.holder_name,
        reporter: me.resident_id.clone(),
        reason,
        status: if here { "received" } else { "filed" }.into(),
        filed_at: now,
        deadline: now + DECISION_DAYS * 86400,
        received_at: here.then_some(now),
        decided_at: None,
        decision: None,
        new_cert_id: None,
    };
    let detail = serde_json::json!({
        "kind": row.kind, "cert_id": row.cert_id, "type_code": row.type_code,
        "issuer_code": row.issuer_code, "to": row.destination,
    });
    let entry = AuditEntry::action(
        now,
        "objection",
        citizen_actor(&me.resident_id),
        &row.id,
        detail.to_string(),
        "",
    );
    s.db.file_objection(&row, &entry).await?;
    Ok((StatusCode::CREATED, Json(ObjectionView::of(&s, row))))
}

/// 我的异议: the objections I filed and those about enterprises I act for, newest first, each
/// with its steps.
pub async fn mine(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<ObjectionView>>, ApiError> {
    let rows = s.db.objections_of(&me.resident_id).await?;
    Ok(Json(
        rows.into_iter().map(|o| ObjectionView::of(&s, o)).collect(),
    ))
}

/// One of my objections (or an enterprise's I act for), with its steps.
pub async fn one(
    State(s): State<AppState>,
    me: Citizen,
    Path(id): Path<String>,
) -> Result<Json<ObjectionView>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "objection_not_found",
        what: "objection",
    };
    let o = s.db.filed_objection(&id).await?.ok_or_else(not_found)?;
    let mine = o.reporter == me.resident_id
        || (o.holder_kind == "enterprise"
            && s.db
                .acts_for_enterprise(&o.holder_id, &me.resident_id)
                .await?);
    if !mine {
        return Err(not_found());
    }
    Ok(Json(ObjectionView::of(&s, o)))
}
