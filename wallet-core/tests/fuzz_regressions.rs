//! Inputs the fuzz targets in `fuzz/` found to crash the core, each kept as the behaviour it
//! should have had: a typed refusal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use wallet_core::error::Coded;
use wallet_core::grant::GrantError;
use wallet_core::presentation::PresentationError;
use wallet_core::{CertId, Grant, Presentation, SecretKey};

/// A type code of 21 bytes whose 17th to 19th bytes are one character (中): slicing its first
/// 18 bytes as the ministry's credit code cut the character in half and panicked.
const SPLIT_TYPE_CODE: &str = "1110000000001333中W1";

#[test]
fn a_certificate_id_with_a_character_across_the_ministry_code_is_refused_not_a_panic() {
    assert_eq!(SPLIT_TYPE_CODE.len(), 21);
    let text =
        format!("1.2.156.3005.2.{SPLIT_TYPE_CODE}.11410100MB1234567W.ZZ7Q2M4K9T3B8N6R.001.2");
    let err = text.parse::<CertId>().unwrap_err();
    assert_eq!(err.code(), "cert_id_structure");
}

#[test]
fn a_compact_certificate_id_from_a_scanned_code_with_that_character_is_refused_not_a_panic() {
    let compact = format!("{SPLIT_TYPE_CODE}.11410100MB1234567W.ZZ7Q2M4K9T3B8N6R.001.2");
    assert_eq!(
        CertId::from_compact(&compact).unwrap_err().code(),
        "cert_id_structure"
    );
    // The same id inside a presentation's binary form, as the counter decodes a QR code.
    let mut bytes = vec![1, 0x06, 0x41, 0x90, 1, compact.len() as u8];
    bytes.extend_from_slice(compact.as_bytes());
    bytes.extend_from_slice(&[0; 8 + 4 + 2 + 16 + 64]);
    assert!(matches!(
        Presentation::decode(&bytes),
        Err(PresentationError::Codec(_))
    ));
}

#[test]
fn the_input_the_fuzzer_found_is_refused_as_a_compact_id() {
    // fuzz/artifacts/identifiers/crash-dd8d8d7b…: bytes that are not UTF-8, read lossily.
    let found = String::from_utf8_lossy(b"BB\n\0\xff\xff\xff\xff\xff\x1a2.156.3005.2.B8B:BR\x08");
    assert!(CertId::from_compact(&found).is_err());
}

/// fuzz/artifacts/grant/crash-b239d7d3…: a grant whose window starts at i64::MIN. Its length
/// overflowed the subtraction in `validate` (a panic in a checked build; in a release build a
/// wrapped, negative length that passed as short).
const ENDLESS_GRANT: &str = "AVpaWlpaWlpaWlpaWlpaWloAPzExMTAwMDAwMDAwMDEzMzM4VzAxMS4xMTQxMDEwME1CMTIzNDU2N1cuWlo3UTJNNEs5VDNCOE42Ui4wMDEuMgEAEjQxMDEwMjE5ODUwMzEyMDAzMAASNDExMTAyMTk5MDAxMDEwMDIxAAAAAIAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAG5p2O5YrRNBPI17qgY2dbW9hbb4OG";

#[test]
fn a_grant_whose_window_is_longer_than_an_i64_holds_is_refused_as_too_long() {
    let grant = Grant::decode(&B64.decode(ENDLESS_GRANT).unwrap()).unwrap();
    assert_eq!(grant.terms.not_before, i64::MIN);
    assert_eq!(grant.terms.validate(), Err(GrantError::WindowTooLong));
    // Re-signed by its own key, it still cannot pass.
    let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
    assert_eq!(
        grant.terms.clone().sign(&key),
        Err(GrantError::WindowTooLong)
    );
}
