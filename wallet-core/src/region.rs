//! Region codes (GB/T 2260) and the tier a node serves.
//!
//! Routing reads nothing else: a certificate's issuing region decides which node owns it,
//! and whether one region lies under another decides whether a node asks a child or its
//! parent. `100000` stands for the national node.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Coded;

/// A six-digit GB/T 2260 administrative division code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(u32);

/// The level of government a region code names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    National,
    Province,
    City,
    County,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error("a region code is six digits, got {0:?}")]
    Format(String),
    #[error("province part {0:02} is not a GB/T 2260 province (11–82)")]
    Province(u32),
}

impl Coded for RegionError {
    fn code(&self) -> &'static str {
        "region_invalid"
    }
    fn message_zh(&self) -> &'static str {
        "行政区划代码无效"
    }
}

impl RegionCode {
    /// The national node's code.
    pub const NATIONAL: RegionCode = RegionCode(100000);

    /// Accepts any six-digit code whose first two digits name a province (11–82), and the
    /// national code itself.
    pub fn new(code: u32) -> Result<Self, RegionError> {
        if code == Self::NATIONAL.0 {
            return Ok(Self::NATIONAL);
        }
        if !(100000..=999999).contains(&code) {
            return Err(RegionError::Format(code.to_string()));
        }
        let province = code / 10000;
        if !(11..=82).contains(&province) {
            return Err(RegionError::Province(province));
        }
        Ok(RegionCode(code))
    }

    pub fn as_u32(self) -> u32 {
        self.0
    }

    pub fn tier(self) -> Tier {
        if self == Self::NATIONAL {
            Tier::National
        } else if self.0 % 10000 == 0 {
            Tier::Province
        } else if self.0 % 100 == 0 {
            Tier::City
        } else {
            Tier::County
        }
    }

    /// The region directly above: county → city → province → national. `None` for national.
    pub fn parent(self) -> Option<RegionCode> {
        match self.tier() {
            Tier::National => None,
            Tier::Province => Some(Self::NATIONAL),
            Tier::City => Some(RegionCode(self.0 / 10000 * 10000)),
            Tier::County => Some(RegionCode(self.0 / 100 * 100)),
        }
    }

    /// This region and every region above it, nearest first, ending at national.
    pub fn chain(self) -> Vec<RegionCode> {
        let mut chain = vec![self];
        let mut at = self;
        while let Some(up) = at.parent() {
            chain.push(up);
            at = up;
        }
        chain
    }

    /// Whether `self` lies strictly under `ancestor`.
    pub fn is_under(self, ancestor: RegionCode) -> bool {
        self != ancestor && self.chain().contains(&ancestor)
    }

    /// The child of `self` on the way down to `descendant`, if `descendant` lies under `self`.
    pub fn child_towards(self, descendant: RegionCode) -> Option<RegionCode> {
        if !descendant.is_under(self) {
            return None;
        }
        descendant
            .chain()
            .into_iter()
            .find(|r| r.parent() == Some(self))
    }
}

impl FromStr for RegionCode {
    type Err = RegionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionError::Format(s.chars().take(16).collect()));
        }
        let code: u32 = s.parse().map_err(|_| RegionError::Format(s.to_owned()))?;
        RegionCode::new(code)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RegionCode> for String {
    fn from(r: RegionCode) -> String {
        r.to_string()
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({:06})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> RegionCode {
        s.parse().unwrap()
    }

    #[test]
    fn tiers_follow_the_trailing_zeros() {
        assert_eq!(r("100000").tier(), Tier::National);
        assert_eq!(r("410000").tier(), Tier::Province);
        assert_eq!(r("411100").tier(), Tier::City);
        assert_eq!(r("411102").tier(), Tier::County);
    }

    #[test]
    fn parent_chain_ends_at_national() {
        assert_eq!(
            r("411102").chain(),
            vec![r("411102"), r("411100"), r("410000"), r("100000")]
        );
        assert_eq!(r("100000").parent(), None);
    }

    #[test]
    fn zhengzhou_lies_under_henan_but_not_under_luohe() {
        assert!(r("410100").is_under(r("410000")));
        assert!(r("410100").is_under(RegionCode::NATIONAL));
        assert!(!r("410100").is_under(r("411100")));
        assert!(!r("410000").is_under(r("410000")));
        assert!(!r("420100").is_under(r("410000")));
    }

    #[test]
    fn child_towards_names_the_next_hop_down() {
        assert_eq!(r("100000").child_towards(r("420100")), Some(r("420000")));
        assert_eq!(r("410000").child_towards(r("410102")), Some(r("410100")));
        assert_eq!(r("410000").child_towards(r("420100")), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "", "41000", "4100000", "41000a", "000000", "990000", " 41000",
        ] {
            assert!(bad.parse::<RegionCode>().is_err(), "{bad:?}");
        }
    }
}
