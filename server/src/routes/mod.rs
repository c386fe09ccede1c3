//! Every route of a node, in one place.
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | GET  | /healthz | anyone | region, tier, database backend, version |
//! | GET  | /api/trust-list | anyone | seal keys of this node's departments, current and retired |
//! | GET  | /api/catalog | anyone | certificate types with their field schemas |
//! | POST | /api/issuer/certificates | department | issue and seal a certificate |
//! | POST | /api/issuer/certificates/{id}/revoke | department | revoke a current certificate |
//! | POST | /api/issuer/certificates/{id}/correct | department | issue the next version, supersede this one |
//! | POST | /api/issuer/seal-keys/rotate | department | retire the current seal key, create a new one |
//! | GET  | /api/audit/verify | anyone | recompute the audit hash chain |
//! | POST | /api/wallet/otp | anyone | send a one-time code to a phone |
//! | POST | /api/wallet/register | anyone | real-name registration bound to a phone |
//! | POST | /api/wallet/login | anyone | password or one-time-code login |
//! | POST | /api/wallet/refresh | session | swap a refresh token (once) |
//! | POST | /api/wallet/logout | citizen | end the session now |
//! | POST | /api/wallet/liveness | citizen | 实人 check; raises the session level |
//! | GET  | /api/wallet/me | citizen | the signed-in person, masked |
//! | POST | /api/wallet/devices | citizen | register a device key, get its signed binding |
//! | GET  | /api/wallet/devices | citizen | the person's device keys |
//! | POST | /api/wallet/devices/{key_id}/revoke | citizen | revoke a device key |
//! | POST | /api/staff/login | anyone | clerk or reviewer login |

mod audit;
mod devices;
mod health;
mod issuance;
mod session;
mod trust;

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Request bodies above this are refused before parsing.
pub const BODY_LIMIT: usize = 64 * 1024;
/// No request holds a connection longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The node's HTTP application. `static_root` holds `index.html` and `pkg/` when the node
/// serves the page.
pub fn router(state: AppState, static_root: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/healthz", get(health::health))
        .route("/api/trust-list", get(trust::trust_list))
        .route("/api/catalog", get(trust::catalog))
        .route("/api/issuer/certificates", post(issuance::issue))
        .route(
            "/api/issuer/certificates/{id}/revoke",
            post(issuance::revoke),
        )
        .route(
            "/api/issuer/certificates/{id}/correct",
            post(issuance::correct),
        )
        .route(
            "/api/issuer/seal-keys/rotate",
            post(issuance::rotate_seal_key),
        )
        .route("/api/audit/verify", get(audit::verify))
        .route("/api/wallet/otp", post(session::send_otp))
        .route("/api/wallet/register", post(session::register))
        .route("/api/wallet/login", post(session::login))
        .route("/api/wallet/refresh", post(session::refresh))
        .route("/api/wallet/logout", post(session::logout))
        .route("/api/wallet/liveness", post(session::liveness))
        .route("/api/wallet/me", get(session::me))
        .route(
            "/api/wallet/devices",
            post(devices::register).get(devices::list),
        )
        .route("/api/wallet/devices/{key_id}/revoke", post(devices::revoke))
        .route("/api/staff/login", post(session::staff_login))
        .route("/api/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    match static_root {
        Some(root) => api
            .nest_service("/pkg", ServeDir::new(root.join("pkg")))
            .fallback_service(ServeFile::new(root.join("index.html"))),
        None => api,
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "route_not_found",
        what: "route",
    }
}
