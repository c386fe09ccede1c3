//! Scenarios 3 and 4 over the demo federation, every node a separate `server` process on
//! loopback with its own SQLite file, talking HTTP only.
//!
//! Scenario 3 (创业担保贷款（小微企业）, 业务流程说明 (1)–(7)): 漯河市青禾食品科技有限公司's legal
//! representative 周敏 and its certificate administrator 许静 find the enterprise's 电子营业执照
//! (issued by the national node) and 就业创业证 (issued in Luohe) at the Henan wallet by credit
//! code and by full name, and each shows both codes at the Luohe counter: the licence comes
//! through Henan from the national node, the 就业创业证 is consented at Henan and delivered in
//! Luohe; both are attached and the matter needs two materials fewer.
//!
//! Scenario 4 (住建相关业务, (1)–(7)): 河南豫通建设工程有限公司's licence at the provincial hall
//! (Henan) for each of the five housing-and-construction matters, Henan → national; then
//! delegation along the licence's chain — legal representative 杨帆 → certificate administrator
//! 韩冬 (appointed in the wallet) → agent 林涛 — for named matters or all of them, refused where
//! it does not reach, and stopped by revocation and by the administrator's removal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod demo_processes;

use demo_processes::{eventually, Demo};
use serde_json::{json, Value};
use server::demo::catalog::{CONSTRUCTION_MATTERS, EMPLOYMENT, LICENCE, LOAN_MATTER};
use server::demo::people::{
    Enterprise, Person, HAN_DONG, LIN_TAO, LIU_YANG, QINGHE, XU_JING, YANG_FAN, YUTONG, ZHOU_MIN,
};
use server::demo::{HENAN, LUOHE, NATIONAL};
use wallet_core::grant::GrantTerms;
use wallet_core::{
    CertId, DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode, Subject,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn id(p: &Person) -> String {
    p.resident_id().unwrap().to_string()
}

fn code(e: &Enterprise) -> String {
    e.credit_code().unwrap().to_string()
}

/// A fresh 亮证码 for the wallet province, as the phone draws it.
fn show(key: &DeviceKey, subject: Subject) -> String {
    Presentation::sign(key, RegionCode::new(410000).unwrap(), subject, now(), 60)
        .unwrap()
        .encode_text()
}

/// `q` in a query string.
fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// 企业证照 at the wallet: waits until the pushes of the enterprise's certificates (of
/// `types`) reached the province, then returns the answer.
async fn find_enterprise(demo: &Demo, token: &str, q: &str, types: &[String]) -> Value {
    eventually("the enterprise's certificates at the wallet", || async {
        let (status, found) = demo
            .get(
                HENAN,
                &format!("/api/wallet/enterprise?q={}", urlencode(q)),
                token,
            )
            .await;
        assert_eq!(status, 200, "{found}");
        let listed = found["certificates"].as_array().unwrap();
        types
            .iter()
            .all(|t| listed.iter().any(|c| c["type_code"] == t.as_str()))
            .then_some(found)
    })
    .await
}

/// The certificate of type `t` in an 企业证照 answer.
fn cert_of(found: &Value, t: &str) -> (CertId, String) {
    let c = found["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type_code"] == t)
        .unwrap();
    (
        c["id"].as_str().unwrap().parse().unwrap(),
        c["held_at"].as_str().unwrap().to_owned(),
    )
}

/// A counter of one node, with its clerk signed in.
struct Counter<'a> {
    demo: &'a Demo,
    region: &'static str,
    clerk: String,
}

