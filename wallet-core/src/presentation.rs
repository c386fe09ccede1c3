//! 亮证码: the short-lived, single-use QR code a presenter's phone signs.
//!
//! A presentation is only a reference — which certificate (or which grant), where to resolve
//! it, who presents it — plus a 128-bit nonce that the first retrieval consumes and an expiry
//! about a minute away, so a screenshot is worthless a minute later and a scanned code cannot
//! be scanned twice.
//!
//! # Binary form (version 1)
//!
//! ```text
//! u8 1 | u24 resolve_at (region code) | u8 subject kind
//!      | kind 1: u8 n + n bytes compact certificate id   kind 2: grant id[16]
//!      | presenter key id[8] | u32 issued_at | u16 lifetime seconds | nonce[16]
//!      | signature[64] over everything before it, in the presentation context
//! ```
//!
//! A grant's presentation is 115 bytes. The text form is `EC1:` followed by the Base45 of
//! those bytes: only characters of the QR alphanumeric mode.

use serde::{Deserialize, Serialize};

use crate::base45::{self, Base45Error};
use crate::codec::{CodecError, Reader, Writer};
use crate::context::SigningContext;
use crate::error::Coded;
use crate::grant::GrantId;
use crate::id::CertId;
use crate::keys::{DeviceKey, KeyId, PublicKey, SignatureBytes};
use crate::region::RegionCode;
use crate::UnixTime;

pub const VERSION: u8 = 1;
/// The text form's prefix: `EC` (e-certificate) and the version.
pub const TEXT_PREFIX: &str = "EC1:";
/// The page shows a fresh code every 60 s, and each expires when the next one appears.
pub const DEFAULT_LIFETIME: i64 = 60;
/// No presentation lives longer than five minutes, whoever signed it.
pub const MAX_LIFETIME: i64 = 300;
/// How far a phone's clock may run ahead of the node's.
pub const CLOCK_SKEW: i64 = 30;
/// Longer text is refused before any decoding work.
pub const MAX_TEXT_LEN: usize = 400;
const MAX_COMPACT_ID: usize = 96;

/// What a presentation points at.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// The presenter's own certificate.
    Certificate(CertId),
    /// A certificate lent to the presenter by a grant.
    Grant(GrantId),
}

/// A signed presentation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Presentation {
    /// The node the counter's system should ask (the wallet's province for a grant).
    pub resolve_at: RegionCode,
    pub subject: Subject,
    pub presenter: KeyId,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub nonce: [u8; 16],
    pub signature: SignatureBytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresentationError {
    #[error("the text is not a presentation (it should start with EC1:)")]
    Prefix,
    #[error("presentation version {0} is not supported")]
    Version(String),
    #[error("the text is longer than {MAX_TEXT_LEN} characters")]
    TextTooLong,
    #[error(transparent)]
    Base45(#[from] Base45Error),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("lifetime must be between 1 and {MAX_LIFETIME} seconds")]
    Lifetime,
    #[error("the presentation is not valid before {0}")]
    NotYetValid(UnixTime),
    #[error("the presentation expired at {0}")]
    Expired(UnixTime),
    #[error("the presentation was signed by key {found}, not {expected}")]
    PresenterMismatch { expected: KeyId, found: KeyId },
    #[error("the presentation's signature does not verify")]
    BadSignature,
    #[error("issued_at must fit the 32-bit field (1970–2106)")]
    Time,
    #[error("the operating system's random generator failed")]
    Randomness,
}

impl Coded for PresentationError {
    fn code(&self) -> &'static str {
        match self {
            PresentationError::Prefix => "presentation_text_prefix",
            PresentationError::Version(_) => "presentation_version",
            PresentationError::TextTooLong => "presentation_text_too_long",
            PresentationError::Base45(e) => e.code(),
            PresentationError::Codec(e) => e.code(),
            PresentationError::Lifetime => "presentation_lifetime_invalid",
            PresentationError::NotYetValid(_) => "presentation_not_yet_valid",
            PresentationError::Expired(_) => "presentation_expired",
            PresentationError::PresenterMismatch { .. } => "presentation_presenter_mismatch",
            PresentationError::BadSignature => "presentation_signature_invalid",
            PresentationError::Time => "presentation_time_invalid",
            PresentationError::Randomness => "randomness_unavailable",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            PresentationError::Prefix
            | PresentationError::TextTooLong
            | PresentationError::Base45(_) => "无法识别的亮证码，请重新扫描",
            PresentationError::Version(_) => "亮证码版本过新，请升级受理系统",
            PresentationError::Codec(_) => "亮证码内容不完整，请让申请人刷新后重新扫描",
            PresentationError::Expired(_) => "亮证码已过期，请让申请人刷新",
            PresentationError::NotYetValid(_) => "亮证码时间异常，请申请人校准手机时间后刷新",
            PresentationError::PresenterMismatch { .. } | PresentationError::BadSignature => {
                "亮证码签名验证失败，请让申请人刷新后重新扫描"
            }
            PresentationError::Lifetime | PresentationError::Time => "亮证码参数无效",
            PresentationError::Randomness => "无法生成随机数，请稍后重试",
        }
    }
}

impl Presentation {
    /// Signs a presentation with a fresh random nonce.
    pub fn sign(
        key: &DeviceKey,
        resolve_at: RegionCode,
        subject: Subject,
        now: UnixTime,
        lifetime: i64,
    ) -> Result<Self, PresentationError> {
        let mut nonce = [0u8; 16];
        getrandom::getrandom(&mut nonce).map_err(|_| PresentationError::Randomness)?;
        Self::sign_with_nonce(key, resolve_at, subject, now, lifetime, nonce)
    }

