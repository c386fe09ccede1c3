//! The withdrawal form as the applicant fills it (I类借记卡, invoice and deed-tax numbers and
//! amounts), checked at the boundary: amounts are yuan with at most two decimals and become
//! integer fen; a card number passes the Luhn check; record numbers are letters and digits.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The debit card the withdrawal is paid to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebitCard {
    /// 开户银行, e.g. 中国工商银行漯河分行.
    pub bank: String,
    /// 16–19 digits (spaces allowed when typed).
    pub number: String,
}

/// A record number and amount as typed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    pub number: String,
    /// Yuan, e.g. `1280000.00`.
    pub amount: String,
}

/// The form as stored, amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub debit_card: DebitCard,
    pub invoice_number: String,
    pub invoice_amount_fen: i64,
    pub deed_tax_number: String,
    pub deed_tax_amount_fen: i64,
    /// The spouse takes part: the 结婚证 is fetched and shown to the reviewer.
    pub spouse_participates: bool,
}

fn bad(code: &'static str, title: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::bad(code, title, detail)
}

/// `1280000.00` → 128_000_000 fen; at most two decimals, positive, below 10^10 yuan.
pub fn parse_amount(text: &str, field: &str) -> Result<i64, ApiError> {
    let invalid = || {
        bad(
            "amount_invalid",
            "金额格式错误（单位：元，最多两位小数）",
            field,
        )
    };
    let t = text.trim();
    let (yuan, fen) = match t.split_once('.') {
        Some((y, f)) => (y, f),
        None => (t, ""),
    };
    if yuan.is_empty()
        || yuan.len() > 10
        || fen.len() > 2
        || !yuan.bytes().all(|b| b.is_ascii_digit())
        || !fen.bytes().all(|b| b.is_ascii_digit())
        || (t.contains('.') && fen.is_empty())
    {
        return Err(invalid());
    }
    let yuan: i64 = yuan.parse().map_err(|_| invalid())?;
    let fen: i64 = format!("{fen:0<2}").parse().map_err(|_| invalid())?;
    let total = yuan * 100 + fen;
    if total <= 0 {
        return Err(invalid());
    }
    Ok(total)
}

/// 128_000_000 fen → `1280000.00`.
pub fn format_amount(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A record number as the tax authority writes it: 6–32 letters and digits.
pub fn record_number(text: &str, field: &str) -> Result<String, ApiError> {
    let t = text.trim().to_ascii_uppercase();
    if (6..=32).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(t)
    } else {
        Err(bad(
            "record_number_invalid",
            "发票号码或完税凭证号码格式错误",
            field,
        ))
    }
}

/// Whether the digits pass the Luhn check (ISO/IEC 7812), as every bank card number does.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

impl DebitCard {
    /// The card with spaces removed, refused unless 16–19 digits passing the Luhn check and a
    /// bank name of 2–64 characters.
    pub fn checked(&self) -> Result<DebitCard, ApiError> {
        let number: String = self.number.chars().filter(|c| *c != ' ').collect();
        if !(16..=19).contains(&number.len())
            || !number.bytes().all(|b| b.is_ascii_digit())
            || !luhn(&number)
        {
            return Err(bad(
                "debit_card_invalid",
                "银行卡号有误，请核对I类借记卡卡号",
                "16-19 digits passing the Luhn check",
            ));
        }
        let bank = self.bank.trim();
        if !(2..=64).contains(&bank.chars().count()) {
            return Err(bad("bank_invalid", "请填写开户银行", "2-64 characters"));
        }
        Ok(DebitCard {
            bank: bank.to_owned(),
            number,
        })
    }

    /// `6222 **** **** 1234`: the first four and last four digits.
    pub fn masked(&self) -> String {
        let n = &self.number;
        if n.len() < 8 {
            return "****".into();
        }
        format!("{} **** **** {}", &n[..4], &n[n.len() - 4..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_yuan_with_at_most_two_decimals() {
        assert_eq!(parse_amount("1280000.00", "x").unwrap(), 128_000_000);
        assert_eq!(parse_amount("12800", "x").unwrap(), 1_280_000);
        assert_eq!(parse_amount(" 0.5 ", "x").unwrap(), 50);
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1.234",
            "1e5",
            "0",
            "0.00",
            "12345678901",
        ] {
            assert!(parse_amount(bad, "x").is_err(), "{bad}");
        }
        assert_eq!(format_amount(128_000_000), "1280000.00");
        assert_eq!(format_amount(50), "0.50");
    }

    #[test]
    fn card_numbers_pass_luhn() {
        let card = DebitCard {
            bank: "中国工商银行".into(),
            number: "4111 1111 1111 1111".into(),
        };
        let ok = card.checked().unwrap();
        assert_eq!(ok.number, "4111111111111111");
        assert_eq!(ok.masked(), "4111 **** **** 1111");
        let wrong = DebitCard {
            number: "4111111111111112".into(),
            ..card
        };
        assert!(wrong.checked().is_err());
    }
}
