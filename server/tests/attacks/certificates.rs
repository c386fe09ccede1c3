//! Attacks with the certificate itself: a revoked or expired one, a disputed one (handed out
//! marked disputed, as docs/decisions.md decides), and a stored certificate whose seal was
//! forged, made by an unknown or retired key, or by another department's key than the one its
//! identifier names. The last four stand for a tampered database or a compromised copy: the
//! owner verifies its own seal before anything leaves it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::json;
use wallet_core::{CertId, CertStatus, Seal, SealKey, SealedCertificate, SecretKey, Subject};

use crate::both_backends;
use crate::counter_world::*;
use crate::helpers::*;
use crate::ledger;

/// The holder shows their own certificate at a new case; asserts the refusal with `code`,
/// that only the audit entry and the code's nonce were written, and the entry's result.
async fn refused_showing(w: &World, cert: &CertId, code: &str) {
    let case = w.open_case(CRANE_MATTER).await;
    let text = w.show(&w.holder_key, Subject::Certificate(cert.clone()));
    let before = ledger::read(&w.app.state.db).await;
    let reply = w.scan(&case, &text).await;
    assert_refused(&reply, 400, code);
    ledger::assert_refusal_trail(&w.app.state.db, &before, "retrieval", code).await;
}

both_backends!(a_revoked_certificate_is_refused, |backend| async move {
    let w = world(backend).await;
    let path = format!("/api/issuer/certificates/{}/revoke", w.cert_id);
    let (status, _) = w
        .app
        .post(&path, Some(TOKEN), &json!({"reason": "吊销"}))
        .await;
    assert_eq!(status, 204);
    refused_showing(&w, &w.cert_id, "certificate_revoked").await;
    assert_eq!(w.audit_results().await, vec!["certificate_revoked"]);
});

both_backends!(an_expired_certificate_is_refused, |backend| async move {
    let w = world(backend).await;
    let mut req = crane_request();
    req["valid_until"] = json!(START + 100);
    let (status, body) = w
        .app
        .post("/api/issuer/certificates", Some(TOKEN), &req)
        .await;
    assert_eq!(status, 201, "{body}");
    let short: CertId = body["id"].as_str().unwrap().parse().unwrap();
    w.app.advance(200);
    // The outbox's sweep queues an `expired` event for the certificate on its own schedule;
    // run it now so that the event is written before the ledger is read, not during the scan.
    let now = w.app.time.load(std::sync::atomic::Ordering::SeqCst);
    w.app.state.db.enqueue_expiries(now, 100).await.unwrap();
    refused_showing(&w, &short, "certificate_expired").await;
});

both_backends!(
    a_disputed_certificate_is_handed_out_marked_disputed,
    |backend| async move {
        let w = world(backend).await;
        let (status, body) = w
            .app
            .post(
                "/api/wallet/objections",
                Some(&w.holder_token),
                &json!({"cert_id": w.cert_id.to_string(), "reason": "作业项目登记错误"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let case = w.open_case(CRANE_MATTER).await;
        let text = w.show(&w.holder_key, Subject::Certificate(w.cert_id.clone()));
        let (status, got) = w.scan(&case, &text).await;
        assert_eq!(status, 201, "{got}");
        // Not a refusal: the counter sees the dispute in the result and in the signed receipt.
        assert_eq!(got["status"], "disputed");
        let receipt: wallet_core::RetrievalReceipt =
            serde_json::from_value(got["receipt"].clone()).unwrap();
        assert_eq!(receipt.terms.status, CertStatus::Disputed);
        assert_eq!(w.audit_results().await, vec!["ok"]);
    }
);

/// Replaces the stored copy of `cert` with `sealed` (what an intruder in the database, or a
/// corrupted disk, would leave).
async fn store_sealed(w: &World, cert: &CertId, sealed: SealedCertificate) {
    sqlx::query("UPDATE certificates SET sealed = $1 WHERE id = $2")
        .bind(String::from(sealed))
        .bind(cert.as_str())
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
}

async fn stored(w: &World) -> SealedCertificate {
    let row = w
        .app
        .state
        .db
        .certificate(w.cert_id.as_str())
        .await
        .unwrap()
        .unwrap();
    SealedCertificate::try_from(row.sealed).unwrap()
}

async fn department_key(w: &World, department: &str) -> SealKey {
    let (_, secret) = w
        .app
        .state
        .db
        .current_seal_key(department)
        .await
        .unwrap()
        .unwrap();
    SecretKey::from_bytes(&B64.decode(secret).unwrap()).unwrap()
}

both_backends!(a_forged_seal_is_refused, |backend| async move {
    let w = world(backend).await;
    // The holder's name changed after sealing, the seal left as it was.
    let mut forged = stored(&w).await;
    forged.certificate.holder_name = "李四".into();
    store_sealed(&w, &w.cert_id, forged).await;
    refused_showing(&w, &w.cert_id, "seal_invalid").await;
    // A signature with one bit flipped over the genuine certificate.
    let mut flipped = stored(&w).await;
    flipped.certificate.holder_name = "张三".into();
    flipped.seal.signature[7] ^= 0x01;
    store_sealed(&w, &w.cert_id, flipped).await;
    refused_showing(&w, &w.cert_id, "seal_invalid").await;
});

both_backends!(a_seal_by_an_unknown_key_is_refused, |backend| async move {
    let w = world(backend).await;
    let cert = stored(&w).await.certificate;
    let now = w.app.time.load(std::sync::atomic::Ordering::SeqCst);
    let stranger = SealKey::generate().unwrap();
    store_sealed(&w, &w.cert_id, Seal::sign(cert, &stranger, now).unwrap()).await;
    refused_showing(&w, &w.cert_id, "seal_key_unknown").await;
});

both_backends!(
    a_seal_by_a_retired_key_after_its_retirement_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let old = department_key(&w, &amr()).await;
        let (status, body) = w
            .app
            .post("/api/issuer/seal-keys/rotate", Some(TOKEN), &json!({}))
            .await;
        assert!(status < 300, "{status} {body}");
        w.app.advance(10);
        // The retired key, stolen, seals after it was retired.
        let cert = stored(&w).await.certificate;
        let now = w.app.time.load(std::sync::atomic::Ordering::SeqCst);
        store_sealed(&w, &w.cert_id, Seal::sign(cert, &old, now).unwrap()).await;
        refused_showing(&w, &w.cert_id, "seal_key_not_valid").await;
    }
);

both_backends!(
    a_seal_that_does_not_match_the_issuer_code_is_refused,
    |backend| async move {
        let w = world(backend).await;
        // Sealed by another department of the same node (in the trust list, but not the
        // issuer the certificate's identifier names).
        let other = department_key(&w, &hrss()).await;
        let cert = stored(&w).await.certificate;
        let now = w.app.time.load(std::sync::atomic::Ordering::SeqCst);
        store_sealed(&w, &w.cert_id, Seal::sign(cert, &other, now).unwrap()).await;
        refused_showing(&w, &w.cert_id, "seal_issuer_mismatch").await;
    }
);
