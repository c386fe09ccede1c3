//! The demo federation in the fuzzing process, and one request at a time through a node's real
//! router.
//!
//! All six demo nodes run on loopback (each with its own SQLite database under `TMPDIR`, seeded
//! as `server demo` seeds them), so a request that travels between tiers really travels. The
//! fuzzed requests themselves go to the wallet province (410000) and to Luohe (411100) through
//! `tower::ServiceExt::oneshot` on each node's router: no socket, the same extractors,
//! middleware and handlers. Tokens for a citizen, a clerk (or reviewer) and a department are
//! obtained once, through the same routes the page uses.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use server::config::Settings;
use server::demo;
use server::routes::{Route, ROUTES};
use server::state::Clock;
use tower::ServiceExt;

/// Who a request claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Citizen,
    Staff,
    Department,
}

/// One node's router and the bearer tokens for it.
pub struct Target {
    pub region: &'static str,
    router: Router,
    citizen: String,
    staff: String,
    department: String,
    /// Ids that exist on this node (a case opened at start), so path parameters can name them.
    known_ids: Vec<String>,
}

/// The running federation: kept for the life of the process.
pub struct Nodes {
    runtime: tokio::runtime::Runtime,
    pub targets: Vec<Target>,
    _running: demo::Running,
}

/// A response, as the assertions need it.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Routes the fuzzer may call: all of them but the two logouts, which would end the sessions
/// every later input relies on (logout itself is a few lines over a tested revocation).
pub fn routes() -> Vec<&'static Route> {
    ROUTES
        .iter()
        .filter(|r| !r.path.ends_with("/logout"))
        .collect()
}

/// The federation, started on first use.
pub fn nodes() -> &'static Nodes {
    static NODES: OnceLock<Nodes> = OnceLock::new();
    NODES.get_or_init(|| start().unwrap_or_else(|e| panic!("demo federation: {e}")))
}

fn start() -> Result<Nodes, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("ecert-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A random base port, tried a few times: fuzzing jobs may run side by side.
    let mut last = String::new();
    for attempt in 0..8 {
        let base = 20_000
            + (std::process::id() as u16)
                .wrapping_mul(7)
                .wrapping_add(attempt * 977)
                % 40_000;
        let data = dir.join(attempt.to_string());
        let settings = demo::prepare(&data, base).map_err(|e| e.to_string())?;
        match runtime.block_on(demo::spawn(settings.clone(), None, Clock::system())) {
            Ok(running) => {
                let targets = runtime.block_on(targets(&running, &settings))?;
                return Ok(Nodes {
                    runtime,
                    targets,
                    _running: running,
                });
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("no free ports for the demo: {last}"))
}

fn settings_of<'a>(all: &'a [Settings], region: &str) -> Result<&'a Settings, String> {
    all.iter()
        .find(|s| s.region.to_string() == region)
        .ok_or_else(|| format!("no demo node {region}"))
}

