//! JavaScript bindings for the wallet and counter page. Each export converts its arguments,
//! calls `api` (or `wallet-core`) and converts the result; no rule lives here.
//!
//! Errors reach JavaScript as `Error` objects whose `message` is the Chinese text for people
//! and whose `code` is the stable snake_case code.

pub mod api;

use wallet_core::DeviceKey;
use wasm_bindgen::prelude::*;

use crate::api::WebError;

fn js_error(e: WebError) -> JsValue {
    let err = js_sys::Error::new(e.message);
    let obj: &JsValue = err.as_ref();
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(obj, &"code".into(), &e.code.into());
    let _ = js_sys::Reflect::set(obj, &"detail".into(), &e.detail.into());
    err.into()
}

fn to_js<T, E: Into<WebError>>(r: Result<T, E>) -> Result<T, JsValue> {
    r.map_err(|e| js_error(e.into()))
}

/// A device key held by the page. The page stores `secretBytes()` in IndexedDB and nowhere else.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WalletKey(DeviceKey);

#[wasm_bindgen]
impl WalletKey {
    /// A new key from the browser's random generator.
    pub fn generate() -> Result<WalletKey, JsValue> {
        to_js(DeviceKey::generate()).map(WalletKey)
    }

    #[wasm_bindgen(js_name = fromSecret)]
    pub fn from_secret(secret: &[u8]) -> Result<WalletKey, JsValue> {
        to_js(DeviceKey::from_bytes(secret)).map(WalletKey)
    }

    #[wasm_bindgen(js_name = secretBytes)]
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        api::key_info(&self.0).public_key
    }

    #[wasm_bindgen(js_name = keyId)]
    pub fn key_id(&self) -> String {
        api::key_info(&self.0).key_id
    }

    /// Signs grant terms (JSON); returns the grant as base64url.
    #[wasm_bindgen(js_name = signGrant)]
    pub fn sign_grant(&self, terms_json: &str) -> Result<String, JsValue> {
        to_js(api::sign_grant(&self.0, terms_json))
    }

    /// Signs a presentation; returns `{text, svg, qr_version, issued_at, expires_at}` as JSON.
    #[wasm_bindgen(js_name = makePresentation)]
    pub fn make_presentation(
        &self,
        resolve_at: &str,
        subject_json: &str,
        now: f64,
        lifetime: f64,
    ) -> Result<String, JsValue> {
        let shown = to_js(api::make_presentation(
            &self.0,
            resolve_at,
            subject_json,
            now as i64,
            lifetime as i64,
        ))?;
        Ok(serde_json::to_string(&shown).unwrap_or_default())
    }
}

#[wasm_bindgen(js_name = describeGrant)]
pub fn describe_grant(grant_b64: &str) -> Result<String, JsValue> {
    to_js(api::describe_grant(grant_b64))
}

#[wasm_bindgen(js_name = decodePresentation)]
pub fn decode_presentation(text: &str) -> Result<String, JsValue> {
    to_js(api::decode_presentation(text))
}

#[wasm_bindgen(js_name = verifyPresentation)]
pub fn verify_presentation(text: &str, public_key: &str, now: f64) -> Result<String, JsValue> {
    to_js(api::verify_presentation(text, public_key, now as i64))
}

#[wasm_bindgen(js_name = verifySealedCertificate)]
pub fn verify_sealed_certificate(
    sealed_b64: &str,
    trust_json: &str,
    now: f64,
) -> Result<String, JsValue> {
    to_js(api::verify_sealed_certificate(
        sealed_b64, trust_json, now as i64,
    ))
}

#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str, min_px: u32) -> Result<String, JsValue> {
    to_js(wallet_core::qr::svg(text, min_px))
}

#[wasm_bindgen(js_name = checkResidentId)]
pub fn check_resident_id(text: &str) -> Result<String, JsValue> {
    to_js(api::check_resident_id(text))
}

#[wasm_bindgen(js_name = checkCreditCode)]
pub fn check_credit_code(text: &str) -> Result<String, JsValue> {
    to_js(api::check_credit_code(text))
}

#[wasm_bindgen(js_name = certIdRegion)]
pub fn cert_id_region(text: &str) -> Result<String, JsValue> {
    to_js(api::cert_id_region(text))
}
