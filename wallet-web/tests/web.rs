//! The WebAssembly build computes exactly what the native build computes: every fixed-seed
//! vector of `wallet-core/tests/vectors/v1.json` is recomputed here, inside Node and inside
//! headless Chromium (`WASM_BINDGEN_USE_BROWSER=1`), and the JavaScript-facing exports are
//! driven the way the page drives them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use wallet_core::grant::GrantTerms;
use wallet_core::*;
use wallet_web::WalletKey;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

const VECTORS: &str = include_str!("../../wallet-core/tests/vectors/v1.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn seed(v: &Value, name: &str) -> SecretKey {
    let hex = v[name].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    SecretKey::from_bytes(&bytes).unwrap()
}

fn nonce(hex: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn js_code(err: JsValue) -> String {
    js_sys::Reflect::get(&err, &"code".into())
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
fn keys_from_fixed_seeds_match_the_native_ones() {
    let v = vectors();
    let device = seed(&v, "device_seed");
    assert_eq!(
        device.public_key().to_string(),
        v["device_public_key"].as_str().unwrap()
    );
    assert_eq!(
        device.key_id().to_string(),
        v["device_key_id"].as_str().unwrap()
    );
}

#[wasm_bindgen_test]
fn a_grant_signed_in_the_browser_has_the_native_bytes() {
    let v = vectors();
    let terms: GrantTerms = serde_json::from_value(v["grant_terms"].clone()).unwrap();
    let grant = terms.sign(&seed(&v, "device_seed")).unwrap();
    assert_eq!(String::from(grant), v["grant"].as_str().unwrap());
}

#[wasm_bindgen_test]
fn a_seal_made_in_the_browser_has_the_native_bytes_and_verifies() {
    let v = vectors();
    let cert: Certificate = serde_json::from_value(v["certificate"].clone()).unwrap();
    let sealed = Seal::sign(
        cert,
        &seed(&v, "seal_seed"),
        v["sealed_at"].as_i64().unwrap(),
    )
    .unwrap();
    assert_eq!(String::from(sealed.clone()), v["sealed"].as_str().unwrap());
    let disclosed = sealed.disclose(&["作业项目"]);
    assert_eq!(String::from(disclosed), v["disclosed"].as_str().unwrap());

    let mut trust = wallet_web::JsTrustList::new();
    for e in v["trust_list"]["entries"].as_array().unwrap() {
        trust
            .add(
                e["issuer"].as_str().unwrap(),
                e["issuer_name"].as_str().unwrap(),
                e["key"].as_str().unwrap(),
                e["not_before"].as_f64().unwrap(),
                e["not_after"].as_f64(),
            )
            .unwrap();
    }
    let now = v["now"].as_f64().unwrap();
    let shown =
        wallet_web::verify_sealed_certificate(v["disclosed"].as_str().unwrap(), &trust, now)
            .unwrap();
    assert_eq!(shown.field_names(), vec!["作业项目".to_string()]);
    assert_eq!(shown.field_values(), vec!["起重机指挥 Q1".to_string()]);
    assert_eq!(shown.withheld_fields(), 2);
    assert_eq!(shown.sealed_by(), "郑州市市场监督管理局");
    assert!(shown.in_force());
    let empty = wallet_web::JsTrustList::new();
    let refused =
        wallet_web::verify_sealed_certificate(v["disclosed"].as_str().unwrap(), &empty, now)
            .unwrap_err();
    assert_eq!(js_code(refused), "seal_key_unknown");
}

#[wasm_bindgen_test]
fn presentations_signed_in_the_browser_have_the_native_text() {
    let v = vectors();
    for (name, key) in [
        ("grant_presentation", "presenter_seed"),
        ("certificate_presentation", "device_seed"),
    ] {
        let p = &v[name];
        let subject: Subject = serde_json::from_value(p["subject"].clone()).unwrap();
        let signed = Presentation::sign_with_nonce(
            &seed(&v, key),
            p["resolve_at"].as_str().unwrap().parse().unwrap(),
            subject,
            p["issued_at"].as_i64().unwrap(),
            p["lifetime"].as_i64().unwrap(),
            nonce(p["nonce"].as_str().unwrap()),
        )
        .unwrap();
        let text = signed.encode_text();
        assert_eq!(text, p["text"].as_str().unwrap());
        assert_eq!(
            i64::from(qr::version(&text).unwrap()),
            p["qr_version"].as_i64().unwrap()
        );
    }
}

#[wasm_bindgen_test]
fn the_page_makes_a_qr_and_the_counter_verifies_it() {
    let key = WalletKey::generate().unwrap();
    let restored = WalletKey::from_secret(&key.secret_bytes()).unwrap();
    assert_eq!(restored.public_key(), key.public_key());
    let now = 1_790_000_000.0;
    let shown = key
        .make_presentation(
            "410000",
            "grant",
            "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
            now,
            60.0,
        )
        .unwrap();
    assert!(shown.svg().starts_with("<svg"));
    assert!(shown.qr_version() <= 7);
    assert_eq!(shown.expires_at(), now + 60.0);
    let seen =
        wallet_web::read_presentation(&shown.text(), Some(key.public_key()), now + 10.0).unwrap();
    assert_eq!(seen.subject_kind(), "grant");
    assert_eq!(seen.subject_id(), "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
    assert_eq!(seen.presenter(), key.key_id());
    let late = wallet_web::read_presentation(&shown.text(), Some(key.public_key()), now + 60.0)
        .unwrap_err();
    assert_eq!(js_code(late), "presentation_expired");
    let other = WalletKey::generate().unwrap();
    let wrong =
        wallet_web::read_presentation(&shown.text(), Some(other.public_key()), now).unwrap_err();
    assert_eq!(js_code(wrong), "presentation_presenter_mismatch");
}

#[wasm_bindgen_test]
fn errors_reach_javascript_with_their_stable_code_and_chinese_message() {
    let err = wallet_web::read_presentation("not a code", None, 0.0).unwrap_err();
    assert_eq!(js_code(err.clone()), "presentation_text_prefix");
    let message = js_sys::Reflect::get(&err, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(message, "无法识别的亮证码，请重新扫描");
    assert_eq!(
        js_code(wallet_web::check_resident_id("110105194912310021").unwrap_err()),
        "resident_id_check_digit"
    );
    assert_eq!(
        wallet_web::check_credit_code("11430000006122244L").unwrap(),
        "11430000006122244L"
    );
}

#[wasm_bindgen_test]
fn a_grant_signed_through_the_binding_describes_itself() {
    let key = WalletKey::generate().unwrap();
    let sign = |not_after: f64| {
        key.sign_grant(
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U".into(),
            "person".into(),
            "11010519491231002X".into(),
            "11010519491231002X".into(),
            "李四".into(),
            String::new(),
            vec!["411100-JS-0042".into()],
            1_790_000_000.0,
            not_after,
            2,
        )
    };
    let grant = sign(1_790_086_400.0).unwrap();
    let described = wallet_web::describe_grant(&grant).unwrap();
    assert_eq!(described.grantee_name(), "李四");
    assert_eq!(described.matters(), vec!["411100-JS-0042".to_string()]);
    assert_eq!(described.use_limit(), 2);
    assert_eq!(described.id().len(), 32);
    assert_eq!(
        js_code(sign(1_799_000_000.0).unwrap_err()),
        "grant_window_too_long"
    );
}
