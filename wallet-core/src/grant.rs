//! 授权他人使用: a holder's signed, time-limited permission for a named grantee to use one
//! certificate for named matters (or all of them).
//!
//! Unlike a paper power of attorney, a grant is a token anyone can verify against the holder's
//! registered device key, and the holder can revoke it at the node before the next scan.
//! Revocation and the use count are node state; everything else is here and signed.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::codec::{CodecError, Reader, Writer};
use crate::context::SigningContext;
use crate::error::Coded;
use crate::holder::Holder;
use crate::id::{CertId, CreditCode, ResidentId};
use crate::keys::{DeviceKey, KeyId, PublicKey, SignatureBytes};
use crate::UnixTime;

/// The longest window a grant may cover: 30 days.
pub const MAX_GRANT_SECONDS: i64 = 30 * 24 * 3600;
pub const MAX_MATTERS: usize = 16;
pub const MAX_MATTER_CODE: usize = 64;
pub const MAX_NAME: usize = 64;
const FORMAT: u8 = 1;

/// A random 128-bit grant identifier, shown as 32 hexadecimal characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GrantId(pub [u8; 16]);

impl GrantId {
    pub fn generate() -> Result<Self, GrantError> {
        let mut id = [0u8; 16];
        getrandom::getrandom(&mut id).map_err(|_| GrantError::Randomness)?;
        Ok(GrantId(id))
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}

impl std::str::FromStr for GrantId {
    type Err = GrantError;
    fn from_str(s: &str) -> Result<Self, GrantError> {
        let mut out = [0u8; 16];
        if s.len() != 32 {
            return Err(GrantError::MalformedId);
        }
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = s
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(GrantError::MalformedId)?;
        }
        Ok(GrantId(out))
    }
}

impl TryFrom<String> for GrantId {
    type Error = GrantError;
    fn try_from(s: String) -> Result<Self, GrantError> {
        s.parse()
    }
}

impl From<GrantId> for String {
    fn from(g: GrantId) -> String {
        g.to_string()
    }
}

/// The person allowed to use the certificate, and the enterprise they act for, if any.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Grantee {
    pub resident_id: ResidentId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<CreditCode>,
}

/// Which matters (政务服务事项, by code) a grant covers.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "scope", content = "codes", rename_all = "snake_case")]
pub enum MatterScope {
    All,
    Named(Vec<String>),
}

impl MatterScope {
    pub fn covers(&self, matter: &str) -> bool {
        match self {
            MatterScope::All => true,
            MatterScope::Named(codes) => codes.iter().any(|c| c == matter),
        }
    }
}

/// What the holder agrees to, before signing.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GrantTerms {
    pub id: GrantId,
    pub cert_id: CertId,
    pub holder: Holder,
    pub grantee: Grantee,
    pub matters: MatterScope,
    pub not_before: UnixTime,
    pub not_after: UnixTime,
    /// How many retrievals the grant allows; `None` for no limit within the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_limit: Option<u32>,
}

