//! Byte-level helpers shared by every on-disk format of the crate (the hash-list header and
//! sections, the index sections): bounds-checked little-endian reads, a cursor whose reads fail
//! with [`ErrorKind::Truncated`](crate::ErrorKind::Truncated), the 64-byte alignment rule, and
//! the checks every section header starts with (magic, version, declared length).
//!
//! There is one copy of each, here: a reader that needs another helper adds it here.
//!
//! Reads come in three flavours:
//! - `*_at_byte` / `u16_at` / `u32_at`: `Option`, for data that may be out of range;
//! - `le_*`: a default (0) past the end, for fields whose bounds were checked when the
//!   header was parsed (so no later read can panic, even on a corrupt file);
//! - [`Cursor`]: sequential reads that fail with a `Truncated` error naming the structure.

use crate::error::{Error, Result};

/// The alignment of sections and section arrays, in bytes.
pub(crate) const ALIGN: usize = 64;

/// Rounds `n` up to a multiple of [`ALIGN`], or `None` on overflow.
#[inline]
pub(crate) fn align64(n: usize) -> Option<usize> {
    n.checked_add(ALIGN - 1).map(|v| v & !(ALIGN - 1))
}

/// Rounds `n` up to a multiple of [`ALIGN`], or `None` on overflow (file offsets).
#[inline]
pub(crate) fn align_up(n: u64) -> Option<u64> {
    let a = ALIGN as u64;
    n.checked_add(a - 1).map(|v| v & !(a - 1))
}

/// The `N` bytes at byte offset `off`, or `None` past the end.
#[inline(always)]
fn array_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// The little-endian `u16` at byte offset `off`, or `None` past the end.
#[inline(always)]
pub(crate) fn u16_at_byte(b: &[u8], off: usize) -> Option<u16> {
    array_at(b, off).map(u16::from_le_bytes)
}

/// The little-endian `u32` at byte offset `off`, or `None` past the end.
#[inline(always)]
pub(crate) fn u32_at_byte(b: &[u8], off: usize) -> Option<u32> {
    array_at(b, off).map(u32::from_le_bytes)
}

/// The little-endian `u64` at byte offset `off`, or `None` past the end.
#[inline(always)]
pub(crate) fn u64_at_byte(b: &[u8], off: usize) -> Option<u64> {
    array_at(b, off).map(u64::from_le_bytes)
}

/// The `i`-th little-endian `u16` of `b`, or `None` past the end.
#[inline(always)]
pub(crate) fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    u16_at_byte(b, i.checked_mul(2)?)
}

/// The `i`-th little-endian `u32` of `b`, or `None` past the end.
#[inline(always)]
pub(crate) fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    u32_at_byte(b, i.checked_mul(4)?)
}

/// The little-endian `u16` at byte offset `off`, or 0 past the end (a field whose bounds were
/// checked when its header was parsed).
#[inline(always)]
pub(crate) fn le_u16(b: &[u8], off: usize) -> u16 {
    u16_at_byte(b, off).unwrap_or(0)
}

/// The little-endian `u32` at byte offset `off`, or 0 past the end.
#[inline(always)]
pub(crate) fn le_u32(b: &[u8], off: usize) -> u32 {
    u32_at_byte(b, off).unwrap_or(0)
}

/// The little-endian `u64` at byte offset `off`, or 0 past the end.
#[inline(always)]
pub(crate) fn le_u64(b: &[u8], off: usize) -> u64 {
    u64_at_byte(b, off).unwrap_or(0)
}

/// Writes `v` little-endian at byte offset `off`.
///
/// # Panics
///
/// If `b` is too short: writers size their buffers first.
pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` little-endian at byte offset `off`.
///
/// # Panics
///
/// If `b` is too short: writers size their buffers first.
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` little-endian at byte offset `off`.
///
/// # Panics
///
/// If `b` is too short: writers size their buffers first.
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// A `u64` from a file as a `usize`, saturating, so that a huge value fails the bounds checks
/// that follow instead of wrapping.
#[inline]
pub(crate) fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Sequential little-endian reads from a byte buffer; a read past the end is an
/// [`ErrorKind::Truncated`](crate::ErrorKind::Truncated) error naming `what`.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// A cursor at byte `pos` of `bytes`, which hold a `what` (e.g. "hash list header").
    pub(crate) fn at(bytes: &'a [u8], pos: usize, what: &'static str) -> Cursor<'a> {
        Cursor { bytes, pos, what }
    }

    /// The next byte offset to read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    ///
    /// `Truncated` when fewer than `n` bytes are left.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n);
        match end.and_then(|e| self.bytes.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(Error::truncated(
                self.what,
                (self.pos as u64).saturating_add(n as u64),
                self.bytes.len() as u64,
            )),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// The next little-endian `u16`.
    pub(crate) fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// The next little-endian `u32`.
    pub(crate) fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// The next little-endian `u64`.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// The next four bytes, as a tag.
    pub(crate) fn tag(&mut self) -> Result<[u8; 4]> {
        self.array()
    }
}

/// Fails with `Truncated` naming `what` unless `b` holds at least `needed` bytes.
pub(crate) fn need_len(b: &[u8], needed: u64, what: &str) -> Result<()> {
    if (b.len() as u64) < needed {
        return Err(Error::truncated(what, needed, b.len() as u64));
    }
    Ok(())
}

/// Fails with `Unsupported` unless `b` starts with `magic`: the bytes are not a `what` at all
/// (or one of a kind this build does not know).
pub(crate) fn check_magic(b: &[u8], magic: &[u8], what: &str) -> Result<()> {
    if b.get(..magic.len()) != Some(magic) {
        return Err(Error::unsupported(format!(
            "not a hashsieve {what} (bad magic bytes)"
        )));
    }
    Ok(())
}

