//! 窗口受理: a clerk opens a case for a matter, scans what the applicant shows, gets the
//! certificate with its seal and receipt, attaches it once the applicant confirms, prints an
//! archive copy, finishes the case and records the applicant's rating.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::grant::GrantError;
use wallet_core::receipt::{digest_hex, ReceiptTerms};
use wallet_core::{
    CertStatus, Grant, Holder, Presentation, PublicKey, RetrievalReceipt, SealedCertificate,
    Subject,
};

use crate::auth::secrets::random_string;
use crate::auth::Staff;
use crate::db::audit::{hex_sha256, AuditEntry};
use crate::db::cases::{AttachmentRow, CaseRow, Matter, RecordError, RetrievalRow};
use crate::error::{rule, ApiError};
use crate::extract::ApiJson;
use crate::state::AppState;

fn clerk(staff: &Staff) -> Result<(), ApiError> {
    if staff.role == "clerk" {
        Ok(())
    } else {
        Err(ApiError::Forbidden("counter routes are for clerks"))
    }
}

/// The matters this node's counters handle, with their materials.
pub async fn matters(
    State(s): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<Matter>>, ApiError> {
    clerk(&staff)?;
    Ok(Json(s.db.matters().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub matter: String,
}

#[derive(Debug, Serialize)]
pub struct OpenedCase {
    pub case: CaseRow,
    pub matter: Matter,
}

/// Opens a case (办件) for a matter; the reply lists its materials and which an e-certificate
/// replaces.
pub async fn open_case(
    State(s): State<AppState>,
    staff: Staff,
    ApiJson(req): ApiJson<OpenCase>,
) -> Result<(StatusCode, Json<OpenedCase>), ApiError> {
    clerk(&staff)?;
    let matter =
        s.db.matter(&req.matter)
            .await?
            .ok_or_else(|| ApiError::bad("matter_unknown", "事项不存在", req.matter.clone()))?;
    let counter =
        s.db.staff(&staff.id)
            .await?
            .map(|st| st.counter)
            .unwrap_or_default();
    let case = CaseRow {
        id: format!("CASE-{}", random_string(9).map_err(ApiError::internal)?),
        matter: matter.code.clone(),
        clerk: staff.id.clone(),
        counter,
        status: "open".into(),
        opened_at: s.clock.now(),
        finished_at: None,
    };
    s.db.open_case(&case).await?;
    Ok((StatusCode::CREATED, Json(OpenedCase { case, matter })))
}

async fn own_open_case(s: &AppState, staff: &Staff, id: &str) -> Result<CaseRow, ApiError> {
    match s.db.case(id).await? {
        Some(c) if c.clerk == staff.id && c.status == "open" => Ok(c),
        Some(c) if c.clerk == staff.id => Err(ApiError::Conflict {
            code: "case_closed",
            title: "办件已办结",
            detail: c.id,
        }),
        _ => Err(ApiError::NotFound {
            code: "case_not_found",
            what: "case",
        }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    /// What the scanner typed (`EC1:…`).
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Retrieved {
    pub retrieval_id: String,
    pub correlation_id: String,
    /// The sealed certificate with only the matter's fields, base64url; the page verifies it.
    pub sealed: String,
    pub receipt: RetrievalReceipt,
    pub status: CertStatus,
    /// The material this certificate replaces.
    pub material: String,
    pub type_name: String,
    pub holder_name: String,
    pub fields: Vec<(String, String)>,
    pub valid_until: Option<i64>,
    /// Regions the retrieval passed through, counter's node first.
    pub path: Vec<String>,
    pub grant_id: Option<String>,
}

/// Everything decided about one scan before it is recorded.
struct Checked {
    presentation: Presentation,
    presenter_id: String,
    cert_id: String,
    grant_id: Option<String>,
}

/// A refusal worth recording: its error, and whether the code itself was genuine (then its
/// nonce is consumed so it cannot be tried again).
struct Refusal {
    error: ApiError,
    genuine: Option<Presentation>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal {
            error,
            genuine: None,
        }
    }
}

fn refuse(p: &Presentation, e: ApiError) -> Refusal {
    Refusal {
        error: e,
        genuine: Some(p.clone()),
    }
}

async fn check_scan(s: &AppState, matter: &Matter, text: &str) -> Result<Checked, Refusal> {
    let now = s.clock.now();
    let p = Presentation::decode_text(text).map_err(rule)?;
    let (presenter_id, public) =
        s.db.live_device(&p.presenter.to_string())
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                ApiError::bad(
                    "presenter_key_unknown",
                    "出示人设备未登记，请让申请人重新登录后刷新亮证码",
                    p.presenter.to_string(),
                )
            })?;
    let public: PublicKey = public.parse().map_err(ApiError::internal)?;
    p.verify(&public, now).map_err(|e| match e {
        // A bad signature proves nothing about the nonce's owner: nothing is consumed.
        wallet_core::presentation::PresentationError::BadSignature => Refusal::from(rule(e)),
        other => refuse(&p, rule(other)),
    })?;
    match &p.subject {
        Subject::Certificate(id) => {
            let cert =
                s.db.certificate(id.as_str())
                    .await
                    .map_err(ApiError::from)?;
            let holder_ok = match &cert {
                Some(c) => {
                    s.db.acts_for_holder(&c.holder_kind, &c.holder_id, &presenter_id)
                        .await
                        .map_err(ApiError::from)?
                }
                None => false,
            };
            if !holder_ok {
                return Err(refuse(
                    &p,
                    ApiError::bad("presenter_not_holder", "出示人不是持证人，请出示授权码", ""),
                ));
            }
            Ok(Checked {
                cert_id: id.to_string(),
                grant_id: None,
                presenter_id,
                presentation: p,
            })
        }
        Subject::Grant(gid) => {
            let row =
                s.db.grant(&gid.to_string())
                    .await
                    .map_err(ApiError::from)?
                    .ok_or_else(|| {
                        refuse(
                            &p,
                            ApiError::bad("grant_unknown", "授权不存在", gid.to_string()),
                        )
                    })?;
            if row.revoked_at.is_some() {
                return Err(refuse(
                    &p,
                    ApiError::bad("grant_revoked", "持证人已撤销该授权", ""),
                ));
            }
            if row.use_limit.is_some_and(|limit| row.uses >= limit) {
                return Err(refuse(
                    &p,
                    ApiError::bad("grant_use_limit_reached", "该授权的使用次数已用完", ""),
                ));
            }
            let grant = Grant::try_from(row.token.clone())
                .map_err(|e| refuse(&p, ApiError::internal(e)))?;
            let holder_key = holder_key(s, &grant).await.map_err(|e| refuse(&p, e))?;
            let presenter = presenter_id
                .parse()
                .map_err(|e| refuse(&p, ApiError::internal(e)))?;
            grant
                .verify_use(&holder_key, now, &matter.code, &presenter)
                .map_err(|e: GrantError| refuse(&p, rule(e)))?;
            Ok(Checked {
                cert_id: row.cert_id,
                grant_id: Some(row.id),
                presenter_id,
                presentation: p,
            })
        }
    }
}

/// The live device key that signed a grant, which must belong to the holder (or, for an
/// enterprise certificate, to someone acting for the enterprise).
async fn holder_key(s: &AppState, grant: &Grant) -> Result<PublicKey, ApiError> {
    let (owner, public) = s
        .db
        .live_device(&grant.signer.to_string())
        .await?
        .ok_or_else(|| ApiError::bad("grant_signer_revoked", "授权签名设备已注销，授权失效", ""))?;
    let ok = match &grant.terms.holder {
        Holder::Person(p) => p.as_str() == owner,
        Holder::Enterprise(e) => s.db.acts_for_enterprise(e.as_str(), &owner).await?,
    };
    if !ok {
        return Err(ApiError::bad(
            "grant_signer_not_holder",
            "授权不是持证人签署的",
            "",
        ));
    }
    public.parse().map_err(ApiError::internal)
}

/// One scan at the counter: what is audited about it whatever the outcome.
struct ScanContext<'a> {
    staff: &'a Staff,
    case: &'a CaseRow,
    correlation: &'a str,
    text: &'a str,
    started: Instant,
}

fn scan_audit(s: &AppState, ctx: &ScanContext<'_>, result: &str, response: &str) -> AuditEntry {
    let case = ctx.case;
    let detail =
        serde_json::json!({ "case": case.id, "matter": case.matter, "counter": case.counter })
            .to_string();
    AuditEntry {
        at: s.clock.now(),
        correlation_id: ctx.correlation.into(),
        action: "retrieval".into(),
        actor: format!("{}:clerk:{}", s.settings.region, ctx.staff.id),
        subject: case.id.clone(),
        detail,
        result: result.into(),
        request_hash: hex_sha256(ctx.text.as_bytes()),
        response_hash: hex_sha256(response.as_bytes()),
        latency_ms: ctx.started.elapsed().as_millis() as i64,
    }
}

/// Scans a presentation for a case (调阅). The presenter's device key, the code's signature and
/// time, the grant (grantee, matter, window, revocation, use limit) and the certificate's
/// status and validity are all checked here; the nonce is consumed atomically with the
/// record, so a second scan of the same code is refused even on another process sharing the
/// database. Only the fields the matter needs are returned. Every attempt is audited.
pub async fn retrieve(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
    ApiJson(req): ApiJson<Scan>,
) -> Result<(StatusCode, Json<Retrieved>), ApiError> {
    clerk(&staff)?;
    let started = Instant::now();
    let case = own_open_case(&s, &staff, &case_id).await?;
    let matter = s.db.matter(&case.matter).await?.ok_or(ApiError::NotFound {
        code: "matter_unknown",
        what: "matter",
    })?;
    let correlation = random_string(12).map_err(ApiError::internal)?;
    let ctx = ScanContext {
        staff: &staff,
        case: &case,
        correlation: &correlation,
        text: &req.text,
        started,
    };
    let outcome = match check_scan(&s, &matter, &req.text).await {
        Ok(checked) => deliver(&s, &ctx, &matter, checked).await,
        Err(r) => Err(r),
    };
    match outcome {
        Ok(done) => {
            s.metrics.record_retrieval("ok");
            Ok((StatusCode::CREATED, Json(done)))
        }
        Err(Refusal { error, genuine }) => {
            let (_, code, _) = error.parts();
            s.metrics.record_retrieval(code);
            let entry = scan_audit(&s, &ctx, code, "");
            let nonce = genuine
                .as_ref()
                .map(|p| (hex_sha256(&p.nonce), p.expires_at));
            s.db.record_refusal(
                nonce.as_ref().map(|(n, e)| (n.as_str(), *e)),
                s.clock.now(),
                &entry,
            )
            .await?;
            Err(error)
        }
    }
}

async fn deliver(
    s: &AppState,
    ctx: &ScanContext<'_>,
    matter: &Matter,
    c: Checked,
) -> Result<Retrieved, Refusal> {
    let (case, correlation) = (ctx.case, ctx.correlation);
    let p = &c.presentation;
    let now = s.clock.now();
    let row =
        s.db.certificate(&c.cert_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                refuse(
                    p,
                    ApiError::bad(
                        "certificate_not_found_here",
                        "本级系统未找到该证照",
                        c.cert_id.clone(),
                    ),
                )
            })?;
    let status = match row.status.as_str() {
        "valid" => CertStatus::Valid,
        "disputed" => CertStatus::Disputed,
        "revoked" => {
            return Err(refuse(
                p,
                ApiError::bad("certificate_revoked", "证照已注销", ""),
            ))
        }
        _ => {
            return Err(refuse(
                p,
                ApiError::bad("certificate_superseded", "证照已被更正，请出示最新版本", ""),
            ))
        }
    };
    let sealed = SealedCertificate::try_from(row.sealed.clone())
        .map_err(|e| refuse(p, ApiError::internal(e)))?;
    sealed
        .certificate
        .check_validity(now)
        .map_err(|e| refuse(p, rule(e)))?;
    let material = matter
        .materials
        .iter()
        .find(|m| m.cert_type.as_deref() == Some(row.type_code.as_str()))
        .ok_or_else(|| {
            refuse(
                p,
                ApiError::bad(
                    "certificate_not_needed",
                    "本事项不需要该证照",
                    row.type_code.clone(),
                ),
            )
        })?;
    let names: Vec<&str> = material.fields.iter().map(String::as_str).collect();
    let disclosed = sealed.disclose(&names);
    // Verify what leaves: a node never hands on a seal it cannot verify itself.
    let trust = super::trust::node_trust_list(s)
        .await
        .map_err(Refusal::from)?;
    disclosed.verify(&trust).map_err(|e| refuse(p, rule(e)))?;
    let bytes = disclosed.encode();
    let receipt = ReceiptTerms {
        correlation_id: correlation.into(),
        owner: s.settings.region,
        requested_by: s.settings.region,
        cert_id: disclosed.certificate.id.clone(),
        status,
        matter: matter.code.clone(),
        grant: match &p.subject {
            Subject::Grant(g) => Some(*g),
            Subject::Certificate(_) => None,
        },
        certificate_digest: digest_hex(&bytes),
        retrieved_at: now,
    }
    .sign(&s.node_key);
    let sealed_text = String::from(disclosed.clone());
    let receipt_json = serde_json::to_string(&receipt).map_err(ApiError::internal)?;
    let record = RetrievalRow {
        id: format!("RET-{}", random_string(9).map_err(ApiError::internal)?),
        correlation_id: correlation.into(),
        case_id: case.id.clone(),
        cert_id: c.cert_id.clone(),
        holder_id: row.holder_id.clone(),
        matter: matter.code.clone(),
        material: material.name.clone(),
        presenter: c.presenter_id.clone(),
        grant_id: c.grant_id.clone(),
        sealed: sealed_text.clone(),
        receipt: receipt_json,
        created_at: now,
    };
    let entry = scan_audit(s, ctx, "ok", &sealed_text);
    match s
        .db
        .record_retrieval(&record, &hex_sha256(&p.nonce), p.expires_at, &entry)
        .await
        .map_err(ApiError::from)?
    {
        Ok(()) => {}
        Err(RecordError::NonceUsed) => {
            return Err(Refusal::from(ApiError::bad(
                "presentation_replayed",
                "该亮证码已使用，请让申请人刷新后重新出示",
                "",
            )))
        }
        Err(RecordError::GrantSpent) => {
            return Err(Refusal::from(ApiError::bad(
                "grant_use_limit_reached",
                "该授权已撤销或使用次数已用完",
                "",
            )))
        }
    }
    let cert = &disclosed.certificate;
    Ok(Retrieved {
        retrieval_id: record.id,
        correlation_id: correlation.into(),
        sealed: sealed_text,
        receipt,
        status,
        material: material.name.clone(),
        type_name: cert.type_name.clone(),
        holder_name: cert.holder_name.clone(),
        fields: cert
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect(),
        valid_until: cert.valid_until,
        path: vec![s.settings.region.to_string()],
        grant_id: c.grant_id,
    })
}

#[derive(Debug, Serialize)]
pub struct Attached {
    pub attachment: AttachmentRow,
}

/// 申请人确认 → 关联引用: the retrieval becomes an attachment of its case, with the
/// verification code printed on the archive copy.
pub async fn confirm(
    State(s): State<AppState>,
    staff: Staff,
    Path(retrieval_id): Path<String>,
) -> Result<(StatusCode, Json<Attached>), ApiError> {
    clerk(&staff)?;
    let r =
        s.db.retrieval(&retrieval_id)
            .await?
            .ok_or(ApiError::NotFound {
                code: "retrieval_not_found",
                what: "retrieval",
            })?;
    own_open_case(&s, &staff, &r.case_id).await?;
    if let Some(existing) = s.db.attachment_of(&r.id).await? {
        return Ok((
            StatusCode::OK,
            Json(Attached {
                attachment: existing,
            }),
        ));
    }
    let attachment = AttachmentRow {
        id: format!("ATT-{}", random_string(9).map_err(ApiError::internal)?),
        case_id: r.case_id.clone(),
        retrieval_id: r.id.clone(),
        verification_code: verification_code().map_err(ApiError::internal)?,
        confirmed_at: s.clock.now(),
    };
    if !s.db.attach(&attachment).await? {
        let existing = s.db.attachment_of(&r.id).await?.ok_or(ApiError::NotFound {
            code: "retrieval_not_found",
            what: "retrieval",
        })?;
        return Ok((
            StatusCode::OK,
            Json(Attached {
                attachment: existing,
            }),
        ));
    }
    Ok((StatusCode::CREATED, Json(Attached { attachment })))
}

/// Twelve symbols of an alphabet without look-alikes, grouped in fours: `7KQ2-M9XD-4TPW`.
fn verification_code() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes)?;
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

