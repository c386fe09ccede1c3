//! Unified social credit codes (统一社会信用代码, GB 32100): 1 registration authority,
//! 1 organisation type, 6 region (GB/T 2260), 9 subject code, 1 check, over 31 symbols.
//!
//! The region part is what routing reads when the code names an issuing authority.

use std::str::FromStr;

use super::{string_id, IdError, IdKind};
use crate::region::RegionCode;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A credit code whose alphabet, region part and check character were verified.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CreditCode(String);

fn value(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == b).map(|p| p as u32)
}

fn check_char(first17: &[u8]) -> Result<u8, IdError> {
    let mut sum = 0;
    for (i, (&b, w)) in first17.iter().zip(WEIGHTS).enumerate() {
        let v = value(b).ok_or(IdError::Charset {
            kind: IdKind::CreditCode,
            position: i + 1,
        })?;
        sum += v * w;
    }
    let c = (31 - sum % 31) % 31;
    Ok(ALPHABET[c as usize])
}

impl CreditCode {
    /// Appends the check character to 17 symbols; for making synthetic, valid enterprises.
    pub fn with_check_char(first17: &str) -> Result<Self, IdError> {
        if first17.len() != 17 {
            return Err(IdError::Length {
                kind: IdKind::CreditCode,
                expected: 17,
                found: first17.len(),
            });
        }
        let check = check_char(first17.as_bytes())?;
        format!("{first17}{}", check as char).parse()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GB/T 2260 region in characters 3–8: for an issuing authority, the region whose
    /// node owns what it issues.
    pub fn region(&self) -> RegionCode {
        // Verified at parse time.
        self.0[2..8].parse().unwrap_or(RegionCode::NATIONAL)
    }
}

impl FromStr for CreditCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let kind = IdKind::CreditCode;
        if s.len() != 18 {
            return Err(IdError::Length {
                kind,
                expected: 18,
                found: s.chars().count(),
            });
        }
        let bytes = s.as_bytes();
        let expected = check_char(&bytes[..17])?;
        if value(bytes[17]).is_none() {
            return Err(IdError::Charset { kind, position: 18 });
        }
        if s[2..8].parse::<RegionCode>().is_err() {
            return Err(IdError::Region { kind });
        }
        if expected != bytes[17] {
            return Err(IdError::CheckCharacter {
                kind,
                expected: expected as char,
                found: bytes[17] as char,
            });
        }
        Ok(CreditCode(s.to_owned()))
    }
}

string_id!(CreditCode);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    #[test]
    fn the_issuers_of_the_real_certificate_ids_parse() {
        let hunan = "11430000006122244L".parse::<CreditCode>().unwrap();
        assert_eq!(hunan.region().to_string(), "430000");
        let hangzhou = "11330105002500287C".parse::<CreditCode>().unwrap();
        assert_eq!(hangzhou.region().to_string(), "330105");
        assert!("11100000000013338W".parse::<CreditCode>().is_ok());
    }

    #[test]
    fn each_rule_has_its_code() {
        let code = |s: &str| s.parse::<CreditCode>().unwrap_err().code();
        assert_eq!(code("11430000006122244"), "credit_code_length");
        assert_eq!(code("11430000006122244I"), "credit_code_charset");
        assert_eq!(code("1143000000612224OL"), "credit_code_charset");
        assert_eq!(code("11430000006122244M"), "credit_code_check_digit");
        let bad_region = CreditCode::with_check_char("11000000006122244").unwrap_err();
        assert_eq!(bad_region.code(), "credit_code_region");
    }

    #[test]
    fn any_single_symbol_change_is_refused() {
        let good = "11430000006122244L";
        for i in 0..18 {
            for &a in ALPHABET {
                let mut b = good.as_bytes().to_vec();
                if b[i] == a {
                    continue;
                }
                b[i] = a;
                let s = String::from_utf8(b).unwrap();
                assert!(s.parse::<CreditCode>().is_err(), "{s}");
            }
        }
    }
}
