//! Specifications of the signed formats: they round-trip, any changed bit is refused, and no
//! input makes a decoder panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use proptest::prelude::*;
use wallet_core::error::Coded;
use wallet_core::*;

/// Every single-bit change of `bytes` must be refused by `accept`.
fn every_bit_flip_is_refused(bytes: &[u8], accept: impl Fn(&[u8]) -> bool) {
    assert!(accept(bytes), "the original must be accepted");
    for i in 0..bytes.len() * 8 {
        let mut changed = bytes.to_vec();
        changed[i / 8] ^= 1 << (i % 8);
        assert!(!accept(&changed), "bit {i} flipped was still accepted");
    }
}

#[test]
fn a_grant_round_trips_through_bytes_and_json() {
    let g = grant();
    assert_eq!(Grant::decode(&g.encode()).unwrap(), g);
    let json = serde_json::to_string(&g).unwrap();
    assert_eq!(serde_json::from_str::<Grant>(&json).unwrap(), g);
}

#[test]
fn any_flipped_bit_of_a_grant_is_refused() {
    let key = device_key().public_key();
    every_bit_flip_is_refused(&grant().encode(), |b| {
        Grant::decode(b).is_ok_and(|g| g.verify_signature(&key).is_ok())
    });
}

#[test]
fn any_flipped_bit_of_a_presentation_is_refused() {
    for (p, key) in [
        (grant_presentation(), other_key()),
        (certificate_presentation(), device_key()),
    ] {
        let public = key.public_key();
        every_bit_flip_is_refused(&p.encode(), |b| {
            Presentation::decode(b).is_ok_and(|p| p.verify(&public, NOW).is_ok())
        });
    }
}

#[test]
fn any_flipped_bit_of_a_sealed_certificate_is_refused() {
    let trust = trust_list();
    let sealed = sealed().disclose(&["作业项目"]);
    every_bit_flip_is_refused(&sealed.encode(), |b| {
        SealedCertificate::decode(b).is_ok_and(|s| s.verify(&trust).is_ok())
    });
}

#[test]
fn a_presentation_round_trips_through_its_qr_text() {
    for p in [grant_presentation(), certificate_presentation()] {
        let text = p.encode_text();
        assert!(text.starts_with("EC1:"));
        assert!(text
            .bytes()
            .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b)));
        assert_eq!(Presentation::decode_text(&text).unwrap(), p);
        assert_eq!(
            Presentation::decode_text(&format!("{text}\r\n")).unwrap(),
            p
        );
    }
}

#[test]
fn presentation_time_rules() {
    let p = grant_presentation();
    let key = other_key().public_key();
    assert!(p.verify(&key, NOW).is_ok());
    assert!(p.verify(&key, NOW + 59).is_ok());
    assert_eq!(
        p.verify(&key, NOW + 60).unwrap_err().code(),
        "presentation_expired"
    );
    assert_eq!(
        p.verify(&key, NOW - CLOCK_SKEW_PLUS_ONE)
            .unwrap_err()
            .code(),
        "presentation_not_yet_valid"
    );
    assert!(
        p.verify(&key, NOW - 30).is_ok(),
        "a phone clock 30 s ahead is tolerated"
    );
    let long = Presentation::sign(&other_key(), p.resolve_at, p.subject.clone(), NOW, 301);
    assert_eq!(long.unwrap_err().code(), "presentation_lifetime_invalid");
}

const CLOCK_SKEW_PLUS_ONE: i64 = wallet_core::presentation::CLOCK_SKEW + 1;

#[test]
fn a_presentation_by_another_key_is_refused() {
    let p = grant_presentation();
    assert_eq!(
        p.verify(&device_key().public_key(), NOW)
            .unwrap_err()
            .code(),
        "presentation_presenter_mismatch"
    );
    // Same key id claimed, other key's signature: re-sign with another key but keep the id.
    let mut forged = Presentation::sign_with_nonce(
        &device_key(),
        p.resolve_at,
        p.subject.clone(),
        NOW,
        60,
        p.nonce,
    )
    .unwrap();
    forged.presenter = p.presenter;
    assert_eq!(
        forged
            .verify(&other_key().public_key(), NOW)
            .unwrap_err()
            .code(),
        "presentation_signature_invalid"
    );
}

