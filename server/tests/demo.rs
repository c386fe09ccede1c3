//! The demo federation: its six generated configurations validate and name each other, every
//! identifier in the seed passes its check, each node seeds its share once — every certificate
//! sealed by a key on that node's trust list — and each scenario's matter lists its materials.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use server::auth::secrets::verify_password;
use server::config::Settings;
use server::db::cases::Matter;
use server::demo::catalog::{
    self, CONSTRUCTION_MATTERS, CRANE_MATTER, EMPLOYMENT, HOUSING_FUND_MATTER, LICENCE,
    LOAN_MATTER, MARRIAGE, OPERATOR_ZZ, POLLUTANT, PROPERTY, TYPES,
};
use server::demo::issued::{certificates, sharing_records, DAY};
use server::demo::people::{DEPARTMENTS, ENTERPRISES, PEOPLE, SAMR, STAFF};
use server::demo::{self, DemoError, HENAN, HUBEI, LUOHE, NATIONAL, NODES, WUHAN, ZHENGZHOU};
use server::state::{AppState, Clock};
use wallet_core::{CreditCode, RegionCode, ResidentId, SealedCertificate};

/// A base port whose six ports no other test run is likely to use.
fn base_port() -> u16 {
    let mut b = [0u8; 2];
    getrandom::getrandom(&mut b).unwrap();
    30_000 + u16::from_be_bytes(b) % 30_000
}

async fn count(s: &AppState, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&s.db.pool)
        .await
        .unwrap()
}

const COUNTED: [&str; 8] = [
    "certificates",
    "population",
    "accounts",
    "enterprises",
    "seal_keys",
    "audit_log",
    "tax_invoices",
    "deed_tax_records",
];

async fn counts(s: &AppState) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    for t in COUNTED {
        out.insert(t, count(s, t).await);
    }
    out
}

async fn start_all(configs: &[(std::path::PathBuf, Settings)]) -> BTreeMap<String, AppState> {
    let mut nodes = BTreeMap::new();
    for (path, _) in configs {
        let settings = Settings::load(path, |_| None).unwrap();
        let region = settings.region.to_string();
        let state = server::start(settings, Clock::system()).await.unwrap();
        nodes.insert(region, state);
    }
    nodes
}

async fn stop_all(nodes: BTreeMap<String, AppState>) {
    for s in nodes.into_values() {
        s.db.pool.close().await;
    }
}

#[test]
fn every_identifier_in_the_seed_passes_its_check() {
    assert_eq!(
        SAMR.credit_code().unwrap().as_str(),
        "11100000000013338W",
        "the national issuer is the standard's own example"
    );
    for p in PEOPLE {
        let id = p.resident_id().unwrap();
        assert_eq!(id.as_str().parse::<ResidentId>().unwrap(), id);
    }
    for e in ENTERPRISES {
        e.credit_code().unwrap();
        e.legal_rep.resident_id().unwrap();
    }
    for d in DEPARTMENTS {
        let code = d.credit_code().unwrap();
        let node: RegionCode = d.node.parse().unwrap();
        assert!(
            code.region() == node || code.region().is_under(node),
            "{} lies outside its node",
            d.name
        );
    }
    for t in TYPES {
        let code = t.code().unwrap();
        assert_eq!(code.len(), 21);
        code[..18].parse::<CreditCode>().unwrap();
    }
    let now = 1_790_000_000;
    for c in certificates(now).unwrap() {
        match c.holder_kind {
            "person" => drop(c.holder_id.parse::<ResidentId>().unwrap()),
            _ => drop(c.holder_id.parse::<CreditCode>().unwrap()),
        }
        if let Some(spouse) = c.fields.get("配偶身份证件号") {
            spouse.parse::<ResidentId>().unwrap();
        }
        if let Some(number) = c.fields.get("许可证编号") {
            // HJ 608: the holder's credit code, a 3-digit site number, one letter.
            assert_eq!(number.len(), 22, "{number}");
            assert_eq!(number[..18], c.holder_id);
            assert!(number[18..21].bytes().all(|b| b.is_ascii_digit()));
            assert!(number.as_bytes()[21].is_ascii_uppercase());
        }
    }
    let (invoices, deed_taxes) = sharing_records(now).unwrap();
    for i in &invoices {
        i.buyer_id.parse::<ResidentId>().unwrap();
    }
    for d in &deed_taxes {
        d.payer_id.parse::<ResidentId>().unwrap();
    }
}

