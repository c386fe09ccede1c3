//! The QR code a phone shows must be read back by an independent decoder, and stay small
//! enough for a counter scanner: version 7 for a grant, 10 for anything.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use resvg::{tiny_skia, usvg};
use wallet_core::*;

/// Rasterizes the SVG with resvg and decodes it with rqrr: no code shared with the encoder.
fn read_back(svg: &str) -> String {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("svg parses");
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let data = pixmap.data();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| data[(y * w + x) * 4]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code in the picture");
    grids[0].decode().expect("QR decodes").1
}

#[test]
fn the_rendered_svg_reads_back_to_the_same_text() {
    for p in [grant_presentation(), certificate_presentation()] {
        let text = p.encode_text();
        let svg = qr::svg(&text, 256).unwrap();
        assert_eq!(read_back(&svg), text);
    }
}

#[test]
fn the_svg_keeps_a_quiet_zone() {
    let text = grant_presentation().encode_text();
    let svg = qr::svg(&text, 256).unwrap();
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let version = qr::version(&text).unwrap() as u32;
    let modules = 17 + 4 * version + 8;
    let module_px = size.width() / modules;
    // The outer four modules on every side are light.
    let w = size.width() as usize;
    for y in 0..(4 * module_px) as usize {
        for x in 0..w {
            assert_eq!(
                pixmap.data()[(y * w + x) * 4],
                255,
                "dark pixel in the quiet zone at {x},{y}"
            );
        }
    }
}

#[test]
fn a_grant_presentation_fits_version_7_at_level_m() {
    let p = grant_presentation();
    assert_eq!(p.encode().len(), 115);
    assert!(qr::version(&p.encode_text()).unwrap() <= 7);
}

#[test]
fn the_longest_presentation_fits_version_10_at_level_m() {
    let issuer = zhengzhou_issuer();
    let longest = CertId::new("11100000000013338W011", &issuer, &"Z".repeat(32), 999).unwrap();
    let p = Presentation::sign_with_nonce(
        &device_key(),
        RegionCode::new(100000).unwrap(),
        Subject::Certificate(longest),
        u32::MAX as i64 - 300,
        300,
        [0xff; 16],
    )
    .unwrap();
    let text = p.encode_text();
    assert!(text.len() <= wallet_core::presentation::MAX_TEXT_LEN);
    assert!(
        qr::version(&text).unwrap() <= 10,
        "version {}",
        qr::version(&text).unwrap()
    );
    assert_eq!(read_back(&qr::svg(&text, 300).unwrap()), text);
}