/// Fails with [`ErrorKind::Version`](crate::ErrorKind::Version) unless `min <= found <= max`.
pub(crate) fn check_version(found: u32, min: u32, max: u32, what: &'static str) -> Result<()> {
    if found < min || found > max {
        return Err(Error::version(what, found, max));
    }
    Ok(())
}

/// The fields every index section header (BK-tree, multi-index hashing) starts with:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic |
/// | 8 | 4 | version |
/// | 12 | 4 | bits: hash width |
/// | 16 | 8 | count: hashes indexed |
/// | 32 | 8 | total: section length in bytes |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexHeader {
    /// The section format version (checked).
    pub(crate) version: u32,
    /// The hash width the index was built over.
    pub(crate) bits: u32,
    /// The number of hashes it was built over.
    pub(crate) count: u64,
    /// The section's length in bytes (checked against the bytes given).
    pub(crate) total: u64,
}

/// Parses and checks the common prefix of an index section (`what`, e.g. "BK-tree section"):
/// at least `header_len` bytes (`Truncated`), `magic` (`Unsupported`), version in
/// `1..=supported` (`Version`), and `total` no more than the bytes given (`Truncated`).
pub(crate) fn index_header(
    b: &[u8],
    magic: &[u8; 8],
    header_len: usize,
    supported: u32,
    what: &'static str,
) -> Result<IndexHeader> {
    need_len(b, header_len.max(40) as u64, what)?;
    check_magic(b, magic, what)?;
    let h = IndexHeader {
        version: le_u32(b, 8),
        bits: le_u32(b, 12),
        count: le_u64(b, 16),
        total: le_u64(b, 32),
    };
    check_version(h.version, 1, supported, what)?;
    need_len(b, h.total, what)?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn align_rounds_up_to_64() {
        for (n, up) in [(0, 0), (1, 64), (63, 64), (64, 64), (65, 128)] {
            assert_eq!(align64(n), Some(up));
            assert_eq!(align_up(n as u64), Some(up as u64));
        }
        assert_eq!(align64(usize::MAX), None);
        assert_eq!(align_up(u64::MAX), None);
        assert_eq!(align_up(u64::MAX - 63), Some(u64::MAX - 63));
    }

    #[test]
    fn reads_are_bounds_checked_even_at_huge_offsets() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at_byte(&b, 1), Some(0x0302));
        assert_eq!(u32_at_byte(&b, 5), Some(0x0908_0706));
        assert_eq!(u32_at_byte(&b, 6), None);
        assert_eq!(u64_at_byte(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_at_byte(&b, 2), None);
        assert_eq!(u16_at(&b, 3), Some(0x0807));
        assert_eq!(u16_at(&b, 4), None);
        assert_eq!(u32_at(&b, 2), None);
        for off in [usize::MAX, usize::MAX - 1, usize::MAX - 7] {
            assert_eq!(le_u16(&b, off), 0);
            assert_eq!(le_u32(&b, off), 0);
            assert_eq!(le_u64(&b, off), 0);
        }
        assert_eq!(u16_at(&b, usize::MAX), None);
        assert_eq!(u32_at(&b, usize::MAX / 2), None);
        assert_eq!(to_usize(u64::MAX), usize::MAX);
    }

    #[test]
    fn cursor_reads_in_order_and_reports_truncation() {
        let b = [1u8, 2, 0, 3, 0, 0, 0, b'H', b'A', b'S', b'H'];
        let mut c = Cursor::at(&b, 0, "test header");
        assert_eq!(c.u8().unwrap(), 1);
        assert_eq!(c.u16().unwrap(), 2);
        assert_eq!(c.u32().unwrap(), 3);
        assert_eq!(c.tag().unwrap(), *b"HASH");
        assert_eq!(c.pos(), 11);
        let err = c.u64().unwrap_err();
        let ErrorKind::Truncated {
            what,
            needed,
            found,
        } = err.kind()
        else {
            panic!("{err}")
        };
        assert_eq!((what.as_str(), *needed, *found), ("test header", 19, 11));
        // A failed read consumes nothing.
        assert_eq!(c.pos(), 11);
        assert!(Cursor::at(&b, usize::MAX, "x").take(2).is_err());
    }

    #[test]
    fn index_headers_are_checked_in_order() {
        let mut b = vec![0u8; 64];
        b[..8].copy_from_slice(b"TESTMAGI");
        put_u32(&mut b, 8, 1);
        put_u32(&mut b, 12, 64);
        put_u64(&mut b, 16, 5);
        put_u64(&mut b, 32, 64);
        let h = index_header(&b, b"TESTMAGI", 64, 1, "test section").unwrap();
        assert_eq!((h.version, h.bits, h.count, h.total), (1, 64, 5, 64));

        let short = index_header(&b[..63], b"TESTMAGI", 64, 1, "test section").unwrap_err();
        assert!(matches!(
            short.kind(),
            ErrorKind::Truncated {
                needed: 64,
                found: 63,
                ..
            }
        ));
        let magic = index_header(&b, b"OTHERMAG", 64, 1, "test section").unwrap_err();
        assert!(matches!(magic.kind(), ErrorKind::Unsupported(_)), "{magic}");

        let mut newer = b.clone();
        put_u32(&mut newer, 8, 2);
        let err = index_header(&newer, b"TESTMAGI", 64, 1, "test section").unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Version {
                    found: 2,
                    supported: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade hashsieve"), "{err}");

        let mut long = b.clone();
        put_u64(&mut long, 32, 65);
        let err = index_header(&long, b"TESTMAGI", 64, 1, "test section").unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Truncated { needed: 65, .. }),
            "{err}"
        );
    }
}
