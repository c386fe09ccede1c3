//! The inter-node routes of scenario 2, each behind a service token (`PeerCall`): the
//! province's sharing platform for the counters of its cities, one hop of a retrieval on an
//! applicant's consent, and the messages between wallet province and fund centre.

use axum::body::Body;
use axum::extract::State;
use axum::Json;
use wallet_core::{NodeEnvelope, Tier};

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::fetch::{answer, FetchRequest, Fetched};
use crate::federation::peer::PeerCall;
use crate::fund::delivery::{receive, MessageAck, MAX_MESSAGE_BYTES};
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
