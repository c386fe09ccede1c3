//! What the public sees of a disclosable certificate, and its status as of the answer.
//!
//! Only the fields the catalog marks disclosable leave a node, and only for certificates held
//! by enterprises; the status is computed when the answer is made, so a permit that ran out
//! this morning shows as expired whatever the index last heard.

use std::collections::BTreeMap;

use serde::Serialize;
use wallet_core::CreditCode;

use crate::db::index::CertMeta;

pub const DAY: i64 = 86_400;
/// A permit ending within this many seconds is shown as 即将到期.
pub const EXPIRING_WITHIN: i64 = 30 * DAY;
/// The field holding a 排污许可证's number (HJ 608).
pub const PERMIT_NUMBER_FIELD: &str = "许可证编号";

/// The status the public sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicStatus {
    Valid,
    /// Valid, ending within 30 days.
    Expiring,
    Expired,
    /// Withdrawn by the issuer (注销 / 撤销).
    Revoked,
    /// Issued, its validity not yet begun.
    NotYetValid,
}

impl PublicStatus {
    pub fn label(self) -> &'static str {
        match self {
            PublicStatus::Valid => "有效",
            PublicStatus::Expiring => "即将到期",
            PublicStatus::Expired => "已过期",
            PublicStatus::Revoked => "已注销",
            PublicStatus::NotYetValid => "尚未生效",
        }
    }
}

/// The public status of a certificate with the holder-side status `status` at `now`, and the
/// days left for one still running; `None` for a superseded version (the public sees the
/// current one) or an unknown status. A disputed certificate is shown by its validity: an
/// objection is the holder's complaint, decided by the issuer, not a public fact.
pub fn public_status(
    status: &str,
    valid_from: i64,
    valid_until: Option<i64>,
    now: i64,
) -> Option<(PublicStatus, Option<i64>)> {
    let left = valid_until.map(|u| (u - now + DAY - 1).div_euclid(DAY));
    match status {
        "revoked" => Some((PublicStatus::Revoked, None)),
        "expired" => Some((PublicStatus::Expired, None)),
        "valid" | "disputed" => Some(match valid_until {
            Some(u) if u <= now => (PublicStatus::Expired, None),
            _ if valid_from > now => (PublicStatus::NotYetValid, left),
            Some(u) if u - now <= EXPIRING_WITHIN => (PublicStatus::Expiring, left),
            _ => (PublicStatus::Valid, left),
        }),
        _ => None,
    }
}

/// The number of a 排污许可证 when it has the form HJ 608 gives it: the enterprise's
/// 统一社会信用代码 (check character correct), a 3-digit site number and one capital letter.
pub fn hj608_number(number: &str) -> Option<&str> {
    let (code, rest) = (number.get(..18)?, number.get(18..)?);
    let rest = rest.as_bytes();
    let shaped =
        rest.len() == 4 && rest[..3].iter().all(u8::is_ascii_digit) && rest[3].is_ascii_uppercase();
    (shaped && code.parse::<CreditCode>().is_ok()).then_some(number)
}

/// Where an answer's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The node that holds the certificate, asked for this answer.
    Owner,
    /// This node's index of what the owner pushed, because the owner could not be asked.
    Index,
}

/// One certificate as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicCertificate {
    pub type_code: String,
    pub type_name: String,
    /// HJ 608 number for a 排污许可证, when the certificate carries one of that form.
    pub permit_number: Option<String>,
    pub enterprise_name: String,
    pub issuer_name: String,
    pub valid_from: i64,
    /// Exclusive end (Unix seconds); none for an open-ended certificate.
    pub valid_until: Option<i64>,
    pub status: PublicStatus,
    /// `status` in Chinese (有效, 即将到期, 已过期, 已注销, 尚未生效).
    pub status_label: &'static str,
    /// Whole days until the end, rounded up, while it runs.
    pub days_left: Option<i64>,
    /// Every disclosable field, as sealed (许可证编号, 单位名称, 有效期限, 发证机关 …).
    pub fields: BTreeMap<String, String>,
    /// The node holding the certificate (region code) and its name.
    pub held_at: String,
    pub held_by: String,
    pub source: Source,
    /// When the data was current: the owner's answer, or when the index last heard of it.
    pub as_of: i64,
}

/// Where a certificate is held and how current its data is, for `PublicCertificate::from_meta`.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub held_at: String,
    pub held_by: String,
    pub source: Source,
    pub as_of: i64,
}

