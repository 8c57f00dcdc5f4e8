//! The Hamming kernels of the indexes: range and batch scans over 64- and 256-bit hashes, and
//! the byte filters of multi-index hashing. The scalar kernels are the oracle; the x86 ones are
//! reached only through the tokens of [`super::x86`].

use super::Isa;
use crate::hash::{Hash256, Hash64};
use crate::index::Match;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod scalar;

/// An operation generic over the kernel set; [`Isa::dispatch`] runs it inside a function
/// compiled for the instruction set (mark `with_simd` `#[inline(always)]` so its body, and what
/// it inlines, is compiled with those features, e.g. `count_ones` as `popcnt`).
pub(crate) trait WithSimd {
    type Output;
    fn with_simd<S: Simd>(self, simd: S) -> Self::Output;
}

/// The kernel set of one instruction set. Implemented by [`Scalar`] and the detection tokens.
pub(crate) trait Simd: Copy + Send + Sync {
    /// Runs `op` inside a function compiled with this set's target features.
    fn run<W: WithSimd>(self, op: W) -> W::Output;
    /// Appends every `hashes[i]` within `thr` of `q` as `Match(base + i, d)`, in index order.
    fn range256(self, hashes: &[Hash256], q: &Hash256, thr: u32, base: u32, out: &mut Vec<Match>);
    /// The 64-bit form of `range256`.
    fn range64(self, hashes: &[Hash64], q: &Hash64, thr: u32, base: u32, out: &mut Vec<Match>);
    /// Appends `(query position, Match)` for every pair within `thr` (any order).
    fn batch256(
        self,
        hashes: &[Hash256],
        queries: &[Hash256],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    );
    /// The 64-bit form of `batch256`.
    fn batch64(
        self,
        hashes: &[Hash64],
        queries: &[Hash64],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    );
    /// Appends `base + i` for each `bytes[i]` with `popcount(bytes[i] ^ q) <= allowed`, in order.
    fn filter_u8(self, bytes: &[u8], q: u8, allowed: u32, base: u32, out: &mut Vec<u32>);
    /// The position of the set bit of rank `r` (0-based) in `w`; `r < w.count_ones()`.
    fn select64(self, w: u64, r: u32) -> u32;
    /// Bit `i` set for each `bytes[i]` (`i < 64`) with `popcount(bytes[i] ^ q) <= allowed`;
    /// bytes past 64 are ignored.
    fn filter_mask64(self, bytes: &[u8], q: u8, allowed: u32) -> u64;
}

/// The portable kernel set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    #[inline(always)]
    fn run<W: WithSimd>(self, op: W) -> W::Output {
        op.with_simd(self)
    }
    fn range256(self, hashes: &[Hash256], q: &Hash256, thr: u32, base: u32, out: &mut Vec<Match>) {
        scalar::range256(hashes, q, thr, base, out)
    }
    fn range64(self, hashes: &[Hash64], q: &Hash64, thr: u32, base: u32, out: &mut Vec<Match>) {
        scalar::range64(hashes, q, thr, base, out)
    }
    fn batch256(
        self,
        hashes: &[Hash256],
        queries: &[Hash256],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    ) {
        scalar::batch256(hashes, queries, thr, base, out)
    }
    fn batch64(
        self,
        hashes: &[Hash64],
        queries: &[Hash64],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    ) {
        scalar::batch64(hashes, queries, thr, base, out)
    }
    fn filter_u8(self, bytes: &[u8], q: u8, allowed: u32, base: u32, out: &mut Vec<u32>) {
        scalar::filter_u8(bytes, q, allowed, base, out)
    }
    #[inline(always)]
    fn select64(self, w: u64, r: u32) -> u32 {
        scalar::select64(w, r)
    }
    #[inline(always)]
    fn filter_mask64(self, bytes: &[u8], q: u8, allowed: u32) -> u64 {
        scalar::filter_mask64(bytes, q, allowed)
    }
}

