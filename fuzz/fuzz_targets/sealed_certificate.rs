//! Sealed certificates as a node receives them from another (base64url of the binary form)
//! and as the counter page decodes them: refused with a typed error, or decoded to a
//! certificate that encodes back to itself; verifying its seal, disclosing fields and checking
//! its validity never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_core::SealedCertificate;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(s) = SealedCertificate::try_from(text.to_owned()) {
            check(&s);
        }
    }
    if let Ok(s) = SealedCertificate::decode(data) {
        check(&s);
    }
});

fn check(s: &SealedCertificate) {
    let again = SealedCertificate::decode(&s.encode()).expect("re-encoded certificate decodes");
    assert_eq!(again.encode(), s.encode(), "binary round trip");
    let trust = ecert_fuzz::keys::trust_list();
    let _ = s.verify(&trust);
    let _ = s.verify_at(&trust, s.seal.sealed_at);
    let _ = s.certificate.validate();
    let _ = s.certificate.check_validity(s.certificate.valid_from);
    let names: Vec<&str> = s
        .certificate
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    for n in 0..=names.len() {
        let shown = s.disclose(&names[..n]);
        // Decoding does not refuse repeated names, so a name may show more than one field.
        assert!(shown
            .certificate
            .fields
            .iter()
            .all(|f| names[..n].contains(&f.name.as_str())));
        assert_eq!(
            shown.certificate.fields.len() + shown.withheld.len(),
            s.certificate.fields.len() + s.withheld.len(),
            "disclosing hides fields, it never loses one"
        );
    }
}
