//! AVX2 kernels (x86-64): nibble-table popcount (`vpshufb`) summed with `vpsadbw`.
//!
//! Every `#[target_feature]` function here is private and reached only through [`Avx2`], which
//! exists only after runtime detection (memchr's pattern).

use core::arch::x86_64::*;

use super::{Simd, WithSimd};
use crate::arch::x86::Avx2;
use crate::hash::{Hash256, Hash64};
use crate::index::Match;

#[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
unsafe fn run<W: WithSimd>(token: Avx2, op: W) -> W::Output {
    op.with_simd(token)
}

impl Simd for Avx2 {
    #[inline(always)]
    fn run<W: WithSimd>(self, op: W) -> W::Output {
        // SAFETY: an `Avx2` exists only where the cached detection found every enabled feature.
        unsafe { run(self, op) }
    }
    #[inline(always)]
    fn range256(self, hashes: &[Hash256], q: &Hash256, thr: u32, base: u32, out: &mut Vec<Match>) {
        // SAFETY: as in `run`.
        unsafe { range256(hashes, q, thr, base, out) }
    }
    #[inline(always)]
    fn range64(self, hashes: &[Hash64], q: &Hash64, thr: u32, base: u32, out: &mut Vec<Match>) {
        // SAFETY: as in `run`.
        unsafe { range64(hashes, q, thr, base, out) }
    }
    #[inline(always)]
    fn batch256(
        self,
        hashes: &[Hash256],
        queries: &[Hash256],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    ) {
        // SAFETY: as in `run`.
        unsafe { batch256(hashes, queries, thr, base, out) }
    }
    #[inline(always)]
    fn batch64(
        self,
        hashes: &[Hash64],
        queries: &[Hash64],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    ) {
        // SAFETY: as in `run`.
        unsafe { batch64(hashes, queries, thr, base, out) }
    }
    #[inline(always)]
    fn filter_u8(self, bytes: &[u8], q: u8, allowed: u32, base: u32, out: &mut Vec<u32>) {
        // SAFETY: as in `run`.
        unsafe { filter_u8(bytes, q, allowed, base, out) }
    }
    #[inline(always)]
    fn filter_mask64(self, bytes: &[u8], q: u8, allowed: u32) -> u64 {
        // SAFETY: as in `run`.
        unsafe { filter_mask64(bytes, q, allowed) }
    }
    #[inline(always)]
    fn select64(self, w: u64, r: u32) -> u32 {
        // SAFETY: as in `run` (BMI2 is part of this token's features).
        unsafe { select64(w, r) }
    }
}

#[target_feature(enable = "bmi2")]
#[inline]
fn select64(w: u64, r: u32) -> u32 {
    _pdep_u64(1u64.wrapping_shl(r), w).trailing_zeros()
}

#[target_feature(enable = "avx2")]
#[inline]
fn lut() -> __m256i {
    _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    )
}

/// Per-byte popcount (each byte 0..=8).
#[target_feature(enable = "avx2")]
#[inline]
fn popcnt_bytes(v: __m256i, lut: __m256i, low: __m256i) -> __m256i {
    let lo = _mm256_and_si256(v, low);
    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
    _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
}

#[cold]
#[inline(never)]
fn emit(first: usize, dist: [u64; 4], bits: u32, base: u32, out: &mut Vec<Match>) {
    let mut bits = bits;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        out.push(Match::new(base + (first + j) as u32, dist[j] as u32));
    }
}

#[cold]
#[inline(never)]
fn emit_batch(
    qi: usize,
    first: usize,
    dist: [u64; 4],
    bits: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    let mut bits = bits;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        out.push((
            qi as u32,
            Match::new(base + (first + j) as u32, dist[j] as u32),
        ));
    }
}

