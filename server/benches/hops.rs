//! Retrieval latency and throughput over 0, 1, 2 and 4 hops.
//!
//! For each backend (SQLite, then PostgreSQL) it runs the six-node federation of the pilot
//! (100000 national, 410000 Henan, 410100 Zhengzhou, 411100 Luohe, 420000 Hubei, 420100
//! Wuhan) in this process, every node on its own 127.0.0.1 port and its own fresh database,
//! every node listing all the others. Each node's listener counts the TCP connections it
//! accepts. The holder's wallet lives at Henan (`resolve_at` = 410000); they hold crane-operator
//! certificates issued at Henan, Zhengzhou and Wuhan, and show their own certificate at a
//! counter, so a retrieval takes:
//!
//! | hops | counter | certificate | path |
//! |---|---|---|---|
//! | 0 | 410000 | 410000 | 410000 (wallet province and owner) |
//! | 1 | 410000 | 410100 | 410000 → 410100 |
//! | 2 | 411100 | 410100 | 411100 → 410000 → 410100 |
//! | 4 | 411100 | 420100 | 411100 → 410000 → 100000 → 420000 → 420100 |
//!
//! In the same run, as references: `append`/`overwrite` of 100 bytes + `fdatasync` in the
//! scratch directory (the physical floor of a durable commit: every hop commits its audit
//! entry before it answers), a 1-byte ping-pong on one kept loopback TCP connection, and
//! `GET /healthz` at Henan (one HTTP keep-alive round trip) at 1 and 64 connections.
//!
//! Each HTTP phase is a fixed number of requests shared by C workers looping one request at a
//! time on keep-alive connections of one shared client, after an untimed warm-up at the same
//! concurrency; every retrieval carries a fresh presentation signed before the phase. Before
//! a route's first phase one retrieval is sent alone and its `path` checked against the table
//! above, so the benchmark cannot silently measure another route. The connections each node
//! accepts are counted over the timed part only: after warm-up, node-to-node calls should
//! reuse pooled keep-alive connections.
//!
//! The issue's target: each added hop costs at most 1.5× one loopback HTTP round trip. The
//! added cost per hop is `(p50(k hops) − p50(0 hops)) / k`; the round trip is `/healthz`'s
//! p50 at the same number of connections. Nothing here asserts on time.
//!
//! Run: `cargo bench -p server --bench hops` (full, a few minutes) or
//! `cargo bench -p server --bench hops -- --smoke` (tiny, proves every figure is produced).
//! PostgreSQL is expected at postgres://postgres@127.0.0.1:5432 (trust auth); without it the
//! smoke run measures SQLite only and the full run fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};
use server::db::Backend;
use server::state::{AppState, Clock};
use support::fixtures::{
    clerk, crane_matter, crane_type, department, person as holder, regulator_of as dept,
    CRANE_MATTER, CRANE_TYPE,
};
use wallet_core::{CertId, DeviceKey, Presentation, RegionCode, SecretKey, Subject};

use common::{
    backend_name, backend_short, client, cpus, drive, emit_measured, finish, machine, measure, ms,
    msf, now, post, print_backend_end, summarise, tcp_round_trips, thousands, verdict, BenchDb,
    Figure, Measured, Target,
};

const REGIONS: [&str; 6] = ["100000", "410000", "410100", "411100", "420000", "420100"];
/// The wallet province: device keys and consent live here.
const HENAN: &str = "410000";
const DEPT_TOKEN: &str = "hops-bench-department-token-0001";
const CLERK: &str = "clerk-01";
const CLERK_PASSWORD: &str = "clerk-password-1";
const PHONE: &str = "13800138000";
/// Longest a presentation may live; each retrieval phase is signed just before it starts.
const LIFETIME: i64 = wallet_core::presentation::MAX_LIFETIME;

/// One measured route: where the counter is, which node owns the certificate, and the path
/// the retrieval must report.
#[derive(Debug, Clone, Copy)]
struct Route {
    hops: usize,
    counter: &'static str,
    owner: &'static str,
    path: &'static [&'static str],
}

