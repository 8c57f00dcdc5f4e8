//! The bit-level codec of multi-index hashing sections: bit-stream reads and writes, and
//! encoding a section from its tables.

use super::*;

/// `width <= 56` bits of `b` starting at bit `bit` (little-endian bit stream).
#[inline(always)]
pub(super) fn bits_at(b: &[u8], bit: u64, width: u32) -> Option<u64> {
    let byte = usize::try_from(bit / 8).ok()?;
    let word = match b.get(byte..byte.checked_add(8)?) {
        Some(s) => u64::from_le_bytes(s.try_into().ok()?),
        None => {
            let need = ((bit % 8) as u32 + width).div_ceil(8) as usize;
            let s = b.get(byte..byte.checked_add(need)?)?;
            let mut w = [0u8; 8];
            w[..s.len()].copy_from_slice(s);
            u64::from_le_bytes(w)
        }
    };
    Some((word >> (bit % 8)) & ((1u64 << width) - 1))
}

/// ORs `width <= 56` bits of `v` into `b` at bit `bit`.
pub(super) fn put_bits(b: &mut [u8], bit: u64, width: u32, v: u64) {
    let mut v = v << (bit % 8);
    let mut byte = (bit / 8) as usize;
    let mut left = width + (bit % 8) as u32;
    while left > 0 {
        b[byte] |= v as u8;
        v >>= 8;
        byte += 1;
        left = left.saturating_sub(8);
    }
}

/// The offset from `start` of the set bit of rank `rank` within bits `start..end`.
#[inline(always)]
pub(super) fn select<S: Simd>(s: S, b: &[u8], start: u64, end: u64, rank: u32) -> Option<u64> {
    let mut rank = rank;
    let mut pos = start;
    while pos < end {
        let width = (end - pos).min(56) as u32;
        let w = bits_at(b, pos, width)?;
        let c = w.count_ones();
        if rank < c {
            return Some(pos - start + u64::from(s.select64(w, rank)));
        }
        rank -= c;
        pos += u64::from(width);
    }
    None
}

/// Lays out a section for `n` hashes of `bits` bits with the given tables: header and
/// descriptors, then each table's region (directory at 0, inline bytes and chunks at the
/// given offsets within it) filled by `fill`, in parallel.
pub(super) fn encode(
    bits: u32,
    n: usize,
    specs: &[Spec],
    fill: impl Fn(usize, Spec, &mut [u8], usize, usize) + Sync,
) -> Result<Vec<u8>> {
    let lay = layout(n, specs)
        .ok_or_else(|| ErrorKind::InvalidArgument("index layout overflows memory".into()))?;
    let mut data = vec![0u8; lay.total];
    data[..8].copy_from_slice(MAGIC);
    put_u32(&mut data, 8, VERSION);
    put_u32(&mut data, 12, bits);
    put_u64(&mut data, 16, n as u64);
    put_u32(&mut data, 24, specs.len() as u32);
    put_u64(&mut data, 32, lay.total as u64);
    for (t, (s, &(dir, inline, chunks))) in specs.iter().zip(&lay.tables).enumerate() {
        let d = HEADER + DESC * t;
        put_u16(&mut data, d, s.start as u16);
        data[d + 2] = s.len as u8;
        data[d + 3] = s.b as u8;
        data[d + 4] = s.c1 as u8;
        data[d + 5] = s.c2 as u8;
        data[d + 6] = s.low as u8;
        put_u64(&mut data, d + 8, dir as u64);
        put_u64(&mut data, d + 16, inline as u64);
        put_u64(&mut data, d + 24, chunks as u64);
        put_u64(&mut data, d + 32, s.chunk_bytes(n).unwrap_or(0));
    }
    // One disjoint mutable region per table, filled in parallel.
    let mut regions = Vec::with_capacity(specs.len());
    let first = lay.tables.first().map_or(lay.total, |t| t.0);
    let mut rest = &mut data[first..];
    let mut pos = first;
    for (t, &(dir, inline, chunks)) in lay.tables.iter().enumerate() {
        let end = lay.tables.get(t + 1).map_or(lay.total, |t| t.0);
        let (region, tail) = rest.split_at_mut(end - pos);
        regions.push((specs[t], region, inline - dir, chunks - dir));
        rest = tail;
        pos = end;
    }
    regions
        .into_par_iter()
        .enumerate()
        .for_each(|(t, (spec, region, inline, chunks))| fill(t, spec, region, inline, chunks));
    Ok(data)
}

/// Fills one table's region (directory at 0, inline bytes and chunks at the given offsets).
pub(super) fn build_table<H: HashBits>(
    hashes: &[H],
    s: Spec,
    region: &mut [u8],
    inline: usize,
    chunks: usize,
) {
    let entries = || {
        hashes
            .iter()
            .enumerate()
            .map(|(id, x)| (id as u64, u64::from(x.key(s.start, s.len))))
    };
    fill_table(hashes.len(), s, entries, region, inline, chunks);
}

/// Fills one table's region for a list of `n` hashes from its `(id, key)` entries, in
/// ascending id order (ids `< n`; normally every id once, but tests craft other tables).
pub(super) fn fill_table<I: Iterator<Item = (u64, u64)>>(
    n: usize,
    s: Spec,
    entries: impl Fn() -> I,
    region: &mut [u8],
    inline: usize,
    chunks: usize,
) {
    let buckets = 1usize << s.b;
    let (sh_top, sh_in, sh_ex) = s.shifts();
    let h = s.high_span(n);
    let rb = s.rec_bits();
    let mut dir = vec![0u32; buckets + 1];
    for (_, key) in entries() {
        dir[(key >> sh_top) as usize + 1] += 1;
    }
    for k in 1..=buckets {
        dir[k] += dir[k - 1];
    }
    for (k, &v) in dir.iter().enumerate() {
        put_u32(region, 4 * k, v);
    }
    let mut cursor = dir[..buckets].to_vec();
    let low_mask = (1u64 << s.low) - 1;
    for (id, key) in entries() {
        let k = (key >> sh_top) as usize;
        let (lo, hi) = (dir[k] as usize, dir[k + 1] as usize);
        let i = cursor[k] as usize - lo;
        cursor[k] += 1;
        if s.c1 > 0 {
            region[inline + lo + i] = ((key >> sh_in) & ((1 << s.c1) - 1)) as u8;
        }
        let start = lo as u64 * u64::from(1 + rb) + k as u64 * h;
        let unary_bit = start + i as u64 + (id >> s.low);
        region[chunks + (unary_bit / 8) as usize] |= 1 << (unary_bit % 8);
        let extra = (key >> sh_ex) & ((1 << s.c2) - 1);
        let rec_at = start + (hi - lo) as u64 + h + i as u64 * u64::from(rb);
        put_bits(
            &mut region[chunks..],
            rec_at,
            rb,
            (extra << s.low) | (id & low_mask),
        );
    }
}
