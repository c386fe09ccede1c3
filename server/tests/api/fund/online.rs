//! 全程网办 in the wallet and the fund centre's review, on one node: the notice's steps (1)–(5),
//! the statuses the applicant sees, and the refusals (实人 level, other people's records, lying
//! or oversized photos, deciding twice, tokens of the other kind).

use serde_json::json;
use server::demo::catalog::HOUSING_FUND_MATTER;
use server::demo::people::{LIU_YANG, SUN_LI, ZHANG_WEI};
use server::fund::image::samples;

use super::*;
use crate::both_backends;

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
        let (status, detail) = f.review_view(&app_id, &reviewer).await;
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
            .decide(&app_id, &reviewer, json!({"decision": "approve"}))
            .await;
        assert_eq!(status, 200, "{decided}");
        let (_, seen) = f.wallet_view(&app_id, &f.liu).await;
        assert_eq!(seen["status"], "approved");
        assert_eq!(seen["status_name"], "已通过");

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
        let again = f.app.post(&path, Some(&f.liu), &json!({"score": 1})).await;
        assert_refused(&again, 409, "evaluation_exists");
        let (_, detail) = f.review_view(&app_id, &reviewer).await;
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
        let upload = f
            .upload(&f.zhang, "invoice", "image/png", samples::png(10, 10))
            .await;
        assert_refused(&upload, 403, "real_person_required");
        let photos = f.photos().await;
        let applied = f
            .app
            .post(
                "/api/wallet/fund/applications",
                Some(&f.zhang),
                &f.form(&photos),
            )
            .await;
        assert_refused(&applied, 403, "real_person_required");
        // And without consent the applicant with the level is refused too.
        let mut form = f.form(&photos);
        form["consent"] = json!(false);
        assert_refused(&f.apply(&form).await, 400, "consent_required");
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
        let upload = f.upload(&f.liu, "invoice", "image/jpeg", big).await;
        assert_refused(&upload, 413, "upload_too_large");
        let upload = f
            .upload(&f.liu, "passport", "image/png", samples::png(5, 5))
            .await;
        assert_refused(&upload, 400, "upload_kind_invalid");
        // A photo can serve only its uploader, only as its kind, only once.
        let sun = liveness(&f.app, &login(&f.app, &SUN_LI).await).await;
        let (status, theirs) = f
            .upload(&sun, "invoice", "image/png", samples::png(5, 5))
            .await;
        assert_eq!(status, 201, "{theirs}");
        let mut photos = f.photos().await;
        photos["invoice"] = theirs["id"].clone();
        assert_refused(&f.apply(&f.form(&photos)).await, 409, "upload_unavailable");
        let photos = f.photos().await;
        let mut swapped = photos.clone();
        swapped["invoice"] = photos["deed_tax"].clone();
        assert_refused(&f.apply(&f.form(&swapped)).await, 409, "upload_unavailable");
        let (status, body) = f.apply(&f.form(&photos)).await;
        assert_eq!(status, 201, "{body}");
        assert_refused(&f.apply(&f.form(&photos)).await, 409, "upload_unavailable");
    }
);

both_backends!(
    a_reviewer_decides_once_and_a_rejection_needs_a_reason_the_applicant_sees,
    |backend| async move {
        let f = fund(backend).await;
        let app_id = f.submitted().await;
        let reviewer = f.reviewer().await;
        let without_reason = f
            .decide(&app_id, &reviewer, json!({"decision": "reject"}))
            .await;
        assert_refused(&without_reason, 400, "reason_required");
        let unknown = f
            .decide(&app_id, &reviewer, json!({"decision": "maybe"}))
            .await;
        assert_refused(&unknown, 400, "decision_invalid");
        let reason = "购房时间已超过提取期限";
        let (status, body) = f
            .decide(
                &app_id,
                &reviewer,
                json!({"decision": "reject", "reason": reason}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        // Deciding twice — either way — is refused and changes nothing.
        for decision in ["approve", "reject"] {
            let again = f
                .decide(
                    &app_id,
                    &reviewer,
                    json!({"decision": decision, "reason": "再审"}),
                )
                .await;
            assert_refused(&again, 409, "decision_exists");
        }
        let (_, seen) = f.wallet_view(&app_id, &f.liu).await;
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
        let by_clerk = f
            .decide(&app_id, &clerk, json!({"decision": "approve"}))
            .await;
        assert_refused(&by_clerk, 403, "forbidden");
        let case = f
            .app
            .post(
                "/api/counter/cases",
                Some(&reviewer),
                &json!({"matter": HOUSING_FUND_MATTER}),
            )
            .await;
        assert_refused(&case, 403, "forbidden");
        let applicant = f
            .app
            .post(
                "/api/counter/cases/x/applicant",
                Some(&reviewer),
                &json!({"resident_id": id(&LIU_YANG), "consent": true}),
            )
            .await;
        assert_refused(&applicant, 403, "forbidden");
        // A reviewer of another department does not see the fund centre's applications.
        let other = f.staff(OTHER_REVIEWER, REVIEWER_PASSWORD).await;
        assert_refused(
            &f.review_view(&app_id, &other).await,
            404,
            "application_not_found",
        );
        let (_, queue) = f.app.get_as("/api/review/fund/applications", &other).await;
        assert_eq!(queue, json!([]));
        // Another citizen does not see 刘洋's application.
        let (status, _) = f.wallet_view(&app_id, &f.zhang).await;
        assert_eq!(status, 404);
    }
);
