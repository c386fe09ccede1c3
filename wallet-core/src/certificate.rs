//! The certificate model and its canonical bytes.
//!
//! A certificate's data fields are sealed through salted digests, as ISO mdoc does with its
//! value digests: the seal covers the header and the sorted list of field digests, so the node
//! that owns a certificate can hand out only the fields a matter needs and the receiver can
//! still verify the seal over what it got. A 16-byte random salt per field keeps a withheld
//! field's value from being guessed through its digest.
//!
//! # Canonical bytes (format version 1)
//!
//! Integers big-endian; `str` is a `u16` byte length followed by UTF-8.
//!
//! ```text
//! header  = u8 1 | str cert_id | str type_name | u8 holder_kind (1 person, 2 enterprise)
//!           | str holder_id | str holder_name | str issuer_name | i64 valid_from
//!           | u8 0 (no end) or u8 1 + i64 valid_until
//! digest  = SHA-256( "cn.e-cert.field.v1" | 0x00 | str name | str value | salt[16] )
//! payload = header | u16 n | digest₁ … digestₙ (ascending byte order)
//! ```
//!
//! The seal signs `payload | key_id[8] | i64 sealed_at` in the seal context. The status of a
//! certificate (valid, revoked, disputed) is not sealed: it changes after issuance and is
//! stated by the owning node's retrieval receipt instead.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{CodecError, Reader, Writer};
use crate::error::Coded;
use crate::holder::Holder;
use crate::id::CertId;
use crate::UnixTime;

pub const MAX_FIELDS: usize = 64;
pub const MAX_FIELD_NAME: usize = 64;
pub const MAX_FIELD_VALUE: usize = 2048;
pub const MAX_TEXT: usize = 256;
const FIELD_LABEL: &[u8] = b"cn.e-cert.field.v1\0";

/// One data field of a certificate with the salt that hides it inside the seal.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    #[serde(with = "salt_hex")]
    pub salt: [u8; 16],
}

impl Field {
    /// A field with a fresh random salt.
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, CertificateError> {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|_| CertificateError::Randomness)?;
        Ok(Field {
            name: name.into(),
            value: value.into(),
            salt,
        })
    }

    pub fn digest(&self) -> [u8; 32] {
        let mut w = Writer::new();
        w.raw(FIELD_LABEL)
            .str(&self.name)
            .str(&self.value)
            .raw(&self.salt);
        Sha256::digest(w.as_slice()).into()
    }
}

/// 电子证照: what an issuing department states about a holder.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Certificate {
    pub id: CertId,
    /// 证照类型名称, e.g. 特种设备作业人员证.
    pub type_name: String,
    pub holder: Holder,
    pub holder_name: String,
    /// 颁发机构名称; the issuer's code is inside `id`.
    pub issuer_name: String,
    pub valid_from: UnixTime,
    /// `None` means 长期有效.
    pub valid_until: Option<UnixTime>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is not valid before {0}")]
    NotYetValid(UnixTime),
    #[error("the certificate expired at {0}")]
    Expired(UnixTime),
    #[error("{what} is longer than {max} bytes")]
    TooLong { what: &'static str, max: usize },
    #[error("field {0:?} appears twice")]
    DuplicateField(String),
    #[error("a certificate has at most {MAX_FIELDS} fields")]
    TooManyFields,
    #[error("validity ends before it starts")]
    EmptyValidity,
    #[error("the operating system's random generator failed")]
    Randomness,
}

impl Coded for CertificateError {
    fn code(&self) -> &'static str {
        match self {
            CertificateError::NotYetValid(_) => "certificate_not_yet_valid",
            CertificateError::Expired(_) => "certificate_expired",
            CertificateError::TooLong { .. } => "certificate_field_too_long",
            CertificateError::DuplicateField(_) => "certificate_field_duplicate",
            CertificateError::TooManyFields => "certificate_too_many_fields",
            CertificateError::EmptyValidity => "certificate_validity_empty",
            CertificateError::Randomness => "randomness_unavailable",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            CertificateError::NotYetValid(_) => "证照尚未生效",
            CertificateError::Expired(_) => "证照已过有效期",
            CertificateError::Randomness => "无法生成随机数，请稍后重试",
            _ => "证照数据不符合要求",
        }
    }
}