impl PublicCertificate {
    /// The public view of `meta`, or `None` unless it is an enterprise's certificate with
    /// disclosable fields and a status the public sees.
    pub fn from_meta(meta: &CertMeta, from: Provenance, now: i64) -> Option<PublicCertificate> {
        if meta.holder_kind != "enterprise" {
            return None;
        }
        let fields = meta.disclosable.clone()?;
        let enterprise_name = meta.enterprise_name.clone()?;
        let (status, days_left) =
            public_status(&meta.status, meta.valid_from, meta.valid_until, now)?;
        Some(PublicCertificate {
            type_code: meta.type_code.clone(),
            type_name: meta.type_name.clone(),
            permit_number: fields
                .get(PERMIT_NUMBER_FIELD)
                .and_then(|n| hj608_number(n))
                .map(str::to_owned),
            enterprise_name,
            issuer_name: meta.issuer_name.clone(),
            valid_from: meta.valid_from,
            valid_until: meta.valid_until,
            status,
            status_label: status.label(),
            days_left,
            fields,
            held_at: from.held_at,
            held_by: from.held_by,
            source: from.source,
            as_of: from.as_of,
        })
    }
}

/// A node whose certificates could not be confirmed for this answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unavailable {
    pub region: String,
    pub name: String,
    /// The tier error: `tier_unreachable`, `tier_timeout`, `tier_failed` …
    pub code: String,
    /// In Chinese, naming the node.
    pub title: String,
}

/// Where to complain: the page shows both with every answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hotline {
    pub number: &'static str,
    pub name: &'static str,
}

pub const HOTLINES: [Hotline; 2] = [
    Hotline {
        number: "12345",
        name: "政务服务便民热线",
    },
    Hotline {
        number: "12369",
        name: "环境保护举报热线",
    },
];

/// The answer to one public search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchAnswer {
    /// The query as searched (folded).
    pub query: String,
    /// How many listed certificates matched (at most `search::MAX_MATCHES`).
    pub total: usize,
    /// The best `limit` of them, best first.
    pub results: Vec<PublicCertificate>,
    /// More matched than are shown; a longer name narrows the search.
    pub truncated: bool,
    /// Nodes that could not be asked: their certificates above come from the index.
    pub unavailable: Vec<Unavailable>,
    pub answered_at: i64,
    pub hotlines: [Hotline; 2],
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000;

    #[test]
    fn status_is_computed_at_answer_time() {
        let s = |status, from, until| public_status(status, from, until, NOW);
        assert_eq!(
            s("valid", NOW - DAY, Some(NOW + 400 * DAY)),
            Some((PublicStatus::Valid, Some(400)))
        );
        assert_eq!(
            s("valid", NOW - DAY, Some(NOW + 20 * DAY - 5)),
            Some((PublicStatus::Expiring, Some(20)))
        );
        assert_eq!(
            s("valid", NOW - DAY, Some(NOW + 30 * DAY)),
            Some((PublicStatus::Expiring, Some(30)))
        );
        assert_eq!(
            s("valid", NOW - DAY, Some(NOW)),
            Some((PublicStatus::Expired, None))
        );
        assert_eq!(
            s("disputed", NOW - DAY, None),
            Some((PublicStatus::Valid, None))
        );
        assert_eq!(
            s("valid", NOW + DAY, Some(NOW + 900 * DAY)),
            Some((PublicStatus::NotYetValid, Some(900)))
        );
        assert_eq!(
            s("revoked", NOW - DAY, None),
            Some((PublicStatus::Revoked, None))
        );
        assert_eq!(s("superseded", NOW - DAY, None), None);
        assert_eq!(s("nonsense", NOW - DAY, None), None);
    }

    #[test]
    fn a_permit_number_has_the_hj_608_form() {
        let code = CreditCode::with_check_char("91411102MA48QY011")
            .unwrap()
            .to_string();
        let good = format!("{code}001P");
        assert_eq!(hj608_number(&good), Some(good.as_str()));
        assert_eq!(hj608_number(&format!("{code}01P")), None);
        assert_eq!(hj608_number(&format!("{code}001p")), None);
        assert_eq!(hj608_number("91411102MA48QY0110001P"), None);
        assert_eq!(hj608_number("许可证"), None);
    }

    #[test]
    fn only_an_enterprise_certificate_with_disclosable_fields_is_shown() {
        let meta = CertMeta {
            cert_id: "id".into(),
            type_code: "T".into(),
            type_name: "排污许可证".into(),
            issuer_code: "I".into(),
            issuer_name: "漯河市生态环境局".into(),
            holder_kind: "enterprise".into(),
            holder_key: "K".into(),
            enterprise_name: Some("漯河市清源食品有限公司".into()),
            status: "valid".into(),
            valid_from: NOW - DAY,
            valid_until: Some(NOW + 400 * DAY),
            disclosable: Some(BTreeMap::from([("单位名称".into(), "x".into())])),
        };
        let from = || Provenance {
            held_at: "411100".into(),
            held_by: "漯河".into(),
            source: Source::Owner,
            as_of: NOW,
        };
        assert!(PublicCertificate::from_meta(&meta, from(), NOW).is_some());
        let person = CertMeta {
            holder_kind: "person".into(),
            ..meta.clone()
        };
        assert!(PublicCertificate::from_meta(&person, from(), NOW).is_none());
        let closed = CertMeta {
            disclosable: None,
            ..meta
        };
        assert!(PublicCertificate::from_meta(&closed, from(), NOW).is_none());
    }
}