/// The four 64-bit lanes of `v` whose value is `<= thr`, as bits 0..4.
#[target_feature(enable = "avx2")]
#[inline]
fn le_bits(v: __m256i, thr: __m256i) -> u32 {
    let gt = _mm256_cmpgt_epi64(v, thr);
    !(_mm256_movemask_pd(_mm256_castsi256_pd(gt)) as u32) & 0xF
}

#[target_feature(enable = "avx2")]
#[inline]
fn store4(v: __m256i) -> [u64; 4] {
    let mut a = [0u64; 4];
    // SAFETY: `a` is 32 writable bytes; the store is unaligned.
    unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), v) };
    a
}

/// One 256-bit hash as a vector.
#[target_feature(enable = "avx2")]
#[inline]
fn load256(h: &Hash256) -> __m256i {
    // SAFETY: `Hash256` is `repr(transparent)` over `[u64; 4]`: 32 readable bytes; unaligned load.
    unsafe { _mm256_loadu_si256((h as *const Hash256).cast()) }
}

/// Four 64-bit hashes as a vector.
#[target_feature(enable = "avx2")]
#[inline]
fn load4x64(h: &[Hash64; 4]) -> __m256i {
    // SAFETY: four `repr(transparent)` u64 hashes: 32 readable bytes; unaligned load.
    unsafe { _mm256_loadu_si256(h.as_ptr().cast()) }
}

