//! The quality of every algorithm: PDQ's gradient metric on each imagehash algorithm's grey grid.
//!
//! Oracles: PDQ's own metric (`pdq::internals::quality`) for the 64x64 normalisation; Pillow's
//! grids rated by numpy (`tests/data/imagehash/quality.tsv`, from `make_quality_fixture.py`); a
//! brute-force recomputation from the grid each algorithm thresholds; the metric's symmetry under
//! exact flips; and the definition (a flat grid scores 0). Then the matcher's per-kind gate.

use std::collections::HashMap;
use std::path::PathBuf;

use hashsieve::algo::imagehash::{
    self, gradient_quality, gradient_quality_f32, HashSize, ImageHashOptions,
};
use hashsieve::algo::pdq::{self, LumaMode};
use hashsieve::algo::Hasher;
use hashsieve::list::EntryMeta;
use hashsieve::matching::{ListOptions, Matcher, MatcherOptions, Query, QueryResult, SkipReason};
use hashsieve::{HashKind, HashList, ListBuilder, PixelBuffer, PixelLayout};

use crate::common::{data, read_tsv};

use crate::common::xorshift::XorShift as Rng;

/// The imagehash kinds with their function's hash size.
const FAMILY: [(HashKind, HashSize); 8] = [
    (HashKind::PHash, HashSize::Eight),
    (HashKind::DHash, HashSize::Eight),
    (HashKind::AHash, HashSize::Eight),
    (HashKind::WHash, HashSize::Eight),
    (HashKind::PHash256, HashSize::Sixteen),
    (HashKind::DHash256, HashSize::Sixteen),
    (HashKind::AHash256, HashSize::Sixteen),
    (HashKind::WHash256, HashSize::Sixteen),
];

/// The metric written out from its definition: every pair, exact rational arithmetic on `f64`
/// values that are integers or block means (exact in `f64`), then PDQ's scaling.
fn brute_metric(grid: &[f64], w: usize, h: usize) -> u8 {
    let term = |u: f64, v: f64| ((u - v) * 100.0 / 255.0).trunc().abs() as u64;
    let (mut sum, mut pairs) = (0u64, 0u64);
    for y in 0..h {
        for x in 0..w {
            if x + 1 < w {
                sum += term(grid[y * w + x], grid[y * w + x + 1]);
                pairs += 1;
            }
            if y + 1 < h {
                sum += term(grid[y * w + x], grid[(y + 1) * w + x]);
                pairs += 1;
            }
        }
    }
    if pairs == 0 {
        return 0;
    }
    (sum * 8064 / (90 * pairs)).min(100) as u8
}

/// The quality of one algorithm's grid by brute force: the grid itself, or for wHash its 64x64
/// block means when larger.
fn brute_quality(kind: HashKind, grid: &[u8], w: usize, h: usize) -> u8 {
    let values: Vec<f64> = grid.iter().map(|&v| f64::from(v)).collect();
    let is_whash = matches!(kind, HashKind::WHash | HashKind::WHash256);
    if !is_whash || w <= 64 {
        return brute_metric(&values, w, h);
    }
    assert_eq!(w, h, "wHash's grid is square");
    let b = w / 64;
    let mut means = vec![0f64; 64 * 64];
    for (i, m) in means.iter_mut().enumerate() {
        let (bx, by) = (i % 64, i / 64);
        let mut s = 0f64;
        for y in by * b..(by + 1) * b {
            for x in bx * b..(bx + 1) * b {
                s += values[y * w + x];
            }
        }
        *m = s / (b * b) as f64;
    }
    brute_metric(&means, 64, 64)
}

