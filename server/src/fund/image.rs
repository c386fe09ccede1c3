//! What an uploaded photo must be: a JPEG or PNG whose bytes say so, whole, of a sane size.
//!
//! The declared type is never trusted: the magic bytes decide, and must agree with it. A PNG's
//! chunks are walked with their CRCs (IHDR first, an IDAT, IEND last); a JPEG's markers are
//! walked up to the scan, which needs a frame header (SOF) with the picture's size, and the file
//! must end with EOI. Nothing is decoded, so nothing here can be made to allocate by the image.

/// The largest photo accepted, in bytes.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// The largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 10_000;

/// What the bytes were found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the photo is empty")]
    Empty,
    #[error("the photo is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("only image/jpeg and image/png are accepted")]
    TypeUnsupported,
    #[error("the bytes are neither a JPEG nor a PNG")]
    NotImage,
    #[error("the bytes are a {found}, not the declared type")]
    TypeMismatch { found: &'static str },
    #[error("the image is damaged or incomplete: {0}")]
    Damaged(&'static str),
    #[error("the image is {0}×{1} pixels; each side must be 1–{MAX_SIDE}")]
    BadSize(u32, u32),
}

impl ImageError {
    /// The stable code and the Chinese title the page shows.
    pub fn code_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ImageError::Empty => ("upload_empty", "请选择要上传的图片"),
            ImageError::TooLarge => ("upload_too_large", "图片不能超过2MB，请压缩后重新上传"),
            ImageError::TypeUnsupported => {
                ("upload_type_unsupported", "只能上传JPEG或PNG格式的图片")
            }
            ImageError::NotImage => ("upload_not_image", "上传的文件不是JPEG或PNG图片"),
            ImageError::TypeMismatch { .. } => {
                ("upload_type_mismatch", "图片的实际格式与声明的格式不符")
            }
            ImageError::Damaged(_) => ("upload_content_invalid", "图片已损坏或不完整，请重新拍摄"),
            ImageError::BadSize(..) => ("upload_dimensions_invalid", "图片尺寸不符合要求"),
        }
    }
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Checks `bytes` against the declared `Content-Type` (parameters such as `; charset` are
/// ignored).
pub fn check(declared: &str, bytes: &[u8]) -> Result<Checked, ImageError> {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let declared = match declared.as_str() {
        "image/jpeg" | "image/jpg" => "image/jpeg",
        "image/png" => "image/png",
        _ => return Err(ImageError::TypeUnsupported),
    };
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(ImageError::TooLarge);
    }
    let found = if bytes.starts_with(PNG_MAGIC) {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else {
        return Err(ImageError::NotImage);
    };
    if found != declared {
        return Err(ImageError::TypeMismatch { found });
    }
    let (width, height) = if found == "image/png" {
        png(bytes)?
    } else {
        jpeg(bytes)?
    };
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::BadSize(width, height));
    }
    Ok(Checked {
        content_type: found,
        width,
        height,
    })
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Walks the chunks; returns the size from IHDR.
fn png(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    let mut at = PNG_MAGIC.len();
    let mut size = None;
    let mut data = false;
    loop {
        let header = bytes
            .get(at..at + 8)
            .ok_or(ImageError::Damaged("truncated chunk"))?;
        let len = be32(&header[..4]) as usize;
        let kind = &header[4..8];
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(ImageError::Damaged("bad chunk type"));
        }
        let end = at
            .checked_add(12)
            .and_then(|n| n.checked_add(len))
            .filter(|&end| end <= bytes.len())
            .ok_or(ImageError::Damaged("chunk runs past the end"))?;
        let body = &bytes[at + 8..at + 8 + len];
        if crc32(&bytes[at + 4..at + 8 + len]) != be32(&bytes[at + 8 + len..end]) {
            return Err(ImageError::Damaged("chunk CRC"));
        }
        match kind {
            b"IHDR" if size.is_none() && at == PNG_MAGIC.len() && len == 13 => {
                size = Some((be32(&body[..4]), be32(&body[4..8])));
            }
            _ if size.is_none() => return Err(ImageError::Damaged("IHDR must come first")),
            b"IDAT" => data = true,
            b"IEND" => {
                if !data {
                    return Err(ImageError::Damaged("no image data"));
                }
                if end != bytes.len() {
                    return Err(ImageError::Damaged("bytes after IEND"));
                }
                return size.ok_or(ImageError::Damaged("no IHDR"));
            }
            _ => {}
        }
        at = end;
    }
}

