//! The three identifiers every rule depends on, each with its national check character.
//!
//! Parsing is the only way to obtain one, so holding a `ResidentId`, `CreditCode` or `CertId`
//! means its structure and check character were verified. Errors name the rule that failed.

mod cert_id;
mod credit_code;
mod resident_id;

pub use cert_id::{CertId, CERT_ID_PREFIX};
pub use credit_code::CreditCode;
pub use resident_id::ResidentId;

use crate::error::Coded;

/// Which identifier an [`IdError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    ResidentId,
    CreditCode,
    CertId,
}

impl IdKind {
    fn label(self) -> &'static str {
        match self {
            IdKind::ResidentId => "resident ID",
            IdKind::CreditCode => "unified social credit code",
            IdKind::CertId => "certificate identifier",
        }
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{}: expected {expected} characters, found {found}", kind.label())]
    Length {
        kind: IdKind,
        expected: usize,
        found: usize,
    },
    #[error("{}: character {position} is not allowed there", kind.label())]
    Charset { kind: IdKind, position: usize },
    #[error("{}: region part is not a GB/T 2260 code", kind.label())]
    Region { kind: IdKind },
    #[error("resident ID: birth date {0} is not a real date")]
    BirthDate(String),
    #[error("{}: check character should be {expected}, found {found}", kind.label())]
    CheckCharacter {
        kind: IdKind,
        expected: char,
        found: char,
    },
    #[error("certificate identifier: {0}")]
    CertIdStructure(&'static str),
}

impl Coded for IdError {
    fn code(&self) -> &'static str {
        use IdError::*;
        use IdKind as K;
        match self {
            Length {
                kind: K::ResidentId,
                ..
            } => "resident_id_length",
            Length {
                kind: K::CreditCode,
                ..
            } => "credit_code_length",
            Length {
                kind: K::CertId, ..
            } => "cert_id_length",
            Charset {
                kind: K::ResidentId,
                ..
            } => "resident_id_charset",
            Charset {
                kind: K::CreditCode,
                ..
            } => "credit_code_charset",
            Charset {
                kind: K::CertId, ..
            } => "cert_id_charset",
            Region {
                kind: K::ResidentId,
            } => "resident_id_region",
            Region {
                kind: K::CreditCode,
            } => "credit_code_region",
            Region { kind: K::CertId } => "cert_id_region",
            BirthDate(_) => "resident_id_birth_date",
            CheckCharacter {
                kind: K::ResidentId,
                ..
            } => "resident_id_check_digit",
            CheckCharacter {
                kind: K::CreditCode,
                ..
            } => "credit_code_check_digit",
            CheckCharacter {
                kind: K::CertId, ..
            } => "cert_id_check_character",
            CertIdStructure(_) => "cert_id_structure",
        }
    }

    fn message_zh(&self) -> &'static str {
        match self.kind() {
            IdKind::ResidentId => "身份证号码有误，请核对后重新输入",
            IdKind::CreditCode => "统一社会信用代码有误，请核对后重新输入",
            IdKind::CertId => "电子证照标识无效",
        }
    }
}

impl IdError {
    pub fn kind(&self) -> IdKind {
        match self {
            IdError::Length { kind, .. }
            | IdError::Charset { kind, .. }
            | IdError::Region { kind }
            | IdError::CheckCharacter { kind, .. } => *kind,
            IdError::BirthDate(_) => IdKind::ResidentId,
            IdError::CertIdStructure(_) => IdKind::CertId,
        }
    }
}

/// Implements `Display`, `Debug`, string serde and `FromStr` plumbing for a string identifier.
macro_rules! string_id {
    ($t:ident) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_id;
