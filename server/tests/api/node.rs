//! The node as a whole: identity, storage, errors, audit.

use serde_json::{json, Value};
use server::db::{migration_names, Backend};

use crate::both_backends;
use crate::helpers::*;

#[test]
fn both_backends_have_the_same_migrations() {
    assert_eq!(
        migration_names(Backend::Sqlite),
        migration_names(Backend::Postgres)
    );
    assert!(!migration_names(Backend::Sqlite).is_empty());
}

both_backends!(
    health_names_the_node_and_its_backend,
    |backend| async move {
        let app = spawn_app(backend).await;
        let (status, body) = app.get("/healthz").await;
        assert_eq!(status, 200);
        assert_eq!(body["region"], "410100");
        assert_eq!(body["tier"], "city");
        assert_eq!(
            body["database"],
            if backend == Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
    }
);

both_backends!(
    unknown_api_routes_are_problem_details,
    |backend| async move {
        let app = spawn_app(backend).await;
        let r = app
            .client
            .get(format!("{}/api/nothing-here", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "route_not_found");
    }
);

both_backends!(
    the_audit_chain_verifies_and_a_tampered_row_is_reported,
    |backend| async move {
        let app = spawn_app(backend).await;
        for _ in 0..3 {
            app.issue_crane_certificate().await;
        }
        let (_, report) = app.get("/api/audit/verify").await;
        assert_eq!(report["intact"], true, "{report}");
        // 2 seal keys created at start-up are not audited; 3 issuances are.
        assert_eq!(report["entries"], 3);

        sqlx::query("UPDATE audit_log SET result = 'refused' WHERE seq = 2")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let (_, report) = app.get("/api/audit/verify").await;
        assert_eq!(report["intact"], false);
        assert_eq!(report["break"]["seq"], 2);
        assert_eq!(report["break"]["reason"], "entry was altered");
    }
);

both_backends!(a_deleted_last_audit_row_is_reported, |backend| async move {
    let app = spawn_app(backend).await;
    app.issue_crane_certificate().await;
    app.issue_crane_certificate().await;
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (_, report) = app.get("/api/audit/verify").await;
    assert_eq!(report["intact"], false);
    assert_eq!(
        report["break"]["reason"],
        "log truncated after its last entry"
    );
});

both_backends!(
    bad_json_is_a_problem_and_changes_nothing,
    |backend| async move {
        let app = spawn_app(backend).await;
        let r = app
            .client
            .post(format!("{}/api/issuer/certificates", app.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "invalid_json");
        let (status, body) = app
            .post(
                "/api/issuer/certificates",
                Some(TOKEN),
                &json!({"type_code": 5}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "invalid_json");
        let (_, report) = app.get("/api/audit/verify").await;
        assert_eq!(report["entries"], 0);
    }
);

both_backends!(an_oversized_body_is_refused, |backend| async move {
    let app = spawn_app(backend).await;
    let mut req = crane_request();
    req["fields"]["住址"] = json!("x".repeat(1024 * 1024));
    let (status, body) = app
        .post("/api/issuer/certificates", Some(TOKEN), &req)
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
});

// Found by scripts/test-contract.sh: axum's own query rejection was plain text, against the
// document's problem+json for every 4xx.
both_backends!(
    a_malformed_query_string_is_refused_as_problem_json,
    |backend| async move {
        let app = spawn_app(backend).await;
        for path in [
            "/api/matters?cert_type=a&cert_type=b",
            "/api/catalog/issuers?cert_type=a&cert_type=b",
        ] {
            let resp = app
                .client
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 400, "{path}");
            assert_eq!(
                resp.headers()["content-type"],
                "application/problem+json",
                "{path}"
            );
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["code"], "invalid_query", "{path}");
        }
    }
);

both_backends!(
    every_documented_route_is_routed_and_in_the_openapi_document,
    |backend| async move {
        let app = spawn_app(backend).await;
        let (status, doc) = app.get("/api/openapi.json").await;
        assert_eq!(status, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        for r in server::routes::ROUTES {
            let op = &doc["paths"][r.path][r.method.to_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing from the document",
                r.method,
                r.path
            );
            assert!(op["responses"]["4XX"].is_object());
            let path = r
                .path
                .replace("{id}", "x")
                .replace("{key_id}", "x")
                .replace("{code}", "x");
            let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
            let resp = app
                .client
                .request(method, format!("{}{path}", app.base))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            assert_ne!(
                body["code"], "route_not_found",
                "{} {} is documented but not routed",
                r.method, r.path
            );
            assert!(
                status < 500,
                "{} {} answered {status} without input",
                r.method,
                r.path
            );
        }
    }
);

both_backends!(
    metrics_count_requests_by_route_and_retrievals_by_result,
    |backend| async move {
        let app = spawn_app(backend).await;
        app.get("/healthz").await;
        app.issue_crane_certificate().await;
        let text = app.metrics().await;
        assert!(
            text.contains(
                r#"ecert_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"route="/api/issuer/certificates",status="201"} 1"#),
            "{text}"
        );
        assert!(text.contains("ecert_http_request_duration_seconds_bucket"));
    }
);

both_backends!(
    the_matter_directory_is_public_and_filters_by_certificate_type,
    |backend| async move {
        let app = spawn_app(backend).await;
        let codes = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|m| m["code"].as_str().unwrap().to_owned())
                .collect()
        };
        let (status, all) = app.get("/api/matters").await;
        assert_eq!(status, 200, "{all}");
        assert_eq!(
            codes(&all),
            [CRANE_MATTER, OTHER_MATTER, "410102-RS-0007"],
            "own matters first, then the directory's"
        );
        let (_, crane) = app
            .get(&format!("/api/matters?cert_type={CRANE_TYPE}"))
            .await;
        assert_eq!(codes(&crane), [CRANE_MATTER, OTHER_MATTER]);
        assert_eq!(crane[0]["region"], "410100");
        assert_eq!(crane[0]["region_name"], "郑州市电子证照系统");
        assert_eq!(crane[0]["materials"][1]["cert_type"], CRANE_TYPE);
        let (_, labour) = app
            .get(&format!("/api/matters?cert_type={LABOUR_TYPE}"))
            .await;
        assert_eq!(codes(&labour), ["410102-RS-0007"]);
        assert_eq!(labour[0]["region"], "410102");
        let (_, none) = app.get("/api/matters?cert_type=NOPE").await;
        assert_eq!(none, json!([]));
        let (status, body) = app
            .get(&format!("/api/matters?cert_type={}", "X".repeat(65)))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("cert_type_invalid"))
        );
        // A counter opens cases only for the node's own matters, never for the directory's.
        let clerk = app.clerk_login().await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = app
            .post(
                "/api/counter/cases",
                Some(&clerk),
                &json!({ "matter": "410102-RS-0007" }),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("matter_unknown"))
        );
    }
);
