//! Messages between the wallet province and the fund centre's node: the application (with its
//! photos) one way, the decision and the applicant's rating the other.
//!
//! A message is written in the same transaction as the change it reports and sent by the
//! node's delivery task (`federation::outbox`, one extra round per loop) as a `NodeEnvelope`
//! under a service token, retried with backoff until the receiver acknowledges it. Rows are
//! claimed with a lease, so processes sharing a database do not send one twice; the receiver
//! applies each kind idempotently, so a repeat after a lost acknowledgement changes nothing.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use wallet_core::{NodeEnvelope, RegionCode, Tier};

use super::form::Form;
use super::image;
use super::sharing::SharingMatch;
use crate::db::audit::{citizen_actor, hex_sha256, AuditEntry};
use crate::db::fund::{ApplicationRow, MessageRow, UploadRow};
use crate::error::{rule, ApiError};
use crate::federation::fetch::{verify, Expect, Fetched};
use crate::federation::outbox::{backoff, Pusher, LEASE};
use crate::federation::Budget;
use crate::state::AppState;

/// The receiving route.
pub const MESSAGES_PATH: &str = "/federation/v1/fund/messages";
/// The largest message body accepted: three photos of `image::MAX_BYTES`, base64, and the rest.
pub const MAX_MESSAGE_BYTES: usize = 12 * 1024 * 1024;
/// Messages claimed per round.
const CLAIM: i64 = 20;
/// Time allowed for one delivery call.
const SEND_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);
/// How far an envelope's time may lie from the receiver's clock.
const ENVELOPE_WINDOW: i64 = 300;

/// A photo as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoTransfer {
    pub id: String,
    pub kind: String,
    pub content_type: String,
    pub sha256: String,
    /// Base64 of the bytes.
    pub data: String,
}

/// The application as the fund centre receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationTransfer {
    pub id: String,
    pub matter: String,
    pub applicant_id: String,
    pub applicant_name: String,
    pub form: Form,
    pub sharing: SharingMatch,
    pub certificates: Vec<Fetched>,
    pub consented_at: i64,
    pub submitted_at: i64,
    pub photos: Vec<PhotoTransfer>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionTransfer {
    pub application_id: String,
    /// `approved` or `rejected`.
    pub status: String,
    pub reason: String,
    pub decided_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationTransfer {
    pub application_id: String,
    pub score: i64,
    pub comment: String,
    pub at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FundMessage {
    Application(Box<ApplicationTransfer>),
    Decision(DecisionTransfer),
    Evaluation(EvaluationTransfer),
}

/// The envelope's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub id: String,
    pub message: FundMessage,
}

/// The receiver's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageAck {
    pub acked: String,
}

/// One delivery round: claims due messages and sends each; returns how many it claimed.
pub async fn round(p: &Pusher) -> Result<usize, sqlx::Error> {
    let now = p.clock.now();
    let rows = p.db.claim_fund_messages(now, now + LEASE, CLAIM).await?;
    let claimed = rows.len();
    for m in rows {
        match send(p, &m).await {
            Ok(()) => p.db.fund_message_delivered(&m, p.clock.now()).await?,
            Err(why) => {
                let wait = backoff(m.attempts);
                tracing::warn!(message = %m.id, kind = %m.kind, to = %m.destination,
                    attempt = m.attempts, retry_in_s = wait, error = %why,
                    "housing-fund message not delivered; will retry");
                p.db.fund_message_failed(&m.id, p.clock.now() + wait, &why)
                    .await?;
            }
        }
    }
    Ok(claimed)
}

/// Builds the body of a message (an application is read with its photos at sending time).
async fn body(p: &Pusher, m: &MessageRow) -> Result<FundMessage, String> {
    let parse = |e: serde_json::Error| format!("payload: {e}");
    match m.kind.as_str() {
        "application" => {
            let a =
                p.db.application(&m.application_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("application missing")?;
            let photos =
                p.db.uploads_of_application(&a.id, true)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|u| PhotoTransfer {
                        data: B64.encode(&u.data),
                        id: u.id,
                        kind: u.kind,
                        content_type: u.content_type,
                        sha256: u.sha256,
                    })
                    .collect();
            Ok(FundMessage::Application(Box::new(ApplicationTransfer {
                form: serde_json::from_str(&a.form).map_err(parse)?,
                sharing: serde_json::from_str(&a.sharing).map_err(parse)?,
                certificates: serde_json::from_str(&a.certificates).map_err(parse)?,
                id: a.id,
                matter: a.matter,
                applicant_id: a.applicant_id,
                applicant_name: a.applicant_name,
                consented_at: a.consented_at,
                submitted_at: a.submitted_at,
                photos,
            })))
        }
        "decision" => Ok(FundMessage::Decision(
            serde_json::from_str(&m.payload).map_err(parse)?,
        )),
        "evaluation" => Ok(FundMessage::Evaluation(
            serde_json::from_str(&m.payload).map_err(parse)?,
        )),
        other => Err(format!("unknown kind {other}")),
    }
}

async fn send(p: &Pusher, m: &MessageRow) -> Result<(), String> {
    let to: RegionCode = m.destination.parse().map_err(|_| "destination")?;
    let own = p.federation.registry.own();
    let message = body(p, m).await?;
    let payload = serde_json::to_string(&MessageBody {
        id: m.id.clone(),
        message,
    })
    .map_err(|e| e.to_string())?;
    let now = p.clock.now();
    let envelope = NodeEnvelope::seal(&p.node_key, own, to, now, payload);
    let ack: MessageAck = p
        .federation
        .client
        .post(
            &p.federation.registry,
            &p.node_key,
            to,
            MESSAGES_PATH,
            &hex_sha256(m.id.as_bytes())[..32],
            &envelope,
            Budget::new(SEND_BUDGET),
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
    if ack.acked == m.id {
        Ok(())
    } else {
        Err("acknowledged another message".into())
    }
}

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
