//! JPEG decode modes against the reference hashes: exactness of `DecodeMode::Exact`, the old
//! pure-Rust decoder's distances, and what `DecodeMode::Fast` costs in bits.
//!
//! ```text
//! # reference hashes from Pillow + pdqhash / imagehash (see /work/shared/tools/refhash.py):
//! python refhash.py $(find corpus conformance -iname '*.jp*g') > ref.tsv
//! cargo run --release --example jpeg_modes -- ref.tsv
//! ```
//!
//! `ref.tsv` needs the columns `file` (readable from the current directory), `pdq_hex`,
//! `pdq_quality`, `phash`, `dhash`, `ahash` and `whash`. Prints three tables: per algorithm,
//! how many files `Exact` hashes bit for bit as the reference does (PDQ of a flat image,
//! quality 0, is rounding noise and is left out, as the corpus README says); the distances of
//! the pure-Rust decoder's hashes to the reference; and the distances of `Fast` hashes to
//! `Exact` ones (median, p99, max), over every file and over the files `Fast` really scaled.

use std::collections::HashMap;
use std::process::ExitCode;

use hashsieve::algo::Hasher;
use hashsieve::image::{decode, DecodeMode, DecodeOptions};
use hashsieve::HashKind;

const KINDS: [(HashKind, &str); 5] = [
    (HashKind::Pdq, "pdq_hex"),
    (HashKind::PHash, "phash"),
    (HashKind::DHash, "dhash"),
    (HashKind::AHash, "ahash"),
    (HashKind::WHash, "whash"),
];

fn stats(v: &mut [u32]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_unstable();
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!("{} / {} / {}", q(0.5), q(0.99), v[v.len() - 1])
}

fn main() -> ExitCode {
    let Some(table) = std::env::args().nth(1) else {
        eprintln!("usage: jpeg_modes REF.tsv");
        return ExitCode::from(2);
    };
    let text = std::fs::read_to_string(&table).expect("read the reference table");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|c| *c == name).expect(name);
    let file_col = col("file");
    let quality_col = col("pdq_quality");

    let hasher = |mode| Hasher::new().decode_options(DecodeOptions::default().mode(mode));
    let exact = hasher(DecodeMode::Exact);
    let pure = hasher(DecodeMode::PureRust);
    let kinds: Vec<HashKind> = KINDS.iter().map(|k| k.0).collect();

    let mut equal: HashMap<HashKind, (u32, u32, u32)> = HashMap::new(); // (checked, equal, max)
    let mut pure_d: HashMap<HashKind, Vec<u32>> = HashMap::new();
    let mut fast_all: HashMap<HashKind, Vec<u32>> = HashMap::new();
    let mut fast_scaled: HashMap<HashKind, Vec<u32>> = HashMap::new();
    let mut failed = 0;
    let mut files = 0;
    for line in lines {
        let row: Vec<&str> = line.split('\t').collect();
        let file = row[file_col];
        let bytes = std::fs::read(file).expect("read an image");
        files += 1;
        // One kind a call, as a user asking for that hash alone gets it (the imagehash family
        // then decodes straight to grey).
        let each = |h: &Hasher| -> hashsieve::Result<Vec<_>> {
            kinds
                .iter()
                .map(|&k| Ok(h.hash_bytes(&bytes, &[k])?.remove(0)))
                .collect()
        };
        let (Ok(ex), Ok(pu)) = (each(&exact), each(&pure)) else {
            eprintln!("{file}: decode failed");
            failed += 1;
            continue;
        };
        let (w, h) = {
            let img = decode(&bytes, &DecodeOptions::default()).expect("decoded above");
            (img.width(), img.height())
        };
        for (i, &(kind, name)) in KINDS.iter().enumerate() {
            let want = kind.parse_hex(row[col(name)]).expect("reference hex");
            let d = ex[i].value.distance(&want).expect("same kind");
            if !(kind == HashKind::Pdq && row[quality_col] == "0") {
                let e = equal.entry(kind).or_default();
                e.0 += 1;
                e.1 += u32::from(d == 0);
                e.2 = e.2.max(d);
                if d != 0 {
                    eprintln!("{file}: {kind:?} differs from the reference by {d} bits");
                }
            }
            pure_d
                .entry(kind)
                .or_default()
                .push(pu[i].value.distance(&want).expect("same kind"));
            let mode = DecodeMode::fast_for([kind]);
            let fast = hasher(mode)
                .hash_bytes(&bytes, &[kind])
                .expect("fast decode");
            let fd = fast[0].value.distance(&ex[i].value).expect("same kind");
            fast_all.entry(kind).or_default().push(fd);
            if mode.jpeg_scale_denom(w, h) > 1 {
                fast_scaled.entry(kind).or_default().push(fd);
            }
        }
    }
    println!("{files} JPEG files, {failed} failed to decode\n");
    println!("| algorithm | Exact = reference | max bits off | pure-Rust vs reference (median / p99 / max) |");
    println!("|---|---|---|---|");
    for (kind, _) in KINDS {
        let (n, eq, max) = equal.get(&kind).copied().unwrap_or_default();
        let pd = stats(pure_d.entry(kind).or_default());
        println!("| {kind:?} | {eq} of {n} | {max} | {pd} |");
    }
    println!();
    println!("| algorithm | Fast min side | files scaled | Fast vs Exact, all files (median / p99 / max) | scaled files only |");
    println!("|---|---|---|---|---|");
    for (kind, _) in KINDS {
        let scaled = fast_scaled.entry(kind).or_default();
        println!(
            "| {kind:?} | {} | {} | {} | {} |",
            DecodeMode::fast_min_side(kind),
            scaled.len(),
            stats(fast_all.entry(kind).or_default()),
            stats(scaled),
        );
    }
    let bad: u32 = equal.values().map(|e| e.0 - e.1).sum();
    if bad == 0 && failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
