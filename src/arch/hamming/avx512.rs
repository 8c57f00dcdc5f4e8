//! AVX-512 kernels (x86-64 with F, BW, VL and VPOPCNTDQ): `vpopcntq` on 512-bit vectors.
//!
//! Every `#[target_feature]` function here is private and reached only through [`Avx512`], which
//! exists only after runtime detection (memchr's pattern).
//!
//! The AVX-512 intrinsics are stable since Rust 1.89: the crate's `rust-version` has to be at
//! least that (the lint below only silences clippy's per-intrinsic reminders of it).

use core::arch::x86_64::*;

use super::{Simd, WithSimd};
use crate::arch::x86::Avx512;
use crate::hash::{Hash256, Hash64};
use crate::index::Match;

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2")]
unsafe fn run<W: WithSimd>(token: Avx512, op: W) -> W::Output {
    op.with_simd(token)
}

impl Simd for Avx512 {
    #[inline(always)]
    fn run<W: WithSimd>(self, op: W) -> W::Output {
        // SAFETY: an `Avx512` exists only where the cached detection found every enabled feature.
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

#[target_feature(enable = "avx512f")]
#[inline]
fn store8(v: __m512i) -> [u64; 8] {
    let mut a = [0u64; 8];
    // SAFETY: `a` is 64 writable bytes; the store is unaligned.
    unsafe { _mm512_storeu_si512(a.as_mut_ptr().cast(), v) };
    a
}

/// `range256` computes the distances of 8 hashes in lane order `PERM[lane] = hash`.
const PERM: [usize; 8] = [0, 2, 1, 3, 4, 6, 5, 7];

#[cold]
#[inline(never)]
fn emit(first: usize, dist: [u64; 8], mask: u8, perm: bool, base: u32, out: &mut Vec<Match>) {
    let mut found = [(0u32, 0u32); 8];
    let mut n = 0;
    let mut m = mask;
    while m != 0 {
        let lane = m.trailing_zeros() as usize;
        m &= m - 1;
        let j = if perm { PERM[lane] } else { lane };
        found[n] = ((first + j) as u32, dist[lane] as u32);
        n += 1;
    }
    found[..n].sort_unstable();
    out.extend(found[..n].iter().map(|&(i, d)| Match::new(base + i, d)));
}

#[cold]
#[inline(never)]
fn emit_batch(
    qi: usize,
    first: usize,
    dist: [u64; 8],
    mask: u8,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    let mut m = mask;
    while m != 0 {
        let j = m.trailing_zeros() as usize;
        m &= m - 1;
        out.push((
            qi as u32,
            Match::new(base + (first + j) as u32, dist[j] as u32),
        ));
    }
}

/// Two consecutive 256-bit hashes as one vector.
#[target_feature(enable = "avx512f")]
#[inline]
fn load_pair(h: &[Hash256]) -> __m512i {
    let h: &[Hash256; 2] = h.try_into().expect("two hashes");
    // SAFETY: two `repr(transparent)` `[u64; 4]` hashes: 64 readable bytes; unaligned load.
    unsafe { _mm512_loadu_si512(h.as_ptr().cast()) }
}

/// Eight 64-bit hashes as one vector.
#[target_feature(enable = "avx512f")]
#[inline]
fn load8x64(h: &[Hash64]) -> __m512i {
    let h: &[Hash64; 8] = h.try_into().expect("eight hashes");
    // SAFETY: eight `repr(transparent)` u64 hashes: 64 readable bytes; unaligned load.
    unsafe { _mm512_loadu_si512(h.as_ptr().cast()) }
}

/// The first `min(64, bytes.len())` bytes of `bytes`, zero beyond; and the lane mask.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn load_bytes(bytes: &[u8]) -> (__m512i, u64) {
    let len = bytes.len().min(64);
    let lanes: u64 = if len == 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    };
    // SAFETY: only the `len` lanes selected by `lanes` are read (AVX-512 masked loads do not
    // access masked-off elements), and `bytes` has at least `len` readable bytes.
    let v = unsafe { _mm512_maskz_loadu_epi8(lanes, bytes.as_ptr().cast()) };
    (v, lanes)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn broadcast_hash(q: &Hash256) -> __m512i {
    let w = q.limbs();
    _mm512_setr_epi64(
        w[0] as i64,
        w[1] as i64,
        w[2] as i64,
        w[3] as i64,
        w[0] as i64,
        w[1] as i64,
        w[2] as i64,
        w[3] as i64,
    )
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2")]
fn range256(hashes: &[Hash256], q: &Hash256, thr: u32, base: u32, out: &mut Vec<Match>) {
    let qv = broadcast_hash(q);
    let tv = _mm512_set1_epi64(thr as i64);
    let mut chunks = hashes.chunks_exact(8);
    let mut i = 0;
    for c in &mut chunks {
        let pc =
            |k: usize| _mm512_popcnt_epi64(_mm512_xor_si512(load_pair(&c[2 * k..2 * k + 2]), qv));
        let (p0, p1, p2, p3) = (pc(0), pc(1), pc(2), pc(3));
        // Within each 128-bit lane, sum limb pairs of two vectors, then sum the lane halves.
        let a = _mm512_add_epi64(_mm512_unpacklo_epi64(p0, p1), _mm512_unpackhi_epi64(p0, p1));
        let b = _mm512_add_epi64(_mm512_unpacklo_epi64(p2, p3), _mm512_unpackhi_epi64(p2, p3));
        let s = _mm512_add_epi64(
            _mm512_shuffle_i64x2::<0x88>(a, b),
            _mm512_shuffle_i64x2::<0xDD>(a, b),
        );
        let m = _mm512_cmple_epu64_mask(s, tv);
        if m != 0 {
            emit(i, store8(s), m, true, base, out);
        }
        i += 8;
    }
    for (j, h) in chunks.remainder().iter().enumerate() {
        let d = h.distance(q);
        if d <= thr {
            out.push(Match::new(base + (i + j) as u32, d));
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2")]
fn range64(hashes: &[Hash64], q: &Hash64, thr: u32, base: u32, out: &mut Vec<Match>) {
    let qv = _mm512_set1_epi64(q.to_u64() as i64);
    let tv = _mm512_set1_epi64(thr as i64);
    let mut chunks = hashes.chunks_exact(32);
    let mut i = 0;
    for c in &mut chunks {
        let d =
            |k: usize| _mm512_popcnt_epi64(_mm512_xor_si512(load8x64(&c[8 * k..8 * k + 8]), qv));
        let ds = [d(0), d(1), d(2), d(3)];
        let ms = [
            _mm512_cmple_epu64_mask(ds[0], tv),
            _mm512_cmple_epu64_mask(ds[1], tv),
            _mm512_cmple_epu64_mask(ds[2], tv),
            _mm512_cmple_epu64_mask(ds[3], tv),
        ];
        if (ms[0] | ms[1] | ms[2] | ms[3]) != 0 {
            for k in 0..4 {
                if ms[k] != 0 {
                    emit(i + 8 * k, store8(ds[k]), ms[k], false, base, out);
                }
            }
        }
        i += 32;
    }
    let mut chunks8 = chunks.remainder().chunks_exact(8);
    for c in &mut chunks8 {
        let d = _mm512_popcnt_epi64(_mm512_xor_si512(load8x64(c), qv));
        let m = _mm512_cmple_epu64_mask(d, tv);
        if m != 0 {
            emit(i, store8(d), m, false, base, out);
        }
        i += 8;
    }
    for (j, h) in chunks8.remainder().iter().enumerate() {
        let d = h.distance(q);
        if d <= thr {
            out.push(Match::new(base + (i + j) as u32, d));
        }
    }
}

/// Eight consecutive hashes to limb-major order: `out[k]` = limb k of hashes 0..8.
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose8(h: &[Hash256]) -> [__m512i; 4] {
    let z0 = load_pair(&h[0..2]);
    let z1 = load_pair(&h[2..4]);
    let z2 = load_pair(&h[4..6]);
    let z3 = load_pair(&h[6..8]);
    let i01 = _mm512_setr_epi64(0, 4, 8, 12, 1, 5, 9, 13);
    let i23 = _mm512_setr_epi64(2, 6, 10, 14, 3, 7, 11, 15);
    let a01 = _mm512_permutex2var_epi64(z0, i01, z1);
    let a23 = _mm512_permutex2var_epi64(z0, i23, z1);
    let b01 = _mm512_permutex2var_epi64(z2, i01, z3);
    let b23 = _mm512_permutex2var_epi64(z2, i23, z3);
    [
        _mm512_shuffle_i64x2::<0x44>(a01, b01),
        _mm512_shuffle_i64x2::<0xEE>(a01, b01),
        _mm512_shuffle_i64x2::<0x44>(a23, b23),
        _mm512_shuffle_i64x2::<0xEE>(a23, b23),
    ]
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2")]
fn batch256(
    hashes: &[Hash256],
    queries: &[Hash256],
    thr: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    let tv = _mm512_set1_epi64(thr as i64);
    let mut chunks = hashes.chunks_exact(32);
    let mut i = 0;
    for c in &mut chunks {
        let g = [
            transpose8(&c[0..8]),
            transpose8(&c[8..16]),
            transpose8(&c[16..24]),
            transpose8(&c[24..32]),
        ];
        for (qi, q) in queries.iter().enumerate() {
            let w = q.limbs();
            let q0 = _mm512_set1_epi64(w[0] as i64);
            let q1 = _mm512_set1_epi64(w[1] as i64);
            let q2 = _mm512_set1_epi64(w[2] as i64);
            let q3 = _mm512_set1_epi64(w[3] as i64);
            let dist = |l: &[__m512i; 4]| {
                let c0 = _mm512_popcnt_epi64(_mm512_xor_si512(l[0], q0));
                let c1 = _mm512_popcnt_epi64(_mm512_xor_si512(l[1], q1));
                let c2 = _mm512_popcnt_epi64(_mm512_xor_si512(l[2], q2));
                let c3 = _mm512_popcnt_epi64(_mm512_xor_si512(l[3], q3));
                _mm512_add_epi64(_mm512_add_epi64(c0, c1), _mm512_add_epi64(c2, c3))
            };
            let ds = [dist(&g[0]), dist(&g[1]), dist(&g[2]), dist(&g[3])];
            let ms = [
                _mm512_cmple_epu64_mask(ds[0], tv),
                _mm512_cmple_epu64_mask(ds[1], tv),
                _mm512_cmple_epu64_mask(ds[2], tv),
                _mm512_cmple_epu64_mask(ds[3], tv),
            ];
            if (ms[0] | ms[1] | ms[2] | ms[3]) != 0 {
                for k in 0..4 {
                    if ms[k] != 0 {
                        emit_batch(qi, i + 8 * k, store8(ds[k]), ms[k], base, out);
                    }
                }
            }
        }
        i += 32;
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

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2")]
fn batch64(
    hashes: &[Hash64],
    queries: &[Hash64],
    thr: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    let tv = _mm512_set1_epi64(thr as i64);
    let mut chunks = hashes.chunks_exact(64);
    let mut i = 0;
    for c in &mut chunks {
        let mut l = [_mm512_setzero_si512(); 8];
        for (k, v) in l.iter_mut().enumerate() {
            *v = load8x64(&c[8 * k..8 * k + 8]);
        }
        for (qi, q) in queries.iter().enumerate() {
            let qv = _mm512_set1_epi64(q.to_u64() as i64);
            let mut ds = [_mm512_setzero_si512(); 8];
            let mut ms = [0u8; 8];
            let mut any = 0u8;
            for k in 0..8 {
                ds[k] = _mm512_popcnt_epi64(_mm512_xor_si512(l[k], qv));
                ms[k] = _mm512_cmple_epu64_mask(ds[k], tv);
                any |= ms[k];
            }
            if any != 0 {
                for k in 0..8 {
                    if ms[k] != 0 {
                        emit_batch(qi, i + 8 * k, store8(ds[k]), ms[k], base, out);
                    }
                }
            }
        }
        i += 64;
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

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2")]
fn filter_u8(bytes: &[u8], q: u8, allowed: u32, base: u32, out: &mut Vec<u32>) {
    if allowed >= 8 {
        out.extend((0..bytes.len() as u32).map(|i| base + i));
        return;
    }
    let lut = _mm512_broadcast_i32x4(_mm_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    ));
    let low = _mm512_set1_epi8(0x0f);
    let qv = _mm512_set1_epi8(q as i8);
    let av = _mm512_set1_epi8(allowed as i8);
    let mut at = 0;
    while at < bytes.len() {
        let (v, lanes) = load_bytes(&bytes[at..]);
        let mut m = if allowed == 0 {
            _mm512_mask_cmpeq_epi8_mask(lanes, v, qv)
        } else {
            let x = _mm512_xor_si512(v, qv);
            let lo = _mm512_and_si512(x, low);
            let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(x), low);
            let c = _mm512_add_epi8(_mm512_shuffle_epi8(lut, lo), _mm512_shuffle_epi8(lut, hi));
            _mm512_mask_cmple_epu8_mask(lanes, c, av)
        };
        while m != 0 {
            out.push(base + (at + m.trailing_zeros() as usize) as u32);
            m &= m - 1;
        }
        at += 64;
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2")]
#[inline]
fn filter_mask64(bytes: &[u8], q: u8, allowed: u32) -> u64 {
    let (v, lanes) = load_bytes(bytes);
    if allowed >= 8 {
        return lanes;
    }
    let qv = _mm512_set1_epi8(q as i8);
    if allowed == 0 {
        return _mm512_mask_cmpeq_epi8_mask(lanes, v, qv);
    }
    let lut = _mm512_broadcast_i32x4(_mm_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    ));
    let low = _mm512_set1_epi8(0x0f);
    let x = _mm512_xor_si512(v, qv);
    let lo = _mm512_and_si512(x, low);
    let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(x), low);
    let c = _mm512_add_epi8(_mm512_shuffle_epi8(lut, lo), _mm512_shuffle_epi8(lut, hi));
    _mm512_mask_cmple_epu8_mask(lanes, c, _mm512_set1_epi8(allowed as i8))
}
