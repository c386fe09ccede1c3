//! The page's operations as plain Rust over JSON strings, so they are testable natively;
//! `lib.rs` only exposes them to JavaScript.

use serde::Serialize;
use wallet_core::error::Coded;
use wallet_core::grant::GrantTerms;
use wallet_core::{
    qr, CertId, CreditCode, DeviceKey, Grant, GrantId, KeyId, Presentation, PublicKey, RegionCode,
    ResidentId, SealedCertificate, Subject, TrustList, UnixTime,
};

/// An error as the page shows it: stable code, Chinese message, English detail for logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebError {
    pub code: &'static str,
    pub message: &'static str,
    pub detail: String,
}

impl<E: Coded> From<E> for WebError {
    fn from(e: E) -> Self {
        WebError {
            code: e.code(),
            message: e.message_zh(),
            detail: e.to_string(),
        }
    }
}

fn bad_input(detail: impl ToString) -> WebError {
    WebError {
        code: "bad_input",
        message: "输入格式错误",
        detail: detail.to_string(),
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, WebError> {
    serde_json::to_string(value).map_err(bad_input)
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, WebError> {
    serde_json::from_str(text).map_err(bad_input)
}

/// The public half of a key as the page registers it with the node.
#[derive(Debug, Serialize)]
pub struct KeyInfo {
    pub public_key: String,
    pub key_id: String,
}

pub fn key_info(key: &DeviceKey) -> KeyInfo {
    KeyInfo {
        public_key: key.public_key().to_string(),
        key_id: key.key_id().to_string(),
    }
}

/// Signs grant terms given as JSON; a missing `id` gets a fresh random one.
/// Returns the grant as base64url, ready to send to the node.
pub fn sign_grant(key: &DeviceKey, terms_json: &str) -> Result<String, WebError> {
    let mut value: serde_json::Value = parse(terms_json)?;
    if let Some(obj) = value.as_object_mut() {
        if !obj.contains_key("id") {
            obj.insert(
                "id".into(),
                serde_json::Value::String(GrantId::generate()?.to_string()),
            );
        }
    }
    let terms: GrantTerms = serde_json::from_value(value).map_err(bad_input)?;
    Ok(terms.sign(key)?.into())
}

/// Decodes a base64url grant into its terms (JSON), for showing before and after signing.
pub fn describe_grant(grant_b64: &str) -> Result<String, WebError> {
    let grant = Grant::try_from(grant_b64.to_owned())?;
    json(&grant.terms)
}

#[derive(Debug, Serialize)]
pub struct Shown {
    pub text: String,
    pub svg: String,
    pub qr_version: u8,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Signs a presentation and renders its QR code. `subject_json` is
/// `{"kind":"certificate","id":"1.2.156…"}` or `{"kind":"grant","id":"<32 hex>"}`.
pub fn make_presentation(
    key: &DeviceKey,
    resolve_at: &str,
    subject_json: &str,
    now: UnixTime,
    lifetime: i64,
) -> Result<Shown, WebError> {
    let region: RegionCode = resolve_at.parse()?;
    let subject: Subject = parse(subject_json)?;
    let p = Presentation::sign(key, region, subject, now, lifetime)?;
    let text = p.encode_text();
    Ok(Shown {
        svg: qr::svg(&text, 256)?,
        qr_version: qr::version(&text)?,
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        text,
    })
}

#[derive(Debug, Serialize)]
pub struct PresentationView {
    pub resolve_at: RegionCode,
    pub subject: Subject,
    pub presenter: KeyId,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub nonce: String,
}

fn view(p: &Presentation) -> PresentationView {
    PresentationView {
        resolve_at: p.resolve_at,
        subject: p.subject.clone(),
        presenter: p.presenter,
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        nonce: p.nonce.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Decodes scanned text (structure only): what the counter sends on to its node.
pub fn decode_presentation(text: &str) -> Result<String, WebError> {
    json(&view(&Presentation::decode_text(text)?))
}

/// Decodes and verifies scanned text against the presenter's public key at `now`.
pub fn verify_presentation(
    text: &str,
    public_key: &str,
    now: UnixTime,
) -> Result<String, WebError> {
    let p = Presentation::decode_text(text)?;
    let key: PublicKey = public_key.parse()?;
    p.verify(&key, now)?;
    json(&view(&p))
}

#[derive(Debug, Serialize)]
pub struct VerifiedCertificate<'a> {
    pub certificate: &'a wallet_core::Certificate,
    pub withheld_fields: usize,
    pub seal_key: KeyId,
    pub sealed_at: UnixTime,
    pub sealed_by: &'a str,
    pub in_force: bool,
}

/// Verifies a sealed certificate (base64url) against a trust list (JSON) — the counter's own
/// check of the seal, independent of the node that delivered it.
pub fn verify_sealed_certificate(
    sealed_b64: &str,
    trust_json: &str,
    now: UnixTime,
) -> Result<String, WebError> {
    let sealed = SealedCertificate::try_from(sealed_b64.to_owned())?;
    let trust: TrustList = parse(trust_json)?;
    sealed.verify(&trust)?;
    let entry = trust
        .by_key_id(sealed.seal.key_id)
        .find(|e| &e.issuer == sealed.certificate.id.issuer())
        .map(|e| e.issuer_name.as_str())
        .unwrap_or_default();
    json(&VerifiedCertificate {
        certificate: &sealed.certificate,
        withheld_fields: sealed.withheld.len(),
        seal_key: sealed.seal.key_id,
        sealed_at: sealed.seal.sealed_at,
        sealed_by: entry,
        in_force: sealed.certificate.check_validity(now).is_ok(),
    })
}

/// Checks a resident ID as typed into a form; returns the normalised number.
pub fn check_resident_id(text: &str) -> Result<String, WebError> {
    Ok(text.trim().parse::<ResidentId>()?.to_string())
}

/// Checks a credit code as typed into a form; returns it with its region.
pub fn check_credit_code(text: &str) -> Result<String, WebError> {
    Ok(text.trim().parse::<CreditCode>()?.to_string())
}

/// Checks a certificate identifier; returns the issuing region that routing will use.
pub fn cert_id_region(text: &str) -> Result<String, WebError> {
    Ok(text.trim().parse::<CertId>()?.issuing_region().to_string())
}
