//! Real-name sessions and device keys.

use reqwest::Method;
use serde_json::{json, Value};
use wallet_core::{DeviceBinding, SecretKey};

use crate::both_backends;
use crate::helpers::*;

fn token(v: &Value) -> String {
    v["access_token"].as_str().unwrap().to_owned()
}

both_backends!(
    registration_needs_the_registry_name_and_the_phones_code,
    |backend| async move {
        let app = spawn_app(backend).await;
        app.state
            .db
            .upsert_resident(&person(), "张三")
            .await
            .unwrap();
        let code = app.otp(PHONE, "register").await;
        let base = json!({"resident_id": person(), "name": "张三", "phone": PHONE, "code": code});
        let attempt = |patch: Value| {
            let mut req = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                req[k] = v.clone();
            }
            req
        };
        let (status, body) = app
            .post(
                "/api/wallet/register",
                None,
                &attempt(json!({"name": "李四"})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "real_name_mismatch")
        );
        let wrong_code = if code == "000000" { "000001" } else { "000000" };
        let (status, body) = app
            .post(
                "/api/wallet/register",
                None,
                &attempt(json!({"code": wrong_code})),
            )
            .await;
        assert_eq!((status, body["code"].as_str().unwrap()), (400, "otp_wrong"));
        let (status, body) = app
            .post(
                "/api/wallet/register",
                None,
                &attempt(json!({"resident_id": "410102198503120039"})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "resident_id_check_digit")
        );
        let (status, body) = app
            .post("/api/wallet/register", None, &attempt(json!({})))
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["level"], "real_name");
        let (status, me) = app.get_as("/api/wallet/me", &token(&body)).await;
        assert_eq!(status, 200);
        assert_eq!(me["name"], "张三");
        assert_eq!(me["phone"], "138****8000");
        assert!(me["resident_id_masked"]
            .as_str()
            .unwrap()
            .contains("********"));
        // A code works once.
        let (status, body) = app
            .post("/api/wallet/register", None, &attempt(json!({})))
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "otp_not_sent")
        );
    }
);

