//! Attacks on session tokens (JWT): no signature (`alg: none`), HS256 keyed with the node's
//! public key (the algorithm-confusion attack), expired, signed by another node, used after
//! logout. Every one is 401 `unauthenticated` and changes nothing. Forged tokens are not
//! written to the audit log: they reach no data, and an anonymous request must not be able to
//! grow the log (the node's log records them; see the report's decision).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use server::auth::tokens::{self, Claims};
use wallet_core::NodeKey;

use crate::both_backends;
use crate::helpers::*;
use crate::ledger;

fn access(v: &Value) -> String {
    v["access_token"].as_str().unwrap().to_owned()
}

fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

/// Asserts that `token` opens none of its kind's routes (the wallet's for a citizen's, the
/// counter's for a clerk's), and that nothing changed.
async fn refused_everywhere(app: &TestApp, token: &str) {
    let staff = claims_of_any(token).is_some_and(|c| c.kind == "staff");
    let (gets, post, body) = if staff {
        (
            ["/api/staff/me", "/api/counter/matters"],
            "/api/counter/cases",
            json!({"matter": CRANE_MATTER}),
        )
    } else {
        (
            ["/api/wallet/me", "/api/wallet/grants"],
            "/api/wallet/objections",
            json!({"reason": "x"}),
        )
    };
    let before = ledger::read(&app.state.db).await;
    for path in gets {
        let reply = app.get_as(path, token).await;
        assert_refused(&reply, 401, "unauthenticated");
    }
    let reply = app.post(post, Some(token), &body).await;
    assert_refused(&reply, 401, "unauthenticated");
    ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
}

fn claims_of_any(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

both_backends!(
    a_session_token_with_alg_none_is_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let genuine = access(&app.register_citizen().await);
        let payload = genuine.split('.').nth(1).unwrap();
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"None"}"#,
            r#"{"alg":"NONE","typ":"JWT"}"#,
        ] {
            let unsigned = format!("{}.{payload}.", B64.encode(header));
            refused_everywhere(&app, &unsigned).await;
            // The genuine signature under a header that claims none.
            let sig = genuine.split('.').nth(2).unwrap();
            refused_everywhere(&app, &format!("{}.{payload}.{sig}", B64.encode(header))).await;
        }
        assert_eq!(app.get_as("/api/wallet/me", &genuine).await.0, 200);
    }
);

both_backends!(
    a_session_token_signed_hs256_with_the_public_key_is_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let genuine = access(&app.register_citizen().await);
        let claims = claims_of(&genuine);
        let public = app.state.node_key.public_key();
        // Every form the public key is published in, as the HMAC secret.
        let secrets: Vec<Vec<u8>> = vec![
            public.to_bytes().to_vec(),
            public.to_string().into_bytes(),
            B64.encode(public.to_bytes()).into_bytes(),
        ];
        for secret in secrets {
            for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let forged = jsonwebtoken::encode(
                    &Header::new(alg),
                    &claims,
                    &EncodingKey::from_secret(&secret),
                )
                .unwrap();
                refused_everywhere(&app, &forged).await;
            }
        }
    }
);

both_backends!(an_expired_session_token_is_refused, |backend| async move {
    let app = spawn_app(backend).await;
    let tokens = app.register_citizen().await;
    let genuine = access(&tokens);
    app.advance(15 * 60);
    refused_everywhere(&app, &genuine).await;
    // The expiry pushed back in the claims, the node's signature kept.
    let mut claims = claims_of(&genuine);
    claims.exp += 3600;
    let parts: Vec<&str> = genuine.split('.').collect();
    let edited = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    refused_everywhere(&app, &edited).await;
});

both_backends!(
    a_session_token_from_another_node_is_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let genuine = access(&app.register_citizen().await);
        let claims = claims_of(&genuine);
        let other: NodeKey = NodeKey::generate().unwrap();
        // Another node's key, its own region as issuer and audience (a Luohe wallet token).
        let foreign = Claims {
            iss: "411100".into(),
            aud: "411100".into(),
            ..claims.clone()
        };
        refused_everywhere(&app, &tokens::sign(&other, &foreign).unwrap()).await;
        // Another node's key claiming to be this node.
        refused_everywhere(&app, &tokens::sign(&other, &claims).unwrap()).await;
        // This node's key, but issued for another node's audience.
        let elsewhere = Claims {
            aud: "410000".into(),
            ..claims
        };
        refused_everywhere(
            &app,
            &tokens::sign(&app.state.node_key, &elsewhere).unwrap(),
        )
        .await;
    }
);

both_backends!(
    a_session_token_and_its_refresh_token_after_logout_are_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let tokens = app.register_citizen().await;
        let genuine = access(&tokens);
        let (status, _) = app
            .post("/api/wallet/logout", Some(&genuine), &json!({}))
            .await;
        assert_eq!(status, 204);
        refused_everywhere(&app, &genuine).await;
        let before = ledger::read(&app.state.db).await;
        let reply = app
            .post(
                "/api/wallet/refresh",
                None,
                &json!({"refresh_token": tokens["refresh_token"]}),
            )
            .await;
        assert_refused(&reply, 401, "unauthenticated");
        ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
        // A staff session the same way.
        let clerk = access(&app.clerk_login().await);
        let (status, _) = app
            .post("/api/staff/logout", Some(&clerk), &json!({}))
            .await;
        assert_eq!(status, 204);
        refused_everywhere(&app, &clerk).await;
    }
);
