//! Calls to neighbouring nodes: one pooled HTTP client per node (connections kept alive and
//! reused), a service token per call, and a time budget that shrinks along the path so the
//! counter hears back within `COUNTER_BUDGET` whatever happens further away.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wallet_core::{NodeKey, RegionCode};

use super::registry::Registry;
use super::token;
use crate::error::ApiError;

/// The longest a counter waits for a retrieval, from the first hop out to the answer.
pub const COUNTER_BUDGET: Duration = Duration::from_millis(4_500);
/// What each hop keeps for itself (verifying, auditing, answering) out of the budget it is
/// given, so that a slow tier further away times out before the one nearer the counter.
pub const HOP_MARGIN: Duration = Duration::from_millis(300);
/// The header carrying the caller's remaining budget in milliseconds.
pub const BUDGET_HEADER: &str = "x-ec-budget-ms";
/// The header carrying the correlation id (also inside the service token).
pub const CORRELATION_HEADER: &str = "x-ec-correlation-id";

/// A pooled client for the node's calls to its neighbours.
#[derive(Debug, Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    /// The node key prepared for signing service tokens, made on first use.
    signer: std::sync::Arc<std::sync::OnceLock<token::Signer>>,
}

/// A deadline for one piece of work that may call further nodes.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    until: Instant,
}

impl Budget {
    pub fn new(total: Duration) -> Self {
        Budget {
            until: Instant::now() + total,
        }
    }

    /// The budget a caller sent, capped at `COUNTER_BUDGET` so no caller can make a node wait
    /// longer than a counter would.
    pub fn from_header(ms: Option<&str>) -> Self {
        let given = ms
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(COUNTER_BUDGET);
        Budget::new(given.min(COUNTER_BUDGET))
    }

    pub fn remaining(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    /// What the next node gets: what is left minus this hop's margin.
    fn for_next_hop(&self) -> Duration {
        self.remaining().saturating_sub(HOP_MARGIN)
    }
}

/// A problem+json body as another node sends it.
#[derive(Debug, Deserialize)]
struct RemoteProblem {
    code: String,
    title: String,
    #[serde(default)]
    detail: Option<String>,
}

impl PeerClient {
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(1))
            .build()?;
        Ok(PeerClient {
            http,
            signer: std::sync::Arc::default(),
        })
    }

    /// POSTs `body` as JSON to `path` on the neighbour `to` and decodes its JSON answer. A
    /// refusal by that node (or one behind it) comes back as the same error code; a node that
    /// cannot be reached, answers too late or answers nonsense is named in the error.
    #[allow(clippy::too_many_arguments)]
    pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        registry: &Registry,
        key: &NodeKey,
        to: RegionCode,
        path: &str,
        correlation: &str,
        body: &Req,
        budget: Budget,
        now: i64,
    ) -> Result<Resp, ApiError> {
        let name = registry.name_of(to);
        let peer = registry
            .peer(to)
            .ok_or_else(|| tier_error(TierFailure::NotRegistered, to, &name))?;
        let wait = budget.for_next_hop();
        if wait.is_zero() {
            return Err(tier_error(TierFailure::Timeout, to, &name));
        }
        let signer = self.signer.get_or_init(|| token::Signer::new(key));
        let token = if signer.key_id() == key.key_id().to_string() {
            signer.sign(registry.own(), to, correlation, now)
        } else {
            token::mint(key, registry.own(), to, correlation, now)
        }
        .map_err(ApiError::internal)?;
        let sent = self
            .http
            .post(format!("{}{path}", peer.url))
            .bearer_auth(token)
            .header(BUDGET_HEADER, wait.as_millis().to_string())
            .header(CORRELATION_HEADER, correlation)
            .json(body)
            .timeout(wait)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err(tier_error(TierFailure::Timeout, to, &name)),
            Err(_) => return Err(tier_error(TierFailure::Unreachable, to, &name)),
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) if e.is_timeout() => return Err(tier_error(TierFailure::Timeout, to, &name)),
            Err(_) => return Err(tier_error(TierFailure::Unreachable, to, &name)),
        };
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|_| tier_error(TierFailure::BadAnswer, to, &name));
        }
        match serde_json::from_slice::<RemoteProblem>(&bytes) {
            // Internal failures of the other node say nothing we could pass on: name the tier.
            Ok(p) if p.code != "internal" && p.code != "request_timeout" => {
                Err(ApiError::Relayed {
                    status: StatusCode::from_u16(status.as_u16())
                        .unwrap_or(StatusCode::BAD_GATEWAY),
                    code: p.code,
                    title: p.title,
                    detail: p.detail.unwrap_or_default(),
                })
            }
            Ok(p) if p.code == "request_timeout" => {
                Err(tier_error(TierFailure::Timeout, to, &name))
            }
            _ => Err(tier_error(TierFailure::Failed, to, &name)),
        }
    }
}

/// How a neighbour failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierFailure {
    NotRegistered,
    Unreachable,
    Timeout,
    Failed,
    BadAnswer,
}

/// The error a counter sees, naming the tier: `tier_unreachable` with
/// `河南省电子证照系统暂时无法访问，请稍后重试`.
pub fn tier_error(kind: TierFailure, region: RegionCode, name: &str) -> ApiError {
    let (status, code, title) = match kind {
        TierFailure::NotRegistered => (
            StatusCode::BAD_GATEWAY,
            "tier_not_registered",
            format!("未登记{name}，无法转发请求"),
        ),
        TierFailure::Unreachable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "tier_unreachable",
            format!("{name}暂时无法访问，请稍后重试"),
        ),
        TierFailure::Timeout => (
            StatusCode::GATEWAY_TIMEOUT,
            "tier_timeout",
            format!("{name}响应超时，请稍后重试"),
        ),
        TierFailure::Failed => (
            StatusCode::BAD_GATEWAY,
            "tier_failed",
            format!("{name}处理失败，请稍后重试"),
        ),
        TierFailure::BadAnswer => (
            StatusCode::BAD_GATEWAY,
            "tier_answer_invalid",
            format!("{name}返回的数据未通过验证"),
        ),
    };
    ApiError::Tier {
        status,
        code,
        title,
        detail: format!("region {region}"),
    }
}
