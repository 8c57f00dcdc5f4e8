//! The robustness evaluation against brute force: every sample's distances recomputed from the
//! hash functions directly, the statistics recomputed from the samples, the exact dihedral
//! mode's recall on lossless rotations, determinism, and the cross-check against the corpus's
//! reference table.
#![cfg(feature = "eval")]

use crate::common;

use common::data;

use std::path::PathBuf;

use hashsieve::algo::pdq::{pdq_dihedral_with, DihedralMode, PdqOptions};
use hashsieve::algo::Hasher;
use hashsieve::eval::robustness::{
    self, Algorithm, ImageFiles, Original, Report, RobustnessOptions,
};
use hashsieve::eval::transform::Transform;
use hashsieve::{ErrorKind, HashKind, HashValue};

/// The bundled photos PDQ would not gate.
fn originals(n: usize) -> Vec<Original> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("photo_")
        })
        .collect();
    files.sort();
    let opts = hashsieve::DecodeOptions::default();
    files
        .iter()
        .filter_map(|p| {
            let img = hashsieve::image::decode_path(p, &opts).unwrap();
            let q = hashsieve::algo::compute(HashKind::Pdq, &img.pixels()).quality;
            (q >= Some(50)).then(|| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                Original::from_pixels(name, &img.pixels())
            })
        })
        .take(n)
        .collect()
}

fn transforms(names: &[&str]) -> Vec<Transform> {
    names.iter().map(|n| n.parse().unwrap()).collect()
}

fn run(originals: &[Original], opts: &RobustnessOptions) -> Report {
    robustness::run(originals, opts, &|| {}).unwrap()
}

/// An RGB image's pixels, as the hash functions take them.
fn pixels(image: &image::RgbImage) -> hashsieve::PixelBuffer<'_> {
    hashsieve::PixelBuffer::packed(
        image.as_raw(),
        image.width(),
        image.height(),
        hashsieve::PixelLayout::Rgb8,
    )
    .unwrap()
}

/// The query hashes of one image for an algorithm, straight from the hash functions.
fn query(algo: Algorithm, image: &image::RgbImage) -> Vec<HashValue> {
    let px = pixels(image);
    match algo {
        Algorithm::Plain(k) => vec![Hasher::new().hash_pixels(&px, k).value],
        Algorithm::PdqDihedral(mode) => {
            let d = pdq_dihedral_with(&px, &PdqOptions::default().dihedral(mode));
            d.hashes.iter().map(|&h| HashValue::Bits256(h)).collect()
        }
        _ => unreachable!("no other algorithm"),
    }
}

#[test]
fn samples_and_histograms_equal_brute_force() {
    let originals = originals(4);
    assert_eq!(originals.len(), 4);
    // Deterministic edits only, so the seed does not matter to the oracle.
    let edits = transforms(&["rotate_90ccw", "flip_horizontal", "crop_5each"]);
    let opts = RobustnessOptions::default().transforms(edits.clone());
    let report = run(&originals, &opts);
    assert!(report.failures.is_empty());
    let algos = Algorithm::DEFAULT;
    assert_eq!(
        report.samples.len(),
        originals.len() * edits.len() * algos.len()
    );

    let listed: Vec<Vec<HashValue>> = algos
        .iter()
        .map(|a| {
            originals
                .iter()
                .map(|o| query(Algorithm::Plain(a.kind()), &o.image)[0])
                .collect()
        })
        .collect();
    let min_dist = |a: usize, q: &[HashValue], j: usize| {
        q.iter()
            .map(|h| h.distance(&listed[a][j]).unwrap())
            .min()
            .unwrap()
    };
    let mut hist: Vec<Vec<u64>> = algos
        .iter()
        .map(|a| vec![0; a.kind().width() as usize + 1])
        .collect();
    let count = |a: usize, q: &[HashValue], own: usize, hist: &mut Vec<Vec<u64>>| {
        let mut closest = u32::MAX;
        for j in (0..originals.len()).filter(|&j| j != own) {
            let d = min_dist(a, q, j);
            hist[a][d as usize] += 1;
            closest = closest.min(d);
        }
        closest
    };
    for (i, o) in originals.iter().enumerate() {
        for (a, algo) in algos.iter().enumerate() {
            count(a, &query(*algo, &o.image), i, &mut hist);
        }
    }
    for s in &report.samples {
        let (i, a) = (s.image as usize, s.algorithm as usize);
        let variant = edits[s.transform as usize]
            .apply(&originals[i].image, 0)
            .unwrap();
        let q = query(algos[a], &variant);
        assert_eq!(s.distance, min_dist(a, &q, i), "{s:?}");
        assert_eq!(s.closest_unrelated, count(a, &q, i, &mut hist), "{s:?}");
    }
    assert_eq!(report.unrelated, hist);
    for (a, h) in hist.iter().enumerate() {
        let nearest = h.iter().position(|&c| c > 0).map(|d| d as u32);
        assert_eq!(report.nearest_unrelated_pair(a), nearest);
    }
    for a in 0..algos.len() {
        let pairs = (originals.len() * (1 + edits.len()) * (originals.len() - 1)) as u64;
        assert_eq!(report.unrelated_pairs(a), pairs);
    }
}

