//! The compact binary form shared by every signed structure.
//!
//! Big-endian integers; strings and byte strings carry a `u16` length; every read is capped
//! by the caller's limit, so a hostile length can neither allocate much nor read past the end,
//! and a decoder that finishes with bytes left over refuses the input. Decoding never panics.

use crate::error::Coded;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("input ends before {0} is complete")]
    Truncated(&'static str),
    #[error("{what} is longer than {max}")]
    TooLong { what: &'static str, max: usize },
    #[error("{0} bytes left over after the structure")]
    TrailingBytes(usize),
    #[error("{0} is not valid UTF-8")]
    Utf8(&'static str),
    #[error("unknown {what} tag {tag}")]
    Tag { what: &'static str, tag: u8 },
    #[error("format version {0} is not supported")]
    Version(u8),
    #[error("{0} is malformed")]
    Invalid(&'static str),
}

impl Coded for CodecError {
    fn code(&self) -> &'static str {
        match self {
            CodecError::Truncated(_) => "codec_truncated",
            CodecError::TooLong { .. } => "codec_too_long",
            CodecError::TrailingBytes(_) => "codec_trailing_bytes",
            CodecError::Utf8(_) => "codec_utf8",
            CodecError::Tag { .. } => "codec_tag",
            CodecError::Version(_) => "codec_version",
            CodecError::Invalid(_) => "codec_invalid",
        }
    }
    fn message_zh(&self) -> &'static str {
        "数据格式错误，无法识别"
    }
}

/// Appends fields in order.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// A `u16` length, then the bytes. Callers keep lengths within their decoder's cap.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let len = u16::try_from(v.len()).unwrap_or(u16::MAX);
        self.u16(len);
        self.buf.extend_from_slice(&v[..usize::from(len)]);
        self
    }
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    pub fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.u8(1).i64(v),
            None => self.u8(0),
        }
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields in order, never past the end and never more than each cap allows.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes read so far: what a signature covers when it comes last.
    pub fn consumed(&self) -> &'a [u8] {
        &self.buf[..self.pos]
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).ok_or(CodecError::Truncated(what))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(CodecError::Truncated(what))?;
        self.pos = end;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    pub fn i64(&mut self, what: &'static str) -> Result<i64, CodecError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        let len = usize::from(self.u16(what)?);
        if len > max {
            return Err(CodecError::TooLong { what, max });
        }
        self.take(len, what)
    }

    pub fn str(&mut self, max: usize, what: &'static str) -> Result<&'a str, CodecError> {
        std::str::from_utf8(self.bytes(max, what)?).map_err(|_| CodecError::Utf8(what))
    }

    /// A string that must parse as `T`; a parse failure is reported as malformed `what`.
    pub fn parsed<T: std::str::FromStr>(
        &mut self,
        max: usize,
        what: &'static str,
    ) -> Result<T, CodecError> {
        self.str(max, what)?
            .parse()
            .map_err(|_| CodecError::Invalid(what))
    }

    pub fn opt_i64(&mut self, what: &'static str) -> Result<Option<i64>, CodecError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.i64(what)?)),
            tag => Err(CodecError::Tag { what, tag }),
        }
    }

    /// Refuses input with bytes left over, so one encoding maps to exactly one value.
    pub fn finish(self) -> Result<(), CodecError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            n => Err(CodecError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_in_order() {
        let mut w = Writer::new();
        w.u8(7)
            .u16(300)
            .u32(70000)
            .i64(-5)
            .str("郑州")
            .opt_i64(None)
            .opt_i64(Some(9));
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u16("b").unwrap(), 300);
        assert_eq!(r.u32("c").unwrap(), 70000);
        assert_eq!(r.i64("d").unwrap(), -5);
        assert_eq!(r.str(10, "e").unwrap(), "郑州");
        assert_eq!(r.opt_i64("f").unwrap(), None);
        assert_eq!(r.opt_i64("g").unwrap(), Some(9));
        r.finish().unwrap();
    }

    #[test]
    fn caps_and_ends_are_enforced() {
        let mut w = Writer::new();
        w.str("abcdef");
        let bytes = w.finish();
        assert_eq!(
            Reader::new(&bytes).str(5, "s"),
            Err(CodecError::TooLong { what: "s", max: 5 })
        );
        assert_eq!(
            Reader::new(&bytes[..4]).str(10, "s"),
            Err(CodecError::Truncated("s"))
        );
        let mut r = Reader::new(&bytes);
        r.u8("x").unwrap();
        assert_eq!(r.finish(), Err(CodecError::TrailingBytes(7)));
    }
}
