use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::db::audit::ChainBreak;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct ChainReport {
    intact: bool,
    entries: Option<i64>,
    #[serde(rename = "break", skip_serializing_if = "Option::is_none")]
    broken_at: Option<ChainBreak>,
}

/// Recomputes the audit hash chain and reports the first break, if any.
pub async fn verify(State(s): State<AppState>) -> Result<Json<ChainReport>, ApiError> {
    Ok(Json(match s.db.verify_audit_chain().await? {
        Ok(n) => ChainReport {
            intact: true,
            entries: Some(n),
            broken_at: None,
        },
        Err(b) => ChainReport {
            intact: false,
            entries: None,
            broken_at: Some(b),
        },
    }))
}
