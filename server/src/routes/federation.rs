//! Routes other nodes call (`/federation/v1/…`), authenticated by their service token
//! (`PeerCall`) and, for what must stay provable afterwards, by a signed envelope.

use axum::extract::State;
use axum::Json;
use wallet_core::{CertId, Coded, NodeEnvelope, RegionCode};

use crate::db::audit::{hex_sha256, AuditEntry};
use crate::db::index::STATUSES;
use crate::db::outbox::{PushAck, PushBatch, PushEvent};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::peer::PeerCall;
use crate::state::AppState;

/// How far an envelope's `sent_at` may lie from this node's clock. Each delivery attempt seals
/// a fresh envelope, so only a captured one is ever older.
const ENVELOPE_WINDOW: i64 = 300;
/// The most events one push may carry.
const MAX_EVENTS: usize = 1000;

/// A refused push: problem+json with a stable code.
fn refusal(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::bad(code, "节点推送的证照信息未通过验证", detail)
}

/// Whether `sender` may tell this node about certificates: it lies below this node, or this
/// is the national node (which hears of national types from every province and city).
fn may_push_here(sender: RegionCode, own: RegionCode) -> bool {
    // The national node pushes what it issues to the holder's province.
    sender.is_under(own) || own == RegionCode::NATIONAL || sender == RegionCode::NATIONAL
}

/// Checks one event: the certificate is one the sender holds (its issuing authority lies in
/// the sender's region or under it), and the metadata is well formed.
fn check_event(e: &PushEvent, sender: RegionCode) -> Result<(), ApiError> {
    let m = &e.certificate;
    let id: CertId = m
        .cert_id
        .parse()
        .map_err(|_| refusal("push_event_invalid", format!("event {}: cert_id", e.seq)))?;
    let issuer = id.issuing_region();
    // The national node pushes down only what it issued itself.
    let held = if sender == RegionCode::NATIONAL {
        issuer == sender
    } else {
        issuer == sender || issuer.is_under(sender)
    };
    if !held {
        return Err(refusal(
            "push_event_foreign",
            format!(
                "event {}: {} is issued in {issuer}, not held by {sender}",
                e.seq, m.cert_id
            ),
        ));
    }
    let holder_ok = match m.holder_kind.as_str() {
        "person" => {
            m.holder_key.len() == 64
                && m.holder_key
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        "enterprise" => m.holder_key.parse::<wallet_core::CreditCode>().is_ok(),
        _ => false,
    };
    let ok = e.seq > 0
        && holder_ok
        && m.issuer_code == id.issuer().as_str()
        && m.type_code == id.type_code()
        && STATUSES.contains(&m.status.as_str())
        && (m.holder_kind == "enterprise" || m.disclosable.is_none());
    if !ok {
        return Err(refusal(
            "push_event_invalid",
            format!("event {}: metadata", e.seq),
        ));
    }
    Ok(())
}

/// Receives pushed certificate metadata from a node below (or, at the national node, from any
/// node for national types). The caller's service token names the sender; the envelope must be
/// from that same node, addressed here, recent, and signed by a key the registry lists for it.
/// Events apply idempotently — the newest event per certificate wins — in one transaction with
/// one audit entry; the reply acknowledges every event applied or already known. A refused push
/// changes nothing and is audited.
pub async fn push(
    State(s): State<AppState>,
    call: PeerCall,
    ApiJson(envelope): ApiJson<NodeEnvelope>,
) -> Result<Json<PushAck>, ApiError> {
    let now = s.clock.now();
    let own = s.federation.registry.own();
    let from = call.from;
    let request_hash = hex_sha256(envelope.payload.as_bytes());
    let entry = |result: &str, detail: String| AuditEntry {
        at: now,
        correlation_id: call.claims.cid.chars().take(64).collect(),
        action: "push_received".into(),
        actor: format!("node:{from}"),
        subject: format!("push:{from}"),
        detail,
        result: result.into(),
        request_hash: request_hash.clone(),
        response_hash: hex_sha256(b""),
        latency_ms: 0,
    };
    let checked = open(&s, &call, &envelope, now, own).and_then(|batch| {
        batch.events.iter().try_for_each(|e| check_event(e, from))?;
        Ok(batch)
    });
    let batch = match checked {
        Ok(b) => b,
        Err(err) => {
            let (_, code, _) = err.parts();
            s.db.audit(&entry(
                code,
                serde_json::json!({ "error": err.to_string() }).to_string(),
            ))
            .await?;
            return Err(err);
        }
    };
    let acked: Vec<i64> = batch.events.iter().map(|e| e.seq).collect();
    let detail = serde_json::json!({
        "events": acked,
        "certificates": batch.events.iter().map(|e| (&e.certificate.cert_id, &e.kind, &e.certificate.status))
            .collect::<Vec<_>>(),
    })
    .to_string();
    let ack = PushAck { acked };
    let mut audit = entry("ok", detail);
    audit.response_hash = hex_sha256(serde_json::to_string(&ack).unwrap_or_default().as_bytes());
    s.db.apply_push(from, &batch.events, &audit, now).await?;
    Ok(Json(ack))
}

/// The envelope's checks, in order: same sender as the token, sender allowed to push here,
/// recent, key in the registry, signature and recipient; then the payload's shape.
fn open(
    s: &AppState,
    call: &PeerCall,
    envelope: &NodeEnvelope,
    now: i64,
    own: RegionCode,
) -> Result<PushBatch, ApiError> {
    if envelope.from != call.from {
        return Err(refusal(
            "push_sender_mismatch",
            format!("envelope from {}, call from {}", envelope.from, call.from),
        ));
    }
    if !may_push_here(call.from, own) {
        return Err(refusal(
            "push_not_below",
            format!("{} does not push to {own}", call.from),
        ));
    }
    if (envelope.sent_at - now).abs() > ENVELOPE_WINDOW {
        return Err(refusal(
            "push_envelope_stale",
            format!("sent at {}, now {now}", envelope.sent_at),
        ));
    }
    let key = s
        .federation
        .registry
        .key(envelope.from, envelope.signer, now)
        .ok_or_else(|| {
            refusal(
                "push_envelope_invalid",
                "the envelope's key is not a current key of the sender",
            )
        })?;
    let payload = envelope
        .open(key, own)
        .map_err(|e| refusal("push_envelope_invalid", e.code()))?;
    let batch: PushBatch = serde_json::from_str(payload)
        .map_err(|e| refusal("push_payload_invalid", e.to_string()))?;
    if batch.events.len() > MAX_EVENTS {
        return Err(refusal(
            "push_payload_invalid",
            format!("more than {MAX_EVENTS} events"),
        ));
    }
    Ok(batch)
}

/// `POST /federation/v1/holder-copy`: a wallet province asks, in a request it signs, for the
/// holder's own copy of a certificate held here (or relays through here towards its owner).
pub async fn holder_copy(
    State(s): State<AppState>,
    call: PeerCall,
    ApiJson(envelope): ApiJson<NodeEnvelope>,
) -> Result<Json<crate::federation::holder_copy::CopyResponse>, ApiError> {
    let correlation = call.claims.cid.clone();
    crate::federation::holder_copy::serve(&s, call.from, envelope, &correlation, call.budget)
        .await
        .map(Json)
}
