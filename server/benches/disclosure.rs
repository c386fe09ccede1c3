//! Public search (社会公示, scenario 5) latency with 1,000 and with 1,000,000 permits stored.
//!
//! For each backend (SQLite, then PostgreSQL) it runs the province (410000) and Luohe
//! (411100) in this process, each on its own 127.0.0.1 port and fresh database. Luohe's
//! 生态环境局 issues a few real 排污许可证 through the issuance route, whose pushes reach the
//! province's index; the rest of the register is synthetic: Henan-style enterprise names
//! (city, sometimes a district, a two-character 字号, an industry, a legal form) written
//! straight into Luohe's certificate table (copies of a real sealed permit under other ids and
//! names) and into the province's index and search listing, as the pushes would have left them.
//!
//! Each phase sends `GET /api/public/disclosures?q=…` to the province, one request at a time on
//! one keep-alive connection, after an untimed warm-up: the whole path of the scenario — rate
//! limit, listing, ranking, one signed call to Luohe for the current state of the best ten,
//! answer. The queries are drawn from the stored names: half full names (the notice has people
//! search by 企业全称), three in ten 字号 plus industry (`清源食品`), two in ten the 字号 alone
//! (`清源`). A query matching more than 200 names is refused (`search_too_broad`); such answers
//! are timed like the others and counted. Beside it, the listing's query alone
//! (`Db::disclosure_candidates`) at the province, so the index's share is visible.
//!
//! The target (issue 6): p99 ≤ 20 ms at 1,000,000 permits, and at most 3× the p99 at 1,000.
//! Nothing here asserts on time.
//!
//! Run: `cargo bench -p server --bench disclosure` (full, several minutes: it writes two
//! million rows per backend) or `cargo bench -p server --bench disclosure -- --smoke` (1,000 and
//! 10,000 permits, a few requests: proves every figure is produced). For a quicker look,
//! `DISCLOSURE_BENCH_LARGE=200000` sets the larger register and `DISCLOSURE_BENCH_BACKEND=sqlite`
//! (or `postgres`) measures one backend. PostgreSQL is expected at
//! postgres://postgres@127.0.0.1:5432 (trust auth); without it the smoke run measures SQLite
//! only and the full run fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::db::audit::{hex_sha256, AuditEntry};
use server::db::disclosure::Candidates;
use server::db::Backend;
use server::disclosure::name::{bigrams, fts_token, normalise, rank, NameQuery};
use sqlx::Row;
use support::nodes::{add_toml, eventually, Federation, START};
use wallet_core::{CertId, CreditCode};

use common::{
    backend_name, backend_short, finish, machine, memory, ms, msf, percentile, print_backend_end,
    thousands, verdict, Figure,
};

const HENAN: &str = "410000";
const LUOHE: &str = "411100";
const EE_TOKEN: &str = "disclosure-bench-ee-token-0001";
const DAY: i64 = 86_400;
/// Real permits issued through the route before the synthetic ones are added.
const REAL: usize = 20;
/// Rows per multi-row INSERT while growing the register.
const ROWS_PER_INSERT: usize = 500;

#[derive(Debug, Clone, Copy)]
struct Plan {
    smoke: bool,
    small: usize,
    large: usize,
    requests: usize,
    warmup: usize,
}

impl Plan {
    fn new(smoke: bool) -> Plan {
        let mut plan = Plan::sized(smoke);
        if let Some(n) = std::env::var("DISCLOSURE_BENCH_LARGE")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            plan.large = n;
        }
        plan
    }

    fn sized(smoke: bool) -> Plan {
        if smoke {
            Plan {
                smoke,
                small: 1_000,
                large: 10_000,
                requests: 60,
                warmup: 10,
            }
        } else {
            Plan {
                smoke,
                small: 1_000,
                large: 1_000_000,
                requests: 2_000,
                warmup: 200,
            }
        }
    }
}

fn ee() -> CreditCode {
    CreditCode::with_check_char("11411100MB0000403").unwrap()
}

fn permit_type() -> String {
    format!(
        "{}001",
        CreditCode::with_check_char("11100000MB0000014").unwrap()
    )
}