/// Signed terms. Serialized as unpadded base64url of [`Grant::encode`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Grant {
    pub terms: GrantTerms,
    /// The device key that signed: the holder's (or, for an enterprise, its representative's).
    pub signer: KeyId,
    pub signature: SignatureBytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("the grant's window is empty")]
    EmptyWindow,
    #[error("a grant may cover at most 30 days")]
    WindowTooLong,
    #[error("the grant is not valid before {0}")]
    NotYetValid(UnixTime),
    #[error("the grant expired at {0}")]
    Expired(UnixTime),
    #[error("the grant does not cover matter {0:?}")]
    MatterNotCovered(String),
    #[error("the grant names another grantee")]
    GranteeMismatch,
    #[error("matters: {0}")]
    Matters(&'static str),
    #[error("a use limit must be at least 1")]
    UseLimit,
    #[error("grantee name must be 1 to {MAX_NAME} bytes")]
    GranteeName,
    #[error("the grant was signed by key {found}, not {expected}")]
    SignerMismatch { expected: KeyId, found: KeyId },
    #[error("the grant's signature does not verify")]
    BadSignature,
    #[error("a grant id is 32 hexadecimal characters")]
    MalformedId,
    #[error("the operating system's random generator failed")]
    Randomness,
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl Coded for GrantError {
    fn code(&self) -> &'static str {
        match self {
            GrantError::EmptyWindow => "grant_window_empty",
            GrantError::WindowTooLong => "grant_window_too_long",
            GrantError::NotYetValid(_) => "grant_not_yet_valid",
            GrantError::Expired(_) => "grant_expired",
            GrantError::MatterNotCovered(_) => "grant_matter_not_covered",
            GrantError::GranteeMismatch => "grant_grantee_mismatch",
            GrantError::Matters(_) => "grant_matters_invalid",
            GrantError::UseLimit => "grant_use_limit_invalid",
            GrantError::GranteeName => "grant_grantee_name_invalid",
            GrantError::SignerMismatch { .. } => "grant_signer_mismatch",
            GrantError::BadSignature => "grant_signature_invalid",
            GrantError::MalformedId => "grant_id_malformed",
            GrantError::Randomness => "randomness_unavailable",
            GrantError::Codec(e) => e.code(),
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            GrantError::EmptyWindow => "授权结束时间须晚于开始时间",
            GrantError::WindowTooLong => "授权期限最长30天",
            GrantError::NotYetValid(_) => "授权尚未生效",
            GrantError::Expired(_) => "授权已过期，请联系持证人重新授权",
            GrantError::MatterNotCovered(_) => "该授权不包含本事项",
            GrantError::GranteeMismatch => "出示人不是被授权人",
            GrantError::Matters(_) => "授权事项填写有误",
            GrantError::UseLimit => "使用次数至少为1次",
            GrantError::GranteeName => "请填写被授权人姓名",
            GrantError::SignerMismatch { .. } | GrantError::BadSignature => "授权签名验证失败",
            GrantError::MalformedId => "授权编号格式错误",
            GrantError::Randomness => "无法生成随机数，请稍后重试",
            GrantError::Codec(e) => e.message_zh(),
        }
    }
}

fn valid_matter_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_MATTER_CODE
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl GrantTerms {
    /// The rules every grant keeps, whoever made it.
    pub fn validate(&self) -> Result<(), GrantError> {
        if self.not_after <= self.not_before {
            return Err(GrantError::EmptyWindow);
        }
        // Saturating: a decoded window can span more than an i64 holds (not_before near
        // i64::MIN), and a wrapped difference would pass as short.
        if self.not_after.saturating_sub(self.not_before) > MAX_GRANT_SECONDS {
            return Err(GrantError::WindowTooLong);
        }
        if let MatterScope::Named(codes) = &self.matters {
            if codes.is_empty() {
                return Err(GrantError::Matters("name at least one matter, or all"));
            }
            if codes.len() > MAX_MATTERS {
                return Err(GrantError::Matters("at most 16 matters"));
            }
            if !codes.iter().all(|c| valid_matter_code(c)) {
                return Err(GrantError::Matters(
                    "a matter code is 1 to 64 letters, digits, '-', '_' or '.'",
                ));
            }
        }
        if self.use_limit == Some(0) {
            return Err(GrantError::UseLimit);
        }
        let name = self.grantee.name.trim();
        if name.is_empty() || self.grantee.name.len() > MAX_NAME {
            return Err(GrantError::GranteeName);
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT).raw(&self.id.0).str(self.cert_id.compact());
        self.holder.encode(w);
        w.str(self.grantee.resident_id.as_str())
            .str(&self.grantee.name);
        match &self.grantee.enterprise {
            Some(e) => w.u8(1).str(e.as_str()),
            None => w.u8(0),
        };
        match &self.matters {
            MatterScope::All => {
                w.u8(0);
            }
            MatterScope::Named(codes) => {
                w.u8(1).u8(codes.len() as u8);
                for c in codes {
                    w.str(c);
                }
            }
        }
        w.i64(self.not_before).i64(self.not_after);
        match self.use_limit {
            Some(n) => w.u8(1).u32(n),
            None => w.u8(0),
        };
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        match r.u8("grant format")? {
            FORMAT => {}
            v => return Err(CodecError::Version(v)),
        }
        let id = GrantId(r.array("grant id")?);
        let cert_id = CertId::from_compact(r.str(128, "certificate id")?)
            .map_err(|_| CodecError::Invalid("certificate id"))?;
        let holder = Holder::decode(r)?;
        let grantee = Grantee {
            resident_id: r.parsed(18, "grantee resident ID")?,
            name: r.str(MAX_NAME, "grantee name")?.to_owned(),
            enterprise: match r.u8("grantee enterprise")? {
                0 => None,
                1 => Some(r.parsed(18, "grantee enterprise")?),
                tag => {
                    return Err(CodecError::Tag {
                        what: "grantee enterprise",
                        tag,
                    })
                }
            },
        };
        let matters = match r.u8("matter scope")? {
            0 => MatterScope::All,
            1 => {
                let n = usize::from(r.u8("matter count")?);
                if n > MAX_MATTERS {
                    return Err(CodecError::TooLong {
                        what: "matter list",
                        max: MAX_MATTERS,
                    });
                }
                MatterScope::Named(
                    (0..n)
                        .map(|_| r.str(MAX_MATTER_CODE, "matter code").map(str::to_owned))
                        .collect::<Result<_, _>>()?,
                )
            }
            tag => {
                return Err(CodecError::Tag {
                    what: "matter scope",
                    tag,
                })
            }
        };
        let not_before = r.i64("not before")?;
        let not_after = r.i64("not after")?;
        let use_limit = match r.u8("use limit")? {
            0 => None,
            1 => Some(r.u32("use limit")?),
            tag => {
                return Err(CodecError::Tag {
                    what: "use limit",
                    tag,
                })
            }
        };
        Ok(GrantTerms {
            id,
            cert_id,
            holder,
            grantee,
            matters,
            not_before,
            not_after,
            use_limit,
        })
    }

    /// Signs the terms with the holder's device key.
    pub fn sign(self, key: &DeviceKey) -> Result<Grant, GrantError> {
        self.validate()?;
        let signer = key.key_id();
        let mut w = Writer::new();
        self.encode(&mut w);
        w.raw(&signer.0);
        let signature = key.sign(SigningContext::Grant, w.as_slice());
        Ok(Grant {
            terms: self,
            signer,
            signature,
        })
    }
}

