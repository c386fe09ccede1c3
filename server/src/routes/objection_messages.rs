//! `POST /federation/v1/objections`: objections arriving from a wallet node, and decisions
//! arriving back from the issuer's node (`federation::objections` sends both). The service
//! token names the caller; the envelope must be from that same node, addressed here, recent
//! and signed by a key the registry lists for it. The answer is an acknowledgement signed by
//! this node, which the sender keeps as proof of delivery. Refusals are audited.

use axum::extract::State;
use axum::Json;
use wallet_core::{Coded, CreditCode, NodeEnvelope, RegionCode, ResidentId};

use crate::db::audit::{hex_sha256, AuditEntry};
use crate::db::objection_outbox::{Decided, Filed, ObjectionMessage, ObjectionReply};
use crate::db::objections::Applied;
use crate::db::received_objections::{Receipt, ReceivedRow};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::objections::ENVELOPE_WINDOW;
use crate::federation::peer::PeerCall;
use crate::routes::objections::MAX_REASON;
use crate::state::AppState;

fn refusal(code: &'static str, title: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::bad(code, title, detail)
}

fn invalid(detail: impl Into<String>) -> ApiError {
    refusal("objection_invalid", "异议信息不完整或格式错误", detail)
}

/// The envelope's checks, in order: same sender as the token, recent, key in the registry,
/// signature and recipient; then the message's shape.
fn open(
    s: &AppState,
    call: &PeerCall,
    envelope: &NodeEnvelope,
    now: i64,
) -> Result<ObjectionMessage, ApiError> {
    let title = "节点发送的异议信息未通过验证";
    if envelope.from != call.from {
        return Err(refusal(
            "objection_sender_mismatch",
            title,
            format!("envelope from {}, call from {}", envelope.from, call.from),
        ));
    }
    if (envelope.sent_at - now).abs() > ENVELOPE_WINDOW {
        return Err(refusal(
            "objection_envelope_stale",
            title,
            format!("sent at {}, now {now}", envelope.sent_at),
        ));
    }
    let key = s
        .federation
        .registry
        .key(envelope.from, envelope.signer, now)
        .ok_or_else(|| {
            refusal(
                "objection_envelope_invalid",
                title,
                "not a current key of the sender",
            )
        })?;
    let payload = envelope
        .open(key, s.federation.registry.own())
        .map_err(|e| refusal("objection_envelope_invalid", title, e.code()))?;
    serde_json::from_str(payload).map_err(|e| invalid(e.to_string()))
}

/// The filing's own shape: what any wallet node must state, whatever this node holds.
fn check_filed(f: &Filed) -> Result<(), ApiError> {
    let id_ok = f.objection.starts_with("OBJ-")
        && f.objection.len() <= 64
        && f.objection
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let holder_ok = match f.holder_kind.as_str() {
        "person" => f.holder_id.parse::<ResidentId>().is_ok(),
        "enterprise" => f.holder_id.parse::<CreditCode>().is_ok(),
        _ => false,
    };
    let kind_ok = matches!(
        (f.kind.as_str(), &f.cert_id),
        ("wrong_data", Some(_)) | ("missing", None)
    );
    let reason = f.reason.trim();
    let ok = id_ok
        && holder_ok
        && kind_ok
        && f.reporter.parse::<ResidentId>().is_ok()
        && !f.holder_name.trim().is_empty()
        && f.holder_name.len() <= 256
        && !reason.is_empty()
        && reason.chars().count() <= MAX_REASON
        && f.deadline > f.filed_at;
    if !ok {
        return Err(invalid(format!("objection {}", f.objection)));
    }
    Ok(())
}

