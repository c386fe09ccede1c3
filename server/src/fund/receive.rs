//! The receiving end of the housing-fund messages (`POST /federation/v1/fund/messages`): the
//! envelope must come from the calling node, to this one, recently, signed by a registered key.
//! An application is re-verified entirely before it is stored (owners' receipts and seals,
//! photos by digest and bytes); a decision is taken only from the node that handles the
//! application, a rating only from its wallet province. Each applies once; a refusal changes
//! nothing and is audited.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use wallet_core::{NodeEnvelope, RegionCode, Tier};

use super::delivery::{ApplicationTransfer, FundMessage, MessageAck, MessageBody};
use super::image;
use crate::db::audit::{citizen_actor, hex_sha256, AuditEntry};
use crate::db::fund::ApplicationRow;
use crate::db::fund_uploads::UploadRow;
use crate::error::{rule, ApiError};
use crate::federation::fetch::{verify, Expect};
use crate::state::AppState;

/// How far an envelope's time may lie from the receiver's clock.
const ENVELOPE_WINDOW: i64 = 300;

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::bad("fund_message_invalid", "公积金申请消息未通过验证", detail)
}

/// `POST /federation/v1/fund/messages`: opens the envelope (from the calling node, to this
/// one, recent, signed by a registered key), applies the message and acknowledges it. A refused
/// message changes nothing and is audited.
pub async fn receive(
    s: &AppState,
    from: RegionCode,
    correlation: &str,
    envelope: NodeEnvelope,
) -> Result<MessageAck, ApiError> {
    let now = s.clock.now();
    let opened = open(s, from, &envelope, now);
    let result = match opened {
        Ok(body) => apply(s, from, correlation, body, now).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        let (_, code, _) = e.parts();
        let entry = AuditEntry {
            at: now,
            correlation_id: correlation.chars().take(64).collect(),
            action: "fund_message_received".into(),
            actor: format!("node:{from}"),
            subject: "fund_message".into(),
            detail: serde_json::json!({ "error": e.to_string() }).to_string(),
            result: code.to_owned(),
            request_hash: hex_sha256(envelope.payload.as_bytes()),
            response_hash: hex_sha256(b""),
            latency_ms: 0,
        };
        s.db.audit(&entry).await?;
    }
    result
}

fn open(
    s: &AppState,
    from: RegionCode,
    envelope: &NodeEnvelope,
    now: i64,
) -> Result<MessageBody, ApiError> {
    if envelope.from != from {
        return Err(invalid("envelope from another node than the caller"));
    }
    if (envelope.sent_at - now).abs() > ENVELOPE_WINDOW {
        return Err(invalid("stale envelope"));
    }
    let key = s
        .federation
        .registry
        .key(from, envelope.signer, now)
        .ok_or_else(|| invalid("unknown key"))?;
    let payload = envelope.open(key, s.settings.region).map_err(rule)?;
    serde_json::from_str(payload).map_err(|e| invalid(e.to_string()))
}

fn received(
    s: &AppState,
    from: RegionCode,
    correlation: &str,
    subject: &str,
    detail: serde_json::Value,
    now: i64,
) -> AuditEntry {
    let detail = detail.to_string();
    AuditEntry {
        at: now,
        correlation_id: correlation.chars().take(64).collect(),
        action: "fund_message_received".into(),
        actor: format!("node:{from}"),
        subject: subject.into(),
        request_hash: hex_sha256(detail.as_bytes()),
        detail,
        result: "ok".into(),
        response_hash: hex_sha256(s.settings.region.to_string().as_bytes()),
        latency_ms: 0,
    }
}

