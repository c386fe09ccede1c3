//! The node's load generator.
//!
//! For each backend (SQLite, then PostgreSQL) it starts one node in this process on a fresh
//! database, serves it on 127.0.0.1, and drives, in this order:
//!
//! 1. `GET /healthz` (the trivial route) at 1 connection;
//! 2. the counter's retrieval (`POST /api/counter/cases/{id}/retrievals`, the holder showing
//!    their own certificate, a fresh signed presentation per request) at 1 connection;
//! 3. `GET /healthz` at 64 connections;
//! 4. the retrieval at 64 connections;
//! 5. `Db::certificate(id)` look-ups with 1,000 certificates stored, then with 1,000,000.
//!
//! Before the HTTP phases, a 1-byte ping-pong on a kept loopback TCP connection is timed as
//! the floor under any HTTP round trip. `BENCH_REPS=N` repeats the HTTP phases and each size's
//! look-ups N times on the same node (the table is grown once).
//!
//! Each HTTP phase is a fixed number of requests shared by C workers, each looping one request
//! at a time on keep-alive connections of one shared client, after an untimed warm-up at the
//! same concurrency. Latency is taken per request (send to last body byte); throughput is
//! requests over the phase's wall time. Presentations are signed before a phase, outside the
//! timing. After the retrieval phases every acknowledged (201) retrieval is checked on a fresh
//! database connection: its nonce consumed and its `ok` audit entry stored; the audit chain is
//! verified too. The figures are printed as markdown, with the issue's targets beside them;
//! nothing here asserts on time.
//!
//! Run: `cargo bench -p server --bench load` (full, a few minutes) or
//! `cargo bench -p server --bench load -- --smoke` (tiny, proves every benchmark runs).
//! PostgreSQL is expected at postgres://postgres@127.0.0.1:5432 (trust auth); without it the
//! smoke run measures SQLite only and the full run fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde_json::{json, Value};
use server::db::audit::hex_sha256;
use server::db::certificates::CertRow;
use server::db::{Backend, Db};
use server::state::{AppState, Clock};
use sqlx::Row;
use wallet_core::{CertId, CreditCode, DeviceKey, Presentation, RegionCode, ResidentId, Subject};

use common::{
    backend_name, backend_short, client, cpus, drive, emit_measured, finish, machine, measure,
    memory, ms, msf, now, percentile, post, print_backend_end, summarise, tcp_round_trips,
    thousands, verdict, BenchDb, Figure, Measured, Target,
};

const TOKEN: &str = "zhengzhou-amr-load-token-0001";
const CLERK_PASSWORD: &str = "clerk-password-1";
const PHONE: &str = "13800138000";
const CRANE_MATTER: &str = "411100-JS-0042";
const CRANE_TYPE: &str = "11100000000013338W011";
/// Longest a presentation may live; each retrieval phase is signed just before it starts.
const LIFETIME: i64 = wallet_core::presentation::MAX_LIFETIME;
/// Rows per multi-row INSERT and INSERTs per transaction when growing the certificate table.
const ROWS_PER_INSERT: usize = 1_000;
const INSERTS_PER_TX: usize = 50;

/// How much of everything one run does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    smoke: bool,
    requests_1: usize,
    requests_64: usize,
    warmup_1: usize,
    warmup_64: usize,
    rows_small: usize,
    rows_large: usize,
    lookups: usize,
    tcp_rounds: usize,
}

impl Plan {
    fn new(smoke: bool) -> Plan {
        if smoke {
            Plan {
                smoke,
                requests_1: 50,
                requests_64: 128,
                warmup_1: 10,
                warmup_64: 64,
                rows_small: 1_000,
                rows_large: 10_000,
                lookups: 200,
                tcp_rounds: 200,
            }
        } else {
            Plan {
                smoke,
                requests_1: 2_000,
                requests_64: 10_000,
                warmup_1: 100,
                warmup_64: 256,
                rows_small: 1_000,
                rows_large: 1_000_000,
                lookups: 2_000,
                tcp_rounds: 5_000,
            }
        }
    }
}

fn amr() -> CreditCode {
    CreditCode::with_check_char("11410100MB1234567").unwrap()
}