/// The grey grid that `kind` thresholds, through the doc-hidden accessor.
fn grid_of(kind: HashKind, px: &PixelBuffer<'_>) -> (Vec<u8>, usize, usize) {
    let size = if kind.width() == 256 {
        HashSize::Sixteen
    } else {
        HashSize::Eight
    };
    let opts = ImageHashOptions::default().size(size);
    use imagehash::internals as i;
    match kind {
        HashKind::PHash | HashKind::PHash256 => i::phash_grid(px, &opts),
        HashKind::DHash | HashKind::DHash256 => i::dhash_grid(px, &opts),
        HashKind::AHash | HashKind::AHash256 => i::average_hash_grid(px, &opts),
        HashKind::WHash | HashKind::WHash256 => i::whash_grid(px, &opts),
        other => panic!("{other} has no imagehash grid"),
    }
}

/// A grey test image: a smooth field of amplitude `amp` around mid-grey plus uniform noise of
/// `noise` levels, so that qualities land across the whole 0..=100 range.
fn texture(rng: &mut Rng, w: usize, h: usize, amp: f64, noise: f64) -> Vec<u8> {
    let (fx, fy) = (5.0 + rng.unit() * 20.0, 7.0 + rng.unit() * 30.0);
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            let v = 128.0 + amp * (x / fx).sin() * (y / fy + 0.5).cos() + noise * rng.unit();
            v.round().clamp(0.0, 255.0) as u8
        })
        .collect()
}

/// The eight dihedral transforms of a row-major grid: (grid, width, height) after transform `t`
/// (0 identity, 1 mirror left-right, 2 mirror top-bottom, 3 rotate 180, 4 transpose,
/// 5 anti-transpose, 6 rotate 90, 7 rotate 270).
fn dihedral(grid: &[u8], w: usize, h: usize, t: usize) -> (Vec<u8>, usize, usize) {
    let swaps = t >= 4;
    let (ow, oh) = if swaps { (h, w) } else { (w, h) };
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (nx, ny) = match t {
                0 => (x, y),
                1 => (w - 1 - x, y),
                2 => (x, h - 1 - y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (y, x),
                5 => (h - 1 - y, w - 1 - x),
                6 => (y, w - 1 - x),
                _ => (h - 1 - y, x),
            };
            out[ny * ow + nx] = grid[y * w + x];
        }
    }
    (out, ow, oh)
}

#[test]
fn the_64x64_normalisation_is_pdqs_metric_exactly() {
    let mut rng = Rng(0x5eed_0001);
    let mut seen = std::collections::BTreeSet::new();
    // Random f32 downsamples: low amplitudes put the sum near every multiple of 90.
    for round in 0..400 {
        let amp = match round % 10 {
            0 => 255.0,
            1 => 30.0,
            _ => 0.3 + rng.unit() * 7.0,
        };
        let base = rng.unit() * 200.0;
        let mut a = [[0f32; 64]; 64];
        for v in a.iter_mut().flatten() {
            *v = (base + rng.unit() * amp) as f32;
        }
        let flat: Vec<f32> = a.iter().flatten().copied().collect();
        let want = pdq::internals::quality(&a);
        assert_eq!(gradient_quality_f32(&flat, 64, 64), want, "round {round}");
        // Integer-valued grids through the byte version too.
        let mut ints = a;
        for v in ints.iter_mut().flatten() {
            *v = v.round();
        }
        let bytes: Vec<u8> = ints.iter().flatten().map(|&v| v as u8).collect();
        assert_eq!(
            gradient_quality(&bytes, 64, 64),
            pdq::internals::quality(&ints),
            "round {round} (integers)"
        );
        seen.insert(want);
    }
    assert!(
        seen.len() > 40 && seen.contains(&0) && seen.contains(&100),
        "the random grids cover the range: {seen:?}"
    );
    // Real downsamples of the corpus photographs: equal to the reference qualities too.
    let hasher = Hasher::new();
    for name in [
        "photo_002.png",
        "photo_003.png",
        "photo_006.png",
        "photo_011.png",
    ] {
        let image =
            hashsieve::image::decode_path(&data(&format!("corpus/{name}")), &hasher.decode_options)
                .unwrap();
        let px = image.pixels();
        let a = pdq::internals::downsample_reference(&px, LumaMode::Float64, true);
        let flat: Vec<f32> = a.iter().flatten().copied().collect();
        assert_eq!(
            gradient_quality_f32(&flat, 64, 64),
            pdq::pdq(&px).quality,
            "{name}"
        );
    }
}

