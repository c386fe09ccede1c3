//! Scenario 1 on one node, following the notice's steps: the holder grants, the grantee shows
//! the code, the counter retrieves, the applicant confirms, the case is archived and finished.

use serde_json::{json, Value};
use wallet_core::{DeviceKey, MatterScope, SealedCertificate, Subject, TrustList};

use crate::both_backends;
use crate::counter_world::*;
use crate::helpers::*;

both_backends!(
    a_granted_certificate_is_retrieved_attached_archived_and_rated,
    |backend| async move {
        let w = world(backend).await;
        let grant = w
            .grant(MatterScope::Named(vec![CRANE_MATTER.into()]), None)
            .await;
        // Both sides read the grant in words: which certificate, whose, which matters, to whom.
        let (_, mine) = w
            .app
            .get_as("/api/wallet/certificates", &w.holder_token)
            .await;
        assert_eq!(mine[0]["holder_id"], person().as_str());
        assert_eq!(mine[0]["issuer_name"], "郑州市市场监督管理局");
        let (_, given) = w.app.get_as("/api/wallet/grants", &w.holder_token).await;
        let (_, received) = w.app.get_as("/api/wallet/grants", &w.grantee_token).await;
        for g in [&given["given"][0], &received["received"][0]] {
            assert_eq!(g["id"], grant.to_string());
            assert_eq!(g["type_name"], "特种设备作业人员证");
            assert_eq!(g["grantee_name"], "李四");
            assert_eq!(
                g["matters"],
                json!([{ "code": CRANE_MATTER, "name": "建筑起重机械设备使用登记" }])
            );
            let holder = g["holder_name"].as_str().unwrap();
            assert!(holder.ends_with('*') && !holder.contains("三"), "{holder}");
        }
        // (1) the applicant applies at the counter; the clerk opens the case.
        let case = w.open_case(CRANE_MATTER).await;
        // (2) the grantee shows the code; (3) the clerk scans it; (4)–(7) the node retrieves.
        let text = w.show(&w.grantee_key, Subject::Grant(grant));
        let (status, got) = w.scan(&case, &text).await;
        assert_eq!(status, 201, "{got}");
        assert_eq!(got["material"], "特种设备作业人员证");
        assert_eq!(got["status"], "valid");
        assert_eq!(got["path"], json!(["410100"]));
        // Only the matter's fields leave the node, and the seal verifies over them.
        let sealed: SealedCertificate = serde_json::from_value(got["sealed"].clone()).unwrap();
        let names: Vec<&str> = sealed
            .certificate
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, vec!["作业项目", "证书编号"]);
        assert_eq!(sealed.withheld.len(), 1, "the address stays home");
        let (_, trust) = w.app.get("/api/trust-list").await;
        let trust: TrustList = serde_json::from_value(trust).unwrap();
        sealed.verify_at(&trust, START).unwrap();
        let receipt: wallet_core::RetrievalReceipt =
            serde_json::from_value(got["receipt"].clone()).unwrap();
        receipt
            .verify(&w.app.state.node_key.public_key(), &sealed.encode())
            .unwrap();

        // The applicant confirms: the certificate becomes an attachment with a verification code.
        let rid = got["retrieval_id"].as_str().unwrap();
        let (status, att) = w
            .app
            .post(
                &format!("/api/counter/retrievals/{rid}/confirm"),
                Some(&w.clerk),
                &json!({}),
            )
            .await;
        assert_eq!(status, 201, "{att}");
        let code = att["attachment"]["verification_code"].as_str().unwrap();
        let (status, archive) = w.app.get(&format!("/api/archive/{code}")).await;
        assert_eq!(status, 200);
        assert_eq!(archive["case_id"], case.as_str());
        assert_eq!(archive["type_name"], "特种设备作业人员证");
        // Finish and rate.
        let (status, _) = w
            .app
            .post(
                &format!("/api/counter/cases/{case}/finish"),
                Some(&w.clerk),
                &json!({}),
            )
            .await;
        assert_eq!(status, 204);
        let (status, _) = w
            .app
            .post(
                &format!("/api/counter/cases/{case}/evaluation"),
                Some(&w.clerk),
                &json!({"score": 5, "comment": "少交一份材料"}),
            )
            .await;
        assert_eq!(status, 204);
        let (status, body) = w
            .app
            .post(
                &format!("/api/counter/cases/{case}/evaluation"),
                Some(&w.clerk),
                &json!({"score": 1}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (409, "evaluation_exists")
        );
        // The holder sees the use in 用证记录.
        let (_, usage) = w.app.get_as("/api/wallet/usage", &w.holder_token).await;
        assert_eq!(usage[0]["matter"], CRANE_MATTER);
        assert_eq!(usage[0]["matter_name"], "建筑起重机械设备使用登记");
        assert_eq!(usage[0]["counter"], "市民之家 3号窗口");
        assert_eq!(w.audit_results().await, vec!["ok"]);
    }
);

