//! E-certificate identifiers (电子证照标识, GB/T 36904):
//! `1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>`.
//!
//! - type code: 21 characters, the competent ministry's credit code plus a 3-digit number;
//! - issuer code: the issuing authority's credit code, whose region part routes the
//!   certificate to the node that owns it;
//! - serial: issuer-defined; ours are random so that identifiers cannot be enumerated;
//! - version: 3 digits, raised when a corrected certificate replaces an earlier one;
//! - check: ISO/IEC 7064 MOD 37,36 over type, issuer, serial and version without dots.

use std::str::FromStr;

use super::{string_id, CreditCode, IdError, IdKind};
use crate::region::RegionCode;

/// The fixed object-identifier arc every Chinese e-certificate identifier starts with.
pub const CERT_ID_PREFIX: &str = "1.2.156.3005.2.";
const ALNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Longest serial we accept from any issuer; ours are [`GENERATED_SERIAL_LEN`].
pub const MAX_SERIAL_LEN: usize = 32;
/// 16 symbols of 36 carry about 82 bits: far beyond guessing, short enough for the QR code.
pub const GENERATED_SERIAL_LEN: usize = 16;

/// A verified e-certificate identifier.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CertId {
    text: String,
    issuer: CreditCode,
}

fn alnum_value(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'A'..=b'Z' => Some(u32::from(b - b'A') + 10),
        _ => None,
    }
}

/// ISO/IEC 7064 MOD 37,36 check character over upper-case alphanumerics.
fn mod37_36(chars: impl Iterator<Item = u8>) -> Option<u8> {
    let mut p = 36;
    for c in chars {
        let s = match (p + alnum_value(c)?) % 36 {
            0 => 36,
            s => s,
        };
        p = (2 * s) % 37;
    }
    Some(ALNUM[((37 - p) % 36) as usize])
}

impl CertId {
    /// Builds an identifier from its parts and computes the check character.
    pub fn new(
        type_code: &str,
        issuer: &CreditCode,
        serial: &str,
        version: u16,
    ) -> Result<Self, IdError> {
        if version > 999 {
            return Err(IdError::CertIdStructure("version is three digits"));
        }
        let body = format!("{type_code}.{issuer}.{serial}.{version:03}");
        let check = mod37_36(body.bytes().filter(|&b| b != b'.')).ok_or(
            IdError::CertIdStructure("parts must be upper-case letters and digits"),
        )?;
        format!("{CERT_ID_PREFIX}{body}.{}", check as char).parse()
    }