#[test]
fn bad_presentation_texts_have_their_codes() {
    let code = |t: &str| Presentation::decode_text(t).unwrap_err().code();
    assert_eq!(code("hello"), "presentation_text_prefix");
    assert_eq!(code("EC2:ABC"), "presentation_version");
    assert_eq!(code("EC1:ab"), "text_base45");
    assert_eq!(code("EC1:"), "codec_truncated");
    assert_eq!(
        code(&format!("EC1:{}", "0".repeat(500))),
        "presentation_text_too_long"
    );
    let mut text = grant_presentation().encode_text();
    text.push_str("000");
    assert_eq!(code(&text), "codec_trailing_bytes");
}

#[test]
fn signatures_do_not_cross_structures() {
    // A grant's signature, moved onto a presentation by the same key, is refused.
    let g = grant();
    let mut p = certificate_presentation();
    p.signature = g.signature;
    assert_eq!(
        p.verify(&device_key().public_key(), NOW)
            .unwrap_err()
            .code(),
        "presentation_signature_invalid"
    );
}

#[test]
fn grant_rules_have_their_codes() {
    let key = device_key().public_key();
    let g = grant();
    let matter = "411100-JS-0042";
    assert!(g.verify_use(&key, NOW, matter, &grantee_id()).is_ok());
    let code = |r: Result<(), wallet_core::grant::GrantError>| r.unwrap_err().code();
    assert_eq!(
        code(g.verify_use(&key, NOW + DAY, matter, &grantee_id())),
        "grant_expired"
    );
    assert_eq!(
        code(g.verify_use(&key, NOW - 7200, matter, &grantee_id())),
        "grant_not_yet_valid"
    );
    assert_eq!(
        code(g.verify_use(&key, NOW, "411100-JS-0043", &grantee_id())),
        "grant_matter_not_covered"
    );
    assert_eq!(
        code(g.verify_use(&key, NOW, matter, &holder_id())),
        "grant_grantee_mismatch"
    );
    assert_eq!(
        code(g.verify_use(&other_key().public_key(), NOW, matter, &grantee_id())),
        "grant_signer_mismatch"
    );

    let mut t = grant_terms();
    t.not_after = t.not_before + 30 * DAY + 1;
    assert_eq!(
        t.sign(&device_key()).unwrap_err().code(),
        "grant_window_too_long"
    );
    let mut t = grant_terms();
    t.not_after = t.not_before;
    assert_eq!(
        t.sign(&device_key()).unwrap_err().code(),
        "grant_window_empty"
    );
    let mut t = grant_terms();
    t.matters = MatterScope::Named(vec![]);
    assert_eq!(
        t.sign(&device_key()).unwrap_err().code(),
        "grant_matters_invalid"
    );
    let mut t = grant_terms();
    t.use_limit = Some(0);
    assert_eq!(
        t.sign(&device_key()).unwrap_err().code(),
        "grant_use_limit_invalid"
    );
    let mut t = grant_terms();
    t.grantee.name = "  ".into();
    assert_eq!(
        t.sign(&device_key()).unwrap_err().code(),
        "grant_grantee_name_invalid"
    );
}

#[test]
fn a_grant_for_all_matters_covers_any_matter() {
    let mut t = grant_terms();
    t.matters = MatterScope::All;
    let g = t.sign(&device_key()).unwrap();
    assert!(g
        .verify_use(&device_key().public_key(), NOW, "anything-1", &grantee_id())
        .is_ok());
}

