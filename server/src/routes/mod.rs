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
//! | POST | /api/wallet/grants | citizen | store a grant signed on the phone |
//! | GET  | /api/wallet/grants | citizen | grants given and received |
//! | POST | /api/wallet/grants/{id}/revoke | citizen (holder) | revoke a grant |
//! | GET  | /api/wallet/certificates | citizen | my certificates at this node |
//! | GET  | /api/wallet/usage | citizen | 用证记录: who retrieved my certificates |
//! | GET  | /api/counter/matters | clerk | matters and their materials |
//! | POST | /api/counter/cases | clerk | open a case for a matter |
//! | POST | /api/counter/cases/{id}/retrievals | clerk | scan a presentation, retrieve the certificate |
//! | POST | /api/counter/retrievals/{id}/confirm | clerk | applicant confirmed: attach to the case |
//! | POST | /api/counter/cases/{id}/finish | clerk | finish the case |
//! | POST | /api/counter/cases/{id}/evaluation | clerk (rating pad) | the applicant's rating |
//! | GET  | /api/archive/{code} | anyone with the code | the record behind a printed archive copy |

mod audit;
mod counter;
mod devices;
mod grants;
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
        .route("/api/wallet/grants", post(grants::create).get(grants::list))
        .route("/api/wallet/grants/{id}/revoke", post(grants::revoke))
        .route("/api/wallet/certificates", get(grants::certificates))
        .route("/api/wallet/usage", get(grants::usage))
        .route("/api/counter/matters", get(counter::matters))
        .route("/api/counter/cases", post(counter::open_case))
        .route(
            "/api/counter/cases/{id}/retrievals",
            post(counter::retrieve),
        )
        .route(
            "/api/counter/retrievals/{id}/confirm",
            post(counter::confirm),
        )
        .route("/api/counter/cases/{id}/finish", post(counter::finish))
        .route(
            "/api/counter/cases/{id}/evaluation",
            post(counter::evaluate),
        )
        .route("/api/archive/{code}", get(counter::archive))
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
