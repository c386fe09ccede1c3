use axum::extract::State;
use axum::Json;
use serde::Serialize;
use wallet_core::{RegionCode, Tier};

use crate::db::Backend;
use crate::state::AppState;

#[derive(Serialize)]
pub struct Health {
    region: RegionCode,
    tier: Tier,
    name: String,
    database: Backend,
    version: &'static str,
}

/// Liveness and identity: which node this is and what it stores in.
pub async fn health(State(s): State<AppState>) -> Json<Health> {
    Json(Health {
        region: s.settings.region,
        tier: s.settings.tier,
        name: s.settings.name.clone(),
        database: s.db.backend,
        version: env!("CARGO_PKG_VERSION"),
    })
}