fn person() -> String {
    ResidentId::with_check_digit("41010219850312003")
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// A node on a fresh database.

fn settings(url: &str) -> server::config::Settings {
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
    );
    server::config::Settings::from_toml(&text, |_| None).unwrap()
}

/// One node serving on 127.0.0.1, with a holder, their certificate and device key, a logged-in
/// clerk and an open case.
struct Node {
    base: String,
    state: AppState,
    db: BenchDb,
    server: tokio::task::JoinHandle<()>,
    holder_key: DeviceKey,
    cert_id: CertId,
    clerk_auth: HeaderValue,
    case_id: String,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({})", self.base)
    }
}

async fn start_node(backend: Backend) -> Node {
    let db = BenchDb::new(backend, "ecert_load").await;
    let state = server::start(settings(&db.url), Clock::system())
        .await
        .unwrap();
    let app = server::routes::router(state.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client = reqwest::Client::new();
    // The holder: in the population registry, registered, with a device key.
    state.db.upsert_resident(&person(), "张三").await.unwrap();
    let otp = post(
        &client,
        format!("{base}/api/wallet/otp"),
        None,
        json!({"phone": PHONE, "purpose": "register"}),
    )
    .await;
    let code = otp["demo_code"].as_str().unwrap();
    let reg = post(
        &client,
        format!("{base}/api/wallet/register"),
        None,
        json!({"resident_id": person(), "name": "张三", "phone": PHONE, "code": code}),
    )
    .await;
    let holder_token = reg["access_token"].as_str().unwrap();
    let holder_key = DeviceKey::generate().unwrap();
    post(
        &client,
        format!("{base}/api/wallet/devices"),
        Some(holder_token),
        json!({"public_key": holder_key.public_key().to_string()}),
    )
    .await;
    // Their certificate, issued by the department.
    let t = now();
    let issued = post(
        &client,
        format!("{base}/api/issuer/certificates"),
        Some(TOKEN),
        json!({
            "type_code": CRANE_TYPE,
            "holder_kind": "person",
            "holder_id": person(),
            "holder_name": "张三",
            "valid_from": t - 86400,
            "valid_until": t + 4 * 365 * 86400,
            "fields": {"作业项目": "起重机指挥 Q1", "证书编号": "TS410100123456", "住址": "郑州市金水区某路1号"}
        }),
    )
    .await;
    let cert_id: CertId = issued["id"].as_str().unwrap().parse().unwrap();
    // The clerk logs in (the token lives 15 minutes: one backend's run is well within it) and
    // opens the one case every scan goes to.
    let login = post(
        &client,
        format!("{base}/api/staff/login"),
        None,
        json!({"id": "lh-clerk-01", "password": CLERK_PASSWORD}),
    )
    .await;
    let clerk = login["access_token"].as_str().unwrap().to_owned();
    let case = post(
        &client,
        format!("{base}/api/counter/cases"),
        Some(&clerk),
        json!({"matter": CRANE_MATTER}),
    )
    .await;
    let case_id = case["case"]["id"].as_str().unwrap().to_owned();
    Node {
        base,
        state,
        db,
        server,
        holder_key,
        cert_id,
        clerk_auth: HeaderValue::from_str(&format!("Bearer {clerk}")).unwrap(),
        case_id,
    }
}

impl Node {
    /// `n` fresh presentations of the holder's own certificate, signed now, as request bodies,
    /// with the hash of each nonce as the node stores it.
    fn presentations(&self, n: usize) -> (Vec<String>, Vec<String>) {
        let t = now();
        let region = RegionCode::new(410100).unwrap();
        (0..n)
            .map(|_| {
                let p = Presentation::sign(
                    &self.holder_key,
                    region,
                    Subject::Certificate(self.cert_id.clone()),
                    t,
                    LIFETIME,
                )
                .unwrap();
                (
                    json!({"text": p.encode_text()}).to_string(),
                    hex_sha256(&p.nonce),
                )
            })
            .unzip()
    }

    async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
        self.state.db.pool.close().await;
        drop(self.state);
        self.db.cleanup().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Load phases.

#[derive(Debug)]
struct PhaseResult {
    route: &'static str,
    m: Measured,
}

/// Everything acknowledged so far, to check on disk after the phases.
#[derive(Debug, Default)]
struct Acked {
    /// (nonce hash, correlation id) of every 2xx retrieval.
    retrievals: Vec<(String, String)>,
}

/// One load phase: an untimed warm-up at the same concurrency, then the timed requests.
async fn phase(
    node: &Node,
    client: &reqwest::Client,
    retrieval: bool,
    conns: usize,
    warmup: usize,
    requests: usize,
    acked: &mut Acked,
) -> PhaseResult {
    let (target, nonces) = if retrieval {
        // Signed just before the phase: every presentation lives `LIFETIME` seconds from now.
        let (bodies, nonces) = node.presentations(warmup + requests);
        let target = Target::Post {
            url: format!(
                "{}/api/counter/cases/{}/retrievals",
                node.base, node.case_id
            ),
            auth: node.clerk_auth.clone(),
            bodies: Arc::new(bodies),
        };
        (target, nonces)
    } else {
        (Target::Get(format!("{}/healthz", node.base)), Vec::new())
    };
    let (warm, _) = drive(client, &target, conns, 0, warmup, retrieval).await;
    let (timed, wall) = drive(client, &target, conns, warmup, requests, retrieval).await;
    // Every acknowledged retrieval, by the nonce it consumed and its reply's correlation id.
    for (i, body) in warm.replies.iter().chain(&timed.replies) {
        let v: Value = serde_json::from_slice(body).unwrap();
        let correlation = v["correlation_id"].as_str().unwrap().to_owned();
        acked.retrievals.push((nonces[*i].clone(), correlation));
    }
    let route = if retrieval {
        "POST /api/counter/cases/{id}/retrievals"
    } else {
        "GET /healthz"
    };
    let result = PhaseResult {
        route,
        m: summarise(conns, requests, &warm, timed, wall),
    };
    if wall.as_secs() as i64 > LIFETIME - 30 {
        println!(
            "warning: the {route} phase at {conns} connection(s) took {:.0} s, near the \
             presentations' {LIFETIME} s lifetime",
            wall.as_secs_f64()
        );
    }
    result
}

/// Reads back, on a connection of its own, that every acknowledged retrieval left its consumed
/// nonce, its retrieval row and its `ok` audit entry; and verifies the audit chain.
#[derive(Debug)]
struct Durability {
    acknowledged: usize,
    /// Acknowledged retrievals with all three on disk.
    complete: usize,
    nonce_missing: usize,
    audit_missing: usize,
    row_missing: usize,
    chain: Result<i64, String>,
}

async fn check_durability(url: &str, acked: &Acked) -> Durability {
    let fresh = Db::connect(url).await.unwrap();
    let set = |sql: &'static str| {
        let pool = fresh.pool.clone();
        async move {
            sqlx::query(sql)
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String, _>(0).unwrap())
                .collect::<HashSet<String>>()
        }
    };
    let nonces = set("SELECT nonce FROM nonces").await;
    let audited =
        set("SELECT correlation_id FROM audit_log WHERE action = 'retrieval' AND result = 'ok'")
            .await;
    let rows = set("SELECT correlation_id FROM retrievals").await;
    let chain = match fresh.verify_audit_chain().await.unwrap() {
        Ok(n) => Ok(n),
        Err(b) => Err(format!("breaks at {}: {}", b.seq, b.reason)),
    };
    fresh.pool.close().await;
    let r = &acked.retrievals;
    Durability {
        acknowledged: r.len(),
        complete: r
            .iter()
            .filter(|(n, c)| nonces.contains(n) && audited.contains(c) && rows.contains(c))
            .count(),
        nonce_missing: r.iter().filter(|(n, _)| !nonces.contains(n)).count(),
        audit_missing: r.iter().filter(|(_, c)| !audited.contains(c)).count(),
        row_missing: r.iter().filter(|(_, c)| !rows.contains(c)).count(),
        chain,
    }
}