    /// Signs with a given nonce; for test vectors, which need fixed bytes.
    pub fn sign_with_nonce(
        key: &DeviceKey,
        resolve_at: RegionCode,
        subject: Subject,
        now: UnixTime,
        lifetime: i64,
        nonce: [u8; 16],
    ) -> Result<Self, PresentationError> {
        if !(1..=MAX_LIFETIME).contains(&lifetime) {
            return Err(PresentationError::Lifetime);
        }
        if u32::try_from(now).is_err() {
            return Err(PresentationError::Time);
        }
        let mut p = Presentation {
            resolve_at,
            subject,
            presenter: key.key_id(),
            issued_at: now,
            expires_at: now + lifetime,
            nonce,
            signature: [0; 64],
        };
        p.signature = key.sign(SigningContext::Presentation, &p.signed_bytes());
        Ok(p)
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        let region = self.resolve_at.as_u32().to_be_bytes();
        w.u8(VERSION).raw(&region[1..]);
        match &self.subject {
            Subject::Certificate(id) => {
                let compact = id.compact().as_bytes();
                w.u8(1).u8(compact.len() as u8).raw(compact);
            }
            Subject::Grant(id) => {
                w.u8(2).raw(&id.0);
            }
        }
        let issued = u32::try_from(self.issued_at).unwrap_or(0);
        let lifetime = u16::try_from(self.expires_at - self.issued_at).unwrap_or(0);
        w.raw(&self.presenter.0)
            .u32(issued)
            .u16(lifetime)
            .raw(&self.nonce);
        w.finish()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.signed_bytes();
        bytes.extend_from_slice(&self.signature);
        bytes
    }

    /// Decodes the binary form. Checks structure only; [`Presentation::verify`] checks trust.
    pub fn decode(bytes: &[u8]) -> Result<Self, PresentationError> {
        let mut r = Reader::new(bytes);
        match r.u8("presentation version")? {
            VERSION => {}
            // The text prefix names the version; a different byte inside is corruption.
            v => return Err(CodecError::Version(v).into()),
        }
        let [a, b, c] = r.array::<3>("region")?;
        let resolve_at = RegionCode::new(u32::from_be_bytes([0, a, b, c]))
            .map_err(|_| CodecError::Invalid("region"))?;
        let subject = match r.u8("subject kind")? {
            1 => {
                let n = usize::from(r.u8("certificate id length")?);
                if n > MAX_COMPACT_ID {
                    return Err(CodecError::TooLong {
                        what: "certificate id",
                        max: MAX_COMPACT_ID,
                    }
                    .into());
                }
                let text = std::str::from_utf8(r.take(n, "certificate id")?)
                    .map_err(|_| CodecError::Utf8("certificate id"))?;
                Subject::Certificate(
                    CertId::from_compact(text)
                        .map_err(|_| CodecError::Invalid("certificate id"))?,
                )
            }
            2 => Subject::Grant(GrantId(r.array("grant id")?)),
            tag => {
                return Err(CodecError::Tag {
                    what: "subject kind",
                    tag,
                }
                .into())
            }
        };
        let presenter = KeyId(r.array("presenter")?);
        let issued_at = i64::from(r.u32("issued at")?);
        let lifetime = i64::from(r.u16("lifetime")?);
        let nonce = r.array("nonce")?;
        let signature = r.array("signature")?;
        r.finish()?;
        if !(1..=MAX_LIFETIME).contains(&lifetime) {
            return Err(PresentationError::Lifetime);
        }
        Ok(Presentation {
            resolve_at,
            subject,
            presenter,
            issued_at,
            expires_at: issued_at + lifetime,
            nonce,
            signature,
        })
    }

    /// The text a QR code carries: `EC1:` + Base45.
    pub fn encode_text(&self) -> String {
        format!("{TEXT_PREFIX}{}", base45::encode(&self.encode()))
    }

    /// Decodes what a scanner typed. Surrounding whitespace (a keyboard-wedge scanner's Enter)
    /// is ignored; everything else must be exact.
    pub fn decode_text(text: &str) -> Result<Self, PresentationError> {
        let text = text.trim();
        if text.len() > MAX_TEXT_LEN {
            return Err(PresentationError::TextTooLong);
        }
        let Some(rest) = text.strip_prefix("EC") else {
            return Err(PresentationError::Prefix);
        };
        let Some((version, body)) = rest.split_once(':') else {
            return Err(PresentationError::Prefix);
        };
        if version != "1" {
            if !version.is_empty()
                && version.len() <= 3
                && version.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(PresentationError::Version(version.to_owned()));
            }
            return Err(PresentationError::Prefix);
        }
        Self::decode(&base45::decode(body)?)
    }

    /// Verifies the signature with the presenter's registered key and the time window at `now`.
    /// Consuming the nonce, and checking that the key belongs to who it should, is the node's.
    pub fn verify(&self, key: &PublicKey, now: UnixTime) -> Result<(), PresentationError> {
        if key.key_id() != self.presenter {
            return Err(PresentationError::PresenterMismatch {
                expected: key.key_id(),
                found: self.presenter,
            });
        }
        key.verify(
            SigningContext::Presentation,
            &self.signed_bytes(),
            &self.signature,
        )
        .map_err(|_| PresentationError::BadSignature)?;
        if self.issued_at > now + CLOCK_SKEW {
            return Err(PresentationError::NotYetValid(self.issued_at));
        }
        if now >= self.expires_at {
            return Err(PresentationError::Expired(self.expires_at));
        }
        Ok(())
    }
}
