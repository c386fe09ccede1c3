//! 授权他人使用 on the wallet's node: store a grant the holder signed on the phone, list grants
//! given and received, revoke. Also the holder's certificates and their usage log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::{Grant, Holder, PublicKey, RegionCode, SealedCertificate, TrustEntry};

use crate::auth::Citizen;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::db::cases::UsageRow;
use crate::db::certificates::CertRow;
use crate::db::grants::GrantRow;
use crate::db::index::{holder_key, IndexedCert};
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
/// (or the holding enterprise's legal representative or certificate administrator — anyone
/// else, an agent included, is refused with `grant_not_holder`), the window is sound and not
/// over, and I do not grant to myself. Where the certificate lives here, or is known here from
/// the index of the nodes below, it must be mine and current.
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
        // An agent cannot pass the grant on: the licence's chain ends with them.
        return Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            code: "grant_not_holder",
            title: "只有持证人本人，或企业的法定代表人、证照管理员可以授权",
            detail: String::new(),
        });
    }
    if t.grantee.resident_id.as_str() == me.resident_id {
        return Err(ApiError::bad("grant_to_self", "不能授权给自己", ""));
    }
    let now = s.clock.now();
    if now >= t.not_after {
        return Err(rule(wallet_core::grant::GrantError::Expired(t.not_after)));
    }
    // Held here: checked against the certificate; held below and pushed here: against the
    // index, the same way; unknown here: left to the owner's node at retrieval.
    let known = match s.db.certificate(t.cert_id.as_str()).await? {
        Some(cert) => Some((cert.holder_id == t.holder.id(), cert.status)),
        None => {
            s.db.indexed_certificate(t.cert_id.as_str())
                .await?
                .map(|ix| {
                    let (kind, _) = holder_parts(&t.holder);
                    let key = holder_key(kind, t.holder.id());
                    (
                        ix.meta.holder_kind == kind && ix.meta.holder_key == key,
                        ix.meta.status,
                    )
                })
        }
    };
    if let Some((holder_matches, status)) = known {
        if !holder_matches {
            return Err(ApiError::Forbidden(
                "the certificate belongs to someone else",
            ));
        }
        if !matches!(status.as_str(), "valid" | "disputed") {
            return Err(ApiError::bad(
                "certificate_not_current",
                "证照已注销或已被更正，不能授权",
                status,
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
    pub given: Vec<GrantView>,
    pub received: Vec<GrantView>,
}

/// A matter as a grant names it.
#[derive(Debug, Serialize)]
pub struct MatterRef {
    pub code: String,
    /// `None` for a matter this node's directory does not know.
    pub name: Option<String>,
}

/// A grant as the wallet lists it: the stored row, and what people read in place of codes.
#[derive(Debug, Serialize)]
pub struct GrantView {
    #[serde(flatten)]
    pub grant: GrantRow,
    /// 证照类型名称, when the certificate is held here or indexed here.
    pub type_name: Option<String>,
    /// The enterprise's name, or the person's surname followed by asterisks.
    pub holder_name: Option<String>,
    pub grantee_name: String,
    pub grantee_id_masked: String,
    /// Empty when the grant covers every matter.
    pub matters: Vec<MatterRef>,
}

/// A person's name with all but the first character hidden: `张*`, `欧阳**`-like privacy for
/// the grantee, who needs to know whose certificate it is, not the full name.
fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// A resident ID masked; a credit code as it is (public).
fn masked_holder(id: &str) -> String {
    match id.parse::<wallet_core::ResidentId>() {
        Ok(r) => r.masked(),
        Err(_) => id.to_owned(),
    }
}

/// What a grant list shows of each certificate: its type and holder's names, looked up once
/// per certificate and holder (a holder who lends one certificate many times has many grants of
/// it, and the certificate usually lives at another node, a miss here and a hit in the index).
type CertificateNames =
    std::collections::HashMap<(String, String), (Option<String>, Option<String>)>;

async fn certificate_names(
    s: &AppState,
    grant: &GrantRow,
) -> Result<(Option<String>, Option<String>), ApiError> {
    Ok(match s.db.certificate(&grant.cert_id).await? {
        Some(c) => {
            let cert = SealedCertificate::try_from(c.sealed)
                .ok()
                .map(|sc| sc.certificate);
            let holder = if c.holder_kind == "enterprise" {
                c.holder_name
            } else {
                masked_name(&c.holder_name)
            };
            (cert.map(|c| c.type_name), Some(holder))
        }
        None => match s.db.indexed_certificate(&grant.cert_id).await? {
            Some(ix) if ix.meta.holder_kind == "person" => {
                let name =
                    s.db.account(&grant.holder_id)
                        .await?
                        .map(|a| masked_name(&a.name));
                (Some(ix.meta.type_name), name)
            }
            Some(ix) => (Some(ix.meta.type_name), ix.meta.enterprise_name),
            None => (None, None),
        },
    })
}

async fn grant_view(
    s: &AppState,
    names: &std::collections::HashMap<String, String>,
    seen: &mut CertificateNames,
    grant: GrantRow,
) -> Result<GrantView, ApiError> {
    let terms = Grant::try_from(grant.token.clone())
        .map_err(ApiError::internal)?
        .terms;
    let key = (grant.cert_id.clone(), grant.holder_id.clone());
    let (type_name, holder_name) = match seen.get(&key) {
        Some(known) => known.clone(),
        None => {
            let found = certificate_names(s, &grant).await?;
            seen.insert(key, found.clone());
            found
        }
    };
    let matters = match terms.matters {
        wallet_core::MatterScope::All => Vec::new(),
        wallet_core::MatterScope::Named(codes) => codes
            .into_iter()
            .map(|code| MatterRef {
                name: names.get(&code).cloned(),
                code,
            })
            .collect(),
    };
    Ok(GrantView {
        grant,
        type_name,
        holder_name,
        grantee_name: terms.grantee.name,
        grantee_id_masked: terms.grantee.resident_id.masked(),
        matters,
    })
}

/// 我的授权 and 授权给我的证照.
pub async fn list(State(s): State<AppState>, me: Citizen) -> Result<Json<GrantList>, ApiError> {
    let names = super::matters::matter_names(&s).await?;
    let mut holders = vec![me.resident_id.clone()];
    holders.extend(s.db.enterprises_of(&me.resident_id).await?);
    let mut seen = CertificateNames::new();
    let mut given = Vec::new();
    for g in s.db.grants_given(&holders).await? {
        given.push(grant_view(&s, &names, &mut seen, g).await?);
    }
    let mut received = Vec::new();
    for g in s.db.grants_received(&me.resident_id).await? {
        let mut view = grant_view(&s, &names, &mut seen, g).await?;
        // The grantee presents the grant by its id: the holder's full number and the signed
        // token stay with the holder.
        view.grant.holder_id = masked_holder(&view.grant.holder_id);
        view.grant.token.clear();
        received.push(view);
    }
    Ok(Json(GrantList { given, received }))
}

/// Revokes one of my grants: the next scan of any presentation of it is refused.
pub async fn revoke(
    State(s): State<AppState>,
    me: Citizen,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "grant_not_found",
        what: "grant",
    };
    // The holder revokes; for an enterprise's certificate, anyone who may grant it for the
    // enterprise (its legal representative or an appointed administrator) may revoke.
    let grant = s.db.grant(&id).await?.ok_or_else(not_found)?;
    let kind = if grant.holder_id == me.resident_id {
        "person"
    } else {
        "enterprise"
    };
    if !s
        .db
        .acts_for_holder(kind, &grant.holder_id, &me.resident_id)
        .await?
    {
        return Err(not_found());
    }
    let entry = audit(&s, "revoke_grant", &me, &id, "{}".into());
    if !s
        .db
        .revoke_grant(&id, &grant.holder_id, s.clock.now(), &entry)
        .await?
    {
        return Err(not_found());
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
    /// The sealed certificate, base64url: the page verifies the seal itself. `None` for a
    /// certificate known here only from the index, held at another node.
    pub sealed: Option<String>,
    /// 证照类型名称.
    pub type_name: Option<String>,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    /// The holder's resident ID (a person: the signed-in holder's own) or credit code, which
    /// the phone needs to sign a grant.
    pub holder_id: String,
    /// 颁发机构名称.
    pub issuer_name: String,
    /// The enterprise's name for enterprise certificates.
    pub enterprise_name: Option<String>,
    /// Region code of the node that holds the certificate.
    pub held_at: String,
    /// That node's name, e.g. `郑州市电子证照系统`.
    pub held_by: String,
    /// `local` (held here, sealed copy included) or `index` (metadata and status pushed here
    /// by the node that holds it).
    pub source: &'static str,
    /// Detail view only: the issuer's seal keys the page checks `sealed` against — this node's
    /// own, or, for a copy fetched from the owner, those the owner vouched for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_keys: Option<Vec<TrustEntry>>,
    /// Detail view only: why the copy of a certificate held elsewhere could not be fetched (the
    /// owner's system is down, say), in Chinese; the metadata is shown meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_unavailable: Option<String>,
}

impl MyCertificate {
    pub(super) fn local(s: &AppState, c: CertRow) -> Self {
        let cert = SealedCertificate::try_from(c.sealed.clone())
            .ok()
            .map(|sc| sc.certificate);
        let type_name = cert.as_ref().map(|c| c.type_name.clone());
        let issuer_name = cert.map(|c| c.issuer_name).unwrap_or_default();
        MyCertificate {
            holder_id: c.holder_id.clone(),
            issuer_name,
            enterprise_name: (c.holder_kind == "enterprise").then(|| c.holder_name.clone()),
            id: c.id,
            type_code: c.type_code,
            status: c.status,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            sealed: Some(c.sealed),
            type_name,
            holder_kind: c.holder_kind,
            held_at: s.settings.region.to_string(),
            held_by: s.settings.name.clone(),
            source: "local",
            issuer_keys: None,
            copy_unavailable: None,
        }
    }

    /// `me`: the signed-in person, whose own certificates the index names only by a hash.
    fn indexed(s: &AppState, ix: IndexedCert, me: &str) -> Self {
        let held_by = match ix.owner_region.parse::<RegionCode>() {
            Ok(r) if r == s.settings.region => s.settings.name.clone(),
            Ok(r) => s.federation.registry.name_of(r),
            Err(_) => ix.owner_region.clone(),
        };
        let m = ix.meta;
        MyCertificate {
            holder_id: if m.holder_kind == "person" {
                me.to_owned()
            } else {
                m.holder_key.clone()
            },
            issuer_name: m.issuer_name,
            id: m.cert_id,
            type_code: m.type_code,
            status: m.status,
            valid_from: m.valid_from,
            valid_until: m.valid_until,
            sealed: None,
            type_name: Some(m.type_name),
            holder_kind: m.holder_kind,
            enterprise_name: m.enterprise_name,
            held_at: ix.owner_region,
            held_by,
            source: "index",
            issuer_keys: None,
            copy_unavailable: None,
        }
    }
}

fn holder_parts(h: &Holder) -> (&'static str, &str) {
    match h {
        Holder::Person(p) => ("person", p.as_str()),
        Holder::Enterprise(e) => ("enterprise", e.as_str()),
    }
}

/// Appends the index entries not already listed; an entry for a certificate held at this very
/// node (a province's own, indexed locally) is shown from the certificate itself.
pub(super) async fn add_indexed(
    s: &AppState,
    out: &mut Vec<MyCertificate>,
    entries: Vec<IndexedCert>,
    me: &str,
) -> Result<(), ApiError> {
    let own = s.settings.region.to_string();
    for ix in entries {
        if out.iter().any(|c| c.id == ix.meta.cert_id) {
            continue;
        }
        if ix.owner_region == own {
            if let Some(c) = s.db.certificate(&ix.meta.cert_id).await? {
                out.push(MyCertificate::local(s, c));
                continue;
            }
        }
        out.push(MyCertificate::indexed(s, ix, me));
    }
    Ok(())
}

/// 我的证照: those held at this node, then those the index knows of — held at a node below and
/// pushed here — whose holder is me or an enterprise I represent or administer, each marked
/// with where it is held and its pushed status.
pub async fn certificates(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<MyCertificate>>, ApiError> {
    let rows = s.db.certificates_of_holder(&me.resident_id).await?;
    let mut out: Vec<MyCertificate> = rows
        .into_iter()
        .map(|c| MyCertificate::local(&s, c))
        .collect();
    let indexed = s.db.indexed_for_person(&me.resident_id).await?;
    add_indexed(&s, &mut out, indexed, &me.resident_id).await?;
    Ok(Json(out))
}

/// 证照详情: a certificate held here, or one the index knows of (metadata only).
pub async fn certificate(
    State(s): State<AppState>,
    me: Citizen,
    Path(id): Path<String>,
) -> Result<Json<MyCertificate>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "certificate_not_found",
        what: "certificate",
    };
    if let Some(c) = s.db.certificate(&id).await? {
        if !s
            .db
            .acts_for_holder(&c.holder_kind, &c.holder_id, &me.resident_id)
            .await?
        {
            return Err(not_found());
        }
        let issuer = c.issuer_code.clone();
        let mut out = MyCertificate::local(&s, c);
        out.issuer_keys = Some(
            crate::routes::trust::node_trust_list(&s)
                .await?
                .entries
                .into_iter()
                .filter(|e| e.issuer.as_str() == issuer)
                .collect(),
        );
        return Ok(Json(out));
    }
    let ix = s.db.indexed_certificate(&id).await?.ok_or_else(not_found)?;
    let mine = match ix.meta.holder_kind.as_str() {
        "person" => ix.meta.holder_key == holder_key("person", &me.resident_id),
        _ => {
            s.db.acts_for_enterprise(&ix.meta.holder_key, &me.resident_id)
                .await?
        }
    };
    if !mine {
        return Err(not_found());
    }
    let cert_id: wallet_core::CertId = ix.meta.cert_id.parse().map_err(ApiError::internal)?;
    let mut out = MyCertificate::indexed(&s, ix, &me.resident_id);
    // The holder's own copy, fields and seal, from the node that holds it.
    match crate::federation::holder_copy::fetch(&s, &cert_id, &me.resident_id).await {
        Ok(copy) => {
            out.sealed = Some(copy.sealed);
            out.issuer_keys = Some(copy.issuer_keys);
        }
        Err(e) => {
            tracing::warn!(cert = %cert_id, error = %e, "holder copy unavailable");
            out.copy_unavailable = Some(e.parts().2.to_owned());
        }
    }
    Ok(Json(out))
}

/// An enterprise I act for.
#[derive(Debug, Serialize)]
pub struct MyEnterprise {
    pub credit_code: String,
    pub name: String,
    /// `legal_rep` (法定代表人) or `admin` (证照管理员).
    pub role: String,
}

/// The enterprises I represent or administer, so the page can offer them instead of asking
/// for a credit code.
pub async fn my_enterprises(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<MyEnterprise>>, ApiError> {
    Ok(Json(
        s.db.enterprises_acted_for(&me.resident_id)
            .await?
            .into_iter()
            .map(|(credit_code, name, role)| MyEnterprise {
                credit_code,
                name,
                role,
            })
            .collect(),
    ))
}

/// 用证记录: every retrieval of my certificates and those of the enterprises I act for — when,
/// which matter, which counter and clerk, under which grant.
pub async fn usage(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<UsageView>>, ApiError> {
    let names = super::matters::matter_names(&s).await?;
    let mut holders = vec![me.resident_id.clone()];
    holders.extend(s.db.enterprises_of(&me.resident_id).await?);
    Ok(Json(
        s.db.usage_of_holders(&holders)
            .await?
            .into_iter()
            .map(|usage| UsageView {
                matter_name: names.get(&usage.matter).cloned(),
                usage,
            })
            .collect(),
    ))
}

/// One use of my certificate, with the matter's name where the directory knows it.
#[derive(Debug, Serialize)]
pub struct UsageView {
    #[serde(flatten)]
    pub usage: UsageRow,
    pub matter_name: Option<String>,
}
