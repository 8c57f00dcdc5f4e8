//! AVX2 vectors (x86-64) for the generic Hamming kernels: popcount by nibble table
//! (`vpshufb`) summed per 64-bit lane with `vpsadbw`.
//!
//! The kernels are [`generic`](super::generic)'s, compiled for AVX2 by [`simd_impl!`] and
//! reached only through [`Avx2`], which exists only where the cached detection found the
//! features (memchr's pattern). No closures here: a closure does not inherit the target features
//! of the function it is inlined into, so its intrinsics would become calls.

use core::arch::x86_64::*;

use super::generic::{self, low_bits, simd_impl, Lanes, Vector};
use super::{Hits, Pairs, Simd, WithSimd};
use crate::arch::x86::Avx2;
use crate::hash::{Hash256, Hash64};

simd_impl!(Avx2, V256, "avx2,popcnt,bmi1,bmi2", batch256: 2, batch64: 4);

/// Four 64-bit lanes.
#[derive(Clone, Copy)]
struct V256(__m256i);

/// Per-byte popcount (each byte 0..=8).
#[inline(always)]
unsafe fn popcnt_bytes(v: __m256i) -> __m256i {
    // SAFETY: the caller guarantees AVX2.
    unsafe {
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let lo = _mm256_and_si256(v, low);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
        _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
    }
}

/// One 256-bit hash as a vector.
#[inline(always)]
unsafe fn load256(h: &Hash256) -> __m256i {
    // SAFETY: the caller guarantees AVX2; `Hash256` is `repr(transparent)` over `[u64; 4]`:
    // 32 readable bytes; unaligned load.
    unsafe { _mm256_loadu_si256((h as *const Hash256).cast()) }
}

/// The popcounts of the four limbs of `h ^ q`.
#[inline(always)]
unsafe fn limb_counts(h: &Hash256, q: __m256i) -> __m256i {
    // SAFETY: the caller guarantees AVX2.
    unsafe {
        _mm256_sad_epu8(
            popcnt_bytes(_mm256_xor_si256(load256(h), q)),
            _mm256_setzero_si256(),
        )
    }
}

impl Vector for V256 {
    const LANES: usize = 4;
    const BYTES: usize = 32;
    const DIST256_ORDER: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

    #[inline(always)]
    unsafe fn splat(x: u64) -> V256 {
        // SAFETY: the caller guarantees AVX2.
        V256(unsafe { _mm256_set1_epi64x(x as i64) })
    }

    #[inline(always)]
    unsafe fn load64(h: &[Hash64]) -> V256 {
        let h: &[Hash64; 4] = h[..4].try_into().expect("four hashes");
        // SAFETY: the caller guarantees AVX2; four `repr(transparent)` u64 hashes: 32 readable
        // bytes; unaligned load.
        V256(unsafe { _mm256_loadu_si256(h.as_ptr().cast()) })
    }

    #[inline(always)]
    unsafe fn xor(self, other: V256) -> V256 {
        // SAFETY: the caller guarantees AVX2.
        V256(unsafe { _mm256_xor_si256(self.0, other.0) })
    }

    #[inline(always)]
    unsafe fn popcnt(self) -> V256 {
        // SAFETY: the caller guarantees AVX2.
        V256(unsafe { _mm256_sad_epu8(popcnt_bytes(self.0), _mm256_setzero_si256()) })
    }

    #[inline(always)]
    unsafe fn popcnt4(v: [V256; 4]) -> V256 {
        // SAFETY: the caller guarantees AVX2. Each byte sum is at most 4 * 8, so the byte adds
        // cannot overflow before `vpsadbw` widens them.
        unsafe {
            let (c0, c1) = (popcnt_bytes(v[0].0), popcnt_bytes(v[1].0));
            let (c2, c3) = (popcnt_bytes(v[2].0), popcnt_bytes(v[3].0));
            let s = _mm256_add_epi8(_mm256_add_epi8(c0, c1), _mm256_add_epi8(c2, c3));
            V256(_mm256_sad_epu8(s, _mm256_setzero_si256()))
        }
    }

