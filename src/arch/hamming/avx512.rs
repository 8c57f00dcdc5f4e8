//! AVX-512 vectors (x86-64 with F, BW, VL and VPOPCNTDQ) for the generic Hamming kernels:
//! `vpopcntq` on 512-bit vectors, mask registers for compares and tails.
//!
//! The kernels are [`generic`](super::generic)'s, compiled for AVX-512 by [`simd_impl!`] and
//! reached only through [`Avx512`], which exists only where the cached detection found the
//! features (memchr's pattern). No closures here: a closure does not inherit the target features
//! of the function it is inlined into, so its intrinsics would become calls.
//!
//! The AVX-512 intrinsics are stable since Rust 1.89: the crate's `rust-version` has to be at
//! least that.

use core::arch::x86_64::*;

use super::generic::{self, low_bits, simd_impl, Lanes, Vector};
use super::{Hits, Pairs, Simd, WithSimd};
use crate::arch::x86::Avx512;
use crate::hash::{Hash256, Hash64};

simd_impl!(
    Avx512,
    V512,
    "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt,bmi1,bmi2",
    batch256: 4,
    batch64: 8
);

/// Eight 64-bit lanes.
#[derive(Clone, Copy)]
struct V512(__m512i);

/// Two consecutive 256-bit hashes as one vector.
#[inline(always)]
unsafe fn load_pair(h: &[Hash256]) -> __m512i {
    let h: &[Hash256; 2] = h[..2].try_into().expect("two hashes");
    // SAFETY: the caller guarantees AVX-512 F; two `repr(transparent)` `[u64; 4]` hashes: 64
    // readable bytes; unaligned load.
    unsafe { _mm512_loadu_si512(h.as_ptr().cast()) }
}

impl Vector for V512 {
    const LANES: usize = 8;
    const BYTES: usize = 64;
    // `dist256` sums limb pairs within 128-bit lanes, which interleaves hashes 1 and 2 (and 5
    // and 6).
    const DIST256_ORDER: [usize; 8] = [0, 2, 1, 3, 4, 6, 5, 7];

    #[inline(always)]
    unsafe fn splat(x: u64) -> V512 {
        // SAFETY: the caller guarantees AVX-512 F.
        V512(unsafe { _mm512_set1_epi64(x as i64) })
    }

    #[inline(always)]
    unsafe fn load64(h: &[Hash64]) -> V512 {
        let h: &[Hash64; 8] = h[..8].try_into().expect("eight hashes");
        // SAFETY: the caller guarantees AVX-512 F; eight `repr(transparent)` u64 hashes: 64
        // readable bytes; unaligned load.
        V512(unsafe { _mm512_loadu_si512(h.as_ptr().cast()) })
    }

    #[inline(always)]
    unsafe fn xor(self, other: V512) -> V512 {
        // SAFETY: the caller guarantees AVX-512 F.
        V512(unsafe { _mm512_xor_si512(self.0, other.0) })
    }

    #[inline(always)]
    unsafe fn popcnt(self) -> V512 {
        // SAFETY: the caller guarantees AVX-512 VPOPCNTDQ.
        V512(unsafe { _mm512_popcnt_epi64(self.0) })
    }

    #[inline(always)]
    unsafe fn popcnt4(v: [V512; 4]) -> V512 {
        // SAFETY: the caller guarantees AVX-512 F and VPOPCNTDQ.
        unsafe {
            let (c0, c1) = (_mm512_popcnt_epi64(v[0].0), _mm512_popcnt_epi64(v[1].0));
            let (c2, c3) = (_mm512_popcnt_epi64(v[2].0), _mm512_popcnt_epi64(v[3].0));
            V512(_mm512_add_epi64(
                _mm512_add_epi64(c0, c1),
                _mm512_add_epi64(c2, c3),
            ))
        }
    }

    #[inline(always)]
    unsafe fn le(self, thr: V512) -> u32 {
        // SAFETY: the caller guarantees AVX-512 F.
        u32::from(unsafe { _mm512_cmple_epu64_mask(self.0, thr.0) })
    }

