//! The holder's own copy of a certificate held at another node (证照详情 in the wallet).
//!
//! The wallet province knows such a certificate only from the pushed index: metadata and
//! status, no fields and no seal. When the signed-in holder opens it, the province asks the
//! owner for the sealed copy in a request it signs (`NodeEnvelope`, addressed to the owner):
//! "this resident, acting for these enterprises, asks for this certificate". The owner checks
//! the request's signature against the province's registered key and the holder against its own
//! record, audits the hand-over, and answers with the whole sealed certificate (it is the
//! holder's own) and the issuer's seal keys in an envelope it signs. Nodes in between relay the
//! request unopened. The province verifies the owner's envelope and the seal before passing the
//! copy on, and the page verifies the seal once more itself.

use serde::{Deserialize, Serialize};
use wallet_core::{CertId, NodeEnvelope, RegionCode, SealedCertificate, TrustEntry, TrustList};

use super::client::{tier_error, Budget, TierFailure};
use super::registry::NextHop;
use crate::auth::secrets::random_string;
use crate::db::audit::{citizen_actor, hex_sha256, AuditEntry};
use crate::error::ApiError;
use crate::state::AppState;

/// The route between nodes.
pub const PATH: &str = "/federation/v1/holder-copy";
/// How long the wallet waits for a copy before showing the metadata alone.
pub const COPY_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);
/// How old a signed request may be when it arrives.
const REQUEST_WINDOW: i64 = 60;

/// What the wallet province asserts, signed, to the owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyRequest {
    pub cert_id: String,
    /// The signed-in resident (checked by the province's real-name session).
    pub resident_id: String,
    /// Enterprises the resident represents or administers, as the province's records say.
    pub acts_for: Vec<String>,
    pub correlation_id: String,
}

/// The owner's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyResponse {
    /// The whole sealed certificate, base64url.
    pub sealed: String,
    pub status: String,
    /// The issuer's seal keys as a JSON list of trust entries, sealed by the owner and
    /// addressed to the wallet province.
    pub issuer_keys: NodeEnvelope,
}

/// A copy as the province hands it to the page.
#[derive(Debug, Clone)]
pub struct HolderCopy {
    pub sealed: String,
    pub issuer_keys: Vec<TrustEntry>,
}

fn refused(detail: impl Into<String>) -> ApiError {
    ApiError::bad(
        "holder_copy_refused",
        "证照所在系统拒绝提供该证照副本",
        detail,
    )
}

/// At the wallet province: fetches and verifies the holder's copy of `cert_id` from its owner.
pub async fn fetch(
    s: &AppState,
    cert_id: &CertId,
    resident_id: &str,
) -> Result<HolderCopy, ApiError> {
    let now = s.clock.now();
    let owner = cert_id.issuing_region();
    let request = CopyRequest {
        cert_id: cert_id.to_string(),
        resident_id: resident_id.to_owned(),
        acts_for: s.db.enterprises_of(resident_id).await?,
        correlation_id: random_string(12).map_err(ApiError::internal)?,
    };
    let envelope = NodeEnvelope::seal(
        &s.node_key,
        s.settings.region,
        owner,
        now,
        serde_json::to_string(&request).map_err(ApiError::internal)?,
    );
    let answer: CopyResponse = forward(
        s,
        &envelope,
        &request.correlation_id,
        Budget::new(COPY_BUDGET),
    )
    .await?;
    let registry = &s.federation.registry;
    let invalid = || tier_error(TierFailure::BadAnswer, owner, &registry.name_of(owner));
    let owner_key = registry
        .key(owner, answer.issuer_keys.signer, now)
        .ok_or_else(invalid)?;
    let keys: Vec<TrustEntry> = answer
        .issuer_keys
        .open(owner_key, s.settings.region)
        .ok()
        .filter(|_| answer.issuer_keys.from == owner)
        .and_then(|payload| serde_json::from_str(payload).ok())
        .ok_or_else(invalid)?;
    let sealed = SealedCertificate::try_from(answer.sealed.clone()).map_err(|_| invalid())?;
    if &sealed.certificate.id != cert_id {
        return Err(invalid());
    }
    sealed
        .verify(&TrustList::new(keys.clone()))
        .map_err(|_| invalid())?;
    Ok(HolderCopy {
        sealed: answer.sealed,
        issuer_keys: keys,
    })
}

