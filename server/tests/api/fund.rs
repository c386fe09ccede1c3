//! Scenario 2 on one node, the housing-fund withdrawal: a province node that is wallet,
//! sharing platform, certificate owner and fund centre at once (the federation's hops are in
//! `tests/federation_e2e.rs`). Online (全程网办) following the notice's steps (1)–(5), the
//! counter's 一证通办 steps (1)–(8), and the refusals.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};
use server::config::{CertTypeSettings, FieldSpec, Settings};
use server::db::sharing::TaxInvoice;
use server::demo::catalog::{TypeSpec, HOUSING_FUND_MATTER, MARRIAGE, PROPERTY};
use server::demo::people::{Person, LH_CA, LH_HF, LIU_YANG, SUN_LI, ZHANG_WEI, ZZ_NRP};
use server::demo::LUOHE;
use server::fund::image::samples;
use wallet_core::{CertId, DeviceKey, Presentation, RegionCode, Subject};

use crate::both_backends;
use crate::helpers::*;

const REVIEWER_PASSWORD: &str = "reviewer-password-1";
const OTHER_REVIEWER: &str = "zz-review-01";
const DEPT_TOKEN: &str = "province-test-department-token-";

fn id(p: &Person) -> String {
    p.resident_id().unwrap().to_string()
}

fn node_key_seed() -> &'static str {
    "ERERERERERERERERERERERERERERERERERERERERERE"
}