both_backends!(
    a_case_reads_back_with_its_retrievals_and_the_archive_copy_carries_a_checkable_seal,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, None).await;
        let case = w.open_case(CRANE_MATTER).await;
        let (status, got) = w
            .scan(&case, &w.show(&w.grantee_key, Subject::Grant(grant)))
            .await;
        assert_eq!(status, 201, "{got}");
        let masked = person()
            .parse::<wallet_core::ResidentId>()
            .unwrap()
            .masked();
        assert_eq!(got["holder_id_masked"], masked.as_str());
        let rid = got["retrieval_id"].as_str().unwrap();
        // Before the applicant confirms, the case lists the retrieval without an attachment.
        let (status, view) = w
            .app
            .get_as(&format!("/api/counter/cases/{case}"), &w.clerk)
            .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["case"]["status"], "open");
        assert_eq!(view["matter"]["code"], CRANE_MATTER);
        assert_eq!(view["evaluated"], false);
        assert_eq!(view["retrievals"][0]["retrieval_id"], rid);
        assert_eq!(view["retrievals"][0]["attachment"], Value::Null);
        assert_eq!(view["retrievals"][0]["path"], json!(["410100"]));
        assert_eq!(
            view["retrievals"][0]["path_names"],
            json!(["郑州市电子证照系统"])
        );
        assert_eq!(view["retrievals"][0]["consent_by"], "410100");
        assert_eq!(view["retrievals"][0]["status"], "valid");
        let (_, att) = w
            .app
            .post(
                &format!("/api/counter/retrievals/{rid}/confirm"),
                Some(&w.clerk),
                &json!({}),
            )
            .await;
        let code = att["attachment"]["verification_code"].as_str().unwrap();
        let (_, view) = w
            .app
            .get_as(&format!("/api/counter/cases/{case}"), &w.clerk)
            .await;
        assert_eq!(
            view["retrievals"][0]["attachment"]["verification_code"],
            code
        );
        // The archive copy carries what a reader needs to check the seal again, offline from
        // the case: the sealed certificate and the issuer's keys as the owner vouched for them.
        let (status, archive) = w.app.get(&format!("/api/archive/{code}")).await;
        assert_eq!(status, 200, "{archive}");
        assert_eq!(archive["matter_name"], "建筑起重机械设备使用登记");
        assert_eq!(archive["material"], "特种设备作业人员证");
        assert_eq!(archive["path_names"], json!(["郑州市电子证照系统"]));
        let sealed: SealedCertificate = serde_json::from_value(archive["sealed"].clone()).unwrap();
        let trust = TrustList {
            entries: serde_json::from_value(archive["issuer_keys"].clone()).unwrap(),
        };
        sealed.verify_at(&trust, START).unwrap();
        // Another clerk's case, or no case at all, is not found.
        let (status, body) = w.app.get_as("/api/counter/cases/CASE-nope", &w.clerk).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("case_not_found"))
        );
        let (status, _) = w
            .app
            .get_as(&format!("/api/counter/cases/{case}"), &w.holder_token)
            .await;
        assert_eq!(status, 403);
    }
);

both_backends!(
    a_staff_member_sees_who_is_logged_in_and_logout_ends_the_session,
    |backend| async move {
        let w = world(backend).await;
        let (status, me) = w.app.get_as("/api/staff/me", &w.clerk).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["id"], "lh-clerk-01");
        assert_eq!(me["name"], "王窗口");
        assert_eq!(me["role"], "clerk");
        assert_eq!(me["counter"], "市民之家 3号窗口");
        assert_eq!(me["department_name"], "郑州市市场监督管理局");
        let (status, _) = w
            .app
            .post("/api/staff/logout", Some(&w.clerk), &json!({}))
            .await;
        assert_eq!(status, 204);
        let (status, _) = w.app.get_as("/api/staff/me", &w.clerk).await;
        assert_eq!(status, 401, "the token stops working at once");
        let (status, _) = w.app.get_as("/api/counter/matters", &w.clerk).await;
        assert_eq!(status, 401);
        // A citizen token is not a staff session.
        let (status, _) = w.app.get_as("/api/staff/me", &w.holder_token).await;
        assert_eq!(status, 403);
    }
);

