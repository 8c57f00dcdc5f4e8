//! The Hamming kernels of the indexes: range and batch scans over 64- and 256-bit hashes, and
//! the byte filter of multi-index hashing. The scalar kernels are the oracle; the x86 ones are
//! reached only through the tokens of [`super::x86`].

use super::Isa;
use crate::hash::{Hash256, Hash64};
use crate::index::Match;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod generic;
mod scalar;

/// The matches a range kernel appends.
pub(crate) type Hits = Vec<Match>;
/// The `(query position, match)` pairs a batch kernel appends.
pub(crate) type Pairs = Vec<(u32, Match)>;

/// A hash width the kernels take: [`Hash64`] or [`Hash256`].
pub(crate) trait Width: Copy {
    /// The Hamming distance.
    fn distance(&self, other: &Self) -> u32;
}

impl Width for Hash64 {
    #[inline(always)]
    fn distance(&self, other: &Hash64) -> u32 {
        Hash64::distance(self, other)
    }
}

impl Width for Hash256 {
    #[inline(always)]
    fn distance(&self, other: &Hash256) -> u32 {
        Hash256::distance(self, other)
    }
}

/// An operation generic over the kernel set; [`Isa::dispatch`] runs it inside a function
/// compiled for the instruction set (mark `with_simd` `#[inline(always)]` so its body, and what
/// it inlines, is compiled with those features, e.g. `count_ones` as `popcnt`).
pub(crate) trait WithSimd {
    type Output;
    fn with_simd<S: Simd>(self, simd: S) -> Self::Output;
}

/// The kernels an operation run by [`Isa::dispatch`] calls from inside its loops. Implemented
/// by [`Scalar`] and the detection tokens.
pub(crate) trait Simd: Copy + Send + Sync {
    /// Runs `op` inside a function compiled with this set's target features.
    fn run<W: WithSimd>(self, op: W) -> W::Output;
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

/// Each Hamming kernel called with an explicit [`Isa`]: what the indexes call, and (as
/// `hashsieve::arch::kernels`, feature `test-util`, not part of the stable API) what tests and
/// benchmarks call to compare a level with the scalar oracle.
///
/// # Panics
///
/// Every function panics if its `isa` is not available on this CPU.
#[cfg_attr(not(feature = "test-util"), allow(unreachable_pub))]
pub mod api {
    #[cfg(target_arch = "x86_64")]
    use super::{avx2, avx512};
    use super::{scalar, Isa};
    use crate::hash::{Hash256, Hash64};
    use crate::index::Match;

    /// Calls `$scalar(args)` or the ISA module's `$simd(token, args)`.
    macro_rules! by_isa {
        ($isa:expr, $scalar:path, $simd:ident($($arg:expr),*)) => {
            match $isa {
                Isa::Scalar => $scalar($($arg),*),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => avx2::$simd(token($isa, crate::arch::x86::Avx2::new()), $($arg),*),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => {
                    avx512::$simd(token($isa, crate::arch::x86::Avx512::new()), $($arg),*)
                }
                #[cfg(not(target_arch = "x86_64"))]
                _ => crate::arch::unavailable($isa),
            }
        };
    }

    #[cfg(target_arch = "x86_64")]
    fn token<T>(isa: Isa, t: Option<T>) -> T {
        t.unwrap_or_else(|| crate::arch::unavailable(isa))
    }

    /// Single-query range kernel, 256-bit: appends the hashes within `thr` of `q` as matches
    /// in index order, indexes offset by `base`.
    pub fn range256(
        isa: Isa,
        hashes: &[Hash256],
        q: &Hash256,
        thr: u32,
        base: u32,
        out: &mut Vec<Match>,
    ) {
        by_isa!(isa, scalar::range, range(hashes, q, thr, base, out))
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
        by_isa!(isa, scalar::range, range(hashes, q, thr, base, out))
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
        by_isa!(
            isa,
            scalar::batch,
            batch256(hashes, queries, thr, base, out)
        )
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
        by_isa!(isa, scalar::batch, batch64(hashes, queries, thr, base, out))
    }

    /// The byte filter of multi-index hashing, over the first 64 bytes: bit `i` set for each
    /// `bytes[i]` with `popcount(bytes[i] ^ q) <= allowed`. (Multi-index hashing calls the
    /// kernel through its dispatched [`Simd`](super::Simd) set; this entry is for tests.)
    #[cfg(feature = "test-util")]
    pub fn filter_mask64(isa: Isa, bytes: &[u8], q: u8, allowed: u32) -> u64 {
        by_isa!(
            isa,
            scalar::filter_mask64,
            filter_mask64_with(bytes, q, allowed)
        )
    }
}