/// The province as everything at once: departments issuing 不动产权证书 (Zhengzhou's) and
/// 结婚证 (Luohe's) under it, the fund centre's matter at its own counter, a clerk, the fund
/// centre's reviewer and another department's reviewer.
fn province(url: &str) -> Settings {
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

fn cert_type(t: &TypeSpec) -> CertTypeSettings {
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
fn card(prefix: &str) -> String {
    for d in 0..10 {
        let n = format!("{prefix}{d}");
        if server::fund::form::luhn(&n) {
            return n;
        }
    }
    unreachable!()
}

struct Fund {
    app: TestApp,
    /// 刘洋, real-person session, with his device key.
    liu: String,
    liu_key: DeviceKey,
    sun_key: DeviceKey,
    zhang: String,
    property: CertId,
    liu_marriage: CertId,
    sun_marriage: CertId,
    invoice: TaxInvoice,
    deed_tax: server::db::sharing::DeedTaxRecord,
}

async fn fund(backend: server::db::Backend) -> Fund {
    let app = spawn_with(backend, province).await;
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
async fn liveness(app: &TestApp, token: &str) -> String {
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
    async fn upload(
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
    async fn photos(&self) -> Value {
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

    fn form(&self, photos: &Value) -> Value {
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

    async fn apply(&self, form: &Value) -> (u16, Value) {
        self.app
            .post("/api/wallet/fund/applications", Some(&self.liu), form)
            .await
    }

    async fn staff(&self, staff_id: &str, password: &str) -> String {
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

    async fn reviewer(&self) -> String {
        self.staff("lh-review-01", REVIEWER_PASSWORD).await
    }

    async fn clerk(&self) -> String {
        self.staff("lh-clerk-01", CLERK_PASSWORD).await
    }

    /// A submitted application of 刘洋; returns its id.
    async fn submitted(&self) -> String {
        let photos = self.photos().await;
        let (status, body) = self.apply(&self.form(&photos)).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    fn show(&self, key: &DeviceKey, cert: &CertId) -> String {
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

    async fn audit_results(&self, action: &str) -> Vec<String> {
        let entries = self.app.state.db.audit_entries(0, 10_000).await.unwrap();
        entries
            .into_iter()
            .filter(|e| e.entry.action == action)
            .map(|e| e.entry.result)
            .collect()
    }
}

both_backends!(
    the_online_application_follows_the_notice_and_the_applicant_sees_each_status,
    |backend| async move {
        let f = fund(backend).await;
        // (1) Real-name + real-person login (done), the form with the three photos and consent.
        let photos = f.photos().await;
        let mut form = f.form(&photos);
        // (2)–(4) The sharing platform compares: a wrong amount goes back to the form with the
        // field that differs, and nothing is stored.
        form["invoice"]["amount"] = json!("1200000.00");
        let (status, back) = f.apply(&form).await;
        assert_eq!(status, 422, "{back}");
        assert_eq!(back["code"], "sharing_mismatch");
        assert_eq!(
            back["mismatches"],
            json!([{"field": "invoice.amount", "label": "购房发票金额"}])
        );
        let (_, mine) = f.app.get_as("/api/wallet/fund/applications", &f.liu).await;
        assert_eq!(mine, json!([]));
        // Corrected: a match fetches 不动产权证书 and 结婚证 by ID number.
        form["invoice"]["amount"] = json!("1280000");
        let (status, applied) = f.apply(&form).await;
        assert_eq!(status, 201, "{applied}");
        let app_id = applied["id"].as_str().unwrap().to_owned();
        // The fund centre is this node: the application is with its reviewers at once.
        assert_eq!(applied["status"], "under_review");
        assert_eq!(applied["status_name"], "审核中");
        let number = card("622202170300123456");
        assert_eq!(
            applied["form"]["debit_card_masked"],
            format!("6222 **** **** {}", &number[15..])
        );
        assert!(!applied.to_string().contains(&number), "{applied}");
        assert_eq!(applied["sharing"]["invoice"]["amount"], "1280000.00");
        let certs = applied["certificates"].as_array().unwrap();
        let types: Vec<&str> = certs
            .iter()
            .map(|c| c["type_name"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["不动产权证书", "结婚证"]);
        assert_eq!(certs[0]["cert_id"], f.property.as_str());
        assert_eq!(certs[1]["cert_id"], f.liu_marriage.as_str());
        // Only the matter's fields left the owner; the seal still verifies over them.
        let names: Vec<&str> = certs[0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"坐落") && !names.contains(&"不动产单元号"),
            "{names:?}"
        );
        for c in certs {
            let sealed =
                wallet_core::SealedCertificate::try_from(c["sealed"].as_str().unwrap().to_owned())
                    .unwrap();
            let keys: Vec<wallet_core::TrustEntry> =
                serde_json::from_value(c["issuer_keys"].clone()).unwrap();
            sealed.verify(&wallet_core::TrustList::new(keys)).unwrap();
        }
        // The holder's usage log shows the fetches.
        let (_, usage) = f.app.get_as("/api/wallet/usage", &f.liu).await;
        assert!(usage.to_string().contains(f.property.as_str()), "{usage}");

        // (5) The reviewer finds it in the queue, sees records, certificates and photos.
        let reviewer = f.reviewer().await;
        let (status, queue) = f
            .app
            .get_as("/api/review/fund/applications", &reviewer)
            .await;
        assert_eq!(status, 200, "{queue}");
        assert_eq!(queue[0]["id"], app_id.as_str());
        assert_eq!(queue[0]["applicant_id_masked"].as_str().unwrap().len(), 18);
        let (status, detail) = f
            .app
            .get_as(
                &format!("/api/review/fund/applications/{app_id}"),
                &reviewer,
            )
            .await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["uploads"].as_array().unwrap().len(), 3);
        let photo = f
            .app
            .client
            .get(format!(
                "{}/api/review/fund/applications/{app_id}/uploads/invoice",
                f.app.base
            ))
            .bearer_auth(&reviewer)
            .send()
            .await
            .unwrap();
        assert_eq!(photo.status(), 200);
        let h = photo.headers().clone();
        assert_eq!(h["content-type"], "image/png");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox"));
        assert_eq!(
            photo.bytes().await.unwrap().to_vec(),
            samples::png(1240, 1754)
        );

        // The reviewer approves; the applicant sees it.
        let (status, decided) = f
            .app
            .post(
                &format!("/api/review/fund/applications/{app_id}/decision"),
                Some(&reviewer),
                &json!({"decision": "approve"}),
            )
            .await;
        assert_eq!(status, 200, "{decided}");
        let (_, seen) = f
            .app
            .get_as(&format!("/api/wallet/fund/applications/{app_id}"), &f.liu)
            .await;
        assert_eq!(seen["status"], "approved");
        assert_eq!(seen["status_name"], "审核通过");

        // 办事体验评价, once.
        let path = format!("/api/wallet/fund/applications/{app_id}/evaluation");
        let (status, body) = f
            .app
            .post(
                &path,
                Some(&f.liu),
                &json!({"score": 5, "comment": "一次不用跑"}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let (status, again) = f.app.post(&path, Some(&f.liu), &json!({"score": 1})).await;
        assert_eq!(
            (status, again["code"].as_str()),
            (409, Some("evaluation_exists"))
        );
        let (_, detail) = f
            .app
            .get_as(
                &format!("/api/review/fund/applications/{app_id}"),
                &reviewer,
            )
            .await;
        assert_eq!(detail["evaluation"]["score"], 5);

        // Every step is in the audit log, which still verifies.
        assert_eq!(
            f.audit_results("sharing_check").await,
            ["sharing_mismatch", "ok"]
        );
        assert_eq!(f.audit_results("fetch_on_consent").await, ["ok", "ok"]);
        assert_eq!(f.audit_results("fund_decision").await, ["ok"]);
        assert!(f.app.state.db.verify_audit_chain().await.unwrap().is_ok());
    }
);

both_backends!(
    a_citizen_without_the_real_person_level_is_refused,
    |backend| async move {
        let f = fund(backend).await;
        // 张伟 logged in with his real name only.
        let (status, body) = f
            .upload(&f.zhang, "invoice", "image/png", samples::png(10, 10))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("real_person_required")),
            "{body}"
        );
        let photos = f.photos().await;
        let (status, body) = f
            .app
            .post(
                "/api/wallet/fund/applications",
                Some(&f.zhang),
                &f.form(&photos),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("real_person_required")),
            "{body}"
        );
        // And without consent the applicant with the level is refused too.
        let mut form = f.form(&photos);
        form["consent"] = json!(false);
        let (status, body) = f.apply(&form).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("consent_required")),
            "{body}"
        );
    }
);

both_backends!(
    someone_elses_invoice_or_deed_tax_is_a_mismatch_that_reveals_nothing_of_theirs,
    |backend| async move {
        let f = fund(backend).await;
        let photos = f.photos().await;
        // 张伟's invoice number with 张伟's amount: treated as unknown for 刘洋.
        let mut form = f.form(&photos);
        form["invoice"] = json!({"number": "25412000000099999999", "amount": "987654.00"});
        let (status, body) = f.apply(&form).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            body["mismatches"],
            json!([{"field": "invoice.number", "label": "购房发票号码"}])
        );
        let text = body.to_string();
        assert!(
            !text.contains(ZHANG_WEI.name) && !text.contains("987654"),
            "{text}"
        );
        // 张伟's deed-tax record likewise.
        let mut form = f.form(&photos);
        form["deed_tax"] = json!({"number": "341046250399999999", "amount": "5555.00"});
        let (status, body) = f.apply(&form).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            body["mismatches"],
            json!([{"field": "deed_tax.number", "label": "契税完税凭证号码"}])
        );
        // Nothing was stored, nothing fetched; both checks are audited as mismatches.
        let (_, mine) = f.app.get_as("/api/wallet/fund/applications", &f.liu).await;
        assert_eq!(mine, json!([]));
        assert!(f.audit_results("fetch_on_consent").await.is_empty());
        assert_eq!(
            f.audit_results("sharing_check").await,
            ["sharing_mismatch", "sharing_mismatch"]
        );
    }
);

both_backends!(
    uploads_that_lie_about_their_type_exceed_the_cap_or_are_damaged_are_refused,
    |backend| async move {
        let f = fund(backend).await;
        let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
            (
                "image/jpeg",
                samples::png(10, 10),
                400,
                "upload_type_mismatch",
            ),
            (
                "image/png",
                samples::jpeg(10, 10),
                400,
                "upload_type_mismatch",
            ),
            (
                "image/jpeg",
                b"<html><script>alert(1)</script></html>".to_vec(),
                400,
                "upload_not_image",
            ),
            (
                "image/gif",
                b"GIF89a".to_vec(),
                400,
                "upload_type_unsupported",
            ),
            (
                "image/png",
                samples::png(10, 10)[..40].to_vec(),
                400,
                "upload_content_invalid",
            ),
            (
                "image/png",
                samples::png(20_000, 10),
                400,
                "upload_dimensions_invalid",
            ),
            ("image/jpeg", Vec::new(), 400, "upload_empty"),
        ];
        for (ct, bytes, want, code) in cases {
            let (status, body) = f.upload(&f.liu, "invoice", ct, bytes).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (want, Some(code)),
                "{ct}: {body}"
            );
        }
        let mut big = samples::jpeg(100, 100);
        big.resize(server::fund::image::MAX_BYTES + 1, 0);
        let (status, body) = f.upload(&f.liu, "invoice", "image/jpeg", big).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (413, Some("upload_too_large")),
            "{body}"
        );
        let (status, body) = f
            .upload(&f.liu, "passport", "image/png", samples::png(5, 5))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("upload_kind_invalid")),
            "{body}"
        );
        // A photo can serve only its uploader, only as its kind, only once.
        let sun = liveness(&f.app, &login(&f.app, &SUN_LI).await).await;
        let (status, theirs) = f
            .upload(&sun, "invoice", "image/png", samples::png(5, 5))
            .await;
        assert_eq!(status, 201, "{theirs}");
        let mut photos = f.photos().await;
        photos["invoice"] = theirs["id"].clone();
        let (status, body) = f.apply(&f.form(&photos)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("upload_unavailable")),
            "{body}"
        );
        let photos = f.photos().await;
        let mut swapped = photos.clone();
        swapped["invoice"] = photos["deed_tax"].clone();
        let (status, body) = f.apply(&f.form(&swapped)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("upload_unavailable")),
            "{body}"
        );
        let (status, body) = f.apply(&f.form(&photos)).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = f.apply(&f.form(&photos)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("upload_unavailable")),
            "{body}"
        );
    }
);

