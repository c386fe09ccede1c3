//! 异议, certificate detail and 企业证照.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// Files an objection as `token`; returns status and body.
async fn object(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.post("/api/wallet/objections", Some(token), &body).await
}

async fn status_of(app: &TestApp, id: &str) -> String {
    app.state.db.certificate(id).await.unwrap().unwrap().status
}

both_backends!(
    an_objection_marks_the_certificate_disputed_until_the_department_rejects_it,
    |backend| async move {
        let app = spawn_app(backend).await;
        let id = app.issue_crane_certificate().await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (token, _) = app.citizen_with_device(&person(), "张三", PHONE).await;
        let (status, body) = object(
            &app,
            &token,
            json!({"cert_id": id, "reason": "作业项目登记错误"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        // Held here: the issuer's node is this node, so it is received at once.
        assert_eq!(body["status"], "received");
        assert_eq!(body["kind"], "wrong_data");
        assert_eq!(body["deadline"], START + 15 * 86400);
        assert_eq!(body["handled_at"], "410100");
        assert_eq!(body["type_name"], "特种设备作业人员证");
        assert_eq!(body["issuer_name"], "郑州市市场监督管理局");
        let steps: Vec<&str> = body["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["filed", "received"]);
        let objection = body["id"].as_str().unwrap().to_owned();
        assert_eq!(status_of(&app, &id).await, "disputed");

        // A second objection to the same certificate waits for the first.
        let (status, body) = object(&app, &token, json!({"cert_id": id, "reason": "again"})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("objection_waiting"))
        );

        // The department sees it; another department sees nothing and cannot decide it.
        let (_, list) = app
            .send(Method::GET, "/api/issuer/objections", Some(TOKEN), None)
            .await;
        assert_eq!(list[0]["id"], objection.as_str());
        assert_eq!(list[0]["status"], "open");
        assert_eq!(list[0]["holder_id"], person());
        let (_, other) = app
            .send(
                Method::GET,
                "/api/issuer/objections",
                Some(OTHER_TOKEN),
                None,
            )
            .await;
        assert_eq!(other, json!([]), "another department sees nothing");
        let path = format!("/api/issuer/objections/{objection}/reject");
        let (status, body) = app
            .post(&path, Some(OTHER_TOKEN), &json!({"reason": "x"}))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("objection_not_found"))
        );
        let (status, body) = app.post(&path, Some(TOKEN), &json!({"reason": " "})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("rejection_reason_invalid"))
        );

        // Rejected with a reason; deciding twice is refused.
        let (status, body) = app
            .post(&path, Some(TOKEN), &json!({"reason": "经核实登记无误"}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "rejected");
        let (status, body) = app
            .post(&path, Some(TOKEN), &json!({"reason": "again"}))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("objection_decided"))
        );
        assert_eq!(status_of(&app, &id).await, "valid");

        // The holder follows each step.
        let (_, mine) = app.get_as("/api/wallet/objections", &token).await;
        assert_eq!(mine[0]["status"], "rejected");
        assert_eq!(mine[0]["decision"], "经核实登记无误");
        let last = &mine[0]["steps"][2];
        assert_eq!(last["step"], "rejected");
        assert_eq!(last["reason"], "经核实登记无误");
        let (status, one) = app
            .get_as(&format!("/api/wallet/objections/{objection}"), &token)
            .await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["id"], objection.as_str());
    }
);

both_backends!(
    a_correction_answers_the_objection_with_the_new_version,
    |backend| async move {
        let app = spawn_app(backend).await;
        let id = app.issue_crane_certificate().await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (token, _) = app.citizen_with_device(&person(), "张三", PHONE).await;
        let (_, filed) = object(
            &app,
            &token,
            json!({"cert_id": id, "reason": "证书编号有误"}),
        )
        .await;
        let objection = filed["id"].as_str().unwrap().to_owned();
        let mut correction = crane_request();
        let correction = correction.as_object_mut().unwrap();
        for k in ["type_code", "holder_kind", "holder_id"] {
            correction.remove(k);
        }
        correction.insert("objection".into(), json!(objection));
        correction.insert(
            "fields".into(),
            json!({"作业项目": "起重机指挥 Q1", "证书编号": "TS410100654321"}),
        );
        let correction = Value::Object(correction.clone());
        let path = format!("/api/issuer/certificates/{id}/correct");
        // Another department cannot answer it (nor correct the certificate).
        let (status, _) = app.post(&path, Some(OTHER_TOKEN), &correction).await;
        assert_eq!(status, 404);
        let (status, corrected) = app.post(&path, Some(TOKEN), &correction).await;
        assert_eq!(status, 201, "{corrected}");
        let new_id = corrected["id"].as_str().unwrap().to_owned();
        assert_eq!(status_of(&app, &id).await, "superseded");
        assert_eq!(status_of(&app, &new_id).await, "valid");

        let (_, mine) = app.get_as("/api/wallet/objections", &token).await;
        assert_eq!(mine[0]["status"], "corrected");
        assert_eq!(mine[0]["new_cert_id"], new_id.as_str());
        assert_eq!(mine[0]["steps"][2]["new_cert_id"], new_id.as_str());

        // Decided once: neither a rejection nor another correction naming it goes through.
        let (status, body) = app
            .post(
                &format!("/api/issuer/objections/{objection}/reject"),
                Some(TOKEN),
                &json!({"reason": "晚了"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("objection_decided"))
        );
        let (status, body) = app
            .post(
                &format!("/api/issuer/certificates/{new_id}/correct"),
                Some(TOKEN),
                &correction,
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("objection_decided"))
        );
        assert_eq!(status_of(&app, &new_id).await, "valid", "nothing changed");
    }
);

