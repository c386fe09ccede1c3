//! QR rendering: error-correction level M, quiet zone included, SVG out.
//!
//! Level M survives about 15 % damage (a scratched phone screen, glare) while keeping the
//! symbol small enough for a cheap counter scanner at arm's length. The `qrcode` crate encodes
//! (it picks the alphanumeric mode for our Base45 text on its own); the mask choice and the
//! drawing are ours, because the crate's generic versions took about a millisecond per code,
//! a cost the phone pays every 60 seconds and the bench measures.

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, Version};

use crate::error::Coded;

const QUIET: usize = 4;
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the text does not fit a QR code: {0}")]
    TooLong(String),
}

impl Coded for QrError {
    fn code(&self) -> &'static str {
        "qr_too_long"
    }
    fn message_zh(&self) -> &'static str {
        "内容过长，无法生成二维码"
    }
}

/// A finished symbol: version and dark modules, row by row.
#[derive(Debug, Clone)]
pub struct Symbol {
    pub version: u8,
    pub width: usize,
    pub dark: Vec<bool>,
}

fn too_long(e: impl std::fmt::Display) -> QrError {
    QrError::TooLong(e.to_string())
}

/// Encodes `text` at level M in the smallest version, with the mask of least penalty.
pub fn encode(text: &str) -> Result<Symbol, QrError> {
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M).map_err(too_long)?;
    let version = bits.version();
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M)
        .map_err(too_long)?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let width = version.width() as usize;
    let (_, dark) = MASKS
        .iter()
        .map(|&mask| {
            let mut c = canvas.clone();
            c.apply_mask(mask);
            let dark: Vec<bool> = c
                .into_colors()
                .into_iter()
                .map(|m| m == Color::Dark)
                .collect();
            (penalty(&dark, width), dark)
        })
        .min_by_key(|(p, _)| *p)
        .ok_or_else(|| QrError::TooLong("no mask".into()))?;
    let version = match version {
        Version::Normal(v) | Version::Micro(v) => v as u8,
    };
    Ok(Symbol {
        version,
        width,
        dark,
    })
}

/// The QR version (1–40) that `text` needs at level M.
pub fn version(text: &str) -> Result<u8, QrError> {
    Ok(encode(text)?.version)
}

/// ISO/IEC 18004 §7.8.3 mask penalty: long runs, 2×2 blocks, finder-like patterns, imbalance.
fn penalty(dark: &[bool], n: usize) -> u32 {
    let at = |x: usize, y: usize| dark[y * n + x];
    let mut score = 0u32;
    for horizontal in [true, false] {
        for a in 0..n {
            let line: Vec<bool> = (0..n)
                .map(|b| if horizontal { at(b, a) } else { at(a, b) })
                .collect();
            // N1: runs of five or more.
            let mut run = 1;
            for i in 1..=n {
                if i < n && line[i] == line[i - 1] {
                    run += 1;
                } else {
                    if run >= 5 {
                        score += 3 + (run - 5);
                    }
                    run = 1;
                }
            }
            // N3: dark-light-dark-dark-dark-light-dark with four light modules on one side.
            const CORE: [bool; 7] = [true, false, true, true, true, false, true];
            for i in 0..n.saturating_sub(6) {
                if line[i..i + 7] != CORE {
                    continue;
                }
                let light = |r: std::ops::Range<usize>| r.clone().all(|j| j >= n || !line[j]);
                let before = i < 4 || light(i - 4..i);
                let after = light(i + 7..i + 11);
                if (i >= 4 && before) || after {
                    score += 40;
                }
            }
        }
    }
    // N2: 2×2 blocks of one colour.
    for y in 0..n - 1 {
        for x in 0..n - 1 {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    // N4: 10 points per 5 % away from half dark.
    let dark_count = dark.iter().filter(|&&d| d).count();
    let percent = dark_count * 100 / dark.len();
    score += (percent.abs_diff(50) / 5) as u32 * 10;
    score
}

/// An SVG of the QR code for `text`, with the four-module quiet zone, `px` wide.
///
/// Drawn in module units (the `viewBox`), one path with one segment per horizontal run of dark
/// modules: far smaller than a square per module.
pub fn svg(text: &str, px: u32) -> Result<String, QrError> {
    Ok(render_svg(&encode(text)?, px))
}

pub fn render_svg(symbol: &Symbol, px: u32) -> String {
    use std::fmt::Write;
    let n = symbol.width;
    let size = n + 2 * QUIET;
    let mut out = String::with_capacity(256 + n * n);
    let _ = write!(
        out,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" "#,
            r#"viewBox="0 0 {s} {s}" shape-rendering="crispEdges">"#,
            r##"<rect width="{s}" height="{s}" fill="#fff"/><path fill="#000" d=""##
        ),
        px = px,
        s = size
    );
    for (y, row) in symbol.dark.chunks(n).enumerate() {
        let mut x = 0;
        while x < n {
            if !row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < n && row[x] {
                x += 1;
            }
            let _ = write!(
                out,
                "M{} {}h{}v1h-{}z",
                start + QUIET,
                y + QUIET,
                x - start,
                x - start
            );
        }
    }
    out.push_str(r#""/></svg>"#);
    out
}