/// Logs a demo person in with the one-time code of their phone; returns the access token.
async fn login(app: &TestApp, p: &Person) -> String {
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

both_backends!(
    a_reviewer_decides_once_and_a_rejection_needs_a_reason_the_applicant_sees,
    |backend| async move {
        let f = fund(backend).await;
        let app_id = f.submitted().await;
        let reviewer = f.reviewer().await;
        let path = format!("/api/review/fund/applications/{app_id}/decision");
        let (status, body) = f
            .app
            .post(&path, Some(&reviewer), &json!({"decision": "reject"}))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("reason_required")),
            "{body}"
        );
        let (status, body) = f
            .app
            .post(&path, Some(&reviewer), &json!({"decision": "maybe"}))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("decision_invalid")),
            "{body}"
        );
        let reason = "购房时间已超过提取期限";
        let (status, body) = f
            .app
            .post(
                &path,
                Some(&reviewer),
                &json!({"decision": "reject", "reason": reason}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        // Deciding twice — either way — is refused and changes nothing.
        for decision in ["approve", "reject"] {
            let (status, body) = f
                .app
                .post(
                    &path,
                    Some(&reviewer),
                    &json!({"decision": decision, "reason": "再审"}),
                )
                .await;
            assert_eq!(
                (status, body["code"].as_str()),
                (409, Some("decision_exists")),
                "{body}"
            );
        }
        let (_, seen) = f
            .app
            .get_as(&format!("/api/wallet/fund/applications/{app_id}"), &f.liu)
            .await;
        assert_eq!(
            (seen["status"].as_str(), seen["reason"].as_str()),
            (Some("rejected"), Some(reason))
        );
        let (_, queue) = f
            .app
            .get_as("/api/review/fund/applications?status=rejected", &reviewer)
            .await;
        assert_eq!(queue[0]["id"], app_id.as_str());
        let (_, pending) = f
            .app
            .get_as("/api/review/fund/applications", &reviewer)
            .await;
        assert_eq!(pending, json!([]));
    }
);

