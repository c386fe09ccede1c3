//! Request extractors whose failures are problem+json like every other error.

use axum::extract::rejection::JsonRejection;
use axum::extract::Query;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;

use crate::db::audit::hex_sha256;
use crate::db::departments::Department;
use crate::error::ApiError;
use crate::state::AppState;

/// `Json<T>` whose rejections (bad syntax, wrong types, missing fields, too large, wrong
/// content type) are 4xx problem details.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // PostgreSQL cannot store U+0000 in text: such a string is refused here, as input,
        // rather than failing as a server error when it reaches the database.
        let headers = req.headers().clone();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge
                } else {
                    ApiError::bad("invalid_json", "提交的数据格式错误", r.body_text())
                }
            })?;
        if escapes_nul(&bytes) {
            return Err(nul_refused());
        }
        let mut req = Request::new(axum::body::Body::from(bytes));
        *req.headers_mut() = headers;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge),
            Err(r @ JsonRejection::MissingJsonContentType(_)) => Err(ApiError::bad(
                "content_type_not_json",
                "请以 JSON 格式提交",
                r.body_text(),
            )),
            Err(r) => Err(ApiError::bad(
                "invalid_json",
                "提交的数据格式错误",
                r.body_text(),
            )),
        }
    }
}

fn nul_refused() -> ApiError {
    ApiError::bad(
        "text_nul_character",
        "提交的内容含有无效字符",
        "U+0000 is not accepted in any text",
    )
}

/// Whether JSON text carries the escape `\u0000` (JSON can carry U+0000 no other way). An
/// escaped backslash before `u0000` is text, not the escape.
fn escapes_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(&b"0000"[..]) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Refuses a path or query that carries U+0000 (`%00`) before any handler reads it, for the
/// same reason as `ApiJson`.
pub async fn refuse_nul(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = req.uri();
    if uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00")) {
        return nul_refused().into_response();
    }
    next.run(req).await
}

/// `Query<T>` whose rejection (a missing, duplicated or mistyped parameter) is a 400 problem
/// detail like every other bad input, not axum's plain-text answer.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(ApiError::bad(
                "invalid_query",
                "查询参数格式错误",
                r.body_text(),
            )),
        }
    }
}

/// A department's business system, authenticated by its bearer token.
#[derive(Debug, Clone)]
pub struct IssuerAuth(pub Department);

pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

impl FromRequestParts<AppState> for IssuerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthenticated("department token required"))?;
        state
            .db
            .department_by_token_hash(&hex_sha256(token.as_bytes()))
            .await?
            .map(IssuerAuth)
            .ok_or(ApiError::Unauthenticated("unknown department token"))
    }
}

#[cfg(test)]
mod tests {
    use super::escapes_nul;

    #[test]
    fn only_the_nul_escape_counts_as_nul() {
        assert!(escapes_nul(br#"{"a":"x\u0000y"}"#));
        assert!(!escapes_nul(br#"{"a":"x\\u0000y"}"#));
        assert!(escapes_nul(br#"{"a":"x\\\u0000y"}"#));
        assert!(escapes_nul(br#"{"a":"\u00001"}"#));
        assert!(!escapes_nul(br#"{"a":"\u0001"}"#));
    }
}