/// 32 bytes as a vector.
#[target_feature(enable = "avx2")]
#[inline]
fn load_bytes(b: &[u8; 32]) -> __m256i {
    // SAFETY: `b` is 32 readable bytes; unaligned load.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

#[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
fn range256(hashes: &[Hash256], q: &Hash256, thr: u32, base: u32, out: &mut Vec<Match>) {
    let qv = load256(q);
    let (lut, low, zero) = (lut(), _mm256_set1_epi8(0x0f), _mm256_setzero_si256());
    let tv = _mm256_set1_epi64x(thr as i64);
    let mut chunks = hashes.chunks_exact(4);
    let mut i = 0;
    for c in &mut chunks {
        let pc = |h: &Hash256| {
            _mm256_sad_epu8(
                popcnt_bytes(_mm256_xor_si256(load256(h), qv), lut, low),
                zero,
            )
        };
        let (p0, p1, p2, p3) = (pc(&c[0]), pc(&c[1]), pc(&c[2]), pc(&c[3]));
        let t01 = _mm256_add_epi64(_mm256_unpacklo_epi64(p0, p1), _mm256_unpackhi_epi64(p0, p1));
        let t23 = _mm256_add_epi64(_mm256_unpacklo_epi64(p2, p3), _mm256_unpackhi_epi64(p2, p3));
        let s = _mm256_add_epi64(
            _mm256_permute2x128_si256::<0x20>(t01, t23),
            _mm256_permute2x128_si256::<0x31>(t01, t23),
        );
        let bits = le_bits(s, tv);
        if bits != 0 {
            emit(i, store4(s), bits, base, out);
        }
        i += 4;
    }
    for (j, h) in chunks.remainder().iter().enumerate() {
        let d = h.distance(q);
        if d <= thr {
            out.push(Match::new(base + (i + j) as u32, d));
        }
    }
}

#[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
fn range64(hashes: &[Hash64], q: &Hash64, thr: u32, base: u32, out: &mut Vec<Match>) {
    let qv = _mm256_set1_epi64x(q.to_u64() as i64);
    let (lut, low, zero) = (lut(), _mm256_set1_epi8(0x0f), _mm256_setzero_si256());
    let tv = _mm256_set1_epi64x(thr as i64);
    let mut chunks = hashes.chunks_exact(4);
    let mut i = 0;
    for c in &mut chunks {
        let c: &[Hash64; 4] = c.try_into().expect("chunks of 4");
        let x = _mm256_xor_si256(load4x64(c), qv);
        let s = _mm256_sad_epu8(popcnt_bytes(x, lut, low), zero);
        let bits = le_bits(s, tv);
        if bits != 0 {
            emit(i, store4(s), bits, base, out);
        }
        i += 4;
    }
    for (j, h) in chunks.remainder().iter().enumerate() {
        let d = h.distance(q);
        if d <= thr {
            out.push(Match::new(base + (i + j) as u32, d));
        }
    }
}

/// Four hashes to limb-major order: `out[k]` = limb k of hashes 0..4.
#[target_feature(enable = "avx2")]
#[inline]
fn transpose4(h: &[Hash256]) -> [__m256i; 4] {
    let (a, b, c, d) = (
        load256(&h[0]),
        load256(&h[1]),
        load256(&h[2]),
        load256(&h[3]),
    );
    let t0 = _mm256_unpacklo_epi64(a, b);
    let t1 = _mm256_unpackhi_epi64(a, b);
    let t2 = _mm256_unpacklo_epi64(c, d);
    let t3 = _mm256_unpackhi_epi64(c, d);
    [
        _mm256_permute2x128_si256::<0x20>(t0, t2),
        _mm256_permute2x128_si256::<0x20>(t1, t3),
        _mm256_permute2x128_si256::<0x31>(t0, t2),
        _mm256_permute2x128_si256::<0x31>(t1, t3),
    ]
}

#[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
fn batch256(
    hashes: &[Hash256],
    queries: &[Hash256],
    thr: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    let (lut, low, zero) = (lut(), _mm256_set1_epi8(0x0f), _mm256_setzero_si256());
    let tv = _mm256_set1_epi64x(thr as i64);
    let mut chunks = hashes.chunks_exact(8);
    let mut i = 0;
    for c in &mut chunks {
        let g0 = transpose4(&c[..4]);
        let g1 = transpose4(&c[4..]);
        for (qi, q) in queries.iter().enumerate() {
            let w = q.limbs();
            let q0 = _mm256_set1_epi64x(w[0] as i64);
            let q1 = _mm256_set1_epi64x(w[1] as i64);
            let q2 = _mm256_set1_epi64x(w[2] as i64);
            let q3 = _mm256_set1_epi64x(w[3] as i64);
            let dist = |g: &[__m256i; 4]| {
                let c0 = popcnt_bytes(_mm256_xor_si256(g[0], q0), lut, low);
                let c1 = popcnt_bytes(_mm256_xor_si256(g[1], q1), lut, low);
                let c2 = popcnt_bytes(_mm256_xor_si256(g[2], q2), lut, low);
                let c3 = popcnt_bytes(_mm256_xor_si256(g[3], q3), lut, low);
                let c = _mm256_add_epi8(_mm256_add_epi8(c0, c1), _mm256_add_epi8(c2, c3));
                _mm256_sad_epu8(c, zero)
            };
            let d0 = dist(&g0);
            let d1 = dist(&g1);
            let b0 = le_bits(d0, tv);
            let b1 = le_bits(d1, tv);
            if (b0 | b1) != 0 {
                emit_batch(qi, i, store4(d0), b0, base, out);
                emit_batch(qi, i + 4, store4(d1), b1, base, out);
            }
        }
        i += 8;
    }
    for (j, h) in chunks.remainder().iter().enumerate() {
        for (qi, q) in queries.iter().enumerate() {
            let d = h.distance(q);
            if d <= thr {
                out.push((qi as u32, Match::new(base + (i + j) as u32, d)));
            }
        }
    }
}

#[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
fn batch64(
    hashes: &[Hash64],
    queries: &[Hash64],
    thr: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    let (lut, low, zero) = (lut(), _mm256_set1_epi8(0x0f), _mm256_setzero_si256());
    let tv = _mm256_set1_epi64x(thr as i64);
    let mut chunks = hashes.chunks_exact(16);
    let mut i = 0;
    for c in &mut chunks {
        let v = |k: usize| load4x64(c[4 * k..4 * k + 4].try_into().expect("4 hashes"));
        let l = [v(0), v(1), v(2), v(3)];
        for (qi, q) in queries.iter().enumerate() {
            let qv = _mm256_set1_epi64x(q.to_u64() as i64);
            let d =
                |v: __m256i| _mm256_sad_epu8(popcnt_bytes(_mm256_xor_si256(v, qv), lut, low), zero);
            let ds = [d(l[0]), d(l[1]), d(l[2]), d(l[3])];
            let bs = [
                le_bits(ds[0], tv),
                le_bits(ds[1], tv),
                le_bits(ds[2], tv),
                le_bits(ds[3], tv),
            ];
            if (bs[0] | bs[1] | bs[2] | bs[3]) != 0 {
                for k in 0..4 {
                    emit_batch(qi, i + 4 * k, store4(ds[k]), bs[k], base, out);
                }
            }
        }
        i += 16;
    }
    for (j, h) in chunks.remainder().iter().enumerate() {
        for (qi, q) in queries.iter().enumerate() {
            let d = h.distance(q);
            if d <= thr {
                out.push((qi as u32, Match::new(base + (i + j) as u32, d)));
            }
        }
    }
}

#[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
fn filter_u8(bytes: &[u8], q: u8, allowed: u32, base: u32, out: &mut Vec<u32>) {
    if allowed >= 8 {
        out.extend((0..bytes.len() as u32).map(|i| base + i));
        return;
    }
    let (lut, low) = (lut(), _mm256_set1_epi8(0x0f));
    let qv = _mm256_set1_epi8(q as i8);
    let av = _mm256_set1_epi8(allowed as i8);
    let hits = |v: __m256i| -> u32 {
        if allowed == 0 {
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, qv)) as u32
        } else {
            let c = popcnt_bytes(_mm256_xor_si256(v, qv), lut, low);
            !(_mm256_movemask_epi8(_mm256_cmpgt_epi8(c, av)) as u32)
        }
    };
    let push = |mut m: u32, at: usize, out: &mut Vec<u32>| {
        while m != 0 {
            out.push(base + (at + m.trailing_zeros() as usize) as u32);
            m &= m - 1;
        }
    };
    let mut chunks = bytes.chunks_exact(32);
    let mut at = 0;
    for c in &mut chunks {
        push(hits(load_bytes(c.try_into().expect("32 bytes"))), at, out);
        at += 32;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 32];
        buf[..rest.len()].copy_from_slice(rest);
        let m = hits(load_bytes(&buf)) & ((1u32 << rest.len()) - 1);
        push(m, at, out);
    }
}