/// Records a filing from `from`: the certificate must be held here by the holder named, or the
/// department must issue the type here. Returns when it was received (the first time, for a
/// repeated delivery).
async fn receive_filed(
    s: &AppState,
    from: RegionCode,
    f: &Filed,
    envelope: &str,
    audit: AuditEntry,
) -> Result<i64, ApiError> {
    check_filed(f)?;
    match &f.cert_id {
        Some(id) => {
            let cert = s.db.certificate(id).await?.ok_or_else(|| {
                refusal(
                    "objection_certificate_unknown",
                    "发证机关的系统中未找到该证照",
                    id.clone(),
                )
            })?;
            if cert.holder_kind != f.holder_kind || cert.holder_id != f.holder_id {
                return Err(refusal(
                    "objection_holder_mismatch",
                    "提出异议的持证人与证照不符",
                    id.clone(),
                ));
            }
            if cert.issuer_code != f.issuer_code || cert.type_code != f.type_code {
                return Err(invalid(format!("{id}: issuer or type")));
            }
        }
        None => {
            let issues =
                s.db.cert_type(&f.type_code).await?.is_some_and(|t| {
                    t.department == f.issuer_code && t.holder_kind == f.holder_kind
                });
            if !issues {
                return Err(refusal(
                    "objection_type_unknown",
                    "该部门不在本系统签发此类证照",
                    format!("{} / {}", f.type_code, f.issuer_code),
                ));
            }
        }
    }
    let now = s.clock.now();
    let row = ReceivedRow::of(f, Some(from.to_string()), now);
    match s.db.receive_objection(&row, envelope, &audit).await? {
        Receipt::Recorded { received_at } => Ok(received_at),
        Receipt::Known {
            origin,
            received_at,
        } if origin.as_deref() == Some(from.to_string().as_str()) => Ok(received_at),
        Receipt::Known { .. } => Err(refusal(
            "objection_id_taken",
            "异议编号已被使用",
            f.objection.clone(),
        )),
    }
}

/// Applies a decision from the issuer's node `from` to an objection filed here and sent there.
async fn receive_decided(
    s: &AppState,
    from: RegionCode,
    d: &Decided,
    envelope: &str,
    audit: AuditEntry,
) -> Result<i64, ApiError> {
    let ok = match d.outcome.as_str() {
        "rejected" => d.decision.as_deref().is_some_and(|r| !r.trim().is_empty()),
        "corrected" | "issued" => d.new_cert_id.is_some(),
        _ => false,
    };
    if !ok || d.decided_at < d.received_at {
        return Err(invalid(format!("decision on {}", d.objection)));
    }
    match s
        .db
        .apply_objection_decision(&from.to_string(), d, envelope, &audit)
        .await?
    {
        Applied::Changed | Applied::Known => Ok(s.clock.now()),
        Applied::NotFound => Err(refusal(
            "objection_not_found",
            "未找到该异议",
            d.objection.clone(),
        )),
    }
}

/// Receives an objection message from another node and answers with a signed acknowledgement.
pub async fn receive(
    State(s): State<AppState>,
    call: PeerCall,
    ApiJson(envelope): ApiJson<NodeEnvelope>,
) -> Result<Json<NodeEnvelope>, ApiError> {
    let now = s.clock.now();
    let from = call.from;
    let entry = |action: &str, subject: &str, detail: String, result: &str| AuditEntry {
        at: now,
        correlation_id: call.claims.cid.chars().take(64).collect(),
        action: action.into(),
        actor: format!("node:{from}"),
        subject: subject.into(),
        detail,
        result: result.into(),
        request_hash: hex_sha256(envelope.payload.as_bytes()),
        response_hash: hex_sha256(b""),
        latency_ms: 0,
    };
    let stored = serde_json::to_string(&envelope).map_err(ApiError::internal)?;
    let outcome = match open(&s, &call, &envelope, now) {
        Err(e) => Err(e),
        Ok(ObjectionMessage::ObjectionFiled(f)) => {
            let detail = serde_json::json!({
                "kind": f.kind, "cert_id": f.cert_id, "type_code": f.type_code,
                "issuer_code": f.issuer_code,
            });
            let audit = entry("objection_received", &f.objection, detail.to_string(), "ok");
            receive_filed(&s, from, &f, &stored, audit)
                .await
                .map(|at| (f.objection, "objection_filed", at))
        }
        Ok(ObjectionMessage::ObjectionDecided(d)) => {
            let detail = serde_json::json!({ "outcome": d.outcome, "new_cert_id": d.new_cert_id });
            let audit = entry("objection_decided", &d.objection, detail.to_string(), "ok");
            receive_decided(&s, from, &d, &stored, audit)
                .await
                .map(|at| (d.objection, "objection_decided", at))
        }
    };
    let (objection, of, at) = match outcome {
        Ok(done) => done,
        Err(err) => {
            if !matches!(err, ApiError::Internal(_)) {
                let (_, code, _) = err.parts();
                let detail = serde_json::json!({ "error": err.to_string() }).to_string();
                s.db.audit(&entry("objection_message", "objection:?", detail, code))
                    .await?;
            }
            return Err(err);
        }
    };
    let reply = ObjectionReply::ObjectionAck {
        objection,
        of: of.into(),
        at,
    };
    let payload = serde_json::to_string(&reply).map_err(ApiError::internal)?;
    Ok(Json(NodeEnvelope::seal(
        &s.node_key,
        s.federation.registry.own(),
        from,
        now,
        payload,
    )))
}