#[test]
fn a_production_node_refuses_the_demo_seed() {
    let text = r#"
        region = "411100"
        listen = "127.0.0.1:0"
        database_url = "sqlite::memory:"
        mode = "production"
        demo_seed = true
        node_key = "ERERERERERERERERERERERERERERERERERERERERERE"
    "#;
    let err = Settings::from_toml(text, |_| None).unwrap_err();
    assert!(err.to_string().contains("`demo_seed`"), "{err}");
}

#[test]
fn the_six_configurations_validate_and_list_each_other() {
    let dir = support::scratch_dir("demo_configs");
    let base = base_port();
    let configs = demo::write_configs(&dir, base, None).unwrap();
    assert_eq!(configs.len(), 6);
    for ((path, s), spec) in configs.iter().zip(&NODES) {
        assert_eq!(
            path,
            &dir.canonicalize()
                .unwrap()
                .join(format!("{}.toml", spec.region))
        );
        assert_eq!(s.region.to_string(), spec.region);
        assert_eq!(s.name, spec.name);
        assert!(s.demo_seed);
        assert_eq!(s.listen.port(), base + spec.port_offset);
        assert!(s.database_url.expose().starts_with("sqlite:///"));
        assert_eq!(s.peers.len(), 5);
        for (_, other) in configs.iter().filter(|(p, _)| p != path) {
            let peer = s.peers.iter().find(|p| p.region == other.region).unwrap();
            let port = other.listen.port();
            assert_eq!(peer.url, format!("http://127.0.0.1:{port}"));
            assert_eq!(peer.keys.len(), 1);
            assert_eq!(peer.keys[0].key, other.node_key.public_key());
            assert_eq!(peer.keys[0].not_before, 0);
        }
        for d in &s.departments {
            assert!(d.token.expose().len() >= 16);
        }
    }
    let licence = configs
        .iter()
        .flat_map(|(_, s)| &s.cert_types)
        .find(|t| t.code == LICENCE.code().unwrap())
        .unwrap();
    assert!(
        licence.national,
        "the business licence is in the national catalog"
    );
    // Secrets are fresh per file set, and a second write never overwrites the first.
    assert!(matches!(
        demo::write_configs(&dir, base, None),
        Err(DemoError::Exists(_))
    ));
    let other = support::scratch_dir("demo_configs");
    let again = demo::write_configs(&other, base, None).unwrap();
    assert_ne!(
        again[0].1.node_key.public_key(),
        configs[0].1.node_key.public_key()
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(other);
}

#[test]
fn a_postgres_prefix_names_one_database_per_node() {
    let dir = support::scratch_dir("demo_pg");
    let prefix = "postgres://postgres@127.0.0.1:5432/";
    let configs = demo::write_configs(&dir, base_port(), Some(prefix)).unwrap();
    for ((_, s), spec) in configs.iter().zip(&NODES) {
        assert_eq!(
            s.database_url.expose(),
            format!("{prefix}demo_{}", spec.region)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_in_process_demo_reuses_its_files_and_takes_its_ports_from_the_base() {
    let dir = support::scratch_dir("demo_data");
    let first = demo::prepare(&dir, 8000).unwrap();
    assert!(dir.join("410000/node.toml").exists());
    assert_eq!(first[1].listen.port(), 8410);
    let second = demo::prepare(&dir, 28_000).unwrap();
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.node_key.public_key(), b.node_key.public_key());
        assert_eq!(a.database_url.expose(), b.database_url.expose());
        assert_eq!(b.listen.port(), a.listen.port() + 20_000);
        for p in &b.peers {
            let port: u16 = p.url.rsplit(':').next().unwrap().parse().unwrap();
            assert!((28_000..=28_421).contains(&port), "{}", p.url);
        }
    }
    let banner = demo::banner(&second, 28_000).unwrap();
    assert!(banner.contains("http://127.0.0.1:28410/"));
    assert!(banner.contains("http://127.0.0.1:28412/#/counter"));
    assert!(banner.contains("演示"));
    assert!(banner.contains("lh-clerk-01") && banner.contains("lh-review-01"));
    // The departments' business systems decide objections through the API: their tokens.
    let zz_amr = &second[2].departments[0];
    assert!(banner.contains(&format!(
        "{}（演示） {}  http://127.0.0.1:28411/api/issuer/objections",
        zz_amr.name,
        zz_amr.token.expose()
    )));
    std::fs::remove_file(dir.join("420100/node.toml")).unwrap();
    assert!(matches!(
        demo::prepare(&dir, 8000),
        Err(DemoError::Incomplete { .. })
    ));
    let _ = std::fs::remove_dir_all(dir);
}

fn matter<'a>(matters: &'a [Matter], code: &str) -> &'a Matter {
    matters.iter().find(|m| m.code == code).unwrap()
}