#[derive(Debug, Serialize)]
pub struct ArchiveRecord {
    pub verification_code: String,
    pub case_id: String,
    pub matter: String,
    pub material: String,
    pub cert_id: String,
    pub type_name: String,
    pub holder_name: String,
    pub counter: String,
    pub retrieved_at: i64,
    pub confirmed_at: i64,
    pub correlation_id: String,
    pub fields: Vec<(String, String)>,
}

/// 打印存档: what an archive copy shows, found by its verification code. Anyone holding the
/// printed copy can check it against the record.
pub async fn archive(
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<ArchiveRecord>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "archive_not_found",
        what: "archive record",
    };
    let a =
        s.db.attachment_by_code(code.trim())
            .await?
            .ok_or_else(not_found)?;
    let r =
        s.db.retrieval(&a.retrieval_id)
            .await?
            .ok_or_else(not_found)?;
    let case = s.db.case(&r.case_id).await?.ok_or_else(not_found)?;
    let sealed = SealedCertificate::try_from(r.sealed.clone()).map_err(ApiError::internal)?;
    let cert = sealed.certificate;
    Ok(Json(ArchiveRecord {
        verification_code: a.verification_code,
        case_id: case.id,
        matter: r.matter,
        material: r.material,
        cert_id: r.cert_id,
        type_name: cert.type_name,
        holder_name: cert.holder_name,
        counter: case.counter,
        retrieved_at: r.created_at,
        confirmed_at: a.confirmed_at,
        correlation_id: r.correlation_id,
        fields: cert.fields.into_iter().map(|f| (f.name, f.value)).collect(),
    }))
}