// ---------------------------------------------------------------------------------------------
// Synthetic register.

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const CITIES: [&str; 18] = [
    "郑州市",
    "开封市",
    "洛阳市",
    "平顶山市",
    "安阳市",
    "鹤壁市",
    "新乡市",
    "焦作市",
    "濮阳市",
    "许昌市",
    "漯河市",
    "三门峡市",
    "南阳市",
    "商丘市",
    "信阳市",
    "周口市",
    "驻马店市",
    "济源市",
];
const DISTRICTS: [&str; 12] = [
    "",
    "",
    "",
    "",
    "源汇区",
    "郾城区",
    "召陵区",
    "金水区",
    "中原区",
    "高新区",
    "经济技术开发区",
    "示范区",
];
/// Characters of 字号: two of them make an enterprise's distinctive name.
const ZIHAO: &str = "清源绿金安达青禾豫通华康泰丰盛兴隆宏远恒信和顺永昌鑫瑞祥利民新东方天中宇正大光明润泽海丽美佳宝联众诚德福嘉汇创辉春秋江河山水林木石玉龙凤鹏飞腾骏驰星月阳晨晓曦云风雷雨雪霜冰晶彩虹锦绣荣耀鼎力豪杰英伟博雅文艺";
const INDUSTRIES: [&str; 30] = [
    "食品",
    "纸业",
    "化工",
    "热电",
    "塑料制品",
    "肉制品加工",
    "建材",
    "水泥",
    "制药",
    "纺织",
    "印染",
    "皮革",
    "电镀",
    "铸造",
    "钢铁",
    "焦化",
    "陶瓷",
    "玻璃",
    "农牧",
    "养殖",
    "酿酒",
    "饮料",
    "环保科技",
    "电子",
    "机械",
    "汽车零部件",
    "涂料",
    "橡胶",
    "冶炼",
    "污水处理",
];
const FORMS: [&str; 5] = [
    "有限公司",
    "有限责任公司",
    "股份有限公司",
    "厂",
    "集团有限公司",
];

/// The parts of the `i`th synthetic enterprise's name: (whole name, 字号, industry).
fn enterprise(i: u64) -> (String, String, &'static str) {
    let mut r = splitmix64(i ^ 0x5eed);
    let mut pick = |n: usize| {
        r = splitmix64(r);
        (r % n as u64) as usize
    };
    let zihao: Vec<char> = ZIHAO.chars().collect();
    let z: String = [zihao[pick(zihao.len())], zihao[pick(zihao.len())]]
        .iter()
        .collect();
    let industry = INDUSTRIES[pick(INDUSTRIES.len())];
    let name = format!(
        "{}{}{z}{industry}{}",
        CITIES[pick(CITIES.len())],
        DISTRICTS[pick(DISTRICTS.len())],
        FORMS[pick(FORMS.len())]
    );
    (name, z, industry)
}

/// The `i`th synthetic enterprise's credit code (valid check character) and permit id.
fn identity(i: u64) -> (String, String) {
    const SYMBOLS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut v = splitmix64(i ^ 0xc0de);
    let subject: String = (0..9)
        .map(|_| {
            let c = SYMBOLS[(v % 31) as usize] as char;
            v /= 31;
            c
        })
        .collect();
    let code = CreditCode::with_check_char(&format!("91411102{subject}"))
        .unwrap()
        .to_string();
    let serial = format!("{:016X}", splitmix64(i ^ 0x1d));
    let id = CertId::new(&permit_type(), &ee(), &serial[..16], 1)
        .unwrap()
        .to_string();
    (code, id)
}

/// What a real permit looks like once stored, used as the template of the synthetic ones.
struct Template {
    sealed: String,
    valid_from: i64,
    valid_until: Option<i64>,
    issued_at: i64,
    type_name: String,
    issuer_name: String,
    disclosable: BTreeMap<String, String>,
}

fn placeholders(backend: Backend, rows: usize, cols: usize, first: usize) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push(',');
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push(',');
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => out.push_str(&format!("${}", first + r * cols + c)),
            }
        }
        out.push(')');
    }
    out
}