both_backends!(
    a_refreshed_code_makes_the_previous_one_useless_at_once,
    |backend| async move {
        let w = world(backend).await;
        let cert = Subject::Certificate(w.cert_id.clone());
        let current = |text: &str, token: &str| {
            let body = json!({ "text": text });
            let token = token.to_owned();
            let app = &w.app;
            async move {
                app.post("/api/wallet/presentations/current", Some(&token), &body)
                    .await
            }
        };
        let first = w.show(&w.holder_key, cert.clone());
        let (status, body) = current(&first, &w.holder_token).await;
        assert_eq!(status, 204, "{body}");
        // The automatic refresh a second later.
        w.app.advance(1);
        let second = w.show(&w.holder_key, cert.clone());
        assert_eq!(current(&second, &w.holder_token).await.0, 204);
        // A late call for the older code does not bring it back.
        assert_eq!(current(&first, &w.holder_token).await.0, 204);
        let case = w.open_case(CRANE_MATTER).await;
        let (status, body) = w.scan(&case, &first).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("presentation_superseded"))
        );
        // 立即刷新 within the same second: a new nonce, the same issue time.
        let third = w.show(&w.holder_key, cert.clone());
        assert_eq!(current(&third, &w.holder_token).await.0, 204);
        let (_, body) = w.scan(&case, &second).await;
        assert_eq!(body["code"], "presentation_superseded");
        let (status, body) = w.scan(&case, &third).await;
        assert_eq!(status, 201, "{body}");
        // A code issued later than the current one counts even before the phone reports it.
        w.app.advance(1);
        let fourth = w.show(&w.holder_key, cert.clone());
        assert_eq!(w.scan(&case, &fourth).await.0, 201);
        // Only my own genuine code can be made current.
        let grantees = w.show(&w.grantee_key, cert.clone());
        let (status, body) = current(&grantees, &w.holder_token).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("presenter_key_unknown"))
        );
        let (status, _) = current("EC1:NOT-A-CODE", &w.holder_token).await;
        assert_eq!(status, 400);
        let (status, _) = current(&fourth, &w.clerk).await;
        assert_eq!(status, 403);
        assert_eq!(
            w.audit_results().await,
            vec![
                "presentation_superseded",
                "presentation_superseded",
                "ok",
                "ok"
            ]
        );
    }
);

both_backends!(
    two_processes_sharing_the_database_accept_a_code_once,
    |backend| async move {
        let w = world(backend).await;
        let second = spawn_second(&w.app).await;
        let grant = w.grant(MatterScope::All, None).await;
        let case = w.open_case(CRANE_MATTER).await;
        let text = w.show(&w.grantee_key, Subject::Grant(grant));
        let path = format!("/api/counter/cases/{case}/retrievals");
        let body = json!({"text": text});
        let (a, b) = tokio::join!(
            w.app.post(&path, Some(&w.clerk), &body),
            second.post(&path, Some(&w.clerk), &body)
        );
        let mut statuses = vec![a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, vec![201, 400], "{a:?} {b:?}");
    }
);

both_backends!(
    the_holder_shows_their_own_certificate_but_nobody_else_can,
    |backend| async move {
        let w = world(backend).await;
        let case = w.open_case(CRANE_MATTER).await;
        let (_, body) = w
            .scan(
                &case,
                &w.show(&w.grantee_key, Subject::Certificate(w.cert_id.clone())),
            )
            .await;
        assert_eq!(body["code"], "presenter_not_holder");
        let (status, body) = w
            .scan(
                &case,
                &w.show(&w.holder_key, Subject::Certificate(w.cert_id.clone())),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert!(body["grant_id"].is_null());
    }
);

both_backends!(
    grants_are_checked_before_they_are_stored,
    |backend| async move {
        let w = world(backend).await;
        // Signed by the grantee's key, not the holder's.
        let forged = w
            .terms(MatterScope::All, None)
            .sign(&w.grantee_key)
            .unwrap();
        let (status, _) = w
            .app
            .post(
                "/api/wallet/grants",
                Some(&w.grantee_token),
                &json!({"grant": String::from(forged)}),
            )
            .await;
        assert_eq!(status, 403);
        // Signed by an unregistered key.
        let stray = w
            .terms(MatterScope::All, None)
            .sign(&DeviceKey::generate().unwrap())
            .unwrap();
        let (_, body) = w
            .app
            .post(
                "/api/wallet/grants",
                Some(&w.holder_token),
                &json!({"grant": String::from(stray)}),
            )
            .await;
        assert_eq!(body["code"], "grant_signer_unknown");
        let (_, body) = w
            .app
            .post(
                "/api/wallet/grants",
                Some(&w.holder_token),
                &json!({"grant": "AAAA"}),
            )
            .await;
        assert_eq!(body["code"], "codec_version");
        let (_, list) = w.app.get_as("/api/wallet/grants", &w.holder_token).await;
        assert_eq!(list["given"], json!([]));
        // Clerks cannot use wallet routes, citizens cannot use counter routes.
        let (status, _) = w.app.get_as("/api/counter/matters", &w.holder_token).await;
        assert_eq!(status, 403);
        let (status, _) = w.app.get_as("/api/wallet/grants", &w.clerk).await;
        assert_eq!(status, 403);
    }
);