// ---------------------------------------------------------------------------------------------
// Certificate look-up against table size.

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn base36(mut v: u64) -> String {
    const ALNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    while v > 0 {
        out.push(ALNUM[(v % 36) as usize]);
        v /= 36;
    }
    out.reverse();
    format!("{:0>16}", String::from_utf8(out).unwrap())
}

/// The `i`th synthetic certificate: a well-formed identifier with a random-looking serial
/// (distinct for distinct `i`, since splitmix64 is a bijection), like the node's own.
fn synthetic_id(i: u64, issuer: &CreditCode) -> String {
    CertId::new(CRANE_TYPE, issuer, &base36(splitmix64(i)), 1)
        .unwrap()
        .to_string()
}

/// A multi-row INSERT of `rows` certificates. SQLite gets anonymous `?` parameters: it looks a
/// numbered parameter's name up by a linear scan, which sqlx does for every parameter, so
/// 11,000 `$N` would cost a quadratic 60 million steps per statement.
fn insert_sql(backend: Backend, rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO certificates (id, type_code, holder_kind, holder_id, holder_name, \
         issuer_code, sealed, status, valid_from, valid_until, issued_at, replaced_by) VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for k in 1..=11 {
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", r * 11 + k)),
            }
            sql.push(',');
        }
        sql.push_str("NULL)");
    }
    sql
}

