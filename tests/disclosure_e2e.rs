//! Scenario 5, 排污许可证社会公示, over the demo federation with the province (河南, 410000) and
//! Luohe (漯河, 411100) as separate `server` processes on loopback, talking HTTP only.
//!
//! Follows the pilot notice's 业务流程说明 (1)–(5) for scenario 5: a member of the public enters
//! an enterprise's name; the wallet page asks the province; the province finds the holding city
//! in its index and forwards; Luohe answers what it holds; the province hands the permit back
//! with its validity and status, and the page offers 12345 and 12369. Then what may not happen:
//! listing the register, and searching without limit; and what happens when Luohe is down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::Value;
use server::config::Settings;
use server::demo::people::{QINGYUAN_CHEMICAL, QINGYUAN_FOOD, QINGYUAN_PAPER};
use server::demo::{HENAN, LUOHE};

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

/// The demo federation's configuration files and the processes started from them.
struct Demo {
    dir: PathBuf,
    settings: BTreeMap<String, Settings>,
    procs: BTreeMap<String, Proc>,
    http: reqwest::Client,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.procs.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_base_port() -> u16 {
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
    fn write() -> Demo {
        let dir = std::env::temp_dir().join(format!(
            "ecert-e2e-disclosure-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        let configs = server::demo::write_configs(&dir, free_base_port(), None).unwrap();
        Demo {
            dir,
            settings: configs
                .into_iter()
                .map(|(_, s)| (s.region.to_string(), s))
                .collect(),
            procs: BTreeMap::new(),
            http: reqwest::Client::new(),
        }
    }

    async fn start(&mut self, region: &str) {
        let log = std::fs::File::create(self.dir.join(format!("{region}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["run", "--config"])
            .arg(self.dir.join(format!("{region}.toml")))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs.insert(region.to_owned(), Proc { child });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self
                .http
                .get(format!("{}/healthz", self.url(region)))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "{region} did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self, region: &str) {
        self.procs.remove(region);
    }

    fn url(&self, region: &str) -> String {
        format!("http://{}", self.settings[region].listen)
    }

    /// The wallet page's search at the province: no session, just the query string.
    async fn search(&self, params: &[(&str, &str)]) -> (u16, Value, HeaderMap) {
        let r = self
            .http
            .get(format!("{}/api/public/disclosures", self.url(HENAN)))
            .query(params)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }

    async fn disclosure_audit(&self, region: &str) -> Vec<server::db::audit::ChainedEntry> {
        // The node's own database file, read beside the running process (WAL allows it).
        let db = server::db::Db::connect(self.settings[region].database_url.expose())
            .await
            .unwrap();
        assert!(db.verify_audit_chain().await.unwrap().is_ok(), "{region}");
        db.audit_entries(0, 100_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.entry.action == "disclosure")
            .collect()
    }
}

fn result<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["enterprise_name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_5_a_permit_found_by_name_at_the_province_and_confirmed_by_luohe() {
    let mut demo = Demo::write();
    demo.start(HENAN).await;
    demo.start(LUOHE).await;

    // (1) Someone living near 清源's works enters part of its name, without logging in.
    // (2) The wallet page asks the province. Luohe's permits reached the province's index
    // through its outbox when Luohe first started.
    let deadline = Instant::now() + Duration::from_secs(30);
    let found = loop {
        let (status, found, _) = demo.search(&[("q", "清源")]).await;
        assert_eq!(status, 200, "{found}");
        if found["total"] == 3 {
            break found;
        }
        assert!(Instant::now() < deadline, "{found}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // (3) The province found the holding city in its index and forwarded the question, once,
    // for all three of its matches; (4) Luohe answered from what it holds and audited the call.
    let audited = demo.disclosure_audit(LUOHE).await;
    let last = &audited
        .last()
        .expect("Luohe audited the forwarded call")
        .entry;
    assert_eq!(last.actor, "node:410000");
    assert_eq!(last.result, "ok");
    let detail: Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(detail["answered"].as_array().unwrap().len(), 3, "{detail}");

    // (5) The province hands back each permit: its HJ 608 number, holder, validity with the
    // status as of now, issuing authority — and nothing the catalog keeps private.
    for (e, status) in [
        (&QINGYUAN_FOOD, "valid"),
        (&QINGYUAN_PAPER, "expiring"),
        (&QINGYUAN_CHEMICAL, "expired"),
    ] {
        let r = result(&found, e.name);
        let code = e.credit_code().unwrap().to_string();
        assert_eq!(r["permit_number"], format!("{code}001P"), "{r}");
        assert_eq!(r["fields"]["单位名称"], e.name);
        assert!(
            r["fields"]["有效期限"].as_str().unwrap().starts_with('自'),
            "{r}"
        );
        assert_eq!(r["issuer_name"], "漯河市生态环境局");
        assert_eq!(r["status"], status, "{r}");
        assert_eq!(r["held_at"], LUOHE);
        assert_eq!(r["source"], "owner");
        assert!(r["fields"].get("法定代表人").is_none(), "{r}");
        assert!(r["fields"].get("生产经营场所地址").is_none(), "{r}");
    }
    assert!(
        result(&found, QINGYUAN_PAPER.name)["days_left"]
            .as_i64()
            .unwrap()
            <= 30
    );
    assert!(!found.to_string().contains(QINGYUAN_FOOD.legal_rep.name));
    // The page offers the hotlines for a complaint.
    let hotlines: Vec<&str> = found["hotlines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["number"].as_str().unwrap())
        .collect();
    assert_eq!(hotlines, ["12345", "12369"]);
    // The full name finds exactly that enterprise.
    let (_, exact, _) = demo.search(&[("q", QINGYUAN_PAPER.name)]).await;
    assert_eq!(exact["total"], 1, "{exact}");

    // Nobody lists the register: one character, wildcards, huge pages, paging.
    for (params, code) in [
        (vec![("q", "源")], "search_query_too_short"),
        (vec![("q", "%")], "search_query_wildcard"),
        (vec![("q", "*")], "search_query_wildcard"),
        (
            vec![("q", "清源"), ("limit", "100000")],
            "search_limit_invalid",
        ),
        (
            vec![("q", "清源"), ("offset", "10")],
            "search_params_invalid",
        ),
    ] {
        let (status, refused, _) = demo.search(&params).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some(code)),
            "{params:?}"
        );
    }

    // Luohe is down: the province answers from its index, says so, and names Luohe.
    demo.stop(LUOHE);
    let (status, stale, _) = demo.search(&[("q", "清源")]).await;
    assert_eq!(status, 200, "{stale}");
    assert_eq!(result(&stale, QINGYUAN_PAPER.name)["source"], "index");
    assert_eq!(result(&stale, QINGYUAN_CHEMICAL.name)["status"], "expired");
    assert_eq!(stale["unavailable"][0]["region"], LUOHE);
    assert_eq!(stale["unavailable"][0]["code"], "tier_unreachable");
    assert!(
        stale["unavailable"][0]["title"]
            .as_str()
            .unwrap()
            .contains("漯河市"),
        "{stale}"
    );

    // One client cannot search without limit: within one minute the province stops it.
    let mut limited = None;
    for _ in 0..61 {
        let (status, body, headers) = demo.search(&[("q", "绿源")]).await;
        if status == 429 {
            limited = Some((body, headers));
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let (body, headers) = limited.expect("rate limited within 61 searches");
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(headers["content-type"], "application/problem+json");
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}
