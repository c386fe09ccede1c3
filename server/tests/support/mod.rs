//! Scratch databases for the server's tests and benches, made and dropped one way everywhere:
//! a fresh PostgreSQL database per test on the machine's server, or a temporary directory for
//! SQLite. Included by `tests/api`, `tests/crash.rs`, `tests/demo.rs`, the
//! `tests/federation_*.rs` and both benches. `nodes` runs a small federation of nodes in one
//! test process; `fixtures` holds what its nodes are configured with and a citizen's first
//! steps.
#![allow(dead_code)]

use sqlx::Connection;

pub mod fixtures;
pub mod nodes;

/// The machine's PostgreSQL (trust auth), as the administrative connection.
pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// `prefix_` and 12 random hexadecimal digits: a name no other run uses.
pub fn unique(prefix: &str) -> String {
    let mut r = [0u8; 6];
    getrandom::getrandom(&mut r).expect("random generator");
    format!(
        "{prefix}_{}",
        r.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A new, empty directory under the system's temporary directory.
pub fn scratch_dir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// The URL of an SQLite database file in `dir`.
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}/node.db", dir.display())
}

/// Creates an empty PostgreSQL database; returns its name and URL.
pub async fn create_pg_database(prefix: &str) -> (String, String) {
    let name = unique(prefix);
    let mut admin = sqlx::PgConnection::connect(PG_ADMIN)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
    let _ = admin.close().await;
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    (name, url)
}

/// Drops a database made by `create_pg_database`, best effort, closing its connections.
pub async fn drop_pg_database(name: &str) {
    if let Ok(mut admin) = sqlx::PgConnection::connect(PG_ADMIN).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
        let _ = admin.close().await;
    }
}

/// `drop_pg_database` for `Drop`, which cannot be async: a runtime of its own on a thread of
/// its own.
pub fn drop_pg_database_blocking(name: String) {
    std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(drop_pg_database(&name));
        }
    })
    .join()
    .ok();
}
