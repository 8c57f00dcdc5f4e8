//! End-to-end tests of quality for every algorithm: `hashsieve hash` fills the quality column of
//! every algorithm (checked against `tests/data/imagehash/quality.tsv`, Pillow grids rated by
//! numpy), and `--min-quality` of `match` and `scan` gates any algorithm.

use crate::common;

use common::{cmd, data, hashsieve, read_tsv, stderr};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `quality.tsv`: file -> column (`phash8`, ..., `whash16`) -> quality text.
fn quality_fixture() -> HashMap<String, HashMap<String, String>> {
    read_tsv("imagehash/quality.tsv")
        .into_iter()
        .map(|row| (row["file"].clone(), row))
        .collect()
}

/// REFERENCE.tsv's PDQ quality (exif_mode=raw) by file name.
fn pdq_reference_quality() -> HashMap<String, String> {
    let text = std::fs::read_to_string(data("corpus/REFERENCE.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, mode, q) = (col("file"), col("exif_mode"), col("pdq_quality"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|r| r[mode] == "raw")
        .map(|r| (r[file].to_string(), r[q].to_string()))
        .collect()
}

#[test]
fn hash_fills_the_quality_column_for_every_algorithm() {
    let fixture = quality_fixture();
    let pdq = pdq_reference_quality();
    let files = [
        "corpus/photo_006.png",
        "corpus/photo_011.png",
        "corpus/edge_solid_color.png",
        "corpus/edge_banner_4000x10.png",
        "corpus/edge_tall_10x4000.png",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| data(f).display().to_string())
        .collect();
    let mut args = vec![
        "hash",
        "--algo",
        "pdq,phash,dhash,ahash,whash,phash256,dhash256,ahash256,whash256",
    ];
    args.extend(paths.iter().map(String::as_str));
    let out = hashsieve(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("path\talgorithm\thash\tquality\tsize"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), files.len() * 9);
    for (row, file) in rows.iter().zip(files.iter().flat_map(|f| [f; 9])) {
        let name = file.trim_start_matches("corpus/");
        let want = match row[1] {
            "pdq" => pdq[name].clone(),
            kind => {
                let column = match kind.strip_suffix("256") {
                    Some(base) => format!("{base}16"),
                    None => format!("{kind}8"),
                };
                fixture[*file][&column].clone()
            }
        };
        assert!(!row[3].is_empty(), "{file} {}: empty quality", row[1]);
        assert_eq!(row[3], want, "{file} {}", row[1]);
    }
}

/// A pHash list (name `flat`) holding the pHash of a flat image, built with the real binary.
fn flat_phash_list(dir: &Path) -> PathBuf {
    let images = [data("corpus/edge_solid_color.png")];
    let phash = ["--algo", "phash"];
    let build = ["--algo", "phash", "--name", "flat"];
    common::list_of_images(dir, "flat", &phash, &images, &build).0
}

#[test]
fn match_gates_phash_by_default_and_min_quality_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let list = flat_phash_list(dir.path());
    let list = list.to_str().unwrap();
    // Another flat image: same pHash, quality 0 (quality.tsv).
    let query = data("imagehash/synthetic/flat_grey_40x30.png");
    let query = query.to_str().unwrap();
    assert_eq!(
        quality_fixture()["imagehash/synthetic/flat_grey_40x30.png"]["phash8"],
        "0"
    );

    cmd(["match", "--list", list, query])
        .assert_exit(1)
        .assert_stderr_contains("skipped: quality 0 is below the minimum 1");

    // Opened for pHash alone, for every algorithm, or by a later item.
    for spec in ["phash=0", "0", "5,phash=0", "pdq=90,phash=0"] {
        let out = cmd(["match", "--list", list, "--min-quality", spec, query]).assert_exit(0);
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split('\t').collect();
        assert_eq!((row[1], row[3], row[8]), ("flat", "0", "0"), "{spec}");
    }
    // Repeating the flag works like a comma; the last value for pHash wins.
    cmd([
        "match",
        "--list",
        list,
        "--min-quality",
        "phash=0",
        "--min-quality",
        "phash=7",
        query,
    ])
    .assert_exit(1)
    .assert_stderr_contains("below the minimum 7");

    for bad in ["phash=101", "md5=3", "high", "pdq=-1"] {
        cmd(["match", "--list", list, "--min-quality", bad, query]).assert_exit(2);
    }
}

#[test]
fn scan_records_skipped_phash_and_reports_the_gates() {
    let dir = tempfile::tempdir().unwrap();
    let list = flat_phash_list(dir.path());
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::copy(
        data("imagehash/synthetic/flat_grey_40x30.png"),
        tree.join("flat.png"),
    )
    .unwrap();
    let scan = |name: &str, extra: &[&str]| {
        let output = dir.path().join(name);
        let mut args = vec![
            "scan",
            "--list",
            list.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(tree.to_str().unwrap());
        let out = hashsieve(&args);
        let rows = std::fs::read_to_string(&output).unwrap();
        let mut report = output.file_name().unwrap().to_os_string();
        report.push(".report.json");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(report)).unwrap())
                .unwrap();
        (out, rows, report)
    };

    let (out, rows, report) = scan("default.tsv", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let row = first_row(&rows);
    assert_eq!((row[1], row[2], row[4]), ("skipped", "phash", "0"));
    assert_eq!(report["min_quality"]["phash"], 1);
    assert_eq!(report["min_pdq_quality"], 50);
    assert_eq!(report["files"]["skipped_low_quality"], 1);

    let (out, rows, report) = scan("open.tsv", &["--min-quality", "phash=0,pdq=60"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let row = first_row(&rows);
    assert_eq!((row[1], row[5]), ("match", "flat"));
    assert_eq!(report["min_quality"]["phash"], 0);
    assert_eq!(report["min_pdq_quality"], 60);
}

/// The fields of the first row after the settings (`#` lines) and the column header.
fn first_row(rows: &str) -> Vec<&str> {
    rows.lines()
        .filter(|l| !l.starts_with('#'))
        .nth(1)
        .unwrap()
        .split('\t')
        .collect()
}