/// `quality.tsv` rows: file -> column -> value.
fn quality_fixture() -> Vec<(String, HashMap<String, u8>)> {
    read_tsv("imagehash/quality.tsv")
        .into_iter()
        .map(|mut row| {
            let file = row.remove("file").expect("a file column");
            let values = row
                .into_iter()
                .map(|(h, v)| (h, v.parse().unwrap()))
                .collect();
            (file, values)
        })
        .collect()
}

/// The fixture column of an imagehash kind: `phash8`, ..., `whash16`.
fn column(kind: HashKind) -> String {
    let name = kind.name().trim_end_matches("256");
    format!("{name}{}", if kind.width() == 256 { 16 } else { 8 })
}

#[test]
fn qualities_match_pillow_grids_rated_by_numpy() {
    let rows = quality_fixture();
    assert!(rows.len() >= 50, "quality.tsv has {} rows", rows.len());
    let hasher = Hasher::new();
    let kinds: Vec<HashKind> = FAMILY.iter().map(|&(k, _)| k).collect();
    let mut distinct = std::collections::BTreeSet::new();
    for (file, want) in &rows {
        let got = hasher.hash_path(&data(file), &kinds).unwrap();
        for out in got {
            let expected = want[&column(out.kind)];
            assert_eq!(out.quality, Some(expected), "{file} {}", out.kind);
            distinct.insert(expected);
        }
    }
    assert!(distinct.len() >= 15, "fixture qualities: {distinct:?}");
}

#[test]
fn hasher_quality_is_the_metric_of_the_grid_each_algorithm_thresholds() {
    let mut rng = Rng(0x5eed_0002);
    let mut images: Vec<(String, Vec<u8>, usize, usize)> = Vec::new();
    for (w, h) in [
        (97, 61),
        (300, 200),
        (130, 700),
        (64, 64),
        (9, 8),
        (5, 300),
        (600, 520),
    ] {
        for (amp, noise) in [(4.0, 2.0), (20.0, 4.0), (80.0, 30.0)] {
            images.push((
                format!("{w}x{h} amp {amp}"),
                texture(&mut rng, w, h, amp, noise),
                w,
                h,
            ));
        }
    }
    let hasher = Hasher::new();
    let mut distinct = std::collections::BTreeSet::new();
    for (name, grey, w, h) in &images {
        let px = PixelBuffer::packed(grey, *w as u32, *h as u32, PixelLayout::Luma8).unwrap();
        for (kind, size) in FAMILY {
            let (grid, gw, gh) = grid_of(kind, &px);
            let n = size.side();
            // The grid has the algorithm's shape ...
            let whash_side = (1usize << (usize::BITS - 1 - (*w).min(*h).leading_zeros())).max(n);
            let shape = match kind {
                HashKind::PHash | HashKind::PHash256 => (4 * n, 4 * n),
                HashKind::DHash | HashKind::DHash256 => (n + 1, n),
                HashKind::AHash | HashKind::AHash256 => (n, n),
                _ => (whash_side, whash_side),
            };
            assert_eq!((gw, gh), shape, "{name} {kind}");
            let out = hasher.hash_pixels(&px, kind);
            // ... and is the one thresholded: dHash and aHash bits follow from it directly.
            let bits: Option<Vec<bool>> = match kind {
                HashKind::DHash | HashKind::DHash256 => Some(
                    (0..n * n)
                        .map(|i| grid[i / n * gw + i % n + 1] > grid[i / n * gw + i % n])
                        .collect(),
                ),
                HashKind::AHash | HashKind::AHash256 => {
                    let sum: u32 = grid.iter().map(|&v| u32::from(v)).sum();
                    Some(
                        grid.iter()
                            .map(|&v| u32::from(v) * (n * n) as u32 > sum)
                            .collect(),
                    )
                }
                _ => None,
            };
            if let Some(bits) = bits {
                let want = bits
                    .iter()
                    .map(|&b| if b { '1' } else { '0' })
                    .collect::<String>();
                // The hex text reads the matrix row-major, first cell most significant.
                let got: String = out
                    .value
                    .to_hex()
                    .chars()
                    .map(|c| format!("{:04b}", c.to_digit(16).unwrap()))
                    .collect();
                assert_eq!(got, want, "{name} {kind}: the grid is not the one hashed");
            }
            let want = brute_quality(kind, &grid, gw, gh);
            assert_eq!(out.quality, Some(want), "{name} {kind}");
            distinct.insert(want);
        }
    }
    assert!(distinct.len() >= 15, "qualities seen: {distinct:?}");
}

