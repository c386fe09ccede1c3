//! Issuance by a department's business system (证照制作, 印章制作, 生成一个、入库一个).

use serde_json::{json, Value};
use wallet_core::error::Coded;
use wallet_core::{CertId, SealedCertificate, TrustList};

use crate::both_backends;
use crate::helpers::*;

async fn trust(app: &TestApp) -> TrustList {
    let (status, body) = app.get("/api/trust-list").await;
    assert_eq!(status, 200);
    serde_json::from_value(body).unwrap()
}

fn sealed(body: &Value) -> SealedCertificate {
    serde_json::from_value(body["sealed"].clone()).unwrap()
}

both_backends!(
    an_issued_certificate_is_sealed_stored_and_verifies_against_the_trust_list,
    |backend| async move {
        let app = spawn_app(backend).await;
        let body = app.issue_crane_certificate().await;
        let id: CertId = body["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(id.issuer().to_string(), amr());
        assert_eq!(id.issuing_region().to_string(), "410100");
        assert_eq!(id.version(), 1);
        let cert = sealed(&body);
        cert.verify_at(&trust(&app).await, START).unwrap();
        assert_eq!(cert.certificate.field("作业项目"), Some("起重机指挥 Q1"));
        assert_eq!(cert.certificate.issuer_name, "郑州市市场监督管理局");
        let stored = app
            .state
            .db
            .certificate(id.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, "valid");
        assert_eq!(stored.sealed, body["sealed"].as_str().unwrap());
    }
);

both_backends!(
    two_certificates_never_share_an_identifier,
    |backend| async move {
        let app = spawn_app(backend).await;
        let a = app.issue_crane_certificate().await;
        let b = app.issue_crane_certificate().await;
        assert_ne!(a["id"], b["id"]);
    }
);

both_backends!(
    issuance_refuses_bad_input_with_its_rule_and_stores_nothing,
    |backend| async move {
        let app = spawn_app(backend).await;
        let cases: Vec<(Value, u16, &str)> = vec![
            (
                json!({"type_code": "11100000000013338W099"}),
                400,
                "cert_type_unknown",
            ),
            (
                json!({"holder_kind": "enterprise"}),
                400,
                "holder_kind_mismatch",
            ),
            (
                json!({"holder_id": "410102198503120031"}),
                400,
                "resident_id_check_digit",
            ),
            (
                json!({"holder_id": "41010219850312003"}),
                400,
                "resident_id_length",
            ),
            (json!({"holder_name": "  "}), 400, "holder_name_invalid"),
            (
                json!({"valid_until": START - 2 * 86400}),
                400,
                "validity_invalid",
            ),
            (json!({"fields": {"作业项目": "Q1"}}), 400, "field_missing"),
            (
                json!({"fields": {"作业项目": "Q1", "证书编号": "1", "血型": "A"}}),
                400,
                "field_unknown",
            ),
            (json!({"type_code": LABOUR_TYPE}), 403, "forbidden"),
            (
                json!({"holder_id": "'; DROP TABLE certificates; --"}),
                400,
                "resident_id_length",
            ),
        ];
        for (patch, status, code) in cases {
            let mut req = crane_request();
            for (k, v) in patch.as_object().unwrap() {
                req[k] = v.clone();
            }
            let (got, body) = app
                .post("/api/issuer/certificates", Some(TOKEN), &req)
                .await;
            assert_eq!(
                (got, body["code"].as_str().unwrap()),
                (status, code),
                "{patch} → {body}"
            );
        }
        let (_, report) = app.get("/api/audit/verify").await;
        assert_eq!(report["entries"], 0, "nothing was issued");
    }
);

both_backends!(issuance_needs_a_department_token, |backend| async move {
    let app = spawn_app(backend).await;
    let (status, body) = app
        .post("/api/issuer/certificates", None, &crane_request())
        .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (401, "unauthenticated")
    );
    let (status, _) = app
        .post(
            "/api/issuer/certificates",
            Some("not-a-token-of-anyone"),
            &crane_request(),
        )
        .await;
    assert_eq!(status, 401);
});

both_backends!(
    a_revoked_certificate_cannot_be_revoked_again,
    |backend| async move {
        let app = spawn_app(backend).await;
        let id = app.issue_crane_certificate().await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/issuer/certificates/{id}/revoke");
        let (status, _) = app
            .post(&path, Some(TOKEN), &json!({"reason": "证书吊销"}))
            .await;
        assert_eq!(status, 204);
        assert_eq!(
            app.state.db.certificate(&id).await.unwrap().unwrap().status,
            "revoked"
        );
        let (status, body) = app
            .post(&path, Some(TOKEN), &json!({"reason": "again"}))
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (409, "certificate_not_current")
        );
        // Another department cannot even see it.
        let (status, _) = app
            .post(&path, Some(OTHER_TOKEN), &json!({"reason": "x"}))
            .await;
        assert_eq!(status, 404);
    }
);

both_backends!(
    a_correction_issues_the_next_version_and_supersedes_the_old,
    |backend| async move {
        let app = spawn_app(backend).await;
        let old = app.issue_crane_certificate().await;
        let old_id: CertId = old["id"].as_str().unwrap().parse().unwrap();
        let fix = json!({
            "holder_name": "张三",
            "valid_from": START - 86400,
            "valid_until": START + 4 * 365 * 86400,
            "fields": {"作业项目": "起重机司机 Q2", "证书编号": "TS410100123456"}
        });
        let (status, new) = app
            .post(
                &format!("/api/issuer/certificates/{old_id}/correct"),
                Some(TOKEN),
                &fix,
            )
            .await;
        assert_eq!(status, 201, "{new}");
        let new_id: CertId = new["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(new_id.serial(), old_id.serial());
        assert_eq!(new_id.version(), 2);
        let stored = app
            .state
            .db
            .certificate(old_id.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, "superseded");
        assert_eq!(stored.replaced_by.as_deref(), Some(new_id.as_str()));
        sealed(&new).verify(&trust(&app).await).unwrap();
        let (status, _) = app
            .post(
                &format!("/api/issuer/certificates/{old_id}/correct"),
                Some(TOKEN),
                &fix,
            )
            .await;
        assert_eq!(status, 409);
    }
);

both_backends!(
    after_a_seal_key_rotation_old_and_new_seals_both_verify,
    |backend| async move {
        let app = spawn_app(backend).await;
        let before = app.issue_crane_certificate().await;
        app.advance(3600);
        let (status, rotated) = app
            .post("/api/issuer/seal-keys/rotate", Some(TOKEN), &json!({}))
            .await;
        assert_eq!(status, 200, "{rotated}");
        app.advance(60);
        let after = app.issue_crane_certificate().await;
        assert_eq!(after["seal_key"], rotated["key_id"]);
        assert_ne!(before["seal_key"], after["seal_key"]);
        let list = trust(&app).await;
        sealed(&before).verify(&list).unwrap();
        sealed(&after).verify(&list).unwrap();
        // A seal dated after the old key's retirement would be refused.
        let old_entry = list
            .entries
            .iter()
            .find(|e| e.key_id().to_string() == before["seal_key"])
            .unwrap();
        assert_eq!(old_entry.not_after, Some(START + 3600));
        let mut late = sealed(&before);
        late.seal.sealed_at = START + 7200;
        assert_eq!(late.verify(&list).unwrap_err().code(), "seal_key_not_valid");
    }
);
