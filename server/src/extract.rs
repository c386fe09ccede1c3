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
