//! 异议, certificate detail and 企业证照.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    an_objection_marks_the_certificate_disputed_until_the_issuer_decides,
    |backend| async move {
        let app = spawn_app(backend).await;
        let id = app.issue_crane_certificate().await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (token, _) = app.citizen_with_device(&person(), "张三", PHONE).await;
        let (status, body) = app
            .post(
                "/api/wallet/objections",
                Some(&token),
                &json!({"cert_id": id, "reason": "作业项目登记错误"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "open");
        assert_eq!(body["deadline"], START + 15 * 86400);
        let objection = body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.state.db.certificate(&id).await.unwrap().unwrap().status,
            "disputed"
        );

        // The issuer sees it and decides; the holder follows the decision.
        let (_, list) = app
            .send(Method::GET, "/api/issuer/objections", Some(TOKEN), None)
            .await;
        assert_eq!(list[0]["id"], objection.as_str());
        let (_, other) = app
            .send(
                Method::GET,
                "/api/issuer/objections",
                Some(OTHER_TOKEN),
                None,
            )
            .await;
        assert_eq!(other, json!([]), "another department sees nothing");
        let path = format!("/api/issuer/objections/{objection}/decide");
        let (status, _) = app
            .post(
                &path,
                Some(OTHER_TOKEN),
                &json!({"upheld": false, "decision": "x"}),
            )
            .await;
        assert_eq!(status, 404);
        let (status, _) = app
            .post(
                &path,
                Some(TOKEN),
                &json!({"upheld": false, "decision": "经核实登记无误"}),
            )
            .await;
        assert_eq!(status, 204);
        let (status, body) = app
            .post(
                &path,
                Some(TOKEN),
                &json!({"upheld": true, "decision": "again"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (409, "objection_decided")
        );
        assert_eq!(
            app.state.db.certificate(&id).await.unwrap().unwrap().status,
            "valid"
        );
        let (_, mine) = app.get_as("/api/wallet/objections", &token).await;
        assert_eq!(mine[0]["status"], "rejected");
        assert_eq!(mine[0]["decision"], "经核实登记无误");
    }
);

both_backends!(
    nobody_objects_to_or_reads_someone_elses_certificate,
    |backend| async move {
        let app = spawn_app(backend).await;
        let id = app.issue_crane_certificate().await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (token, _) = app
            .citizen_with_device(&grantee(), "李四", GRANTEE_PHONE)
            .await;
        let (status, _) = app
            .post(
                "/api/wallet/objections",
                Some(&token),
                &json!({"cert_id": id, "reason": "不是我的"}),
            )
            .await;
        assert_eq!(status, 404);
        let (status, _) = app
            .get_as(&format!("/api/wallet/certificates/{id}"), &token)
            .await;
        assert_eq!(status, 404);
        let (holder, _) = app.citizen_with_device(&person(), "张三", PHONE).await;
        let (status, body) = app
            .get_as(&format!("/api/wallet/certificates/{id}"), &holder)
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "valid");
        let (status, body) = app
            .post(
                "/api/wallet/objections",
                Some(&holder),
                &json!({"cert_id": id, "reason": " "}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "objection_reason_invalid")
        );
    }
);

both_backends!(
    enterprise_certificates_are_found_by_credit_code_or_full_name_by_its_people_only,
    |backend| async move {
        let app = spawn_app(backend).await;
        let licence = json!({
            "type_code": LICENCE_TYPE, "holder_kind": "enterprise", "holder_id": firm(),
            "holder_name": "漯河市起重机械安装有限公司", "valid_from": START - 86400, "valid_until": null,
            "fields": {"名称": "漯河市起重机械安装有限公司", "住所": "漯河市源汇区某路2号"}
        });
        let (status, issued) = app
            .post("/api/issuer/certificates", Some(TOKEN), &licence)
            .await;
        assert_eq!(status, 201, "{issued}");
        let (rep, _) = app.citizen_with_device(&person(), "张三", PHONE).await;
        let (admin, _) = app
            .citizen_with_device(&grantee(), "李四", GRANTEE_PHONE)
            .await;
        for (token, q) in [
            (&rep, firm()),
            (&admin, "漯河市起重机械安装有限公司".to_owned()),
        ] {
            let (status, body) = app
                .get_as(
                    &format!("/api/wallet/enterprise?q={}", urlencode(&q)),
                    token,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["certificates"][0]["id"], issued["id"]);
        }
        let stranger_id = wallet_core::ResidentId::with_check_digit("41110219920202001")
            .unwrap()
            .to_string();
        let (stranger, _) = app
            .citizen_with_device(&stranger_id, "王五", "13700137000")
            .await;
        let (status, body) = app
            .get_as(&format!("/api/wallet/enterprise?q={}", firm()), &stranger)
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (404, "enterprise_not_found")
        );
    }
);

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