    #[inline(always)]
    unsafe fn store(self) -> [u64; 8] {
        let mut a = [0u64; 8];
        // SAFETY: the caller guarantees AVX-512 F; `a` is 64 writable bytes; unaligned store.
        unsafe { _mm512_storeu_si512(a.as_mut_ptr().cast(), self.0) };
        a
    }

    #[inline(always)]
    unsafe fn broadcast256(q: &Hash256) -> V512 {
        let w = q.limbs().map(|l| l as i64);
        // SAFETY: the caller guarantees AVX-512 F.
        V512(unsafe { _mm512_setr_epi64(w[0], w[1], w[2], w[3], w[0], w[1], w[2], w[3]) })
    }

    #[inline(always)]
    unsafe fn dist256(h: &[Hash256], q: V512) -> V512 {
        // SAFETY: the caller guarantees AVX-512 F and VPOPCNTDQ; `h` holds eight hashes
        // (`load_pair` checks it).
        unsafe {
            let p0 = _mm512_popcnt_epi64(_mm512_xor_si512(load_pair(h), q.0));
            let p1 = _mm512_popcnt_epi64(_mm512_xor_si512(load_pair(&h[2..]), q.0));
            let p2 = _mm512_popcnt_epi64(_mm512_xor_si512(load_pair(&h[4..]), q.0));
            let p3 = _mm512_popcnt_epi64(_mm512_xor_si512(load_pair(&h[6..]), q.0));
            // Within each 128-bit lane, sum limb pairs of two vectors, then sum the lane halves.
            let a = _mm512_add_epi64(_mm512_unpacklo_epi64(p0, p1), _mm512_unpackhi_epi64(p0, p1));
            let b = _mm512_add_epi64(_mm512_unpacklo_epi64(p2, p3), _mm512_unpackhi_epi64(p2, p3));
            V512(_mm512_add_epi64(
                _mm512_shuffle_i64x2::<0x88>(a, b),
                _mm512_shuffle_i64x2::<0xDD>(a, b),
            ))
        }
    }

    #[inline(always)]
    unsafe fn transpose256(h: &[Hash256]) -> [V512; 4] {
        // SAFETY: the caller guarantees AVX-512 F; `h` holds eight hashes (`load_pair` checks
        // it).
        unsafe {
            let z0 = load_pair(&h[0..]);
            let z1 = load_pair(&h[2..]);
            let z2 = load_pair(&h[4..]);
            let z3 = load_pair(&h[6..]);
            let i01 = _mm512_setr_epi64(0, 4, 8, 12, 1, 5, 9, 13);
            let i23 = _mm512_setr_epi64(2, 6, 10, 14, 3, 7, 11, 15);
            let a01 = _mm512_permutex2var_epi64(z0, i01, z1);
            let a23 = _mm512_permutex2var_epi64(z0, i23, z1);
            let b01 = _mm512_permutex2var_epi64(z2, i01, z3);
            let b23 = _mm512_permutex2var_epi64(z2, i23, z3);
            [
                V512(_mm512_shuffle_i64x2::<0x44>(a01, b01)),
                V512(_mm512_shuffle_i64x2::<0xEE>(a01, b01)),
                V512(_mm512_shuffle_i64x2::<0x44>(a23, b23)),
                V512(_mm512_shuffle_i64x2::<0xEE>(a23, b23)),
            ]
        }
    }

    #[inline(always)]
    unsafe fn filter_bytes(bytes: &[u8], q: u8, allowed: u32) -> u64 {
        let lanes = low_bits(bytes.len().min(64));
        // SAFETY: the caller guarantees AVX-512 F and BW. The masked load reads only the
        // lanes selected by `lanes` (masked-off elements are not accessed), and `bytes` has
        // that many readable bytes.
        unsafe {
            let v = _mm512_maskz_loadu_epi8(lanes, bytes.as_ptr().cast());
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
    }
}
