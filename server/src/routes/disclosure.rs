//! 社会公示: the public search (`/api/public/disclosures`) and the inter-node question a
//! province asks the node that holds a match (`/federation/v1/disclosure`).

use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use wallet_core::NodeEnvelope;

use crate::db::audit::{hex_sha256, AuditEntry};
use crate::disclosure::answer::SearchAnswer;
use crate::disclosure::client::{admit, PublicClient};
use crate::disclosure::name::{NameQuery, QueryError, MAX_QUERY_CHARS, MIN_QUERY_CHARS};
use crate::disclosure::search::{
    search as run_search, DisclosureAnswer, DisclosureRequest, Search, DEFAULT_LIMIT, MAX_ASKED,
    MAX_LIMIT,
};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::federation::peer::HopCall;
use crate::federation::token::ServiceTokenError;
use crate::state::AppState;

/// The query string of a public search. Anything else (`offset`, `page` …) is refused: the
/// register is searched, never paged through.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Part of the enterprise's name, at least two characters.
    #[serde(default)]
    q: Option<String>,
    /// Only this catalog type (21-character type code).
    #[serde(default, rename = "type")]
    type_code: Option<String>,
    /// How many results, 1–20 (default 10).
    #[serde(default)]
    limit: Option<String>,
}

fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::Missing => ApiError::bad(
            "search_query_missing",
            "请输入企业名称",
            "q is empty once spaces and punctuation are removed",
        ),
        QueryError::TooShort => ApiError::bad(
            "search_query_too_short",
            "请至少输入企业名称中的两个字",
            format!("q needs at least {MIN_QUERY_CHARS} letters or digits"),
        ),
        QueryError::TooLong => ApiError::bad(
            "search_query_too_long",
            "输入的企业名称过长",
            format!("q may hold at most {MAX_QUERY_CHARS} letters or digits"),
        ),
        QueryError::Wildcard => ApiError::bad(
            "search_query_wildcard",
            "查询条件不能包含通配符，请输入企业名称",
            "q holds %, _, * or ?",
        ),
    }
}

/// `GET /api/public/disclosures?q=…[&type=…][&limit=…]`: anyone, no session. Counts against the
/// client's per-minute limit first (refused ones too), then finds the disclosable certificates
/// of enterprises whose name holds `q`, best match first, each with its status as of now. At a
/// province the holding city is asked for the current state of each match.
pub async fn search(
    State(s): State<AppState>,
    client: PublicClient,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchAnswer>, ApiError> {
    admit(&s, &client).await?;
    let Query(p) = params.map_err(|e| {
        ApiError::bad(
            "search_params_invalid",
            "查询参数有误（仅支持 q、type、limit）",
            e.body_text(),
        )
    })?;
    let query = NameQuery::parse(p.q.as_deref().unwrap_or("")).map_err(query_error)?;
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad(
                    "search_limit_invalid",
                    "每次最多显示20条结果",
                    format!("limit must be 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    if let Some(t) = &p.type_code {
        if t.len() != 21 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::bad(
                "search_type_invalid",
                "证照类型代码格式错误",
                "type is a 21-character catalog type code",
            ));
        }
    }
    let req = Search {
        query,
        type_code: p.type_code,
        limit,
    };
    Ok(Json(run_search(&s, &req).await?))
}

/// `POST /federation/v1/disclosure`: a node above this one (the province, or the national
/// node) asks for the public state of certificates its index says are held here. Answers those
/// of them held here that the public may see, as of now, in an envelope signed by this node and
/// addressed to the caller; the call and what it was told are audited here.
pub async fn answer(
    State(s): State<AppState>,
    HopCall(peer): HopCall,
    ApiJson(req): ApiJson<DisclosureRequest>,
) -> Result<Json<NodeEnvelope>, ApiError> {
    let started = Instant::now();
    let now = s.clock.now();
    let own = s.settings.region;
    let request_hash = hex_sha256(
        serde_json::to_string(&req.cert_ids)
            .unwrap_or_default()
            .as_bytes(),
    );
    let entry = |result: &str, detail: serde_json::Value, response: &[u8]| AuditEntry {
        at: now,
        correlation_id: peer.claims.cid.chars().take(64).collect(),
        action: "disclosure".into(),
        actor: format!("node:{}", peer.from),
        subject: "public_search".into(),
        detail: detail.to_string(),
        result: result.into(),
        request_hash: request_hash.clone(),
        response_hash: hex_sha256(response),
        latency_ms: started.elapsed().as_millis() as i64,
    };
    let refused = if !own.is_under(peer.from) {
        Some(ApiError::bad(
            "disclosure_caller_not_above",
            "只有上级电子证照系统可以转发公示查询",
            format!("{} is not above {own}", peer.from),
        ))
    } else if peer.claims.cid != req.correlation_id {
        Some(ApiError::bad(
            "disclosure_misrouted",
            "公示查询的关联编号与调用不符",
            "the token's correlation id is not the request's",
        ))
    } else if req.cert_ids.is_empty() || req.cert_ids.len() > MAX_ASKED {
        Some(ApiError::bad(
            "disclosure_request_invalid",
            "公示查询的证照数量有误",
            format!("1 to {MAX_ASKED} certificates per call"),
        ))
    } else {
        None
    };
    if let Some(err) = refused {
        let (_, code, _) = err.parts();
        s.db.audit(&entry(
            code,
            serde_json::json!({ "error": err.to_string() }),
            b"",
        ))
        .await?;
        return Err(err);
    }
    let certificates = s.db.disclosable_held(&req.cert_ids, now).await?;
    let answer = DisclosureAnswer {
        correlation_id: req.correlation_id.clone(),
        checked_at: now,
        certificates,
    };
    let payload = serde_json::to_string(&answer).map_err(ApiError::internal)?;
    let envelope = NodeEnvelope::seal(&s.node_key, own, peer.from, now, payload);
    let detail = serde_json::json!({
        "asked": req.cert_ids.len(),
        "answered": answer.certificates.iter().map(|m| &m.cert_id).collect::<Vec<_>>(),
    });
    let audit = entry("ok", detail, envelope.payload.as_bytes());
    let token = (
        peer.claims.jti.as_str(),
        peer.claims.iss.as_str(),
        peer.claims.exp,
    );
    if !s.db.record_disclosure_call(token, &audit).await? {
        let replay = ServiceTokenError::Replayed;
        s.db.audit(&entry(replay.code(), serde_json::json!({}), b""))
            .await?;
        return Err(ApiError::PeerRefused(replay));
    }
    Ok(Json(envelope))
}
