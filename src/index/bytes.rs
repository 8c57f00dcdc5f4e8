//! Little-endian reads and writes over byte sections (alignment-free, bounds-checked).

/// The `i`-th little-endian `u32` of `b`, or `None` past the end.
#[inline(always)]
pub(crate) fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The little-endian `u16` at byte offset `off`.
#[inline(always)]
pub(crate) fn u16_at_byte(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// The `i`-th little-endian `u16` of `b`.
#[inline(always)]
pub(crate) fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    u16_at_byte(b, i.checked_mul(2)?)
}

/// Field readers for a fixed header already known to be long enough.
pub(crate) fn le_u16(b: &[u8], off: usize) -> u16 {
    u16_at_byte(b, off).unwrap_or(0)
}
pub(crate) fn le_u32(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
pub(crate) fn le_u64(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Rounds `n` up to a multiple of 64 (section arrays are 64-byte aligned).
pub(crate) fn align64(n: usize) -> Option<usize> {
    n.checked_add(63).map(|v| v & !63)
}
