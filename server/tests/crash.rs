//! Crash safety: the node runs as a real process, is killed with SIGKILL in the middle of a
//! stream of certificate issues, grant creations, revocations and counter retrievals, and is
//! restarted on the same configuration. Every write the node acknowledged (a complete reply
//! reached the client) must still be there, every stored change must have its audit entry, and
//! the audit hash chain must verify. No retrieval may succeed for a grant whose revocation was
//! acknowledged before the scan was sent (timed at the client), and every code whose scan was
//! answered stays spent: scanned again after the restart it is refused as a replay. Five
//! kill–restart rounds per backend, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use server::db::audit::hex_sha256;
use server::db::{Backend, Db};
use sqlx::Row;
use wallet_core::grant::GrantTerms;
use wallet_core::{
    CertId, CreditCode, DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode,
    ResidentId, Subject,
};

const TOKEN: &str = "zhengzhou-amr-test-token-0001";
const CLERK_PASSWORD: &str = "clerk-password-1";
const PHONE: &str = "13800138000";
const GRANTEE_PHONE: &str = "13900139000";
const PASSWORD: &str = "correct horse battery";
const CRANE_MATTER: &str = "411100-JS-0042";
const CRANE_TYPE: &str = "11100000000013338W011";

/// Kill–restart rounds per backend.
const ROUNDS: usize = 5;
/// Concurrent writers of each kind during a round.
const GRANT_WRITERS: usize = 1;
const RETRIEVERS: usize = 3;
const ISSUERS: usize = 1;
/// Writers that race a revocation against a scan of the same grant.
const RACERS: usize = 2;
/// The kill comes after this many acknowledged writes in the round, plus up to as many again
/// (random), so the crash point moves from run to run.
const MIN_ACKED_BEFORE_KILL: usize = 30;

fn amr() -> String {
    CreditCode::with_check_char("11410100MB1234567")
        .unwrap()
        .to_string()
}

fn person() -> String {
    ResidentId::with_check_digit("41010219850312003")
        .unwrap()
        .to_string()
}

fn grantee() -> String {
    ResidentId::with_check_digit("41110219900101002")
        .unwrap()
        .to_string()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).unwrap();
    b
}

/// A port nobody listens on right now (the node has no "port 0, then report" mode).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The test's own directory (config, log, SQLite file) and database; removed or dropped at the
/// end, best effort.
struct Storage {
    dir: PathBuf,
    url: String,
    pg_name: Option<String>,
}