#[target_feature(enable = "avx2,popcnt,bmi1,bmi2")]
#[inline]
fn filter_mask64(bytes: &[u8], q: u8, allowed: u32) -> u64 {
    let bytes = &bytes[..bytes.len().min(64)];
    if allowed >= 8 {
        return if bytes.len() == 64 {
            u64::MAX
        } else {
            (1u64 << bytes.len()) - 1
        };
    }
    let (lut, low) = (lut(), _mm256_set1_epi8(0x0f));
    let qv = _mm256_set1_epi8(q as i8);
    let av = _mm256_set1_epi8(allowed as i8);
    let mut buf = [0u8; 64];
    buf[..bytes.len()].copy_from_slice(bytes);
    let hits = |v: __m256i| -> u64 {
        let m = if allowed == 0 {
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, qv)) as u32
        } else {
            let c = popcnt_bytes(_mm256_xor_si256(v, qv), lut, low);
            !(_mm256_movemask_epi8(_mm256_cmpgt_epi8(c, av)) as u32)
        };
        u64::from(m)
    };
    let lo = hits(load_bytes(buf[..32].try_into().expect("32 bytes")));
    let hi = hits(load_bytes(buf[32..].try_into().expect("32 bytes")));
    let m = lo | (hi << 32);
    if bytes.len() == 64 {
        m
    } else {
        m & ((1u64 << bytes.len()) - 1)
    }
}