#[test]
fn flat_images_score_zero_for_every_algorithm() {
    let hasher = Hasher::new();
    for (w, h) in [
        (1, 1),
        (2, 9),
        (5, 5),
        (8, 8),
        (9, 8),
        (64, 64),
        (97, 61),
        (640, 480),
    ] {
        for colour in [[0u8, 0, 0], [255, 255, 255], [200, 30, 90], [17, 140, 251]] {
            let rgb: Vec<u8> = colour
                .iter()
                .copied()
                .cycle()
                .take((w * h * 3) as usize)
                .collect();
            let px = PixelBuffer::packed(&rgb, w, h, PixelLayout::Rgb8).unwrap();
            for kind in HashKind::PERCEPTUAL {
                assert_eq!(
                    hasher.hash_pixels(&px, kind).quality,
                    Some(0),
                    "{w}x{h} {colour:?} {kind}"
                );
            }
        }
    }
}

#[test]
fn the_metric_is_invariant_under_the_eight_flips_of_a_grid() {
    let mut rng = Rng(0x5eed_0003);
    for (w, h) in [(9, 8), (8, 8), (17, 16), (32, 32), (64, 64), (3, 40)] {
        for amp in [3.0, 10.0, 60.0] {
            let grid = texture(&mut rng, w, h, amp, 3.0);
            let want = gradient_quality(&grid, w, h);
            for t in 0..8 {
                let (g, tw, th) = dihedral(&grid, w, h, t);
                assert_eq!(gradient_quality(&g, tw, th), want, "{w}x{h} t={t}");
            }
        }
    }
}

#[test]
fn mirrored_images_keep_every_imagehash_quality() {
    // Pillow's Lanczos weights are mirror-symmetric, so a mirrored image gives the mirrored grid
    // (and block means) in either pass order; the metric then cannot change. Transposes are not
    // exact (they swap which pass runs first), so they are not checked here.
    let mut rng = Rng(0x5eed_0004);
    let hasher = Hasher::new();
    let mut distinct = std::collections::BTreeSet::new();
    for (w, h) in [(97, 61), (300, 200), (61, 333), (256, 130)] {
        for amp in [4.0, 15.0, 60.0] {
            let grey = texture(&mut rng, w, h, amp, 5.0);
            let px = PixelBuffer::packed(&grey, w as u32, h as u32, PixelLayout::Luma8).unwrap();
            for t in 1..4 {
                let (g, tw, th) = dihedral(&grey, w, h, t);
                let flipped =
                    PixelBuffer::packed(&g, tw as u32, th as u32, PixelLayout::Luma8).unwrap();
                for (kind, _) in FAMILY {
                    let q = hasher.hash_pixels(&px, kind).quality;
                    assert_eq!(
                        hasher.hash_pixels(&flipped, kind).quality,
                        q,
                        "{w}x{h} t={t} {kind}"
                    );
                    distinct.insert(q);
                }
            }
        }
    }
    assert!(distinct.len() >= 8, "qualities seen: {distinct:?}");
}

