//! Every SIMD kernel against the scalar kernel, across vector-width boundaries.

use hashsieve::arch::{kernels, Isa};
use hashsieve::index::bench::SplitMix64;
use hashsieve::index::Match;
use hashsieve::{Hash256, Hash64};

fn h256(rng: &mut SplitMix64) -> Hash256 {
    Hash256::from_limbs([rng.next(), rng.next(), rng.next(), rng.next()])
}

/// A list mixing random hashes and near copies of `q` so every threshold has hits and misses.
fn list256(rng: &mut SplitMix64, q: &Hash256, len: usize) -> Vec<Hash256> {
    (0..len)
        .map(|_| {
            if rng.below(2) == 0 {
                h256(rng)
            } else {
                let mut l = q.limbs();
                for _ in 0..rng.below(200) {
                    let b = rng.below(256);
                    l[(b / 64) as usize] ^= 1 << (b % 64);
                }
                Hash256::from_limbs(l)
            }
        })
        .collect()
}

fn list64(rng: &mut SplitMix64, q: &Hash64, len: usize) -> Vec<Hash64> {
    (0..len)
        .map(|_| {
            if rng.below(2) == 0 {
                Hash64::from_u64(rng.next())
            } else {
                let mut v = q.to_u64();
                for _ in 0..rng.below(40) {
                    v ^= 1 << rng.below(64);
                }
                Hash64::from_u64(v)
            }
        })
        .collect()
}

fn sorted(mut v: Vec<(u32, Match)>) -> Vec<(u32, Match)> {
    v.sort_unstable_by_key(|&(q, m)| (q, m.index, m.distance));
    v
}

#[test]
fn detected_isa_is_listed_and_scalar_always_present() {
    let all = Isa::available();
    assert_eq!(all[0], Isa::Scalar);
    assert!(all.contains(&Isa::detect()));
    // On the development machine (AVX-512 VPOPCNTDQ) make sure the fast path is really tested.
    if std::arch::is_x86_feature_detected!("avx512vpopcntdq") {
        assert_eq!(Isa::detect().name(), "avx512");
    }
}

/// What `kernel` writes run on `isa` and on the scalar oracle: (got, want).
fn with_oracle<T>(isa: Isa, kernel: impl Fn(Isa, &mut Vec<T>)) -> (Vec<T>, Vec<T>) {
    let (mut got, mut want) = (Vec::new(), Vec::new());
    kernel(Isa::Scalar, &mut want);
    kernel(isa, &mut got);
    (got, want)
}

/// Checks that a batch kernel gives the scalar oracle's (query, match) pairs on `isa`, in any
/// order.
#[track_caller]
fn assert_batch_agrees(isa: Isa, what: &str, kernel: impl Fn(Isa, &mut Vec<(u32, Match)>)) {
    let (got, want) = with_oracle(isa, kernel);
    assert_eq!(sorted(got), sorted(want), "{} {what}", isa.name());
}

#[test]
fn range_kernels_match_scalar_at_every_length_0_to_70() {
    let mut rng = SplitMix64::new(1);
    for isa in Isa::available() {
        for len in 0..=70 {
            let q = h256(&mut rng);
            let list = list256(&mut rng, &q, len);
            let q64 = Hash64::from_u64(rng.next());
            let list64 = list64(&mut rng, &q64, len);
            for thr in [0, 1, 31, 64, 100, 128, 200, 255, 256] {
                let base = rng.below(1000) as u32;
                let (got, want) = with_oracle(isa, |isa, out| {
                    kernels::range256(isa, &list, &q, thr, base, out)
                });
                assert_eq!(got, want, "{} range256 len {len} thr {thr}", isa.name());
                let t64 = thr.min(64) / 4 + thr % 3;
                let (got, want) = with_oracle(isa, |isa, out| {
                    kernels::range64(isa, &list64, &q64, t64, base, out)
                });
                assert_eq!(got, want, "{} range64 len {len} thr {t64}", isa.name());
            }
        }
    }
}

#[test]
fn batch_kernels_match_scalar_for_odd_batches_and_lengths() {
    let mut rng = SplitMix64::new(2);
    for isa in Isa::available() {
        for len in (0..=70).chain([127, 128, 129, 200]) {
            for nq in [0usize, 1, 2, 3, 5, 7, 13] {
                let centre = h256(&mut rng);
                let list = list256(&mut rng, &centre, len);
                let queries: Vec<Hash256> =
                    (0..nq).map(|_| list256(&mut rng, &centre, 1)[0]).collect();
                let c64 = Hash64::from_u64(rng.next());
                let l64 = list64(&mut rng, &c64, len);
                let q64: Vec<Hash64> = (0..nq).map(|_| list64(&mut rng, &c64, 1)[0]).collect();
                for thr in [0, 20, 90, 128, 256] {
                    let what = format!("batch256 len {len} nq {nq} thr {thr}");
                    assert_batch_agrees(isa, &what, |isa, out| {
                        kernels::batch256(isa, &list, &queries, thr, 5, out)
                    });
                    let t64 = thr / 4;
                    let what = format!("batch64 len {len} nq {nq} thr {t64}");
                    assert_batch_agrees(isa, &what, |isa, out| {
                        kernels::batch64(isa, &l64, &q64, t64, 9, out)
                    });
                }
            }
        }
    }
}

#[test]
fn scalar_kernel_agrees_with_hash_distance() {
    // The oracle itself, against the definition.
    let mut rng = SplitMix64::new(4);
    let q = h256(&mut rng);
    let list = list256(&mut rng, &q, 300);
    let mut got = Vec::new();
    kernels::range256(Isa::Scalar, &list, &q, 100, 0, &mut got);
    let want: Vec<Match> = list
        .iter()
        .enumerate()
        .filter(|(_, h)| h.distance(&q) <= 100)
        .map(|(i, h)| Match::new(i as u32, h.distance(&q)))
        .collect();
    assert_eq!(got, want);
    assert!(!want.is_empty() && want.len() < list.len());
}

#[test]
fn mask_filter_matches_scalar_and_the_definition() {
    let mut rng = SplitMix64::new(5);
    for isa in Isa::available() {
        for len in 0..=80 {
            let q = rng.next() as u8;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(2) == 0 {
                        q ^ (1 << rng.below(8))
                    } else {
                        rng.next() as u8
                    }
                })
                .collect();
            for allowed in 0..=9 {
                let want = kernels::filter_mask64(Isa::Scalar, &bytes, q, allowed);
                assert_eq!(
                    kernels::filter_mask64(isa, &bytes, q, allowed),
                    want,
                    "{} mask len {len} allowed {allowed}",
                    isa.name()
                );
                // The oracle against the definition, on the first 64 bytes.
                let by_definition = bytes
                    .iter()
                    .take(64)
                    .enumerate()
                    .filter(|&(_, &b)| (b ^ q).count_ones() <= allowed)
                    .fold(0u64, |m, (i, _)| m | (1 << i));
                assert_eq!(want, by_definition);
            }
        }
    }
}
