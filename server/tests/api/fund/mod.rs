//! Scenario 2 on one node, the housing-fund withdrawal: a province node that is wallet,
//! sharing platform, certificate owner and fund centre at once (the hops between nodes are in
//! `tests/fund_e2e.rs`). Online (全程网办) following the notice's steps (1)–(5) in `online.rs`,
//! the counter's 一证通办 steps (1)–(8) in `counter.rs`, and the refusals.

mod counter;
mod online;

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use server::config::{CertTypeSettings, FieldSpec, Settings};
use server::db::sharing::TaxInvoice;
use server::demo::catalog::{TypeSpec, HOUSING_FUND_MATTER, MARRIAGE, PROPERTY};
use server::demo::people::{Person, LH_CA, LH_HF, LIU_YANG, SUN_LI, ZHANG_WEI, ZZ_NRP};
use server::demo::LUOHE;
use server::fund::image::samples;
use wallet_core::{CertId, DeviceKey, Presentation, RegionCode, Subject};

use crate::helpers::*;

pub(super) const REVIEWER_PASSWORD: &str = "reviewer-password-1";
pub(super) const OTHER_REVIEWER: &str = "zz-review-01";
pub(super) const DEPT_TOKEN: &str = "province-test-department-token-";

pub(super) fn id(p: &Person) -> String {
    p.resident_id().unwrap().to_string()
}

pub(super) fn node_key_seed() -> &'static str {
    "ERERERERERERERERERERERERERERERERERERERERERE"
}

/// The province as everything at once: departments issuing 不动产权证书 (Zhengzhou's) and
/// 结婚证 (Luohe's) under it, the fund centre's matter at its own counter, a clerk, the fund
/// centre's reviewer and another department's reviewer.
pub(super) fn province(url: &str) -> Settings {
    let nrp = ZZ_NRP.credit_code().unwrap();
    let ca = LH_CA.credit_code().unwrap();
    let hf = LH_HF.credit_code().unwrap();
    let text = format!(
        r#"
region = "410000"
name = "河南省电子证照系统"
listen = "127.0.0.1:0"
database_url = "{url}"
mode = "demo"
node_key = "{seed}"

[[departments]]
credit_code = "{nrp}"
name = "{nrp_name}"
token = "{DEPT_TOKEN}nrp"

[[departments]]
credit_code = "{ca}"
name = "{ca_name}"
token = "{DEPT_TOKEN}ca"

[[departments]]
credit_code = "{hf}"
name = "{hf_name}"
token = "{DEPT_TOKEN}hf"

[[staff]]
id = "lh-clerk-01"
name = "王芳"
role = "clerk"
department = "{hf}"
counter = "漯河市民之家 综合受理3号窗口"
password = "{CLERK_PASSWORD}"

[[staff]]
id = "lh-review-01"
name = "马骏"
role = "reviewer"
department = "{hf}"
counter = "漯河市住房公积金中心 提取审核"
password = "{REVIEWER_PASSWORD}"

[[staff]]
id = "{OTHER_REVIEWER}"
name = "赵审"
role = "reviewer"
department = "{nrp}"
counter = "郑州市自然资源和规划局"
password = "{REVIEWER_PASSWORD}"
"#,
        seed = node_key_seed(),
        nrp_name = ZZ_NRP.name,
        ca_name = LH_CA.name,
        hf_name = LH_HF.name,
    );
    let mut s = Settings::from_toml(&text, |_| None).unwrap();
    for t in [&PROPERTY, &MARRIAGE] {
        s.cert_types.push(cert_type(t));
    }
    let fund = server::demo::catalog::matters(LUOHE)
        .unwrap()
        .into_iter()
        .find(|m| m.code == HOUSING_FUND_MATTER)
        .unwrap();
    s.matters.push(fund);
    s
}

pub(super) fn cert_type(t: &TypeSpec) -> CertTypeSettings {
    CertTypeSettings {
        code: t.code().unwrap(),
        name: t.name.into(),
        department: t.dept.credit_code().unwrap().to_string(),
        holder_kind: t.holder_kind.into(),
        disclosable: t.disclosable,
        national: t.national,
        fields: t
            .fields
            .iter()
            .map(|&(name, required, disclosable)| FieldSpec {
                name: name.into(),
                required,
                disclosable,
            })
            .collect(),
    }
}

