//! Sustained load on the demo federation: 50 counters and 500 wallets for ten minutes.
//!
//! The six demo nodes run as separate `server` processes on loopback, each with its own SQLite
//! file, as in the end-to-end tests. 500 synthetic residents get an account at the wallet
//! province (Henan) and a 特种设备作业人员证 issued in Zhengzhou through the department's
//! business-system API; the wallets then browse, grant and revoke, and the Luohe counters serve
//! them one after another: open a case, the holder shows a fresh 亮证码 (reported to the wallet
//! node as the current code, as the page does), scan, 申请人确认, 办结. Each retrieval crosses
//! Luohe → Henan → Zhengzhou.
//!
//! Reported at the end: throughput and p50/p99 per route, errors (goal: none — a 5xx, a lost
//! connection or a refusal the scenario does not expect), each node's resident memory after
//! warm-up against the end (goal: flat), and every node's audit chain verified.
//!
//! Run: `cargo bench --workspace --bench sustained` (ten minutes, release build), or with
//! `-- --seconds 120 --counters 20 --wallets 200`; `-- --smoke` runs a few seconds small, which
//! the test command does so the command cannot rot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/demo_processes/mod.rs"]
mod demo_processes;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use demo_processes::{now, Demo};
use serde_json::{json, Value};
use server::auth::secrets::hash_password;
use server::db::accounts::Account;
use server::demo::catalog::{CRANE_MATTER, OPERATOR_ZZ};
use server::demo::{HENAN, HUBEI, LUOHE, NATIONAL, WUHAN, ZHENGZHOU};
use wallet_core::grant::GrantTerms;
use wallet_core::{
    CertId, DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode, ResidentId,
    Subject,
};

const ALL: [&str; 6] = [NATIONAL, HENAN, ZHENGZHOU, LUOHE, HUBEI, WUHAN];
const NAME: &str = "压测居民";
const PASSWORD: &str = "sustained-load-password";

struct Options {
    seconds: u64,
    counters: usize,
    wallets: usize,
    smoke: bool,
}

impl Options {
    fn from_args() -> Options {
        let args: Vec<String> = std::env::args().collect();
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map(|v| v.parse::<u64>().expect("a number after {flag}"))
        };
        let smoke = args.iter().any(|a| a == "--smoke");
        let (s, c, w) = if smoke { (8, 3, 12) } else { (600, 50, 500) };
        Options {
            seconds: value("--seconds").unwrap_or(s),
            counters: value("--counters").map_or(c, |v| v as usize),
            wallets: value("--wallets").map_or(w, |v| v as usize),
            smoke,
        }
    }
}

/// One synthetic resident with a wallet: session, device key and the certificate once the
/// province's index shows it. The lock is the person: one counter at a time serves them.
struct Wallet {
    id: ResidentId,
    token: String,
    key: DeviceKey,
    cert: Mutex<Option<CertId>>,
    at_counter: tokio::sync::Mutex<()>,
    /// Grants this wallet gave that are still live: (grant, index of the grantee's wallet).
    grants: Mutex<Vec<(GrantId, usize)>>,
}

/// Latencies and outcomes per route, shared by every task.
#[derive(Default)]
struct Stats {
    routes: Mutex<BTreeMap<&'static str, Route>>,
}

#[derive(Default)]
struct Route {
    micros: Vec<u32>,
    errors: usize,
    expected_refusals: usize,
    samples: Vec<String>,
}

impl Stats {
    /// Counts one call; `expected` lists refusal codes the scenario allows (a grant revoked
    /// while its grantee stood at the counter).
    fn record(&self, route: &'static str, took: Duration, outcome: &Outcome, expected: &[&str]) {
        let mut routes = self.routes.lock().unwrap();
        let r = routes.entry(route).or_default();
        r.micros.push(took.as_micros().min(u32::MAX as u128) as u32);
        match outcome {
            Outcome::Ok(_) => {}
            Outcome::Refused(_, code, _) if expected.contains(&code.as_str()) => {
                r.expected_refusals += 1
            }
            other => {
                r.errors += 1;
                if r.samples.len() < 3 {
                    r.samples.push(other.describe());
                }
            }
        }
    }
}

