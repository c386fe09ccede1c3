//! The inter-node side of a retrieval: another node forwards a scanned code here because this
//! node is on the way to the wallet province or to the certificate's owner.

use std::time::Instant;

use axum::extract::State;
use axum::Json;

use crate::db::audit::{hex_sha256, AuditEntry};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::peer::HopCall;
use crate::federation::resolve::{resolve, settle, HopAudit, HopRequest, HopResponse, Step};
use crate::state::AppState;

/// `POST /federation/v1/retrieve`: one hop of a retrieval. The caller must be the last node
/// on the request's path and the token's correlation id the request's.
pub async fn retrieve(
    State(s): State<AppState>,
    HopCall(peer): HopCall,
    ApiJson(req): ApiJson<HopRequest>,
) -> Result<Json<HopResponse>, ApiError> {
    let started = Instant::now();
    if req.path.last() != Some(&peer.from) || peer.claims.cid != req.correlation_id {
        let entry = AuditEntry {
            at: s.clock.now(),
            correlation_id: peer.claims.cid.clone(),
            action: "peer_call".into(),
            actor: format!("node:{}", peer.from),
            subject: req.origin.case_id.clone(),
            detail: "{}".into(),
            result: "hop_misrouted".into(),
            request_hash: hex_sha256(req.presentation.as_bytes()),
            response_hash: hex_sha256(b""),
            latency_ms: started.elapsed().as_millis() as i64,
        };
        s.db.audit(&entry).await?;
        return Err(ApiError::bad(
            "hop_misrouted",
            "调阅请求的来源与路径不符",
            format!("caller {}", peer.from),
        ));
    }
    let token = (
        peer.claims.jti.clone(),
        peer.claims.iss.clone(),
        peer.claims.exp,
    );
    let outcome = resolve(&s, &req, peer.budget, Some(token)).await;
    let audit = HopAudit {
        action: "retrieval_hop",
        actor: format!("node:{}", peer.from),
        started,
    };
    match settle(&s, &req, outcome, audit, None).await? {
        Step::Served(served) => Ok(Json(HopResponse::Served(served))),
        Step::Consented(consent, path) => Ok(Json(HopResponse::Consented { consent, path })),
    }
}