/// Adds synthetic permits `from..to` to Luohe's certificates and to the province's index and
/// listing, with the listing's bigram counts, as the pushes would have.
async fn grow(fed: &Federation, t: &Template, from: usize, to: usize) {
    let city = &fed.state(LUOHE).db;
    let province = &fed.state(HENAN).db;
    let backend = city.backend;
    let type_code = permit_type();
    let issuer = ee().to_string();
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut next_id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM disclosure_names")
        .fetch_one(&province.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let mut i = from;
    let started = Instant::now();
    let mut reported = from;
    while i < to {
        // A million rows take minutes: say how far the growth is, on stderr beside the report.
        if i - reported >= 100_000 {
            reported = i;
            eprintln!(
                "disclosure: {backend:?} register at {} of {} permits ({:.0} s)",
                thousands(i as i64),
                thousands(to as i64),
                started.elapsed().as_secs_f64()
            );
        }
        let n = ROWS_PER_INSERT.min(to - i);
        let rows: Vec<(String, String, String)> = (i..i + n)
            .map(|k| {
                let (name, _, _) = enterprise(k as u64);
                let (code, id) = identity(k as u64);
                (name, code, id)
            })
            .collect();

        let sql = format!(
            "INSERT INTO certificates (id, type_code, holder_kind, holder_id, holder_name, \
             issuer_code, sealed, status, valid_from, valid_until, issued_at) VALUES {}",
            placeholders(backend, n, 11, 1)
        );
        let mut q = sqlx::query(&sql);
        for (name, code, id) in &rows {
            q = q
                .bind(id)
                .bind(&type_code)
                .bind("enterprise")
                .bind(code)
                .bind(name)
                .bind(&issuer)
                .bind(&t.sealed)
                .bind("valid")
                .bind(t.valid_from)
                .bind(t.valid_until)
                .bind(t.issued_at);
        }
        q.execute(&city.pool).await.unwrap();

        let mut tx = province.pool.begin().await.unwrap();
        let sql = format!(
            "INSERT INTO cert_index (cert_id, type_code, type_name, issuer_code, issuer_name, \
             owner_region, holder_kind, holder_key, enterprise_name, status, valid_from, \
             valid_until, disclosable, seq, event_at, received_at) VALUES {}",
            placeholders(backend, n, 16, 1)
        );
        let mut q = sqlx::query(&sql);
        for (k, (name, code, id)) in rows.iter().enumerate() {
            let mut fields = t.disclosable.clone();
            fields.insert("单位名称".into(), name.clone());
            fields.insert("许可证编号".into(), format!("{code}001P"));
            q = q
                .bind(id)
                .bind(&type_code)
                .bind(&t.type_name)
                .bind(&issuer)
                .bind(&t.issuer_name)
                .bind(LUOHE)
                .bind("enterprise")
                .bind(code)
                .bind(name)
                .bind("valid")
                .bind(t.valid_from)
                .bind(t.valid_until)
                .bind(serde_json::to_string(&fields).unwrap())
                .bind(1_000_000 + (i + k) as i64)
                .bind(t.issued_at)
                .bind(t.issued_at);
        }
        q.execute(&mut *tx).await.unwrap();

        let listed: Vec<(i64, &str, String)> = rows
            .iter()
            .map(|(name, _, id)| {
                next_id += 1;
                (next_id, id.as_str(), normalise(name))
            })
            .collect();
        let cols = if backend == Backend::Sqlite { 6 } else { 5 };
        let sql =
            format!(
            "INSERT INTO disclosure_names ({}cert_id, type_code, name, norm, valid_from) VALUES {}",
            if backend == Backend::Sqlite { "id, " } else { "" },
            placeholders(backend, n, cols, 1)
        );
        let mut q = sqlx::query(&sql);
        for ((id, cert_id, norm), (name, _, _)) in listed.iter().zip(&rows) {
            if backend == Backend::Sqlite {
                q = q.bind(*id);
            }
            q = q
                .bind(*cert_id)
                .bind(&type_code)
                .bind(name)
                .bind(norm)
                .bind(t.valid_from);
        }
        q.execute(&mut *tx).await.unwrap();
        if backend == Backend::Sqlite {
            let sql = format!(
                "INSERT INTO disclosure_fts (rowid, grams) VALUES {}",
                placeholders(backend, n, 2, 1)
            );
            let mut q = sqlx::query(&sql);
            for (id, _, norm) in &listed {
                let tokens: Vec<String> = bigrams(norm).iter().map(|g| fts_token(g)).collect();
                q = q.bind(*id).bind(tokens.join(" "));
            }
            q.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        for (_, _, norm) in &listed {
            for g in bigrams(norm) {
                *counts.entry(g).or_default() += 1;
            }
        }
        i += n;
    }
    let counts: Vec<(String, i64)> = counts.into_iter().collect();
    for chunk in counts.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO disclosure_grams (gram, names) VALUES {} \
             ON CONFLICT (gram) DO UPDATE SET names = disclosure_grams.names + excluded.names",
            placeholders(backend, chunk.len(), 2, 1)
        );
        let mut q = sqlx::query(&sql);
        for (g, n) in chunk {
            q = q.bind(g).bind(*n);
        }
        q.execute(&province.pool).await.unwrap();
    }
}

