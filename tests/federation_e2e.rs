//! Scenario 1 and the cross-province case over the demo federation, every node a separate
//! `server` process on loopback with its own SQLite file, talking HTTP only.
//!
//! Follows the pilot notice's scenario 1 (业务流程说明 (1)–(7)): the holder logs in at the
//! wallet province and finds the Zhengzhou certificate, grants a Luohe enterprise's staffer the
//! crane registration matter for one day; the staffer shows the code at the Luohe counter;
//! Luohe resolves through Henan and Zhengzhou and attaches it; each of the three nodes audits
//! its hop under one correlation id; the holder's usage log shows the use. Then the holder
//! revokes; the province is stopped (the counter is told which tier failed, in time); a
//! certificate issued meanwhile reaches the province once it is back. Objections (异议) filed
//! at the wallet reach the issuing departments in Zhengzhou and Luohe and come back decided.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod demo_processes;

use std::time::{Duration, Instant};

use demo_processes::{eventually, now, Demo};
use serde_json::{json, Value};
use server::demo::catalog::{CRANE_MATTER, OPERATOR_ZZ};
use server::demo::people::{LI_NA, QINGHE, WANG_LEI, ZHANG_WEI, ZHOU_MIN};
use server::demo::{HENAN, HUBEI, LUOHE, NATIONAL, WUHAN, ZHENGZHOU};
use wallet_core::grant::GrantTerms;
use wallet_core::{
    DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode, Subject,
};

fn show(key: &DeviceKey, subject: Subject) -> String {
    Presentation::sign(key, RegionCode::new(410000).unwrap(), subject, now(), 60)
        .unwrap()
        .encode_text()
}

