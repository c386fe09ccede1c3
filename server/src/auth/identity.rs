//! Extractors that turn a bearer JWT into a caller, refusing expired tokens, tokens of a
//! revoked session, and tokens of the other kind (a clerk's token on wallet routes or a
//! citizen's on counter routes).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::tokens::{self, Claims, TokenError};
use crate::error::ApiError;
use crate::extract::bearer;
use crate::state::AppState;

/// A real-name citizen with a live wallet session.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub resident_id: String,
    pub session: String,
    /// `real_name` or `real_person`.
    pub level: String,
}

/// A counter clerk or back-office reviewer with a live session.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: String,
    pub session: String,
    /// `clerk` or `reviewer`.
    pub role: String,
}

async fn claims(parts: &Parts, state: &AppState, kind: &str) -> Result<Claims, ApiError> {
    let token = bearer(parts).ok_or(ApiError::Unauthenticated("bearer token required"))?;
    let now = state.clock.now();
    let claims = tokens::verify(
        token,
        &state.node_key.public_key(),
        state.settings.region,
        now,
    )
    .map_err(|e| match e {
        TokenError::Expired => ApiError::Unauthenticated("session token expired"),
        TokenError::Invalid => {
            // A forged or foreign token: logged, not audited (it reached no data, and an
            // anonymous caller must not be able to grow the hash-chained log).
            tracing::warn!(path = %parts.uri.path(), "session token refused: invalid");
            ApiError::Unauthenticated("session token invalid")
        }
    })?;
    if claims.kind != kind {
        return Err(ApiError::Forbidden(
            "this token is for another kind of user",
        ));
    }
    let live = state
        .db
        .session(&claims.sid)
        .await?
        .is_some_and(|s| s.revoked_at.is_none() && s.expires_at > now);
    if !live {
        return Err(ApiError::Unauthenticated("session ended"));
    }
    Ok(claims)
}

impl FromRequestParts<AppState> for Citizen {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let c = claims(parts, state, "citizen").await?;
        Ok(Citizen {
            resident_id: c.sub,
            session: c.sid,
            level: c.lvl,
        })
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let c = claims(parts, state, "staff").await?;
        Ok(Staff {
            id: c.sub,
            session: c.sid,
            role: c.lvl,
        })
    }
}