#[test]
fn stats_equal_brute_force() {
    let originals = originals(5);
    let opts = RobustnessOptions::default()
        .transforms(transforms(&["jpeg_q30", "rotate_180", "resize_25"]))
        .min_precision(0.9);
    let report = run(&originals, &opts);
    for (a, algo) in report.algorithms.iter().enumerate() {
        for t in [None, Some(0), Some(1), Some(2)] {
            let s = report.stats(a, t);
            let samples: Vec<_> = report.samples_of(a, t).collect();
            let n = samples.len();
            assert_eq!(s.queries, n);
            let within = |t: u32| samples.iter().filter(|x| x.distance <= t).count();
            let false_matches =
                |t: u32| samples.iter().filter(|x| x.closest_unrelated <= t).count();
            let dt = algo.default_threshold();
            assert_eq!(s.recall_at_default, within(dt) as f64 / n as f64);
            // The largest threshold that finds something and keeps precision >= 0.9.
            let want = (0..=algo.kind().width()).rev().find(|&t| {
                let (tp, fp) = (within(t), false_matches(t));
                tp > 0 && tp as f64 / (tp + fp) as f64 >= 0.9
            });
            assert_eq!(s.threshold_at_precision, want, "{algo} {t:?}");
            if let Some(th) = want {
                assert_eq!(s.recall_at_precision, within(th) as f64 / n as f64);
            }
            assert_eq!(
                s.max_distance,
                samples.iter().map(|x| x.distance).max().unwrap()
            );
            assert_eq!(
                s.min_unrelated,
                samples.iter().map(|x| x.closest_unrelated).min().unwrap()
            );
        }
        // The false-match rate is the histogram's share within the threshold.
        let h = &report.unrelated[a];
        let total: u64 = h.iter().sum();
        let t = algo.default_threshold() as usize;
        assert_eq!(
            report.false_match_rate(a, t as u32),
            h[..=t].iter().sum::<u64>() as f64 / total as f64
        );
    }
}

/// The target: lossless rotations and flips all matched at r=31 in exact mode, with no
/// false match the reference mode does not also make.
#[test]
fn exact_dihedral_matches_every_rotation_and_flip() {
    let originals = originals(8);
    let edits = transforms(&[
        "rotate_90ccw",
        "rotate_180",
        "rotate_270ccw",
        "flip_horizontal",
        "flip_vertical",
    ]);
    let opts = RobustnessOptions::default()
        .transforms(edits)
        .algorithms(vec![
            Algorithm::PdqDihedral(DihedralMode::Reference),
            Algorithm::PdqDihedral(DihedralMode::Exact),
        ]);
    let report = run(&originals, &opts);
    let (reference, exact) = (report.stats(0, None), report.stats(1, None));
    assert_eq!(exact.recall_at_default, 1.0);
    assert_eq!(exact.max_distance, 0, "exact variants are bit-exact here");
    assert!(reference.recall_at_default <= exact.recall_at_default);
    let fm = |a: u32| {
        report
            .samples
            .iter()
            .filter(|s| s.algorithm == a && s.closest_unrelated <= 31)
            .count()
    };
    assert_eq!(fm(1), 0);
    assert!(report.false_match_rate(1, 31) <= report.false_match_rate(0, 31) + 1e-3);
}

