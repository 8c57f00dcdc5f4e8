//! The Hamming kernels written once, over [`Vector`] (memchr's `arch/generic`): the AVX2 and
//! AVX-512 kernels are these functions instantiated with each set's vector type inside a
//! `#[target_feature]` entry point ([`simd_impl!`]); only the vector operations differ.
//!
//! Every kernel here is `unsafe`: it may run only on a CPU with `V`'s features, which the
//! entry points guarantee by taking a detection token.

use super::{scalar, Width};
use crate::hash::{Hash256, Hash64};
use crate::index::Match;

/// A vector of `LANES` 64-bit lanes (4 for AVX2, 8 for AVX-512) and the operations the Hamming
/// kernels need. The widest is 8 lanes, so lane masks and stores fit a `u32` and `[u64; 8]`.
///
/// # Safety (of every method)
///
/// The CPU must support the features of the instruction set that implements the trait. Every
/// method is `#[inline(always)]`, so it is compiled with the features of the
/// `#[target_feature]` entry point it is inlined into.
pub(super) trait Vector: Copy {
    /// 64-bit lanes per vector.
    const LANES: usize;
    /// Bytes [`Vector::filter_bytes`] handles per call (a power of two, at most 64).
    const BYTES: usize;
    /// For [`Vector::dist256`]: the position, within its group of `LANES` hashes, of the hash
    /// whose distance is in lane `l` (the identity where the reduction keeps hash order).
    const DIST256_ORDER: [usize; 8];

    /// Every lane `x`.
    unsafe fn splat(x: u64) -> Self;
    /// `LANES` 64-bit hashes from the start of `h` (`h.len() >= LANES`).
    unsafe fn load64(h: &[Hash64]) -> Self;
    /// Bitwise exclusive or.
    unsafe fn xor(self, other: Self) -> Self;
    /// The population count of each lane.
    unsafe fn popcnt(self) -> Self;
    /// The population count of each lane, summed over four vectors.
    unsafe fn popcnt4(v: [Self; 4]) -> Self;
    /// Bit `l` set for each lane `l` whose unsigned value is `<= thr`'s.
    unsafe fn le(self, thr: Self) -> u32;
    /// The lanes, in order; lanes past `LANES` are zero.
    unsafe fn store(self) -> [u64; 8];
    /// `q`'s four limbs, repeated to fill the vector (the query of [`Vector::dist256`]).
    unsafe fn broadcast256(q: &Hash256) -> Self;
    /// The distances of the `LANES` hashes `h` (`h.len() == LANES`) to the query `q` (from
    /// [`Vector::broadcast256`]): hash `DIST256_ORDER[l]` in lane `l`.
    unsafe fn dist256(h: &[Hash256], q: Self) -> Self;
    /// The `LANES` hashes `h` (`h.len() == LANES`) limb-major: `out[k]` lane `l` is limb `k`
    /// of `h[l]`.
    unsafe fn transpose256(h: &[Hash256]) -> [Self; 4];
    /// Bit `i` set for each `i < min(bytes.len(), BYTES)` with
    /// `popcount(bytes[i] ^ q) <= allowed` (`allowed < 8`); no other bit set.
    unsafe fn filter_bytes(bytes: &[u8], q: u8, allowed: u32) -> u64;
}

/// A hash width the vector kernels handle: how to load hashes and compute `V::LANES`
/// distances at a time. Implemented for [`Hash64`] (one hash per lane) and [`Hash256`] (one
/// hash per four lanes, or four limb vectors once transposed).
///
/// # Safety (of every `unsafe` method)
///
/// As for [`Vector`]: the CPU must support `V`'s features.
pub(super) trait Lanes: Width {
    /// A query prepared for [`Lanes::dists`].
    type Query<V: Vector>: Copy;
    /// `V::LANES` hashes held in registers for the batch kernel.
    type Loaded<V: Vector>: Copy;

    /// Prepares `q` for [`Lanes::dists`].
    unsafe fn query<V: Vector>(q: &Self) -> Self::Query<V>;
    /// The distances of `h[..V::LANES]` to the query: the hash at position `order[l]` in lane
    /// `l`, where `order` is [`Lanes::order`].
    unsafe fn dists<V: Vector>(h: &[Self], q: Self::Query<V>) -> V;
    /// The lane order of [`Lanes::dists`].
    fn order<V: Vector>() -> [usize; 8];
    /// `h[..V::LANES]` for the batch kernel.
    unsafe fn load<V: Vector>(h: &[Self]) -> Self::Loaded<V>;
    /// `q` in the form of [`Lanes::load`], every lane `q`.
    unsafe fn splat<V: Vector>(q: &Self) -> Self::Loaded<V>;
    /// Lane-wise distances between loaded hashes and a splatted query, in hash order.
    unsafe fn distances<V: Vector>(h: Self::Loaded<V>, q: Self::Loaded<V>) -> V;
}

