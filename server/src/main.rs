//! The node binary.
//!
//! - `server run --config node.toml` runs one node from its configuration file (with `NODE_*`
//!   environment overrides).
//! - `server demo [--base-port 8000] [--data-dir DIR]` runs the six-node demo federation in
//!   this process, with generated secrets and seeded data under `data/demo/`, serving the
//!   wallet and counter pages.
//! - `server demo --write-configs DIR [--base-port 8000] [--database-prefix URL]` writes the
//!   same six configurations for separate processes and exits.

use axum::serve::ListenerExt;
use std::path::PathBuf;

use server::config::Settings;
use server::demo;
use server::state::Clock;

fn usage() -> ! {
    eprintln!(
        "usage: server run --config FILE [--static DIR]\n       \
         server demo [--base-port 8000] [--data-dir DIR]\n       \
         server demo --write-configs DIR [--base-port 8000] \
         [--database-prefix postgres://USER@HOST:PORT/]"
    );
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
    match args.first().map(String::as_str) {
        Some("run") => {
            let path = flag("--config").unwrap_or_else(|| usage());
            let settings = Settings::load(path.as_ref(), |k| std::env::var(k).ok())
                .unwrap_or_else(|e| fail("configuration", e));
            run(settings, flag("--static").map(PathBuf::from)).await;
        }
        Some("demo") => {
            let base = flag("--base-port").map_or(demo::DEFAULT_BASE_PORT, |v| {
                v.parse().unwrap_or_else(|e| fail("--base-port", e))
            });
            if let Some(dir) = flag("--write-configs") {
                write_configs(&dir, base, flag("--database-prefix").as_deref());
            } else {
                let data = flag("--data-dir")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| root.join("data/demo"));
                run_demo(&data, base, root).await;
            }
        }
        _ => usage(),
    }
}

/// One node.
async fn run(settings: Settings, static_root: Option<PathBuf>) {
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
    if let Err(e) = axum::serve(
        listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    {
        fail("server", e);
    }
}

/// The six demo nodes in this process until Ctrl-C.
async fn run_demo(data: &std::path::Path, base: u16, root: PathBuf) {
    let nodes = demo::prepare(data, base).unwrap_or_else(|e| fail("demo configuration", e));
    let banner = demo::banner(&nodes, base).unwrap_or_else(|e| fail("demo accounts", e));
    let running = demo::spawn(nodes, Some(root), Clock::system())
        .await
        .unwrap_or_else(|e| fail("start-up", e));
    println!(
        "{banner}\n演示数据目录：{}（删除后重新生成）",
        data.display()
    );
    shutdown().await;
    running.shutdown().await;
}

/// The six configurations for separate processes.
fn write_configs(dir: &str, base: u16, database_prefix: Option<&str>) {
    let written = demo::write_configs(dir.as_ref(), base, database_prefix)
        .unwrap_or_else(|e| fail("demo configuration", e));
    for (path, _) in &written {
        println!("wrote {}", path.display());
    }
    let nodes: Vec<Settings> = written.into_iter().map(|(_, s)| s).collect();
    let banner = demo::banner(&nodes, base).unwrap_or_else(|e| fail("demo accounts", e));
    println!(
        "\nStart each node with `server run --config {dir}/<region>.toml --static <repository>`;\n\
         each seeds its demo data at its first start. Then:\n\n{banner}"
    );
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