/// Walks the markers up to the scan; returns the size from the frame header.
fn jpeg(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    let mut at = 2;
    let mut size = None;
    loop {
        let marker = match bytes.get(at..at + 2) {
            Some([0xFF, m]) => *m,
            _ => return Err(ImageError::Damaged("marker expected")),
        };
        match marker {
            // Fill bytes before a marker.
            0xFF => {
                at += 1;
                continue;
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                at += 2;
                continue;
            }
            0xD8 | 0xD9 => return Err(ImageError::Damaged("misplaced SOI/EOI")),
            _ => {}
        }
        let len = bytes
            .get(at + 2..at + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .filter(|&len| len >= 2)
            .ok_or(ImageError::Damaged("segment length"))?;
        let body = bytes
            .get(at + 4..at + 2 + len)
            .ok_or(ImageError::Damaged("segment runs past the end"))?;
        match marker {
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if body.len() < 6 {
                    return Err(ImageError::Damaged("short frame header"));
                }
                let height = u32::from(u16::from_be_bytes([body[1], body[2]]));
                let width = u32::from(u16::from_be_bytes([body[3], body[4]]));
                size = Some((width, height));
            }
            0xDA => {
                let size = size.ok_or(ImageError::Damaged("scan before the frame header"))?;
                let last = bytes
                    .iter()
                    .rposition(|&b| b != 0)
                    .ok_or(ImageError::Damaged("no end"))?;
                if last <= at + 2 + len || bytes[last - 1..=last] != [0xFF, 0xD9] {
                    return Err(ImageError::Damaged("no EOI at the end"));
                }
                return Ok(size);
            }
            _ => {}
        }
        at += 2 + len;
    }
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// CRC-32 (ISO 3309), as PNG chunks carry it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

/// A minimal well-formed PNG and JPEG of a given size, for tests and examples.
pub mod samples {
    use super::crc32;

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }

    /// A PNG header of `width`×`height` pixels with a token data chunk: the check never
    /// inflates the data, so it need not hold the pixels.
    pub fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = super::PNG_MAGIC.to_vec();
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(
            &mut out,
            b"IDAT",
            &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF],
        );
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A baseline JPEG header of `width`×`height` with a token scan.
    pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        out.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
        out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        out.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_jpeg_and_png_pass_with_their_size() {
        let p = check("image/png", &samples::png(640, 480)).unwrap();
        assert_eq!((p.content_type, p.width, p.height), ("image/png", 640, 480));
        let j = check("image/jpeg", &samples::jpeg(1200, 900)).unwrap();
        assert_eq!(
            (j.content_type, j.width, j.height),
            ("image/jpeg", 1200, 900)
        );
    }

    #[test]
    fn a_declared_type_that_lies_is_refused() {
        assert_eq!(
            check("image/png", &samples::jpeg(10, 10)),
            Err(ImageError::TypeMismatch {
                found: "image/jpeg"
            })
        );
        assert_eq!(
            check("image/jpeg", b"<html><script>alert(1)</script>"),
            Err(ImageError::NotImage)
        );
        assert_eq!(
            check("text/html", &samples::png(1, 1)),
            Err(ImageError::TypeUnsupported)
        );
    }

    #[test]
    fn damaged_or_oversized_images_are_refused() {
        let mut png = samples::png(20, 20);
        let last = png.len() - 20;
        png[last] ^= 1;
        assert!(matches!(
            check("image/png", &png),
            Err(ImageError::Damaged(_))
        ));
        let png = samples::png(20, 20);
        assert!(matches!(
            check("image/png", &png[..png.len() - 3]),
            Err(ImageError::Damaged(_))
        ));
        let jpeg = samples::jpeg(20, 20);
        assert!(matches!(
            check("image/jpeg", &jpeg[..jpeg.len() - 2]),
            Err(ImageError::Damaged(_))
        ));
        assert_eq!(
            check("image/png", &samples::png(20_000, 10)),
            Err(ImageError::BadSize(20_000, 10))
        );
        let mut big = samples::jpeg(10, 10);
        big.resize(MAX_BYTES + 1, 0);
        assert_eq!(check("image/jpeg", &big), Err(ImageError::TooLarge));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x1234_5678u32;
        let base = [samples::png(3, 3), samples::jpeg(3, 3)];
        for i in 0..2000 {
            let mut bytes = base[i % 2].clone();
            for _ in 0..3 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let at = (seed as usize) % bytes.len();
                bytes[at] = (seed >> 16) as u8;
            }
            bytes.truncate(1 + (seed as usize % bytes.len()));
            let _ = check("image/png", &bytes);
            let _ = check("image/jpeg", &bytes);
        }
    }
}