#[test]
fn images_of_a_square_grids_size_keep_quality_under_all_eight_transforms() {
    // No resampling happens when the image already has the grid's size, so every transform of the
    // image transforms the grid exactly. PDQ at exactly 64x64 also rates the pixels themselves.
    let mut rng = Rng(0x5eed_0005);
    let hasher = Hasher::new();
    let cases = [
        (8, vec![HashKind::AHash, HashKind::WHash]),
        (16, vec![HashKind::AHash256, HashKind::WHash256]),
        (
            32,
            vec![HashKind::PHash, HashKind::WHash, HashKind::WHash256],
        ),
        (64, vec![HashKind::PHash256, HashKind::Pdq, HashKind::WHash]),
    ];
    for (side, kinds) in cases {
        for amp in [2.0, 6.0, 40.0] {
            let grey = texture(&mut rng, side, side, amp, 3.0);
            let px =
                PixelBuffer::packed(&grey, side as u32, side as u32, PixelLayout::Luma8).unwrap();
            for &kind in &kinds {
                let q = hasher.hash_pixels(&px, kind).quality;
                for t in 1..8 {
                    let (g, _, _) = dihedral(&grey, side, side, t);
                    let moved =
                        PixelBuffer::packed(&g, side as u32, side as u32, PixelLayout::Luma8)
                            .unwrap();
                    assert_eq!(
                        hasher.hash_pixels(&moved, kind).quality,
                        q,
                        "{side} t={t} {kind}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_default_gates_skip_near_flat_images_and_keep_every_corpus_photo() {
    let hasher = Hasher::new();
    let gates = MatcherOptions::default();
    // Every photograph of the test corpus passes its kind's default gate, except where PDQ's
    // upstream threshold of 50 is known to drop one (a motion-blurred clock, quality 34).
    let mut photos: Vec<PathBuf> = std::fs::read_dir(data("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("photo_"))
        })
        .collect();
    photos.sort();
    assert!(photos.len() >= 10);
    for path in &photos {
        for out in hasher.hash_path(path, &HashKind::PERCEPTUAL).unwrap() {
            if out.kind == HashKind::Pdq {
                continue;
            }
            let q = out.quality.unwrap();
            assert!(
                q >= gates.min_quality_of(out.kind),
                "{} {}: {q}",
                path.display(),
                out.kind
            );
        }
    }
    // Flat grey with faint noise (up to 4 levels either way) and a soft ramp: all skipped.
    let mut rng = Rng(0x5eed_0006);
    for (w, h) in [(640, 480), (300, 1000)] {
        for noise in [1u64, 3, 5, 9] {
            let grey: Vec<u8> = (0..w * h)
                .map(|_| (124 + rng.next() % noise) as u8)
                .collect();
            let px = PixelBuffer::packed(&grey, w as u32, h as u32, PixelLayout::Luma8).unwrap();
            for kind in HashKind::PERCEPTUAL {
                let out = hasher.hash_pixels(&px, kind);
                assert!(
                    out.quality.unwrap() < gates.min_quality_of(kind),
                    "{w}x{h} noise {noise} {kind}: {:?}",
                    out.quality
                );
            }
        }
    }
}

/// A pHash list holding the hashes of `images`, each under its own id.
fn phash_list(images: &[(&str, &PixelBuffer<'_>)]) -> HashList<Vec<u8>> {
    let mut b = ListBuilder::new(HashKind::PHash)
        .name("phash-known")
        .created(0)
        .min_quality(0);
    for (id, px) in images {
        b.add(
            Hasher::new().hash_pixels(px, HashKind::PHash).value,
            EntryMeta::new(id),
        )
        .unwrap();
    }
    HashList::from_bytes(b.to_vec().unwrap()).unwrap()
}

#[test]
fn the_matcher_gates_phash_queries_by_quality() {
    let flat = vec![77u8; 120 * 90];
    let flat_px = PixelBuffer::packed(&flat, 120, 90, PixelLayout::Luma8).unwrap();
    let mut rng = Rng(0x5eed_0007);
    let busy = texture(&mut rng, 120, 90, 60.0, 20.0);
    let busy_px = PixelBuffer::packed(&busy, 120, 90, PixelLayout::Luma8).unwrap();
    let hasher = Hasher::new();
    let flat_out = hasher.hash_pixels(&flat_px, HashKind::PHash);
    let busy_out = hasher.hash_pixels(&busy_px, HashKind::PHash);
    assert_eq!(flat_out.quality, Some(0));
    let busy_q = busy_out.quality.unwrap();
    assert!(busy_q > 1, "{busy_q}");
    let flat_query = Query::new(HashKind::PHash, flat_out.value, flat_out.quality);
    let busy_query = Query::new(HashKind::PHash, busy_out.value, busy_out.quality);

    // Default: the flat image is skipped with the reason; the textured one is searched.
    let m: Matcher = Matcher::new();
    m.add_list(
        phash_list(&[("flat", &flat_px), ("busy", &busy_px)]),
        ListOptions::default(),
    )
    .unwrap();
    assert_eq!(
        m.query(&flat_query),
        QueryResult::Skipped(SkipReason::LowQuality { quality: 0, min: 1 })
    );
    assert_eq!(m.query(&busy_query).matches()[0].entry_ids, ["busy"]);

    // Gate 0: the flat image is searched and matches the flat entry exactly.
    let open: Matcher =
        Matcher::with_options(MatcherOptions::default().min_quality(HashKind::PHash, 0));
    open.add_list(phash_list(&[("flat", &flat_px)]), ListOptions::default())
        .unwrap();
    let result = open.query(&flat_query);
    assert_eq!(result.matches()[0].entry_ids, ["flat"]);
    assert_eq!(result.matches()[0].distance, 0);
    assert_eq!(result.matches()[0].query_quality, Some(0));

    // A gate just above the textured image's quality skips it, one at its quality does not;
    // PDQ's gate does not apply to pHash, and a query without a quality is never gated.
    let strict: Matcher = Matcher::with_options(
        MatcherOptions::default()
            .min_pdq_quality(100)
            .min_quality(HashKind::PHash, busy_q + 1),
    );
    strict
        .add_list(phash_list(&[("busy", &busy_px)]), ListOptions::default())
        .unwrap();
    assert_eq!(
        strict.query(&busy_query),
        QueryResult::Skipped(SkipReason::LowQuality {
            quality: busy_q,
            min: busy_q + 1
        })
    );
    let text_query = Query::new(HashKind::PHash, busy_out.value, None);
    assert_eq!(strict.query(&text_query).matches()[0].entry_ids, ["busy"]);
    let at: Matcher = Matcher::with_options(
        MatcherOptions::default()
            .min_quality_all(100)
            .min_quality(HashKind::PHash, busy_q),
    );
    at.add_list(phash_list(&[("busy", &busy_px)]), ListOptions::default())
        .unwrap();
    assert_eq!(at.query(&busy_query).matches()[0].entry_ids, ["busy"]);
}

#[test]
fn min_pdq_quality_is_the_pdq_entry_of_the_per_kind_gate() {
    let d = MatcherOptions::default();
    assert_eq!(d.min_quality_of(HashKind::Pdq), d.min_pdq_quality);
    let a = MatcherOptions::default().min_pdq_quality(70);
    let b = MatcherOptions::default().min_quality(HashKind::Pdq, 70);
    for kind in HashKind::ALL {
        assert_eq!(a.min_quality_of(kind), b.min_quality_of(kind), "{kind}");
    }
    assert_eq!(b.min_pdq_quality, 70);
    let all = MatcherOptions::default().min_quality_all(33);
    assert!(HashKind::ALL.iter().all(|&k| all.min_quality_of(k) == 33));
    assert_eq!(all.min_pdq_quality, 33);
}
