//! 亮证码 in its binary form, as `Presentation::decode` meets it after Base45: any bytes either
//! refuse cleanly or decode to a presentation that encodes back to itself, and verifying it
//! against a key never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_core::Presentation;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Presentation::decode(data) else {
        return;
    };
    let again = Presentation::decode(&p.encode()).expect("re-encoded presentation decodes");
    assert_eq!(again, p, "binary round trip");
    let from_text = Presentation::decode_text(&p.encode_text()).expect("its text form decodes too");
    assert_eq!(from_text, p, "text round trip");
    for key in ecert_fuzz::keys::public_keys() {
        let _ = p.verify(&key, p.issued_at);
    }
});