/// The material's replacing certificate type, or `None` for a paper material.
fn material(m: &Matter, name: &str) -> Option<String> {
    m.materials
        .iter()
        .find(|x| x.name == name)
        .unwrap_or_else(|| panic!("{} lists no {name}", m.name))
        .cert_type
        .clone()
}

async fn check_matters(nodes: &BTreeMap<String, AppState>) {
    let luohe = nodes[LUOHE].db.matters().await.unwrap();
    let crane = matter(&luohe, CRANE_MATTER);
    assert_eq!(crane.name, "建筑起重机械设备使用登记");
    assert_eq!(
        material(crane, "特种设备作业人员证"),
        Some(OPERATOR_ZZ.code().unwrap())
    );
    assert_eq!(crane.materials.len(), 7);
    let fund = matter(&luohe, HOUSING_FUND_MATTER);
    assert_eq!(
        fund.name, "购买二手自住住房提取住房公积金",
        "the notice's name"
    );
    assert_eq!(material(fund, "身份证"), None);
    assert_eq!(
        material(fund, "不动产权证书"),
        Some(PROPERTY.code().unwrap())
    );
    assert_eq!(material(fund, "结婚证"), Some(MARRIAGE.code().unwrap()));
    assert_eq!(material(fund, "购房发票"), None);
    assert_eq!(material(fund, "契税完税凭证"), None);
    let loan = matter(&luohe, LOAN_MATTER);
    assert_eq!(
        material(loan, "就业创业证"),
        Some(EMPLOYMENT.code().unwrap())
    );
    assert_eq!(material(loan, "营业执照"), Some(LICENCE.code().unwrap()));
    let henan = nodes[HENAN].db.matters().await.unwrap();
    assert_eq!(henan.len(), 5);
    // The province's directory lists its cities' matters for the wallet's grant form; its own
    // counters still handle only the five above.
    let directory = nodes[HENAN].db.directory_matters().await.unwrap();
    assert_eq!(directory.len(), luohe.len());
    assert!(directory.iter().all(|d| d.region == LUOHE));
    assert!(directory.iter().any(|d| d.matter.code == CRANE_MATTER));
    for code in CONSTRUCTION_MATTERS {
        assert_eq!(
            material(matter(&henan, code), "营业执照"),
            Some(LICENCE.code().unwrap())
        );
    }
    // Every field a matter asks for is in its type's schema.
    for m in luohe.iter().chain(&henan) {
        for x in &m.materials {
            let Some(code) = &x.cert_type else { continue };
            let t = catalog::TYPES
                .iter()
                .find(|t| &t.code().unwrap() == code)
                .unwrap();
            for f in &x.fields {
                assert!(t.fields.iter().any(|d| d.0 == f), "{}: {f}", m.name);
            }
        }
    }
}