impl<'a> Counter<'a> {
    async fn new(demo: &'a Demo, region: &'static str) -> Counter<'a> {
        Counter {
            clerk: demo.staff(region, "clerk").await,
            demo,
            region,
        }
    }

    async fn open(&self, matter: &str) -> String {
        let (status, opened) = self
            .demo
            .post(
                self.region,
                "/api/counter/cases",
                Some(&self.clerk),
                &json!({"matter": matter}),
            )
            .await;
        assert_eq!(status, 201, "{opened}");
        opened["case"]["id"].as_str().unwrap().to_owned()
    }

    async fn scan(&self, case: &str, text: &str) -> (u16, Value) {
        self.demo
            .post(
                self.region,
                &format!("/api/counter/cases/{case}/retrievals"),
                Some(&self.clerk),
                &json!({"text": text}),
            )
            .await
    }

    /// 申请人确认 → 关联引用.
    async fn confirm(&self, retrieval: &Value) {
        let rid = retrieval["retrieval_id"].as_str().unwrap();
        let (status, body) = self
            .demo
            .post(
                self.region,
                &format!("/api/counter/retrievals/{rid}/confirm"),
                Some(&self.clerk),
                &json!({}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    async fn case(&self, case: &str) -> Value {
        let (status, view) = self
            .demo
            .get(
                self.region,
                &format!("/api/counter/cases/{case}"),
                &self.clerk,
            )
            .await;
        assert_eq!(status, 200, "{view}");
        view
    }

    async fn finish(&self, case: &str) {
        let (status, body) = self
            .demo
            .post(
                self.region,
                &format!("/api/counter/cases/{case}/finish"),
                Some(&self.clerk),
                &json!({}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }
}

/// The names of the materials an attached e-certificate replaced, in the matter's order.
fn replaced(view: &Value) -> Vec<String> {
    view["materials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["replaced_by"].is_null())
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Each node on a retrieval's path wrote one entry for it, with the result `result`.
async fn audited_once(demo: &Demo, correlation: &str, regions: &[&str], result: &str) {
    for region in regions {
        let entries = demo
            .db(region)
            .await
            .audit_by_correlation(correlation)
            .await
            .unwrap();
        assert_eq!(entries.len(), 1, "{region}: {entries:?}");
        assert_eq!(entries[0].entry.result, result, "{region}");
    }
}

/// `GET /api/audit/verify` at each node: the hash chain is intact.
async fn chains_intact(demo: &Demo, regions: &[&str]) {
    for region in regions {
        let (status, report) = demo
            .send(
                region,
                reqwest::Method::GET,
                "/api/audit/verify",
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["intact"], true, "{region}: {report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_3_the_startup_guarantee_loan_with_the_national_licence_and_the_city_employment_certificate(
) {
    let mut demo = Demo::write();
    for region in [NATIONAL, HENAN, LUOHE] {
        demo.start(region).await;
    }
    let types = [LICENCE.code().unwrap(), EMPLOYMENT.code().unwrap()];

    // 业务描述: after logging in to 豫事办, the enterprise's legal representative and its
    // certificate administrator each find the 电子营业执照 and the 就业创业证 under its
    // 统一社会信用代码 and under its full name — the licence held by the national node, the
    // 就业创业证 by Luohe, both known to the province from their pushes.
    let rep = demo.wallet_user(&id(&ZHOU_MIN)).await;
    let admin = demo.wallet_user(&id(&XU_JING)).await;
    let mut certs = Vec::new();
    for (who, role) in [(&rep, "legal_rep"), (&admin, "admin")] {
        for q in [code(&QINGHE), QINGHE.name.to_owned()] {
            let found = find_enterprise(&demo, &who.0, &q, &types).await;
            assert_eq!(found["credit_code"], code(&QINGHE).as_str());
            assert_eq!(found["role"], role);
            certs = vec![cert_of(&found, &types[0]), cert_of(&found, &types[1])];
        }
    }
    let [(licence, licence_at), (employment, employment_at)] = <[_; 2]>::try_from(certs).unwrap();
    assert_eq!(
        (licence_at.as_str(), employment_at.as_str()),
        (NATIONAL, LUOHE)
    );
    // Someone who acts for neither finds nothing, by code or by name.
    let (stranger, _) = demo.wallet_user(&id(&LIU_YANG)).await;
    for q in [code(&QINGHE), QINGHE.name.to_owned()] {
        let (status, body) = demo
            .get(
                HENAN,
                &format!("/api/wallet/enterprise?q={}", urlencode(&q)),
                &stranger,
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("enterprise_not_found"))
        );
    }

    let counter = Counter::new(&demo, LUOHE).await;
    for (_, key) in [&rep, &admin] {
        // (1) The applicant applies at the Luohe hall for 创业担保贷款（小微企业）; of the six
        // materials, the 就业创业证 and the 营业执照 can come as e-certificates.
        let case = counter.open(LOAN_MATTER).await;
        let before = counter.case(&case).await;
        assert_eq!(before["materials"].as_array().unwrap().len(), 6);
        assert_eq!(before["replaced"], 0);

        // (2) In 豫事办 the applicant shows the two codes one after the other; (3) the clerk
        // scans each.
        // (4)–(6) The counter's node asks the province; the province checks the consent and,
        // not holding the licence, asks the national node, which hands it back through Henan.
        let (status, got_licence) = counter
            .scan(&case, &show(key, Subject::Certificate(licence.clone())))
            .await;
        assert_eq!(status, 201, "{got_licence}");
        assert_eq!(got_licence["path"], json!([LUOHE, HENAN, NATIONAL]));
        assert_eq!(got_licence["consent_by"], HENAN);
        assert_eq!(got_licence["material"], "营业执照");
        assert_eq!(got_licence["holder_name"], QINGHE.name);
        // The 就业创业证 is Luohe's own: consented at the province, delivered in Luohe.
        let (status, got_employment) = counter
            .scan(&case, &show(key, Subject::Certificate(employment.clone())))
            .await;
        assert_eq!(status, 201, "{got_employment}");
        assert_eq!(got_employment["path"], json!([LUOHE, HENAN, LUOHE]));
        assert_eq!(got_employment["material"], "就业创业证");

        // (7) Shown to the clerk, confirmed by the applicant, both are attached: the matter's
        // list shows exactly the two materials replaced (比以前少交2个材料).
        counter.confirm(&got_licence).await;
        counter.confirm(&got_employment).await;
        let after = counter.case(&case).await;
        assert_eq!(after["replaced"], 2, "{after}");
        assert_eq!(replaced(&after), ["就业创业证", "营业执照"]);
        counter.finish(&case).await;

        // Every node on each path audited its hop once under the retrieval's correlation id.
        let cid = got_licence["correlation_id"].as_str().unwrap();
        audited_once(&demo, cid, &[LUOHE, HENAN, NATIONAL], "ok").await;
        let cid = got_employment["correlation_id"].as_str().unwrap();
        audited_once(&demo, cid, &[LUOHE, HENAN], "ok").await;
    }

    // The enterprise's 用证记录 at the wallet shows all four uses to its legal representative,
    // whoever showed the codes.
    let (status, usage) = demo.get(HENAN, "/api/wallet/usage", &rep.0).await;
    assert_eq!(status, 200, "{usage}");
    let uses = usage.as_array().unwrap();
    assert_eq!(uses.len(), 4, "{usage}");
    assert!(uses
        .iter()
        .all(|u| u["holder_id"] == code(&QINGHE).as_str() && u["matter"] == LOAN_MATTER));
    // A stranger's log has none of them.
    let (_, usage) = demo.get(HENAN, "/api/wallet/usage", &stranger).await;
    assert_eq!(usage, json!([]));

    chains_intact(&demo, &[NATIONAL, HENAN, LUOHE]).await;
}

/// `signer` (the legal representative or an administrator) lends the licence to 林涛.
async fn lend(
    demo: &Demo,
    signer: &(String, DeviceKey),
    licence: &CertId,
    matters: MatterScope,
) -> (u16, Value, GrantId) {
    let terms = GrantTerms {
        id: GrantId::generate().unwrap(),
        cert_id: licence.clone(),
        holder: Holder::Enterprise(code(&YUTONG).parse().unwrap()),
        grantee: Grantee {
            resident_id: id(&LIN_TAO).parse().unwrap(),
            name: LIN_TAO.name.into(),
            enterprise: Some(code(&YUTONG).parse().unwrap()),
        },
        matters,
        not_before: now() - 60,
        not_after: now() + 86_400,
        use_limit: None,
    };
    let grant = terms.id;
    let (status, body) = demo
        .post(
            HENAN,
            "/api/wallet/grants",
            Some(&signer.0),
            &json!({"grant": String::from(terms.sign(&signer.1).unwrap())}),
        )
        .await;
    (status, body, grant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_4_the_national_licence_across_the_construction_matters_and_its_chain_of_delegation(
) {
    let mut demo = Demo::write();
    for region in [NATIONAL, HENAN] {
        demo.start(region).await;
    }
    let licence_type = LICENCE.code().unwrap();

    // 业务描述: the legal representative finds the enterprise's 电子营业执照 in 豫事办 by its
    // credit code; it is held by the national node.
    let rep = demo.wallet_user(&id(&YANG_FAN)).await;
    let found = find_enterprise(
        &demo,
        &rep.0,
        &code(&YUTONG),
        std::slice::from_ref(&licence_type),
    )
    .await;
    assert_eq!(found["role"], "legal_rep");
    let (licence, held_at) = cert_of(&found, &licence_type);
    assert_eq!(held_at, NATIONAL);

    // (1) At the provincial hall (河南省政务服务中心, 住房和城乡建设厅窗口) the applicant applies
    // for each of the five matters, the business licence no longer on paper;
    // (2) shows the licence's code; (3) the clerk scans it; (4)–(6) the province does not hold
    // the licence and asks the national node, which hands it back; (7) it is attached after the
    // applicant confirms.
    let counter = Counter::new(&demo, HENAN).await;
    for matter in CONSTRUCTION_MATTERS {
        let case = counter.open(matter).await;
        let (status, got) = counter
            .scan(&case, &show(&rep.1, Subject::Certificate(licence.clone())))
            .await;
        assert_eq!(status, 201, "{matter}: {got}");
        assert_eq!(got["path"], json!([HENAN, NATIONAL]));
        assert_eq!(got["material"], "营业执照");
        counter.confirm(&got).await;
        let view = counter.case(&case).await;
        assert_eq!(replaced(&view), ["营业执照"], "{matter}");
        counter.finish(&case).await;
        let cid = got["correlation_id"].as_str().unwrap();
        audited_once(&demo, cid, &[HENAN, NATIONAL], "ok").await;
    }

    // Delegation follows the licence's chain. The legal representative lends it to the agent
    // 林涛 for two named matters: 二级建造师执业资格注册 and 建筑业企业安全生产许可证.
    let agent = demo.wallet_user(&id(&LIN_TAO)).await;
    let [registration, _, safety_permit, survey, design] = CONSTRUCTION_MATTERS;
    let named = MatterScope::Named(vec![registration.into(), safety_permit.into()]);
    let (status, body, by_rep) = lend(&demo, &rep, &licence, named).await;
    assert_eq!(status, 201, "{body}");
    // The agent's code retrieves the licence for those two and is refused for the others.
    let agent_scan = |grant: GrantId, matter: &'static str| {
        let counter = &counter;
        let key = &agent.1;
        async move {
            let case = counter.open(matter).await;
            counter.scan(&case, &show(key, Subject::Grant(grant))).await
        }
    };
    for matter in CONSTRUCTION_MATTERS {
        let (status, got) = agent_scan(by_rep, matter).await;
        if [registration, safety_permit].contains(&matter) {
            assert_eq!(status, 201, "{matter}: {got}");
            assert_eq!(got["path"], json!([HENAN, NATIONAL]));
            assert_eq!(got["grant_id"], by_rep.to_string());
        } else {
            assert_eq!(
                (status, got["code"].as_str()),
                (400, Some("grant_matter_not_covered")),
                "{matter}: {got}"
            );
        }
    }

    // Someone who is neither legal representative nor administrator cannot lend it: neither
    // 韩冬 before his appointment, nor the agent passing it on.
    let staffer = demo.wallet_user(&id(&HAN_DONG)).await;
    for who in [&staffer, &agent] {
        let (status, body, _) = lend(&demo, who, &licence, MatterScope::All).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("grant_not_holder")),
            "{body}"
        );
    }

    // The legal representative appoints 韩冬 certificate administrator in the wallet; he now
    // finds the licence and lends it to the agent for all matters, which works for all five.
    let (status, body) = demo
        .post(
            HENAN,
            &format!("/api/wallet/enterprise/{}/admins", code(&YUTONG)),
            Some(&rep.0),
            &json!({"resident_id": id(&HAN_DONG), "name": HAN_DONG.name}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let found = find_enterprise(
        &demo,
        &staffer.0,
        YUTONG.name,
        std::slice::from_ref(&licence_type),
    )
    .await;
    assert_eq!(found["role"], "admin");
    let (status, body, by_admin) = lend(&demo, &staffer, &licence, MatterScope::All).await;
    assert_eq!(status, 201, "{body}");
    for matter in CONSTRUCTION_MATTERS {
        let (status, got) = agent_scan(by_admin, matter).await;
        assert_eq!(status, 201, "{matter}: {got}");
        assert_eq!(got["path"], json!([HENAN, NATIONAL]));
    }

    // The administrator revokes his grant and the legal representative's: the agent's next
    // codes are refused.
    for grant in [by_admin, by_rep] {
        let (status, body) = demo
            .post(
                HENAN,
                &format!("/api/wallet/grants/{grant}/revoke"),
                Some(&staffer.0),
                &json!({}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let (status, refused) = agent_scan(grant, registration).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("grant_revoked")),
            "{refused}"
        );
    }

    // Removing the administrator ends what he signed: a grant he made meanwhile dies with it.
    let (status, body, last) = lend(&demo, &staffer, &licence, MatterScope::All).await;
    assert_eq!(status, 201, "{body}");
    let (status, got) = agent_scan(last, survey).await;
    assert_eq!(status, 201, "{got}");
    let (status, removed) = demo
        .post(
            HENAN,
            &format!(
                "/api/wallet/enterprise/{}/admins/{}/remove",
                code(&YUTONG),
                id(&HAN_DONG)
            ),
            Some(&rep.0),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["revoked_grants"], json!([last.to_string()]));
    let (status, refused) = agent_scan(last, design).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("grant_revoked")),
        "{refused}"
    );
    let (status, _) = demo
        .get(
            HENAN,
            &format!("/api/wallet/enterprise?q={}", code(&YUTONG)),
            &staffer.0,
        )
        .await;
    assert_eq!(status, 404);

    // The enterprise's 用证记录 shows the legal representative every use, the agent's under
    // their grants: 5 by himself, 2 + 5 + 1 by the agent.
    let (_, usage) = demo.get(HENAN, "/api/wallet/usage", &rep.0).await;
    let uses = usage.as_array().unwrap();
    assert_eq!(uses.len(), 13, "{usage}");
    let under = |g: GrantId| {
        uses.iter()
            .filter(|u| u["grant_id"] == g.to_string())
            .count()
    };
    assert_eq!((under(by_rep), under(by_admin), under(last)), (2, 5, 1));

    chains_intact(&demo, &[NATIONAL, HENAN]).await;
}