both_backends!(
    clerk_and_reviewer_tokens_do_not_cross_and_a_reviewer_sees_only_their_department,
    |backend| async move {
        let f = fund(backend).await;
        let app_id = f.submitted().await;
        let clerk = f.clerk().await;
        let reviewer = f.reviewer().await;
        let review = format!("/api/review/fund/applications/{app_id}");
        for (path, token) in [
            ("/api/review/fund/applications".to_owned(), &clerk),
            (review.clone(), &clerk),
            (review.clone(), &f.liu),
        ] {
            let (status, body) = f.app.get_as(&path, token).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("forbidden")),
                "{path}: {body}"
            );
        }
        let (status, body) = f
            .app
            .post(
                &format!("{review}/decision"),
                Some(&clerk),
                &json!({"decision": "approve"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        let (status, body) = f
            .app
            .post(
                "/api/counter/cases",
                Some(&reviewer),
                &json!({"matter": HOUSING_FUND_MATTER}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        let (status, body) = f
            .app
            .post(
                "/api/counter/cases/x/applicant",
                Some(&reviewer),
                &json!({"resident_id": id(&LIU_YANG), "consent": true}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        // A reviewer of another department does not see the fund centre's applications.
        let other = f.staff(OTHER_REVIEWER, REVIEWER_PASSWORD).await;
        let (status, body) = f.app.get_as(&review, &other).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("application_not_found")),
            "{body}"
        );
        let (_, queue) = f.app.get_as("/api/review/fund/applications", &other).await;
        assert_eq!(queue, json!([]));
        // Another citizen does not see 刘洋's application.
        let (status, _) = f
            .app
            .get_as(&format!("/api/wallet/fund/applications/{app_id}"), &f.zhang)
            .await;
        assert_eq!(status, 404);
    }
);

async fn open_case(f: &Fund, clerk: &str) -> String {
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

both_backends!(
    the_counter_one_stop_flow_binds_the_case_to_the_applicants_id_card,
    |backend| async move {
        let f = fund(backend).await;
        let clerk = f.clerk().await;
        let case = open_case(&f, &clerk).await;
        let scan = |text: String| {
            let (app, clerk, case) = (&f.app, clerk.clone(), case.clone());
            async move {
                app.post(
                    &format!("/api/counter/cases/{case}/retrievals"),
                    Some(&clerk),
                    &json!({"text": text}),
                )
                .await
            }
        };
        // (1) Nothing is scanned before the applicant's ID card is recorded.
        let (status, body) = scan(f.show(&f.liu_key, &f.property)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("applicant_required")),
            "{body}"
        );
        let applicant = format!("/api/counter/cases/{case}/applicant");
        let mut wrong = id(&LIU_YANG);
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(17.., last);
        let (status, body) = f
            .app
            .post(
                &applicant,
                Some(&clerk),
                &json!({"resident_id": wrong, "consent": true}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = f
            .app
            .post(
                &applicant,
                Some(&clerk),
                &json!({"resident_id": id(&LIU_YANG), "consent": false}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("consent_required")),
            "{body}"
        );
        let (status, body) = f
            .app
            .post(
                &applicant,
                Some(&clerk),
                &json!({"resident_id": id(&LIU_YANG), "consent": true}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body["missing"],
            json!([
                "sharing_query",
                "invoice_confirmation",
                "deed_tax_confirmation",
                "debit_card"
            ])
        );
        let (status, body) = f
            .app
            .post(
                &applicant,
                Some(&clerk),
                &json!({"resident_id": id(&ZHANG_WEI), "consent": true}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("applicant_exists")),
            "{body}"
        );

        // (2)–(7) The applicant shows 不动产权证书; the spouse shows her 结婚证, which names him.
        for (key, cert) in [(&f.liu_key, &f.property), (&f.sun_key, &f.sun_marriage)] {
            let (status, got) = scan(f.show(key, cert)).await;
            assert_eq!(status, 201, "{got}");
            let rid = got["retrieval_id"].as_str().unwrap();
            let (status, body) = f
                .app
                .post(
                    &format!("/api/counter/retrievals/{rid}/confirm"),
                    Some(&clerk),
                    &json!({}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
        }
        // 办结 waits for the sharing platform's records and the debit card.
        let finish = format!("/api/counter/cases/{case}/finish");
        let (status, body) = f.app.post(&finish, Some(&clerk), &json!({})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("fund_case_incomplete")),
            "{body}"
        );

        // (8) The sharing platform, by the applicant's ID number: name, invoice, deed tax.
        let (status, shared) = f
            .app
            .post(
                &format!("/api/counter/cases/{case}/sharing"),
                Some(&clerk),
                &json!({}),
            )
            .await;
        assert_eq!(status, 200, "{shared}");
        assert_eq!(shared["person_name"], LIU_YANG.name);
        assert_eq!(shared["sharing"]["invoices"].as_array().unwrap().len(), 1);
        assert!(!shared.to_string().contains(&id(&LIU_YANG)), "{shared}");
        assert!(
            !shared.to_string().contains("99999999"),
            "another person's record: {shared}"
        );
        assert_eq!(shared["attached"], json!(["不动产权证书", "结婚证"]));
        // The applicant confirms each record on screen.
        let confirm = format!("/api/counter/cases/{case}/sharing/confirm");
        let (status, body) = f
            .app
            .post(
                &confirm,
                Some(&clerk),
                &json!({"kind": "invoice", "number": "25412000000099999999"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("sharing_record_unknown")),
            "{body}"
        );
        for (kind, number) in [
            ("invoice", &f.invoice.invoice_number),
            ("deed_tax", &f.deed_tax.certificate_number),
        ] {
            let (status, body) = f
                .app
                .post(
                    &confirm,
                    Some(&clerk),
                    &json!({"kind": kind, "number": number}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        // The I类借记卡, Luhn-checked.
        let debit = format!("/api/counter/cases/{case}/debit-card");
        let (status, body) = f
            .app
            .post(
                &debit,
                Some(&clerk),
                &json!({"bank": "中国银行", "number": "6222021234567890"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("debit_card_invalid")),
            "{body}"
        );
        let number = card("621661000012345678");
        let (status, body) = f
            .app
            .post(
                &debit,
                Some(&clerk),
                &json!({"bank": "中国银行漯河分行", "number": number}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["missing"], json!([]));
        assert!(!body.to_string().contains(&number), "{body}");
        // The case completes, and the applicant rates it.
        let (status, body) = f.app.post(&finish, Some(&clerk), &json!({})).await;
        assert_eq!(status, 204, "{body}");
        let (status, body) = f
            .app
            .post(
                &format!("/api/counter/cases/{case}/evaluation"),
                Some(&clerk),
                &json!({"score": 5}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let (status, record) = f
            .app
            .get_as(&format!("/api/counter/cases/{case}/fund"), &clerk)
            .await;
        assert_eq!(status, 200, "{record}");
        assert_eq!(
            record["invoice_confirmed"],
            f.invoice.invoice_number.as_str()
        );
        assert_eq!(f.audit_results("sharing_query").await, ["ok"]);
        assert!(f.app.state.db.verify_audit_chain().await.unwrap().is_ok());
    }
);

both_backends!(
    a_marriage_certificate_of_neither_spouse_is_refused_for_the_case,
    |backend| async move {
        let f = fund(backend).await;
        let clerk = f.clerk().await;
        let case = open_case(&f, &clerk).await;
        // The ID card is 张伟's; 刘洋's marriage names 孙丽, not 张伟.
        let (status, body) = f
            .app
            .post(
                &format!("/api/counter/cases/{case}/applicant"),
                Some(&clerk),
                &json!({"resident_id": id(&ZHANG_WEI), "consent": true}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = f
            .app
            .post(
                &format!("/api/counter/cases/{case}/retrievals"),
                Some(&clerk),
                &json!({"text": f.show(&f.liu_key, &f.liu_marriage)}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("certificate_not_applicants")),
            "{body}"
        );
        // The retrieval on record cannot be attached to the case either.
        let (_, view) = f
            .app
            .get_as(&format!("/api/counter/cases/{case}"), &clerk)
            .await;
        let rid = view["retrievals"][0]["retrieval_id"].as_str().unwrap();
        let (status, body) = f
            .app
            .post(
                &format!("/api/counter/retrievals/{rid}/confirm"),
                Some(&clerk),
                &json!({}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("certificate_not_applicants")),
            "{body}"
        );
        assert_eq!(
            f.audit_results("retrieval_for_case").await,
            ["certificate_not_applicants"]
        );
        let (status, body) = f
            .app
            .send(
                Method::GET,
                &format!("/api/counter/cases/{case}/fund"),
                Some(&clerk),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["attached"], json!([]));
    }
);
