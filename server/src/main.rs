//! The node binary. Until the node server lands (issue 3), `demo` serves the wallet page and
//! its WebAssembly build so the page can make and show a signed QR code on its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

fn usage() -> ! {
    eprintln!("usage: server demo [--listen 127.0.0.1:8080] [--root DIR]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    match args.next().as_deref() {
        Some("demo") => {}
        _ => usage(),
    }
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v.parse().unwrap_or_else(|_| usage()),
            ("--root", Some(v)) => root = PathBuf::from(v),
            _ => usage(),
        }
    }
    let app = Router::new()
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .fallback_service(ServeFile::new(root.join("index.html")));
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1)
        }
    };
    println!("电子证照钱包 (demo): http://{listen}/");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("server stopped: {e}");
        std::process::exit(1)
    }
}