impl Storage {
    async fn new(backend: Backend) -> Storage {
        let dir = support::scratch_dir("ecert_crash");
        match backend {
            Backend::Sqlite => Storage {
                url: support::sqlite_url(&dir),
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let (name, url) = support::create_pg_database("ecert_crash").await;
                Storage {
                    url,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            support::drop_pg_database_blocking(name);
        }
    }
}

/// The node's configuration file. The node key stays the same across restarts (access tokens
/// are signed with it); only the port may change, when another process took it meanwhile.
struct NodeConfig {
    path: PathBuf,
    url: String,
    node_key: String,
    port: u16,
}

impl NodeConfig {
    fn new(storage: &Storage) -> NodeConfig {
        NodeConfig {
            path: storage.dir.join("node.toml"),
            url: storage.url.clone(),
            node_key: B64.encode(random_bytes::<32>()),
            port: free_port(),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn write(&self) {
        std::fs::write(&self.path, config(&self.url, self.port, &self.node_key)).unwrap();
    }
}

fn config(url: &str, port: u16, node_key: &str) -> String {
    format!(
        r#"
region = "410100"
name = "郑州市电子证照系统"
listen = "127.0.0.1:{port}"
database_url = "{url}"
mode = "demo"
node_key = "{node_key}"

[[departments]]
credit_code = "{amr}"
name = "郑州市市场监督管理局"
token = "{TOKEN}"

[[cert_types]]
code = "{CRANE_TYPE}"
name = "特种设备作业人员证"
department = "{amr}"
holder_kind = "person"
fields = [
  {{ name = "作业项目", required = true }},
  {{ name = "证书编号", required = true }},
  {{ name = "住址" }},
]

[[staff]]
id = "lh-clerk-01"
name = "王窗口"
role = "clerk"
department = "{amr}"
counter = "市民之家 3号窗口"
password = "{CLERK_PASSWORD}"

[[matters]]
code = "{CRANE_MATTER}"
name = "建筑起重机械设备使用登记"
department = "{amr}"
materials = [
  {{ name = "建筑起重机械设备使用登记表" }},
  {{ name = "特种设备作业人员证", cert_type = "{CRANE_TYPE}", fields = ["作业项目", "证书编号"] }},
]
"#,
        amr = amr(),
    )
}

/// One running `server run --config FILE` process; killed if the test ends early.
struct Node {
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// Starts the binary on `config` and waits until `/healthz` answers. Should the port have
    /// been taken since it was chosen, tries again on another.
    async fn start(storage: &Storage, config: &mut NodeConfig) -> Node {
        let mut attempt = 1;
        loop {
            config.write();
            let log_before = std::fs::metadata(storage.log_path()).map_or(0, |m| m.len());
            match Node::try_start(storage, &config.path, &config.base()).await {
                Ok(node) => return node,
                Err(status) => {
                    let log = std::fs::read(storage.log_path()).unwrap_or_default();
                    let new =
                        String::from_utf8_lossy(log.get(log_before as usize..).unwrap_or(&[]));
                    assert!(
                        new.contains("listen on") && attempt < 3,
                        "the node exited during start-up ({status}):\n{}",
                        storage.log_tail()
                    );
                    config.port = free_port();
                    attempt += 1;
                }
            }
        }
    }

    async fn try_start(
        storage: &Storage,
        config: &Path,
        base: &str,
    ) -> Result<Node, std::process::ExitStatus> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(storage.log_path())
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
        cmd.arg("run")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .env("RUST_LOG", "warn");
        for var in [
            "NODE_REGION",
            "NODE_NAME",
            "NODE_LISTEN",
            "NODE_DATABASE_URL",
            "NODE_MODE",
            "NODE_KEY",
        ] {
            cmd.env_remove(var);
        }
        let mut node = Node {
            child: cmd.spawn().unwrap(),
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = node.child.try_wait().unwrap() {
                return Err(status);
            }
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
                if r.status() == 200 {
                    return Ok(node);
                }
            }
            assert!(
                Instant::now() < deadline,
                "the node did not answer /healthz within 30 s:\n{}",
                storage.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no graceful shutdown, no flushing of anything the node did not flush itself.
    /// `signalled` runs as soon as the signal is sent, before the process is reaped.
    fn kill(mut self, signalled: impl FnOnce()) {
        self.child.kill().unwrap();
        signalled();
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL, got {status}");
    }
}

/// Who writes, set up once before the first kill; their sessions must outlive the kills.
struct People {
    holder_token: String,
    holder_key: Arc<DeviceKey>,
    grantee_key: Arc<DeviceKey>,
    clerk_token: String,
    cert_id: CertId,
}

/// Every write the node acknowledged, across all rounds.
#[derive(Default, Debug, Clone)]
struct Ledger {
    certificates: Vec<String>,
    grants: Vec<String>,
    cases: Vec<String>,
    /// (retrieval id, grant id, case id)
    retrievals: Vec<(String, String, String)>,
    /// Acknowledged revocations: (grant id, when the reply arrived).
    revocations: Vec<(String, Instant)>,
    /// Acknowledged retrievals of grants raced by a revocation: (retrieval id, grant id, when
    /// the scan was sent).
    raced: Vec<(String, String, Instant)>,
    /// Scans of raced grants refused because the revocation came first: (grant id, when the
    /// scan was sent).
    refused_as_revoked: Vec<(String, Instant)>,
    /// Every code whose scan was answered (served or refused), with its grant: its nonce is
    /// spent. `raced` marks a grant without use limit, whose code a second scan refuses as a
    /// replay (or as revoked) rather than for the spent limit.
    codes: Vec<Code>,
    /// Requests that got no complete reply (in flight at the kill, or sent to a dead node).
    unacknowledged: usize,
    /// Complete replies other than the expected success: must not happen.
    unexpected: Vec<String>,
}

/// A code whose scan the node answered.
#[derive(Debug, Clone)]
struct Code {
    text: String,
    grant: String,
    raced: bool,
}

/// What the writers share during one round.
struct Stream {
    base: String,
    client: reqwest::Client,
    holder_token: String,
    holder_key: Arc<DeviceKey>,
    grantee_key: Arc<DeviceKey>,
    clerk_token: String,
    cert_id: CertId,
    ledger: Arc<Mutex<Ledger>>,
    acked: AtomicUsize,
    in_flight: AtomicUsize,
    stop: AtomicBool,
}

impl Stream {
    fn new(base: &str, people: &People, ledger: &Arc<Mutex<Ledger>>) -> Stream {
        Stream {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap(),
            holder_token: people.holder_token.clone(),
            holder_key: people.holder_key.clone(),
            grantee_key: people.grantee_key.clone(),
            clerk_token: people.clerk_token.clone(),
            cert_id: people.cert_id.clone(),
            ledger: ledger.clone(),
            acked: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        }
    }

    /// One POST; `Ok` only with a complete reply whose body parsed.
    async fn post(&self, path: &str, token: &str, body: &Value) -> Result<(u16, Value), String> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let result = async {
            let r = self
                .client
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let text = r.text().await.map_err(|e| e.to_string())?;
            let value: Value = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| e.to_string())?
            };
            Ok((status, value))
        }
        .await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Sorts one reply: acknowledged (returns the body), unacknowledged, or unexpected.
    async fn write(&self, what: &str, path: &str, token: &str, body: &Value) -> Option<Value> {
        match self.post(path, token, body).await {
            Ok((201, v)) => Some(v),
            Ok((status, v)) => {
                self.ledger
                    .lock()
                    .unwrap()
                    .unexpected
                    .push(format!("{what}: {status} {v}"));
                None
            }
            Err(_) => {
                self.ledger.lock().unwrap().unacknowledged += 1;
                None
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn acknowledge(&self, f: impl FnOnce(&mut Ledger)) {
        f(&mut self.ledger.lock().unwrap());
        self.acked.fetch_add(1, Ordering::SeqCst);
    }

    fn signed_grant(&self, matters: MatterScope, use_limit: Option<u32>) -> (String, Value) {
        let t = now();
        let terms = GrantTerms {
            id: GrantId::generate().unwrap(),
            cert_id: self.cert_id.clone(),
            holder: Holder::Person(person().parse().unwrap()),
            grantee: Grantee {
                resident_id: grantee().parse().unwrap(),
                name: "李四".into(),
                enterprise: None,
            },
            matters,
            not_before: t - 60,
            not_after: t + 3600,
            use_limit,
        };
        let id = terms.id.to_string();
        let grant = terms.sign(&self.holder_key).unwrap();
        (id, json!({"grant": String::from(grant)}))
    }

    /// Stores a grant; its id when acknowledged.
    async fn create_grant(&self, matters: MatterScope, use_limit: Option<u32>) -> Option<String> {
        let (id, body) = self.signed_grant(matters, use_limit);
        let reply = self
            .write("grant", "/api/wallet/grants", &self.holder_token, &body)
            .await?;
        assert_eq!(reply["id"], id.as_str(), "the stored grant is the one sent");
        self.acknowledge(|l| l.grants.push(id.clone()));
        Some(id)
    }

    async fn open_case(&self) -> Option<String> {
        let reply = self
            .write(
                "case",
                "/api/counter/cases",
                &self.clerk_token,
                &json!({"matter": CRANE_MATTER}),
            )
            .await?;
        let id = reply["case"]["id"].as_str().unwrap().to_owned();
        self.acknowledge(|l| l.cases.push(id.clone()));
        Some(id)
    }

    /// The grantee shows a fresh code for the grant; the clerk scans it for the case.
    fn code(&self, grant: &str) -> String {
        Presentation::sign(
            &self.grantee_key,
            RegionCode::new(410100).unwrap(),
            Subject::Grant(grant.parse().unwrap()),
            now(),
            120,
        )
        .unwrap()
        .encode_text()
    }

    async fn retrieve(&self, case: &str, grant: &str) -> Option<String> {
        let text = self.code(grant);
        let reply = self
            .write(
                "retrieval",
                &format!("/api/counter/cases/{case}/retrievals"),
                &self.clerk_token,
                &json!({"text": text}),
            )
            .await?;
        let id = reply["retrieval_id"].as_str().unwrap().to_owned();
        assert_eq!(reply["grant_id"], grant);
        self.acknowledge(|l| {
            l.retrievals
                .push((id.clone(), grant.to_owned(), case.to_owned()));
            l.codes.push(Code {
                text,
                grant: grant.to_owned(),
                raced: false,
            });
        });
        Some(id)
    }

    /// The holder revokes a grant; `true` when the node acknowledged it.
    async fn revoke(&self, grant: &str) -> bool {
        let path = format!("/api/wallet/grants/{grant}/revoke");
        match self.post(&path, &self.holder_token, &json!({})).await {
            Ok((204, _)) => {
                let at = Instant::now();
                self.acknowledge(|l| l.revocations.push((grant.to_owned(), at)));
                true
            }
            Ok((status, v)) => {
                self.ledger
                    .lock()
                    .unwrap()
                    .unexpected
                    .push(format!("revocation: {status} {v}"));
                false
            }
            Err(_) => {
                self.ledger.lock().unwrap().unacknowledged += 1;
                false
            }
        }
    }

    /// A scan of a grant that may be revoked meanwhile: served, or refused because the
    /// revocation came first (`grant_revoked` when the check saw it, `grant_use_limit_reached`
    /// when it committed between the check and the retrieval's own commit).
    async fn raced_retrieve(&self, case: &str, grant: &str) {
        let text = self.code(grant);
        let path = format!("/api/counter/cases/{case}/retrievals");
        let sent = Instant::now();
        let code = Code {
            text: text.clone(),
            grant: grant.to_owned(),
            raced: true,
        };
        match self
            .post(&path, &self.clerk_token, &json!({"text": text}))
            .await
        {
            Ok((201, reply)) => {
                let id = reply["retrieval_id"].as_str().unwrap().to_owned();
                assert_eq!(reply["grant_id"], grant);
                self.acknowledge(|l| {
                    l.retrievals
                        .push((id.clone(), grant.to_owned(), case.to_owned()));
                    l.raced.push((id, grant.to_owned(), sent));
                    l.codes.push(code);
                });
            }
            Ok((400, reply))
                if reply["code"] == "grant_revoked"
                    || reply["code"] == "grant_use_limit_reached" =>
            {
                self.acknowledge(|l| {
                    l.refused_as_revoked.push((grant.to_owned(), sent));
                    l.codes.push(code);
                });
            }
            Ok((status, v)) => {
                self.ledger
                    .lock()
                    .unwrap()
                    .unexpected
                    .push(format!("raced retrieval: {status} {v}"));
            }
            Err(_) => {
                self.ledger.lock().unwrap().unacknowledged += 1;
            }
        }
    }

    async fn issue(&self) -> Option<String> {
        let reply = self
            .write("issue", "/api/issuer/certificates", TOKEN, &crane_request())
            .await?;
        let id = reply["id"].as_str().unwrap().to_owned();
        self.acknowledge(|l| l.certificates.push(id.clone()));
        Some(id)
    }
}

fn crane_request() -> Value {
    let t = now();
    json!({
        "type_code": CRANE_TYPE,
        "holder_kind": "person",
        "holder_id": person(),
        "holder_name": "张三",
        "valid_from": t - 86400,
        "valid_until": t + 4 * 365 * 86400,
        "fields": {"作业项目": "起重机指挥 Q1", "证书编号": "TS410100123456", "住址": "郑州市金水区某路1号"}
    })
}

async fn grant_writer(s: Arc<Stream>) {
    let mut i = 0u32;
    while !s.stopped() {
        let (matters, limit) = if i % 2 == 0 {
            (MatterScope::Named(vec![CRANE_MATTER.into()]), Some(3))
        } else {
            (MatterScope::All, None)
        };
        s.create_grant(matters, limit).await;
        i += 1;
    }
}

async fn retriever(s: Arc<Stream>) {
    while !s.stopped() {
        let Some(case) = s.open_case().await else {
            continue;
        };
        let mut scans = 0;
        // A few applicants per case, each with a grant of their own.
        while scans < 3 && !s.stopped() {
            let Some(grant) = s.create_grant(MatterScope::All, Some(1)).await else {
                break;
            };
            if s.stopped() {
                break;
            }
            if s.retrieve(&case, &grant).await.is_none() {
                break;
            }
            scans += 1;
        }
    }
}

/// Grants without use limit, each scanned once: a third revoked before the scan is sent (it
/// must be refused), a third revoked while the scan is under way (a few milliseconds of random
/// delay on each side decide who is first), a third not revoked (after the restart its code
/// must be refused as a replay).
async fn revocation_racer(s: Arc<Stream>) {
    while !s.stopped() {
        let Some(case) = s.open_case().await else {
            continue;
        };
        let mut scans = 0;
        while scans < 6 && !s.stopped() {
            let Some(grant) = s.create_grant(MatterScope::All, None).await else {
                break;
            };
            let [a, b, c] = random_bytes::<3>();
            match c % 3 {
                0 => {
                    if s.revoke(&grant).await {
                        s.raced_retrieve(&case, &grant).await;
                    }
                }
                1 => {
                    let revoke = async {
                        tokio::time::sleep(Duration::from_micros(u64::from(a) * 40)).await;
                        s.revoke(&grant).await;
                    };
                    let scan = async {
                        tokio::time::sleep(Duration::from_micros(u64::from(b) * 40)).await;
                        s.raced_retrieve(&case, &grant).await;
                    };
                    tokio::join!(revoke, scan);
                }
                _ => s.raced_retrieve(&case, &grant).await,
            }
            scans += 1;
        }
    }
}

async fn issuer(s: Arc<Stream>) {
    while !s.stopped() {
        s.issue().await;
    }
}

/// Plain requests of the set-up and checking phases, which must all succeed.
struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
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

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    async fn citizen_with_device(&self, id: &str, name: &str, phone: &str) -> (String, DeviceKey) {
        let (status, body) = self
            .post(
                "/api/wallet/otp",
                None,
                &json!({"phone": phone, "purpose": "register"}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let code = body["demo_code"].as_str().unwrap();
        let req = json!({"resident_id": id, "name": name, "phone": phone, "code": code, "password": PASSWORD});
        let (status, body) = self.post("/api/wallet/register", None, &req).await;
        assert_eq!(status, 201, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        let key = DeviceKey::generate().unwrap();
        let (status, body) = self
            .post(
                "/api/wallet/devices",
                Some(&token),
                &json!({"public_key": key.public_key().to_string()}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (token, key)
    }

    async fn audit_intact(&self) -> i64 {
        let (status, report) = self.get("/api/audit/verify", None).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(
            report["intact"], true,
            "audit chain after restart: {report}"
        );
        report["entries"].as_i64().unwrap()
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .try_get(0)
        .unwrap()
}

async fn ids(db: &Db, sql: &str) -> BTreeSet<String> {
    sqlx::query(sql)
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

fn missing<'a>(
    acked: impl IntoIterator<Item = &'a String>,
    stored: &BTreeSet<String>,
) -> Vec<&'a String> {
    acked
        .into_iter()
        .filter(|id| !stored.contains(*id))
        .collect()
}

/// Everything acknowledged so far is stored, over the API and in the tables, and nothing is
/// stored without its audit entry.
async fn check_after_restart(label: &str, api: &Api, url: &str, holder_token: &str, l: &Ledger) {
    let entries = api.audit_intact().await;

    // Over the API, with the session opened before the kills.
    let (status, grants) = api.get("/api/wallet/grants", Some(holder_token)).await;
    assert_eq!(status, 200, "the holder's session survives: {grants}");
    let given: BTreeSet<String> = grants["given"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    let lost = missing(&l.grants, &given);
    assert!(lost.is_empty(), "acknowledged grants lost: {lost:?}");
    let (status, certs) = api
        .get("/api/wallet/certificates", Some(holder_token))
        .await;
    assert_eq!(status, 200, "{certs}");
    let held: BTreeSet<String> = certs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let lost = missing(&l.certificates, &held);
    assert!(lost.is_empty(), "acknowledged certificates lost: {lost:?}");
    let (status, usage) = api.get("/api/wallet/usage", Some(holder_token)).await;
    assert_eq!(status, 200, "{usage}");
    let used: BTreeSet<String> = usage
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["grant_id"].as_str().map(str::to_owned))
        .collect();
    let lost = missing(l.retrievals.iter().map(|(_, g, _)| g), &used);
    assert!(
        lost.is_empty(),
        "retrievals missing from 用证记录 (by grant): {lost:?}"
    );

    // In the tables.
    let db = Db::connect(url).await.unwrap();
    let stored = ids(&db, "SELECT id FROM retrievals").await;
    let lost = missing(l.retrievals.iter().map(|(r, _, _)| r), &stored);
    assert!(lost.is_empty(), "acknowledged retrievals lost: {lost:?}");
    let in_doubt_retrievals = stored.len() - l.retrievals.len();
    let stored = ids(&db, "SELECT id FROM cases").await;
    let lost = missing(&l.cases, &stored);
    assert!(lost.is_empty(), "acknowledged cases lost: {lost:?}");
    let stored = ids(&db, "SELECT id FROM grants").await;
    let lost = missing(&l.grants, &stored);
    assert!(
        lost.is_empty(),
        "acknowledged grants lost (table): {lost:?}"
    );
    let in_doubt_grants = stored.len() - l.grants.len();
    let stored = ids(&db, "SELECT id FROM certificates").await;
    let in_doubt_certificates = stored.len() - l.certificates.len();
    // Committed just before the kill, reply never delivered: allowed, and audited like the rest.
    eprintln!(
        "{label}: in all, stored without acknowledgement: {in_doubt_certificates} certificates, \
         {in_doubt_grants} grants, {in_doubt_retrievals} retrievals"
    );

    // Nothing half-done: each change committed with its audit entry, and only with it.
    let retrievals = count(&db, "SELECT COUNT(*) FROM retrievals").await;
    let audited = count(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'retrieval' AND result = 'ok'",
    )
    .await;
    assert_eq!(
        retrievals, audited,
        "retrieval rows vs. their audit entries"
    );
    let unaudited = count(
        &db,
        "SELECT COUNT(*) FROM retrievals r WHERE NOT EXISTS (SELECT 1 FROM audit_log a
           WHERE a.correlation_id = r.correlation_id AND a.action = 'retrieval' AND a.result = 'ok')",
    )
    .await;
    assert_eq!(unaudited, 0, "retrievals without their audit entry");
    let grants = count(&db, "SELECT COUNT(*) FROM grants").await;
    let audited = count(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'grant' AND result = 'ok'",
    )
    .await;
    assert_eq!(grants, audited, "grant rows vs. their audit entries");
    let unaudited = count(
        &db,
        "SELECT COUNT(*) FROM grants g WHERE NOT EXISTS (SELECT 1 FROM audit_log a
           WHERE a.subject = g.id AND a.action = 'grant')",
    )
    .await;
    assert_eq!(unaudited, 0, "grants without their audit entry");
    let certs = count(&db, "SELECT COUNT(*) FROM certificates").await;
    let audited = count(&db, "SELECT COUNT(*) FROM audit_log WHERE action = 'issue'").await;
    assert_eq!(certs, audited, "certificate rows vs. their audit entries");
    let unaudited = count(
        &db,
        "SELECT COUNT(*) FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM audit_log a
           WHERE a.subject = c.id AND a.action = 'issue')",
    )
    .await;
    assert_eq!(unaudited, 0, "certificates without their audit entry");
    // A grant's use count moved together with its retrieval.
    let off = count(
        &db,
        "SELECT COUNT(*) FROM grants g
         WHERE g.uses <> (SELECT COUNT(*) FROM retrievals r WHERE r.grant_id = g.id)",
    )
    .await;
    assert_eq!(
        off, 0,
        "grants whose use count disagrees with their retrievals"
    );
    // Revocations: every acknowledged one is stored, each with its audit entry.
    let revoked = ids(&db, "SELECT id FROM grants WHERE revoked_at IS NOT NULL").await;
    let lost = missing(l.revocations.iter().map(|(g, _)| g), &revoked);
    assert!(lost.is_empty(), "acknowledged revocations lost: {lost:?}");
    let audited = count(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'revoke_grant'",
    )
    .await;
    assert_eq!(
        revoked.len() as i64,
        audited,
        "revoked grants vs. their audit entries"
    );
    let unaudited = count(
        &db,
        "SELECT COUNT(*) FROM grants g WHERE g.revoked_at IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM audit_log a WHERE a.subject = g.id AND a.action = 'revoke_grant')",
    )
    .await;
    assert_eq!(unaudited, 0, "revocations without their audit entry");

    // Every code whose scan was answered, served or refused, has its nonce spent.
    let spent = ids(&db, "SELECT nonce FROM nonces").await;
    let unspent: Vec<&str> = l
        .codes
        .iter()
        .filter(|c| !spent.contains(&nonce_of(&c.text)))
        .map(|c| c.grant.as_str())
        .collect();
    assert!(
        unspent.is_empty(),
        "answered codes whose nonce is no longer spent (by grant): {unspent:?}"
    );

    // Every entry of the log is in the chain the node verified.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, entries);
    db.pool.close().await;
}

/// The hash under which the node stores a code's nonce.
fn nonce_of(text: &str) -> String {
    hex_sha256(&Presentation::decode_text(text).unwrap().nonce)
}

/// No retrieval was served for a grant whose revocation had been acknowledged before the scan
/// was sent; returns how many scans were sent after their grant's acknowledged revocation
/// (all refused), to show the race reached that side.
fn no_retrieval_after_its_revocation(label: &str, l: &Ledger) -> usize {
    let revoked_at = |grant: &str| {
        l.revocations
            .iter()
            .find(|(g, _)| g == grant)
            .map(|(_, at)| *at)
    };
    for (retrieval, grant, sent) in &l.raced {
        if let Some(revoked) = revoked_at(grant) {
            assert!(
                *sent < revoked,
                "{label}: retrieval {retrieval} of grant {grant} was served though the grant's \
                 revocation had been acknowledged {:?} before the scan was sent",
                sent.duration_since(revoked)
            );
        }
    }
    l.refused_as_revoked
        .iter()
        .filter(|(grant, sent)| revoked_at(grant).is_some_and(|r| r < *sent))
        .count()
}

/// After the restart, the raced codes answered in this round are scanned again: each is
/// refused — as revoked if its grant is revoked, else as a replay, its nonce spent before the
/// kill. Returns how many were scanned again.
async fn answered_codes_stay_spent(
    label: &str,
    api: &Api,
    url: &str,
    clerk_token: &str,
    codes: &[Code],
) -> usize {
    let db = Db::connect(url).await.unwrap();
    let revoked = ids(&db, "SELECT id FROM grants WHERE revoked_at IS NOT NULL").await;
    db.pool.close().await;
    let (status, opened) = api
        .post(
            "/api/counter/cases",
            Some(clerk_token),
            &json!({"matter": CRANE_MATTER}),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    let case = opened["case"]["id"].as_str().unwrap();
    let mut scanned = 0;
    for c in codes.iter().filter(|c| c.raced) {
        // A code past its expiry is refused for that before its nonce is looked at.
        if Presentation::decode_text(&c.text).unwrap().expires_at <= now() + 5 {
            continue;
        }
        let (status, refused) = api
            .post(
                &format!("/api/counter/cases/{case}/retrievals"),
                Some(clerk_token),
                &json!({"text": c.text}),
            )
            .await;
        let expected = if revoked.contains(&c.grant) {
            "grant_revoked"
        } else {
            "presentation_replayed"
        };
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some(expected)),
            "{label}: a code of grant {} scanned again after the restart: {refused}",
            c.grant
        );
        scanned += 1;
    }
    scanned
}

async fn acknowledged_writes_survive_kills(backend: Backend) {
    let started = Instant::now();
    let storage = Storage::new(backend).await;
    let mut config = NodeConfig::new(&storage);
    let mut node = Node::start(&storage, &mut config).await;
    let mut base = config.base();

    // Set-up: the registry knows both people; a certificate, two phones, a clerk.
    let db = Db::connect(&storage.url).await.unwrap();
    db.upsert_resident(&person(), "张三").await.unwrap();
    db.upsert_resident(&grantee(), "李四").await.unwrap();
    db.pool.close().await;
    let api = Api::new(&base);
    let (status, cert) = api
        .post("/api/issuer/certificates", Some(TOKEN), &crane_request())
        .await;
    assert_eq!(status, 201, "{cert}");
    let cert_id: CertId = cert["id"].as_str().unwrap().parse().unwrap();
    let (holder_token, holder_key) = api.citizen_with_device(&person(), "张三", PHONE).await;
    let (_, grantee_key) = api
        .citizen_with_device(&grantee(), "李四", GRANTEE_PHONE)
        .await;
    let (status, clerk) = api
        .post(
            "/api/staff/login",
            None,
            &json!({"id": "lh-clerk-01", "password": CLERK_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{clerk}");
    let people = People {
        holder_token,
        holder_key: Arc::new(holder_key),
        grantee_key: Arc::new(grantee_key),
        clerk_token: clerk["access_token"].as_str().unwrap().to_owned(),
        cert_id: cert_id.clone(),
    };
    let ledger = Arc::new(Mutex::new(Ledger {
        certificates: vec![cert_id.to_string()],
        ..Ledger::default()
    }));

    for round in 1..=ROUNDS {
        let codes_before = ledger.lock().unwrap().codes.len();
        let stream = Arc::new(Stream::new(&base, &people, &ledger));
        let mut writers = Vec::new();
        for _ in 0..GRANT_WRITERS {
            writers.push(tokio::spawn(grant_writer(stream.clone())));
        }
        for _ in 0..RETRIEVERS {
            writers.push(tokio::spawn(retriever(stream.clone())));
        }
        for _ in 0..ISSUERS {
            writers.push(tokio::spawn(issuer(stream.clone())));
        }
        for _ in 0..RACERS {
            writers.push(tokio::spawn(revocation_racer(stream.clone())));
        }

        // Kill once enough writes are acknowledged, at a moment when requests are in flight.
        let target =
            MIN_ACKED_BEFORE_KILL + usize::from(random_bytes::<1>()[0]) % MIN_ACKED_BEFORE_KILL;
        let deadline = Instant::now() + Duration::from_secs(30);
        while stream.acked.load(Ordering::SeqCst) < target
            || stream.in_flight.load(Ordering::SeqCst) == 0
        {
            assert!(
                Instant::now() < deadline,
                "round {round}: only {} writes acknowledged in 30 s; {:?}\n{}",
                stream.acked.load(Ordering::SeqCst),
                ledger.lock().unwrap().unexpected,
                storage.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // A random moment within the next few milliseconds of server work.
        let jitter = u64::from(u16::from_le_bytes(random_bytes::<2>())) % 8_000;
        tokio::time::sleep(Duration::from_micros(jitter)).await;
        let in_flight_at_kill = stream.in_flight.load(Ordering::SeqCst);
        node.kill(|| stream.stop.store(true, Ordering::SeqCst));
        for w in writers {
            w.await.unwrap();
        }
        let snapshot = ledger.lock().unwrap().clone();
        assert!(
            snapshot.unexpected.is_empty(),
            "unexpected replies before the kill: {:?}",
            snapshot.unexpected
        );
        let label = format!("{backend:?} round {round}");
        let after_revocation = no_retrieval_after_its_revocation(&label, &snapshot);
        eprintln!(
            "{label}: killed after {} acknowledged writes with {in_flight_at_kill} \
             requests in flight; in all {} certificates, {} grants, {} revocations, {} cases, \
             {} retrievals ({} of raced grants) acknowledged, {} raced scans refused as revoked \
             ({after_revocation} sent after the revocation's reply), {} requests unacknowledged",
            stream.acked.load(Ordering::SeqCst),
            snapshot.certificates.len(),
            snapshot.grants.len(),
            snapshot.revocations.len(),
            snapshot.cases.len(),
            snapshot.retrievals.len(),
            snapshot.raced.len(),
            snapshot.refused_as_revoked.len(),
            snapshot.unacknowledged,
        );

        // Same binary, same configuration, same database.
        node = Node::start(&storage, &mut config).await;
        base = config.base();
        let api = Api::new(&base);
        check_after_restart(&label, &api, &storage.url, &people.holder_token, &snapshot).await;
        let rescanned = answered_codes_stay_spent(
            &label,
            &api,
            &storage.url,
            &people.clerk_token,
            &snapshot.codes[codes_before..],
        )
        .await;
        eprintln!(
            "{label}: {rescanned} answered codes scanned again after the restart, all refused"
        );

        // The restarted node goes on working, and its writes chain onto the old log.
        let after = Stream::new(&base, &people, &ledger);
        let refused = |what: &str| -> String {
            panic!(
                "{what} after the restart failed: {:?}\n{}",
                ledger.lock().unwrap().unexpected,
                storage.log_tail()
            )
        };
        let case = match after.open_case().await {
            Some(case) => case,
            None => refused("a case"),
        };
        let grant = match after.create_grant(MatterScope::All, Some(1)).await {
            Some(grant) => grant,
            None => refused("a grant"),
        };
        if after.retrieve(&case, &grant).await.is_none() {
            refused("a retrieval");
        }
        api.audit_intact().await;
    }

    let l = ledger.lock().unwrap().clone();
    assert!(l.unexpected.is_empty(), "{:?}", l.unexpected);
    assert!(l.retrievals.len() >= ROUNDS, "{l:?}");
    eprintln!(
        "{backend:?}: {ROUNDS} kill–restart rounds in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_on_sqlite() {
    acknowledged_writes_survive_kills(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_on_postgres() {
    acknowledged_writes_survive_kills(Backend::Postgres).await;
}
