//! Every route of a node, in one place: `ROUTES` documents them (and feeds the OpenAPI
//! document), `router` wires them.

mod audit;
mod counter;
mod devices;
mod disclosure;
mod enterprise;
mod federation;
mod fund_counter;
mod fund_peer;
mod fund_review;
mod fund_wallet;
mod grants;
mod health;
mod hop;
pub(crate) mod issuance;
mod issuers;
mod matters;
pub(crate) mod objection_decisions;
mod objection_messages;
pub(crate) mod objections;
mod openapi;
mod page;
mod records;
mod session;
pub mod trust;

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub who: &'static str,
    pub what: &'static str,
}

/// Every route: method, path, who may call it, what it does.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/healthz",
        who: "anyone",
        what: "region, tier, database backend, version",
    },
    Route {
        method: "GET",
        path: "/api/trust-list",
        who: "anyone",
        what: "seal keys of this node's departments, current and retired",
    },
    Route {
        method: "GET",
        path: "/api/catalog",
        who: "anyone",
        what: "certificate types with their field schemas",
    },
    Route {
        method: "POST",
        path: "/api/issuer/certificates",
        who: "department",
        what: "issue and seal a certificate (answering a missing-certificate objection it names)",
    },
    Route {
        method: "POST",
        path: "/api/issuer/certificates/{id}/revoke",
        who: "department",
        what: "revoke a current certificate",
    },
    Route {
        method: "POST",
        path: "/api/issuer/certificates/{id}/correct",
        who: "department",
        what: "issue the next version, supersede this one, answer its open objections",
    },
    Route {
        method: "POST",
        path: "/api/issuer/seal-keys/rotate",
        who: "department",
        what: "retire the current seal key, create a new one",
    },
    Route {
        method: "GET",
        path: "/api/audit/verify",
        who: "anyone",
        what: "recompute the audit hash chain",
    },
    Route {
        method: "POST",
        path: "/api/wallet/otp",
        who: "anyone",
        what: "send a one-time code to a phone",
    },
    Route {
        method: "POST",
        path: "/api/wallet/register",
        who: "anyone",
        what: "real-name registration bound to a phone",
    },
    Route {
        method: "POST",
        path: "/api/wallet/login",
        who: "anyone",
        what: "password or one-time-code login",
    },
    Route {
        method: "POST",
        path: "/api/wallet/refresh",
        who: "session",
        what: "swap a refresh token (once)",
    },
    Route {
        method: "POST",
        path: "/api/wallet/logout",
        who: "citizen",
        what: "end the session now",
    },
    Route {
        method: "POST",
        path: "/api/wallet/liveness",
        who: "citizen",
        what: "实人 check; raises the session level",
    },
    Route {
        method: "GET",
        path: "/api/wallet/me",
        who: "citizen",
        what: "the signed-in person, masked",
    },
    Route {
        method: "POST",
        path: "/api/wallet/devices",
        who: "citizen",
        what: "register a device key, get its signed binding",
    },
    Route {
        method: "GET",
        path: "/api/wallet/devices",
        who: "citizen",
        what: "the person's device keys",
    },
    Route {
        method: "POST",
        path: "/api/wallet/devices/{key_id}/revoke",
        who: "citizen",
        what: "revoke a device key",
    },
    Route {
        method: "POST",
        path: "/api/wallet/presentations/current",
        who: "citizen",
        what: "the phone refreshed its code: older codes of the same device and subject die at once",
    },
    Route {
        method: "POST",
        path: "/api/staff/login",
        who: "anyone",
        what: "clerk or reviewer login",
    },
    Route {
        method: "GET",
        path: "/api/staff/me",
        who: "clerk or reviewer",
        what: "the logged-in staff member, department and counter",
    },
    Route {
        method: "POST",
        path: "/api/staff/logout",
        who: "clerk or reviewer",
        what: "end the staff session (its tokens stop working)",
    },
    Route {
        method: "POST",
        path: "/api/wallet/grants",
        who: "citizen",
        what: "store a grant signed on the phone",
    },
    Route {
        method: "GET",
        path: "/api/wallet/grants",
        who: "citizen",
        what: "grants given and received",
    },
    Route {
        method: "POST",
        path: "/api/wallet/grants/{id}/revoke",
        who: "citizen (holder)",
        what: "revoke a grant",
    },
    Route {
        method: "GET",
        path: "/api/wallet/certificates",
        who: "citizen",
        what: "my certificates: held here, and held below as pushed to this node's index",
    },
    Route {
        method: "GET",
        path: "/api/wallet/certificates/{id}",
        who: "citizen",
        what: "证照详情 (mine, or my enterprise's)",
    },
    Route {
        method: "GET",
        path: "/api/wallet/enterprise",
        who: "citizen (legal representative or administrator)",
        what: "企业证照 by credit code or full name, with my role and the administrators",
    },
    Route {
        method: "POST",
        path: "/api/wallet/enterprise/{credit_code}/admins",
        who: "citizen (legal representative)",
        what: "指定证照管理员: appoint a person the population registry knows by ID and name",
    },
    Route {
        method: "POST",
        path: "/api/wallet/enterprise/{credit_code}/admins/{resident_id}/remove",
        who: "citizen (legal representative)",
        what: "撤销证照管理员, revoking the grants they signed for the enterprise",
    },
    Route {
        method: "GET",
        path: "/api/wallet/enterprises",
        who: "citizen",
        what: "the enterprises I represent or administer, with my role in each",
    },
    Route {
        method: "GET",
        path: "/api/wallet/usage",
        who: "citizen",
        what: "用证记录: who retrieved my certificates",
    },
    Route {
        method: "POST",
        path: "/api/wallet/objections",
        who: "citizen (holder)",
        what: "异议: my certificate's data is wrong, or one is missing; sent to the issuer's node",
    },
    Route {
        method: "GET",
        path: "/api/wallet/objections",
        who: "citizen",
        what: "my objections, each with its steps: filed, received, decided",
    },
    Route {
        method: "GET",
        path: "/api/wallet/objections/{id}",
        who: "citizen",
        what: "one of my objections with its steps",
    },
    Route {
        method: "GET",
        path: "/api/catalog/issuers",
        who: "anyone",
        what: "certificate types and the departments issuing them, as this node knows them",
    },
    Route {
        method: "GET",
        path: "/api/issuer/objections",
        who: "department",
        what: "objections addressed to it, open first by deadline",
    },
    Route {
        method: "POST",
        path: "/api/issuer/objections/{id}/reject",
        who: "department",
        what: "reject an open objection with a reason (correct or issue to accept it)",
    },
    Route {
        method: "GET",
        path: "/api/matters",
        who: "anyone",
        what: "the matter directory (own counters and, at a province, its cities'), by certificate type",
    },
    Route {
        method: "GET",
        path: "/api/public/disclosures",
        who: "anyone (rate-limited per client)",
        what: "社会公示: disclosable enterprise certificates (排污许可证) by part of the name, status as of now",
    },
    Route {
        method: "GET",
        path: "/api/counter/matters",
        who: "clerk",
        what: "matters and their materials",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases",
        who: "clerk",
        what: "open a case for a matter",
    },
    Route {
        method: "GET",
        path: "/api/counter/cases/{id}",
        who: "clerk",
        what: "one of my cases with its matter, retrievals and attachments",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases/{id}/retrievals",
        who: "clerk",
        what: "scan a presentation, retrieve the certificate",
    },
    Route {
        method: "POST",
        path: "/api/counter/retrievals/{id}/confirm",
        who: "clerk",
        what: "applicant confirmed: attach to the case",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases/{id}/finish",
        who: "clerk",
        what: "finish the case",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases/{id}/evaluation",
        who: "clerk (rating pad)",
        what: "the applicant's rating",
    },
    Route {
        method: "GET",
        path: "/api/archive/{code}",
        who: "anyone with the code",
        what: "the record behind a printed archive copy",
    },
    // Scenario 2, the housing-fund withdrawal: the wallet's 全程网办, the fund centre's back
    // office, the counter's 一证通办, and the inter-node routes behind them.
    Route {
        method: "POST",
        path: "/api/wallet/fund/uploads/{kind}",
        who: "citizen (实人)",
        what: "a photo of the debit card, invoice or deed-tax certificate (raw JPEG/PNG, ≤ 2 MiB)",
    },
    Route {
        method: "POST",
        path: "/api/wallet/fund/applications",
        who: "citizen (实人)",
        what: "apply online: sharing-platform check (422 with the differing fields), certificates by ID number",
    },
    Route {
        method: "GET",
        path: "/api/wallet/fund/applications",
        who: "citizen",
        what: "my housing-fund applications and their status",
    },
    Route {
        method: "GET",
        path: "/api/wallet/fund/applications/{id}",
        who: "citizen",
        what: "one of my applications: form, records, certificates, status, decision",
    },
    Route {
        method: "POST",
        path: "/api/wallet/fund/applications/{id}/evaluation",
        who: "citizen",
        what: "办事体验评价 of a decided application",
    },
    Route {
        method: "GET",
        path: "/api/review/fund/applications",
        who: "reviewer",
        what: "the fund centre's queue (?status=under_review|approved|rejected)",
    },
    Route {
        method: "GET",
        path: "/api/review/fund/applications/{id}",
        who: "reviewer",
        what: "one application with its records, sealed certificates and photos' metadata",
    },
    Route {
        method: "GET",
        path: "/api/review/fund/applications/{id}/uploads/{kind}",
        who: "reviewer",
        what: "a photo's bytes, as the image type its bytes proved (nosniff)",
    },
    Route {
        method: "POST",
        path: "/api/review/fund/applications/{id}/decision",
        who: "reviewer",
        what: "approve or reject (with a reason), once",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases/{id}/applicant",
        who: "clerk",
        what: "一证通办: the applicant's resident ID from the ID card and consent",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases/{id}/sharing",
        who: "clerk",
        what: "the province's sharing platform: the applicant's invoices and deed-tax records",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases/{id}/sharing/confirm",
        who: "clerk",
        what: "the applicant confirmed one record on screen",
    },
    Route {
        method: "POST",
        path: "/api/counter/cases/{id}/debit-card",
        who: "clerk",
        what: "record the I类借记卡",
    },
    Route {
        method: "GET",
        path: "/api/counter/cases/{id}/fund",
        who: "clerk",
        what: "the case's 一证通办 state and what is left before 办结",
    },
    Route {
        method: "POST",
        path: "/federation/v1/sharing/query",
        who: "city node below (service token)",
        what: "the sharing platform's records of one applicant, for one case, on consent",
    },
    Route {
        method: "POST",
        path: "/federation/v1/fetch",
        who: "registered node (service token)",
        what: "one hop of a retrieval on an applicant's recorded consent (no QR)",
    },
    Route {
        method: "POST",
        path: "/federation/v1/fund/messages",
        who: "registered node (service token)",
        what: "housing-fund application, decision or rating in a signed envelope; acks its id",
    },
    Route {
        method: "POST",
        path: "/federation/v1/retrieve",
        who: "registered node (service token)",
        what: "one hop of a retrieval: consent at the wallet province, delivery at the owner",
    },
    Route {
        method: "POST",
        path: "/federation/v1/objections",
        who: "registered node (service token)",
        what: "an objection from a wallet node, or a decision back; signed envelope, signed ack",
    },
    Route {
        method: "POST",
        path: "/federation/v1/push",
        who: "node below (service token)",
        what: "pushed certificate metadata and status changes, signed envelope; acks event ids",
    },
    Route {
        method: "POST",
        path: "/federation/v1/holder-copy",
        who: "peer node",
        what: "a wallet province's signed request for a holder's own copy of a certificate held here (relayed towards its owner)",
    },
    Route {
        method: "POST",
        path: "/federation/v1/disclosure",
        who: "node above (service token)",
        what: "public state of certificates held here, for a search at the province; signed answer",
    },
    Route {
        method: "GET",
        path: "/metrics",
        who: "operators",
        what: "Prometheus metrics of this process",
    },
    Route {
        method: "GET",
        path: "/api/openapi.json",
        who: "anyone",
        what: "this document",
    },
];

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
        .route(
            "/api/wallet/presentations/current",
            post(devices::current_presentation),
        )
        .route("/api/staff/login", post(session::staff_login))
        .route("/api/staff/me", get(session::staff_me))
        .route("/api/staff/logout", post(session::staff_logout))
        .route("/api/wallet/grants", post(grants::create).get(grants::list))
        .route("/api/wallet/grants/{id}/revoke", post(grants::revoke))
        .route("/api/wallet/certificates", get(grants::certificates))
        .route("/api/wallet/certificates/{id}", get(grants::certificate))
        .route("/api/wallet/enterprise", get(enterprise::search))
        .route("/api/wallet/enterprises", get(grants::my_enterprises))
        .route(
            "/api/wallet/enterprise/{credit_code}/admins",
            post(enterprise::appoint),
        )
        .route(
            "/api/wallet/enterprise/{credit_code}/admins/{resident_id}/remove",
            post(enterprise::remove),
        )
        .route("/api/wallet/usage", get(grants::usage))
        .route(
            "/api/wallet/objections",
            post(objections::file).get(objections::mine),
        )
        .route("/api/wallet/objections/{id}", get(objections::one))
        .route("/api/catalog/issuers", get(issuers::issuers))
        .route(
            "/api/issuer/objections",
            get(objection_decisions::for_issuer),
        )
        .route(
            "/api/issuer/objections/{id}/reject",
            post(objection_decisions::reject),
        )
        .route("/api/matters", get(matters::directory))
        .route("/api/public/disclosures", get(disclosure::search))
        .route("/api/counter/matters", get(counter::matters))
        .route("/api/counter/cases", post(counter::open_case))
        .route("/api/counter/cases/{id}", get(records::case))
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
        .route("/api/archive/{code}", get(records::archive))
        .route("/api/wallet/fund/uploads/{kind}", post(fund_wallet::upload))
        .route(
            "/api/wallet/fund/applications",
            post(fund_wallet::apply).get(fund_wallet::list),
        )
        .route("/api/wallet/fund/applications/{id}", get(fund_wallet::show))
        .route(
            "/api/wallet/fund/applications/{id}/evaluation",
            post(fund_wallet::evaluate),
        )
        .route("/api/review/fund/applications", get(fund_review::queue))
        .route("/api/review/fund/applications/{id}", get(fund_review::show))
        .route(
            "/api/review/fund/applications/{id}/uploads/{kind}",
            get(fund_review::photo),
        )
        .route(
            "/api/review/fund/applications/{id}/decision",
            post(fund_review::decide),
        )
        .route(
            "/api/counter/cases/{id}/applicant",
            post(fund_counter::applicant),
        )
        .route("/api/counter/cases/{id}/sharing", post(fund_counter::query))
        .route(
            "/api/counter/cases/{id}/sharing/confirm",
            post(fund_counter::confirm),
        )
        .route(
            "/api/counter/cases/{id}/debit-card",
            post(fund_counter::debit_card),
        )
        .route("/api/counter/cases/{id}/fund", get(fund_counter::show))
        .route(
            "/federation/v1/sharing/query",
            post(fund_peer::sharing_query),
        )
        .route("/federation/v1/fetch", post(fund_peer::fetch))
        .route("/federation/v1/fund/messages", post(fund_peer::messages))
        .route("/federation/v1/retrieve", post(hop::retrieve))
        .route("/federation/v1/disclosure", post(disclosure::answer))
        .route("/federation/{*rest}", axum::routing::any(not_found))
        .route("/federation/v1/push", post(federation::push))
        .route("/federation/v1/holder-copy", post(federation::holder_copy))
        .route(
            "/federation/v1/objections",
            post(objection_messages::receive),
        )
        .route("/metrics", get(crate::metrics::expose))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/{*rest}", axum::routing::any(not_found))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(deadline))
        .layer(axum::middleware::from_fn(crate::extract::refuse_nul))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    match static_root {
        Some(root) => api.merge(page::router(&root)),
        None => api,
    }
}

/// Ends any request that runs past `REQUEST_TIMEOUT` with a problem response. The work in
/// flight is dropped at an await point; database transactions roll back when dropped, so a
/// timed-out write leaves nothing half done.
async fn deadline(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "route_not_found",
        what: "route",
    }
}
