//! JavaScript bindings for the wallet and counter page. Each export converts its arguments,
//! calls `api` (or `wallet-core`) and converts the result; no rule lives here.
//!
//! Errors reach JavaScript as `Error` objects whose `message` is the Chinese text for people
//! and whose `code` is the stable snake_case code. Times are Unix seconds as numbers.

pub mod api;

use wallet_core::{DeviceKey, Holder, MatterScope, Subject, TrustList};
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
        self.0.public_key().to_string()
    }

    #[wasm_bindgen(js_name = keyId)]
    pub fn key_id(&self) -> String {
        self.0.key_id().to_string()
    }

    /// Signs a grant (授权他人使用); returns it as base64url. An empty `matters` list means all
    /// matters, an empty enterprise none, a `use_limit` of 0 no limit.
    #[wasm_bindgen(js_name = signGrant)]
    #[allow(clippy::too_many_arguments)]
    pub fn sign_grant(
        &self,
        cert_id: String,
        holder_kind: String,
        holder_id: String,
        grantee_id: String,
        grantee_name: String,
        grantee_enterprise: String,
        matters: Vec<String>,
        not_before: f64,
        not_after: f64,
        use_limit: u32,
    ) -> Result<String, JsValue> {
        let form = api::GrantForm {
            cert_id,
            holder_kind,
            holder_id,
            grantee_id,
            grantee_name,
            grantee_enterprise,
            matters,
            not_before: not_before as i64,
            not_after: not_after as i64,
            use_limit,
        };
        to_js(api::sign_grant(&self.0, form))
    }

    /// Signs a presentation (亮证码) of a `certificate` or a `grant` and draws its QR code.
    #[wasm_bindgen(js_name = makePresentation)]
    pub fn make_presentation(
        &self,
        resolve_at: &str,
        subject_kind: &str,
        subject_id: &str,
        now: f64,
        lifetime: f64,
    ) -> Result<ShownCode, JsValue> {
        let subject = to_js(api::subject(subject_kind, subject_id))?;
        let shown = to_js(api::make_presentation(
            &self.0,
            resolve_at,
            subject,
            now as i64,
            lifetime as i64,
        ))?;
        Ok(ShownCode(shown))
    }
}

/// A presentation as the 亮证 view shows it.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ShownCode(api::Shown);

#[wasm_bindgen]
impl ShownCode {
    #[wasm_bindgen(getter)]
    pub fn text(&self) -> String {
        self.0.text.clone()
    }
    #[wasm_bindgen(getter)]
    pub fn svg(&self) -> String {
        self.0.svg.clone()
    }
    #[wasm_bindgen(getter, js_name = qrVersion)]
    pub fn qr_version(&self) -> u8 {
        self.0.qr_version
    }
    #[wasm_bindgen(getter, js_name = issuedAt)]
    pub fn issued_at(&self) -> f64 {
        self.0.issued_at as f64
    }
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.0.expires_at as f64
    }
}

/// What a scanned code says (verified, when the presenter's key was given).
#[wasm_bindgen]
#[derive(Debug)]
pub struct ScannedCode(wallet_core::Presentation);

#[wasm_bindgen]
impl ScannedCode {
    #[wasm_bindgen(getter, js_name = resolveAt)]
    pub fn resolve_at(&self) -> String {
        self.0.resolve_at.to_string()
    }
    #[wasm_bindgen(getter, js_name = subjectKind)]
    pub fn subject_kind(&self) -> String {
        match self.0.subject {
            Subject::Certificate(_) => "certificate".into(),
            Subject::Grant(_) => "grant".into(),
        }
    }
    #[wasm_bindgen(getter, js_name = subjectId)]
    pub fn subject_id(&self) -> String {
        match &self.0.subject {
            Subject::Certificate(id) => id.to_string(),
            Subject::Grant(id) => id.to_string(),
        }
    }
    #[wasm_bindgen(getter)]
    pub fn presenter(&self) -> String {
        self.0.presenter.to_string()
    }
    #[wasm_bindgen(getter, js_name = issuedAt)]
    pub fn issued_at(&self) -> f64 {
        self.0.issued_at as f64
    }
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.0.expires_at as f64
    }
}

/// Decodes scanned text; with the presenter's public key, also verifies it at `now`.
#[wasm_bindgen(js_name = readPresentation)]
pub fn read_presentation(
    text: &str,
    public_key: Option<String>,
    now: f64,
) -> Result<ScannedCode, JsValue> {
    to_js(api::read_presentation(
        text,
        public_key.as_deref(),
        now as i64,
    ))
    .map(ScannedCode)
}

/// A grant's terms, for showing before signing and in 我的授权.
#[wasm_bindgen]
#[derive(Debug)]
pub struct GrantView(wallet_core::Grant);

#[wasm_bindgen]
impl GrantView {
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.0.terms.id.to_string()
    }
    #[wasm_bindgen(getter, js_name = certId)]
    pub fn cert_id(&self) -> String {
        self.0.terms.cert_id.to_string()
    }
    #[wasm_bindgen(getter, js_name = holderId)]
    pub fn holder_id(&self) -> String {
        self.0.terms.holder.id().to_owned()
    }
    #[wasm_bindgen(getter, js_name = granteeName)]
    pub fn grantee_name(&self) -> String {
        self.0.terms.grantee.name.clone()
    }
    #[wasm_bindgen(getter, js_name = granteeIdMasked)]
    pub fn grantee_id_masked(&self) -> String {
        self.0.terms.grantee.resident_id.masked()
    }
    #[wasm_bindgen(getter, js_name = granteeEnterprise)]
    pub fn grantee_enterprise(&self) -> Option<String> {
        self.0
            .terms
            .grantee
            .enterprise
            .as_ref()
            .map(ToString::to_string)
    }
    /// Empty when the grant covers all matters.
    #[wasm_bindgen(getter)]
    pub fn matters(&self) -> Vec<String> {
        match &self.0.terms.matters {
            MatterScope::All => Vec::new(),
            MatterScope::Named(codes) => codes.clone(),
        }
    }
    #[wasm_bindgen(getter, js_name = notBefore)]
    pub fn not_before(&self) -> f64 {
        self.0.terms.not_before as f64
    }
    #[wasm_bindgen(getter, js_name = notAfter)]
    pub fn not_after(&self) -> f64 {
        self.0.terms.not_after as f64
    }
    /// 0 when unlimited.
    #[wasm_bindgen(getter, js_name = useLimit)]
    pub fn use_limit(&self) -> u32 {
        self.0.terms.use_limit.unwrap_or(0)
    }
}