/// Adds synthetic certificates `from..to` (copies of `template` under other ids and holders)
/// with multi-row INSERTs, `INSERTS_PER_TX` of them per transaction.
async fn grow(db: &Db, template: &CertRow, from: usize, to: usize) {
    let issuer = amr();
    let full_sql = insert_sql(db.backend, ROWS_PER_INSERT);
    let mut i = from;
    while i < to {
        let mut tx = db.pool.begin().await.unwrap();
        for _ in 0..INSERTS_PER_TX {
            if i >= to {
                break;
            }
            let n = ROWS_PER_INSERT.min(to - i);
            let partial;
            let sql = if n == ROWS_PER_INSERT {
                &full_sql
            } else {
                partial = insert_sql(db.backend, n);
                &partial
            };
            let mut q = sqlx::query(sql);
            for k in i..i + n {
                let id = synthetic_id(k as u64, &issuer);
                let holder = format!("4101{:014}", splitmix64(!(k as u64)) % 100_000_000_000_000);
                q = q
                    .bind(id)
                    .bind(&template.type_code)
                    .bind(&template.holder_kind)
                    .bind(holder)
                    .bind(&template.holder_name)
                    .bind(&template.issuer_code)
                    .bind(&template.sealed)
                    .bind(&template.status)
                    .bind(template.valid_from)
                    .bind(template.valid_until)
                    .bind(template.issued_at);
            }
            q.execute(&mut *tx).await.unwrap();
            i += n;
        }
        tx.commit().await.unwrap();
    }
}

/// Brings the table to a steady state after a bulk load, outside any timing.
async fn settle(db: &Db) {
    match db.backend {
        Backend::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&db.pool)
                .await
                .unwrap();
            sqlx::query("ANALYZE certificates")
                .execute(&db.pool)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            sqlx::query("VACUUM (ANALYZE) certificates")
                .execute(&db.pool)
                .await
                .unwrap();
        }
    }
}

#[derive(Debug)]
struct Lookups {
    rows: i64,
    count: usize,
    median: Duration,
    p99: Duration,
}

/// Times `count` look-ups of random synthetic certificates among the first `stored`, one at a
/// time through the node's pool, after an untimed warm-up.
async fn time_lookups(db: &Db, stored: usize, count: usize, seed: &mut u64) -> Lookups {
    let issuer = amr();
    let mut pick = || {
        *seed = splitmix64(*seed);
        synthetic_id(*seed % stored as u64, &issuer)
    };
    for _ in 0..count / 10 + 10 {
        db.certificate(&pick()).await.unwrap().unwrap();
    }
    let ids: Vec<String> = (0..count).map(|_| pick()).collect();
    let mut l = Vec::with_capacity(count);
    for id in &ids {
        let t0 = Instant::now();
        let row = db.certificate(id).await.unwrap();
        l.push(t0.elapsed());
        assert!(row.is_some(), "synthetic certificate {id} not found");
    }
    l.sort_unstable();
    let rows: i64 = sqlx::query("SELECT COUNT(*) FROM certificates")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    Lookups {
        rows,
        count,
        median: percentile(&l, 50.0),
        p99: percentile(&l, 99.0),
    }
}