#[test]
fn same_seed_same_report_and_the_seed_matters() {
    let originals = originals(3);
    let edits = transforms(&["noise_gauss_s10", "overlay_box10", "jpeg_q50"]);
    let opts = RobustnessOptions::default().transforms(edits).seed(42);
    let a = run(&originals, &opts);
    let b = run(&originals, &opts);
    assert_eq!(a.samples, b.samples);
    assert_eq!(a.to_csv(), b.to_csv());
    assert_eq!(a.to_markdown(), b.to_markdown());
    let c = run(&originals, &opts.clone().seed(43));
    assert_ne!(
        a.samples_csv(),
        c.samples_csv(),
        "noise and overlays follow the seed"
    );
}

#[test]
fn bad_arguments_are_errors() {
    let opts = RobustnessOptions::default();
    let err = robustness::run(&Vec::<Original>::new(), &opts, &|| {}).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)));
    let one = originals(1).remove(0);
    let twins = vec![one.clone(), one];
    let err = robustness::run(&twins, &opts, &|| {}).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)));
    let err = robustness::run(&originals(2), &opts.clone().min_precision(1.5), &|| {}).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)));
    assert!("pdq+dihedral-sideways".parse::<Algorithm>().is_err());
}

/// Our in-memory edits of photo_003 (stored losslessly in the reference corpus) give the same
/// distances as the reference's files.
#[test]
fn cross_check_agrees_with_the_reference_table() {
    let originals = originals(10);
    assert!(originals.iter().any(|o| o.name == "photo_003.png"));
    let opts = RobustnessOptions::default().transforms(transforms(&[
        "rotate_90ccw",
        "flip_horizontal",
        "crop_5each",
        "grayscale",
    ]));
    let report = run(&originals, &opts);
    let table = std::fs::read_to_string(data("corpus/TRANSFORMED.tsv")).unwrap();
    let text = report.cross_check(&table).unwrap();
    let last = text.lines().last().unwrap();
    let (agree, rest) = last.split_once(" of ").unwrap();
    let total: usize = rest.split_whitespace().next().unwrap().parse().unwrap();
    assert!(total >= 4 * 5, "{text}");
    assert_eq!(agree.parse::<usize>().unwrap(), total, "{text}");
    assert!(report.cross_check("a\tb\n").is_err());
}

#[test]
fn renderers_cover_every_algorithm_and_edit() {
    let originals = originals(3);
    let edits = transforms(&["jpeg_q70", "rotate_90ccw"]);
    let report = run(&originals, &RobustnessOptions::default().transforms(edits));
    let csv = report.to_csv();
    // A header, then (edits + "all") rows per algorithm.
    assert_eq!(csv.lines().count(), 1 + 7 * 3);
    let md = report.to_markdown();
    for a in &report.algorithms {
        assert!(md.contains(&format!("| {a} |")), "{a}");
    }
    let samples = report.samples_csv();
    assert_eq!(samples.lines().count(), 1 + report.samples.len());
    // One row per algorithm and distance, the last of each at false-match rate 1.
    let pairs = report.unrelated_csv();
    let widths: usize = report
        .algorithms
        .iter()
        .map(|a| a.kind().width() as usize + 1)
        .sum();
    assert_eq!(pairs.lines().count(), 1 + widths);
    assert!(pairs
        .lines()
        .any(|l| l.starts_with("phash,64,") && l.ends_with(",1.000000e0")));
    let svg = report.to_svg().unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for a in &report.algorithms {
        assert!(svg.contains(&a.name()), "legend lacks {a}");
    }
}

