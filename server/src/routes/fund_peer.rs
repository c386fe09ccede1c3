//! The inter-node routes of scenario 2, each behind a service token (`PeerCall`): the
//! province's sharing platform for the counters of its cities, one hop of a retrieval on an
//! applicant's consent, and the messages between wallet province and fund centre.

use axum::body::Body;
use axum::extract::State;
use axum::Json;
use wallet_core::{CertId, NodeEnvelope, RegionCode, Tier};

use crate::db::audit::{hex_sha256, AuditEntry};
use crate::error::rule;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::fetch::{audit_entry, hop, FetchConsent, FetchRequest, Fetched, FRESH};
use crate::federation::peer::PeerCall;
use crate::federation::Budget;
use crate::fund::delivery::{MessageAck, MAX_MESSAGE_BYTES};
use crate::fund::receive::receive;
use crate::fund::sharing::{lookup, SharingQuery, SharingRecords};
use crate::state::AppState;

/// `POST /federation/v1/sharing/query` at a province: a city below asks for one applicant's
/// records for one case, on the applicant's consent at its counter; audited here.
pub async fn sharing_query(
    State(s): State<AppState>,
    call: PeerCall,
    ApiJson(q): ApiJson<SharingQuery>,
) -> Result<Json<SharingRecords>, ApiError> {
    let own = s.settings.region;
    if own.tier() != Tier::Province || !call.from.is_under(own) {
        return Err(ApiError::Forbidden(
            "the sharing platform answers the cities of its province",
        ));
    }
    if q.correlation_id != call.claims.cid {
        return Err(ApiError::bad(
            "hop_misrouted",
            "调阅请求的来源与路径不符",
            "correlation id",
        ));
    }
    q.resident_id
        .parse::<wallet_core::ResidentId>()
        .map_err(crate::error::rule)?;
    if q.consented_at > s.clock.now() {
        return Err(ApiError::bad(
            "consent_required",
            "缺少申请人的查询授权",
            "consent time in the future",
        ));
    }
    let actor = format!("{}:clerk:{}", call.from, q.clerk);
    Ok(Json(lookup(&s, &q, actor).await?))
}

/// `POST /federation/v1/fetch`: one hop of a retrieval on an applicant's consent.
pub async fn fetch(
    State(s): State<AppState>,
    call: PeerCall,
    ApiJson(req): ApiJson<FetchRequest>,
) -> Result<Json<Fetched>, ApiError> {
    let fetched = answer(&s, call.from, &call.claims.cid, call.budget, req).await?;
    Ok(Json(fetched))
}

/// `POST /federation/v1/fund/messages`: an application (photos included, hence the larger
/// body limit), a decision or a rating, in an envelope from the calling node.
pub async fn messages(
    State(s): State<AppState>,
    call: PeerCall,
    body: Body,
) -> Result<Json<MessageAck>, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let envelope: NodeEnvelope = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad("invalid_json", "提交的数据格式错误", e.to_string()))?;
    Ok(Json(
        receive(&s, call.from, &call.claims.cid, envelope).await?,
    ))
}

/// `POST /federation/v1/fetch` at a node on the way or at the owner: the consent envelope
/// must come from a registered province at the head of the path, be fresh and be for the
/// call's correlation id; the hop is audited whatever its outcome.
async fn answer(
    s: &AppState,
    from: RegionCode,
    correlation: &str,
    budget: Budget,
    req: FetchRequest,
) -> Result<Fetched, ApiError> {
    let started = std::time::Instant::now();
    let mut opened = open(s, from, correlation, &req);
    if opened.is_ok() && served_before(s, correlation).await? {
        opened = Err(ApiError::bad(
            "consent_replayed",
            "该查询授权已使用，请重新提交申请",
            correlation.to_owned(),
        ));
    }
    let (consent, result) = match opened {
        Ok(consent) => {
            let result = hop(s, &req, &consent, budget).await;
            (Some(consent), result)
        }
        Err(e) => (None, Err(e)),
    };
    let mut entry = match &consent {
        Some(c) => {
            let path: Vec<String> = req.path.iter().map(ToString::to_string).collect();
            audit_entry(s, c, format!("node:{from}"), &path, &result)
        }
        None => {
            let (_, code, _) = match &result {
                Err(e) => e.parts(),
                Ok(_) => (axum::http::StatusCode::OK, "ok", ""),
            };
            AuditEntry {
                at: s.clock.now(),
                correlation_id: correlation.chars().take(64).collect(),
                action: "fetch_on_consent".into(),
                actor: format!("node:{from}"),
                subject: "fetch".into(),
                detail: "{}".into(),
                result: code.to_owned(),
                request_hash: hex_sha256(req.consent.payload.as_bytes()),
                response_hash: hex_sha256(b""),
                latency_ms: 0,
            }
        }
    };
    entry.latency_ms = started.elapsed().as_millis() as i64;
    s.db.record_fetch(None, &entry).await?;
    result
}

/// Whether this node already passed on or served a certificate under this correlation id: a
/// consent envelope serves one fetch, even inside its freshness window.
async fn served_before(s: &AppState, correlation: &str) -> Result<bool, ApiError> {
    Ok(s.db
        .audit_by_correlation(correlation)
        .await?
        .iter()
        .any(|e| e.entry.action == "fetch_on_consent" && e.entry.result == "ok"))
}

fn open(
    s: &AppState,
    from: RegionCode,
    correlation: &str,
    req: &FetchRequest,
) -> Result<FetchConsent, ApiError> {
    let refused =
        |why: &str| ApiError::bad("consent_invalid", "授权核验结果无法验证", why.to_owned());
    if req.path.last() != Some(&from) {
        return Err(ApiError::bad(
            "hop_misrouted",
            "调阅请求的来源与路径不符",
            format!("caller {from}"),
        ));
    }
    let env = &req.consent;
    if req.path.first() != Some(&env.from) || env.from.tier() != Tier::Province {
        return Err(refused(
            "the consent is not from a wallet province at the path's head",
        ));
    }
    let key = s
        .federation
        .registry
        .key(env.from, env.signer, env.sent_at)
        .ok_or_else(|| refused("signed by an unknown or retired key"))?;
    let payload = env.verify_signature(key).map_err(rule)?;
    let consent: FetchConsent =
        serde_json::from_str(payload).map_err(|_| refused("unreadable consent"))?;
    let now = s.clock.now();
    let owner = consent
        .cert_id
        .parse::<CertId>()
        .map_err(rule)?
        .issuing_region();
    if consent.correlation_id != correlation || env.to != owner || (now - env.sent_at).abs() > FRESH
    {
        return Err(refused(
            "the consent is for another call, certificate or time",
        ));
    }
    Ok(consent)
}