// ---------------------------------------------------------------------------------------------
// One backend.

#[derive(Debug)]
struct BackendReport {
    backend: Backend,
    version: String,
    /// The HTTP phases, once per repetition (`BENCH_REPS`) on the same node.
    reps: Vec<LoadRep>,
    durability: Durability,
    /// Look-ups at each table size, once per repetition.
    small: Vec<Lookups>,
    large: Vec<Lookups>,
    growth: Duration,
    rows_added: usize,
    elapsed: Duration,
}

#[derive(Debug)]
struct LoadRep {
    /// The 1-byte loopback TCP ping-pong: the floor under every HTTP round trip.
    tcp: Measured,
    /// `/healthz` and the retrieval at 1 connection, then both at 64.
    phases: Vec<PhaseResult>,
}

async fn run_backend(backend: Backend, plan: Plan) -> BackendReport {
    let started = Instant::now();
    let node = start_node(backend).await;
    let version = common::version(&node.state.db).await;
    let mut acked = Acked::default();
    let one = client(1);
    let many = client(64);
    let (w1, n1, w64, n64) = (
        plan.warmup_1,
        plan.requests_1,
        plan.warmup_64,
        plan.requests_64,
    );
    let reps = common::reps();
    let mut http = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        let l = tcp_round_trips(plan.tcp_rounds).await;
        let tcp = measure(1, l, t0.elapsed());
        let phases = vec![
            phase(&node, &one, false, 1, w1, n1, &mut acked).await,
            phase(&node, &one, true, 1, w1, n1, &mut acked).await,
            phase(&node, &many, false, 64, w64, n64, &mut acked).await,
            phase(&node, &many, true, 64, w64, n64, &mut acked).await,
        ];
        http.push(LoadRep { tcp, phases });
    }
    let durability = check_durability(&node.db.url, &acked).await;

    // Look-ups: the real certificate is the template of the synthetic ones.
    let db = node.state.db.clone();
    let template = db
        .certificate(node.cert_id.as_str())
        .await
        .unwrap()
        .unwrap();
    let mut seed = {
        let mut s = [0u8; 8];
        getrandom::getrandom(&mut s).unwrap();
        u64::from_le_bytes(s)
    };
    grow(&db, &template, 0, plan.rows_small - 1).await;
    settle(&db).await;
    let mut small = Vec::new();
    for _ in 0..reps {
        small.push(time_lookups(&db, plan.rows_small - 1, plan.lookups, &mut seed).await);
    }
    let t0 = Instant::now();
    grow(&db, &template, plan.rows_small - 1, plan.rows_large - 1).await;
    let growth = t0.elapsed();
    settle(&db).await;
    let mut large = Vec::new();
    for _ in 0..reps {
        large.push(time_lookups(&db, plan.rows_large - 1, plan.lookups, &mut seed).await);
    }
    drop(db);
    node.stop().await;
    BackendReport {
        backend,
        version,
        reps: http,
        durability,
        small,
        large,
        growth,
        rows_added: plan.rows_large - plan.rows_small,
        elapsed: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// Printing.

/// Prints one backend's tables; returns whether anything failed that is not a matter of speed
/// (a non-2xx reply, an acknowledged retrieval missing on disk, a broken audit chain).
fn print_backend(r: &BackendReport, plan: Plan) -> bool {
    let name = backend_name(r.backend, &r.version);
    let section = backend_short(r.backend);
    println!("\n### {name}\n");
    let mut failed = false;
    for (k, rep) in r.reps.iter().enumerate() {
        if r.reps.len() > 1 {
            println!("\n#### Repetition {} of {}\n", k + 1, r.reps.len());
        }
        failed |= print_rep(rep);
        emit_rep(section, k, rep);
    }
    println!();
    println!("| certificates stored | repetition | look-ups | median ms | p99 ms |");
    println!("|---:|---:|---:|---:|---:|");
    for (k, (s, l)) in r.small.iter().zip(&r.large).enumerate() {
        for x in [s, l] {
            println!(
                "| {} | {} | {} | {} | {} |",
                thousands(x.rows),
                k + 1,
                thousands(x.count as i64),
                ms(x.median),
                ms(x.p99)
            );
        }
        let small = format!("certificate look-up at {} rows", thousands(s.rows));
        let large = format!("certificate look-up at {} rows", thousands(l.rows));
        for (what, x) in [(&small, s), (&large, l)] {
            Figure::new(
                "load",
                section,
                k,
                format!("{what} median"),
                msf(x.median),
                "ms",
            )
            .against(format!("{small} median"))
            .emit();
            Figure::new("load", section, k, format!("{what} p99"), msf(x.p99), "ms")
                .against(format!("{small} p99"))
                .emit();
        }
    }
    println!(
        "\n(growing the table by {} rows took {:.1} s, {:.0} rows/s, outside the timing)",
        thousands(r.rows_added as i64),
        r.growth.as_secs_f64(),
        r.rows_added as f64 / r.growth.as_secs_f64()
    );

    let d = &r.durability;
    let durable = d.complete == d.acknowledged;
    let chain_ok = d.chain.is_ok();
    failed |= !durable || !chain_ok;
    println!("\n| target | figure | threshold | verdict |");
    println!("|---|---:|---:|---|");
    println!(
        "| acknowledged retrievals durable (nonce consumed + `ok` audit entry + row, read back on a fresh connection) | {} of {} (nonce missing {}, audit missing {}, row missing {}) | all | {} |",
        thousands(d.complete as i64),
        thousands(d.acknowledged as i64),
        d.nonce_missing,
        d.audit_missing,
        d.row_missing,
        verdict(durable)
    );
    println!(
        "| audit chain after the run | {} | intact | {} |",
        match &d.chain {
            Ok(n) => format!("{} entries verified", thousands(*n)),
            Err(e) => e.clone(),
        },
        verdict(chain_ok)
    );
    for (k, (s, l)) in r.small.iter().zip(&r.large).enumerate() {
        println!(
            "| look-up median at {} ÷ at {} rows (repetition {}) | {:.2}× ({} ÷ {} ms) | none stated | figure only |",
            thousands(l.rows),
            thousands(s.rows),
            k + 1,
            l.median.as_secs_f64() / s.median.as_secs_f64(),
            ms(l.median),
            ms(s.median),
        );
    }
    Figure::new(
        "load",
        section,
        0,
        "acknowledged retrievals found durable",
        d.complete as f64 / d.acknowledged.max(1) as f64,
        "share",
    )
    .target(">=", 1.0, "issue 3: every acknowledged retrieval durable")
    .emit();
    print_backend_end(&name, plan.smoke, r.elapsed);
    failed
}

/// One repetition's HTTP table and its speed targets; returns whether any request failed.
fn print_rep(rep: &LoadRep) -> bool {
    println!("| route | connections | requests | errors | p50 ms | p99 ms | mean ms | throughput req/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| TCP 1-byte ping-pong (reference) | 1 | {} | 0 | {} | {} | {} | {:.0} |",
        thousands(rep.tcp.requests as i64),
        ms(rep.tcp.p50),
        ms(rep.tcp.p99),
        ms(rep.tcp.mean),
        rep.tcp.throughput
    );
    for p in &rep.phases {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} |",
            p.route,
            p.m.conns,
            thousands(p.m.requests as i64),
            p.m.errors,
            ms(p.m.p50),
            ms(p.m.p99),
            ms(p.m.mean),
            p.m.throughput
        );
    }
    let mut failed = false;
    for p in &rep.phases {
        if p.m.errors > 0 {
            failed = true;
            println!(
                "\nerrors in {} at {} connection(s): {}",
                p.route,
                p.m.conns,
                p.m.error_samples.join("; ")
            );
        }
    }
    let [h1, r1, h64, r64] = [
        &rep.phases[0],
        &rep.phases[1],
        &rep.phases[2],
        &rep.phases[3],
    ];
    let gap = msf(r1.m.p50) - msf(h1.m.p50);
    let share = r64.m.throughput / h64.m.throughput;
    println!("\n| target | figure | threshold | verdict |");
    println!("|---|---:|---:|---|");
    println!(
        "| retrieval p50 − /healthz p50, 1 connection | {gap:+.3} ms ({} − {}) | ≤ +0.200 ms | {} |",
        ms(r1.m.p50),
        ms(h1.m.p50),
        verdict(gap <= 0.2)
    );
    println!(
        "| retrieval ÷ /healthz throughput, 64 connections | {:.1} % ({:.0} ÷ {:.0} req/s) | ≥ 25 % | {} |",
        share * 100.0,
        r64.m.throughput,
        h64.m.throughput,
        verdict(share >= 0.25)
    );
    failed
}