async fn apply(
    s: &AppState,
    from: RegionCode,
    correlation: &str,
    body: MessageBody,
    now: i64,
) -> Result<MessageAck, ApiError> {
    let own = s.settings.region;
    match body.message {
        FundMessage::Application(t) => {
            // Applications come from the wallet province above this node.
            if from.tier() != Tier::Province || !own.is_under(from) {
                return Err(invalid("applications come from this node's province"));
            }
            let (row, photos) = check_application(s, from, *t, now)?;
            let entry = received(
                s,
                from,
                correlation,
                &row.id,
                serde_json::json!({
                    "kind": "application", "message": body.id, "matter": row.matter,
                    "applicant": citizen_actor(&row.applicant_id), "photos": photos.len(),
                }),
                now,
            );
            s.db.receive_application(&row, &photos, &entry).await?;
        }
        FundMessage::Decision(d) => {
            if !matches!(d.status.as_str(), "approved" | "rejected") {
                return Err(invalid("decision status"));
            }
            let known =
                s.db.application(&d.application_id)
                    .await?
                    .is_some_and(|a| a.handled_by == from.to_string());
            if !known {
                return Err(invalid("no application of this node handled by the sender"));
            }
            let entry = received(
                s,
                from,
                correlation,
                &d.application_id,
                serde_json::json!({"kind": "decision", "message": body.id, "status": d.status}),
                now,
            );
            s.db.apply_decision(
                &d.application_id,
                &from.to_string(),
                &d.status,
                &d.reason,
                d.decided_at,
                &entry,
            )
            .await?;
        }
        FundMessage::Evaluation(e) => {
            if !(1..=5).contains(&e.score) || e.comment.chars().count() > 500 {
                return Err(invalid("evaluation"));
            }
            let known = s.db.application(&e.application_id).await?.is_some_and(|a| {
                a.wallet_region == from.to_string() && a.handled_by == own.to_string()
            });
            if !known {
                return Err(invalid("no application of the sender handled here"));
            }
            let entry = received(
                s,
                from,
                correlation,
                &e.application_id,
                serde_json::json!({"kind": "evaluation", "message": body.id, "score": e.score}),
                now,
            );
            s.db.apply_evaluation(
                &e.application_id,
                &from.to_string(),
                e.score,
                &e.comment,
                e.at,
                &entry,
            )
            .await?;
        }
    }
    Ok(MessageAck { acked: body.id })
}

/// Re-verifies a delivered application: every certificate against its owner's receipt and
/// the issuer's seal, for this applicant and for a material of this node's matter; every photo
/// against its digest and by its bytes; the three kinds once each.
fn check_application(
    s: &AppState,
    from: RegionCode,
    t: ApplicationTransfer,
    now: i64,
) -> Result<(ApplicationRow, Vec<UploadRow>), ApiError> {
    let matter = s
        .settings
        .matters
        .iter()
        .find(|m| m.code == t.matter && super::uses_sharing(m))
        .ok_or_else(|| invalid("not a housing-fund matter of this node"))?;
    for f in &t.certificates {
        let material = matter
            .materials
            .iter()
            .find(|m| m.name == f.material && m.cert_type.is_some())
            .ok_or_else(|| invalid("a certificate for no material of the matter"))?;
        let expect = Expect {
            correlation_id: None,
            resident_id: &t.applicant_id,
            matter: &t.matter,
            requested_by: from,
            material,
        };
        verify(s, f, &expect).map_err(|e| invalid(format!("certificate: {e}")))?;
    }
    let mut kinds: Vec<&str> = t.photos.iter().map(|p| p.kind.as_str()).collect();
    kinds.sort_unstable();
    let mut expected = super::UPLOAD_KINDS.to_vec();
    expected.sort_unstable();
    if kinds != expected {
        return Err(invalid("photos: one of each kind"));
    }
    let mut photos = Vec::with_capacity(t.photos.len());
    for p in &t.photos {
        let data = B64.decode(&p.data).map_err(|_| invalid("photo encoding"))?;
        let checked = image::check(&p.content_type, &data).map_err(|e| invalid(e.to_string()))?;
        if hex_sha256(&data) != p.sha256 || checked.content_type != p.content_type {
            return Err(invalid("photo digest or type"));
        }
        photos.push(UploadRow {
            id: p.id.clone(),
            owner_id: t.applicant_id.clone(),
            application_id: Some(t.id.clone()),
            kind: p.kind.clone(),
            content_type: checked.content_type.into(),
            size: data.len() as i64,
            sha256: p.sha256.clone(),
            width: i64::from(checked.width),
            height: i64::from(checked.height),
            data,
            created_at: now,
        });
    }
    let row = ApplicationRow {
        id: t.id,
        matter: t.matter,
        matter_name: matter.name.clone(),
        department: matter.department.clone(),
        applicant_id: t.applicant_id,
        applicant_name: t.applicant_name,
        wallet_region: from.to_string(),
        handled_by: s.settings.region.to_string(),
        status: "under_review".into(),
        form: serde_json::to_string(&t.form).map_err(ApiError::internal)?,
        sharing: serde_json::to_string(&t.sharing).map_err(ApiError::internal)?,
        certificates: serde_json::to_string(&t.certificates).map_err(ApiError::internal)?,
        consented_at: t.consented_at,
        submitted_at: t.submitted_at,
        received_at: Some(now),
        decided_at: None,
        reviewer: None,
        reason: None,
        evaluation_score: None,
        evaluation_comment: None,
        evaluated_at: None,
    };
    Ok((row, photos))
}
