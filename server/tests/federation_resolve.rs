//! Retrieval across tiers, with every node of a small federation running in this process on
//! its own port and database: the paths of scenario 1 (Luohe → Henan → Zhengzhou), the
//! cross-province case (… → national → Hubei → Wuhan), a Luohe certificate at a Luohe counter
//! (consent at Henan, delivery back in Luohe), a province that is down, and forged inter-node
//! calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::db::audit::AuditEntry;
use server::db::Backend;
use support::fixtures::{
    citizen_with_device, clerk, crane_matter, crane_type, department, other_person as staffer,
    person as holder, regulator_of as dept, CRANE_MATTER, CRANE_TYPE,
};
use support::nodes::{add_toml, Federation};
use wallet_core::grant::GrantTerms;
use wallet_core::{
    CertId, DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode, Subject,
};

const CLERK_PASSWORD: &str = "clerk-password-1";
const DEPT_TOKEN: &str = "department-token-for-tests-0001";

const REGIONS: [&str; 6] = ["100000", "410000", "410100", "411100", "420000", "420100"];

/// What each node issues and handles: Zhengzhou, Wuhan and Luohe issue crane-operator
/// certificates (Luohe also permits); Luohe's counter handles the crane registration matter.
fn node_toml(region: &str) -> String {
    let d = dept(region);
    let mut t = String::new();
    if matches!(region, "410100" | "420100" | "411100") {
        t += &department(&d, &format!("{region} 市场监督管理局"), DEPT_TOKEN);
        t += &crane_type(&d);
    }
    if region == "411100" {
        t += &clerk("lh-clerk-01", &d, "漯河市民之家 3号窗口", CLERK_PASSWORD);
        t += &crane_matter(&d);
    }
    t
}

async fn federation(backend: Backend) -> Federation {
    Federation::start(&REGIONS, backend, |region, settings| {
        add_toml(settings, &node_toml(region))
    })
    .await
}