both_backends!(
    a_missing_certificate_reaches_the_department_that_should_have_issued_it,
    |backend| async move {
        let app = spawn_app(backend).await;
        let (token, _) = app.citizen_with_device(&person(), "张三", PHONE).await;
        // The wallet offers the departments issuing the type.
        let (status, issuers) = app
            .get(&format!("/api/catalog/issuers?cert_type={LABOUR_TYPE}"))
            .await;
        assert_eq!(status, 200, "{issuers}");
        assert_eq!(issuers.as_array().unwrap().len(), 1);
        assert_eq!(issuers[0]["issuer_code"], hrss());
        assert_eq!(issuers[0]["region_name"], "郑州市电子证照系统");

        let missing = json!({"kind": "missing", "type_code": LABOUR_TYPE, "issuer_code": hrss(),
            "reason": "2024年已申领就业创业证，钱包中查不到"});
        let (status, filed) = object(&app, &token, missing.clone()).await;
        assert_eq!(status, 201, "{filed}");
        assert_eq!(filed["kind"], "missing");
        assert_eq!(filed["cert_id"], Value::Null);
        let objection = filed["id"].as_str().unwrap().to_owned();
        let (status, body) = object(&app, &token, missing).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("objection_waiting"))
        );
        // A department that does not issue the type is refused at filing.
        let (status, body) = object(
            &app,
            &token,
            json!({"kind": "missing", "type_code": LABOUR_TYPE, "issuer_code": amr(), "reason": "x"}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("objection_issuer_unknown"))
        );

        // It reaches the department that should have issued it, and no other.
        let (_, theirs) = app
            .send(
                Method::GET,
                "/api/issuer/objections",
                Some(OTHER_TOKEN),
                None,
            )
            .await;
        assert_eq!(theirs[0]["id"], objection.as_str());
        assert_eq!(theirs[0]["holder_name"], "张三");
        let (_, others) = app
            .send(Method::GET, "/api/issuer/objections", Some(TOKEN), None)
            .await;
        assert_eq!(others, json!([]));

        // Issuing for someone else cannot answer it; issuing for the holder does.
        let labour = |holder: String| {
            json!({"type_code": LABOUR_TYPE, "holder_kind": "person", "holder_id": holder,
                "holder_name": "张三", "valid_from": START - 86400, "valid_until": null,
                "fields": {"证号": "4101022024000123"}, "objection": objection})
        };
        let (status, body) = app
            .post(
                "/api/issuer/certificates",
                Some(OTHER_TOKEN),
                &labour(grantee()),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("objection_mismatch"))
        );
        let (status, issued) = app
            .post(
                "/api/issuer/certificates",
                Some(OTHER_TOKEN),
                &labour(person()),
            )
            .await;
        assert_eq!(status, 201, "{issued}");
        let (_, mine) = app.get_as("/api/wallet/objections", &token).await;
        assert_eq!(mine[0]["status"], "issued");
        assert_eq!(mine[0]["new_cert_id"], issued["id"]);
        let (status, body) = app
            .post(
                "/api/issuer/certificates",
                Some(OTHER_TOKEN),
                &labour(person()),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("objection_decided"))
        );
    }
);

both_backends!(
    nobody_objects_to_someone_elses_or_an_unknown_certificate,
    |backend| async move {
        let app = spawn_app(backend).await;
        let id = app.issue_crane_certificate().await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (token, _) = app
            .citizen_with_device(&grantee(), "李四", GRANTEE_PHONE)
            .await;
        let (status, body) =
            object(&app, &token, json!({"cert_id": id, "reason": "不是我的"})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("certificate_not_found"))
        );
        let unknown = id.replace(".001.", ".002.");
        let (holder, _) = app.citizen_with_device(&person(), "张三", PHONE).await;
        let (status, body) = object(
            &app,
            &holder,
            json!({"cert_id": unknown, "reason": "查不到"}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("certificate_not_found"))
        );
        let (status, _) = app
            .get_as(&format!("/api/wallet/certificates/{id}"), &token)
            .await;
        assert_eq!(status, 404);
        let (status, body) = app
            .get_as(&format!("/api/wallet/certificates/{id}"), &holder)
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "valid");
        let (status, body) = object(&app, &holder, json!({"cert_id": id, "reason": " "})).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "objection_reason_invalid")
        );
        let long = "异".repeat(1001);
        let (status, body) = object(&app, &holder, json!({"cert_id": id, "reason": long})).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "objection_reason_invalid")
        );
        let huge = "x".repeat(1024 * 1024);
        let (status, body) = object(&app, &holder, json!({"cert_id": id, "reason": huge})).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (413, "payload_too_large")
        );
        assert_eq!(status_of(&app, &id).await, "valid", "nothing was filed");
        let (_, mine) = app.get_as("/api/wallet/objections", &holder).await;
        assert_eq!(mine, json!([]));
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
        let (_, mine) = app.get_as("/api/wallet/enterprises", &rep).await;
        assert_eq!(
            mine,
            json!([{ "credit_code": firm(), "name": "漯河市起重机械安装有限公司", "role": "legal_rep" }])
        );
        let (_, mine) = app.get_as("/api/wallet/enterprises", &admin).await;
        assert_eq!(mine[0]["role"], "admin");
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
        let (_, none) = app.get_as("/api/wallet/enterprises", &stranger).await;
        assert_eq!(none, json!([]));
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