#[test]
fn the_seal_verifies_over_disclosed_fields_only() {
    let trust = trust_list();
    let full = sealed();
    full.verify_at(&trust, NOW).unwrap();
    let partial = full.disclose(&["作业项目", "证书编号"]);
    assert_eq!(partial.certificate.fields.len(), 2);
    assert_eq!(partial.withheld.len(), 1);
    partial.verify(&trust).unwrap();
    assert_eq!(
        SealedCertificate::decode(&partial.encode()).unwrap(),
        partial
    );
    assert!(!String::from(partial.clone()).is_empty());

    let mut changed = partial.clone();
    changed.certificate.fields[0].value = "起重机司机 Q2".into();
    assert_eq!(changed.verify(&trust).unwrap_err().code(), "seal_invalid");
    let mut dropped = partial.clone();
    dropped.certificate.fields.pop();
    assert_eq!(dropped.verify(&trust).unwrap_err().code(), "seal_invalid");
}

#[test]
fn seal_trust_rules_have_their_codes() {
    use wallet_core::trust_list::TrustEntry;
    let s = sealed();
    // Unknown key.
    assert_eq!(
        s.verify(&TrustList::default()).unwrap_err().code(),
        "seal_key_unknown"
    );
    // Key listed for another issuer.
    let mut other_issuer = trust_list();
    other_issuer.entries[0].issuer = CreditCode::with_check_char("11410100MB7654321").unwrap();
    assert_eq!(
        s.verify(&other_issuer).unwrap_err().code(),
        "seal_issuer_mismatch"
    );
    // Key retired before it sealed.
    let mut retired = trust_list();
    retired.entries[0].not_after = Some(s.seal.sealed_at - 1);
    assert_eq!(s.verify(&retired).unwrap_err().code(), "seal_key_not_valid");
    // Key retired after it sealed: what it sealed stays valid.
    let mut rotated = trust_list();
    rotated.entries[0].not_after = Some(s.seal.sealed_at + 1);
    rotated.entries.push(TrustEntry {
        key: other_key().public_key(),
        not_before: s.seal.sealed_at + 1,
        ..trust_list().entries[0].clone()
    });
    s.verify(&rotated).unwrap();
    // Expiry and not-yet-valid are separate from the seal.
    assert_eq!(
        s.verify_at(&trust_list(), NOW + 1000 * DAY)
            .unwrap_err()
            .code(),
        "certificate_expired"
    );
    assert_eq!(
        s.verify_at(&trust_list(), NOW - 401 * DAY)
            .unwrap_err()
            .code(),
        "certificate_not_yet_valid"
    );
    // A seal made by a key the issuer never had, claiming the trusted key's id.
    let mut forged = Seal::sign(certificate(), &other_key(), s.seal.sealed_at).unwrap();
    forged.seal.key_id = s.seal.key_id;
    assert_eq!(
        forged.verify(&trust_list()).unwrap_err().code(),
        "seal_invalid"
    );
}

