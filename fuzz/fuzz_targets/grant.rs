//! 授权 tokens as the wallet node receives them (base64url of the binary form) and as it
//! decodes them from storage: refused with a typed error, or decoded to a grant that encodes
//! back to itself; checking its signature, terms and use never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_core::{Grant, ResidentId};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(g) = Grant::try_from(text.to_owned()) {
            check(&g);
        }
    }
    if let Ok(g) = Grant::decode(data) {
        check(&g);
    }
});

fn check(g: &Grant) {
    let again = Grant::decode(&g.encode()).expect("re-encoded grant decodes");
    assert_eq!(&again, g, "binary round trip");
    let text = String::from(g.clone());
    assert_eq!(&Grant::try_from(text).expect("its base64url decodes"), g);
    let _ = g.terms.validate();
    let presenter: ResidentId = g.terms.grantee.resident_id.clone();
    for key in ecert_fuzz::keys::public_keys() {
        let _ = g.verify_signature(&key);
        let _ = g.verify_use(&key, g.terms.not_before, "411100-JS-0042", &presenter);
    }
}
