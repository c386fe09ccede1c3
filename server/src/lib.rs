//! One node of the e-certificate federation.
//!
//! ```text
//!  department systems ──issue/revoke/correct──▶ ┌────────────────────────┐
//!                                               │ node (region, tier)     │──▶ SQLite / PostgreSQL
//!  wallet page, counter page ──HTTP──────────▶  │ axum routes → db layer  │
//!                                               └────────────────────────┘
//! ```
//!
//! Every rule about identifiers, seals, grants and presentations comes from `wallet-core`; this
//! crate stores, routes and audits. `start` builds the state a router needs; tests call it on
//! a fresh database and serve the router on port 0.

pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod disclosure;
pub mod error;
pub mod extract;
pub mod federation;
pub mod fund;
pub mod metrics;
pub mod routes;
pub mod state;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use wallet_core::SecretKey;

use crate::auth::providers::{DemoLiveness, DemoSms, Liveness, SmsSender};
use crate::config::{Provider, Settings};
use crate::db::audit::hex_sha256;
use crate::db::catalog::CertType;
use crate::db::Db;
use crate::state::{AppState, Clock};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create a seal key: {0}")]
    Key(#[from] wallet_core::keys::KeyError),
    #[error("cannot hash a staff password: {0}")]
    Password(#[from] argon2::password_hash::Error),
    #[error("demo data: {0}")]
    DemoSeed(#[from] demo::seed::SeedError),
    #[error("cannot build the HTTP client for other nodes: {0}")]
    Client(#[from] reqwest::Error),
}

/// Connects the database, applies migrations and the configured departments and catalog, and
/// gives every department a seal key if it has none. Starts the outbox delivery task, which
/// runs while the returned state (or a clone of it) lives.
pub async fn start(settings: Settings, clock: Clock) -> Result<AppState, StartError> {
    let db = Db::connect(settings.database_url.expose()).await?;
    for d in &settings.departments {
        db.upsert_department(
            &d.credit_code,
            &d.name,
            &hex_sha256(d.token.expose().as_bytes()),
        )
        .await?;
        if db.current_seal_key(&d.credit_code).await?.is_none() {
            let key = SecretKey::generate()?;
            let public = key.public_key().to_string();
            let secret = B64.encode(*key.to_bytes());
            db.rotate_seal_key(
                &d.credit_code,
                &key.key_id().to_string(),
                &public,
                &secret,
                clock.now(),
            )
            .await?;
        }
    }
    for t in &settings.cert_types {
        db.upsert_cert_type(&CertType {
            code: t.code.clone(),
            name: t.name.clone(),
            department: t.department.clone(),
            holder_kind: t.holder_kind.clone(),
            disclosable: t.disclosable,
            national: t.national,
            fields: t.fields.clone(),
        })
        .await?;
    }
    for e in &settings.enterprises {
        db.upsert_enterprise(&e.credit_code, &e.name, &e.legal_rep_id)
            .await?;
        for admin in &e.admins {
            db.add_enterprise_admin(&e.credit_code, admin).await?;
        }
    }
    for m in &settings.matters {
        db.upsert_matter(m).await?;
    }
    for m in &settings.directory {
        db.upsert_directory_matter(m).await?;
    }
    for st in &settings.staff {
        let password_hash = auth::secrets::hash_password(st.password.expose())?;
        db.upsert_staff(&db::accounts::StaffRow {
            id: st.id.clone(),
            name: st.name.clone(),
            role: st.role.clone(),
            department: st.department.clone(),
            counter: st.counter.clone(),
            password_hash,
        })
        .await?;
    }
    // Disclosable certificates stored before the public listing existed are listed once.
    db.backfill_disclosures(clock.now()).await?;
    let node_key = settings.node_key.clone();
    // Settings validation has already refused demo providers in production mode.
    let (sms, liveness): (Arc<dyn SmsSender>, Arc<dyn Liveness>) =
        match (settings.sms, settings.liveness) {
            (Provider::Demo, Provider::Demo) => (Arc::new(DemoSms), Arc::new(DemoLiveness)),
        };
    let federation = Arc::new(federation::Federation {
        registry: federation::Registry::new(settings.region, &settings.peers),
        client: federation::PeerClient::new()?,
    });
    let outbox = Arc::new(federation::outbox::spawn(federation::outbox::Pusher {
        db: db.clone(),
        clock: clock.clone(),
        federation: federation.clone(),
        node_key: node_key.clone(),
    }));
    let state = AppState {
        outbox,
        federation,
        settings: Arc::new(settings),
        db,
        node_key,
        clock,
        sms,
        liveness,
        metrics: Arc::default(),
    };
    if state.settings.demo_seed {
        demo::seed::apply(&state).await?;
    }
    Ok(state)
}
