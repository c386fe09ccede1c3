//! The identifiers every rule depends on — 电子证照标识 (`CertId`, full and compact),
//! 统一社会信用代码, resident IDs and GB/T 2260 region codes — parsed from any text a form, a
//! path or a QR code can carry: refused with a typed error, or parsed to a value that prints
//! back to text parsing to itself, whose accessors never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_core::{CertId, CreditCode, RegionCode, ResidentId};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    if let Ok(id) = text.parse::<CertId>() {
        cert_id(&id);
    }
    if let Ok(id) = CertId::from_compact(text) {
        cert_id(&id);
    }
    if let Ok(code) = text.parse::<CreditCode>() {
        assert_eq!(code.to_string().parse::<CreditCode>().as_ref(), Ok(&code));
        region(code.region());
        assert_eq!(json_round_trip(&code), code);
    }
    if let Ok(id) = text.parse::<ResidentId>() {
        assert_eq!(id.to_string().parse::<ResidentId>().as_ref(), Ok(&id));
        region(id.region());
        assert_eq!(id.birth_date().len(), 8);
        assert!(
            !id.masked().contains(&id.as_str()[6..14]),
            "masking hides the birth date"
        );
        assert_eq!(json_round_trip(&id), id);
    }
    if let Ok(r) = text.parse::<RegionCode>() {
        region(r);
    }
});

fn cert_id(id: &CertId) {
    assert_eq!(id.to_string().parse::<CertId>().as_ref(), Ok(id));
    assert_eq!(CertId::from_compact(id.compact()).as_ref(), Ok(id));
    assert_eq!(id.type_code().len(), 21);
    let _ = (id.serial(), id.version());
    region(id.issuing_region());
    assert_eq!(json_round_trip(id), *id);
}

fn region(r: RegionCode) {
    let chain = r.chain();
    assert_eq!(chain.last(), Some(&RegionCode::NATIONAL));
    assert_eq!(r.to_string().parse::<RegionCode>(), Ok(r));
    for up in &chain[1..] {
        assert!(r.is_under(*up));
        assert_eq!(
            up.child_towards(r).and_then(|c| c.parent()),
            Some(*up),
            "the way down starts with a child of the ancestor"
        );
    }
}

fn json_round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
    let json = serde_json::to_string(v).expect("serialises");
    serde_json::from_str(&json).expect("its JSON parses back")
}