async fn issue(f: &Federation, r: &str, holder_id: &str) -> CertId {
    let now = f.now();
    let (status, body) = f
        .post(
            r,
            "/api/issuer/certificates",
            Some(DEPT_TOKEN),
            &json!({
                "type_code": CRANE_TYPE,
                "holder_kind": "person",
                "holder_id": holder_id,
                "holder_name": "张伟",
                "valid_from": now - 86400,
                "valid_until": now + 4 * 365 * 86400,
                "fields": {"作业项目": "起重机指挥 Q1", "证书编号": "TS-0001", "住址": "某路1号"}
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().parse().unwrap()
}

/// A wallet user at Henan with a registered device key.
async fn citizen(f: &Federation, id: &str, name: &str, phone: &str) -> (String, DeviceKey) {
    citizen_with_device(f, "410000", id, name, phone).await
}

/// The Luohe clerk with a case open for the crane registration matter.
struct Counter {
    clerk: String,
    case: String,
}

impl Counter {
    async fn open(f: &Federation) -> Counter {
        let (status, body) = f
            .post(
                "411100",
                "/api/staff/login",
                None,
                &json!({"id": "lh-clerk-01", "password": CLERK_PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let clerk = body["access_token"].as_str().unwrap().to_owned();
        let (status, body) = f
            .post(
                "411100",
                "/api/counter/cases",
                Some(&clerk),
                &json!({"matter": CRANE_MATTER}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let case = body["case"]["id"].as_str().unwrap().to_owned();
        Counter { clerk, case }
    }

    /// Scans what a scanner typed.
    async fn scan_text(&self, f: &Federation, text: &str) -> (u16, Value) {
        f.post(
            "411100",
            &format!("/api/counter/cases/{}/retrievals", self.case),
            Some(&self.clerk),
            &json!({"text": text}),
        )
        .await
    }

    /// Scans a fresh code signed on `key` for `subject`.
    async fn scan(&self, f: &Federation, key: &DeviceKey, subject: Subject) -> (u16, Value) {
        self.scan_text(f, &show(f, key, subject)).await
    }
}

/// The region's audit entries under one correlation id, after checking its whole chain.
async fn audit_of(f: &Federation, r: &str, correlation: &str) -> Vec<AuditEntry> {
    let db = &f.state(r).db;
    assert!(
        db.verify_audit_chain().await.unwrap().is_ok(),
        "chain at {r}"
    );
    db.audit_by_correlation(correlation)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.entry)
        .collect()
}

fn show(f: &Federation, key: &DeviceKey, subject: Subject) -> String {
    Presentation::sign(key, RegionCode::new(410000).unwrap(), subject, f.now(), 60)
        .unwrap()
        .encode_text()
}

async fn grant_for_crane(f: &Federation, token: &str, key: &DeviceKey, cert: &CertId) -> GrantId {
    let terms = GrantTerms {
        id: GrantId::generate().unwrap(),
        cert_id: cert.clone(),
        holder: Holder::Person(holder().parse().unwrap()),
        grantee: Grantee {
            resident_id: staffer().parse().unwrap(),
            name: "李娜".into(),
            enterprise: None,
        },
        matters: MatterScope::Named(vec![CRANE_MATTER.into()]),
        not_before: f.now() - 60,
        not_after: f.now() + 86400,
        use_limit: None,
    };
    let id = terms.id;
    let grant = terms.sign(key).unwrap();
    let (status, body) = f
        .post(
            "410000",
            "/api/wallet/grants",
            Some(token),
            &json!({"grant": String::from(grant)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_1_resolves_luohe_henan_zhengzhou_and_every_hop_is_audited_on_sqlite() {
    scenario_1(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_1_resolves_luohe_henan_zhengzhou_and_every_hop_is_audited_on_postgres() {
    scenario_1(Backend::Postgres).await
}

async fn scenario_1(backend: Backend) {
    let f = federation(backend).await;
    // The Zhengzhou department issued the holder's operator certificate.
    let cert = issue(&f, "410100", &holder()).await;
    let (holder_token, holder_key) = citizen(&f, &holder(), "张伟", "13800138000").await;
    let (_, staffer_key) = citizen(&f, &staffer(), "李娜", "13900139000").await;
    // The holder grants the Luohe enterprise's staffer the crane matter for one day.
    let grant = grant_for_crane(&f, &holder_token, &holder_key, &cert).await;
    let counter = Counter::open(&f).await;
    // The staffer shows the code at the Luohe counter.
    let text = show(&f, &staffer_key, Subject::Grant(grant));
    let (status, got) = counter.scan_text(&f, &text).await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["path"], json!(["411100", "410000", "410100"]));
    assert_eq!(got["consent_by"], "410000");
    assert_eq!(got["material"], "特种设备作业人员证");
    // Only the fields the matter needs left Zhengzhou.
    let names: Vec<&str> = got["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["作业项目", "证书编号"]);
    assert_eq!(got["receipt"]["terms"]["owner"], "410100");
    // Each hop wrote its own audit entry under the one correlation id.
    let cid = got["correlation_id"].as_str().unwrap();
    for r in ["411100", "410000", "410100"] {
        let entries = audit_of(&f, r, cid).await;
        assert_eq!(entries.len(), 1, "{r}: {entries:?}");
        assert_eq!(entries[0].result, "ok");
    }
    assert_eq!(audit_of(&f, "100000", cid).await.len(), 0);
    // The holder's usage log at the wallet province shows the use.
    let (status, usage) = f
        .get("410000", "/api/wallet/usage", Some(&holder_token))
        .await;
    assert_eq!(status, 200, "{usage}");
    assert!(usage.to_string().contains(cert.as_str()), "{usage}");
    // The same code again is a replay.
    let (status, again) = counter.scan_text(&f, &text).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("presentation_replayed"))
    );
    // The holder revokes: the staffer's next code is refused.
    let (status, body) = f
        .post(
            "410000",
            &format!("/api/wallet/grants/{grant}/revoke"),
            Some(&holder_token),
            &json!({}),
        )
        .await;
    assert!(status == 204 || status == 200, "{status} {body}");
    let (status, refused) = counter.scan(&f, &staffer_key, Subject::Grant(grant)).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("grant_revoked"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wuhan_certificate_shown_in_luohe_resolves_through_the_national_node() {
    let f = federation(Backend::Sqlite).await;
    let cert = issue(&f, "420100", &holder()).await;
    let (_, key) = citizen(&f, &holder(), "张伟", "13800138000").await;
    let counter = Counter::open(&f).await;
    let (status, got) = counter.scan(&f, &key, Subject::Certificate(cert)).await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(
        got["path"],
        json!(["411100", "410000", "100000", "420000", "420100"])
    );
    let cid = got["correlation_id"].as_str().unwrap();
    for r in ["411100", "410000", "100000", "420000", "420100"] {
        assert_eq!(audit_of(&f, r, cid).await.len(), 1, "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_luohe_certificate_at_a_luohe_counter_is_consented_at_henan_and_delivered_in_luohe() {
    let f = federation(Backend::Sqlite).await;
    let cert = issue(&f, "411100", &holder()).await;
    let (_, key) = citizen(&f, &holder(), "张伟", "13800138000").await;
    let counter = Counter::open(&f).await;
    let (status, got) = counter
        .scan(&f, &key, Subject::Certificate(cert.clone()))
        .await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["path"], json!(["411100", "410000", "411100"]));
    // Someone else's device cannot show the holder's certificate.
    let (_, other) = citizen(&f, &staffer(), "李娜", "13900139000").await;
    let (status, refused) = counter.scan(&f, &other, Subject::Certificate(cert)).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("presenter_not_holder"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_that_is_down_is_named_at_the_counter_within_the_budget() {
    let mut f = federation(Backend::Sqlite).await;
    let cert = issue(&f, "410100", &holder()).await;
    let (_, key) = citizen(&f, &holder(), "张伟", "13800138000").await;
    let counter = Counter::open(&f).await;
    f.stop("410000").await;
    let started = Instant::now();
    let (status, got) = counter.scan(&f, &key, Subject::Certificate(cert)).await;
    assert_eq!(status, 503, "{got}");
    assert_eq!(got["code"], "tier_unreachable");
    assert!(got["title"].as_str().unwrap().contains("河南省"), "{got}");
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_that_hangs_times_out_and_is_named_before_the_counter_gives_up() {
    let mut f = federation(Backend::Sqlite).await;
    f.hang("410000").await;
    let cert = issue(&f, "410100", &holder()).await;
    let key = DeviceKey::generate().unwrap();
    let counter = Counter::open(&f).await;
    let started = Instant::now();
    let (status, got) = counter.scan(&f, &key, Subject::Certificate(cert)).await;
    let waited = started.elapsed();
    assert_eq!(
        (status, got["code"].as_str()),
        (504, Some("tier_timeout")),
        "{got}"
    );
    assert!(got["title"].as_str().unwrap().contains("河南省"), "{got}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The refusal is audited at Luohe.
    let entries = f.state("411100").db.audit_entries(0, 100).await.unwrap();
    assert!(entries
        .iter()
        .any(|e| e.entry.action == "retrieval" && e.entry.result == "tier_timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_that_hangs_behind_the_province_is_the_tier_named() {
    // Zhengzhou hangs: the province's shorter budget runs out first, so the counter hears
    // that Zhengzhou (not Henan) failed, still within five seconds.
    let mut f = federation(Backend::Sqlite).await;
    f.hang("410100").await;
    let cert: CertId = CertId::generate(CRANE_TYPE, &dept("410100").parse().unwrap(), 1).unwrap();
    let (_, key) = citizen(&f, &holder(), "张伟", "13800138000").await;
    let counter = Counter::open(&f).await;
    let started = Instant::now();
    let (status, got) = counter.scan(&f, &key, Subject::Certificate(cert)).await;
    assert_eq!(
        (status, got["code"].as_str()),
        (504, Some("tier_timeout")),
        "{got}"
    );
    assert!(got["title"].as_str().unwrap().contains("郑州市"), "{got}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_sees_fields_and_seal_of_a_certificate_held_at_a_city_and_the_owner_audits_it() {
    let mut f = federation(Backend::Sqlite).await;
    let cert = issue(&f, "410100", &holder()).await;
    let (token, _) = citizen(&f, &holder(), "张伟", "13800138000").await;
    let path = format!("/api/wallet/certificates/{cert}");
    // Henan knows the certificate from Zhengzhou's push; the detail brings the holder's copy.
    let detail = support::nodes::eventually(
        "the certificate in Henan's index",
        Duration::from_secs(10),
        || async {
            let (status, body) = f.get("410000", &path, Some(&token)).await;
            (status == 200).then_some(body)
        },
    )
    .await;
    assert_eq!(detail["source"], "index");
    assert_eq!(detail["copy_unavailable"], Value::Null);
    let sealed: wallet_core::SealedCertificate =
        serde_json::from_value(detail["sealed"].clone()).unwrap();
    assert_eq!(sealed.certificate.id, cert);
    assert_eq!(
        sealed.certificate.fields.len(),
        3,
        "the holder's own copy is whole"
    );
    let keys: Vec<wallet_core::TrustEntry> =
        serde_json::from_value(detail["issuer_keys"].clone()).unwrap();
    sealed.verify(&wallet_core::TrustList::new(keys)).unwrap();
    // Zhengzhou recorded the hand-over, and its chain holds.
    let zz = &f.state("410100").db;
    assert!(zz.verify_audit_chain().await.unwrap().is_ok());
    let handed: Vec<AuditEntry> = zz
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.entry)
        .filter(|e| e.action == "holder_copy")
        .collect();
    assert_eq!(handed.len(), 1);
    assert_eq!(
        (handed[0].subject.as_str(), handed[0].result.as_str()),
        (cert.to_string().as_str(), "ok")
    );
    // Someone else signed in at Henan gets nothing.
    let (other, _) = citizen(&f, &staffer(), "李娜", "13900139000").await;
    assert_eq!(f.get("410000", &path, Some(&other)).await.0, 404);
    // With Zhengzhou down, the metadata still shows, with the reason the copy is missing.
    f.stop("410100").await;
    let (status, body) = f.get("410000", &path, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sealed"], Value::Null);
    assert!(!body["copy_unavailable"].as_str().unwrap().is_empty());
}

/// A holder's copy is handed only to a province (the tier that signs residents in), only for
/// that resident's own certificate, and every refusal is audited at the owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_copy_is_refused_to_a_city_and_for_someone_elses_certificate() {
    use server::federation::holder_copy::CopyRequest;
    let f = federation(Backend::Sqlite).await;
    let cert = issue(&f, "410100", &holder()).await;
    let f = &f;
    let ask = |from: &str, resident: String| {
        let key = &f.state(from).node_key;
        let from: RegionCode = from.parse().unwrap();
        let to: RegionCode = "410100".parse().unwrap();
        let request = CopyRequest {
            cert_id: cert.to_string(),
            resident_id: resident,
            acts_for: Vec::new(),
            correlation_id: "copy-test-0001".into(),
        };
        let envelope = wallet_core::NodeEnvelope::seal(
            key,
            from,
            to,
            f.now(),
            serde_json::to_string(&request).unwrap(),
        );
        let token =
            server::federation::token::mint(key, from, to, "copy-test-0001", f.now()).unwrap();
        async move {
            f.post(
                "410100",
                "/federation/v1/holder-copy",
                Some(&token),
                &serde_json::to_value(&envelope).unwrap(),
            )
            .await
        }
    };
    // Luohe is a city: it signs no residents in and gets no copies.
    let (status, body) = ask("411100", holder()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("certificate_not_found"))
    );
    // Henan asking in someone else's name gets nothing either.
    let (status, _) = ask("410000", staffer()).await;
    assert_eq!(status, 404);
    // Henan asking for the holder gets the copy.
    let (status, body) = ask("410000", holder()).await;
    assert_eq!(status, 200, "{body}");
    let results: Vec<String> = f
        .state("410100")
        .db
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.entry)
        .filter(|e| e.action == "holder_copy")
        .map(|e| e.result)
        .collect();
    assert_eq!(
        results,
        ["certificate_not_found", "certificate_not_found", "ok"]
    );
}