enum Outcome {
    Ok(Value),
    Refused(u16, String, Value),
    Failed(String),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Ok(_) => "ok".into(),
            Outcome::Refused(status, _, body) => format!("{status} {body}"),
            Outcome::Failed(e) => e.clone(),
        }
    }
    fn ok(self) -> Option<Value> {
        match self {
            Outcome::Ok(v) => Some(v),
            _ => None,
        }
    }
}

struct Load {
    demo: Arc<Demo>,
    stats: Stats,
    wallets: Vec<Wallet>,
    retrievals: AtomicUsize,
}

impl Load {
    /// A GET without a body, a POST with one.
    async fn call(
        &self,
        route: &'static str,
        region: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        expected: &[&str],
    ) -> Outcome {
        let method = match body {
            Some(_) => reqwest::Method::POST,
            None => reqwest::Method::GET,
        };
        let mut req = self
            .demo
            .http
            .request(method, format!("{}{path}", self.demo.url(region)))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30));
        if let Some(b) = body {
            req = req.json(b);
        }
        let started = Instant::now();
        let outcome = match req.send().await {
            Err(e) => Outcome::Failed(format!("{route}: {e}")),
            Ok(r) => {
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                if status < 300 {
                    Outcome::Ok(body)
                } else {
                    let code = body["code"].as_str().unwrap_or("").to_owned();
                    Outcome::Refused(status, code, body)
                }
            }
        };
        self.stats
            .record(route, started.elapsed(), &outcome, expected);
        outcome
    }

    async fn get(&self, route: &'static str, region: &str, path: &str, token: &str) -> Outcome {
        self.call(route, region, path, token, None, &[]).await
    }

    async fn post(
        &self,
        route: &'static str,
        region: &str,
        path: &str,
        token: &str,
        body: &Value,
        expected: &[&str],
    ) -> Outcome {
        self.call(route, region, path, token, Some(body), expected)
            .await
    }
}

fn random_below(n: usize) -> usize {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).unwrap();
    (u64::from_le_bytes(b) % n as u64) as usize
}

