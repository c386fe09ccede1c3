//! Serving the page, with the headers that keep it ours.
//!
//! The wallet signs grants and presentations with a key that never leaves the browser, so a
//! script injected into the page, or the page framed by another site that tricks the citizen
//! into tapping 授权, would be as good as the key. Every page response therefore carries a
//! Content Security Policy that runs only our own modules, the WebAssembly they instantiate and
//! the two inline scripts of `index.html` (by hash, computed when the node starts, so editing
//! the shell cannot silently weaken the policy), and forbids framing.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};

/// `index.html` at every path the API does not claim (its views are hash routes), the view
/// modules from `wallet-web/page/` at `/app/`, and the WebAssembly build at `/pkg/`.
/// Compressed on the way out: the wallet's whole transfer has to fit a phone on 3G.
pub fn router(root: &Path) -> Router {
    let shell = std::fs::read_to_string(root.join("index.html")).unwrap_or_default();
    let policy = HeaderValue::from_str(&content_security_policy(&shell))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    Router::new()
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .nest_service("/app", ServeDir::new(root.join("wallet-web/page")))
        .fallback_service(ServeFile::new(root.join("index.html")))
        .layer(axum::middleware::from_fn_with_state(policy, protect))
        .layer(tower_http::compression::CompressionLayer::new())
}

async fn protect(State(policy): State<HeaderValue>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, policy);
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// The policy for a shell: scripts from this origin and the shell's inline scripts by their
/// SHA-256, WebAssembly compilation, requests to this origin only, images from this origin, the
/// QR canvas (`data:`) and fetched photos (`blob:`), no plugins, no framing, no `<base>`.
/// Inline styles stay allowed: the shell's stylesheet is inline and styles cannot run code.
pub fn content_security_policy(shell: &str) -> String {
    let hashes: String = inline_scripts(shell)
        .map(|s| format!(" 'sha256-{}'", B64.encode(Sha256::digest(s.as_bytes()))))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The text of each `<script>` element without a `src`, exactly as the browser hashes it.
fn inline_scripts(shell: &str) -> impl Iterator<Item = &str> {
    shell.split("<script").skip(1).filter_map(|rest| {
        let (attributes, rest) = rest.split_once('>')?;
        let (body, _) = rest.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_each_inline_script_of_the_shell_by_hash_and_nothing_else_inline() {
        let shell = "<head><script>var a = 1;</script><script src=\"/x.js\"></script></head>\
                     <body><script type=\"module\">\nimport(\"/app/w.js\");\n</script></body>";
        let policy = content_security_policy(shell);
        let hash = |s: &str| format!("'sha256-{}'", B64.encode(Sha256::digest(s.as_bytes())));
        assert!(policy.contains(&hash("var a = 1;")), "{policy}");
        assert!(
            policy.contains(&hash("\nimport(\"/app/w.js\");\n")),
            "{policy}"
        );
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert!(
            !policy.contains("script-src 'self' 'unsafe-inline'"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }

    #[test]
    fn the_real_shell_has_its_two_inline_scripts_hashed() {
        let shell = include_str!("../../../index.html");
        assert_eq!(inline_scripts(shell).count(), 2);
        let policy = content_security_policy(shell);
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
    }
}