/// Files decoded on demand give the same report as the same images held in memory; originals
/// under the quality gate and unreadable files are left out with a reason, and the progress
/// callback still runs once per (original, edit).
#[test]
fn image_files_equal_in_memory_originals_and_exclusions_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"\x89PNG not really").unwrap();
    let mut paths: Vec<PathBuf> = [
        "photo_002.png",
        "photo_003.png",
        "photo_011.png",
        "photo_009.jpg",
    ]
    .iter()
    .map(|n| data(&format!("corpus/{n}")))
    .collect();
    paths.push(broken);
    let files = ImageFiles::new(paths.clone(), hashsieve::DecodeOptions::default());
    let opts = RobustnessOptions::default()
        .transforms(transforms(&["jpeg_q70", "rotate_90ccw", "noise_gauss_s5"]))
        .min_original_quality(50)
        .seed(3);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let from_files = robustness::run(&files, &opts, &|| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(calls.into_inner(), paths.len() * 3);
    let excluded: Vec<&str> = from_files
        .excluded
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    // photo_011 has PDQ quality 34 in the reference table.
    assert_eq!(excluded, ["photo_011.png", "broken.png"]);
    let in_memory: Vec<Original> = originals(10)
        .into_iter()
        .filter(|o| from_files.images.contains(&o.name))
        .collect();
    assert_eq!(in_memory.len(), 3);
    let from_memory = robustness::run(&in_memory, &opts, &|| {}).unwrap();
    assert_eq!(from_files.images, from_memory.images);
    assert_eq!(from_files.samples, from_memory.samples);
    assert_eq!(from_files.unrelated, from_memory.unrelated);
    assert!(from_files.to_markdown().contains("## Originals left out"));
}

/// With quality gates, a query under its gate finds nothing: recall and the precision-keeping
/// threshold equal brute force over the ungated queries, out of all queries; distances and the
/// unrelated pairs do not change. Each sample's quality is the hash function's.
#[test]
fn gated_stats_equal_brute_force() {
    let originals = originals(4);
    let edits = transforms(&["blur_gauss_r2", "resize_25", "contrast_70"]);
    let plain = RobustnessOptions::default().transforms(edits.clone());
    // Gates high enough to catch some queries of every algorithm.
    let gates = hashsieve::matching::MatcherOptions::default()
        .min_quality_all(100)
        .min_quality(HashKind::Pdq, 99);
    let gated = run(&originals, &plain.clone().quality_gates(gates.clone()));
    let ungated = run(&originals, &plain);
    assert_eq!(gated.samples, ungated.samples);
    assert_eq!(gated.unrelated, ungated.unrelated);
    let mut any_gated = false;
    for (a, algo) in gated.algorithms.iter().enumerate() {
        let gate = gates.min_quality_of(algo.kind());
        assert_eq!(gated.gates[a], gate);
        assert!(ungated.gates[a] == 0);
        let samples: Vec<_> = gated.samples_of(a, None).collect();
        let open: Vec<_> = samples.iter().filter(|s| s.quality >= gate).collect();
        let s = gated.stats(a, None);
        assert_eq!(s.gated, samples.len() - open.len());
        any_gated |= s.gated > 0;
        let within = |t: u32| open.iter().filter(|x| x.distance <= t).count();
        let dt = algo.default_threshold();
        assert_eq!(
            s.recall_at_default,
            within(dt) as f64 / samples.len() as f64
        );
        let want = (0..=algo.kind().width()).rev().find(|&t| {
            let fp = open.iter().filter(|x| x.closest_unrelated <= t).count();
            let tp = within(t);
            tp > 0 && tp as f64 / (tp + fp) as f64 >= 0.999
        });
        assert_eq!(s.threshold_at_precision, want, "{algo}");
        assert_eq!(s.max_distance, ungated.stats(a, None).max_distance);
        // The quality recorded is the hash function's on the same edit.
        for x in samples.iter().take(3) {
            let variant = edits[x.transform as usize]
                .apply(&originals[x.image as usize].image, 0)
                .unwrap();
            let px = pixels(&variant);
            let q = Hasher::new().hash_pixels(&px, algo.kind()).quality;
            assert_eq!(Some(x.quality), q, "{algo}");
        }
    }
    assert!(
        any_gated,
        "the gates caught nothing; the test proves nothing"
    );
    assert!(gated.to_markdown().contains("count as misses"));
}