#[test]
fn receipts_bindings_and_envelopes_verify_and_refuse() {
    use wallet_core::binding::BindingTerms;
    use wallet_core::receipt::{digest_hex, ReceiptTerms};
    let node = seal_key();
    let returned = sealed().disclose(&["作业项目"]).encode();
    let receipt = ReceiptTerms {
        correlation_id: "c0ffee".into(),
        owner: RegionCode::new(410100).unwrap(),
        requested_by: RegionCode::new(411100).unwrap(),
        cert_id: cert_id(),
        status: CertStatus::Valid,
        matter: "411100-JS-0042".into(),
        grant: Some(GrantId([0x5a; 16])),
        certificate_digest: digest_hex(&returned),
        retrieved_at: NOW,
    }
    .sign(&node);
    receipt.verify(&node.public_key(), &returned).unwrap();
    assert_eq!(
        receipt
            .verify(&node.public_key(), b"other")
            .unwrap_err()
            .code(),
        "receipt_digest_mismatch"
    );
    assert_eq!(
        receipt
            .verify(&other_key().public_key(), &returned)
            .unwrap_err()
            .code(),
        "receipt_signer_mismatch"
    );
    let mut revoked = receipt.clone();
    revoked.terms.status = CertStatus::Revoked;
    assert_eq!(
        revoked
            .verify(&node.public_key(), &returned)
            .unwrap_err()
            .code(),
        "receipt_signature_invalid"
    );

    let binding = BindingTerms {
        province: RegionCode::new(410000).unwrap(),
        resident_id: holder_id(),
        device_key: device_key().public_key(),
        bound_at: NOW,
    }
    .sign(&node);
    binding.verify(&node.public_key()).unwrap();
    let mut moved = binding.clone();
    moved.terms.device_key = other_key().public_key();
    assert_eq!(
        moved.verify(&node.public_key()).unwrap_err().code(),
        "binding_signature_invalid"
    );

    let henan = RegionCode::new(410000).unwrap();
    let zz = RegionCode::new(410100).unwrap();
    let env = NodeEnvelope::seal(&node, zz, henan, NOW, "{\"revoked\":true}".into());
    assert_eq!(
        env.open(&node.public_key(), henan).unwrap(),
        "{\"revoked\":true}"
    );
    assert_eq!(
        env.open(&node.public_key(), zz).unwrap_err().code(),
        "envelope_wrong_recipient"
    );
    let mut edited = env.clone();
    edited.payload = "{\"revoked\":false}".into();
    assert_eq!(
        edited.open(&node.public_key(), henan).unwrap_err().code(),
        "envelope_signature_invalid"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Presentation::decode(&bytes);
        let _ = Grant::decode(&bytes);
        let _ = SealedCertificate::decode(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parsers(text in "\\PC{0,120}") {
        let _ = Presentation::decode_text(&text);
        let _ = Presentation::decode_text(&format!("EC1:{text}"));
        let _ = text.parse::<CertId>();
        let _ = text.parse::<CreditCode>();
        let _ = text.parse::<ResidentId>();
        let _ = text.parse::<RegionCode>();
    }

    #[test]
    fn arbitrary_id_shaped_text_never_panics(text in "1\\.2\\.156\\.3005\\.2\\.[0-9A-Z.]{0,90}") {
        let _ = text.parse::<CertId>();
    }

    #[test]
    fn truncated_encodings_are_refused(cut in 0usize..115) {
        let bytes = grant_presentation().encode();
        prop_assert!(Presentation::decode(&bytes[..cut]).is_err());
    }

    #[test]
    fn grants_with_any_window_and_matters_round_trip(
        start in 0i64..4_000_000_000,
        len in 1i64..=30 * 24 * 3600,
        codes in proptest::collection::vec("[A-Za-z0-9._-]{1,64}", 1..16),
        limit in proptest::option::of(1u32..),
    ) {
        let mut t = grant_terms();
        t.not_before = start;
        t.not_after = start + len;
        t.matters = MatterScope::Named(codes);
        t.use_limit = limit;
        let g = t.sign(&device_key()).unwrap();
        let back = Grant::decode(&g.encode()).unwrap();
        prop_assert!(back.verify_signature(&device_key().public_key()).is_ok());
        prop_assert_eq!(back, g);
    }

    #[test]
    fn certificates_with_any_fields_round_trip(
        fields in proptest::collection::btree_map("\\PC{1,20}", "\\PC{0,100}", 0..20),
    ) {
        let mut c = certificate();
        c.fields = fields.into_iter().enumerate()
            .map(|(i, (name, value))| certificate::Field { name, value, salt: [i as u8; 16] })
            .collect();
        let s = Seal::sign(c, &seal_key(), NOW).unwrap();
        let back = SealedCertificate::decode(&s.encode()).unwrap();
        prop_assert!(back.verify(&trust_list()).is_ok());
        prop_assert_eq!(back, s);
    }
}

#[test]
fn a_sealed_certificate_showing_a_field_name_twice_is_refused_when_decoded() {
    // 作业项目 and 证书编号 are both twelve bytes: writing the first name over the second
    // keeps every length right, so only the repetition is wrong.
    let bytes = sealed().encode();
    let (first, second) = ("作业项目".as_bytes(), "证书编号".as_bytes());
    let at = bytes
        .windows(second.len())
        .position(|w| w == second)
        .unwrap();
    let mut repeated = bytes.clone();
    repeated[at..at + second.len()].copy_from_slice(first);
    let err = SealedCertificate::decode(&repeated).unwrap_err();
    assert_eq!(err.code(), "codec_invalid", "{err}");
    assert!(SealedCertificate::decode(&bytes).is_ok());
}
