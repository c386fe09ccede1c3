//! 授权他人使用 on the wallet's node: store a grant the holder signed on the phone, list grants
//! given and received, revoke. Also the holder's certificates and their usage log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::{Grant, Holder, PublicKey};

use crate::auth::Citizen;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::db::cases::UsageRow;
use crate::db::certificates::CertRow;
use crate::db::grants::GrantRow;
use crate::error::{rule, ApiError};
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// The grant signed on the holder's phone, base64url.
    pub grant: String,
}

fn audit(s: &AppState, action: &str, me: &Citizen, subject: &str, detail: String) -> AuditEntry {
    AuditEntry::action(
        s.clock.now(),
        action,
        citizen_actor(&me.resident_id),
        subject,
        detail,
        "",
    )
}

/// Stores a grant after checking it: signed by one of my live device keys, I am the holder
/// (or act for the holding enterprise), the window is sound and not over, and I do not grant to
/// myself. Where the certificate lives here, it must be mine and current.
pub async fn create(
    State(s): State<AppState>,
    me: Citizen,
    ApiJson(req): ApiJson<NewGrant>,
) -> Result<(StatusCode, Json<GrantRow>), ApiError> {
    let grant = Grant::try_from(req.grant.trim().to_owned()).map_err(rule)?;
    let t = &grant.terms;
    let (owner, public) =
        s.db.live_device(&grant.signer.to_string())
            .await?
            .ok_or_else(|| {
                ApiError::bad(
                    "grant_signer_unknown",
                    "签名设备未登记，请重新登录后再授权",
                    grant.signer.to_string(),
                )
            })?;
    if owner != me.resident_id {
        return Err(ApiError::Forbidden(
            "the grant was signed with another person's device key",
        ));
    }
    let public: PublicKey = public.parse().map_err(ApiError::internal)?;
    grant.verify_signature(&public).map_err(rule)?;
    let holder_ok = match &t.holder {
        Holder::Person(p) => p.as_str() == me.resident_id,
        Holder::Enterprise(e) => {
            s.db.acts_for_enterprise(e.as_str(), &me.resident_id)
                .await?
        }
    };
    if !holder_ok {
        return Err(ApiError::Forbidden(
            "only the holder (or the enterprise's representative) can grant",
        ));
    }
    if t.grantee.resident_id.as_str() == me.resident_id {
        return Err(ApiError::bad("grant_to_self", "不能授权给自己", ""));
    }
    let now = s.clock.now();
    if now >= t.not_after {
        return Err(rule(wallet_core::grant::GrantError::Expired(t.not_after)));
    }
    if let Some(cert) = s.db.certificate(t.cert_id.as_str()).await? {
        if cert.holder_id != t.holder.id() {
            return Err(ApiError::Forbidden(
                "the certificate belongs to someone else",
            ));
        }
        if !matches!(cert.status.as_str(), "valid" | "disputed") {
            return Err(ApiError::bad(
                "certificate_not_current",
                "证照已注销或已被更正，不能授权",
                cert.status,
            ));
        }
    }
    let row = GrantRow {
        id: t.id.to_string(),
        cert_id: t.cert_id.to_string(),
        holder_id: t.holder.id().to_owned(),
        grantee_id: t.grantee.resident_id.to_string(),
        token: req.grant.trim().to_owned(),
        signer: grant.signer.to_string(),
        not_before: t.not_before,
        not_after: t.not_after,
        use_limit: t.use_limit.map(i64::from),
        uses: 0,
        created_at: now,
        revoked_at: None,
    };
    let detail =
        serde_json::json!({ "cert_id": row.cert_id, "not_after": row.not_after }).to_string();
    if !s
        .db
        .insert_grant(&row, &audit(&s, "grant", &me, &row.id, detail))
        .await?
    {
        return Err(ApiError::Conflict {
            code: "grant_exists",
            title: "该授权已存在",
            detail: row.id,
        });
    }
    Ok((StatusCode::CREATED, Json(row)))
}

#[derive(Debug, Serialize)]
pub struct GrantList {
    pub given: Vec<GrantRow>,
    pub received: Vec<GrantRow>,
}

/// 我的授权 and 授权给我的证照.
pub async fn list(State(s): State<AppState>, me: Citizen) -> Result<Json<GrantList>, ApiError> {
    Ok(Json(GrantList {
        given: s.db.grants_given(&me.resident_id).await?,
        received: s.db.grants_received(&me.resident_id).await?,
    }))
}

/// Revokes one of my grants: the next scan of any presentation of it is refused.
pub async fn revoke(
    State(s): State<AppState>,
    me: Citizen,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let entry = audit(&s, "revoke_grant", &me, &id, "{}".into());
    if !s
        .db
        .revoke_grant(&id, &me.resident_id, s.clock.now(), &entry)
        .await?
    {
        return Err(ApiError::NotFound {
            code: "grant_not_found",
            what: "grant",
        });
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub struct MyCertificate {
    pub id: String,
    pub type_code: String,
    pub status: String,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    /// The sealed certificate, base64url: the page verifies the seal itself.
    pub sealed: String,
}

impl From<CertRow> for MyCertificate {
    fn from(c: CertRow) -> Self {
        MyCertificate {
            id: c.id,
            type_code: c.type_code,
            status: c.status,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            sealed: c.sealed,
        }
    }
}

/// 我的证照 at this node.
pub async fn certificates(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<MyCertificate>>, ApiError> {
    let rows = s.db.certificates_of_holder(&me.resident_id).await?;
    Ok(Json(rows.into_iter().map(MyCertificate::from).collect()))
}

/// 证照详情.
pub async fn certificate(
    State(s): State<AppState>,
    me: Citizen,
    Path(id): Path<String>,
) -> Result<Json<MyCertificate>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "certificate_not_found",
        what: "certificate",
    };
    let c = s.db.certificate(&id).await?.ok_or_else(not_found)?;
    if !s
        .db
        .acts_for_holder(&c.holder_kind, &c.holder_id, &me.resident_id)
        .await?
    {
        return Err(not_found());
    }
    Ok(Json(c.into()))
}

#[derive(Debug, Deserialize)]
pub struct EnterpriseQuery {
    /// 统一社会信用代码 or the enterprise's full name.
    pub q: String,
}

#[derive(Debug, Serialize)]
pub struct EnterpriseCertificates {
    pub credit_code: String,
    pub name: String,
    pub certificates: Vec<MyCertificate>,
}

/// 企业证照: the certificates of an enterprise I represent or administer, found by credit code
/// or full name. Anyone else gets the same "not found" as for an unknown enterprise.
pub async fn enterprise(
    State(s): State<AppState>,
    me: Citizen,
    axum::extract::Query(q): axum::extract::Query<EnterpriseQuery>,
) -> Result<Json<EnterpriseCertificates>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "enterprise_not_found",
        what: "enterprise",
    };
    let (code, name) = s.db.enterprise(q.q.trim()).await?.ok_or_else(not_found)?;
    if !s.db.acts_for_enterprise(&code, &me.resident_id).await? {
        return Err(not_found());
    }
    let certificates =
        s.db.certificates_of_holder(&code)
            .await?
            .into_iter()
            .map(MyCertificate::from)
            .collect();
    Ok(Json(EnterpriseCertificates {
        credit_code: code,
        name,
        certificates,
    }))
}

/// 用证记录: every retrieval of my certificates — when, which matter, which counter and clerk.
pub async fn usage(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<UsageRow>>, ApiError> {
    Ok(Json(s.db.usage_of_holder(&me.resident_id).await?))
}
