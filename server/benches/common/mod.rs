//! The plumbing the node's benchmarks share: a fresh database per node, the PostgreSQL check,
//! the request-driving loop, latency statistics and the report's helpers.
//!
//! Kept in one place so that `load` and `hops` measure a request, a percentile and a
//! throughput the same way, and their figures can be read side by side.
//!
//! Beside its markdown, every bench prints each figure once more as a `BENCH {json}` line
//! (`emit`), which `scripts/bench-report.mjs` gathers into BENCHMARKS.md; `BENCH_REPS=N` repeats
//! the timed part of a run N times on the same data, so the report has a spread per figure
//! without building a million rows N times.

// Each bench compiles its own copy of this module and uses part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};
use server::db::{Backend, Db};
use server::state::Clock;
use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support;
use crate::support::PG_ADMIN;

pub fn now() -> i64 {
    Clock::system().now()
}

// ---------------------------------------------------------------------------------------------
// Databases.

/// A database of its own for one node; dropped (PostgreSQL) or deleted (SQLite) by `cleanup`.
#[derive(Debug)]
pub struct BenchDb {
    pub url: String,
    pg_name: Option<String>,
    dir: Option<std::path::PathBuf>,
}

impl BenchDb {
    pub async fn new(backend: Backend, prefix: &str) -> BenchDb {
        match backend {
            Backend::Sqlite => {
                let dir = support::scratch_dir(prefix);
                BenchDb {
                    url: support::sqlite_url(&dir),
                    pg_name: None,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let (name, url) = support::create_pg_database(prefix).await;
                BenchDb {
                    url,
                    pg_name: Some(name),
                    dir: None,
                }
            }
        }
    }

    pub async fn cleanup(self) {
        if let Some(name) = &self.pg_name {
            support::drop_pg_database(name).await;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Whether the PostgreSQL server answers, within a few seconds.
async fn postgres_reachable() -> Result<String, String> {
    use sqlx::Connection;
    let attempt = async {
        let mut c = sqlx::PgConnection::connect(PG_ADMIN).await?;
        let v: String = sqlx::query("SHOW server_version")
            .fetch_one(&mut c)
            .await?
            .try_get(0)?;
        c.close().await.ok();
        Ok::<String, sqlx::Error>(v)
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 s".into()),
    }
}

/// The backends to measure: SQLite, and PostgreSQL when it answers. A smoke run without
/// PostgreSQL says so and goes on; a full run without it exits, since its report would be
/// missing half its figures.
pub async fn backends(smoke: bool) -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    match postgres_reachable().await {
        Ok(_) => backends.push(Backend::Postgres),
        Err(e) if smoke => println!(
            "\nPostgreSQL is unreachable at {PG_ADMIN} ({e}): the smoke run measures SQLite only."
        ),
        Err(e) => {
            println!(
                "\nPostgreSQL is unreachable at {PG_ADMIN} ({e}): the full run needs it; failing."
            );
            std::process::exit(1);
        }
    }
    backends
}

/// The database server's version, as the report names it.
pub async fn version(db: &Db) -> String {
    sqlx::query(match db.backend {
        Backend::Sqlite => "SELECT sqlite_version()",
        Backend::Postgres => "SHOW server_version",
    })
    .fetch_one(&db.pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Driving requests.

/// A setup request, which must succeed: its JSON reply, or `Null` if it has none.
pub async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Value {
    let mut req = client.post(&url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "setup: POST {url}: {status} {body}");
    body
}

/// A client whose pool keeps one idle connection per worker, so that every worker stays on
/// its keep-alive connection between phases.
pub fn client(conns: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(conns.max(1))
        .pool_idle_timeout(Duration::from_secs(600))
        .tcp_nodelay(true)
        .build()
        .unwrap()
}

/// What a phase sends.
#[derive(Debug, Clone)]
pub enum Target {
    Get(String),
    /// A JSON POST with the clerk's authorization.
    Post {
        url: String,
        auth: HeaderValue,
        /// Pre-signed request bodies, one per request.
        bodies: Arc<Vec<String>>,
    },
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub latencies: Vec<Duration>,
    pub errors: usize,
    pub error_samples: Vec<String>,
    /// Index and body of each 2xx reply, when asked for.
    pub replies: Vec<(usize, axum::body::Bytes)>,
}

/// Runs requests `first..first + requests` of the target with `conns` workers each looping
/// one at a time on the shared client; keeps the 2xx replies' bodies if `keep_replies`.
/// Returns the outcome and the wall time.
pub async fn drive(
    client: &reqwest::Client,
    target: &Target,
    conns: usize,
    first: usize,
    requests: usize,
    keep_replies: bool,
) -> (Outcome, Duration) {
    let next = Arc::new(AtomicUsize::new(first));
    let end = first + requests;
    let started = Instant::now();
    let mut workers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let (next, client, target) = (next.clone(), client.clone(), target.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Outcome {
                latencies: Vec::with_capacity(requests / conns + 1),
                ..Outcome::default()
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let req = match &target {
                    Target::Get(url) => client.get(url),
                    Target::Post { url, auth, bodies } => client
                        .post(url)
                        .header(AUTHORIZATION, auth.clone())
                        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                        .body(bodies[i].clone()),
                };
                let t0 = Instant::now();
                let reply = match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        r.bytes().await.map(|b| (status, b))
                    }
                    Err(e) => Err(e),
                };
                let dt = t0.elapsed();
                match reply {
                    Ok((status, body)) if status.is_success() => {
                        out.latencies.push(dt);
                        // Parsed by the caller after the phase, so the client's JSON work
                        // stays out of it.
                        if keep_replies {
                            out.replies.push((i, body));
                        }
                    }
                    Ok((status, body)) => {
                        out.latencies.push(dt);
                        out.errors += 1;
                        if out.error_samples.len() < 5 {
                            let code = serde_json::from_slice::<Value>(&body)
                                .ok()
                                .and_then(|v| v["code"].as_str().map(str::to_owned))
                                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
                            out.error_samples.push(format!("{status} {code}"));
                        }
                    }
                    Err(e) => {
                        out.errors += 1;
                        if out.error_samples.len() < 5 {
                            out.error_samples.push(format!("transport: {e}"));
                        }
                    }
                }
            }
            out
        }));
    }
    let mut all = Outcome::default();
    for w in workers {
        let out = w.await.unwrap();
        all.latencies.extend(out.latencies);
        all.errors += out.errors;
        all.error_samples.extend(out.error_samples);
        all.replies.extend(out.replies);
    }
    let wall = started.elapsed();
    all.error_samples.truncate(5);
    (all, wall)
}