impl Certificate {
    /// Checks the limits the binary form relies on, so anything sealed can be encoded.
    pub fn validate(&self) -> Result<(), CertificateError> {
        let text = [
            ("type name", &self.type_name),
            ("holder name", &self.holder_name),
            ("issuer name", &self.issuer_name),
        ];
        for (what, value) in text {
            if value.len() > MAX_TEXT {
                return Err(CertificateError::TooLong {
                    what,
                    max: MAX_TEXT,
                });
            }
        }
        if self.fields.len() > MAX_FIELDS {
            return Err(CertificateError::TooManyFields);
        }
        if matches!(self.valid_until, Some(until) if until < self.valid_from) {
            return Err(CertificateError::EmptyValidity);
        }
        let mut names: Vec<&str> = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            if f.name.len() > MAX_FIELD_NAME {
                return Err(CertificateError::TooLong {
                    what: "field name",
                    max: MAX_FIELD_NAME,
                });
            }
            if f.value.len() > MAX_FIELD_VALUE {
                return Err(CertificateError::TooLong {
                    what: "field value",
                    max: MAX_FIELD_VALUE,
                });
            }
            if names.contains(&f.name.as_str()) {
                return Err(CertificateError::DuplicateField(f.name.clone()));
            }
            names.push(&f.name);
        }
        Ok(())
    }

    /// Whether the certificate is within its validity window at `now`.
    pub fn check_validity(&self, now: UnixTime) -> Result<(), CertificateError> {
        if now < self.valid_from {
            return Err(CertificateError::NotYetValid(self.valid_from));
        }
        match self.valid_until {
            Some(until) if now >= until => Err(CertificateError::Expired(until)),
            _ => Ok(()),
        }
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }

    pub(crate) fn encode_header(&self, w: &mut Writer) {
        w.u8(1).str(self.id.as_str()).str(&self.type_name);
        self.holder.encode(w);
        w.str(&self.holder_name)
            .str(&self.issuer_name)
            .i64(self.valid_from)
            .opt_i64(self.valid_until);
    }

    /// Decodes a header; the fields are decoded by the sealed form that carries them.
    pub(crate) fn decode_header(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        match r.u8("certificate format")? {
            1 => {}
            v => return Err(CodecError::Version(v)),
        }
        Ok(Certificate {
            id: r.parsed(128, "certificate id")?,
            type_name: r.str(MAX_TEXT, "type name")?.to_owned(),
            holder: Holder::decode(r)?,
            holder_name: r.str(MAX_TEXT, "holder name")?.to_owned(),
            issuer_name: r.str(MAX_TEXT, "issuer name")?.to_owned(),
            valid_from: r.i64("valid from")?,
            valid_until: r.opt_i64("valid until")?,
            fields: Vec::new(),
        })
    }

    /// The bytes the seal covers, given the digests of every field (disclosed or not).
    pub fn seal_payload(&self, digests: &[[u8; 32]]) -> Vec<u8> {
        let mut sorted = digests.to_vec();
        sorted.sort_unstable();
        let mut w = Writer::new();
        self.encode_header(&mut w);
        w.u16(u16::try_from(sorted.len()).unwrap_or(u16::MAX));
        for d in &sorted {
            w.raw(d);
        }
        w.finish()
    }
}

mod salt_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(salt: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&salt.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 16];
        if s.len() != 32 {
            return Err(serde::de::Error::custom(
                "a salt is 32 hexadecimal characters",
            ));
        }
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = s
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| serde::de::Error::custom("a salt is 32 hexadecimal characters"))?;
        }
        Ok(out)
    }
}