impl Lanes for Hash64 {
    type Query<V: Vector> = V;
    type Loaded<V: Vector> = V;

    #[inline(always)]
    unsafe fn query<V: Vector>(q: &Hash64) -> V {
        // SAFETY: the caller guarantees `V`'s features.
        unsafe { V::splat(q.to_u64()) }
    }
    #[inline(always)]
    unsafe fn dists<V: Vector>(h: &[Hash64], q: V) -> V {
        // SAFETY: the caller guarantees `V`'s features; `load64` checks the length.
        unsafe { V::load64(h).xor(q).popcnt() }
    }
    #[inline(always)]
    fn order<V: Vector>() -> [usize; 8] {
        IDENTITY
    }
    #[inline(always)]
    unsafe fn load<V: Vector>(h: &[Hash64]) -> V {
        // SAFETY: the caller guarantees `V`'s features; `load64` checks the length.
        unsafe { V::load64(h) }
    }
    #[inline(always)]
    unsafe fn splat<V: Vector>(q: &Hash64) -> V {
        // SAFETY: the caller guarantees `V`'s features.
        unsafe { V::splat(q.to_u64()) }
    }
    #[inline(always)]
    unsafe fn distances<V: Vector>(h: V, q: V) -> V {
        // SAFETY: the caller guarantees `V`'s features.
        unsafe { h.xor(q).popcnt() }
    }
}

impl Lanes for Hash256 {
    type Query<V: Vector> = V;
    type Loaded<V: Vector> = [V; 4];

    #[inline(always)]
    unsafe fn query<V: Vector>(q: &Hash256) -> V {
        // SAFETY: the caller guarantees `V`'s features.
        unsafe { V::broadcast256(q) }
    }
    #[inline(always)]
    unsafe fn dists<V: Vector>(h: &[Hash256], q: V) -> V {
        // SAFETY: the caller guarantees `V`'s features; `dist256` checks the length.
        unsafe { V::dist256(&h[..V::LANES], q) }
    }
    #[inline(always)]
    fn order<V: Vector>() -> [usize; 8] {
        V::DIST256_ORDER
    }
    #[inline(always)]
    unsafe fn load<V: Vector>(h: &[Hash256]) -> [V; 4] {
        // SAFETY: the caller guarantees `V`'s features; `transpose256` checks the length.
        unsafe { V::transpose256(&h[..V::LANES]) }
    }
    #[inline(always)]
    unsafe fn splat<V: Vector>(q: &Hash256) -> [V; 4] {
        let w = q.limbs();
        // SAFETY: the caller guarantees `V`'s features.
        unsafe {
            [
                V::splat(w[0]),
                V::splat(w[1]),
                V::splat(w[2]),
                V::splat(w[3]),
            ]
        }
    }
    #[inline(always)]
    unsafe fn distances<V: Vector>(h: [V; 4], q: [V; 4]) -> V {
        // SAFETY: the caller guarantees `V`'s features.
        unsafe {
            V::popcnt4([
                h[0].xor(q[0]),
                h[1].xor(q[1]),
                h[2].xor(q[2]),
                h[3].xor(q[3]),
            ])
        }
    }
}

/// Appends the matches of one group of hashes from `first` (lanes set in `mask`), in index order.
#[cold]
#[inline(never)]
fn emit(
    first: usize,
    dist: [u64; 8],
    mask: u32,
    order: &[usize; 8],
    base: u32,
    out: &mut Vec<Match>,
) {
    let mut found = [(0u32, 0u32); 8];
    let mut n = 0;
    let mut m = mask;
    while m != 0 {
        let lane = m.trailing_zeros() as usize;
        m &= m - 1;
        found[n] = ((first + order[lane]) as u32, dist[lane] as u32);
        n += 1;
    }
    if order != &IDENTITY {
        found[..n].sort_unstable();
    }
    out.extend(found[..n].iter().map(|&(i, d)| Match::new(base + i, d)));
}

