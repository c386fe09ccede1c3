//! Scenario 2 over the demo federation, every node a separate `server` process on loopback
//! with its own SQLite file, talking HTTP only: 刘洋 bought a second-hand home in Zhengzhou
//! (不动产权证书 issued there), married in Luohe (结婚证 issued there), and withdraws his
//! housing fund in Luohe, where he pays in.
//!
//! Follows the pilot notice's scenario 2: the offline 一证通办 (业务流程说明 (1)–(8)) at the
//! Luohe counter, then the online 全程网办 ((1)–(5)) in the wallet at Henan with the fund
//! centre's review at Luohe, and the application reaching Luohe after Luohe was down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod demo_processes;

use demo_processes::{eventually, now, Demo};
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use server::demo::catalog::{HOUSING_FUND_MATTER, MARRIAGE, PROPERTY};
use server::demo::people::LIU_YANG;
use server::demo::{HENAN, LUOHE, NATIONAL, ZHENGZHOU};
use server::fund::image::samples;
use wallet_core::{CertId, DeviceKey, Presentation, RegionCode, Subject};

fn show(key: &DeviceKey, cert: &CertId) -> String {
    Presentation::sign(
        key,
        RegionCode::new(410000).unwrap(),
        Subject::Certificate(cert.clone()),
        now(),
        60,
    )
    .unwrap()
    .encode_text()
}

fn liu() -> String {
    LIU_YANG.resident_id().unwrap().to_string()
}

/// A bank card number of `prefix` completed with its Luhn check digit.
fn card(prefix: &str) -> String {
    (0..10)
        .map(|d| format!("{prefix}{d}"))
        .find(|n| server::fund::form::luhn(n))
        .unwrap()
}