/// The figures of one repetition as `BENCH` lines: the trivial route against the TCP round
/// trip, the retrieval against the trivial route, and the issue's two speed targets.
fn emit_rep(section: &str, rep: usize, r: &LoadRep) {
    let tcp = "TCP round trip, loopback";
    Figure::new(
        "load",
        section,
        rep,
        format!("{tcp} p50"),
        msf(r.tcp.p50),
        "ms",
    )
    .emit();
    Figure::new(
        "load",
        section,
        rep,
        format!("{tcp} p99"),
        msf(r.tcp.p99),
        "ms",
    )
    .emit();
    let [h1, r1, h64, r64] = [&r.phases[0], &r.phases[1], &r.phases[2], &r.phases[3]];
    emit_measured("load", section, rep, "/healthz, 1 conn", &h1.m, None);
    Figure::new(
        "load",
        section,
        rep,
        "/healthz, 1 conn p50 (÷ TCP)",
        msf(h1.m.p50),
        "ms",
    )
    .against(format!("{tcp} p50"))
    .emit();
    emit_measured(
        "load",
        section,
        rep,
        "retrieval, 1 conn",
        &r1.m,
        Some("/healthz, 1 conn"),
    );
    emit_measured("load", section, rep, "/healthz, 64 conn", &h64.m, None);
    emit_measured(
        "load",
        section,
        rep,
        "retrieval, 64 conn",
        &r64.m,
        Some("/healthz, 64 conn"),
    );
    Figure::new(
        "load",
        section,
        rep,
        "retrieval p50 − /healthz p50, 1 conn",
        msf(r1.m.p50) - msf(h1.m.p50),
        "Δ ms",
    )
    .target(
        "<=",
        0.2,
        "issue 3: retrieval p50 ≤ trivial route p50 + 0.2 ms at 1 connection",
    )
    .emit();
    Figure::new(
        "load",
        section,
        rep,
        "retrieval ÷ /healthz throughput, 64 conn",
        r64.m.throughput / h64.m.throughput,
        "share",
    )
    .target(
        ">=",
        0.25,
        "issue 3: at 64 connections ≥ 25 % of the trivial route's throughput",
    )
    .emit();
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; anything but `--smoke` is ignored.
    let smoke = std::env::args().any(|a| a == "--smoke");
    let plan = Plan::new(smoke);
    let started = Instant::now();
    println!(
        "## Node load: {} run\n\n- date: {}\n- machine: {}\n- node and load generator in one \
         process (tokio, {} worker threads), HTTP/1.1 keep-alive on 127.0.0.1\n- HTTP phases: \
         {} requests at 1 connection, {} at 64 (after {} / {} warm-up); look-ups: {} at {} and \
         at {} certificates",
        if smoke { "smoke" } else { "full" },
        common::utc_now(),
        machine() + &memory(),
        cpus(),
        thousands(plan.requests_1 as i64),
        thousands(plan.requests_64 as i64),
        plan.warmup_1,
        plan.warmup_64,
        thousands(plan.lookups as i64),
        thousands(plan.rows_small as i64),
        thousands(plan.rows_large as i64),
    );
    let backends = common::backends(smoke).await;
    let mut failed = false;
    for backend in backends {
        let report = run_backend(backend, plan).await;
        failed |= print_backend(&report, plan);
    }
    finish(
        started,
        failed,
        "some requests were refused or acknowledged writes are missing (see above).",
    );
}