/// Hints the CPU to fetch the cache line holding `p` (no effect off x86-64). Never faults.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint: it never faults and has no architectural effect, whatever
    // the address; SSE is part of the x86-64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Each kernel called with an explicit [`Isa`]: what the indexes call, and (feature
/// `test-util`) what tests and benchmarks call through [`crate::arch::kernels`].
///
/// Every function panics if its `isa` is not available on this CPU.
pub mod api {
    use super::*;

    struct Range256<'a>(&'a [Hash256], &'a Hash256, u32, u32, &'a mut Vec<Match>);
    impl WithSimd for Range256<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            s.range256(self.0, self.1, self.2, self.3, self.4)
        }
    }
    struct Range64<'a>(&'a [Hash64], &'a Hash64, u32, u32, &'a mut Vec<Match>);
    impl WithSimd for Range64<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            s.range64(self.0, self.1, self.2, self.3, self.4)
        }
    }
    struct Batch256<'a>(
        &'a [Hash256],
        &'a [Hash256],
        u32,
        u32,
        &'a mut Vec<(u32, Match)>,
    );
    impl WithSimd for Batch256<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            s.batch256(self.0, self.1, self.2, self.3, self.4)
        }
    }
    struct Batch64<'a>(
        &'a [Hash64],
        &'a [Hash64],
        u32,
        u32,
        &'a mut Vec<(u32, Match)>,
    );
    impl WithSimd for Batch64<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            s.batch64(self.0, self.1, self.2, self.3, self.4)
        }
    }
    struct Filter<'a>(&'a [u8], u8, u32, u32, &'a mut Vec<u32>);
    impl WithSimd for Filter<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            s.filter_u8(self.0, self.1, self.2, self.3, self.4)
        }
    }

    /// Single-query range kernel, 256-bit: appends matches in index order, indexes offset by
    /// `base`.
    pub fn range256(
        isa: Isa,
        hashes: &[Hash256],
        q: &Hash256,
        thr: u32,
        base: u32,
        out: &mut Vec<Match>,
    ) {
        isa.dispatch(Range256(hashes, q, thr, base, out))
    }

    /// Single-query range kernel, 64-bit.
    pub fn range64(
        isa: Isa,
        hashes: &[Hash64],
        q: &Hash64,
        thr: u32,
        base: u32,
        out: &mut Vec<Match>,
    ) {
        isa.dispatch(Range64(hashes, q, thr, base, out))
    }

    /// Many-query kernel, 256-bit: appends `(query position, match)` in unspecified order.
    pub fn batch256(
        isa: Isa,
        hashes: &[Hash256],
        queries: &[Hash256],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    ) {
        isa.dispatch(Batch256(hashes, queries, thr, base, out))
    }

    /// Many-query kernel, 64-bit.
    pub fn batch64(
        isa: Isa,
        hashes: &[Hash64],
        queries: &[Hash64],
        thr: u32,
        base: u32,
        out: &mut Vec<(u32, Match)>,
    ) {
        isa.dispatch(Batch64(hashes, queries, thr, base, out))
    }

    struct Mask64<'a>(&'a [u8], u8, u32);
    impl WithSimd for Mask64<'_> {
        type Output = u64;
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) -> u64 {
            s.filter_mask64(self.0, self.1, self.2)
        }
    }

    /// Mask form of the byte filter over the first 64 bytes.
    pub fn filter_mask64(isa: Isa, bytes: &[u8], q: u8, allowed: u32) -> u64 {
        isa.dispatch(Mask64(bytes, q, allowed))
    }

    /// Byte filter used by multi-index hashing: positions `base + i` with
    /// `popcount(bytes[i] ^ q) <= allowed`, in order.
    pub fn filter_u8(isa: Isa, bytes: &[u8], q: u8, allowed: u32, base: u32, out: &mut Vec<u32>) {
        isa.dispatch(Filter(bytes, q, allowed, base, out))
    }
}
