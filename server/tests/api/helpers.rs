//! `spawn_app`: a node on port 0 with a fresh database of either backend.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::support;
use serde_json::{json, Value};
use server::config::Settings;
use server::db::Backend;
use server::state::{AppState, Clock};

// The codes and tokens the multi-node tests use too; the single node is Zhengzhou.
pub use crate::support::fixtures::{
    amr, firm, hrss, other_person as grantee, person, AMR_TOKEN as TOKEN, CRANE_TYPE,
    HRSS_TOKEN as OTHER_TOKEN, LICENCE_TYPE,
};

pub const START: i64 = 1_790_000_000;
pub const CLERK_PASSWORD: &str = "clerk-password-1";
pub const PHONE: &str = "13800138000";
pub const PASSWORD: &str = "correct horse battery";
pub const CRANE_MATTER: &str = "411100-JS-0042";
pub const OTHER_MATTER: &str = "411100-JS-0043";
pub const GRANTEE_PHONE: &str = "13900139000";
pub const LABOUR_TYPE: &str = "11100000000013338W055";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub time: Arc<AtomicI64>,
    _db: TestDb,
}

/// A database of its own for one test; PostgreSQL ones are dropped afterwards.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempdir::Dir>,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = support::scratch_dir("ecert");
                TestDb {
                    url: support::sqlite_url(&dir),
                    pg_name: None,
                    _dir: Some(tempdir::Dir(dir)),
                }
            }
            Backend::Postgres => {
                let (name, url) = support::create_pg_database("ecert").await;
                TestDb {
                    url,
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            support::drop_pg_database_blocking(name);
        }
    }
}

pub fn settings(url: &str) -> Settings {
    let text = format!(
        r#"
region = "410100"
name = "郑州市电子证照系统"
listen = "127.0.0.1:0"
database_url = "{url}"
mode = "demo"
node_key = "ERERERERERERERERERERERERERERERERERERERERERE"

[[departments]]
credit_code = "{amr}"
name = "郑州市市场监督管理局"
token = "{TOKEN}"

[[departments]]
credit_code = "{hrss}"
name = "郑州市人力资源和社会保障局"
token = "{OTHER_TOKEN}"

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

[[directory]]
region = "410102"
code = "410102-RS-0007"
name = "就业创业证申领"
department = "{hrss}"
materials = [{{ name = "劳动合同", cert_type = "{LABOUR_TYPE}", fields = [] }}]

[[matters]]
code = "{OTHER_MATTER}"
name = "建筑起重机械设备安装告知"
department = "{amr}"
materials = [{{ name = "特种设备作业人员证", cert_type = "{CRANE_TYPE}", fields = ["作业项目"] }}]

[[cert_types]]
code = "{LICENCE_TYPE}"
name = "营业执照"
department = "{amr}"
holder_kind = "enterprise"
disclosable = true
fields = [{{ name = "名称", required = true, disclosable = true }}, {{ name = "住所", required = true }}]

[[enterprises]]
credit_code = "{firm}"
name = "漯河市起重机械安装有限公司"
legal_rep_id = "{rep}"
admins = ["{admin}"]

[[cert_types]]
code = "{LABOUR_TYPE}"
name = "就业创业证"
department = "{hrss}"
holder_kind = "person"
fields = [{{ name = "证号", required = true }}]
"#,
        amr = amr(),
        hrss = hrss(),
        firm = firm(),
        rep = person(),
        admin = grantee(),
    );
    Settings::from_toml(&text, |_| None).unwrap()
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_on(TestDb::new(backend).await).await
}

/// A node of either backend with settings of the test's own making (`make` gets the URL).
pub async fn spawn_made(backend: Backend, make: fn(&str) -> Settings) -> TestApp {
    spawn_configured(TestDb::new(backend).await, make, |_| {}).await
}

/// Another server process of the same node on the same database (as several processes behind
/// a load balancer would run).
pub async fn spawn_second(first: &TestApp) -> TestApp {
    let db = TestDb {
        url: first._db.url.clone(),
        pg_name: None,
        _dir: None,
    };
    let app = spawn_on(db).await;
    app.time
        .store(first.time.load(Ordering::SeqCst), Ordering::SeqCst);
    app
}

