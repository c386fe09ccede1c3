//! Messages between the wallet province and the fund centre's node: the application (with its
//! photos) one way, the decision and the applicant's rating the other.
//!
//! A message is written in the same transaction as the change it reports and sent by the
//! node's delivery task (`federation::outbox`, in a lane of its own per destination) as a `NodeEnvelope`
//! under a service token, retried with backoff until the receiver acknowledges it. Rows are
//! claimed with a lease, so processes sharing a database do not send one twice; the receiver
//! applies each kind idempotently (`fund::receive`), so a repeat after a lost acknowledgement
//! changes nothing.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use wallet_core::{NodeEnvelope, RegionCode};

use super::form::Form;
use super::sharing::SharingMatch;
use crate::db::audit::hex_sha256;
use crate::db::fund_messages::MessageRow;
use crate::error::ApiError;
use crate::federation::fetch::Fetched;
use crate::federation::outbox::{backoff, Pusher, LEASE};
use crate::federation::Budget;

/// The receiving route.
pub const MESSAGES_PATH: &str = "/federation/v1/fund/messages";
/// The largest message body accepted: three photos of `image::MAX_BYTES`, base64, and the rest.
pub const MAX_MESSAGE_BYTES: usize = 12 * 1024 * 1024;
/// Messages claimed per round.
pub const CLAIM: i64 = 20;
/// Time allowed for one delivery call.
const SEND_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

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

/// Claims due messages, leaving out the destinations in `skip`; returns how many it claimed,
/// grouped by destination (oldest first within each).
pub async fn claim(
    p: &Pusher,
    skip: &[String],
) -> Result<(usize, BTreeMap<String, Vec<MessageRow>>), sqlx::Error> {
    let now = p.clock.now();
    let rows =
        p.db.claim_fund_messages(now, now + LEASE, CLAIM, skip)
            .await?;
    let claimed = rows.len();
    let mut by_dest: BTreeMap<String, Vec<MessageRow>> = BTreeMap::new();
    for m in rows {
        by_dest.entry(m.destination.clone()).or_default().push(m);
    }
    Ok((claimed, by_dest))
}

/// Sends one destination's claimed messages in order. When the destination itself fails (down,
/// silent, answering nonsense) the rest wait for the next attempt with it rather than each
/// spending a whole call budget on it — which could outlast the lease; a refusal of one message
/// holds up only that one.
pub async fn deliver(p: &Pusher, rows: Vec<MessageRow>) -> Result<(), sqlx::Error> {
    let mut down: Option<(i64, String)> = None;
    for m in rows {
        if let Some((retry_at, why)) = &down {
            p.db.fund_message_failed(&m.id, *retry_at, why).await?;
            continue;
        }
        match send(p, &m).await {
            Ok(()) => p.db.fund_message_delivered(&m, p.clock.now()).await?,
            Err((why, tier_failed)) => {
                let wait = backoff(m.attempts);
                tracing::warn!(message = %m.id, kind = %m.kind, to = %m.destination,
                    attempt = m.attempts, retry_in_s = wait, error = %why,
                    "housing-fund message not delivered; will retry");
                let retry_at = p.clock.now() + wait;
                p.db.fund_message_failed(&m.id, retry_at, &why).await?;
                if tier_failed {
                    down = Some((retry_at, why));
                }
            }
        }
    }
    Ok(())
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

/// One call; the error says why and whether the destination itself failed (rather than
/// refusing or not being able to build this one message).
async fn send(p: &Pusher, m: &MessageRow) -> Result<(), (String, bool)> {
    let to: RegionCode = m
        .destination
        .parse()
        .map_err(|_| ("destination".to_owned(), true))?;
    let own = p.federation.registry.own();
    let message = body(p, m).await.map_err(|e| (e, false))?;
    let payload = serde_json::to_string(&MessageBody {
        id: m.id.clone(),
        message,
    })
    .map_err(|e| (e.to_string(), false))?;
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
        .map_err(|e| {
            let tier_failed = !matches!(e, ApiError::Relayed { .. });
            (e.to_string(), tier_failed)
        })?;
    if ack.acked == m.id {
        Ok(())
    } else {
        Err(("acknowledged another message".into(), true))
    }
}
