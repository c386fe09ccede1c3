//! Scenario 2: 购买二手自住住房提取住房公积金 for a home bought in another city.
//!
//! ```text
//!  online (全程网办)
//!  wallet page ──real-person session──▶ wallet province 410000
//!    photos (checked by their bytes) ──▶ fund_uploads
//!    form + consent ──▶ sharing platform: compare with the applicant's own records
//!                         mismatch → 422 with the fields that differ (back to the form)
//!                       fetch 不动产权证书 (and 结婚证) by ID number on that consent
//!                         (federation::fetch: Zhengzhou, Luohe … verified, audited)
//!                       application + message, one transaction
//!    delivery task ──NodeEnvelope (photos included)──▶ fund centre's node 411100
//!                                                     reviewer: queue, photos, approve/reject
//!    status 审核中 ◀── acknowledged                    decision + message, one transaction
//!    status 已通过 / 未通过 ◀──────── decision ────────┘      (rating goes back the same way)
//!
//!  at the counter (一证通办), a city node
//!    ID card: resident ID (check digit) + consent ──▶ scans of 不动产权证书 / 结婚证 (scenario 1's
//!    path, refused unless they are the applicant's) ──▶ sharing platform by resident ID (the
//!    province) ──▶ applicant confirms each record ──▶ I类借记卡 ──▶ 办结 ──▶ 评价
//! ```
//!
//! A matter takes part when its materials name the sharing platform's records
//! (`Material::sharing`: `tax_invoice`, `deed_tax`).

pub mod apply;
pub mod counter;
pub mod delivery;
pub mod form;
pub mod image;
pub mod receive;
pub mod sharing;
pub mod view;

use wallet_core::Certificate;

use crate::db::cases::Matter;

/// Whether the sharing platform supplies materials of this matter (the withdrawal's invoice and
/// deed tax), which is what makes the matter's cases and applications run this flow.
pub fn uses_sharing(matter: &Matter) -> bool {
    let has = |kind: &str| {
        matter
            .materials
            .iter()
            .any(|m| m.sharing.as_deref() == Some(kind))
    };
    has("tax_invoice") && has("deed_tax")
}

/// Whether a certificate can serve the applicant's case: a person's certificate must be the
/// applicant's own, or name the applicant in an identity-number field (a 结婚证 of either
/// spouse names the other in 配偶身份证件号). Enterprise certificates are not the applicant's.
pub fn concerns_applicant(cert: &Certificate, applicant: &str) -> bool {
    match &cert.holder {
        wallet_core::Holder::Person(p) if p.as_str() == applicant => true,
        wallet_core::Holder::Person(_) => cert.fields.iter().any(|f| {
            (f.name.ends_with("身份证件号") || f.name.ends_with("身份证号"))
                && f.value.trim() == applicant
        }),
        wallet_core::Holder::Enterprise(_) => false,
    }
}

/// Upload kinds: the three photos of the online form.
pub const UPLOAD_KINDS: [&str; 3] = ["debit_card", "invoice", "deed_tax"];

/// How people read an application's status.
pub fn status_name(status: &str) -> &'static str {
    match status {
        "submitted" => "已提交，正在送达公积金中心",
        "under_review" => "审核中",
        "approved" => "已通过",
        "rejected" => "未通过",
        _ => "未知状态",
    }
}
