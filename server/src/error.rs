//! How the node reports failure.
//!
//! Policy, in five lines:
//! 1. Every handler returns `Result<_, ApiError>`; nothing else reaches the client.
//! 2. A 4xx names the rule that failed: a stable snake_case `code` and a Chinese `title`.
//! 3. A 5xx says only that the node failed; the cause chain goes to the log, never the body.
//! 4. Bad JSON, wrong types and oversized bodies are 4xx in the same shape (RFC 9457).
//! 5. Codes from `wallet-core` pass through unchanged, so the page maps them one way.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use wallet_core::error::Coded;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Input that breaks a rule; `code` is stable, `title` Chinese, `detail` English.
    #[error("{code}: {detail}")]
    BadRequest {
        code: &'static str,
        title: &'static str,
        detail: String,
    },
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("{what} not found")]
    NotFound {
        code: &'static str,
        what: &'static str,
    },
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        title: &'static str,
        detail: String,
    },
    #[error("payload too large")]
    TooLarge,
    /// A refusal whose status is neither 400, 404 nor 409: a session below the 实人 level
    /// (403), an oversized upload (413), a form that differs from the records (422).
    #[error("{code}: {detail}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: String,
    },
    /// Too many requests from one client; `retry_after` seconds until its window ends.
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: i64 },
    #[error("request took too long")]
    Timeout,
    /// A tier on the path failed: unreachable, too slow, or its answer did not verify. The
    /// title names the tier, e.g. `河南省电子证照系统暂时无法访问，请稍后重试`.
    #[error("{code}: {detail}")]
    Tier {
        status: StatusCode,
        code: &'static str,
        title: String,
        detail: String,
    },
    /// A refusal decided by another node (the owner found the certificate revoked, say),
    /// passed on with its own code so the counter page maps it one way.
    #[error("{code} (relayed): {detail}")]
    Relayed {
        status: StatusCode,
        code: String,
        title: String,
        detail: String,
    },
    /// An inter-node call whose service token failed a check.
    #[error("inter-node call refused: {0}")]
    PeerRefused(crate::federation::token::ServiceTokenError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

impl ApiError {
    pub fn bad(code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            title,
            detail: detail.into(),
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }

    /// The HTTP status, stable code and Chinese title of this error.
    pub fn parts(&self) -> (StatusCode, &str, &str) {
        match self {
            ApiError::BadRequest { code, title, .. } => (StatusCode::BAD_REQUEST, code, title),
            ApiError::Unauthenticated(_) => {
                (StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录")
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "无权执行此操作"),
            ApiError::NotFound { code, .. } => (StatusCode::NOT_FOUND, code, "未找到"),
            ApiError::Conflict { code, title, .. } => (StatusCode::CONFLICT, code, title),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "提交的内容过大",
            ),
            ApiError::Refused {
                status,
                code,
                title,
                ..
            } => (*status, code, title),
            ApiError::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "操作过于频繁，请稍后再试",
            ),
            ApiError::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                "系统繁忙，请稍后重试",
            ),
            ApiError::Tier {
                status,
                code,
                title,
                ..
            } => (*status, code, title),
            ApiError::Relayed {
                status,
                code,
                title,
                ..
            } => (*status, code, title),
            ApiError::PeerRefused(e) => (StatusCode::UNAUTHORIZED, e.code(), "节点身份验证失败"),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "系统繁忙，请稍后重试",
            ),
        }
    }
}

/// Any core rule violation is a 400 with the core's own code.
pub fn rule<E: Coded>(e: E) -> ApiError {
    ApiError::BadRequest {
        code: e.code(),
        title: e.message_zh(),
        detail: e.to_string(),
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title) = self.parts();
        let detail = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "request failed");
                None
            }
            other => Some(other.to_string()),
        };
        let body = Problem {
            kind: format!("urn:e-cert:problem:{code}"),
            title,
            status: status.as_u16(),
            code,
            detail: detail.as_deref(),
        };
        let json = serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"));
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response();
        if let ApiError::RateLimited { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after.max(1).into());
        }
        response
    }
}