both_backends!(
    knowing_name_and_id_is_never_enough_to_log_in,
    |backend| async move {
        let app = spawn_app(backend).await;
        app.register_citizen().await;
        let (status, body) = app
            .post(
                "/api/wallet/login",
                None,
                &json!({"resident_id": person(), "password": "张三"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "login_failed")
        );
        let (status, body) = app
            .post("/api/wallet/login", None, &json!({"resident_id": person()}))
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "login_method_invalid")
        );
        let (status, _) = app
            .post(
                "/api/wallet/login",
                None,
                &json!({"resident_id": person(), "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 200);
        let code = app.otp(PHONE, "login").await;
        let (status, _) = app
            .post(
                "/api/wallet/login",
                None,
                &json!({"phone": PHONE, "code": code}),
            )
            .await;
        assert_eq!(status, 200);
    }
);

both_backends!(
    guessing_a_one_time_code_stops_after_five_tries,
    |backend| async move {
        let app = spawn_app(backend).await;
        app.register_citizen().await;
        let code = app.otp(PHONE, "login").await;
        let wrong = if code == "123456" { "654321" } else { "123456" };
        for _ in 0..5 {
            let (_, body) = app
                .post(
                    "/api/wallet/login",
                    None,
                    &json!({"phone": PHONE, "code": wrong}),
                )
                .await;
            assert_eq!(body["code"], "otp_wrong");
        }
        let (status, body) = app
            .post(
                "/api/wallet/login",
                None,
                &json!({"phone": PHONE, "code": code}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "otp_too_many_attempts")
        );
    }
);

both_backends!(
    codes_are_sent_at_most_once_a_minute_and_expire,
    |backend| async move {
        let app = spawn_app(backend).await;
        app.otp(PHONE, "login").await;
        let (status, body) = app
            .post(
                "/api/wallet/otp",
                None,
                &json!({"phone": PHONE, "purpose": "login"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (409, "otp_too_frequent")
        );
        let (status, body) = app
            .post(
                "/api/wallet/otp",
                None,
                &json!({"phone": "12345", "purpose": "login"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "phone_invalid")
        );
        app.register_citizen().await;
        app.advance(61);
        let code = app.otp(PHONE, "login").await;
        app.advance(301);
        let (_, body) = app
            .post(
                "/api/wallet/login",
                None,
                &json!({"phone": PHONE, "code": code}),
            )
            .await;
        assert_eq!(body["code"], "otp_expired");
    }
);

both_backends!(logout_revokes_the_session_at_once, |backend| async move {
    let app = spawn_app(backend).await;
    let tokens = app.register_citizen().await;
    let t = token(&tokens);
    let (status, _) = app
        .send(Method::POST, "/api/wallet/logout", Some(&t), None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = app.get_as("/api/wallet/me", &t).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (401, "unauthenticated")
    );
    let (status, _) = app
        .post(
            "/api/wallet/refresh",
            None,
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 401);
});

both_backends!(
    a_refresh_token_works_once_and_access_tokens_expire,
    |backend| async move {
        let app = spawn_app(backend).await;
        let tokens = app.register_citizen().await;
        app.advance(15 * 60);
        let (status, _) = app.get_as("/api/wallet/me", &token(&tokens)).await;
        assert_eq!(status, 401, "an access token lives 15 minutes");
        let (status, fresh) = app
            .post(
                "/api/wallet/refresh",
                None,
                &json!({"refresh_token": tokens["refresh_token"]}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = app.get_as("/api/wallet/me", &token(&fresh)).await;
        assert_eq!(status, 200);
        let (status, _) = app
            .post(
                "/api/wallet/refresh",
                None,
                &json!({"refresh_token": tokens["refresh_token"]}),
            )
            .await;
        assert_eq!(status, 401, "a refresh token is spent once used");
    }
);

both_backends!(
    the_liveness_step_raises_the_session_to_real_person,
    |backend| async move {
        let app = spawn_app(backend).await;
        let t = token(&app.register_citizen().await);
        let (status, body) = app
            .send(
                Method::POST,
                "/api/wallet/liveness",
                Some(&t),
                Some(&json!({"evidence": "photo"})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "liveness_failed")
        );
        let ok = json!({"evidence": "demo-liveness-confirmed"});
        let (status, body) = app
            .send(Method::POST, "/api/wallet/liveness", Some(&t), Some(&ok))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["level"], "real_person");
        let (_, me) = app.get_as("/api/wallet/me", &token(&body)).await;
        assert_eq!(me["level"], "real_person");
    }
);

both_backends!(
    a_device_key_is_registered_bound_and_revoked,
    |backend| async move {
        let app = spawn_app(backend).await;
        let t = token(&app.register_citizen().await);
        let key = SecretKey::generate().unwrap();
        let req = json!({"public_key": key.public_key().to_string()});
        let (status, body) = app
            .send(Method::POST, "/api/wallet/devices", Some(&t), Some(&req))
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["key_id"], key.key_id().to_string());
        let binding: DeviceBinding = serde_json::from_value(body["binding"].clone()).unwrap();
        binding.verify(&app.state.node_key.public_key()).unwrap();
        assert_eq!(binding.terms.resident_id.to_string(), person());
        assert_eq!(binding.terms.device_key, key.public_key());

        let (status, body) = app
            .send(Method::POST, "/api/wallet/devices", Some(&t), Some(&req))
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (409, "device_key_exists")
        );
        let bad = json!({"public_key": "not-a-key"});
        let (status, body) = app
            .send(Method::POST, "/api/wallet/devices", Some(&t), Some(&bad))
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (400, "public_key_malformed")
        );

        let path = format!("/api/wallet/devices/{}/revoke", key.key_id());
        let (status, _) = app.send(Method::POST, &path, Some(&t), None).await;
        assert_eq!(status, 204);
        let (_, list) = app.get_as("/api/wallet/devices", &t).await;
        assert!(list[0]["revoked_at"].is_i64());
        let (status, _) = app.send(Method::POST, &path, Some(&t), None).await;
        assert_eq!(status, 404);
        assert!(app
            .state
            .db
            .live_device(&key.key_id().to_string())
            .await
            .unwrap()
            .is_none());
    }
);