async fn targets(running: &demo::Running, all: &[Settings]) -> Result<Vec<Target>, String> {
    let router_of = |region: &str| {
        running
            .nodes
            .iter()
            .find(|n| n.state.settings.region.to_string() == region)
            .map(|n| server::routes::router(n.state.clone(), None))
            .ok_or_else(|| format!("demo node {region} not running"))
    };
    // The citizen's account lives at the province: 张伟, holder in scenario 1.
    let henan = settings_of(all, demo::HENAN)?;
    let person = demo::people::ZHANG_WEI
        .resident_id()
        .map_err(|e| e.to_string())?
        .to_string();
    let password = demo::resident_password(&henan.node_key, &person);
    let henan_router = router_of(demo::HENAN)?;
    let citizen = login(
        &henan_router,
        "/api/wallet/login",
        json!({"resident_id": person, "password": password}),
    )
    .await?;
    let mut out = Vec::new();
    for region in [demo::HENAN, demo::LUOHE] {
        let s = settings_of(all, region)?;
        let router = router_of(region)?;
        let staff = match s.staff.first() {
            Some(st) => {
                login(
                    &router,
                    "/api/staff/login",
                    json!({"id": st.id, "password": st.password.expose()}),
                )
                .await?
            }
            None => String::new(),
        };
        let department = s
            .departments
            .first()
            .map(|d| d.token.expose().to_owned())
            .unwrap_or_default();
        let mut target = Target {
            region,
            router,
            citizen: citizen.clone(),
            staff,
            department,
            known_ids: Vec::new(),
        };
        if let Some(matter) = s.matters.first() {
            let opened = target
                .call(
                    Method::POST,
                    "/api/counter/cases",
                    Caller::Staff,
                    Some("application/json"),
                    json!({"matter": matter.code}).to_string().into_bytes(),
                )
                .await;
            if let Ok(v) = serde_json::from_slice::<Value>(&opened.body) {
                if let Some(id) = v["case"]["id"].as_str() {
                    target.known_ids.push(id.to_owned());
                }
            }
        }
        out.push(target);
    }
    Ok(out)
}

async fn login(router: &Router, path: &str, body: Value) -> Result<String, String> {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let res = router
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {status}: {e}"))?;
    v["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{path}: {status}: {v}"))
}

/// Values a path parameter takes: real ones first, then the shapes that break naive parsers.
fn path_value(target: &Target, name: &str, pick: u8) -> String {
    let mut values: Vec<String> = target.known_ids.clone();
    values.extend(
        [
            "1",
            "0",
            "-1",
            "debit_card",
            "invoice",
            "deed_tax",
            "91411100MA4567890X",
            "410102198503120315",
            "1.2.156.3005.2.11100000000013338W011.11410100MB1234567W.ZZ7Q2M4K9T3B8N6R.001.2",
            "%E4%B8%AD%E6%96%87",
            "%00",
            "..",
            "a%2Fb",
            "99999999999999999999999999",
        ]
        .map(str::to_owned),
    );
    if name == "rest" {
        return "x".into();
    }
    values[usize::from(pick) % values.len()].clone()
}

impl Target {
    /// Fills the route's path parameters, then sends `body` (GET: as the query string).
    pub fn send(
        &self,
        route: &Route,
        caller: Caller,
        pick: u8,
        json: bool,
        body: &[u8],
    ) -> Option<Answer> {
        let mut path = String::new();
        for (i, seg) in route.path.split('/').enumerate() {
            if i > 0 {
                path.push('/');
            }
            match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let name = name.trim_start_matches('*');
                    path.push_str(&path_value(self, name, pick.wrapping_add(i as u8)));
                }
                None => path.push_str(seg),
            }
        }
        let method = Method::from_bytes(route.method.as_bytes()).ok()?;
        let (uri, body) = if method == Method::GET {
            let query = std::str::from_utf8(body).ok()?;
            (format!("{path}?{query}"), Vec::new())
        } else {
            (path, body.to_vec())
        };
        // A query the HTTP layer would not carry never reaches a node.
        uri.parse::<axum::http::Uri>().ok()?;
        let content_type = if route.path.contains("/uploads/") {
            Some(if json { "image/png" } else { "image/jpeg" })
        } else if json {
            Some("application/json")
        } else {
            None
        };
        Some(
            nodes()
                .runtime
                .block_on(self.call(method, &uri, caller, content_type, body)),
        )
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        caller: Caller,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = content_type {
            req = req.header(header::CONTENT_TYPE, t);
        }
        let token = match caller {
            Caller::Anonymous => None,
            Caller::Citizen => Some(&self.citizen),
            Caller::Staff => Some(&self.staff),
            Caller::Department => Some(&self.department),
        };
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let mut req = req
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("request: {e}"));
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = res.status();
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        Answer {
            status,
            content_type,
            body,
        }
    }
}
