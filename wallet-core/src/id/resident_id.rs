//! Resident identity card numbers (GB 11643): 6 region + 8 birth date + 3 sequence + 1 check.

use std::str::FromStr;

use super::{string_id, IdError, IdKind};
use crate::region::RegionCode;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A resident ID whose region, birth date and check digit were verified.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId(String);

impl ResidentId {
    /// Appends the check digit to 17 digits; for making synthetic, valid test people.
    pub fn with_check_digit(first17: &str) -> Result<Self, IdError> {
        if first17.len() != 17 {
            return Err(IdError::Length {
                kind: IdKind::ResidentId,
                expected: 17,
                found: first17.len(),
            });
        }
        let check = check_digit(first17.as_bytes())?;
        format!("{first17}{}", check as char).parse()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region where the number was first issued.
    pub fn region(&self) -> RegionCode {
        // Verified at parse time.
        self.0[..6].parse().unwrap_or(RegionCode::NATIONAL)
    }

    /// The birth date as `YYYYMMDD`.
    pub fn birth_date(&self) -> &str {
        &self.0[6..14]
    }

    /// Shown wherever the full number is not needed: `410102********123X` keeps region and tail.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

fn check_digit(first17: &[u8]) -> Result<u8, IdError> {
    let mut sum = 0u32;
    for (i, (&b, w)) in first17.iter().zip(WEIGHTS).enumerate() {
        if !b.is_ascii_digit() {
            return Err(IdError::Charset {
                kind: IdKind::ResidentId,
                position: i + 1,
            });
        }
        sum += u32::from(b - b'0') * w;
    }
    Ok(CHECK[(sum % 11) as usize])
}

fn is_real_date(date: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (
        date[..4].parse::<u32>(),
        date[4..6].parse::<u32>(),
        date[6..].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2100).contains(&y) && (1..=days).contains(&d)
}

impl FromStr for ResidentId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let kind = IdKind::ResidentId;
        if s.len() != 18 {
            return Err(IdError::Length {
                kind,
                expected: 18,
                found: s.chars().count(),
            });
        }
        let bytes = s.as_bytes();
        let expected = check_digit(&bytes[..17])?;
        let found = bytes[17].to_ascii_uppercase();
        if !(found.is_ascii_digit() || found == b'X') {
            return Err(IdError::Charset { kind, position: 18 });
        }
        if s[..6].parse::<RegionCode>().is_err() {
            return Err(IdError::Region { kind });
        }
        if !is_real_date(&s[6..14]) {
            return Err(IdError::BirthDate(s[6..14].to_owned()));
        }
        if expected != found {
            return Err(IdError::CheckCharacter {
                kind,
                expected: expected as char,
                found: found as char,
            });
        }
        let mut normalized = s[..17].to_owned();
        normalized.push(found as char);
        Ok(ResidentId(normalized))
    }
}

impl std::fmt::Debug for ResidentId {
    /// Masked, so a resident ID never lands whole in a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

string_id!(ResidentId);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    #[test]
    fn a_valid_number_parses_and_lowercase_x_is_normalised() {
        let id = ResidentId::with_check_digit("11010519491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!("11010519491231002x".parse::<ResidentId>().unwrap(), id);
        assert_eq!(id.birth_date(), "19491231");
        assert_eq!(id.masked(), "110105********002X");
    }

    #[test]
    fn each_rule_has_its_code() {
        let code = |s: &str| s.parse::<ResidentId>().unwrap_err().code();
        assert_eq!(code("1101051949123100"), "resident_id_length");
        assert_eq!(code("11010519491231002Y"), "resident_id_charset");
        assert_eq!(code("11010A19491231002X"), "resident_id_charset");
        assert_eq!(code("110105194912310021"), "resident_id_check_digit");
        let bad_date = ResidentId::with_check_digit("11010519490231002").unwrap_err();
        assert_eq!(bad_date.code(), "resident_id_birth_date");
        let bad_region = ResidentId::with_check_digit("00010519491231002").unwrap_err();
        assert_eq!(bad_region.code(), "resident_id_region");
    }

    #[test]
    fn any_single_digit_change_is_refused() {
        let good = "11010519491231002X";
        for i in 0..17 {
            for d in b'0'..=b'9' {
                let mut b = good.as_bytes().to_vec();
                if b[i] == d {
                    continue;
                }
                b[i] = d;
                let s = String::from_utf8(b).unwrap();
                assert!(s.parse::<ResidentId>().is_err(), "{s}");
            }
        }
    }
}