/// [`emit`] for the batch kernel (any order): `(query position, match)`.
#[cold]
#[inline(never)]
fn emit_batch(
    qi: usize,
    first: usize,
    dist: [u64; 8],
    mask: u32,
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

/// The lane order of kernels that keep hash order.
const IDENTITY: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

/// Appends every `hashes[i]` within `thr` of `q` as `Match(base + i, d)`, in index order:
/// four groups of `V::LANES` hashes per step, then one group, then scalar.
///
/// # Safety
///
/// The CPU must support `V`'s features.
#[inline(always)]
pub(super) unsafe fn range<H: Lanes, V: Vector>(
    hashes: &[H],
    q: &H,
    thr: u32,
    base: u32,
    out: &mut Vec<Match>,
) {
    // SAFETY: the caller guarantees `V`'s features; every slice passed to `dists` holds at
    // least `V::LANES` hashes.
    unsafe {
        let (qv, tv, order) = (H::query::<V>(q), V::splat(u64::from(thr)), H::order::<V>());
        let mut chunks = hashes.chunks_exact(4 * V::LANES);
        let mut i = 0;
        for c in &mut chunks {
            // No closures here: a closure would not inherit the entry point's target features,
            // and the vector operations would become calls.
            let ds = [
                H::dists::<V>(c, qv),
                H::dists::<V>(&c[V::LANES..], qv),
                H::dists::<V>(&c[2 * V::LANES..], qv),
                H::dists::<V>(&c[3 * V::LANES..], qv),
            ];
            let ms = [ds[0].le(tv), ds[1].le(tv), ds[2].le(tv), ds[3].le(tv)];
            if (ms[0] | ms[1] | ms[2] | ms[3]) != 0 {
                for k in 0..4 {
                    if ms[k] != 0 {
                        emit(i + k * V::LANES, ds[k].store(), ms[k], &order, base, out);
                    }
                }
            }
            i += 4 * V::LANES;
        }
        let mut singles = chunks.remainder().chunks_exact(V::LANES);
        for c in &mut singles {
            let d = H::dists::<V>(c, qv);
            let m = d.le(tv);
            if m != 0 {
                emit(i, d.store(), m, &order, base, out);
            }
            i += V::LANES;
        }
        scalar::range(singles.remainder(), q, thr, base + i as u32, out);
    }
}

/// Appends `(query position, Match)` for every pair within `thr` (any order). Each step holds
/// `G` groups of `V::LANES` hashes in registers and runs every query over them; the tail is
/// run one group at a time, then scalar.
///
/// # Safety
///
/// The CPU must support `V`'s features.
#[inline(always)]
pub(super) unsafe fn batch<H: Lanes, V: Vector, const G: usize>(
    hashes: &[H],
    queries: &[H],
    thr: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    // SAFETY: the caller guarantees `V`'s features; each slice passed to `load` holds at least
    // `V::LANES` hashes.
    unsafe {
        let tv = V::splat(u64::from(thr));
        let mut chunks = hashes.chunks_exact(G * V::LANES);
        let mut i = 0;
        for c in &mut chunks {
            // Loops, not `array::from_fn`: a closure would not inherit the entry point's target
            // features.
            let mut g = [H::load::<V>(c); G];
            for (k, gk) in g.iter_mut().enumerate().skip(1) {
                *gk = H::load::<V>(&c[k * V::LANES..]);
            }
            for (qi, q) in queries.iter().enumerate() {
                let qv = H::splat::<V>(q);
                let mut ds = [tv; G];
                let mut ms = [0u32; G];
                let mut any = 0u32;
                for k in 0..G {
                    ds[k] = H::distances::<V>(g[k], qv);
                    ms[k] = ds[k].le(tv);
                    any |= ms[k];
                }
                if any != 0 {
                    for k in 0..G {
                        if ms[k] != 0 {
                            emit_batch(qi, i + k * V::LANES, ds[k].store(), ms[k], base, out);
                        }
                    }
                }
            }
            i += G * V::LANES;
        }
        let rest = chunks.remainder();
        if G > 1 && rest.len() >= V::LANES {
            // Whole groups of the tail one at a time, so at most `V::LANES - 1` hashes are
            // left to the scalar loop (the pigeonhole join's buckets are often a few groups).
            batch::<H, V, 1>(rest, queries, thr, base + i as u32, out);
        } else {
            scalar::batch(rest, queries, thr, base + i as u32, out);
        }
    }
}

/// Bit `i` set for each `bytes[i]` (`i < 64`) with `popcount(bytes[i] ^ q) <= allowed`.
///
/// # Safety
///
/// The CPU must support `V`'s features.
#[inline(always)]
pub(super) unsafe fn filter_mask64<V: Vector>(bytes: &[u8], q: u8, allowed: u32) -> u64 {
    let bytes = &bytes[..bytes.len().min(64)];
    if allowed >= 8 {
        return low_bits(bytes.len());
    }
    let mut m = 0u64;
    let mut at = 0;
    while at < bytes.len() {
        // SAFETY: the caller guarantees `V`'s features; `allowed < 8`.
        m |= unsafe { V::filter_bytes(&bytes[at..], q, allowed) } << at;
        at += V::BYTES;
    }
    m
}

/// The low `n` bits set (`n <= 64`).
#[inline(always)]
pub(super) fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// A detection token's kernels: each an instance of this module's generic code inside a
/// `#[target_feature]` function compiled for `$features`, called through a safe wrapper that
/// takes the token as proof; and the token's [`Simd`](super::Simd) impl. `$g256` / `$g64`:
/// vectors of hashes per step of the batch kernel.
macro_rules! simd_impl {
    ($token:ty, $vector:ty, $features:literal, batch256: $g256:literal, batch64: $g64:literal) => {
        /// Runs `op` compiled for this token's features.
        #[target_feature(enable = $features)]
        fn run<W: WithSimd>(token: $token, op: W) -> W::Output {
            op.with_simd(token)
        }

        /// [`generic::range`] for this token.
        pub(super) fn range<H: Lanes>(
            _: $token,
            h: &[H],
            q: &H,
            thr: u32,
            base: u32,
            out: &mut Hits,
        ) {
            #[target_feature(enable = $features)]
            fn imp<H: Lanes>(h: &[H], q: &H, thr: u32, base: u32, out: &mut Hits) {
                // SAFETY: compiled for the vector type's features, called only with the token.
                unsafe { generic::range::<H, $vector>(h, q, thr, base, out) }
            }
            // SAFETY: the token exists only where the cached detection found the features.
            unsafe { imp(h, q, thr, base, out) }
        }

        /// [`generic::batch`] for this token, 256-bit hashes.
        pub(super) fn batch256(
            _: $token,
            h: &[Hash256],
            qs: &[Hash256],
            thr: u32,
            base: u32,
            out: &mut Pairs,
        ) {
            #[target_feature(enable = $features)]
            fn imp(h: &[Hash256], qs: &[Hash256], thr: u32, base: u32, out: &mut Pairs) {
                // SAFETY: compiled for the vector type's features, called only with the token.
                unsafe { generic::batch::<Hash256, $vector, $g256>(h, qs, thr, base, out) }
            }
            // SAFETY: the token exists only where the cached detection found the features.
            unsafe { imp(h, qs, thr, base, out) }
        }

        /// [`generic::batch`] for this token, 64-bit hashes.
        pub(super) fn batch64(
            _: $token,
            h: &[Hash64],
            qs: &[Hash64],
            thr: u32,
            base: u32,
            out: &mut Pairs,
        ) {
            #[target_feature(enable = $features)]
            fn imp(h: &[Hash64], qs: &[Hash64], thr: u32, base: u32, out: &mut Pairs) {
                // SAFETY: compiled for the vector type's features, called only with the token.
                unsafe { generic::batch::<Hash64, $vector, $g64>(h, qs, thr, base, out) }
            }
            // SAFETY: the token exists only where the cached detection found the features.
            unsafe { imp(h, qs, thr, base, out) }
        }

        /// [`generic::filter_mask64`] for this token.
        #[cfg(feature = "test-util")]
        pub(super) fn filter_mask64_with(t: $token, bytes: &[u8], q: u8, allowed: u32) -> u64 {
            Simd::filter_mask64(t, bytes, q, allowed)
        }

        #[target_feature(enable = $features)]
        #[inline]
        fn filter_mask64(bytes: &[u8], q: u8, allowed: u32) -> u64 {
            // SAFETY: compiled for the vector type's features, called only with the token.
            unsafe { generic::filter_mask64::<$vector>(bytes, q, allowed) }
        }

        #[target_feature(enable = "bmi2")]
        #[inline]
        fn select64(w: u64, r: u32) -> u32 {
            core::arch::x86_64::_pdep_u64(1u64.wrapping_shl(r), w).trailing_zeros()
        }

        impl Simd for $token {
            #[inline(always)]
            fn run<W: WithSimd>(self, op: W) -> W::Output {
                // SAFETY: the token exists only where the cached detection found every feature
                // `run` enables.
                unsafe { run(self, op) }
            }
            #[inline(always)]
            fn filter_mask64(self, bytes: &[u8], q: u8, allowed: u32) -> u64 {
                // SAFETY: as in `run`.
                unsafe { filter_mask64(bytes, q, allowed) }
            }
            #[inline(always)]
            fn select64(self, w: u64, r: u32) -> u32 {
                // SAFETY: as in `run` (BMI2 is one of every token's features).
                unsafe { select64(w, r) }
            }
        }
    };
}
pub(super) use simd_impl;
