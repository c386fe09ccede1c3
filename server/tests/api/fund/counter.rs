//! 一证通办 at the counter on one node: the ID card step, the scans bound to the applicant, the
//! sharing platform's records confirmed one by one, the debit card, 办结 and the rating.

use reqwest::Method;
use serde_json::json;
use server::demo::people::{LIU_YANG, ZHANG_WEI};

use super::*;
use crate::both_backends;

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
        // Before the ID card step the case's state lists everything still to do.
        let (status, state) = f
            .app
            .get_as(&format!("/api/counter/cases/{case}/fund"), &clerk)
            .await;
        assert_eq!(status, 200, "{state}");
        assert_eq!(state["applicant_id_masked"], serde_json::Value::Null);
        assert_eq!(state["missing"][0], "applicant");
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
