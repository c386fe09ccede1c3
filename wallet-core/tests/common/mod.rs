//! Fixed people, issuers and keys for the core's tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use wallet_core::certificate::Field;
use wallet_core::grant::GrantTerms;
use wallet_core::trust_list::TrustEntry;
use wallet_core::*;

pub const NOW: UnixTime = 1_790_000_000;
pub const DAY: i64 = 24 * 3600;

pub fn device_key() -> DeviceKey {
    SecretKey::from_bytes(&[0x11; 32]).unwrap()
}

pub fn other_key() -> DeviceKey {
    SecretKey::from_bytes(&[0x22; 32]).unwrap()
}

pub fn seal_key() -> SealKey {
    SecretKey::from_bytes(&[0x33; 32]).unwrap()
}

/// 郑州市市场监督管理局 (synthetic code in region 410100).
pub fn zhengzhou_issuer() -> CreditCode {
    CreditCode::with_check_char("11410100MB1234567").unwrap()
}

pub fn holder_id() -> ResidentId {
    ResidentId::with_check_digit("41010219850312003").unwrap()
}

pub fn grantee_id() -> ResidentId {
    ResidentId::with_check_digit("41110219900101002").unwrap()
}

pub fn cert_id() -> CertId {
    CertId::new(
        "11100000000013338W011",
        &zhengzhou_issuer(),
        "ZZ7Q2M4K9T3B8N6R",
        1,
    )
    .unwrap()
}

pub fn certificate() -> Certificate {
    let field = |name: &str, value: &str, salt: u8| Field {
        name: name.into(),
        value: value.into(),
        salt: [salt; 16],
    };
    Certificate {
        id: cert_id(),
        type_name: "特种设备作业人员证".into(),
        holder: Holder::Person(holder_id()),
        holder_name: "张三".into(),
        issuer_name: "郑州市市场监督管理局".into(),
        valid_from: NOW - 400 * DAY,
        valid_until: Some(NOW + 1000 * DAY),
        fields: vec![
            field("作业项目", "起重机指挥 Q1", 1),
            field("证书编号", "TS410100123456", 2),
            field("住址", "郑州市金水区某路1号", 3),
        ],
    }
}

pub fn trust_list() -> TrustList {
    TrustList::new(vec![TrustEntry {
        issuer: zhengzhou_issuer(),
        issuer_name: "郑州市市场监督管理局".into(),
        key: seal_key().public_key(),
        not_before: NOW - 500 * DAY,
        not_after: None,
    }])
}

pub fn sealed() -> SealedCertificate {
    Seal::sign(certificate(), &seal_key(), NOW - 300 * DAY).unwrap()
}

pub fn grant_terms() -> GrantTerms {
    GrantTerms {
        id: GrantId([0x5a; 16]),
        cert_id: cert_id(),
        holder: Holder::Person(holder_id()),
        grantee: Grantee {
            resident_id: grantee_id(),
            name: "李四".into(),
            enterprise: Some(CreditCode::with_check_char("91411100MA4567890").unwrap()),
        },
        matters: MatterScope::Named(vec!["411100-JS-0042".into()]),
        not_before: NOW - 3600,
        not_after: NOW + DAY,
        use_limit: Some(3),
    }
}

pub fn grant() -> Grant {
    grant_terms().sign(&device_key()).unwrap()
}

pub fn grant_presentation() -> Presentation {
    Presentation::sign_with_nonce(
        &other_key(),
        RegionCode::new(410000).unwrap(),
        Subject::Grant(GrantId([0x5a; 16])),
        NOW,
        60,
        [0x77; 16],
    )
    .unwrap()
}

pub fn certificate_presentation() -> Presentation {
    Presentation::sign_with_nonce(
        &device_key(),
        RegionCode::new(410000).unwrap(),
        Subject::Certificate(cert_id()),
        NOW,
        60,
        [0x66; 16],
    )
    .unwrap()
}