#[wasm_bindgen(js_name = describeGrant)]
pub fn describe_grant(grant_b64: &str) -> Result<GrantView, JsValue> {
    to_js(api::decode_grant(grant_b64)).map(GrantView)
}

/// The seal keys the page trusts, filled from the node's published trust list.
#[wasm_bindgen(js_name = TrustList)]
#[derive(Debug, Default)]
pub struct JsTrustList(TrustList);

#[wasm_bindgen(js_class = TrustList)]
impl JsTrustList {
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsTrustList {
        JsTrustList::default()
    }

    /// Adds one key; `not_after` is absent while the key is current.
    pub fn add(
        &mut self,
        issuer: &str,
        issuer_name: &str,
        key: &str,
        not_before: f64,
        not_after: Option<f64>,
    ) -> Result<(), JsValue> {
        let entry = to_js(api::trust_entry(
            issuer,
            issuer_name,
            key,
            not_before as i64,
            not_after.map(|t| t as i64),
        ))?;
        self.0.entries.push(entry);
        Ok(())
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.0.entries.len()
    }
}

/// A certificate whose seal the page verified itself.
#[wasm_bindgen]
#[derive(Debug)]
pub struct CertificateView(api::VerifiedCertificate);

#[wasm_bindgen]
impl CertificateView {
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.0.certificate.id.to_string()
    }
    #[wasm_bindgen(getter, js_name = typeName)]
    pub fn type_name(&self) -> String {
        self.0.certificate.type_name.clone()
    }
    #[wasm_bindgen(getter, js_name = holderKind)]
    pub fn holder_kind(&self) -> String {
        match self.0.certificate.holder {
            Holder::Person(_) => "person".into(),
            Holder::Enterprise(_) => "enterprise".into(),
        }
    }
    #[wasm_bindgen(getter, js_name = holderId)]
    pub fn holder_id(&self) -> String {
        self.0.certificate.holder.id().to_owned()
    }
    #[wasm_bindgen(getter, js_name = holderIdMasked)]
    pub fn holder_id_masked(&self) -> String {
        self.0.certificate.holder.masked()
    }
    #[wasm_bindgen(getter, js_name = holderName)]
    pub fn holder_name(&self) -> String {
        self.0.certificate.holder_name.clone()
    }
    #[wasm_bindgen(getter, js_name = issuerName)]
    pub fn issuer_name(&self) -> String {
        self.0.certificate.issuer_name.clone()
    }
    #[wasm_bindgen(getter, js_name = issuerCode)]
    pub fn issuer_code(&self) -> String {
        self.0.certificate.id.issuer().to_string()
    }
    #[wasm_bindgen(getter, js_name = validFrom)]
    pub fn valid_from(&self) -> f64 {
        self.0.certificate.valid_from as f64
    }
    /// Absent for 长期有效.
    #[wasm_bindgen(getter, js_name = validUntil)]
    pub fn valid_until(&self) -> Option<f64> {
        self.0.certificate.valid_until.map(|t| t as f64)
    }
    #[wasm_bindgen(getter, js_name = fieldNames)]
    pub fn field_names(&self) -> Vec<String> {
        self.0
            .certificate
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect()
    }
    #[wasm_bindgen(getter, js_name = fieldValues)]
    pub fn field_values(&self) -> Vec<String> {
        self.0
            .certificate
            .fields
            .iter()
            .map(|f| f.value.clone())
            .collect()
    }
    /// Fields the issuing node did not disclose for this matter.
    #[wasm_bindgen(getter, js_name = withheldFields)]
    pub fn withheld_fields(&self) -> usize {
        self.0.withheld_fields
    }
    #[wasm_bindgen(getter, js_name = sealKey)]
    pub fn seal_key(&self) -> String {
        self.0.seal_key.to_string()
    }
    #[wasm_bindgen(getter, js_name = sealedAt)]
    pub fn sealed_at(&self) -> f64 {
        self.0.sealed_at as f64
    }
    #[wasm_bindgen(getter, js_name = sealedBy)]
    pub fn sealed_by(&self) -> String {
        self.0.sealed_by.clone()
    }
    #[wasm_bindgen(getter, js_name = inForce)]
    pub fn in_force(&self) -> bool {
        self.0.in_force
    }
}

/// Verifies a sealed certificate (base64url) against the trust list at `now`.
#[wasm_bindgen(js_name = verifySealedCertificate)]
pub fn verify_sealed_certificate(
    sealed_b64: &str,
    trust: &JsTrustList,
    now: f64,
) -> Result<CertificateView, JsValue> {
    to_js(api::verify_sealed_certificate(
        sealed_b64, &trust.0, now as i64,
    ))
    .map(CertificateView)
}

/// The QR code of any text, as SVG `px` wide.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str, px: u32) -> Result<String, JsValue> {
    to_js(wallet_core::qr::svg(text, px))
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
