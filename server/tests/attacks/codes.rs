//! Attacks on the QR code (亮证码): showing it twice, after its refresh, outside its minute,
//! altered, or signed by a phone that is not the presenter's.

use serde_json::json;
use wallet_core::{DeviceKey, MatterScope, Presentation, RegionCode, Subject};

use crate::both_backends;
use crate::counter_world::*;
use crate::helpers::*;
use crate::ledger;

fn zhengzhou() -> RegionCode {
    RegionCode::new(410100).unwrap()
}

/// Scans `text` at a fresh case; asserts the refusal with `code` and that only its trail was
/// written (`ledger::assert_refusal_trail`).
async fn refused_scan(w: &World, text: &str, code: &str) {
    let case = w.open_case(CRANE_MATTER).await;
    let before = ledger::read(&w.app.state.db).await;
    let reply = w.scan(&case, text).await;
    assert_refused(&reply, 400, code);
    ledger::assert_refusal_trail(&w.app.state.db, &before, "retrieval", code).await;
}

both_backends!(
    a_replayed_code_is_refused_and_audited,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, None).await;
        let case = w.open_case(CRANE_MATTER).await;
        let text = w.show(&w.grantee_key, Subject::Grant(grant));
        assert_eq!(w.scan(&case, &text).await.0, 201);
        refused_scan(&w, &text, "presentation_replayed").await;
        assert_eq!(w.audit_results().await, vec!["ok", "presentation_replayed"]);
    }
);

both_backends!(
    a_code_shown_after_its_refresh_is_refused_as_superseded,
    |backend| async move {
        let w = world(backend).await;
        let cert = Subject::Certificate(w.cert_id.clone());
        let first = w.show(&w.holder_key, cert.clone());
        let current = |text: String| {
            let app = &w.app;
            let token = w.holder_token.clone();
            async move {
                app.post(
                    "/api/wallet/presentations/current",
                    Some(&token),
                    &json!({ "text": text }),
                )
                .await
            }
        };
        assert_eq!(current(first.clone()).await.0, 204);
        w.app.advance(1);
        let second = w.show(&w.holder_key, cert);
        assert_eq!(current(second.clone()).await.0, 204);
        // The screenshot of the first code, taken before the phone refreshed it.
        refused_scan(&w, &first, "presentation_superseded").await;
        let case = w.open_case(CRANE_MATTER).await;
        assert_eq!(
            w.scan(&case, &second).await.0,
            201,
            "the current code works"
        );
    }
);

both_backends!(an_expired_code_is_refused, |backend| async move {
    let w = world(backend).await;
    let grant = w.grant(MatterScope::All, None).await;
    let text = w.show(&w.grantee_key, Subject::Grant(grant));
    w.app.advance(60);
    refused_scan(&w, &text, "presentation_expired").await;
});

both_backends!(a_code_not_yet_valid_is_refused, |backend| async move {
    let w = world(backend).await;
    let grant = w.grant(MatterScope::All, None).await;
    // Signed by a phone whose clock runs two minutes ahead (30 s are tolerated).
    let now = w.app.time.load(std::sync::atomic::Ordering::SeqCst);
    let text = Presentation::sign(
        &w.grantee_key,
        zhengzhou(),
        Subject::Grant(grant),
        now + 120,
        60,
    )
    .unwrap()
    .encode_text();
    refused_scan(&w, &text, "presentation_not_yet_valid").await;
});

both_backends!(
    a_code_with_any_one_byte_changed_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, None).await;
        let genuine = w.show(&w.grantee_key, Subject::Grant(grant));
        let bytes = wallet_core::base45::decode(genuine.strip_prefix("EC1:").unwrap()).unwrap();
        // One byte in every field: version, region, subject, presenter, times, nonce, signature.
        for i in (0..bytes.len()).step_by(5) {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let text = format!("EC1:{}", wallet_core::base45::encode(&altered));
            let case = w.open_case(CRANE_MATTER).await;
            let before = ledger::read(&w.app.state.db).await;
            let (status, body) = w.scan(&case, &text).await;
            assert_eq!(status, 400, "byte {i}: {body}");
            let code = body["code"].as_str().unwrap().to_owned();
            ledger::assert_refusal_trail(&w.app.state.db, &before, "retrieval", &code).await;
        }
        // A changed character of the text form, and text that is no code at all.
        let mut typed = genuine.clone().into_bytes();
        let i = typed.len() - 10;
        typed[i] = if typed[i] == b'A' { b'B' } else { b'A' };
        let (status, _) = w
            .scan(
                &w.open_case(CRANE_MATTER).await,
                std::str::from_utf8(&typed).unwrap(),
            )
            .await;
        assert_eq!(status, 400);
        refused_scan(&w, "'; DROP TABLE nonces; --", "presentation_text_prefix").await;
        let case = w.open_case(CRANE_MATTER).await;
        assert_eq!(
            w.scan(&case, &genuine).await.0,
            201,
            "the untouched code still works"
        );
        ledger::assert_chain_intact(&w.app.state.db).await;
    }
);

both_backends!(
    a_code_signed_by_another_device_key_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let cert = Subject::Certificate(w.cert_id.clone());
        // A code naming the holder's key, signed by a key the attacker holds.
        let stray = DeviceKey::generate().unwrap();
        let now = w.app.time.load(std::sync::atomic::Ordering::SeqCst);
        let mut forged = Presentation::sign(&stray, zhengzhou(), cert.clone(), now, 60).unwrap();
        forged.presenter = w.holder_key.key_id();
        refused_scan(&w, &forged.encode_text(), "presentation_signature_invalid").await;
        // A code signed by a phone never registered.
        refused_scan(&w, &w.show(&stray, cert.clone()), "presenter_key_unknown").await;
        // The grantee's registered phone showing the holder's own certificate.
        refused_scan(&w, &w.show(&w.grantee_key, cert), "presenter_not_holder").await;
    }
);
