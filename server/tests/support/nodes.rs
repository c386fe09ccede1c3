//! A small federation in one test process: one node per region, each with its own database
//! and its own port, every node listing every other in its registry (URL and public key).
//!
//! All listeners are bound (port 0) before any node starts, so each node's configuration can
//! name the others. A node can be stopped — its server drains its connections and shuts, its
//! delivery task ends — and started again on the same port and database, to play a tier that
//! is down for a while. All nodes share one clock, which runs with real time from `START` and
//! can be moved forward (`advance`) to let an hour pass at once.
//!
//! ```ignore
//! let fed = Federation::start(&["410000", "410100"], backend, |region, s| {
//!     if region == "410100" { add_toml(s, ZHENGZHOU_DEPARTMENTS) }
//! }).await;
//! fed.stop("410000").await;   // the province is down
//! fed.restart("410000").await; // and back, same port, same data
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::Value;
use server::config::Settings;
use server::db::Backend;
use server::state::{AppState, Clock};
use wallet_core::{NodeKey, SecretKey};

/// Where the shared clock starts (as in the single-node tests).
pub const START: i64 = 1_790_000_000;

/// Changes one node's settings before it starts: departments, catalog, staff, enterprises.
pub type Customise = dyn Fn(&str, &mut Settings) + Send + Sync;

/// The display name the harness gives a region's node.
pub fn node_name(region: &str) -> String {
    match region {
        "100000" => "国家电子证照系统".into(),
        "410000" => "河南省电子证照系统".into(),
        "410100" => "郑州市电子证照系统".into(),
        "411100" => "漯河市电子证照系统".into(),
        other => format!("{other} 电子证照系统"),
    }
}

/// Adds the departments, certificate types, staff, matters and enterprises written in `extra`
/// (TOML, as in a node's file) to `settings`, validated as a node file would be.
pub fn add_toml(settings: &mut Settings, extra: &str) {
    let text = format!(
        "region = \"{}\"\nlisten = \"127.0.0.1:0\"\ndatabase_url = \"sqlite::memory:\"\nmode = \"demo\"\nnode_key = \"{}\"\n{extra}",
        settings.region,
        B64.encode(*settings.node_key.to_bytes()),
    );
    let parsed = Settings::from_toml(&text, |_| None).expect("extra settings");
    settings.departments.extend(parsed.departments);
    settings.cert_types.extend(parsed.cert_types);
    settings.staff.extend(parsed.staff);
    settings.matters.extend(parsed.matters);
    settings.enterprises.extend(parsed.enterprises);
}

/// One node's storage, kept across restarts and removed with the federation.
struct Storage {
    url: String,
    pg_name: Option<String>,
    dir: Option<PathBuf>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            super::drop_pg_database_blocking(name);
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

struct Running {
    state: AppState,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

/// One node of the federation.
pub struct Node {
    pub region: String,
    /// `http://127.0.0.1:<port>`, the same across restarts.
    pub base: String,
    addr: SocketAddr,
    key_seed: String,
    storage: Storage,
    running: Option<Running>,
    /// A stopped node's port held by a listener that never answers (`hang`).
    tarpit: Option<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// The node's database, for a second process of the same node.
    pub fn database_url(&self) -> &str {
        &self.storage.url
    }

    /// The node's key (for tests that sign as this node).
    pub fn key(&self) -> NodeKey {
        SecretKey::from_bytes(&B64.decode(&self.key_seed).expect("seed")).expect("node key")
    }
}

/// The running federation.
pub struct Federation {
    pub backend: Backend,
    nodes: BTreeMap<String, Node>,
    customise: Arc<Customise>,
    offset: Arc<AtomicI64>,
    began: Instant,
    pub client: reqwest::Client,
}

impl Federation {
    /// Binds a port for every region, then starts every node with a fresh database of
    /// `backend` and a registry listing all the others.
    pub async fn start(
        regions: &[&str],
        backend: Backend,
        customise: impl Fn(&str, &mut Settings) + Send + Sync + 'static,
    ) -> Federation {
        let mut listeners = Vec::new();
        let mut nodes = BTreeMap::new();
        for region in regions {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("address");
            let key = SecretKey::generate().expect("node key");
            let storage = match backend {
                Backend::Sqlite => {
                    let dir = super::scratch_dir(&format!("fed{region}"));
                    Storage {
                        url: super::sqlite_url(&dir),
                        pg_name: None,
                        dir: Some(dir),
                    }
                }
                Backend::Postgres => {
                    let (name, url) = super::create_pg_database(&format!("fed{region}")).await;
                    Storage {
                        url,
                        pg_name: Some(name),
                        dir: None,
                    }
                }
            };
            nodes.insert(
                region.to_string(),
                Node {
                    region: region.to_string(),
                    base: format!("http://{addr}"),
                    addr,
                    key_seed: B64.encode(*key.to_bytes()),
                    storage,
                    running: None,
                    tarpit: None,
                },
            );
            listeners.push((region.to_string(), listener));
        }
        let mut fed = Federation {
            backend,
            nodes,
            customise: Arc::new(customise),
            offset: Arc::new(AtomicI64::new(0)),
            began: Instant::now(),
            client: reqwest::Client::new(),
        };
        for (region, listener) in listeners {
            fed.launch(&region, listener).await;
        }
        fed
    }