/// Sends the signed request one hop towards its addressee.
async fn forward(
    s: &AppState,
    envelope: &NodeEnvelope,
    correlation: &str,
    budget: Budget,
) -> Result<CopyResponse, ApiError> {
    let registry = &s.federation.registry;
    let next = match registry.next_hop(envelope.to) {
        NextHop::Peer(r) => r,
        NextHop::Here => return Err(refused("the request is addressed to this node")),
        NextHop::NoRoute(r) => {
            return Err(tier_error(
                TierFailure::NotRegistered,
                r,
                &registry.name_of(r),
            ))
        }
    };
    s.federation
        .client
        .post(
            registry,
            &s.node_key,
            next,
            PATH,
            correlation,
            envelope,
            budget,
            s.clock.now(),
        )
        .await
}

/// At any other node: relays a request addressed elsewhere, or, at the owner, answers it.
/// `from` is the calling node (already authenticated by its service token).
pub async fn serve(
    s: &AppState,
    from: RegionCode,
    envelope: NodeEnvelope,
    correlation: &str,
    budget: Budget,
) -> Result<CopyResponse, ApiError> {
    let own = s.settings.region;
    if envelope.to != own {
        return forward(s, &envelope, correlation, budget).await;
    }
    let now = s.clock.now();
    let mut audit = AuditEntry {
        at: now,
        correlation_id: correlation.chars().take(64).collect(),
        action: "holder_copy".into(),
        actor: format!("node:{}", envelope.from),
        subject: String::new(),
        detail: serde_json::json!({ "via": from.to_string() }).to_string(),
        result: "ok".into(),
        request_hash: hex_sha256(envelope.payload.as_bytes()),
        response_hash: hex_sha256(b""),
        latency_ms: 0,
    };
    let answered = answer(s, &envelope, now, &mut audit).await;
    if let Err(e) = &answered {
        audit.result = e.parts().1.to_owned();
    }
    s.db.audit(&audit).await?;
    answered
}

async fn answer(
    s: &AppState,
    envelope: &NodeEnvelope,
    now: i64,
    audit: &mut AuditEntry,
) -> Result<CopyResponse, ApiError> {
    if (envelope.sent_at - now).abs() > REQUEST_WINDOW {
        return Err(refused("stale request"));
    }
    let key = s
        .federation
        .registry
        .key(envelope.from, envelope.signer, now)
        .ok_or_else(|| refused("the request's key is not a current key of its sender"))?;
    let payload = envelope
        .open(key, s.settings.region)
        .map_err(|e| refused(e.to_string()))?;
    let req: CopyRequest = serde_json::from_str(payload).map_err(|e| refused(e.to_string()))?;
    audit.subject = req.cert_id.clone();
    audit.actor = format!("{}:{}", envelope.from, citizen_actor(&req.resident_id));
    let not_found = || ApiError::NotFound {
        code: "certificate_not_found",
        what: "certificate",
    };
    let cert =
        s.db.certificate(&req.cert_id)
            .await?
            .ok_or_else(not_found)?;
    let mine = match cert.holder_kind.as_str() {
        "person" => cert.holder_id == req.resident_id,
        _ => req.acts_for.iter().any(|c| c == &cert.holder_id),
    };
    // Only the tier that serves wallets (and signs in residents) asks for holders' copies.
    let wallet_tier = envelope.from.tier() == wallet_core::Tier::Province;
    if !mine || !wallet_tier {
        return Err(not_found());
    }
    let sealed = SealedCertificate::try_from(cert.sealed.clone()).map_err(ApiError::internal)?;
    let issuer = sealed.certificate.id.issuer().clone();
    let keys: Vec<TrustEntry> = crate::routes::trust::node_trust_list(s)
        .await?
        .entries
        .into_iter()
        .filter(|e| e.issuer == issuer)
        .collect();
    let issuer_keys = NodeEnvelope::seal(
        &s.node_key,
        s.settings.region,
        envelope.from,
        now,
        serde_json::to_string(&keys).map_err(ApiError::internal)?,
    );
    audit.response_hash = hex_sha256(cert.sealed.as_bytes());
    Ok(CopyResponse {
        sealed: cert.sealed,
        status: cert.status,
        issuer_keys,
    })
}
