//! 亮证码 as the counter's scanner types it (`EC1:` + Base45, or anything else a scanner or a
//! person can type): refused with a typed error or decoded to a presentation whose text form
//! decodes back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_core::{base45, Presentation};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(bytes) = base45::decode(&text) {
        assert_eq!(
            base45::decode(&base45::encode(&bytes)).expect("re-encoded Base45 decodes"),
            bytes
        );
    }
    let Ok(p) = Presentation::decode_text(&text) else {
        return;
    };
    let again = Presentation::decode_text(&p.encode_text()).expect("re-encoded text decodes");
    assert_eq!(again, p, "text round trip");
});