fn ids(p: &server::demo::people::Person) -> String {
    p.resident_id().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_1_across_separate_node_processes() {
    let mut demo = Demo::running(&[NATIONAL, HENAN, ZHENGZHOU, LUOHE, HUBEI, WUHAN]).await;

    // (1) The holder, 张伟, logs in at the wallet and finds the operator certificate issued in
    // Zhengzhou (pushed to the province's index).
    let (holder_token, holder_key) = demo.wallet_user(&ids(&ZHANG_WEI)).await;
    let cert = demo
        .my_certificate_of(&holder_token, &OPERATOR_ZZ, ZHENGZHOU)
        .await;
    let cert_id: wallet_core::CertId = cert["id"].as_str().unwrap().parse().unwrap();

    // (2) He grants 李娜, staffer of the Luohe enterprise, the crane registration for one day.
    let (_, staffer_key) = demo.wallet_user(&ids(&LI_NA)).await;
    let terms = GrantTerms {
        id: GrantId::generate().unwrap(),
        cert_id: cert_id.clone(),
        holder: Holder::Person(ids(&ZHANG_WEI).parse().unwrap()),
        grantee: Grantee {
            resident_id: ids(&LI_NA).parse().unwrap(),
            name: LI_NA.name.into(),
            enterprise: None,
        },
        matters: MatterScope::Named(vec![CRANE_MATTER.into()]),
        not_before: now() - 60,
        not_after: now() + 86_400,
        use_limit: None,
    };
    let grant = terms.id;
    let (status, body) = demo
        .post(
            HENAN,
            "/api/wallet/grants",
            Some(&holder_token),
            &json!({"grant": String::from(terms.sign(&holder_key).unwrap())}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // (3)–(5) At the Luohe counter the clerk opens the case and scans 李娜's code; Luohe asks
    // Henan, Henan checks the consent and asks Zhengzhou, Zhengzhou delivers.
    let clerk = demo.staff(LUOHE, "clerk").await;
    let case = demo.open_case(LUOHE, &clerk, CRANE_MATTER).await;
    let (status, got) = demo
        .scan(
            LUOHE,
            &clerk,
            &case,
            &show(&staffer_key, Subject::Grant(grant)),
        )
        .await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["path"], json!([LUOHE, HENAN, ZHENGZHOU]));
    assert_eq!(got["material"], "特种设备作业人员证");

    // (6) The applicant confirms: the certificate is attached; the archive copy's code leads
    // back to the record.
    let rid = got["retrieval_id"].as_str().unwrap();
    let (status, attached) = demo.confirm(LUOHE, &clerk, rid).await;
    assert_eq!(status, 201, "{attached}");
    let code = attached["attachment"]["verification_code"]
        .as_str()
        .unwrap();
    let (status, archive) = demo
        .send(
            LUOHE,
            reqwest::Method::GET,
            &format!("/api/archive/{code}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{archive}");
    assert_eq!(archive["cert_id"], cert_id.as_str());

    // (7) Every hop is audited under one correlation id, on all three nodes.
    let cid = got["correlation_id"].as_str().unwrap();
    for region in [LUOHE, HENAN, ZHENGZHOU] {
        let entries = demo.audit(region, cid).await;
        assert_eq!(entries.len(), 1, "{region}: {entries:?}");
        assert_eq!(entries[0].entry.result, "ok");
    }
    // The holder's usage log shows who used it, where and for what.
    let (status, usage) = demo.get(HENAN, "/api/wallet/usage", &holder_token).await;
    assert_eq!(status, 200, "{usage}");
    assert!(usage.to_string().contains(cert_id.as_str()), "{usage}");

    // The holder revokes: the staffer's next code is refused.
    let (status, body) = demo
        .post(
            HENAN,
            &format!("/api/wallet/grants/{grant}/revoke"),
            Some(&holder_token),
            &json!({}),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let (status, refused) = demo
        .scan(
            LUOHE,
            &clerk,
            &case,
            &show(&staffer_key, Subject::Grant(grant)),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("grant_revoked")),
        "{refused}"
    );

    // The province is stopped: the counter hears which tier failed, well within 5 seconds.
    demo.stop(HENAN);
    let started = Instant::now();
    let (status, down) = demo
        .scan(
            LUOHE,
            &clerk,
            &case,
            &show(&holder_key, Subject::Certificate(cert_id.clone())),
        )
        .await;
    assert_eq!(
        (status, down["code"].as_str()),
        (503, Some("tier_unreachable")),
        "{down}"
    );
    assert!(down["title"].as_str().unwrap().contains("河南省"), "{down}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Meanwhile Zhengzhou issues another certificate to him; its push waits in the outbox.
    let fields = json!({"作业项目": "叉车司机", "项目代号": "N1", "证书编号": "TS-E2E-0002",
        "发证日期": "2026-11-26"});
    let new_id = demo
        .issue(ZHENGZHOU, &OPERATOR_ZZ, &ZHANG_WEI, fields)
        .await;

    // The province comes back: what was queued arrives.
    demo.start(HENAN).await;
    let (holder_token, _) = demo.wallet_user(&ids(&ZHANG_WEI)).await;
    demo.my_certificate(&holder_token, |c| c["id"] == new_id.as_str())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wuhan_certificate_shown_in_luohe_goes_through_henan_national_and_hubei_and_an_enterprise_finds_its_national_licence(
) {
    let demo = Demo::running(&[NATIONAL, HENAN, LUOHE, HUBEI, WUHAN]).await;
    // 王磊 works in Luohe, has his wallet at Henan and a Wuhan operator certificate.
    let (_, key) = demo.wallet_user(&ids(&WANG_LEI)).await;
    // His wallet province is Henan; the certificate's metadata went to Hubei, so the id is
    // read where it was issued (as the holder would read it off the certificate).
    let wuhan = demo.db(WUHAN).await;
    let cert_id: wallet_core::CertId =
        sqlx::query_scalar::<_, String>("SELECT id FROM certificates WHERE holder_id = $1")
            .bind(ids(&WANG_LEI))
            .fetch_one(&wuhan.pool)
            .await
            .unwrap()
            .parse()
            .unwrap();
    let clerk = demo.staff(LUOHE, "clerk").await;
    let case = demo.open_case(LUOHE, &clerk, CRANE_MATTER).await;
    let (status, got) = demo
        .scan(
            LUOHE,
            &clerk,
            &case,
            &show(&key, Subject::Certificate(cert_id)),
        )
        .await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["path"], json!([LUOHE, HENAN, NATIONAL, HUBEI, WUHAN]));
    let cid = got["correlation_id"].as_str().unwrap();
    for region in [LUOHE, HENAN, NATIONAL, HUBEI, WUHAN] {
        assert_eq!(demo.audit(region, cid).await.len(), 1, "{region}");
    }
    // Scenario 3's first step: 周敏, legal representative of 青禾, finds the enterprise's
    // certificates at the wallet by full name — the business licence issued nationally (pushed
    // to the enterprise's province) and the 就业创业证 issued in Luohe.
    let (rep_token, _) = demo.wallet_user(&ids(&ZHOU_MIN)).await;
    eventually("the national licence and the Luohe certificate", || async {
        let (status, found) = demo
            .get(
                HENAN,
                &format!("/api/wallet/enterprise?q={}", QINGHE.name),
                &rep_token,
            )
            .await;
        assert_eq!(status, 200, "{found}");
        let held: Vec<&str> = found["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["held_at"].as_str().unwrap())
            .collect();
        (held.contains(&NATIONAL) && held.contains(&LUOHE)).then_some(())
    })
    .await;

    // A call from outside the registry is refused and audited at the node it reached.
    let stranger = wallet_core::SecretKey::from_bytes(&[42u8; 32]).unwrap();
    let token = server::federation::token::mint(
        &stranger,
        LUOHE.parse().unwrap(),
        HENAN.parse().unwrap(),
        "forged",
        now(),
    )
    .unwrap();
    let (status, refused) = demo
        .post(HENAN, "/federation/v1/retrieve", Some(&token), &json!({}))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (401, Some("service_token_unknown_key"))
    );
    let entries = demo.db(HENAN).await.audit_entries(0, 10_000).await.unwrap();
    assert!(entries
        .iter()
        .any(|e| e.entry.action == "peer_call" && e.entry.result == "service_token_unknown_key"));
}

/// The token of a demo department's business system, from its node's configuration.
fn department_token(demo: &Demo, region: &str, dept: &server::demo::people::Dept) -> String {
    let code = dept.credit_code().unwrap().to_string();
    demo.settings[region]
        .departments
        .iter()
        .find(|d| d.credit_code == code)
        .unwrap()
        .token
        .expose()
        .to_owned()
}

/// Polls the holder's objection at the wallet until it shows `status`.
async fn objection_shows(demo: &Demo, token: &str, id: &str, status: &str) -> Value {
    eventually(
        &format!("objection {id} {status} at the wallet"),
        || async {
            let (code, body) = demo
                .get(HENAN, &format!("/api/wallet/objections/{id}"), token)
                .await;
            assert_eq!(code, 200, "{body}");
            (body["status"] == status).then_some(body)
        },
    )
    .await
}

/// 异议 (issue 6; the notice's work-plan item 10: 当群众反映证照信息有误、证照应有却查不到等异议时
/// …): the holder objects from the Henan wallet to his Zhengzhou certificate and reports a
/// Luohe certificate missing; each reaches the department that issued (or should have issued)
/// it, at its own node; the departments correct and reject; the holder follows every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objections_filed_at_the_wallet_reach_the_issuing_departments_and_come_back() {
    use server::demo::catalog::MARRIAGE;
    use server::demo::people::{LH_CA, ZZ_AMR, ZZ_NRP};

    let demo = Demo::running(&[HENAN, ZHENGZHOU, LUOHE]).await;

    // (1) 张伟 logs in at the wallet and opens his operator certificate, held in Zhengzhou.
    let (holder, _) = demo.wallet_user(&ids(&ZHANG_WEI)).await;
    let cert = demo
        .my_certificate_of(&holder, &OPERATOR_ZZ, ZHENGZHOU)
        .await;
    let cert_id = cert["id"].as_str().unwrap().to_owned();

    // Refused at the wallet, nothing filed: someone who is not the holder (nor acts for a
    // holding enterprise), an unknown certificate, an empty reason, a 1 MB reason.
    let (stranger, _) = demo.wallet_user(&ids(&LI_NA)).await;
    let object = |token: &str, body: Value| {
        let token = token.to_owned();
        let demo = &demo;
        async move {
            demo.post(HENAN, "/api/wallet/objections", Some(&token), &body)
                .await
        }
    };
    let (status, body) = object(&stranger, json!({"cert_id": cert_id, "reason": "有误"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("certificate_not_found"))
    );
    let unknown = cert_id.replace(".001.", ".009.");
    let (status, body) = object(&holder, json!({"cert_id": unknown, "reason": "有误"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("certificate_not_found"))
    );
    let (status, body) = object(&holder, json!({"cert_id": cert_id, "reason": ""})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("objection_reason_invalid"))
    );
    let huge = "错".repeat(350_000);
    let (status, body) = object(&holder, json!({"cert_id": cert_id, "reason": huge})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    // (2) He reports that the certificate's data is wrong. The wallet keeps the objection and
    // names where it goes.
    let (status, filed) = object(
        &holder,
        json!({"cert_id": cert_id, "reason": "作业项目应为起重机司机 Q2，证上登记为 Q1"}),
    )
    .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["handled_at"], ZHENGZHOU);
    let objection = filed["id"].as_str().unwrap().to_owned();

    // (3) Zhengzhou receives it: the holder sees when; the certificate is disputed there, and
    // the wallet's list shows it disputed once Zhengzhou's push has reached Henan.
    let received = objection_shows(&demo, &holder, &objection, "received").await;
    assert!(received["received_at"].as_i64().is_some());
    demo.my_certificate(&holder, |c| {
        c["id"] == cert_id.as_str() && c["status"] == "disputed"
    })
    .await;

    // (4) 郑州市市场监督管理局's business system lists it; another Zhengzhou department neither
    // sees nor decides it.
    let amr = department_token(&demo, ZHENGZHOU, &ZZ_AMR);
    let nrp = department_token(&demo, ZHENGZHOU, &ZZ_NRP);
    let (status, list) = demo.get(ZHENGZHOU, "/api/issuer/objections", &amr).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["id"], objection.as_str());
    assert_eq!(list[0]["origin"], HENAN);
    let (_, theirs) = demo.get(ZHENGZHOU, "/api/issuer/objections", &nrp).await;
    assert_eq!(theirs, json!([]));
    let reject = format!("/api/issuer/objections/{objection}/reject");
    let (status, body) = demo
        .post(
            ZHENGZHOU,
            &reject,
            Some(&nrp),
            &json!({"reason": "不是本部门"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("objection_not_found"))
    );

    // (5) The department corrects the certificate: a new version, sealed again, answers the
    // objection. Deciding it a second time is refused.
    let (status, correction) = demo
        .post(
            ZHENGZHOU,
            &format!("/api/issuer/certificates/{cert_id}/correct"),
            Some(&amr),
            &json!({
                "holder_name": ZHANG_WEI.name,
                "valid_from": cert["valid_from"], "valid_until": cert["valid_until"],
                "fields": {"作业项目": "起重机司机", "项目代号": "Q2", "证书编号": "TS-410100-000318",
                    "发证日期": "2025-01-10"},
                "objection": objection,
            }),
        )
        .await;
    assert_eq!(status, 201, "{correction}");
    let new_id = correction["id"].as_str().unwrap().to_owned();
    let (status, body) = demo
        .post(
            ZHENGZHOU,
            &reject,
            Some(&amr),
            &json!({"reason": "重复处理"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("objection_decided"))
    );

    // (6) The holder follows every step, and finds the new version in his wallet.
    let done = objection_shows(&demo, &holder, &objection, "corrected").await;
    let steps: Vec<&str> = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["filed", "received", "corrected"]);
    assert_eq!(done["new_cert_id"], new_id.as_str());
    demo.my_certificate(&holder, |c| {
        c["id"] == new_id.as_str() && c["status"] == "valid"
    })
    .await;

    // (7) 证照应有却查不到: he reports his 结婚证 missing from 漯河市民政局, which the wallet
    // knows issues it (from Luohe's pushes). It reaches that department at Luohe, which
    // rejects it with a reason the holder reads.
    let marriage = MARRIAGE.code().unwrap();
    let lh_ca = LH_CA.credit_code().unwrap().to_string();
    eventually("漯河市民政局 among the issuers of 结婚证", || async {
        let (status, issuers) = demo
            .send(
                HENAN,
                reqwest::Method::GET,
                &format!("/api/catalog/issuers?cert_type={marriage}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{issuers}");
        issuers.to_string().contains(&lh_ca).then_some(())
    })
    .await;
    let (status, filed) = object(
        &holder,
        json!({"kind": "missing", "type_code": marriage, "issuer_code": lh_ca,
            "reason": "2019年在源汇区民政局登记结婚，钱包中查不到结婚证"}),
    )
    .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["handled_at"], LUOHE);
    let missing = filed["id"].as_str().unwrap().to_owned();
    objection_shows(&demo, &holder, &missing, "received").await;
    let ca = department_token(&demo, LUOHE, &LH_CA);
    let (_, list) = demo.get(LUOHE, "/api/issuer/objections", &ca).await;
    assert_eq!(list[0]["id"], missing.as_str());
    assert_eq!(list[0]["kind"], "missing");
    let (status, body) = demo
        .post(
            LUOHE,
            &format!("/api/issuer/objections/{missing}/reject"),
            Some(&ca),
            &json!({"reason": "未查到婚姻登记记录，请携带结婚证原件到登记机关核实"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rejected = objection_shows(&demo, &holder, &missing, "rejected").await;
    assert_eq!(
        rejected["decision"],
        "未查到婚姻登记记录，请携带结婚证原件到登记机关核实"
    );

    // Every step is audited where it happened: the filing at Henan, the receipt and the
    // decisions at the issuing nodes, the decisions' arrival back at Henan.
    let actions: Vec<String> = demo
        .db(HENAN)
        .await
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "objection").count(), 2);
    assert_eq!(
        actions.iter().filter(|a| *a == "objection_decided").count(),
        2
    );
    for (region, id) in [(ZHENGZHOU, &objection), (LUOHE, &missing)] {
        let db = demo.db(region).await;
        assert!(db.verify_audit_chain().await.unwrap().is_ok());
        let actions: Vec<String> = db
            .audit_entries(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.entry.subject == **id)
            .map(|e| e.entry.action)
            .collect();
        assert_eq!(
            actions,
            ["objection_received", "objection_decision"],
            "{region}"
        );
    }
}