async fn think(min_ms: u64, max_ms: u64) {
    let ms = min_ms + random_below((max_ms - min_ms + 1) as usize) as u64;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// A valid resident ID of Zhengzhou's 金水区 for the i-th synthetic resident.
fn resident(i: usize) -> ResidentId {
    let birth = 19_800_101 + (i / 900) as u32 * 10_000;
    ResidentId::with_check_digit(&format!("410105{birth}{:03}", 100 + i % 900)).unwrap()
}

/// Registers the synthetic residents at the province (registry row and account, written to its
/// database: setup is not what is measured), logs each in over HTTP and registers a device key.
async fn wallets(demo: &Arc<Demo>, n: usize) -> Vec<Wallet> {
    let db = demo.db(HENAN).await;
    let hash = hash_password(PASSWORD).unwrap();
    for i in 0..n {
        let id = resident(i);
        db.upsert_resident(id.as_str(), NAME).await.unwrap();
        let account = Account {
            resident_id: id.to_string(),
            name: NAME.into(),
            phone: format!("1{:010}", 9_500_000_000u64 + i as u64),
            password_hash: Some(hash.clone()),
        };
        db.create_account(&account, now()).await.unwrap();
    }
    in_batches(n, |i| {
        let demo = demo.clone();
        async move {
            let id = resident(i);
            let (token, key) = demo.wallet_login(id.as_str(), PASSWORD).await;
            Wallet {
                id,
                token,
                key,
                cert: Mutex::new(None),
                at_counter: tokio::sync::Mutex::new(()),
                grants: Mutex::new(Vec::new()),
            }
        }
    })
    .await
}

/// Runs `make(i)` for every i below `n`, sixteen at a time, and returns the results in order.
async fn in_batches<T, F, Fut>(n: usize, make: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(16) {
        let mut set = tokio::task::JoinSet::new();
        for i in start..(start + 16).min(n) {
            let job = make(i);
            set.spawn(async move { (i, job.await) });
        }
        let mut batch = set.join_all().await;
        batch.sort_by_key(|(i, _)| *i);
        out.extend(batch.into_iter().map(|(_, t)| t));
    }
    out
}

/// Zhengzhou's market regulator issues each resident a 特种设备作业人员证; the outbox pushes
/// them to the province's index.
async fn issue(demo: &Arc<Demo>, holders: Vec<ResidentId>) {
    let zz = &demo.settings[ZHENGZHOU];
    let ty = OPERATOR_ZZ.code().unwrap();
    let token = zz
        .departments
        .iter()
        .find(|d| {
            zz.cert_types
                .iter()
                .any(|t| t.code == ty && t.department == d.credit_code)
        })
        .unwrap()
        .token
        .expose()
        .to_owned();
    in_batches(holders.len(), |n| {
        let body = json!({
            "type_code": ty,
            "holder_kind": "person",
            "holder_id": holders[n].as_str(),
            "holder_name": NAME,
            "valid_from": now() - 86_400,
            "valid_until": now() + 3 * 365 * 86_400,
            "fields": {"作业项目": "叉车司机", "项目代号": "N1",
                       "证书编号": format!("TS-LOAD-{n:05}"), "发证日期": "2026-11-26"}
        });
        let (demo, token) = (demo.clone(), token.clone());
        async move {
            let (status, issued) = demo
                .post(ZHENGZHOU, "/api/issuer/certificates", Some(&token), &body)
                .await;
            assert_eq!(status, 201, "{issued}");
        }
    })
    .await;
}

/// The wallet's own activity between visits to a counter: mostly reading, sometimes lending
/// the certificate to another resident for the crane matter or taking such a grant back.
async fn wallet_loop(load: Arc<Load>, i: usize, until: Instant) {
    let w = &load.wallets[i];
    while Instant::now() < until {
        think(1_000, 4_000).await;
        match random_below(10) {
            0..=3 => {
                let list = load
                    .get(
                        "wallet: 我的证照",
                        HENAN,
                        "/api/wallet/certificates",
                        &w.token,
                    )
                    .await;
                if let Some(list) = list.ok() {
                    let found = list.as_array().and_then(|a| {
                        a.iter()
                            .find_map(|c| c["id"].as_str()?.parse::<CertId>().ok())
                    });
                    if let Some(id) = found {
                        *w.cert.lock().unwrap() = Some(id);
                    }
                }
            }
            4 => {
                let id = w.cert.lock().unwrap().clone();
                if let Some(id) = id {
                    let path = format!("/api/wallet/certificates/{id}");
                    load.get("wallet: 证照详情", HENAN, &path, &w.token).await;
                }
            }
            5 => {
                load.get("wallet: 我的授权", HENAN, "/api/wallet/grants", &w.token)
                    .await;
            }
            6 => {
                load.get("wallet: 用证记录", HENAN, "/api/wallet/usage", &w.token)
                    .await;
            }
            7 | 8 => grant(&load, i).await,
            _ => revoke(&load, i).await,
        }
    }
}

async fn grant(load: &Load, i: usize) {
    let w = &load.wallets[i];
    let Some(cert) = w.cert.lock().unwrap().clone() else {
        return;
    };
    let to = (i + 1 + random_below(load.wallets.len() - 1)) % load.wallets.len();
    let terms = GrantTerms {
        id: GrantId::generate().unwrap(),
        cert_id: cert,
        holder: Holder::Person(w.id.clone()),
        grantee: Grantee {
            resident_id: load.wallets[to].id.clone(),
            name: NAME.into(),
            enterprise: None,
        },
        matters: MatterScope::Named(vec![CRANE_MATTER.into()]),
        not_before: now() - 60,
        not_after: now() + 3_600,
        use_limit: None,
    };
    let id = terms.id;
    let body = json!({"grant": String::from(terms.sign(&w.key).unwrap())});
    let made = load
        .post(
            "wallet: 授权他人使用",
            HENAN,
            "/api/wallet/grants",
            &w.token,
            &body,
            &[],
        )
        .await;
    if made.ok().is_some() {
        w.grants.lock().unwrap().push((id, to));
    }
}

async fn revoke(load: &Load, i: usize) {
    let w = &load.wallets[i];
    let taken = {
        let mut grants = w.grants.lock().unwrap();
        (!grants.is_empty()).then(|| grants.remove(0))
    };
    if let Some((grant, _)) = taken {
        let path = format!("/api/wallet/grants/{grant}/revoke");
        load.post("wallet: 撤销授权", HENAN, &path, &w.token, &json!({}), &[])
            .await;
    }
}

/// One counter serving applicants one after another.
async fn counter_loop(load: Arc<Load>, clerk: String, until: Instant) {
    while Instant::now() < until {
        think(500, 2_000).await;
        // The next applicant: a resident not at another counter, whose certificate is listed.
        let i = random_below(load.wallets.len());
        let Ok(_serving) = load.wallets[i].at_counter.try_lock() else {
            continue;
        };
        let w = &load.wallets[i];
        // Now and then the applicant comes with a grant someone gave them instead.
        let borrowed = if random_below(5) == 0 {
            load.wallets
                .iter()
                .flat_map(|g| g.grants.lock().unwrap().clone())
                .find(|(_, to)| *to == i)
                .map(|(g, _)| Subject::Grant(g))
        } else {
            None
        };
        let (subject, scan_route) = match borrowed {
            Some(s) => (s, "counter: 扫码调证（授权）"),
            None => match w.cert.lock().unwrap().clone() {
                Some(c) => (Subject::Certificate(c), "counter: 扫码调证（本人）"),
                None => continue,
            },
        };
        let Some(case) = load
            .post(
                "counter: 开案",
                LUOHE,
                "/api/counter/cases",
                &clerk,
                &json!({"matter": CRANE_MATTER}),
                &[],
            )
            .await
            .ok()
        else {
            continue;
        };
        let case = case["case"]["id"].as_str().unwrap_or_default().to_owned();
        // 亮证: the phone draws a fresh code and reports it as current, as the page does.
        let code = Presentation::sign(&w.key, RegionCode::new(410000).unwrap(), subject, now(), 60)
            .unwrap()
            .encode_text();
        load.post(
            "wallet: 亮证",
            HENAN,
            "/api/wallet/presentations/current",
            &w.token,
            &json!({"text": code}),
            &[],
        )
        .await;
        let path = format!("/api/counter/cases/{case}/retrievals");
        let got = load
            .post(
                scan_route,
                LUOHE,
                &path,
                &clerk,
                &json!({"text": code}),
                &["grant_revoked"],
            )
            .await;
        if let Some(got) = got.ok() {
            load.retrievals.fetch_add(1, Ordering::Relaxed);
            let rid = got["retrieval_id"].as_str().unwrap_or_default();
            let path = format!("/api/counter/retrievals/{rid}/confirm");
            load.post("counter: 申请人确认", LUOHE, &path, &clerk, &json!({}), &[])
                .await;
        }
        let path = format!("/api/counter/cases/{case}/finish");
        load.post("counter: 办结", LUOHE, &path, &clerk, &json!({}), &[])
            .await;
    }
}

/// Resident memory of every node process in kB, from /proc.
fn memory(demo: &Demo) -> BTreeMap<String, u64> {
    ALL.iter()
        .filter_map(|r| {
            let pid = demo.pid(r)?;
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let kb = status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((r.to_string(), kb))
        })
        .collect()
}

/// Pads to a terminal width, counting a Chinese character as two columns.
fn pad(text: &str, width: usize) -> String {
    let used: usize = text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() {
    let opts = Options::from_args();
    eprintln!(
        "sustained load: {} counters, {} wallets, {} s{}",
        opts.counters,
        opts.wallets,
        opts.seconds,
        if opts.smoke { " (smoke)" } else { "" }
    );
    let demo = Arc::new(Demo::running(&ALL).await);
    let setup = Instant::now();
    let wallets = wallets(&demo, opts.wallets).await;
    eprintln!(
        "  {} wallets logged in ({:.1} s)",
        wallets.len(),
        setup.elapsed().as_secs_f64()
    );
    issue(&demo, wallets.iter().map(|w| w.id.clone()).collect()).await;
    eprintln!(
        "  {} certificates issued in Zhengzhou ({:.1} s)",
        wallets.len(),
        setup.elapsed().as_secs_f64()
    );
    let mut clerks = Vec::with_capacity(opts.counters);
    for _ in 0..opts.counters {
        clerks.push(demo.staff(LUOHE, "clerk").await);
    }
    let load = Arc::new(Load {
        demo,
        stats: Stats::default(),
        wallets,
        retrievals: AtomicUsize::new(0),
    });
    // Each wallet finds its certificate in the province's index before the clock starts.
    let deadline = Instant::now() + Duration::from_secs(120);
    for w in &load.wallets {
        loop {
            let (status, list) = load
                .demo
                .get(HENAN, "/api/wallet/certificates", &w.token)
                .await;
            assert_eq!(status, 200, "{list}");
            if let Some(id) = list[0]["id"].as_str() {
                *w.cert.lock().unwrap() = Some(id.parse().unwrap());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "certificates did not reach the province"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!(
        "  every certificate listed at the province ({:.1} s); load starts",
        setup.elapsed().as_secs_f64()
    );
    *load.stats.routes.lock().unwrap() = BTreeMap::new();

    let started = Instant::now();
    let until = started + Duration::from_secs(opts.seconds);
    // Memory is compared from the end of a warm-up (a tenth of the run, at most a minute).
    let warm_up = Duration::from_secs((opts.seconds / 10).clamp(1, 60));
    let mut tasks = Vec::new();
    for i in 0..load.wallets.len() {
        tasks.push(tokio::spawn(wallet_loop(load.clone(), i, until)));
    }
    for clerk in clerks {
        tasks.push(tokio::spawn(counter_loop(load.clone(), clerk, until)));
    }
    tokio::time::sleep(warm_up).await;
    let warm = memory(&load.demo);
    let mut peak = warm.clone();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(opts.seconds.clamp(1, 30))).await;
        let now = memory(&load.demo);
        for (r, kb) in &now {
            let p = peak.entry(r.clone()).or_default();
            *p = (*p).max(*kb);
        }
        // A time series, so growth that levels off can be told from growth that does not.
        let resident: Vec<String> = now
            .iter()
            .map(|(r, kb)| format!("{r} {:.1}", *kb as f64 / 1024.0))
            .collect();
        let done: usize = load.retrievals.load(Ordering::Relaxed);
        eprintln!(
            "  {:>4} s: {done} retrievals; resident MB: {}",
            started.elapsed().as_secs(),
            resident.join(", ")
        );
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let end = memory(&load.demo);

    println!(
        "\nsustained load: {} counters, {} wallets, {elapsed:.0} s",
        opts.counters, opts.wallets
    );
    println!(
        "{} {:>8} {:>9} {:>9} {:>9} {:>7} {:>9}",
        pad("route", 28),
        "calls",
        "per s",
        "p50 ms",
        "p99 ms",
        "errors",
        "refused*"
    );
    let mut errors = 0;
    for (route, r) in load.stats.routes.lock().unwrap().iter_mut() {
        r.micros.sort_unstable();
        errors += r.errors;
        println!(
            "{} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>7} {:>9}",
            pad(route, 28),
            r.micros.len(),
            r.micros.len() as f64 / elapsed,
            percentile(&r.micros, 0.5),
            percentile(&r.micros, 0.99),
            r.errors,
            r.expected_refusals
        );
        for s in &r.samples {
            println!("    error: {s}");
        }
    }
    println!(
        "* refused as the scenario allows: a grant revoked while its grantee was at the counter"
    );
    println!("\nresident memory (MB): node, after warm-up → peak → end");
    for (r, kb) in &warm {
        println!(
            "  {r}: {:.1} → {:.1} → {:.1}",
            *kb as f64 / 1024.0,
            peak.get(r).copied().unwrap_or(0) as f64 / 1024.0,
            end.get(r).copied().unwrap_or(0) as f64 / 1024.0
        );
    }
    let mut broken = Vec::new();
    for r in ALL {
        let db = load.demo.db(r).await;
        match db.verify_audit_chain().await.unwrap() {
            Ok(n) => println!("audit chain of {r}: {n} entries, verified"),
            Err(b) => broken.push(format!("{r}: {b:?}")),
        }
    }
    assert!(broken.is_empty(), "audit chains broken: {broken:?}");
    assert!(
        load.retrievals.load(Ordering::Relaxed) > 0,
        "no retrieval succeeded"
    );
    assert_eq!(errors, 0, "errors under load (see the table)");
}