/// Brings the tables to a steady state after a bulk load, outside any timing.
async fn settle(fed: &Federation) {
    for region in [HENAN, LUOHE] {
        let db = &fed.state(region).db;
        let statements: &[&str] = match db.backend {
            Backend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)", "ANALYZE"],
            Backend::Postgres => &[
                "CHECKPOINT",
                "VACUUM (ANALYZE) certificates",
                "VACUUM (ANALYZE) cert_index",
                "VACUUM (ANALYZE) disclosure_names",
                "VACUUM (ANALYZE) disclosure_grams",
            ],
        };
        for s in statements {
            sqlx::query(s).execute(&db.pool).await.unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The two nodes.

async fn start(backend: Backend) -> Federation {
    Federation::start(&[HENAN, LUOHE], backend, |region, s| {
        if region == LUOHE {
            add_toml(
                s,
                &format!(
                    r#"
[[departments]]
credit_code = "{ee}"
name = "漯河市生态环境局"
token = "{EE_TOKEN}"

[[cert_types]]
code = "{permit}"
name = "排污许可证"
department = "{ee}"
holder_kind = "enterprise"
disclosable = true
fields = [
  {{ name = "许可证编号", required = true, disclosable = true }},
  {{ name = "单位名称", required = true, disclosable = true }},
  {{ name = "有效期限", required = true, disclosable = true }},
  {{ name = "发证机关", required = true, disclosable = true }},
  {{ name = "行业类别", required = true }},
  {{ name = "法定代表人", required = true }},
  {{ name = "生产经营场所地址", required = true }},
]
"#,
                    ee = ee(),
                    permit = permit_type(),
                ),
            );
        }
        // One client sends every request here; the limit is not what is measured.
        s.public.searches_per_minute = 100_000;
    })
    .await
}

/// Issues the real permits (synthetic numbers `u64::MAX - k`) and waits for the province's index.
async fn issue_real(fed: &Federation) -> Template {
    for k in 0..REAL as u64 {
        let (name, _, industry) = enterprise(u64::MAX - k);
        let (code, _) = identity(u64::MAX - k);
        let (status, body) = fed
            .post(
                LUOHE,
                "/api/issuer/certificates",
                Some(EE_TOKEN),
                &json!({
                    "type_code": permit_type(),
                    "holder_kind": "enterprise",
                    "holder_id": code,
                    "holder_name": name,
                    "valid_from": START - 400 * DAY,
                    "valid_until": START + 1_400 * DAY,
                    "fields": {
                        "许可证编号": format!("{code}001P"),
                        "单位名称": name,
                        "有效期限": "自2025年08月17日至2030年06月16日",
                        "发证机关": "漯河市生态环境局",
                        "行业类别": industry,
                        "法定代表人": "吴志强",
                        "生产经营场所地址": "漯河市源汇区嵩山路食品产业园12号",
                    }
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let province = fed.state(HENAN).db.clone();
    eventually(
        "the real permits at the province",
        Duration::from_secs(30),
        || {
            let province = province.clone();
            async move {
                let n: i64 = sqlx::query("SELECT COUNT(*) FROM disclosure_names")
                    .fetch_one(&province.pool)
                    .await
                    .ok()?
                    .try_get(0)
                    .ok()?;
                (n == REAL as i64).then_some(())
            }
        },
    )
    .await;
    let city = &fed.state(LUOHE).db;
    let row = sqlx::query("SELECT id FROM certificates LIMIT 1")
        .fetch_one(&city.pool)
        .await
        .unwrap();
    let id: String = row.try_get(0).unwrap();
    let stored = city.certificate(&id).await.unwrap().unwrap();
    let indexed = province.indexed_certificate(&id).await.unwrap().unwrap();
    Template {
        sealed: stored.sealed,
        valid_from: stored.valid_from,
        valid_until: stored.valid_until,
        issued_at: stored.issued_at,
        type_name: indexed.meta.type_name,
        issuer_name: indexed.meta.issuer_name,
        disclosable: indexed.meta.disclosable.unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    FullName,
    ZihaoIndustry,
    Zihao,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::FullName => "全称 (full name)",
            Kind::ZihaoIndustry => "字号+行业 (e.g. 清源食品)",
            Kind::Zihao => "字号 (e.g. 清源)",
        }
    }
}

/// `count` queries drawn from the first `stored` synthetic names: half full names, three in
/// ten 字号 + industry, two in ten the 字号 alone.
fn queries(stored: usize, count: usize, seed: &mut u64) -> Vec<(Kind, String)> {
    (0..count)
        .map(|_| {
            *seed = splitmix64(*seed);
            let (name, zihao, industry) = enterprise(*seed % stored as u64);
            match (*seed >> 40) % 10 {
                0..=4 => (Kind::FullName, name),
                5..=7 => (Kind::ZihaoIndustry, format!("{zihao}{industry}")),
                _ => (Kind::Zihao, zihao),
            }
        })
        .collect()
}

#[derive(Debug, Default)]
struct Timed {
    all: Vec<Duration>,
    by_kind: BTreeMap<Kind, Vec<Duration>>,
    answered: usize,
    too_broad: usize,
    results: usize,
    from_owner: usize,
    errors: Vec<String>,
}

/// Sends each query to the province, one at a time on one keep-alive connection.
async fn time_http(fed: &Federation, client: &reqwest::Client, qs: &[(Kind, String)]) -> Timed {
    let url = format!("{}/api/public/disclosures", fed.url(HENAN));
    let mut t = Timed::default();
    for (kind, q) in qs {
        let t0 = Instant::now();
        let r = client.get(&url).query(&[("q", q)]).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        let dt = t0.elapsed();
        t.all.push(dt);
        t.by_kind.entry(*kind).or_default().push(dt);
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match status {
            200 => {
                t.answered += 1;
                let results = v["results"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                t.results += results.len();
                t.from_owner += results.iter().filter(|r| r["source"] == "owner").count();
            }
            400 if v["code"] == "search_too_broad" => t.too_broad += 1,
            _ => {
                if t.errors.len() < 5 {
                    t.errors.push(format!("{status} {}", v["code"]));
                }
            }
        }
    }
    t
}

/// The listing's query alone, through the province's pool.
async fn time_index(fed: &Federation, qs: &[(Kind, String)]) -> Vec<Duration> {
    let db = &fed.state(HENAN).db;
    let mut out = Vec::with_capacity(qs.len());
    for (_, q) in qs {
        let q = NameQuery::parse(q).unwrap();
        let t0 = Instant::now();
        db.disclosure_candidates(&q, None, 200).await.unwrap();
        out.push(t0.elapsed());
    }
    out
}

/// The database steps of one search, each timed alone in the order the search takes them.
const STEPS: [&str; 6] = [
    "province: count the client's search (rate limit, soft commit)",
    "province: listing query (bigram counts, candidates)",
    "province: which of the best ten are held here",
    "province: index entries of the best ten",
    "city: current state of its matches (describe each)",
    "city: record the call (token id + audit entry, one commit)",
];

async fn time_steps(fed: &Federation, qs: &[(Kind, String)]) -> Vec<Vec<Duration>> {
    let province = &fed.state(HENAN).db;
    let city = &fed.state(LUOHE).db;
    let mut out = vec![Vec::with_capacity(qs.len()); STEPS.len()];
    for (n, (_, q)) in qs.iter().enumerate() {
        let q = NameQuery::parse(q).unwrap();
        let mut lap = Instant::now();
        let mut step = |k: usize, out: &mut Vec<Vec<Duration>>| {
            out[k].push(lap.elapsed());
            lap = Instant::now();
        };
        province
            .hit_rate_window("search:bench", 0, server::disclosure::client::WINDOW)
            .await
            .unwrap();
        step(0, &mut out);
        let found = match province.disclosure_candidates(&q, None, 200).await.unwrap() {
            Candidates::Found(found) => found,
            Candidates::TooBroad => Vec::new(),
        };
        step(1, &mut out);
        let ids: Vec<String> = rank(&q, found)
            .into_iter()
            .take(10)
            .map(|l| l.cert_id)
            .collect();
        province.disclosable_held(&ids, START).await.unwrap();
        step(2, &mut out);
        province.indexed_certificates(&ids).await.unwrap();
        step(3, &mut out);
        city.disclosable_held(&ids, START).await.unwrap();
        step(4, &mut out);
        let audit = AuditEntry {
            at: START,
            correlation_id: format!("bench-{n}"),
            action: "disclosure".into(),
            actor: "node:410000".into(),
            subject: "public_search".into(),
            detail: "{}".into(),
            result: "ok".into(),
            request_hash: hex_sha256(b"request"),
            response_hash: hex_sha256(b"response"),
            latency_ms: 0,
        };
        let jti = format!("bench-step-{n}-{}", q.norm);
        city.record_disclosure_call((&jti, HENAN, START + 60), &audit)
            .await
            .unwrap();
        step(5, &mut out);
    }
    for v in &mut out {
        v.sort_unstable();
    }
    out
}

/// The 1-minute load average (`/proc/loadavg`): on a shared machine, other work is part of
/// every tail latency measured here.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// `fdatasync` after overwriting 100 bytes, `n` times, in a scratch directory on the same disk
/// as the databases: the floor under every commit a search makes, as the disk is right now.
fn time_fsync(n: usize) -> Vec<Duration> {
    use std::io::{Seek, SeekFrom, Write};
    let dir = support::scratch_dir("ecert_disclosure_sync");
    let mut f = std::fs::File::create(dir.join("probe")).unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        f.seek(SeekFrom::Start(0)).unwrap();
        let t0 = Instant::now();
        f.write_all(&[7u8; 100]).unwrap();
        f.sync_data().unwrap();
        out.push(t0.elapsed());
    }
    let _ = std::fs::remove_dir_all(dir);
    out.sort_unstable();
    out
}

#[derive(Debug)]
struct Level {
    stored: i64,
    /// Load average before and after the timed requests.
    load: (String, String),
    fsync: Vec<Duration>,
    http: Timed,
    index: Vec<Duration>,
    steps: Vec<Vec<Duration>>,
}

async fn measure(
    fed: &Federation,
    client: &reqwest::Client,
    stored: usize,
    plan: Plan,
    seed: &mut u64,
) -> Level {
    let warm = queries(stored, plan.warmup, seed);
    time_http(fed, client, &warm).await;
    time_index(fed, &warm).await;
    let qs = queries(stored, plan.requests, seed);
    let fsync = time_fsync(200);
    let before = load_average();
    let mut http = time_http(fed, client, &qs).await;
    let load = (before, load_average());
    http.all.sort_unstable();
    for v in http.by_kind.values_mut() {
        v.sort_unstable();
    }
    let mut index = time_index(fed, &qs).await;
    index.sort_unstable();
    let steps = time_steps(fed, &qs).await;
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM cert_index")
        .fetch_one(&fed.state(HENAN).db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    Level {
        stored,
        load,
        fsync,
        http,
        index,
        steps,
    }
}

#[derive(Debug)]
struct Report {
    backend: Backend,
    version: String,
    /// Each level measured once per repetition (`BENCH_REPS`); the register is grown once.
    small: Vec<Level>,
    large: Vec<Level>,
    growth: Duration,
    elapsed: Duration,
}

async fn run_backend(backend: Backend, plan: Plan) -> Report {
    let started = Instant::now();
    let mut fed = start(backend).await;
    let version = common::version(&fed.state(HENAN).db).await;
    let template = issue_real(&fed).await;
    let client = common::client(1);
    let mut seed = 0x5ca1ab1e_u64;
    grow(&fed, &template, 0, plan.small - REAL).await;
    settle(&fed).await;
    let mut small = Vec::new();
    for _ in 0..common::reps() {
        small.push(measure(&fed, &client, plan.small - REAL, plan, &mut seed).await);
    }
    let t0 = Instant::now();
    grow(&fed, &template, plan.small - REAL, plan.large - REAL).await;
    let growth = t0.elapsed();
    settle(&fed).await;
    let mut large = Vec::new();
    for _ in 0..common::reps() {
        large.push(measure(&fed, &client, plan.large - REAL, plan, &mut seed).await);
    }
    fed.stop(HENAN).await;
    fed.stop(LUOHE).await;
    Report {
        backend,
        version,
        small,
        large,
        growth,
        elapsed: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// Printing.

fn p(d: &[Duration], q: f64) -> String {
    ms(percentile(d, q))
}

fn print_report(r: &Report, plan: Plan) -> bool {
    let name = backend_name(r.backend, &r.version);
    println!("\n### {name}\n");
    let mut failed = false;
    for (k, (small, large)) in r.small.iter().zip(&r.large).enumerate() {
        if r.small.len() > 1 {
            println!("\n#### Repetition {} of {}\n", k + 1, r.small.len());
        }
        failed |= print_levels(small, large);
        emit_levels(backend_short(r.backend), k, small, large);
    }
    println!(
        "\n(growing the register by {} permits at the city and at the province took {:.1} s, outside the timing)",
        thousands((plan.large - plan.small) as i64),
        r.growth.as_secs_f64()
    );
    print_backend_end(&name, plan.smoke, r.elapsed);
    failed
}

/// One repetition's figures as `BENCH` lines: the larger register against the smaller, and the
/// issue's two targets.
fn emit_levels(section: &str, rep: usize, small: &Level, large: &Level) {
    let at = |l: &Level| format!("public search at {} permits", thousands(l.stored));
    let (s, l) = (at(small), at(large));
    for (what, level) in [(&s, small), (&l, large)] {
        for (stat, q) in [("p50", 50.0), ("p99", 99.0)] {
            Figure::new(
                "disclosure",
                section,
                rep,
                format!("{what} {stat}"),
                msf(percentile(&level.http.all, q)),
                "ms",
            )
            .against(format!("{s} {stat}"))
            .emit();
        }
        let index = format!(
            "listing query alone at {} permits p50",
            thousands(level.stored)
        );
        Figure::new(
            "disclosure",
            section,
            rep,
            index,
            msf(percentile(&level.index, 50.0)),
            "ms",
        )
        .against(format!("{what} p50"))
        .emit();
    }
    Figure::new(
        "disclosure",
        section,
        rep,
        format!("{l} p99 (target)"),
        msf(percentile(&large.http.all, 99.0)),
        "ms",
    )
    .target("<=", 20.0, "issue 6: p99 ≤ 20 ms at 1,000,000 permits")
    .emit();
    Figure::new(
        "disclosure",
        section,
        rep,
        format!("{l} p99 ÷ at {} permits", thousands(small.stored)),
        percentile(&large.http.all, 99.0).as_secs_f64()
            / percentile(&small.http.all, 99.0).as_secs_f64().max(1e-9),
        "×",
    )
    .target("<=", 3.0, "issue 6: p99 at 1,000,000 ≤ 3 × p99 at 1,000")
    .emit();
}

/// One repetition's tables; returns whether any search got an unexpected answer.
fn print_levels(small: &Level, large: &Level) -> bool {
    println!(
        "| permits stored | requests | p50 ms | p99 ms | max ms | answered | too broad | results shown (from Luohe) | listing query alone p50 / p99 ms | fdatasync p50 / p99 ms | load average before → after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut failed = false;
    for l in [small, large] {
        let h = &l.http;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} / {} | {} / {} | {} → {} |",
            thousands(l.stored),
            h.all.len(),
            p(&h.all, 50.0),
            p(&h.all, 99.0),
            ms(h.all.last().copied().unwrap_or_default()),
            h.answered,
            h.too_broad,
            h.results,
            h.from_owner,
            p(&l.index, 50.0),
            p(&l.index, 99.0),
            p(&l.fsync, 50.0),
            p(&l.fsync, 99.0),
            l.load.0,
            l.load.1,
        );
        if !h.errors.is_empty() {
            println!("\nunexpected answers: {:?}", h.errors);
            failed = true;
        }
    }
    println!(
        "\n| query kind | p50 ms at {} | p99 ms at {} | p50 ms at {} | p99 ms at {} |",
        thousands(small.stored),
        thousands(small.stored),
        thousands(large.stored),
        thousands(large.stored)
    );
    println!("|---|---|---|---|---|");
    for (kind, large) in &large.http.by_kind {
        let small = small
            .http
            .by_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        println!(
            "| {} | {} | {} | {} | {} |",
            kind.label(),
            p(small, 50.0),
            p(small, 99.0),
            p(large, 50.0),
            p(large, 99.0)
        );
    }
    println!(
        "\n| step, through the database layer alone | p50 ms at {0} | p99 ms at {0} | p50 ms at {1} | p99 ms at {1} |",
        thousands(small.stored),
        thousands(large.stored)
    );
    println!("|---|---|---|---|---|");
    for (k, label) in STEPS.iter().enumerate() {
        println!(
            "| {label} | {} | {} | {} | {} |",
            p(&small.steps[k], 50.0),
            p(&small.steps[k], 99.0),
            p(&large.steps[k], 50.0),
            p(&large.steps[k], 99.0)
        );
    }
    let p99_large = percentile(&large.http.all, 99.0);
    let p99_small = percentile(&small.http.all, 99.0);
    let ratio = p99_large.as_secs_f64() / p99_small.as_secs_f64().max(1e-9);
    println!("\n| target | figure | verdict |\n|---|---|---|");
    println!(
        "| p99 ≤ 20 ms at {} permits | {} ms | {} |",
        thousands(large.stored),
        ms(p99_large),
        verdict(p99_large <= Duration::from_millis(20))
    );
    println!(
        "| p99 at {} ≤ 3 × p99 at {} | {ratio:.2}× ({} ÷ {} ms) | {} |",
        thousands(large.stored),
        thousands(small.stored),
        ms(p99_large),
        ms(p99_small),
        verdict(ratio <= 3.0)
    );
    failed
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; anything but `--smoke` is ignored.
    let smoke = std::env::args().any(|a| a == "--smoke");
    let plan = Plan::new(smoke);
    let started = Instant::now();
    println!(
        "## Public search (社会公示): {} run\n\n- date: {}\n- machine: {}\n- province (410000) and \
         Luohe (411100) in one process, HTTP/1.1 keep-alive on 127.0.0.1, one request at a time\n\
         - {} requests per level after {} warm-up, at {} and at {} permits stored",
        if smoke { "smoke" } else { "full" },
        common::utc_now(),
        machine() + &memory(),
        thousands(plan.requests as i64),
        plan.warmup,
        thousands(plan.small as i64),
        thousands(plan.large as i64),
    );
    let mut failed = false;
    let only = std::env::var("DISCLOSURE_BENCH_BACKEND").ok();
    for backend in common::backends(smoke).await {
        if only
            .as_deref()
            .is_some_and(|b| !format!("{backend:?}").eq_ignore_ascii_case(b))
        {
            continue;
        }
        let report = run_backend(backend, plan).await;
        failed |= print_report(&report, plan);
    }
    finish(
        started,
        failed,
        "some searches got an unexpected answer (see above).",
    );
}
