//! 企业证照 at the wallet province, and the chain of the electronic business licence: the legal
//! representative (法定代表人, from the registry) appoints and removes certificate administrators
//! (证照管理员); either of them finds the enterprise's certificates by credit code or full name,
//! shows them at a counter and grants them to an agent (经办人) for all matters or named ones
//! (`routes::grants`). Removing an administrator ends the grants they signed for it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::{CreditCode, ResidentId};

use super::grants::{add_indexed, MyCertificate};
use crate::auth::Citizen;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::db::enterprises::{AdminRow, Appointed, EnterpriseRole};
use crate::error::{rule, ApiError};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct EnterpriseQuery {
    /// 统一社会信用代码 or the enterprise's full name.
    pub q: String,
}

/// A certificate administrator as the wallet lists them.
#[derive(Debug, Serialize)]
pub struct AdminView {
    /// In full for the legal representative, who manages administrators by it; masked for
    /// everyone else.
    pub resident_id: String,
    pub name: Option<String>,
    /// `None` for one appointed before the wallet kept appointments (the node's configuration).
    pub appointed_at: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct EnterpriseCertificates {
    pub credit_code: String,
    pub name: String,
    /// How I act for it: `legal_rep` or `admin`.
    pub role: EnterpriseRole,
    pub admins: Vec<AdminView>,
    pub certificates: Vec<MyCertificate>,
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "enterprise_not_found",
        what: "enterprise",
    }
}

fn admin_views(rows: Vec<AdminRow>, role: EnterpriseRole) -> Vec<AdminView> {
    rows.into_iter()
        .map(|a| AdminView {
            resident_id: match (role, a.resident_id.parse::<ResidentId>()) {
                (EnterpriseRole::LegalRep, _) | (_, Err(_)) => a.resident_id,
                (EnterpriseRole::Admin, Ok(id)) => id.masked(),
            },
            name: a.name,
            appointed_at: a.appointed_at,
        })
        .collect()
}

/// 企业证照: the certificates of an enterprise I represent or administer, found by credit code
/// or full name — held here, or known from the index — with how I act for it and its
/// administrators. Anyone else gets the same "not found" as for an unknown enterprise.
pub async fn search(
    State(s): State<AppState>,
    me: Citizen,
    ApiQuery(q): ApiQuery<EnterpriseQuery>,
) -> Result<Json<EnterpriseCertificates>, ApiError> {
    let q = q.q.trim();
    if q.is_empty() || q.chars().count() > 100 {
        return Err(ApiError::bad(
            "enterprise_query_invalid",
            "请输入统一社会信用代码或企业全称",
            "",
        ));
    }
    let (code, name) = s.db.enterprise(q).await?.ok_or_else(not_found)?;
    let role =
        s.db.enterprise_role(&code, &me.resident_id)
            .await?
            .ok_or_else(not_found)?;
    let mut certificates: Vec<MyCertificate> =
        s.db.certificates_of_holder(&code)
            .await?
            .into_iter()
            .map(|c| MyCertificate::local(&s, c))
            .collect();
    let indexed = s.db.indexed_of_holder(&code).await?;
    add_indexed(&s, &mut certificates, indexed, &me.resident_id).await?;
    Ok(Json(EnterpriseCertificates {
        admins: admin_views(s.db.enterprise_admins(&code).await?, role),
        credit_code: code,
        name,
        role,
        certificates,
    }))
}

/// The enterprise behind a path's credit code, for its legal representative only: someone who
/// does not act for it gets "not found", an administrator a refusal.
async fn as_legal_rep(s: &AppState, me: &Citizen, code: &str) -> Result<String, ApiError> {
    let code: CreditCode = code.trim().parse().map_err(rule)?;
    match s.db.enterprise_role(code.as_str(), &me.resident_id).await? {
        Some(EnterpriseRole::LegalRep) => Ok(code.to_string()),
        Some(EnterpriseRole::Admin) => Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            code: "legal_rep_only",
            title: "只有企业法定代表人可以指定或撤销证照管理员",
            detail: String::new(),
        }),
        None => Err(not_found()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    pub resident_id: String,
    /// The name as on the ID card; checked against the population registry (实名核验).
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct AdminList {
    pub admins: Vec<AdminView>,
    /// Grants of the enterprise's certificates that a removal revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_grants: Option<Vec<String>>,
}

/// 指定证照管理员: the legal representative appoints a person the population registry knows by
/// that ID and name. From then on the administrator finds, shows and grants the enterprise's
/// certificates; appointing a current administrator again changes nothing (409).
pub async fn appoint(
    State(s): State<AppState>,
    me: Citizen,
    Path(code): Path<String>,
    ApiJson(req): ApiJson<NewAdmin>,
) -> Result<(StatusCode, Json<AdminList>), ApiError> {
    let code = as_legal_rep(&s, &me, &code).await?;
    let id: ResidentId = req.resident_id.trim().parse().map_err(rule)?;
    if id.as_str() == me.resident_id {
        return Err(ApiError::bad(
            "admin_is_legal_rep",
            "法定代表人本人无需指定为证照管理员",
            "",
        ));
    }
    let name = req.name.trim();
    if name.is_empty()
        || name.chars().count() > 50
        || !s.db.resident_matches(id.as_str(), name).await?
    {
        return Err(ApiError::bad(
            "appointee_unverified",
            "身份证号与姓名不一致，请核对后重试",
            "",
        ));
    }
    let now = s.clock.now();
    let detail = serde_json::json!({ "admin": citizen_actor(id.as_str()) }).to_string();
    let entry = AuditEntry::action(
        now,
        "appoint_admin",
        citizen_actor(&me.resident_id),
        &code,
        detail,
        "",
    );
    if s.db
        .appoint_admin(&code, id.as_str(), &me.resident_id, now, &entry)
        .await?
        == Appointed::Already
    {
        return Err(ApiError::Conflict {
            code: "admin_exists",
            title: "该人员已是本企业的证照管理员",
            detail: String::new(),
        });
    }
    let admins = admin_views(
        s.db.enterprise_admins(&code).await?,
        EnterpriseRole::LegalRep,
    );
    Ok((
        StatusCode::CREATED,
        Json(AdminList {
            admins,
            revoked_grants: None,
        }),
    ))
}

/// 撤销证照管理员: the legal representative removes an administrator. In the same transaction
/// every live grant of the enterprise's certificates signed on the administrator's devices is
/// revoked, so their agents' next codes are refused.
pub async fn remove(
    State(s): State<AppState>,
    me: Citizen,
    Path((code, resident_id)): Path<(String, String)>,
) -> Result<Json<AdminList>, ApiError> {
    let code = as_legal_rep(&s, &me, &code).await?;
    let id: ResidentId = resident_id.trim().parse().map_err(rule)?;
    let now = s.clock.now();
    let actor = citizen_actor(&me.resident_id);
    let revoked =
        s.db.remove_admin(&code, id.as_str(), now, |grants| {
            let detail =
                serde_json::json!({ "admin": citizen_actor(id.as_str()), "revoked_grants": grants })
                    .to_string();
            AuditEntry::action(now, "remove_admin", actor, &code, detail, "")
        })
        .await?
        .ok_or(ApiError::NotFound {
            code: "admin_not_found",
            what: "administrator",
        })?;
    let admins = admin_views(
        s.db.enterprise_admins(&code).await?,
        EnterpriseRole::LegalRep,
    );
    Ok(Json(AdminList {
        admins,
        revoked_grants: Some(revoked),
    }))
}
