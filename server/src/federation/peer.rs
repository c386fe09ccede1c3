//! The extractors for inter-node routes: the caller must be a registered node, its service
//! token addressed to this node, fresh, signed by a current key, and never seen before. A
//! refused call is audited, so forged or misrouted calls leave a trace.
//!
//! `PeerCall` records the token's id at once. `HopCall`, for retrieval hops, leaves that to
//! the hop's own transaction (`HopLedger::service_token`): a hop commits its audit entry
//! anyway, and one durable commit per hop instead of two is most of a hop's cost on a disk
//! whose fsync takes milliseconds. A replayed token then fails that commit and is refused
//! before anything is answered.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wallet_core::RegionCode;

use super::client::{Budget, BUDGET_HEADER};
use super::token::{self, ServiceClaims, ServiceTokenError};
use crate::db::audit::{hex_sha256, AuditEntry};
use crate::error::ApiError;
use crate::extract::bearer;
use crate::state::AppState;

/// An authenticated call from another node whose token id is already recorded.
#[derive(Debug, Clone)]
pub struct PeerCall {
    pub from: RegionCode,
    pub claims: ServiceClaims,
    /// What is left of the counter's time budget for this hop and those after it.
    pub budget: Budget,
}

/// An authenticated retrieval hop whose token id the handler records with the hop.
#[derive(Debug, Clone)]
pub struct HopCall(pub PeerCall);

async fn authenticate(parts: &Parts, s: &AppState, record: bool) -> Result<PeerCall, ApiError> {
    let budget = Budget::from_header(
        parts
            .headers
            .get(BUDGET_HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let now = s.clock.now();
    let token = bearer(parts);
    let checked = match token {
        None => Err(ServiceTokenError::Missing),
        Some(t) => token::verify(t, &s.federation.registry, now),
    };
    let refuse = |e: ServiceTokenError, claimed: &str| {
        let hash = hex_sha256(token.unwrap_or("").as_bytes());
        AuditEntry {
            at: now,
            correlation_id: hash[..32].to_owned(),
            action: "peer_call".into(),
            actor: format!("node?:{claimed}"),
            subject: parts.uri.path().to_owned(),
            detail: "{}".into(),
            result: e.code().into(),
            request_hash: hash,
            response_hash: hex_sha256(b""),
            latency_ms: 0,
        }
    };
    match checked {
        Ok((from, claims)) => {
            if record
                && !s
                    .db
                    .accept_service_token(&claims.jti, &claims.iss, claims.exp)
                    .await?
            {
                s.db.audit(&refuse(ServiceTokenError::Replayed, &claims.iss))
                    .await?;
                return Err(ApiError::PeerRefused(ServiceTokenError::Replayed));
            }
            Ok(PeerCall {
                from,
                claims,
                budget,
            })
        }
        Err(e) => {
            s.db.audit(&refuse(e.clone(), "unknown")).await?;
            Err(ApiError::PeerRefused(e))
        }
    }
}

impl FromRequestParts<AppState> for PeerCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, s, true).await
    }
}

impl FromRequestParts<AppState> for HopCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, s, false).await.map(HopCall)
    }
}