// ---------------------------------------------------------------------------------------------
// Statistics.

#[derive(Debug, Clone)]
pub struct Measured {
    pub conns: usize,
    pub requests: usize,
    pub errors: usize,
    pub error_samples: Vec<String>,
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub throughput: f64,
}

/// The nearest-rank percentile of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Percentiles of `latencies`, with throughput as their count over `wall`.
pub fn measure(conns: usize, mut latencies: Vec<Duration>, wall: Duration) -> Measured {
    latencies.sort_unstable();
    let mean = if latencies.is_empty() {
        Duration::ZERO
    } else {
        latencies.iter().sum::<Duration>() / latencies.len() as u32
    };
    Measured {
        conns,
        requests: latencies.len(),
        errors: 0,
        error_samples: Vec::new(),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        mean,
        throughput: latencies.len() as f64 / wall.as_secs_f64(),
    }
}

/// A phase's figures: throughput counts every timed request, a refused one too, and the
/// warm-up's errors are reported with the phase's, first.
pub fn summarise(
    conns: usize,
    requests: usize,
    warm: &Outcome,
    timed: Outcome,
    wall: Duration,
) -> Measured {
    let mut m = measure(conns, timed.latencies, wall);
    m.requests = requests;
    m.throughput = requests as f64 / wall.as_secs_f64();
    m.errors = timed.errors + warm.errors;
    m.error_samples = timed.error_samples;
    if warm.errors > 0 {
        m.error_samples
            .insert(0, format!("{} error(s) in the warm-up", warm.errors));
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Printing.

pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (k, c) in s.chars().enumerate() {
        if k > 0 && (s.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

/// The heading a backend's tables go under.
pub fn backend_name(backend: Backend, version: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SQLite {version} (WAL, synchronous=FULL)"),
        Backend::Postgres => format!("PostgreSQL {version}"),
    }
}

/// A backend's name as a section of the machine-readable figures.
pub fn backend_short(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

/// The last lines of a backend's report.
pub fn print_backend_end(name: &str, smoke: bool, elapsed: Duration) {
    if smoke {
        println!("\n(smoke run: the figures only show that each benchmark runs)");
    }
    println!("\n({} run in {:.1} s)", name, elapsed.as_secs_f64());
}

/// The last lines of the run; exits non-zero with `why` if anything failed.
pub fn finish(started: Instant, failed: bool, why: &str) {
    println!("\n(total {:.1} s)", started.elapsed().as_secs_f64());
    if failed {
        println!("\nFAILED: {why}");
        std::process::exit(1);
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` from the system clock (days-to-civil after H. Hinnant).
pub fn utc_now() -> String {
    let secs = now();
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The CPUs this process may use: also tokio's default worker-thread count.
pub fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0)
}

/// `N CPU(s) (nproc), model`.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{} CPU(s) (nproc), {model}", cpus())
}

/// `, N GiB RAM`, or nothing where `/proc/meminfo` does not say.
pub fn memory() -> String {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| format!(", {:.1} GiB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Machine-readable figures and repetitions.

/// How many times the timed part of a run is repeated on the same data: `BENCH_REPS`, at least 1.
pub fn reps() -> usize {
    std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}

/// One figure of this run as a `BENCH {json}` line.
#[derive(Debug, Clone)]
pub struct Figure {
    pub bench: &'static str,
    pub section: String,
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub rep: usize,
    /// The figure, in the same bench, section and repetition, this one is compared with.
    pub reference: Option<String>,
    /// A target from an issue: `(operator, threshold, where it was stated)`.
    pub target: Option<(&'static str, f64, &'static str)>,
}

impl Figure {
    pub fn new(
        bench: &'static str,
        section: impl Into<String>,
        rep: usize,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) -> Figure {
        Figure {
            bench,
            section: section.into(),
            name: name.into(),
            value,
            unit,
            rep,
            reference: None,
            target: None,
        }
    }

    pub fn against(mut self, reference: impl Into<String>) -> Figure {
        self.reference = Some(reference.into());
        self
    }

    pub fn target(mut self, op: &'static str, threshold: f64, source: &'static str) -> Figure {
        self.target = Some((op, threshold, source));
        self
    }

    pub fn emit(self) {
        let mut v = json!({
            "bench": self.bench,
            "section": self.section,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "rep": self.rep,
        });
        if let Some(r) = self.reference {
            v["ref"] = json!(r);
        }
        if let Some((op, threshold, source)) = self.target {
            v["target"] = json!({ "op": op, "value": threshold, "source": source });
        }
        println!("BENCH {v}");
    }
}

/// Milliseconds, for figures.
pub fn msf(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A phase's p50, p99 and throughput as figures named `{what} p50` etc., each against the same
/// statistic of `reference` (another phase's `what`) when given.
pub fn emit_measured(
    bench: &'static str,
    section: &str,
    rep: usize,
    what: &str,
    m: &Measured,
    reference: Option<&str>,
) {
    let stats = [
        ("p50", msf(m.p50), "ms"),
        ("p99", msf(m.p99), "ms"),
        ("throughput", m.throughput, "req/s"),
    ];
    for (stat, value, unit) in stats {
        let mut f = Figure::new(bench, section, rep, format!("{what} {stat}"), value, unit);
        if let Some(r) = reference {
            f = f.against(format!("{r} {stat}"));
        }
        f.emit();
    }
}

/// A 1-byte ping-pong on one kept loopback TCP connection (TCP_NODELAY on both ends):
/// `rounds` round trips after `rounds / 10` untimed ones. The floor under any HTTP round trip.
pub async fn tcp_round_trips(rounds: usize) -> Vec<Duration> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).await.is_ok() {
            if s.write_all(&b).await.is_err() {
                break;
            }
        }
    });
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.set_nodelay(true).unwrap();
    let mut b = [7u8; 1];
    let warm = rounds / 10;
    let mut out = Vec::with_capacity(rounds);
    for i in 0..warm + rounds {
        let t0 = Instant::now();
        c.write_all(&b).await.unwrap();
        c.read_exact(&mut b).await.unwrap();
        if i >= warm {
            out.push(t0.elapsed());
        }
    }
    drop(c);
    let _ = echo.await;
    out
}
