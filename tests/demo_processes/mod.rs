//! The demo federation with every node a separate `server run` process on loopback, each with
//! its own SQLite file, for end-to-end tests that talk HTTP only. Configurations are written
//! fresh (`server demo --write-configs`) on free ports; a process is killed when dropped, and
//! the directory removed with the federation.
#![allow(dead_code)]

pub mod proxy;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::config::Settings;
use server::db::audit::ChainedEntry;
use server::demo::catalog::TypeSpec;
use server::demo::config::resident_password;
use server::demo::people::Person;
use server::demo::HENAN;
use wallet_core::DeviceKey;

/// One node process, killed when dropped.
struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Demo {
    dir: PathBuf,
    pub settings: BTreeMap<String, Settings>,
    procs: BTreeMap<String, Proc>,
    pub http: reqwest::Client,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.procs.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_base_port() -> u16 {
    // Six ports at base, base+410, +411, +412, +420, +421; try until all bind.
    for _ in 0..50 {
        let mut b = [0u8; 2];
        getrandom::getrandom(&mut b).unwrap();
        let base = 20_000 + u16::from_be_bytes(b) % 30_000;
        let dir = std::env::temp_dir().join(format!("ecert-port-probe-{base}"));
        let ok = server::demo::write_configs(&dir, base, None).is_ok_and(|configs| {
            configs
                .iter()
                .all(|(_, s)| std::net::TcpListener::bind(s.listen).is_ok())
        });
        let _ = std::fs::remove_dir_all(&dir);
        if ok {
            return base;
        }
    }
    panic!("no free base port");
}

impl Demo {
    pub fn write() -> Demo {
        let mut r = [0u8; 6];
        getrandom::getrandom(&mut r).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "ecert-e2e-{}-{}",
            std::process::id(),
            r.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        let base = free_base_port();
        let configs = server::demo::write_configs(&dir, base, None).unwrap();
        let settings = configs
            .into_iter()
            .map(|(_, s)| (s.region.to_string(), s))
            .collect();
        Demo {
            dir,
            settings,
            procs: BTreeMap::new(),
            http: reqwest::Client::new(),
        }
    }

    /// Writes the configurations and starts these nodes.
    pub async fn running(regions: &[&str]) -> Demo {
        let mut demo = Demo::write();
        for region in regions {
            demo.start(region).await;
        }
        demo
    }

    /// Starts a node's process and waits until it answers `/healthz`.
    pub async fn start(&mut self, region: &str) {
        // Appended to, so that a restarted node's log keeps what it wrote before it was killed.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{region}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["run", "--config"])
            .arg(self.dir.join(format!("{region}.toml")))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs.insert(region.to_owned(), Proc { child });
        let url = self.url(region);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(format!("{url}/healthz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{region} did not come up: {}",
                std::fs::read_to_string(self.dir.join(format!("{region}.log"))).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills a node's process (SIGKILL: nothing is flushed or finished on the way out).
    pub fn stop(&mut self, region: &str) {
        self.procs.remove(region);
    }

    /// The operating system's process id of a running node (for memory readings).
    pub fn pid(&self, region: &str) -> Option<u32> {
        self.procs.get(region).map(|p| p.child.id())
    }

    /// Puts a fault-injecting proxy in front of `target` for each of `callers`: their
    /// configuration files name the proxy as `target`'s URL. A node reads its configuration at
    /// start, so the callers must not be running yet.
    pub async fn proxy(&mut self, target: &str, callers: &[&str]) -> proxy::Proxy {
        let proxy = proxy::Proxy::start(self.settings[target].listen).await;
        let direct = format!("\"{}\"", self.url(target));
        for caller in callers {
            assert!(
                !self.procs.contains_key(*caller),
                "{caller} is running: route it through the proxy before starting it"
            );
            let path = self.dir.join(format!("{caller}.toml"));
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(&direct), "{caller} does not call {target}");
            let routed = text.replace(&direct, &format!("\"{}\"", proxy.url()));
            std::fs::write(&path, routed).unwrap();
            let settings = self.settings.get_mut(*caller).unwrap();
            for peer in &mut settings.peers {
                if peer.region.to_string() == target {
                    peer.url = proxy.url();
                }
            }
        }
        proxy
    }

    /// What a node's processes have written to stderr so far (their logs, at `warn`).
    pub fn log(&self, region: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{region}.log"))).unwrap_or_default()
    }

    pub fn url(&self, region: &str) -> String {
        format!("http://{}", self.settings[region].listen)
    }

    pub async fn send(
        &self,
        region: &str,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url(region)));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
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

    pub async fn get(&self, region: &str, path: &str, token: &str) -> (u16, Value) {
        self.send(region, reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// A demo resident logs in at Henan with the demo password and registers a device key.
    pub async fn wallet_user(&self, id: &str) -> (String, DeviceKey) {
        let password = resident_password(&self.settings[HENAN].node_key, id);
        self.wallet_login(id, &password).await
    }

    /// A resident logs in at Henan with a password and registers a fresh device key.
    pub async fn wallet_login(&self, id: &str, password: &str) -> (String, DeviceKey) {
        let (status, body) = self
            .post(
                HENAN,
                "/api/wallet/login",
                None,
                &json!({"resident_id": id, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        let key = DeviceKey::generate().unwrap();
        let (status, body) = self
            .post(
                HENAN,
                "/api/wallet/devices",
                Some(&token),
                &json!({"public_key": key.public_key().to_string()}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (token, key)
    }

    /// The department of `region` that issues `ty` issues one to `who`, valid from yesterday
    /// for three years, with `fields`; returns its id.
    pub async fn issue(&self, region: &str, ty: &TypeSpec, who: &Person, fields: Value) -> String {
        let settings = &self.settings[region];
        let type_code = ty.code().unwrap();
        let dept = settings
            .departments
            .iter()
            .find(|d| {
                settings
                    .cert_types
                    .iter()
                    .any(|t| t.code == type_code && t.department == d.credit_code)
            })
            .unwrap_or_else(|| panic!("no department of {region} issues {type_code}"));
        let (status, issued) = self
            .post(
                region,
                "/api/issuer/certificates",
                Some(dept.token.expose()),
                &json!({
                    "type_code": type_code,
                    "holder_kind": "person",
                    "holder_id": who.resident_id().unwrap().to_string(),
                    "holder_name": who.name,
                    "valid_from": now() - 86_400,
                    "valid_until": now() + 3 * 365 * 86_400,
                    "fields": fields,
                }),
            )
            .await;
        assert_eq!(status, 201, "{issued}");
        issued["id"].as_str().unwrap().to_owned()
    }

    /// A staff member of a node with the given role logs in.
    pub async fn staff(&self, region: &str, role: &str) -> String {
        let staff = self.settings[region]
            .staff
            .iter()
            .find(|s| s.role == role)
            .unwrap();
        let (status, body) = self
            .post(
                region,
                "/api/staff/login",
                None,
                &json!({"id": staff.id, "password": staff.password.expose()}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Polls the wallet's certificate list until `pick` finds one.
    pub async fn my_certificate(&self, token: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, list) = self.get(HENAN, "/api/wallet/certificates", token).await;
            assert_eq!(status, 200, "{list}");
            if let Some(found) = list.as_array().unwrap().iter().find(|c| pick(c)) {
                return found.clone();
            }
            assert!(Instant::now() < deadline, "not in the wallet: {list}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls the wallet's certificate list until it shows one of type `ty` held at `region`.
    pub async fn my_certificate_of(&self, token: &str, ty: &TypeSpec, region: &str) -> Value {
        let code = ty.code().unwrap();
        self.my_certificate(token, |c| {
            c["type_code"] == code.as_str() && c["held_at"] == region
        })
        .await
    }

    /// The node's own database, read beside the running process (WAL allows it).
    pub async fn db(&self, region: &str) -> server::db::Db {
        server::db::Db::connect(self.settings[region].database_url.expose())
            .await
            .unwrap()
    }

    /// The node's audit entries under one correlation id, after checking its whole chain.
    pub async fn audit(&self, region: &str, correlation: &str) -> Vec<ChainedEntry> {
        let db = self.db(region).await;
        assert!(db.verify_audit_chain().await.unwrap().is_ok(), "{region}");
        db.audit_by_correlation(correlation).await.unwrap()
    }

    /// A counter clerk opens a case of `matter`; returns its id.
    pub async fn open_case(&self, region: &str, clerk: &str, matter: &str) -> String {
        let (status, body) = self
            .post(
                region,
                "/api/counter/cases",
                Some(clerk),
                &json!({"matter": matter}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["case"]["id"].as_str().unwrap().to_owned()
    }

    /// The clerk scans a code shown for the case.
    pub async fn scan(&self, region: &str, clerk: &str, case: &str, text: &str) -> (u16, Value) {
        self.post(
            region,
            &format!("/api/counter/cases/{case}/retrievals"),
            Some(clerk),
            &json!({"text": text}),
        )
        .await
    }

    /// The applicant confirms a retrieved certificate: it is attached to the case.
    pub async fn confirm(&self, region: &str, clerk: &str, retrieval: &str) -> (u16, Value) {
        self.post(
            region,
            &format!("/api/counter/retrievals/{retrieval}/confirm"),
            Some(clerk),
            &json!({}),
        )
        .await
    }
}

/// The time now, in seconds since the epoch (the nodes run on the system clock).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Polls `check` (about every 200 ms, for at most 30 s) until it yields `Some`.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_within(what, Duration::from_secs(30), check).await
}

/// Polls `check` (about every 200 ms, for at most `limit`) until it yields `Some`.
pub async fn eventually_within<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