    /// A new identifier with a random, non-guessable serial number.
    pub fn generate(
        type_code: &str,
        issuer: &CreditCode,
        version: u16,
    ) -> Result<Self, GenerateError> {
        let mut serial = [0u8; GENERATED_SERIAL_LEN];
        let mut random = [0u8; GENERATED_SERIAL_LEN * 2];
        getrandom::getrandom(&mut random).map_err(|_| GenerateError::Randomness)?;
        let mut it = random.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
        for slot in &mut serial {
            // Rejection sampling keeps every symbol equally likely (65520 = 36 × 1820).
            let v = loop {
                match it.next() {
                    Some(v) if v < 65520 => break v,
                    Some(_) => continue,
                    None => {
                        let mut two = [0u8; 2];
                        getrandom::getrandom(&mut two).map_err(|_| GenerateError::Randomness)?;
                        let v = u16::from_be_bytes(two);
                        if v < 65520 {
                            break v;
                        }
                    }
                }
            };
            *slot = ALNUM[usize::from(v % 36)];
        }
        let serial = String::from_utf8_lossy(&serial).into_owned();
        Ok(CertId::new(type_code, issuer, &serial, version)?)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The identifier without the fixed prefix: what a QR code carries.
    pub fn compact(&self) -> &str {
        &self.text[CERT_ID_PREFIX.len()..]
    }

    /// Parses the form returned by [`CertId::compact`].
    pub fn from_compact(compact: &str) -> Result<Self, IdError> {
        format!("{CERT_ID_PREFIX}{compact}").parse()
    }

    fn segment(&self, i: usize) -> &str {
        self.compact().split('.').nth(i).unwrap_or("")
    }

    /// 证照类型代码 (21 characters).
    pub fn type_code(&self) -> &str {
        self.segment(0)
    }

    /// 颁发机构代码.
    pub fn issuer(&self) -> &CreditCode {
        &self.issuer
    }

    pub fn serial(&self) -> &str {
        self.segment(2)
    }

    pub fn version(&self) -> u16 {
        self.segment(3).parse().unwrap_or(0)
    }

    /// The region whose node owns this certificate.
    pub fn issuing_region(&self) -> RegionCode {
        self.issuer.region()
    }
}

/// Why a new identifier could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    #[error("the operating system's random generator failed")]
    Randomness,
    #[error(transparent)]
    Id(#[from] IdError),
}

impl FromStr for CertId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let kind = IdKind::CertId;
        if s.len() > CERT_ID_PREFIX.len() + 21 + 18 + MAX_SERIAL_LEN + 3 + 1 + 5 {
            return Err(IdError::CertIdStructure("too long"));
        }
        let rest = s
            .strip_prefix(CERT_ID_PREFIX)
            .ok_or(IdError::CertIdStructure("must start with 1.2.156.3005.2."))?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts[..] else {
            return Err(IdError::CertIdStructure(
                "needs five parts after the prefix",
            ));
        };
        if type_code.len() != 21 {
            return Err(IdError::Length {
                kind,
                expected: 21,
                found: type_code.chars().count(),
            });
        }
        // `get`, not indexing: 21 bytes of text may hold a multi-byte character across byte 18.
        type_code
            .get(..18)
            .and_then(|ministry| ministry.parse::<CreditCode>().ok())
            .ok_or(IdError::CertIdStructure(
                "type code must start with the ministry's credit code",
            ))?;
        if !type_code[18..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::CertIdStructure(
                "type code must end with three digits",
            ));
        }
        let issuer: CreditCode = issuer
            .parse()
            .map_err(|_| IdError::CertIdStructure("issuer code must be a valid credit code"))?;
        if serial.is_empty() || serial.len() > MAX_SERIAL_LEN {
            return Err(IdError::CertIdStructure(
                "serial must be 1 to 32 characters",
            ));
        }
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::CertIdStructure("version must be three digits"));
        }
        let body = &rest[..rest.len() - check.len() - 1];
        let Some(expected) = mod37_36(body.bytes().filter(|&b| b != b'.')) else {
            let position = s
                .bytes()
                .position(|b| b != b'.' && alnum_value(b).is_none())
                .unwrap_or(0);
            return Err(IdError::Charset {
                kind,
                position: position + 1,
            });
        };
        let found = match check.as_bytes() {
            [c] => *c,
            _ => return Err(IdError::CertIdStructure("check must be one character")),
        };
        if found != expected {
            return Err(IdError::CheckCharacter {
                kind,
                expected: expected as char,
                found: found as char,
            });
        }
        Ok(CertId {
            text: s.to_owned(),
            issuer,
        })
    }
}

string_id!(CertId);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    const REAL: [&str; 2] = [
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
    ];

    #[test]
    fn the_real_identifiers_parse() {
        let a: CertId = REAL[0].parse().unwrap();
        assert_eq!(a.type_code(), "11100000000013338W011");
        assert_eq!(a.issuer().as_str(), "11430000006122244L");
        assert_eq!(a.serial(), "20230000403");
        assert_eq!(a.version(), 1);
        assert_eq!(a.issuing_region().to_string(), "430000");
        let b: CertId = REAL[1].parse().unwrap();
        assert_eq!(b.version(), 2);
        assert_eq!(b.issuing_region().to_string(), "330105");
    }

    #[test]
    fn any_one_character_change_is_refused() {
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.a-";
        for real in REAL {
            for i in 0..real.len() {
                for &c in alphabet {
                    let mut b = real.as_bytes().to_vec();
                    if b[i] == c {
                        continue;
                    }
                    b[i] = c;
                    let s = String::from_utf8(b).unwrap();
                    assert!(s.parse::<CertId>().is_err(), "accepted {s}");
                }
            }
        }
    }

    #[test]
    fn new_computes_the_real_check_character() {
        let issuer: CreditCode = "11430000006122244L".parse().unwrap();
        let id = CertId::new("11100000000013338W011", &issuer, "20230000403", 1).unwrap();
        assert_eq!(id.as_str(), REAL[0]);
        assert_eq!(CertId::from_compact(id.compact()).unwrap(), id);
    }

    #[test]
    fn generated_serials_differ_and_verify() {
        let issuer: CreditCode = "11330105002500287C".parse().unwrap();
        let a = CertId::generate("11100000000013338W009", &issuer, 1).unwrap();
        let b = CertId::generate("11100000000013338W009", &issuer, 1).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.serial().len(), GENERATED_SERIAL_LEN);
        assert_eq!(a.as_str().parse::<CertId>().unwrap(), a);
    }

    #[test]
    fn structural_errors_name_their_rule() {
        let code = |s: &str| s.parse::<CertId>().unwrap_err().code();
        assert_eq!(code("1.2.156.3005.1.x"), "cert_id_structure");
        assert_eq!(
            code("1.2.156.3005.2.1110000000001333W011.11430000006122244L.1.001.U"),
            "cert_id_length"
        );
        assert_eq!(
            code("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V"),
            "cert_id_check_character"
        );
    }
}
