//! Attacks with the fund's photo uploads: bytes that lie about their type (another image type,
//! a web page, a program, an SVG with a script) and uploads over the 2 MiB cap. The bytes
//! decide the type; nothing refused is stored. (Refused uploads are not audited: they read
//! nothing and store nothing, and only the uploader's own session can send them.)

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use server::fund::image::{samples, MAX_BYTES};

use crate::both_backends;
use crate::helpers::*;
use crate::ledger;

/// A registered citizen raised to 实人 (uploads need it); returns the access token.
async fn real_person(app: &TestApp) -> String {
    let t = app.register_citizen().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .post(
            "/api/wallet/liveness",
            Some(&t),
            &json!({"evidence": "demo-liveness-confirmed"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn upload(app: &TestApp, token: &str, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/api/wallet/fund/uploads/invoice", app.base))
        .bearer_auth(token)
        .header(CONTENT_TYPE, content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

both_backends!(
    an_upload_that_lies_about_its_type_is_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let token = real_person(&app).await;
        let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
        exe.resize(512, 0);
        // A PNG header in front of a script: the chunks do not walk.
        let mut polyglot = samples::png(4, 4)[..16].to_vec();
        polyglot.extend_from_slice(b"<script>alert(1)</script>");
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("image/jpeg", samples::png(10, 10), "upload_type_mismatch"),
            ("image/png", samples::jpeg(10, 10), "upload_type_mismatch"),
            (
                "image/jpeg",
                b"<html><script>alert(1)</script></html>".to_vec(),
                "upload_not_image",
            ),
            ("image/png", exe, "upload_not_image"),
            (
                "image/png",
                br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#
                    .to_vec(),
                "upload_not_image",
            ),
            ("image/png", polyglot, "upload_content_invalid"),
            (
                "image/svg+xml",
                samples::png(10, 10),
                "upload_type_unsupported",
            ),
            (
                "text/html",
                samples::jpeg(10, 10),
                "upload_type_unsupported",
            ),
        ];
        for (declared, bytes, code) in cases {
            let before = ledger::read(&app.state.db).await;
            let reply = upload(&app, &token, declared, bytes).await;
            assert_refused(&reply, 400, code);
            ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
        }
        // The same session can still upload a genuine photo.
        let (status, body) = upload(&app, &token, "image/png", samples::png(10, 10)).await;
        assert_eq!(status, 201, "{body}");
    }
);

both_backends!(an_upload_over_the_cap_is_refused, |backend| async move {
    let app = spawn_app(backend).await;
    let token = real_person(&app).await;
    for size in [MAX_BYTES + 1, 3 * MAX_BYTES, 8 * MAX_BYTES] {
        let mut big = samples::jpeg(100, 100);
        big.resize(size, 0);
        let before = ledger::read(&app.state.db).await;
        let reply = upload(&app, &token, "image/jpeg", big).await;
        assert_refused(&reply, 413, "upload_too_large");
        ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
    }
});
