//! The page's operations as plain Rust, so they are testable natively; `lib.rs` only exposes
//! them to JavaScript. Arguments are plain strings and numbers rather than JSON: without a
//! JSON codec in the module, the whole WebAssembly build stays a third of the size.

use wallet_core::error::Coded;
use wallet_core::grant::GrantTerms;
use wallet_core::trust_list::TrustEntry;
use wallet_core::{
    qr, CertId, Certificate, CreditCode, DeviceKey, Grant, GrantId, Grantee, Holder, KeyId,
    MatterScope, Presentation, PublicKey, RegionCode, ResidentId, SealedCertificate, Subject,
    TrustList, UnixTime,
};

/// An error as the page shows it: stable code, Chinese message, English detail for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
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

fn bad_input(detail: &str) -> WebError {
    WebError {
        code: "bad_input",
        message: "输入格式错误",
        detail: detail.to_owned(),
    }
}

/// What the holder fills in on the 授权他人使用 form.
#[derive(Debug, Clone, Default)]
pub struct GrantForm {
    pub cert_id: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    pub holder_id: String,
    pub grantee_id: String,
    pub grantee_name: String,
    /// The enterprise the grantee acts for; empty for none.
    pub grantee_enterprise: String,
    /// Matter codes; empty means all matters.
    pub matters: Vec<String>,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
    /// 0 for no limit.
    pub use_limit: u32,
}

impl GrantForm {
    /// Checks every field and gives the grant a fresh random id.
    pub fn into_terms(self) -> Result<GrantTerms, WebError> {
        let holder = match self.holder_kind.as_str() {
            "person" => Holder::Person(self.holder_id.trim().parse()?),
            "enterprise" => Holder::Enterprise(self.holder_id.trim().parse()?),
            _ => return Err(bad_input("holder kind must be person or enterprise")),
        };
        let enterprise = match self.grantee_enterprise.trim() {
            "" => None,
            code => Some(code.parse::<CreditCode>()?),
        };
        Ok(GrantTerms {
            id: GrantId::generate()?,
            cert_id: self.cert_id.trim().parse()?,
            holder,
            grantee: Grantee {
                resident_id: self.grantee_id.trim().parse()?,
                name: self.grantee_name.trim().to_owned(),
                enterprise,
            },
            matters: if self.matters.is_empty() {
                MatterScope::All
            } else {
                MatterScope::Named(self.matters)
            },
            not_before: self.not_before,
            not_after: self.not_after,
            use_limit: (self.use_limit > 0).then_some(self.use_limit),
        })
    }
}

/// Signs the form's grant; returns it as base64url, ready to send to the node.
pub fn sign_grant(key: &DeviceKey, form: GrantForm) -> Result<String, WebError> {
    Ok(form.into_terms()?.sign(key)?.into())
}

pub fn decode_grant(grant_b64: &str) -> Result<Grant, WebError> {
    Ok(Grant::try_from(grant_b64.trim().to_owned())?)
}

/// A signed presentation with its QR code, as the 亮证 view shows it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub text: String,
    pub svg: String,
    pub qr_version: u8,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// `subject_kind` is `certificate` (id: a certificate identifier) or `grant` (id: 32 hex).
pub fn subject(kind: &str, id: &str) -> Result<Subject, WebError> {
    match kind {
        "certificate" => Ok(Subject::Certificate(id.trim().parse()?)),
        "grant" => Ok(Subject::Grant(id.trim().parse()?)),
        _ => Err(bad_input("subject kind must be certificate or grant")),
    }
}

pub fn make_presentation(
    key: &DeviceKey,
    resolve_at: &str,
    subject: Subject,
    now: UnixTime,
    lifetime: i64,
) -> Result<Shown, WebError> {
    let region: RegionCode = resolve_at.parse()?;
    let p = Presentation::sign(key, region, subject, now, lifetime)?;
    let text = p.encode_text();
    let symbol = qr::encode(&text)?;
    Ok(Shown {
        svg: qr::render_svg(&symbol, 256),
        qr_version: symbol.version,
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        text,
    })
}

/// Decodes and, given the presenter's key, verifies scanned text at `now`.
pub fn read_presentation(
    text: &str,
    public_key: Option<&str>,
    now: UnixTime,
) -> Result<Presentation, WebError> {
    let p = Presentation::decode_text(text)?;
    if let Some(key) = public_key {
        let key: PublicKey = key.parse()?;
        p.verify(&key, now)?;
    }
    Ok(p)
}