async fn spawn_on(db: TestDb) -> TestApp {
    spawn_configured(db, settings, |_| {}).await
}

/// `spawn_app` with settings changed first (more departments, types, `[public]` …).
pub async fn spawn_with(backend: Backend, customise: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_configured(TestDb::new(backend).await, settings, customise).await
}

/// Another process of `first`'s node, on the same database, with the same changed settings.
pub async fn spawn_second_with(first: &TestApp, customise: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb {
        url: first._db.url.clone(),
        pg_name: None,
        _dir: None,
    };
    let app = spawn_configured(db, settings, customise).await;
    app.time
        .store(first.time.load(Ordering::SeqCst), Ordering::SeqCst);
    app
}

async fn spawn_configured(
    db: TestDb,
    make: fn(&str) -> Settings,
    customise: impl FnOnce(&mut Settings),
) -> TestApp {
    let time = Arc::new(AtomicI64::new(START));
    let t = time.clone();
    let mut settings = make(&db.url);
    customise(&mut settings);
    let state = server::start(settings, Clock::from_fn(move || t.load(Ordering::SeqCst)))
        .await
        .unwrap();
    let app = server::routes::router(state.clone(), None)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp {
        base,
        state,
        client: reqwest::Client::new(),
        time,
        _db: db,
    }
}

impl TestApp {
    pub fn advance(&self, seconds: i64) {
        self.time.fetch_add(seconds, Ordering::SeqCst);
    }

    /// The node's Prometheus text at `/metrics`.
    pub async fn metrics(&self) -> String {
        let r = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
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

    pub async fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// Asks for a one-time code and returns it (the demo sender shows it).
    pub async fn otp(&self, phone: &str, purpose: &str) -> String {
        let (status, body) = self
            .post(
                "/api/wallet/otp",
                None,
                &json!({"phone": phone, "purpose": purpose}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["demo"], true);
        body["demo_code"].as_str().unwrap().to_owned()
    }

    /// Puts 张三 in the population registry and registers him; returns the token reply.
    pub async fn register_citizen(&self) -> Value {
        self.state
            .db
            .upsert_resident(&person(), "张三")
            .await
            .unwrap();
        let code = self.otp(PHONE, "register").await;
        let req = json!({"resident_id": person(), "name": "张三", "phone": PHONE, "code": code, "password": PASSWORD});
        let (status, body) = self.post("/api/wallet/register", None, &req).await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Registers a person with a device key; returns (access token, device key).
    pub async fn citizen_with_device(
        &self,
        id: &str,
        name: &str,
        phone: &str,
    ) -> (String, wallet_core::DeviceKey) {
        self.state.db.upsert_resident(id, name).await.unwrap();
        let code = self.otp(phone, "register").await;
        let req = json!({"resident_id": id, "name": name, "phone": phone, "code": code});
        let (status, body) = self.post("/api/wallet/register", None, &req).await;
        assert_eq!(status, 201, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        let key = wallet_core::DeviceKey::generate().unwrap();
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

    pub async fn clerk_login(&self) -> Value {
        let (status, body) = self
            .post(
                "/api/staff/login",
                None,
                &json!({"id": "lh-clerk-01", "password": CLERK_PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Issues the standard crane-operator certificate and returns the reply.
    pub async fn issue_crane_certificate(&self) -> Value {
        let (status, body) = self
            .post("/api/issuer/certificates", Some(TOKEN), &crane_request())
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }
}

pub fn crane_request() -> Value {
    json!({
        "type_code": CRANE_TYPE,
        "holder_kind": "person",
        "holder_id": person(),
        "holder_name": "张三",
        "valid_from": START - 86400,
        "valid_until": START + 4 * 365 * 86400,
        "fields": {"作业项目": "起重机指挥 Q1", "证书编号": "TS410100123456", "住址": "郑州市金水区某路1号"}
    })
}

/// Asserts that a reply is a refusal: this status and this problem `code`.
#[track_caller]
pub fn assert_refused(reply: &(u16, Value), status: u16, code: &str) {
    let (got, body) = reply;
    assert_eq!(
        (*got, body["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
}

/// Runs an async test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn on_sqlite() {
                ($body)(server::db::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn on_postgres() {
                ($body)(server::db::Backend::Postgres).await
            }
        }
    };
}
