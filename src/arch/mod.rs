//! The crate's one SIMD dispatch tree, in memchr's manner.
//!
//! Every kernel that has instruction-set-specific code (the Hamming kernels of the indexes, the
//! PDQ downsample, the imagehash resampler) is chosen here, from one runtime CPU detection:
//!
//! * [`Isa`] names an instruction-set level. [`Isa::detect`] is the best one this CPU runs; it
//!   is worked out once per process and cached. This is the only runtime CPU detection in the
//!   crate.
//! * Each level's code is reached only through a zero-sized *token* (`x86::Avx2`,
//!   `x86::Avx512`, crate-private) that can be made only when the cached detection found the
//!   features, so a `#[target_feature]` function can never run on a CPU without them.
//! * Kernels whose logic is the same on every instruction set are written once, generically over
//!   a small vector trait, and compiled once per level inside a `#[target_feature]` entry point;
//!   only the truly ISA-specific pieces (a popcount, a transpose) are written per level.
//! * The portable (scalar) kernels are always compiled, and are the oracle every other level is
//!   tested against. All levels return the same results bit for bit.
//!
//! ```
//! use hashsieve::arch::Isa;
//! let best = Isa::detect();
//! assert!(best.is_available());
//! assert!(Isa::available().contains(&best));
//! assert_eq!(Isa::Scalar.name(), "scalar");
//! ```
//!
//! # Forcing an instruction set (tests and benchmarks)
//!
//! Production code always runs the detected level. Tests and benchmarks that compare levels turn
//! on the `test-util` feature (the crate's own tests and benches do, through a dev-dependency on
//! itself), which adds:
//!
//! * `arch::kernels`: each Hamming kernel called with an explicit [`Isa`];
//! * the index options that take an [`Isa`] (`IndexOptions::isa`, `LinearScan::with_isa` and
//!   the like);
//! * `algo::pdq::internals::downsample_fast`, which takes the [`Isa`] of the PDQ downsample.
//!
//! Iterate over [`Isa::available`] to test every level this CPU has; force [`Isa::Scalar`] for
//! the oracle:
//!
//! ```ignore
//! // In a test or bench (feature `test-util`):
//! use hashsieve::arch::{kernels, Isa};
//! for isa in Isa::available() {
//!     let (mut want, mut got) = (Vec::new(), Vec::new());
//!     kernels::range256(Isa::Scalar, &hashes, &query, 31, 0, &mut want);
//!     kernels::range256(isa, &hashes, &query, 31, 0, &mut got);
//!     assert_eq!(got, want, "{isa}");
//! }
//! ```
//!
//! Forcing a level the CPU lacks is a caller bug: check [`Isa::is_available`] first. It never
//! runs that level's code (which would be undefined behaviour): the kernels panic with a message
//! naming the level, before any of its instructions run.

use std::sync::OnceLock;

mod hamming;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

pub(crate) use self::hamming::api as hamming_api;
pub(crate) use self::hamming::{prefetch, Scalar, Simd, WithSimd};

/// An instruction-set level the crate's kernels can run on.
///
/// Levels are ordered from [`Isa::Scalar`] (always available) to the widest. A level is
/// *available* when this CPU has every feature its kernels use; [`Isa::detect`] is the best
/// available one.
///
/// ```
/// use hashsieve::arch::Isa;
/// for isa in Isa::available() {
///     assert!(isa.is_available());
///     println!("{}", isa.name());
/// }
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust for the compilation target's baseline: always available; the reference
    /// the other levels are tested against.
    Scalar,
    /// x86-64 with AVX2, POPCNT, BMI1 and BMI2.
    Avx2,
    /// x86-64 with AVX-512 F, BW, VL and VPOPCNTDQ, plus everything [`Isa::Avx2`] needs.
    Avx512,
}

impl Isa {
    /// Every level, from scalar to the widest (available or not).
    const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// The best level this CPU runs, detected on the first call and cached for the process.
    pub fn detect() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(detect_now)
    }

    /// Whether this CPU runs this level's kernels.
    pub fn is_available(self) -> bool {
        self.rank() <= Isa::detect().rank()
    }

    /// Every level this CPU runs, from [`Isa::Scalar`] to [`Isa::detect`].
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The level's name, as used in benchmark ids: `scalar`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Isa::Scalar => 0,
            Isa::Avx2 => 1,
            Isa::Avx512 => 2,
        }
    }

    /// Runs `op` with this level's kernel set, inside a function compiled for its features
    /// (mark `with_simd` `#[inline(always)]` so its body is compiled with them).
    ///
    /// # Panics
    ///
    /// Panics if this level is not available on this CPU (a caller forced it; see the module
    /// docs). Detected levels never panic.
    #[inline]
    pub(crate) fn dispatch<W: WithSimd>(self, op: W) -> W::Output {
        match self {
            Isa::Scalar => op.with_simd(Scalar),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::Avx2::new()
                .unwrap_or_else(|| unavailable(self))
                .run(op),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::Avx512::new()
                .unwrap_or_else(|| unavailable(self))
                .run(op),
            #[cfg(not(target_arch = "x86_64"))]
            _ => unavailable(self),
        }
    }
}

/// Panics for a forced level this CPU does not run (see the module docs).
#[cold]
#[inline(never)]
pub(crate) fn unavailable(isa: Isa) -> ! {
    panic!(
        "instruction set {} was forced but this CPU does not support it; \
         check Isa::is_available first",
        isa.name()
    )
}

impl Default for Isa {
    /// [`Isa::detect`].
    fn default() -> Isa {
        Isa::detect()
    }
}

display_by!(Isa);

/// The one runtime detection (see [`Isa::detect`], which caches it).
fn detect_now() -> Isa {
    #[cfg(test)]
    tests::DETECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    #[cfg(target_arch = "x86_64")]
    {
        x86::detect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Isa::Scalar
    }
}

#[cfg(feature = "test-util")]
pub use self::hamming::api as kernels;

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    pub(super) static DETECTIONS: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn detection_runs_once_and_levels_are_ordered() {
        let best = Isa::detect();
        for _ in 0..3 {
            assert_eq!(Isa::detect(), best);
            assert!(Isa::available().contains(&best));
        }
        assert_eq!(DETECTIONS.load(Ordering::Relaxed), 1);
        let all = Isa::available();
        assert_eq!(all[0], Isa::Scalar);
        assert_eq!(*all.last().expect("scalar"), best);
        for isa in Isa::ALL {
            assert_eq!(isa.is_available(), all.contains(&isa));
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn tokens_follow_the_cached_detection() {
        assert_eq!(x86::Avx2::new().is_some(), Isa::Avx2.is_available());
        assert_eq!(x86::Avx512::new().is_some(), Isa::Avx512.is_available());
    }

    #[test]
    #[cfg(not(target_arch = "x86_64"))]
    #[should_panic(expected = "forced but this CPU does not support it")]
    fn forcing_an_unavailable_level_panics() {
        hamming::api::filter_mask64(Isa::Avx2, &[0; 8], 0, 0);
    }
}