async fn upload(demo: &Demo, token: &str, kind: &str, ct: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = demo
        .http
        .post(format!(
            "{}/api/wallet/fund/uploads/{kind}",
            demo.url(HENAN)
        ))
        .bearer_auth(token)
        .header(CONTENT_TYPE, ct)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The three photos of the form; returns their ids by kind.
async fn photos(demo: &Demo, token: &str) -> Value {
    let mut ids = json!({});
    for (kind, ct, bytes) in [
        ("debit_card", "image/jpeg", samples::jpeg(856, 540)),
        ("invoice", "image/png", samples::png(1240, 1754)),
        ("deed_tax", "image/jpeg", samples::jpeg(1240, 1754)),
    ] {
        let (status, body) = upload(demo, token, kind, ct, bytes).await;
        assert_eq!(status, 201, "{body}");
        ids[kind] = body["id"].clone();
    }
    ids
}

/// The form as 刘洋 types it from his paper invoice and deed-tax certificate.
fn form(photos: &Value, spouse: bool, records: &(Value, Value)) -> Value {
    json!({
        "matter": HOUSING_FUND_MATTER,
        "debit_card": {"bank": "中国工商银行漯河分行", "number": card("622202170300123456")},
        "invoice": {"number": records.0, "amount": "1280000.00"},
        "deed_tax": {"number": records.1, "amount": "12800.00"},
        "spouse_participates": spouse,
        "uploads": photos,
        "consent": true,
    })
}

/// A step of the Luohe clerk on the case: `POST /api/counter/cases/{case}/{step}`.
async fn counter_step(
    demo: &Demo,
    clerk: &str,
    case: &str,
    step: &str,
    body: Value,
) -> (u16, Value) {
    demo.post(
        LUOHE,
        &format!("/api/counter/cases/{case}/{step}"),
        Some(clerk),
        &body,
    )
    .await
}

/// 刘洋 submits the form at the wallet.
async fn apply(demo: &Demo, token: &str, form: &Value) -> (u16, Value) {
    demo.post(HENAN, "/api/wallet/fund/applications", Some(token), form)
        .await
}

/// The fund centre's reviewer decides an application at Luohe.
async fn decide(demo: &Demo, reviewer: &str, application: &str, decision: Value) -> (u16, Value) {
    demo.post(
        LUOHE,
        &format!("/api/review/fund/applications/{application}/decision"),
        Some(reviewer),
        &decision,
    )
    .await
}

/// Polls the application at the wallet until it shows `status`; returns it.
async fn application_shows(demo: &Demo, token: &str, id: &str, status: &str) -> Value {
    eventually(
        &format!("application {id} {status} at the wallet"),
        || async {
            let (_, seen) = demo
                .get(HENAN, &format!("/api/wallet/fund/applications/{id}"), token)
                .await;
            (seen["status"] == status).then_some(seen)
        },
    )
    .await
}

/// The audit entries of `action` at a node.
async fn audited(demo: &Demo, region: &str, action: &str) -> Vec<server::db::audit::AuditEntry> {
    let db = demo.db(region).await;
    assert!(db.verify_audit_chain().await.unwrap().is_ok(), "{region}");
    db.audit_entries(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.entry)
        .filter(|e| e.action == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_2_the_housing_fund_withdrawal_offline_and_online_across_separate_nodes() {
    let mut demo = Demo::running(&[NATIONAL, HENAN, ZHENGZHOU, LUOHE]).await;
    let (liu_token, liu_key) = demo.wallet_user(&liu()).await;
    let held = |c: Value| -> CertId { c["id"].as_str().unwrap().parse().unwrap() };
    let property = held(
        demo.my_certificate_of(&liu_token, &PROPERTY, ZHENGZHOU)
            .await,
    );
    let marriage = held(demo.my_certificate_of(&liu_token, &MARRIAGE, LUOHE).await);

    // ── 线下“一证通办” at 漯河市民之家 ──
    // (1) 刘洋 applies where he pays in, showing his ID card and I类借记卡: the clerk opens the
    // case, records the resident ID with his consent, and the debit card.
    let clerk = demo.staff(LUOHE, "clerk").await;
    let case = demo.open_case(LUOHE, &clerk, HOUSING_FUND_MATTER).await;
    let (status, body) = counter_step(
        &demo,
        &clerk,
        &case,
        "applicant",
        json!({"resident_id": liu(), "consent": true}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = counter_step(
        &demo,
        &clerk,
        &case,
        "debit-card",
        json!({"bank": "中国工商银行漯河分行", "number": card("622202170300123456")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // (2)–(6) He shows the codes of his 不动产权证书 and 结婚证; the counter's node asks the
    // province, which fetches the property certificate from Zhengzhou; the marriage
    // certificate is Luohe's own, consented at the province and delivered in Luohe.
    // (7) The clerk checks each, he confirms, each is attached.
    for (cert, path) in [
        (&property, json!([LUOHE, HENAN, ZHENGZHOU])),
        (&marriage, json!([LUOHE, HENAN, LUOHE])),
    ] {
        let (status, got) = demo.scan(LUOHE, &clerk, &case, &show(&liu_key, cert)).await;
        assert_eq!(status, 201, "{got}");
        assert_eq!(got["path"], path);
        let rid = got["retrieval_id"].as_str().unwrap();
        let (status, body) = demo.confirm(LUOHE, &clerk, rid).await;
        assert_eq!(status, 201, "{body}");
    }

    // (8) The invoice and deed-tax data come from the province's sharing platform by his ID
    // number; he confirms each on screen; the case completes and he rates it.
    let (status, shared) = counter_step(&demo, &clerk, &case, "sharing", json!({})).await;
    assert_eq!(status, 200, "{shared}");
    assert_eq!(shared["person_name"], LIU_YANG.name);
    let records = (
        shared["sharing"]["invoices"][0]["invoice_number"].clone(),
        shared["sharing"]["deed_taxes"][0]["certificate_number"].clone(),
    );
    for (kind, number) in [("invoice", &records.0), ("deed_tax", &records.1)] {
        let (status, body) = counter_step(
            &demo,
            &clerk,
            &case,
            "sharing/confirm",
            json!({"kind": kind, "number": number}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, state) = demo
        .get(LUOHE, &format!("/api/counter/cases/{case}/fund"), &clerk)
        .await;
    assert_eq!(state["missing"], json!([]), "{state}");
    assert_eq!(state["attached"], json!(["不动产权证书", "结婚证"]));
    let (status, body) = counter_step(&demo, &clerk, &case, "finish", json!({})).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) =
        counter_step(&demo, &clerk, &case, "evaluation", json!({"score": 5})).await;
    assert_eq!(status, 204, "{body}");
    // The query is audited at the province, for this case and clerk, and at Luohe.
    let asked = audited(&demo, HENAN, "sharing_query").await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].actor, "411100:clerk:lh-clerk-01");
    assert_eq!(asked[0].subject, case);
    let kept = audited(&demo, LUOHE, "sharing_received").await;
    assert_eq!(kept[0].correlation_id, asked[0].correlation_id);

    // ── 线上“全程网办” in the wallet ──
    // (1) Real-name login is not enough: the real-person (实人) check comes first.
    let (status, refused) = upload(
        &demo,
        &liu_token,
        "invoice",
        "image/png",
        samples::png(10, 10),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("real_person_required"))
    );
    let (status, raised) = demo
        .post(
            HENAN,
            "/api/wallet/liveness",
            Some(&liu_token),
            &json!({"evidence": "demo-liveness-confirmed"}),
        )
        .await;
    assert_eq!(status, 200, "{raised}");
    let liu_token = raised["access_token"].as_str().unwrap().to_owned();
    // He fills the form (debit card, invoice and deed-tax numbers and amounts), uploads the
    // three photos and consents to the queries.
    let ids = photos(&demo, &liu_token).await;
    let mut typed = form(&ids, true, &records);
    typed["deed_tax"]["amount"] = json!("12000.00");
    // (2)–(4) The sharing platform compares: one amount differs, back to the form.
    let (status, back) = apply(&demo, &liu_token, &typed).await;
    assert_eq!(status, 422, "{back}");
    assert_eq!(back["mismatches"][0]["field"], "deed_tax.amount");
    // Corrected, it matches; the province fetches both certificates by his ID number.
    let (status, applied) = apply(&demo, &liu_token, &form(&ids, true, &records)).await;
    assert_eq!(status, 201, "{applied}");
    let app_id = applied["id"].as_str().unwrap().to_owned();
    let certs = applied["certificates"].as_array().unwrap();
    assert_eq!(certs[0]["path"], json!([HENAN, ZHENGZHOU]));
    assert_eq!(certs[1]["path"], json!([HENAN, LUOHE]));
    assert_eq!(certs[0]["cert_id"], property.as_str());
    // Each fetch is audited at the province and at the owner under one correlation id.
    for (cert, owner) in [(&certs[0], ZHENGZHOU), (&certs[1], LUOHE)] {
        let cid = cert["correlation_id"].as_str().unwrap();
        for region in [HENAN, owner] {
            let entries = demo
                .db(region)
                .await
                .audit_by_correlation(cid)
                .await
                .unwrap();
            assert_eq!(entries.len(), 1, "{region}: {entries:?}");
            assert_eq!(entries[0].entry.result, "ok");
        }
    }

    // (5) The application reaches the fund centre at Luohe; the applicant sees 审核中.
    let reviewer = demo.staff(LUOHE, "reviewer").await;
    eventually("the application in the review queue", || async {
        let (_, queue) = demo
            .get(LUOHE, "/api/review/fund/applications", &reviewer)
            .await;
        queue
            .as_array()
            .and_then(|q| q.iter().find(|a| a["id"] == app_id.as_str()).cloned())
    })
    .await;
    application_shows(&demo, &liu_token, &app_id, "under_review").await;
    // A clerk's token does not open the back office.
    let (status, _) = demo
        .get(LUOHE, "/api/review/fund/applications", &clerk)
        .await;
    assert_eq!(status, 403);
    // The reviewer checks the certificates (seal verifiable from what is shown) and photos.
    let (status, detail) = demo
        .get(
            LUOHE,
            &format!("/api/review/fund/applications/{app_id}"),
            &reviewer,
        )
        .await;
    assert_eq!(status, 200, "{detail}");
    for c in detail["certificates"].as_array().unwrap() {
        let sealed =
            wallet_core::SealedCertificate::try_from(c["sealed"].as_str().unwrap().to_owned())
                .unwrap();
        let keys: Vec<wallet_core::TrustEntry> =
            serde_json::from_value(c["issuer_keys"].clone()).unwrap();
        sealed.verify(&wallet_core::TrustList::new(keys)).unwrap();
    }
    assert_eq!(detail["sharing"]["invoice"]["amount"], "1280000.00");
    let photo = demo
        .http
        .get(format!(
            "{}/api/review/fund/applications/{app_id}/uploads/invoice",
            demo.url(LUOHE)
        ))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert_eq!(photo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        photo.bytes().await.unwrap().to_vec(),
        samples::png(1240, 1754)
    );
    // The reviewer approves, once; the decision comes back to the wallet.
    let (status, body) = decide(&demo, &reviewer, &app_id, json!({"decision": "approve"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = decide(
        &demo,
        &reviewer,
        &app_id,
        json!({"decision": "reject", "reason": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("decision_exists"))
    );
    // The applicant sees 已通过.
    application_shows(&demo, &liu_token, &app_id, "approved").await;
    // 办事体验评价 after the online case too; the fund centre receives it.
    let (status, body) = demo
        .post(
            HENAN,
            &format!("/api/wallet/fund/applications/{app_id}/evaluation"),
            Some(&liu_token),
            &json!({"score": 5, "comment": "一次不用跑"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    eventually("the rating at the fund centre", || async {
        let (_, d) = demo
            .get(
                LUOHE,
                &format!("/api/review/fund/applications/{app_id}"),
                &reviewer,
            )
            .await;
        (d["evaluation"]["score"] == 5).then_some(())
    })
    .await;

    // Nothing acknowledged is lost: with Luohe down, an application (without the spouse, so
    // nothing is fetched from Luohe) is accepted and waits; it arrives once Luohe is back, and
    // the rejection with its reason reaches the wallet.
    demo.stop(LUOHE);
    let ids = photos(&demo, &liu_token).await;
    let (status, waiting) = apply(&demo, &liu_token, &form(&ids, false, &records)).await;
    assert_eq!(status, 201, "{waiting}");
    assert_eq!(waiting["status"], "submitted");
    assert_eq!(waiting["certificates"].as_array().unwrap().len(), 1);
    let second = waiting["id"].as_str().unwrap().to_owned();
    demo.start(LUOHE).await;
    // It reaches Luohe: the applicant sees 审核中.
    application_shows(&demo, &liu_token, &second, "under_review").await;
    let reviewer = demo.staff(LUOHE, "reviewer").await;
    let reason = "该房屋已于本年度办理过提取";
    let (status, body) = decide(
        &demo,
        &reviewer,
        &second,
        json!({"decision": "reject", "reason": reason}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The applicant sees 未通过, with the reason.
    let seen = application_shows(&demo, &liu_token, &second, "rejected").await;
    assert_eq!(seen["reason"], reason);
    assert_eq!(
        demo.db(HENAN).await.fund_messages_pending().await.unwrap(),
        0
    );

    // The owner's side of a fetch on consent, called as the province would: served once per
    // consent, only the resident's own certificate, only on a province's word.
    let sun = server::demo::people::SUN_LI
        .resident_id()
        .unwrap()
        .to_string();
    let (status, body) = fetch_at(&demo, ZHENGZHOU, HENAN, &liu(), &property, "e2e-1").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = fetch_at(&demo, ZHENGZHOU, HENAN, &liu(), &property, "e2e-1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("consent_replayed")),
        "{body}"
    );
    let (status, body) = fetch_at(&demo, ZHENGZHOU, HENAN, &sun, &property, "e2e-2").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("certificate_not_applicants")),
        "{body}"
    );
    let (status, body) = fetch_at(&demo, ZHENGZHOU, LUOHE, &liu(), &property, "e2e-3").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("consent_invalid")),
        "{body}"
    );
}

/// Calls `/federation/v1/fetch` at `owner` as the node `signer`, with a consent envelope for
/// `resident` and `cert` signed by it.
async fn fetch_at(
    demo: &Demo,
    owner: &str,
    signer: &str,
    resident: &str,
    cert: &CertId,
    correlation: &str,
) -> (u16, Value) {
    let key = &demo.settings[signer].node_key;
    let (from, to): (RegionCode, RegionCode) = (signer.parse().unwrap(), owner.parse().unwrap());
    let material = server::demo::catalog::matters(LUOHE)
        .unwrap()
        .into_iter()
        .find(|m| m.code == HOUSING_FUND_MATTER)
        .unwrap()
        .materials
        .into_iter()
        .find(|m| m.name == "不动产权证书")
        .unwrap();
    let consent = server::federation::fetch::FetchConsent {
        correlation_id: correlation.into(),
        application_id: "GJJ-e2e".into(),
        resident_id: resident.into(),
        matter: HOUSING_FUND_MATTER.into(),
        cert_id: cert.to_string(),
        material,
        consented_at: now(),
    };
    let envelope = wallet_core::NodeEnvelope::seal(
        key,
        from,
        to,
        now(),
        serde_json::to_string(&consent).unwrap(),
    );
    let token = server::federation::token::mint(key, from, to, correlation, now()).unwrap();
    let body = json!({"consent": envelope, "path": [signer]});
    demo.post(owner, "/federation/v1/fetch", Some(&token), &body)
        .await
}