async fn check_certificates(nodes: &BTreeMap<String, AppState>) {
    let expected = [
        (NATIONAL, 3),
        (HENAN, 0),
        (ZHENGZHOU, 2),
        (LUOHE, 9),
        (HUBEI, 0),
        (WUHAN, 2),
    ];
    for (region, n) in expected {
        let s = &nodes[region];
        assert_eq!(
            count(s, "certificates").await,
            n,
            "certificates at {region}"
        );
        let trust = server::routes::trust::node_trust_list(s).await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM certificates")
            .fetch_all(&s.db.pool)
            .await
            .unwrap();
        for id in ids {
            let row = s.db.certificate(&id).await.unwrap().unwrap();
            let sealed = SealedCertificate::try_from(row.sealed.clone()).unwrap();
            sealed
                .verify(&trust)
                .unwrap_or_else(|e| panic!("{id} at {region}: {e}"));
            assert_eq!(sealed.certificate.id.issuing_region().to_string(), region);
            assert_eq!(row.status, "valid");
        }
    }
    // Scenario 5: one permit runs out within 30 days, one has expired.
    let now = Clock::system().now();
    let permits: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT valid_until FROM certificates WHERE type_code = $1")
            .bind(POLLUTANT.code().unwrap())
            .fetch_all(&nodes[LUOHE].db.pool)
            .await
            .unwrap();
    assert!(permits.len() >= 5);
    let until: Vec<i64> = permits.into_iter().flatten().collect();
    assert!(until.iter().any(|u| *u > now && *u <= now + 30 * DAY));
    assert!(until.iter().any(|u| *u < now));
    let t = nodes[LUOHE]
        .db
        .cert_type(&POLLUTANT.code().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(t.disclosable);
    let public: Vec<&str> = t
        .fields
        .iter()
        .filter(|f| f.disclosable)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(public, ["许可证编号", "单位名称", "有效期限", "发证机关"]);
    assert!(t.fields.len() > public.len());
}

async fn check_people(nodes: &BTreeMap<String, AppState>) {
    for (region, s) in nodes {
        let with_accounts: Vec<_> = PEOPLE
            .iter()
            .filter(|p| p.home == region && p.phone.is_some())
            .collect();
        assert_eq!(count(s, "accounts").await, with_accounts.len() as i64);
        for p in with_accounts {
            let id = p.resident_id().unwrap().to_string();
            let account = s.db.account(&id).await.unwrap().unwrap();
            let hash = account.password_hash.unwrap();
            assert!(verify_password(
                &demo::resident_password(&s.node_key, &id),
                &hash
            ));
            assert!(s.db.resident_matches(&id, p.name).await.unwrap());
        }
        let staff = STAFF.iter().filter(|st| st.node == region);
        for st in staff {
            assert!(s.db.staff(st.id).await.unwrap().is_some());
        }
    }
    assert_eq!(count(&nodes[HENAN], "accounts").await, 11);
    assert_eq!(count(&nodes[HUBEI], "accounts").await, 1);
    let (invoices, deed_taxes) = sharing_records(Clock::system().now()).unwrap();
    let henan = &nodes[HENAN].db;
    assert_eq!(
        henan
            .tax_invoices_of(&invoices[0].buyer_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        henan
            .deed_tax_of(&deed_taxes[0].payer_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(count(&nodes[LUOHE], "tax_invoices").await, 0);
}

#[tokio::test]
async fn each_node_seeds_its_share_once_and_every_seal_verifies() {
    let dir = support::scratch_dir("demo_seed");
    let configs = demo::write_configs(&dir, base_port(), None).unwrap();
    let nodes = start_all(&configs).await;
    check_certificates(&nodes).await;
    check_people(&nodes).await;
    check_matters(&nodes).await;
    let mut before = BTreeMap::new();
    for (region, s) in &nodes {
        before.insert(region.clone(), counts(s).await);
    }
    stop_all(nodes).await;

    // A second start seeds nothing: every count stays as it was.
    let nodes = start_all(&configs).await;
    for (region, s) in &nodes {
        assert_eq!(counts(s).await, before[region], "{region}");
    }
    stop_all(nodes).await;
    remove(&dir);
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