both_backends!(
    an_enterprise_grant_is_listed_and_revocable_by_those_who_act_for_the_enterprise,
    |backend| async move {
        use wallet_core::grant::GrantTerms;
        use wallet_core::{GrantId, Grantee, Holder, MatterScope};
        let app = spawn_app(backend).await;
        let licence = json!({
            "type_code": LICENCE_TYPE, "holder_kind": "enterprise", "holder_id": firm(),
            "holder_name": "漯河市起重机械安装有限公司", "valid_from": START - 86400, "valid_until": null,
            "fields": {"名称": "漯河市起重机械安装有限公司", "住所": "漯河市源汇区某路2号"}
        });
        let (_, issued) = app
            .post("/api/issuer/certificates", Some(TOKEN), &licence)
            .await;
        let (rep, rep_key) = app.citizen_with_device(&person(), "张三", PHONE).await;
        let (admin, _) = app
            .citizen_with_device(&grantee(), "李四", GRANTEE_PHONE)
            .await;
        let agent_id = wallet_core::ResidentId::with_check_digit("41110219920202001")
            .unwrap()
            .to_string();
        let (agent, _) = app
            .citizen_with_device(&agent_id, "王五", "13700137000")
            .await;
        // The legal representative lends the licence to an agent.
        let terms = GrantTerms {
            id: GrantId::generate().unwrap(),
            cert_id: issued["id"].as_str().unwrap().parse().unwrap(),
            holder: Holder::Enterprise(firm().parse().unwrap()),
            grantee: Grantee {
                resident_id: agent_id.parse().unwrap(),
                name: "王五".into(),
                enterprise: Some(firm().parse().unwrap()),
            },
            matters: MatterScope::All,
            not_before: START,
            not_after: START + 86400,
            use_limit: None,
        };
        let id = terms.id.to_string();
        let grant = terms.sign(&rep_key).unwrap();
        let (status, body) = app
            .post(
                "/api/wallet/grants",
                Some(&rep),
                &json!({ "grant": String::from(grant) }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        // Both people who act for the enterprise see it among the grants given.
        for token in [&rep, &admin] {
            let (_, list) = app.get_as("/api/wallet/grants", token).await;
            assert_eq!(list["given"][0]["id"], id.as_str());
            assert_eq!(
                list["given"][0]["holder_name"],
                "漯河市起重机械安装有限公司"
            );
        }
        // The agent sees it too, without the signed token.
        let (_, list) = app.get_as("/api/wallet/grants", &agent).await;
        assert_eq!(list["received"][0]["id"], id.as_str());
        assert_eq!(list["received"][0]["token"], "");
        assert_eq!(list["given"], json!([]));
        // The agent cannot revoke it; the administrator can.
        let revoke = format!("/api/wallet/grants/{id}/revoke");
        let (status, _) = app.post(&revoke, Some(&agent), &json!({})).await;
        assert_eq!(status, 404);
        let (status, _) = app.post(&revoke, Some(&admin), &json!({})).await;
        assert_eq!(status, 204);
        let (_, list) = app.get_as("/api/wallet/grants", &rep).await;
        assert!(list["given"][0]["revoked_at"].is_i64());
    }
);