/// One trust-list entry as the node publishes it.
pub fn trust_entry(
    issuer: &str,
    issuer_name: &str,
    key: &str,
    not_before: UnixTime,
    not_after: Option<UnixTime>,
) -> Result<TrustEntry, WebError> {
    Ok(TrustEntry {
        issuer: issuer.parse()?,
        issuer_name: issuer_name.to_owned(),
        key: key.parse()?,
        not_before,
        not_after,
    })
}

/// A certificate whose seal the page checked itself.
#[derive(Debug, Clone)]
pub struct VerifiedCertificate {
    pub certificate: Certificate,
    pub withheld_fields: usize,
    pub seal_key: KeyId,
    pub sealed_at: UnixTime,
    pub sealed_by: String,
    pub in_force: bool,
}

/// Verifies a sealed certificate (base64url) against the trust list — the counter's own check
/// of the seal, independent of the node that delivered it.
pub fn verify_sealed_certificate(
    sealed_b64: &str,
    trust: &TrustList,
    now: UnixTime,
) -> Result<VerifiedCertificate, WebError> {
    let sealed = SealedCertificate::try_from(sealed_b64.trim().to_owned())?;
    sealed.verify(trust)?;
    let sealed_by = trust
        .by_key_id(sealed.seal.key_id)
        .find(|e| &e.issuer == sealed.certificate.id.issuer())
        .map(|e| e.issuer_name.clone())
        .unwrap_or_default();
    let in_force = sealed.certificate.check_validity(now).is_ok();
    Ok(VerifiedCertificate {
        withheld_fields: sealed.withheld.len(),
        seal_key: sealed.seal.key_id,
        sealed_at: sealed.seal.sealed_at,
        sealed_by,
        in_force,
        certificate: sealed.certificate,
    })
}

/// Checks a resident ID as typed into a form; returns the normalised number.
pub fn check_resident_id(text: &str) -> Result<String, WebError> {
    Ok(text.trim().parse::<ResidentId>()?.to_string())
}

pub fn check_credit_code(text: &str) -> Result<String, WebError> {
    Ok(text.trim().parse::<CreditCode>()?.to_string())
}

/// The issuing region of a certificate identifier: where routing will look for it.
pub fn cert_id_region(text: &str) -> Result<String, WebError> {
    Ok(text.trim().parse::<CertId>()?.issuing_region().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> GrantForm {
        GrantForm {
            cert_id: "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
                .into(),
            holder_kind: "person".into(),
            holder_id: "11010519491231002X".into(),
            grantee_id: "11010519491231002X".into(),
            grantee_name: " 李四 ".into(),
            matters: vec![],
            not_before: 1_790_000_000,
            not_after: 1_790_086_400,
            ..GrantForm::default()
        }
    }

    #[test]
    fn a_filled_form_signs_and_reads_back() {
        let key = DeviceKey::generate().unwrap();
        let grant = decode_grant(&sign_grant(&key, form()).unwrap()).unwrap();
        grant.verify_signature(&key.public_key()).unwrap();
        assert_eq!(grant.terms.grantee.name, "李四");
        assert_eq!(grant.terms.matters, MatterScope::All);
    }

    #[test]
    fn a_bad_form_field_names_its_rule() {
        let key = DeviceKey::generate().unwrap();
        let mut f = form();
        f.grantee_id = "110105194912310021".into();
        assert_eq!(
            sign_grant(&key, f).unwrap_err().code,
            "resident_id_check_digit"
        );
        let mut f = form();
        f.holder_kind = "robot".into();
        assert_eq!(sign_grant(&key, f).unwrap_err().code, "bad_input");
    }

    #[test]
    fn a_shown_code_is_read_back_and_verified() {
        let key = DeviceKey::generate().unwrap();
        let s = subject("grant", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a").unwrap();
        let shown = make_presentation(&key, "410000", s, 1_790_000_000, 60).unwrap();
        assert!(shown.qr_version <= 7);
        let public = key.public_key().to_string();
        assert!(read_presentation(&shown.text, Some(&public), 1_790_000_010).is_ok());
        let late = read_presentation(&shown.text, Some(&public), 1_790_000_060).unwrap_err();
        assert_eq!(late.code, "presentation_expired");
        assert_eq!(subject("thing", "x").unwrap_err().code, "bad_input");
    }
}