    fn clock(&self) -> Clock {
        let offset = self.offset.clone();
        let began = self.began;
        Clock::from_fn(move || {
            START + offset.load(Ordering::SeqCst) + began.elapsed().as_secs() as i64
        })
    }

    /// The federation's time now.
    pub fn now(&self) -> i64 {
        START + self.offset.load(Ordering::SeqCst) + self.began.elapsed().as_secs() as i64
    }

    /// Moves every node's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }

    fn settings(&self, region: &str) -> Settings {
        let node = &self.nodes[region];
        let mut text = format!(
            "region = \"{region}\"\nname = \"{}\"\nlisten = \"{}\"\ndatabase_url = \"{}\"\nmode = \"demo\"\nnode_key = \"{}\"\n",
            node_name(region),
            node.addr,
            node.storage.url,
            node.key_seed,
        );
        for other in self.nodes.values().filter(|n| n.region != region) {
            text.push_str(&format!(
                "\n[[peers]]\nregion = \"{}\"\nname = \"{}\"\nurl = \"{}\"\nkeys = [{{ public_key = \"{}\" }}]\n",
                other.region,
                node_name(&other.region),
                other.base,
                other.key().public_key(),
            ));
        }
        let mut settings = Settings::from_toml(&text, |_| None).expect("node settings");
        (self.customise)(region, &mut settings);
        settings
    }

    async fn launch(&mut self, region: &str, listener: tokio::net::TcpListener) {
        let settings = self.settings(region);
        let state = server::start(settings, self.clock())
            .await
            .expect("node start");
        let app = server::routes::router(state.clone(), None)
            .into_make_service_with_connect_info::<SocketAddr>();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
        });
        let node = self.nodes.get_mut(region).expect("region");
        node.running = Some(Running {
            state,
            shutdown,
            server,
        });
    }

    pub fn node(&self, region: &str) -> &Node {
        &self.nodes[region]
    }

    /// The base URL of a region's node.
    pub fn url(&self, region: &str) -> &str {
        &self.nodes[region].base
    }

    /// The state of a running node.
    pub fn state(&self, region: &str) -> &AppState {
        &self.nodes[region]
            .running
            .as_ref()
            .expect("the node is running")
            .state
    }

    /// Stops a node: no new connections, open ones drained and closed, its delivery task ended
    /// and its database pool closed. Its port and data stay reserved for `restart`.
    pub async fn stop(&mut self, region: &str) {
        let node = self.nodes.get_mut(region).expect("region");
        let running = node.running.take().expect("the node is running");
        let _ = running.shutdown.send(());
        running.server.await.expect("server task");
        // Nothing else may hold the node: its last state ends the delivery task. A delivery
        // round in flight holds it until the round ends, so wait for that, boundedly.
        let until = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&running.state.outbox) > 1 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            Arc::strong_count(&running.state.outbox),
            1,
            "{region}: something still holds the stopped node's state"
        );
        let db = running.state.db.clone();
        drop(running.state);
        db.pool.close().await;
    }

    /// Makes a node hang: stopped, its port taken by a listener that accepts connections and
    /// reads nothing back — a tier that is up on the network but never answers.
    pub async fn hang(&mut self, region: &str) {
        self.stop(region).await;
        let addr = self.nodes[region].addr;
        let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
        let tarpit = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        self.nodes.get_mut(region).expect("region").tarpit = Some(tarpit);
    }

    /// Starts a stopped (or hanging) node again on the same port and database.
    pub async fn restart(&mut self, region: &str) {
        if let Some(tarpit) = self.nodes.get_mut(region).and_then(|n| n.tarpit.take()) {
            tarpit.abort();
            let _ = tarpit.await;
        }
        let addr = self.nodes[region].addr;
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("rebind {addr}: {e}"),
            }
        };
        self.launch(region, listener).await;
    }

    /// Sends a request to a region's node; returns the status and the JSON body (or null).
    pub async fn send(
        &self,
        region: &str,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.url(region)));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(
        &self,
        region: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        self.send(region, reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn get(&self, region: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(region, reqwest::Method::GET, path, token, None)
            .await
    }

    /// The actors and results of a node's audit entries with this action, oldest first.
    pub async fn audited(&self, region: &str, action: &str) -> Vec<(String, String)> {
        self.state(region)
            .db
            .audit_entries(0, 10_000)
            .await
            .expect("audit entries")
            .into_iter()
            .filter(|c| c.entry.action == action)
            .map(|c| (c.entry.actor, c.entry.result))
            .collect()
    }
}

/// Runs an async test body, given the backend, once on SQLite and once on PostgreSQL (as
/// `$name::on_sqlite` and `$name::on_postgres`), on runtimes with threads for several nodes.
#[macro_export]
macro_rules! federation_on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_sqlite() {
                ($body)(server::db::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_postgres() {
                ($body)(server::db::Backend::Postgres).await
            }
        }
    };
}

/// Polls `check` until it yields `Some`, for at most `within`; panics naming `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() >= until {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
