//! Test vectors from fixed seeds. The same file is checked by the WebAssembly tests in
//! `wallet-web`, which proves the browser computes the same bytes as the server.
//! Regenerate (only after a deliberate format change) with `UPDATE_VECTORS=1 cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use wallet_core::*;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v1.json");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn computed() -> Value {
    let device = device_key();
    let presenter = other_key();
    let sealed = sealed();
    let disclosed = sealed.disclose(&["作业项目"]);
    let gp = grant_presentation();
    let cp = certificate_presentation();
    json!({
        "comment": "Fixed-seed vectors for wallet-core format v1; see wallet-core/tests/vectors.rs",
        "device_seed": hex(&[0x11; 32]),
        "device_public_key": device.public_key().to_string(),
        "device_key_id": device.key_id().to_string(),
        "presenter_seed": hex(&[0x22; 32]),
        "presenter_public_key": presenter.public_key().to_string(),
        "seal_seed": hex(&[0x33; 32]),
        "now": NOW,
        "certificate": certificate(),
        "sealed_at": sealed.seal.sealed_at,
        "sealed": String::from(sealed.clone()),
        "disclosed_fields": ["作业项目"],
        "disclosed": String::from(disclosed),
        "trust_list": trust_list(),
        "grant_terms": grant_terms(),
        "grant": String::from(grant()),
        "grant_presentation": {
            "resolve_at": gp.resolve_at,
            "subject": gp.subject,
            "issued_at": gp.issued_at,
            "lifetime": gp.expires_at - gp.issued_at,
            "nonce": hex(&gp.nonce),
            "text": gp.encode_text(),
            "qr_version": qr::version(&gp.encode_text()).unwrap(),
        },
        "certificate_presentation": {
            "resolve_at": cp.resolve_at,
            "subject": cp.subject,
            "issued_at": cp.issued_at,
            "lifetime": cp.expires_at - cp.issued_at,
            "nonce": hex(&cp.nonce),
            "text": cp.encode_text(),
            "qr_version": qr::version(&cp.encode_text()).unwrap(),
        },
    })
}

#[test]
fn vectors_match_the_committed_file() {
    let now = computed();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(PATH, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    assert_eq!(
        committed, now,
        "format drift: the bytes differ from tests/vectors/v1.json"
    );
}

#[test]
fn committed_vectors_verify() {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let trust: TrustList = serde_json::from_value(v["trust_list"].clone()).unwrap();
    let sealed: SealedCertificate = serde_json::from_value(v["disclosed"].clone()).unwrap();
    sealed.verify(&trust).unwrap();
    let grant: Grant = serde_json::from_value(v["grant"].clone()).unwrap();
    let key: PublicKey = v["device_public_key"].as_str().unwrap().parse().unwrap();
    grant.verify_signature(&key).unwrap();
    let p = Presentation::decode_text(v["grant_presentation"]["text"].as_str().unwrap()).unwrap();
    let presenter: PublicKey = v["presenter_public_key"].as_str().unwrap().parse().unwrap();
    p.verify(&presenter, v["now"].as_i64().unwrap()).unwrap();
}