    #[inline(always)]
    unsafe fn le(self, thr: V256) -> u32 {
        // SAFETY: the caller guarantees AVX2. Distances and thresholds are below 2^63, so the
        // signed compare is the unsigned one.
        unsafe {
            let gt = _mm256_cmpgt_epi64(self.0, thr.0);
            !(_mm256_movemask_pd(_mm256_castsi256_pd(gt)) as u32) & 0xF
        }
    }

    #[inline(always)]
    unsafe fn store(self) -> [u64; 8] {
        let mut a = [0u64; 8];
        // SAFETY: the caller guarantees AVX2; `a` has 64 writable bytes, of which the store
        // writes the first 32; unaligned store.
        unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), self.0) };
        a
    }

    #[inline(always)]
    unsafe fn broadcast256(q: &Hash256) -> V256 {
        // SAFETY: the caller guarantees AVX2.
        V256(unsafe { load256(q) })
    }

    #[inline(always)]
    unsafe fn dist256(h: &[Hash256], q: V256) -> V256 {
        // SAFETY: the caller guarantees AVX2; `h` holds four hashes (indexing checks it).
        unsafe {
            let (p0, p1, p2, p3) = (
                limb_counts(&h[0], q.0),
                limb_counts(&h[1], q.0),
                limb_counts(&h[2], q.0),
                limb_counts(&h[3], q.0),
            );
            // Sum the four limb counts of each hash: pairs within 128-bit halves, then halves.
            let t01 =
                _mm256_add_epi64(_mm256_unpacklo_epi64(p0, p1), _mm256_unpackhi_epi64(p0, p1));
            let t23 =
                _mm256_add_epi64(_mm256_unpacklo_epi64(p2, p3), _mm256_unpackhi_epi64(p2, p3));
            V256(_mm256_add_epi64(
                _mm256_permute2x128_si256::<0x20>(t01, t23),
                _mm256_permute2x128_si256::<0x31>(t01, t23),
            ))
        }
    }

    #[inline(always)]
    unsafe fn transpose256(h: &[Hash256]) -> [V256; 4] {
        // SAFETY: the caller guarantees AVX2; `h` holds four hashes (indexing checks it).
        unsafe {
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
                V256(_mm256_permute2x128_si256::<0x20>(t0, t2)),
                V256(_mm256_permute2x128_si256::<0x20>(t1, t3)),
                V256(_mm256_permute2x128_si256::<0x31>(t0, t2)),
                V256(_mm256_permute2x128_si256::<0x31>(t1, t3)),
            ]
        }
    }

    #[inline(always)]
    unsafe fn filter_bytes(bytes: &[u8], q: u8, allowed: u32) -> u64 {
        let n = bytes.len().min(32);
        let mut buf = [0u8; 32];
        let src: &[u8; 32] = match bytes.get(..32) {
            Some(b) => b.try_into().expect("32 bytes"),
            None => {
                buf[..n].copy_from_slice(bytes);
                &buf
            }
        };
        // SAFETY: the caller guarantees AVX2; `src` is 32 readable bytes; unaligned load.
        let m = unsafe {
            let v = _mm256_loadu_si256(src.as_ptr().cast());
            let qv = _mm256_set1_epi8(q as i8);
            if allowed == 0 {
                _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, qv)) as u32
            } else {
                let c = popcnt_bytes(_mm256_xor_si256(v, qv));
                // Counts are 0..=8 and `allowed < 8`: the signed compare is the unsigned one.
                !(_mm256_movemask_epi8(_mm256_cmpgt_epi8(c, _mm256_set1_epi8(allowed as i8)))
                    as u32)
            }
        };
        u64::from(m) & low_bits(n)
    }
}