impl Grant {
    pub fn id(&self) -> GrantId {
        self.terms.id
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.terms.encode(&mut w);
        w.raw(&self.signer.0).raw(&self.signature);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, GrantError> {
        let mut r = Reader::new(bytes);
        let terms = GrantTerms::decode(&mut r)?;
        let signer = KeyId(r.array("signer")?);
        let signature = r.array("signature")?;
        r.finish()?;
        Ok(Grant {
            terms,
            signer,
            signature,
        })
    }

    /// Checks the signature against the signer's registered key and the terms' own rules.
    /// Whether that key belongs to the holder, and whether the grant was revoked or used up,
    /// is for the node that keeps them.
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), GrantError> {
        if key.key_id() != self.signer {
            return Err(GrantError::SignerMismatch {
                expected: key.key_id(),
                found: self.signer,
            });
        }
        let mut w = Writer::new();
        self.terms.encode(&mut w);
        w.raw(&self.signer.0);
        key.verify(SigningContext::Grant, w.as_slice(), &self.signature)
            .map_err(|_| GrantError::BadSignature)?;
        self.terms.validate()
    }

    /// Everything a counter checks before using the grant for `matter` on behalf of
    /// `presenter`: signature, window at `now`, matter, grantee.
    pub fn verify_use(
        &self,
        key: &PublicKey,
        now: UnixTime,
        matter: &str,
        presenter: &ResidentId,
    ) -> Result<(), GrantError> {
        self.verify_signature(key)?;
        let t = &self.terms;
        if now < t.not_before {
            return Err(GrantError::NotYetValid(t.not_before));
        }
        if now >= t.not_after {
            return Err(GrantError::Expired(t.not_after));
        }
        if !t.matters.covers(matter) {
            return Err(GrantError::MatterNotCovered(matter.to_owned()));
        }
        if &t.grantee.resident_id != presenter {
            return Err(GrantError::GranteeMismatch);
        }
        Ok(())
    }
}

impl TryFrom<String> for Grant {
    type Error = GrantError;
    fn try_from(s: String) -> Result<Self, GrantError> {
        let bytes = B64
            .decode(s)
            .map_err(|_| GrantError::Codec(CodecError::Invalid("base64url")))?;
        Grant::decode(&bytes)
    }
}

impl From<Grant> for String {
    fn from(g: Grant) -> String {
        B64.encode(g.encode())
    }
}
