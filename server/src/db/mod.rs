//! The storage layer: every query of the node lives under `db/`.
//!
//! The backend is chosen by the URL scheme, as vaultwarden does: `sqlite:` is the embedded
//! default (WAL, synchronous=FULL, so an acknowledged write survives a crash), `postgres://`
//! is production. One migrations folder per backend with the same migration names; queries are
//! runtime-checked and use `$1` placeholders, which both backends accept.

pub mod accounts;
pub mod audit;
pub mod cases;
pub mod catalog;
pub mod certificates;
pub mod departments;
pub mod disclosure;
pub mod enterprises;
pub mod federation;
pub mod fund;
pub mod fund_counter;
pub mod fund_messages;
pub mod fund_uploads;
pub mod grants;
pub mod index;
pub mod issuers;
pub mod objection_outbox;
pub mod objections;
pub mod outbox;
pub mod presentations;
pub mod rate_limit;
pub mod received_objections;
pub mod sharing;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool on one of the two backends.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Signalled after a commit that queued push events (`outbox`), so this process's
    /// delivery task sends them at once.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Group commit of retrieval hops (`federation::HopWriter`).
    pub hop_writer: Arc<federation::HopWriter>,
    /// SQLite: one connection that commits without waiting for the disk (`synchronous =
    /// NORMAL`), for soft state such as rate-limit counters, which may lose their last
    /// increments in a crash but must not make every anonymous request wait for an fsync.
    /// (PostgreSQL turns `synchronous_commit` off for such a transaction instead.)
    pub soft: Option<AnyPool>,
}

impl Db {
    /// Connects, applies the backend's migrations, and returns the pool.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        if backend == Backend::Sqlite {
            create_sqlite_parent(url);
        }
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            // PostgreSQL's default allows 100 clients for the whole server; six demo nodes
            // (or several test federations) share one, so each pool stays small and lets idle
            // connections go.
            .max_connections(8)
            .idle_timeout(Duration::from_secs(30))
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        let soft = match backend {
            Backend::Sqlite if !url.contains(":memory:") => Some(
                AnyPoolOptions::new()
                    .max_connections(1)
                    .idle_timeout(Duration::from_secs(30))
                    .acquire_timeout(Duration::from_secs(5))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                            Ok(())
                        })
                    })
                    .connect_with(AnyConnectOptions::from_str(&url)?)
                    .await?,
            ),
            _ => None,
        };
        Ok(Db {
            pool,
            backend,
            outbox_wake: Arc::default(),
            hop_writer: Arc::default(),
            soft,
        })
    }
}

/// `sqlite://data/node.db` needs `data/` to exist before SQLite can create the file.
fn create_sqlite_parent(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or("");
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

/// The names of a migrations folder, for checking that both backends have the same ones.
pub fn migration_names(backend: Backend) -> Vec<String> {
    let m = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    m.iter()
        .map(|m| format!("{}_{}", m.version, m.description))
        .collect()
}
