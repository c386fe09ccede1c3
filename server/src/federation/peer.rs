//! The extractor for inter-node routes: the caller must be a registered node, its service
//! token addressed to this node, fresh, signed by a current key, and never seen before. A
//! refused call is audited, so forged or misrouted calls leave a trace.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wallet_core::RegionCode;

use super::client::{Budget, BUDGET_HEADER};
use super::token::{self, ServiceClaims, ServiceTokenError};
use crate::db::audit::{hex_sha256, AuditEntry};
use crate::error::ApiError;
use crate::extract::bearer;
use crate::state::AppState;

/// An authenticated call from another node.
#[derive(Debug, Clone)]
pub struct PeerCall {
    pub from: RegionCode,
    pub claims: ServiceClaims,
    /// What is left of the counter's time budget for this hop and those after it.
    pub budget: Budget,
}

impl FromRequestParts<AppState> for PeerCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let budget = Budget::from_header(
            parts
                .headers
                .get(BUDGET_HEADER)
                .and_then(|v| v.to_str().ok()),
        );
        let now = s.clock.now();
        let checked = match bearer(parts) {
            None => Err(ServiceTokenError::Missing),
            Some(t) => token::verify(t, &s.federation.registry, now),
        };
        let refused = |e: ServiceTokenError, claimed: &str| {
            let entry = AuditEntry {
                at: now,
                correlation_id: hex_sha256(bearer(parts).unwrap_or("").as_bytes())[..32]
                    .to_owned(),
                action: "peer_call".into(),
                actor: format!("node?:{claimed}"),
                subject: parts.uri.path().to_owned(),
                detail: "{}".into(),
                result: e.code().into(),
                request_hash: hex_sha256(bearer(parts).unwrap_or("").as_bytes()),
                response_hash: hex_sha256(b""),
                latency_ms: 0,
            };
            (entry, ApiError::PeerRefused(e))
        };
        match checked {
            Ok((from, claims)) => {
                if !s
                    .db
                    .accept_service_token(&claims.jti, &claims.iss, claims.exp, now)
                    .await?
                {
                    let (entry, err) = refused(ServiceTokenError::Replayed, &claims.iss);
                    s.db.audit(&entry).await?;
                    return Err(err);
                }
                Ok(PeerCall {
                    from,
                    claims,
                    budget,
                })
            }
            Err(e) => {
                let (entry, err) = refused(e, "unknown");
                s.db.audit(&entry).await?;
                Err(err)
            }
        }
    }
}