/// A card number of `prefix` completed with its Luhn check digit.
pub(super) fn card(prefix: &str) -> String {
    for d in 0..10 {
        let n = format!("{prefix}{d}");
        if server::fund::form::luhn(&n) {
            return n;
        }
    }
    unreachable!()
}

pub(super) struct Fund {
    pub(super) app: TestApp,
    /// 刘洋, real-person session, with his device key.
    pub(super) liu: String,
    pub(super) liu_key: DeviceKey,
    pub(super) sun_key: DeviceKey,
    pub(super) zhang: String,
    pub(super) property: CertId,
    pub(super) liu_marriage: CertId,
    pub(super) sun_marriage: CertId,
    pub(super) invoice: TaxInvoice,
    pub(super) deed_tax: server::db::sharing::DeedTaxRecord,
}

pub(super) async fn fund(backend: server::db::Backend) -> Fund {
    let app = spawn_made(backend, province).await;
    // The departments issue 刘洋's home and both spouses' marriage certificates.
    let mut issued = std::collections::BTreeMap::new();
    for c in server::demo::issued::certificates(START).unwrap() {
        if !matches!(c.ty.name, "不动产权证书" | "结婚证") {
            continue;
        }
        let token = if c.ty.name == "结婚证" {
            "ca"
        } else {
            "nrp"
        };
        let (status, body) = app
            .post(
                "/api/issuer/certificates",
                Some(&format!("{DEPT_TOKEN}{token}")),
                &json!({
                    "type_code": c.ty.code().unwrap(), "holder_kind": "person",
                    "holder_id": c.holder_id, "holder_name": c.holder_name,
                    "valid_from": c.valid_from, "valid_until": c.valid_until, "fields": c.fields,
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        issued.insert(
            (c.ty.name, c.holder_id),
            body["id"].as_str().unwrap().parse::<CertId>().unwrap(),
        );
    }
    // The tax authority's records at the sharing platform: 刘洋's purchase, and someone else's.
    let (invoices, deed_taxes) = server::demo::issued::sharing_records(START).unwrap();
    for t in &invoices {
        app.state.db.insert_tax_invoice(t).await.unwrap();
    }
    for d in &deed_taxes {
        app.state.db.insert_deed_tax(d).await.unwrap();
    }
    let other = TaxInvoice {
        invoice_number: "25412000000099999999".into(),
        buyer_id: id(&ZHANG_WEI),
        buyer_name: ZHANG_WEI.name.into(),
        seller_name: "某某".into(),
        property_address: "郑州市中原区建设路12号院".into(),
        amount_fen: 98_765_400,
        issued_at: START - 100 * 86_400,
    };
    app.state.db.insert_tax_invoice(&other).await.unwrap();
    let mut other_deed = deed_taxes[0].clone();
    other_deed.certificate_number = "341046250399999999".into();
    other_deed.payer_id = id(&ZHANG_WEI);
    other_deed.payer_name = ZHANG_WEI.name.into();
    other_deed.amount_fen = 555_500;
    app.state.db.insert_deed_tax(&other_deed).await.unwrap();

    let (liu, liu_key) = app
        .citizen_with_device(&id(&LIU_YANG), LIU_YANG.name, LIU_YANG.phone.unwrap())
        .await;
    let liu = liveness(&app, &liu).await;
    let (_, sun_key) = app
        .citizen_with_device(&id(&SUN_LI), SUN_LI.name, SUN_LI.phone.unwrap())
        .await;
    let (zhang, _) = app
        .citizen_with_device(&id(&ZHANG_WEI), ZHANG_WEI.name, ZHANG_WEI.phone.unwrap())
        .await;
    Fund {
        property: issued[&("不动产权证书", id(&LIU_YANG))].clone(),
        liu_marriage: issued[&("结婚证", id(&LIU_YANG))].clone(),
        sun_marriage: issued[&("结婚证", id(&SUN_LI))].clone(),
        invoice: invoices[0].clone(),
        deed_tax: deed_taxes[0].clone(),
        app,
        liu,
        liu_key,
        sun_key,
        zhang,
    }
}

/// 实人认证: the demo liveness check raises the session; returns the new access token.
pub(super) async fn liveness(app: &TestApp, token: &str) -> String {
    let (status, body) = app
        .post(
            "/api/wallet/liveness",
            Some(token),
            &json!({"evidence": "demo-liveness-confirmed"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["level"], "real_person");
    body["access_token"].as_str().unwrap().to_owned()
}

impl Fund {
    pub(super) async fn upload(
        &self,
        token: &str,
        kind: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        let r = self
            .app
            .client
            .post(format!("{}/api/wallet/fund/uploads/{kind}", self.app.base))
            .bearer_auth(token)
            .header(CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The three photos of 刘洋's form; returns their ids.
    pub(super) async fn photos(&self) -> Value {
        let mut ids = json!({});
        for (kind, ct, bytes) in [
            ("debit_card", "image/jpeg", samples::jpeg(856, 540)),
            ("invoice", "image/png", samples::png(1240, 1754)),
            ("deed_tax", "image/jpeg", samples::jpeg(1240, 1754)),
        ] {
            let (status, body) = self.upload(&self.liu, kind, ct, bytes).await;
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["content_type"], ct);
            ids[kind] = body["id"].clone();
        }
        ids
    }

    pub(super) fn form(&self, photos: &Value) -> Value {
        json!({
            "matter": HOUSING_FUND_MATTER,
            "debit_card": {"bank": "中国工商银行漯河分行", "number": card("622202170300123456")},
            "invoice": {"number": self.invoice.invoice_number, "amount": "1280000.00"},
            "deed_tax": {"number": self.deed_tax.certificate_number, "amount": "12800"},
            "spouse_participates": true,
            "uploads": photos,
            "consent": true,
        })
    }

    pub(super) async fn apply(&self, form: &Value) -> (u16, Value) {
        self.app
            .post("/api/wallet/fund/applications", Some(&self.liu), form)
            .await
    }

    /// The reviewer (or whoever holds `token`) decides an application.
    pub(super) async fn decide(&self, app_id: &str, token: &str, decision: Value) -> (u16, Value) {
        self.app
            .post(
                &format!("/api/review/fund/applications/{app_id}/decision"),
                Some(token),
                &decision,
            )
            .await
    }

    /// An application as the fund centre's back office shows it to `token`.
    pub(super) async fn review_view(&self, app_id: &str, token: &str) -> (u16, Value) {
        self.app
            .get_as(&format!("/api/review/fund/applications/{app_id}"), token)
            .await
    }

    /// An application as the wallet shows it to `token`.
    pub(super) async fn wallet_view(&self, app_id: &str, token: &str) -> (u16, Value) {
        self.app
            .get_as(&format!("/api/wallet/fund/applications/{app_id}"), token)
            .await
    }

    pub(super) async fn staff(&self, staff_id: &str, password: &str) -> String {
        let (status, body) = self
            .app
            .post(
                "/api/staff/login",
                None,
                &json!({"id": staff_id, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub(super) async fn reviewer(&self) -> String {
        self.staff("lh-review-01", REVIEWER_PASSWORD).await
    }

    pub(super) async fn clerk(&self) -> String {
        self.staff("lh-clerk-01", CLERK_PASSWORD).await
    }

    /// A submitted application of 刘洋; returns its id.
    pub(super) async fn submitted(&self) -> String {
        let photos = self.photos().await;
        let (status, body) = self.apply(&self.form(&photos)).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub(super) fn show(&self, key: &DeviceKey, cert: &CertId) -> String {
        let now = self.app.time.load(std::sync::atomic::Ordering::SeqCst);
        Presentation::sign(
            key,
            RegionCode::new(410000).unwrap(),
            Subject::Certificate(cert.clone()),
            now,
            60,
        )
        .unwrap()
        .encode_text()
    }

    pub(super) async fn audit_results(&self, action: &str) -> Vec<String> {
        let entries = self.app.state.db.audit_entries(0, 10_000).await.unwrap();
        entries
            .into_iter()
            .filter(|e| e.entry.action == action)
            .map(|e| e.entry.result)
            .collect()
    }
}

/// Logs a demo person in with the one-time code of their phone; returns the access token.
pub(super) async fn login(app: &TestApp, p: &Person) -> String {
    let phone = p.phone.unwrap();
    let code = app.otp(phone, "login").await;
    let (status, body) = app
        .post(
            "/api/wallet/login",
            None,
            &json!({"phone": phone, "code": code}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub(super) async fn open_case(f: &Fund, clerk: &str) -> String {
    let (status, body) = f
        .app
        .post(
            "/api/counter/cases",
            Some(clerk),
            &json!({"matter": HOUSING_FUND_MATTER}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["case"]["id"].as_str().unwrap().to_owned()
}