/// Finishes (办结) an open case of this clerk.
pub async fn finish(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    clerk(&staff)?;
    own_open_case(&s, &staff, &case_id).await?;
    if !s.db.finish_case(&case_id, &staff.id, s.clock.now()).await? {
        return Err(ApiError::Conflict {
            code: "case_closed",
            title: "办件已办结",
            detail: case_id,
        });
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// 1 (非常不满意) to 5 (非常满意).
    pub score: i64,
    #[serde(default)]
    pub comment: String,
}

/// 办事体验评价: the applicant rates a finished case once, on the counter's rating pad.
pub async fn evaluate(
    State(s): State<AppState>,
    staff: Staff,
    Path(case_id): Path<String>,
    ApiJson(req): ApiJson<Evaluation>,
) -> Result<StatusCode, ApiError> {
    clerk(&staff)?;
    if !(1..=5).contains(&req.score) {
        return Err(ApiError::bad(
            "score_invalid",
            "评分应为1至5分",
            req.score.to_string(),
        ));
    }
    if req.comment.chars().count() > 500 {
        return Err(ApiError::bad("comment_too_long", "评价内容不超过500字", ""));
    }
    match s.db.case(&case_id).await? {
        Some(c) if c.clerk == staff.id && c.status == "finished" => {}
        Some(c) if c.clerk == staff.id => {
            return Err(ApiError::Conflict {
                code: "case_not_finished",
                title: "办件办结后才能评价",
                detail: c.id,
            })
        }
        _ => {
            return Err(ApiError::NotFound {
                code: "case_not_found",
                what: "case",
            })
        }
    }
    if !s
        .db
        .evaluate(&case_id, req.score, req.comment.trim(), s.clock.now())
        .await?
    {
        return Err(ApiError::Conflict {
            code: "evaluation_exists",
            title: "该办件已评价",
            detail: case_id,
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