const ROUTES: [Route; 4] = [
    Route {
        hops: 0,
        counter: "410000",
        owner: "410000",
        path: &["410000"],
    },
    Route {
        hops: 1,
        counter: "410000",
        owner: "410100",
        path: &["410000", "410100"],
    },
    Route {
        hops: 2,
        counter: "411100",
        owner: "410100",
        path: &["411100", "410000", "410100"],
    },
    Route {
        hops: 4,
        counter: "411100",
        owner: "420100",
        path: &["411100", "410000", "100000", "420000", "420100"],
    },
];
/// Nodes that issue (a department and the crane type) and nodes with a counter (a clerk and
/// the matter; a clerk belongs to a department of the node).
const ISSUERS: [&str; 4] = ["410000", "410100", "411100", "420100"];
const COUNTERS: [&str; 2] = ["410000", "411100"];

/// How much of everything one run does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    smoke: bool,
    requests_1: usize,
    requests_64: usize,
    warmup_1: usize,
    warmup_64: usize,
    tcp_rounds: usize,
    syncs: usize,
}

impl Plan {
    fn new(smoke: bool) -> Plan {
        if smoke {
            Plan {
                smoke,
                requests_1: 20,
                requests_64: 128,
                warmup_1: 5,
                warmup_64: 64,
                tcp_rounds: 200,
                syncs: 20,
            }
        } else {
            Plan {
                smoke,
                requests_1: 300,
                requests_64: 2_000,
                warmup_1: 30,
                warmup_64: 256,
                tcp_rounds: 5_000,
                syncs: 300,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The federation, on counted listeners.

/// What a node issues and handles, as in its TOML file.
fn node_toml(region: &str) -> String {
    let mut t = String::new();
    let d = dept(region);
    if ISSUERS.contains(&region) {
        t += &department(&d, &format!("{region} 市场监督管理局"), DEPT_TOKEN);
        t += &crane_type(&d);
    }
    if COUNTERS.contains(&region) {
        let counter = format!("{region} 政务服务中心 3号窗口");
        t += &clerk(CLERK, &d, &counter, CLERK_PASSWORD);
        t += &crane_matter(&d);
    }
    t
}

/// One running node.
struct Node {
    base: String,
    state: AppState,
    /// TCP connections its listener has accepted since it started.
    accepted: Arc<AtomicUsize>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    db: BenchDb,
}

/// A counter's clerk session and the one case every scan there goes to.
#[derive(Debug, Clone)]
struct Counter {
    url: String,
    auth: HeaderValue,
}

struct Federation {
    nodes: BTreeMap<&'static str, Node>,
    holder_key: DeviceKey,
    /// The holder's certificate issued at each issuing node.
    certs: BTreeMap<&'static str, CertId>,
    counters: BTreeMap<&'static str, Counter>,
}

impl Federation {
    async fn start(backend: Backend) -> Federation {
        // Every port is bound before any node starts, so each configuration names the others.
        let mut bound = BTreeMap::new();
        for region in REGIONS {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let key = SecretKey::generate().unwrap();
            let db = BenchDb::new(backend, &format!("ecert_hops{region}")).await;
            bound.insert(region, (listener, addr, key, db));
        }
        // Every node lists every other: address and public key.
        let listed: Vec<(&str, String)> = bound
            .iter()
            .map(|(r, (_, addr, key, _))| {
                let entry = format!(
                    "\n[[peers]]\nregion = \"{r}\"\nname = \"{}\"\nurl = \"http://{addr}\"\nkeys = [{{ public_key = \"{}\" }}]\n",
                    support::nodes::node_name(r),
                    key.public_key(),
                );
                (*r, entry)
            })
            .collect();
        let mut nodes = BTreeMap::new();
        for region in REGIONS {
            let peers: String = listed
                .iter()
                .filter(|(r, _)| *r != region)
                .map(|(_, entry)| entry.as_str())
                .collect();
            let (listener, addr, key, db) = bound.remove(region).unwrap();
            let text = format!(
                "region = \"{region}\"\nname = \"{}\"\nlisten = \"{addr}\"\ndatabase_url = \"{}\"\nmode = \"demo\"\nnode_key = \"{}\"\n{}\n{peers}",
                support::nodes::node_name(region),
                db.url,
                B64.encode(*key.to_bytes()),
                node_toml(region),
            );
            let settings = server::config::Settings::from_toml(&text, |_| None).unwrap();
            let state = server::start(settings, Clock::system()).await.unwrap();
            let app = server::routes::router(state.clone(), None);
            let accepted = Arc::new(AtomicUsize::new(0));
            let count = accepted.clone();
            // Served as the node binary serves: the plain listener, only counted.
            let listener = listener.tap_io(move |_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
            nodes.insert(
                region,
                Node {
                    base: format!("http://{addr}"),
                    state,
                    accepted,
                    stop,
                    server,
                    db,
                },
            );
        }
        let client = reqwest::Client::new();
        let base = |r: &str| nodes[r].base.clone();

        // The holder: a wallet user at Henan with a registered device key.
        nodes[HENAN]
            .state
            .db
            .upsert_resident(&holder(), "张伟")
            .await
            .unwrap();
        let otp = post(
            &client,
            format!("{}/api/wallet/otp", base(HENAN)),
            None,
            json!({"phone": PHONE, "purpose": "register"}),
        )
        .await;
        let reg = post(
            &client,
            format!("{}/api/wallet/register", base(HENAN)),
            None,
            json!({"resident_id": holder(), "name": "张伟", "phone": PHONE,
                   "code": otp["demo_code"].as_str().unwrap()}),
        )
        .await;
        let holder_key = DeviceKey::generate().unwrap();
        post(
            &client,
            format!("{}/api/wallet/devices", base(HENAN)),
            reg["access_token"].as_str(),
            json!({"public_key": holder_key.public_key().to_string()}),
        )
        .await;

        // Their crane-operator certificate at each owner the routes need.
        let mut certs = BTreeMap::new();
        for owner in ["410000", "410100", "420100"] {
            let t = now();
            let issued = post(
                &client,
                format!("{}/api/issuer/certificates", base(owner)),
                Some(DEPT_TOKEN),
                json!({
                    "type_code": CRANE_TYPE,
                    "holder_kind": "person",
                    "holder_id": holder(),
                    "holder_name": "张伟",
                    "valid_from": t - 86400,
                    "valid_until": t + 4 * 365 * 86400,
                    "fields": {"作业项目": "起重机指挥 Q1", "证书编号": "TS-0001", "住址": "某路1号"}
                }),
            )
            .await;
            certs.insert(owner, issued["id"].as_str().unwrap().parse().unwrap());
        }

        // A clerk logged in at each counter (the token lives 15 minutes: one backend's run is
        // well within it) with the one case every scan there goes to.
        let mut counters = BTreeMap::new();
        for region in COUNTERS {
            let login = post(
                &client,
                format!("{}/api/staff/login", base(region)),
                None,
                json!({"id": CLERK, "password": CLERK_PASSWORD}),
            )
            .await;
            let clerk = login["access_token"].as_str().unwrap().to_owned();
            let case = post(
                &client,
                format!("{}/api/counter/cases", base(region)),
                Some(&clerk),
                json!({"matter": CRANE_MATTER}),
            )
            .await;
            let case_id = case["case"]["id"].as_str().unwrap();
            counters.insert(
                region,
                Counter {
                    url: format!("{}/api/counter/cases/{case_id}/retrievals", base(region)),
                    auth: HeaderValue::from_str(&format!("Bearer {clerk}")).unwrap(),
                },
            );
        }
        Federation {
            nodes,
            holder_key,
            certs,
            counters,
        }
    }

    /// `n` fresh presentations of the holder's certificate at `owner`, signed now, as request
    /// bodies.
    fn presentations(&self, owner: &str, n: usize) -> Vec<String> {
        let t = now();
        let at = RegionCode::new(410000).unwrap();
        let cert = &self.certs[owner];
        (0..n)
            .map(|_| {
                let p = Presentation::sign(
                    &self.holder_key,
                    at,
                    Subject::Certificate(cert.clone()),
                    t,
                    LIFETIME,
                )
                .unwrap();
                json!({"text": p.encode_text()}).to_string()
            })
            .collect()
    }

    /// Connections accepted so far, by node.
    fn accepted(&self) -> BTreeMap<&'static str, usize> {
        self.nodes
            .iter()
            .map(|(r, n)| (*r, n.accepted.load(Ordering::Relaxed)))
            .collect()
    }

    /// Verifies every node's audit chain; returns the entries verified, or the first break.
    async fn audit_chains(&self) -> Result<i64, String> {
        let mut total = 0;
        for (r, n) in &self.nodes {
            match n.state.db.verify_audit_chain().await.unwrap() {
                Ok(k) => total += k,
                Err(b) => return Err(format!("{r}: breaks at {}: {}", b.seq, b.reason)),
            }
        }
        Ok(total)
    }

    /// Stops every node (no new connections, open ones drained), then drops the databases.
    async fn stop(self) {
        let mut waiting = Vec::new();
        for (_, node) in self.nodes {
            let _ = node.stop.send(());
            waiting.push((node.server, node.state, node.db));
        }
        for (server, state, db) in waiting {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .is_err()
            {
                abort.abort();
            }
            let pool = state.db.pool.clone();
            drop(state);
            pool.close().await;
            db.cleanup().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Load phases.

/// One load phase: an untimed warm-up at the same concurrency, then the timed requests.
/// Returns the figures and the connections each node accepted during the timed requests.
async fn phase(
    fed: &Federation,
    client: &reqwest::Client,
    target: &Target,
    conns: usize,
    warmup: usize,
    requests: usize,
) -> (Measured, BTreeMap<&'static str, usize>) {
    let (warm, _) = drive(client, target, conns, 0, warmup, false).await;
    let before = fed.accepted();
    let (timed, wall) = drive(client, target, conns, warmup, requests, false).await;
    let after = fed.accepted();
    let m = summarise(conns, requests, &warm, timed, wall);
    if matches!(target, Target::Post { .. }) && wall.as_secs() as i64 > LIFETIME - 30 {
        println!(
            "warning: a retrieval phase at {conns} connection(s) took {:.0} s, near the \
             presentations' {LIFETIME} s lifetime",
            wall.as_secs_f64()
        );
    }
    let accepted = after.iter().map(|(r, n)| (*r, n - before[r])).collect();
    (m, accepted)
}

#[derive(Debug)]
struct HopPhase {
    route: Route,
    m: Measured,
    /// Connections accepted during the timed requests, by node.
    accepted: BTreeMap<&'static str, usize>,
}

impl HopPhase {
    fn at_counter(&self) -> usize {
        self.accepted[self.route.counter]
    }

    /// Accepted by the nodes behind the counter's: node-to-node connections.
    fn inner(&self) -> usize {
        self.route.path[1..].iter().map(|r| self.accepted[r]).sum()
    }

    /// Accepted by nodes off the route, which nothing should have called.
    fn elsewhere(&self) -> usize {
        self.accepted
            .iter()
            .filter(|(r, _)| !self.route.path.contains(r))
            .map(|(_, n)| n)
            .sum()
    }

    /// New node-to-node connections per hop travelled, or `None` at 0 hops.
    fn per_hop(&self) -> Option<f64> {
        (self.route.hops > 0)
            .then(|| self.inner() as f64 / (self.m.requests * self.route.hops) as f64)
    }
}

/// Sends one retrieval alone and checks it took the route's path.
async fn probe(client: &reqwest::Client, counter: &Counter, body: String, route: Route) {
    let r = client
        .post(&counter.url)
        .header(AUTHORIZATION, counter.auth.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let got: Value = r.json().await.unwrap_or(Value::Null);
    assert!(
        status.is_success(),
        "{} hop(s): the probe retrieval was refused: {status} {got}",
        route.hops
    );
    assert_eq!(
        got["path"],
        json!(route.path),
        "{} hop(s): the retrieval took another path than the one this phase measures",
        route.hops
    );
}

async fn hop_phase(
    fed: &Federation,
    client: &reqwest::Client,
    route: Route,
    conns: usize,
    warmup: usize,
    requests: usize,
) -> HopPhase {
    // Signed just before the phase: every presentation lives `LIFETIME` seconds from now.
    let mut bodies = fed.presentations(route.owner, 1 + warmup + requests);
    let counter = fed.counters[route.counter].clone();
    probe(client, &counter, bodies.remove(0), route).await;
    let target = Target::Post {
        url: counter.url,
        auth: counter.auth,
        bodies: Arc::new(bodies),
    };
    let (m, accepted) = phase(fed, client, &target, conns, warmup, requests).await;
    HopPhase { route, m, accepted }
}

// ---------------------------------------------------------------------------------------------
// References: the disk and the loopback.

/// `rounds` writes of 100 bytes, each followed by `fdatasync`, timed together, in a file in
/// `dir`: appended (the file grows, so its size is flushed too) or overwritten in place in a
/// file already that large (as a reused WAL is written).
fn fdatasync_latencies(dir: &std::path::Path, rounds: usize, append: bool) -> Vec<Duration> {
    let path = dir.join(if append {
        "append.probe"
    } else {
        "overwrite.probe"
    });
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let record = [0x5au8; 100];
    if !append {
        f.write_all(&vec![0u8; 100 * rounds]).unwrap();
        f.sync_all().unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
    }
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t0 = Instant::now();
        f.write_all(&record).unwrap();
        f.sync_data().unwrap();
        out.push(t0.elapsed());
    }
    drop(f);
    let _ = std::fs::remove_file(path);
    out
}

// ---------------------------------------------------------------------------------------------
// One backend.

#[derive(Debug)]
struct BackendReport {
    backend: Backend,
    version: String,
    /// One entry per repetition (`BENCH_REPS`) on the same federation.
    reps: Vec<Rep>,
    chains: Result<i64, String>,
    elapsed: Duration,
}

/// The timed part of a run: references and hop phases, measured side by side.
#[derive(Debug)]
struct Rep {
    /// Append 100 bytes + `fdatasync`, and overwrite 100 bytes in place + `fdatasync`.
    append: Measured,
    overwrite: Measured,
    /// The 1-byte ping-pong on one kept loopback TCP connection.
    tcp: Measured,
    /// `/healthz` at 1 and at 64 connections.
    http: [Measured; 2],
    /// Hop phases at 1 connection, then at 64.
    hops: [Vec<HopPhase>; 2],
}

async fn syncs(rounds: usize, append: bool) -> Measured {
    let dir = support::scratch_dir("ecert_hops_sync");
    let d = dir.clone();
    let t0 = Instant::now();
    let l = tokio::task::spawn_blocking(move || fdatasync_latencies(&d, rounds, append))
        .await
        .unwrap();
    let m = measure(1, l, t0.elapsed());
    let _ = std::fs::remove_dir_all(dir);
    m
}

async fn run_backend(backend: Backend, plan: Plan) -> BackendReport {
    let started = Instant::now();
    let fed = Federation::start(backend).await;
    let version = common::version(&fed.nodes[HENAN].state.db).await;
    let one = client(1);
    let many = client(64);
    let mut reps = Vec::new();
    for _ in 0..common::reps() {
        reps.push(run_rep(&fed, &one, &many, plan).await);
    }
    drop((one, many));
    let chains = fed.audit_chains().await;
    fed.stop().await;
    BackendReport {
        backend,
        version,
        reps,
        chains,
        elapsed: started.elapsed(),
    }
}

async fn run_rep(
    fed: &Federation,
    one: &reqwest::Client,
    many: &reqwest::Client,
    plan: Plan,
) -> Rep {
    // The disk first, while the nodes are idle.
    let append = syncs(plan.syncs, true).await;
    let overwrite = syncs(plan.syncs, false).await;

    let t0 = Instant::now();
    let l = tcp_round_trips(plan.tcp_rounds).await;
    let tcp = measure(1, l, t0.elapsed());

    let healthz = Target::Get(format!("{}/healthz", fed.nodes[HENAN].base));
    let (w1, n1, w64, n64) = (
        plan.warmup_1,
        plan.requests_1,
        plan.warmup_64,
        plan.requests_64,
    );
    let (h1, _) = phase(fed, one, &healthz, 1, w1, n1).await;
    let mut at_1 = Vec::new();
    for route in ROUTES {
        at_1.push(hop_phase(fed, one, route, 1, w1, n1).await);
    }
    let (h64, _) = phase(fed, many, &healthz, 64, w64, n64).await;
    let mut at_64 = Vec::new();
    for route in ROUTES {
        at_64.push(hop_phase(fed, many, route, 64, w64, n64).await);
    }
    Rep {
        append,
        overwrite,
        tcp,
        http: [h1, h64],
        hops: [at_1, at_64],
    }
}

// ---------------------------------------------------------------------------------------------
// Printing.

/// Prints one backend's tables; returns whether anything failed that is not a matter of
/// speed (a refused request, a broken audit chain, a call to a node off the route).
fn print_backend(r: &BackendReport, plan: Plan) -> bool {
    let name = backend_name(r.backend, &r.version);
    println!("\n### {name}, six nodes\n");
    let mut failed = false;
    for (k, rep) in r.reps.iter().enumerate() {
        if r.reps.len() > 1 {
            println!("\n#### Repetition {} of {}\n", k + 1, r.reps.len());
        }
        failed |= print_rep(rep);
        emit_rep(backend_short(r.backend), k, rep);
    }
    let chains_ok = r.chains.is_ok();
    failed |= !chains_ok;
    println!(
        "\naudit chains of the six nodes after the run: {} ({})",
        match &r.chains {
            Ok(n) => format!("{} entries verified", thousands(*n)),
            Err(e) => e.clone(),
        },
        verdict(chains_ok)
    );
    print_backend_end(&name, plan.smoke, r.elapsed);
    failed
}

/// The figures of one repetition as `BENCH` lines: each hop phase against 0 hops, the
/// references against the HTTP round trip, and the per-hop cost against the issue's target.
fn emit_rep(section: &str, rep: usize, r: &Rep) {
    let f = |name: &str, value: f64, unit: &'static str| {
        Figure::new("hops", section, rep, name, value, unit)
    };
    f("TCP round trip, loopback p50", msf(r.tcp.p50), "ms")
        .against("/healthz round trip, 1 conn p50")
        .emit();
    f(
        "overwrite 100 B + fdatasync p50",
        msf(r.overwrite.p50),
        "ms",
    )
    .against("/healthz round trip, 1 conn p50")
    .emit();
    for (k, conns) in [1, 64].into_iter().enumerate() {
        let http = format!("/healthz round trip, {conns} conn");
        emit_measured("hops", section, rep, &http, &r.http[k], None);
        let zero = format!("retrieval 0 hops, {conns} conn");
        for p in &r.hops[k] {
            let what = format!("retrieval {} hops, {conns} conn", p.route.hops);
            let reference = if p.route.hops == 0 { &http } else { &zero };
            emit_measured("hops", section, rep, &what, &p.m, Some(reference));
        }
        let base = &r.hops[k][0];
        for p in &r.hops[k][1..] {
            let added = (msf(p.m.p50) - msf(base.m.p50)) / p.route.hops as f64;
            let name = format!("added per hop p50, {} hops, {conns} conn", p.route.hops);
            // A difference: on a noisy machine it can come out negative.
            f(&name, added, "Δ ms")
                .against(format!("{http} p50"))
                .emit();
            f(
                &format!(
                    "added per hop ÷ HTTP round trip, {} hops, {conns} conn",
                    p.route.hops
                ),
                added / msf(r.http[k].p50),
                "×",
            )
            .target(
                "<=",
                1.5,
                "issue 4: each added hop ≤ 1.5 × one loopback HTTP round trip",
            )
            .emit();
            f(
                &format!(
                    "node-to-node connections opened per hop travelled, {} hops, {conns} conn",
                    p.route.hops
                ),
                p.per_hop().unwrap_or(0.0),
                "per hop",
            )
            .target("<=", 0.01, "issue 4: no new connection per hop")
            .emit();
        }
    }
}

/// Prints one repetition's tables; returns whether anything failed that is not a matter of
/// speed (a refused request or a call to a node off the route).
fn print_rep(r: &Rep) -> bool {
    println!("References, measured in this run:\n");
    println!("| reference | connections | rounds | p50 ms | p99 ms | mean ms | rounds/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let rows = [
        ("append 100 B + `fdatasync` (scratch dir)", None, &r.append),
        (
            "overwrite 100 B in place + `fdatasync` (scratch dir)",
            None,
            &r.overwrite,
        ),
        (
            "TCP 1-byte ping-pong, one kept loopback connection",
            Some(1),
            &r.tcp,
        ),
        (
            "`GET /healthz` at 410000 (HTTP/1.1 keep-alive)",
            Some(1),
            &r.http[0],
        ),
        (
            "`GET /healthz` at 410000 (HTTP/1.1 keep-alive)",
            Some(64),
            &r.http[1],
        ),
    ];
    for (what, conns, m) in rows {
        println!(
            "| {what} | {} | {} | {} | {} | {} | {:.0} |",
            conns.map_or("–".into(), |c: usize| c.to_string()),
            thousands(m.requests as i64),
            ms(m.p50),
            ms(m.p99),
            ms(m.mean),
            m.throughput
        );
    }

    println!("\nRetrieval (`POST /api/counter/cases/{{id}}/retrievals`, the holder's own certificate, `resolve_at` = 410000):\n");
    println!("| hops | path | connections | requests | errors | p50 ms | p99 ms | mean ms | throughput req/s | connections accepted: counter node / inner nodes / off-route | new connections per hop |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    let mut failed = false;
    for p in r.hops.iter().flatten() {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} / {} / {} | {} |",
            p.route.hops,
            p.route.path.join(" → "),
            p.m.conns,
            thousands(p.m.requests as i64),
            p.m.errors,
            ms(p.m.p50),
            ms(p.m.p99),
            ms(p.m.mean),
            p.m.throughput,
            p.at_counter(),
            p.inner(),
            p.elsewhere(),
            p.per_hop().map_or("–".into(), |x| format!("{x:.4}")),
        );
    }
    for p in r.hops.iter().flatten() {
        if p.m.errors > 0 {
            failed = true;
            println!(
                "\nerrors at {} hop(s), {} connection(s): {}",
                p.route.hops,
                p.m.conns,
                p.m.error_samples.join("; ")
            );
        }
        if p.elsewhere() > 0 {
            failed = true;
            println!(
                "\n{} hop(s), {} connection(s): nodes off the route accepted connections: {:?}",
                p.route.hops, p.m.conns, p.accepted
            );
        }
    }
    for h in &r.http {
        if h.errors > 0 {
            failed = true;
            println!(
                "\nerrors in /healthz at {} connection(s): {}",
                h.conns,
                h.error_samples.join("; ")
            );
        }
    }

    let (tcp, sync) = (r.tcp.p50, r.overwrite.p50);
    println!(
        "\nTarget: each added hop costs at most 1.5× one loopback HTTP round trip (`/healthz` \
         p50 at the same number of connections):\n"
    );
    println!("| hops | connections | added per hop (p50) ms | HTTP round trip ms | ratio | threshold | verdict | ÷ TCP round trip | ÷ overwrite + fdatasync | machine time added per hop (from throughput) ms |");
    println!("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    for (k, phases) in r.hops.iter().enumerate() {
        let rtt = r.http[k].p50;
        let zero = &phases[0];
        for p in &phases[1..] {
            let hops = p.route.hops as f64;
            let added = (msf(p.m.p50) - msf(zero.m.p50)) / hops;
            let ratio = added / msf(rtt);
            // What each hop adds to the machine's time per retrieval (inverse throughput).
            let machine = (1e3 / p.m.throughput - 1e3 / zero.m.throughput) / hops;
            println!(
                "| {} | {} | {added:+.3} | {} | {ratio:.1}× | ≤ 1.5× | {} | {:.1}× | {:.1}× | {machine:+.3} |",
                p.route.hops,
                p.m.conns,
                ms(rtt),
                verdict(ratio <= 1.5),
                added / msf(tcp),
                added / msf(sync),
            );
        }
    }
    println!("\nTarget: no new connection per hop (node-to-node connections accepted during the timed requests, after warm-up):\n");
    println!("| hops | connections | node-to-node connections opened | hops travelled | threshold | verdict |");
    println!("|---:|---:|---:|---:|---:|---|");
    for p in r.hops.iter().flatten().filter(|p| p.route.hops > 0) {
        let per_hop = p.per_hop().unwrap_or(0.0);
        println!(
            "| {} | {} | {} | {} | ≤ 1 % of hops | {} |",
            p.route.hops,
            p.m.conns,
            p.inner(),
            thousands((p.m.requests * p.route.hops) as i64),
            verdict(per_hop <= 0.01),
        );
    }
    failed
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; anything but `--smoke` is ignored.
    let smoke = std::env::args().any(|a| a == "--smoke");
    let plan = Plan::new(smoke);
    let started = Instant::now();
    println!(
        "## Retrieval over 0, 1, 2 and 4 hops: {} run\n\n- date: {}\n- machine: {}\n- six \
         nodes and the load generator in one process (tokio, {} worker threads), HTTP/1.1 \
         keep-alive on 127.0.0.1, each node on its own port and database\n- HTTP phases: {} \
         requests at 1 connection, {} at 64 (after {} / {} warm-up); {} TCP round trips; {} \
         fdatasyncs of each kind\n- added per hop = (p50 at k hops − p50 at 0 hops) ÷ k; \
         added per hop from throughput = (1/X(k) − 1/X(0)) ÷ k",
        if smoke { "smoke" } else { "full" },
        common::utc_now(),
        machine(),
        cpus(),
        thousands(plan.requests_1 as i64),
        thousands(plan.requests_64 as i64),
        plan.warmup_1,
        plan.warmup_64,
        thousands(plan.tcp_rounds as i64),
        plan.syncs,
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
        "some requests were refused or an audit chain is broken (see above).",
    );
}
