//! The node binary.
//!
//! - `server run --config node.toml` runs one node from its configuration file (with `NODE_*`
//!   environment overrides).
//! - `server demo [--listen ADDR]` runs a demo node with generated secrets under `data/demo/`,
//!   serving the wallet page.

use std::path::PathBuf;

use server::config::Settings;
use server::state::Clock;

fn usage() -> ! {
    eprintln!("usage: server run --config FILE [--static DIR]\n       server demo [--listen 127.0.0.1:8080]");
    std::process::exit(2)
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("{what}: {e}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // LOG_FORMAT=json gives one JSON object per line for log collectors.
    if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let (settings, static_root) = match args.first().map(String::as_str) {
        Some("run") => {
            let path = flag("--config").unwrap_or_else(|| usage());
            let settings = Settings::load(path.as_ref(), |k| std::env::var(k).ok())
                .unwrap_or_else(|e| fail("configuration", e));
            (settings, flag("--static").map(PathBuf::from))
        }
        Some("demo") => {
            let listen = flag("--listen").unwrap_or_else(|| "127.0.0.1:8080".into());
            let (settings, path) = server::demo::settings(&root.join("data/demo"), &listen)
                .unwrap_or_else(|e| fail("demo configuration", e));
            println!("demo configuration: {}", path.display());
            (settings, Some(root.clone()))
        }
        _ => usage(),
    };
    let listen = settings.listen;
    let state = server::start(settings, Clock::system())
        .await
        .unwrap_or_else(|e| fail("start-up", e));
    let app = server::routes::router(state.clone(), static_root);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| fail(&format!("listen on {listen}"), e));
    println!(
        "{} ({}): http://{listen}/",
        state.settings.name, state.settings.region
    );
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
    {
        fail("server", e);
    }
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
