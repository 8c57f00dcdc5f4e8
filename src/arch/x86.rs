//! x86-64: the feature detection and the tokens that prove its result.
//!
//! A token is a zero-sized value that can be made only where [`Isa::detect`]'s cached result
//! includes its features, so holding one is proof that `#[target_feature]` code for them is safe
//! to call. Kernels take a token; their `#[target_feature]` functions stay private to the module
//! that defines them.

use super::Isa;

/// The best level this CPU runs. The crate's only use of `is_x86_feature_detected!`; called
/// once, by [`Isa::detect`].
pub(super) fn detect() -> Isa {
    let avx2 = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("popcnt")
        && is_x86_feature_detected!("bmi1")
        && is_x86_feature_detected!("bmi2");
    let avx512 = avx2
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vpopcntdq");
    if avx512 {
        Isa::Avx512
    } else if avx2 {
        Isa::Avx2
    } else {
        Isa::Scalar
    }
}

/// Proof that the CPU has the features of [`Isa::Avx2`]: AVX2, POPCNT, BMI1 and BMI2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// The token, if the cached detection found the features.
    #[inline]
    pub(crate) fn new() -> Option<Avx2> {
        Isa::Avx2.is_available().then_some(Avx2(()))
    }
}

/// Proof that the CPU has the features of [`Isa::Avx512`] (which include [`Isa::Avx2`]'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// The token, if the cached detection found the features.
    #[inline]
    pub(crate) fn new() -> Option<Avx512> {
        Isa::Avx512.is_available().then_some(Avx512(()))
    }

    /// The AVX2 token: every AVX-512 CPU this crate accepts has AVX2's features too.
    #[inline]
    pub(crate) fn avx2(self) -> Avx2 {
        Avx2(())
    }
}
