//! `hashsieve dedup` end to end: the quality gate (blank frames), scan output and standard
//! input as inputs, centre linkage and the `max_distance` column, each against an oracle
//! computed here from the same hashes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::hashsieve;
use hashsieve::list::{EntryMeta, ListBuilder};
use hashsieve::{Hash256, HashKind};

/// Fails with the command's stderr unless it exited with `code`.
fn expect_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A TSV (with header) as maps from column name to cell.
fn table(text: &[u8]) -> Vec<BTreeMap<String, String>> {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header: Vec<&str> = header.split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect()
        })
        .collect()
}

/// The clusters of dedup TSV output, as sets of ids (rows without a cluster left out).
fn clusters_of(rows: &[BTreeMap<String, String>]) -> BTreeSet<BTreeSet<String>> {
    let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r["cluster"].is_empty()) {
        by.entry(r["cluster"].clone())
            .or_default()
            .insert(r["id"].clone());
    }
    by.into_values().collect()
}

/// Connected components (of 2 or more) of `ids` linked within `r`: single linkage by brute
/// force.
fn components(items: &[(String, Hash256)], r: u32) -> BTreeSet<BTreeSet<String>> {
    let n = items.len();
    let mut comp: Vec<usize> = (0..n).collect();
    for a in 0..n {
        for b in a + 1..n {
            if items[a].1.distance(&items[b].1) <= r {
                let (ca, cb) = (comp[a], comp[b]);
                for c in comp.iter_mut() {
                    if *c == cb {
                        *c = ca;
                    }
                }
            }
        }
    }
    let mut by: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (i, c) in comp.into_iter().enumerate() {
        by.entry(c).or_default().insert(items[i].0.clone());
    }
    by.into_values().filter(|c| c.len() > 1).collect()
}

fn is_degenerate(h: &Hash256) -> bool {
    h.limbs() == [0; 4] || h.limbs() == [u64::MAX; 4]
}

/// A case directory: photos, an exact copy of each, and blank frames (all-zero PDQ hashes).
fn case_dir(dir: &Path) -> Vec<String> {
    let corpus = common::data("corpus");
    let case = dir.join("case");
    std::fs::create_dir_all(case.join("copy")).expect("mkdir");
    let mut names = Vec::new();
    for name in [
        "photo_002.png",
        "photo_003.png",
        "photo_009.jpg",
        "edge_solid_black.png",
        "edge_solid_color.png",
        "edge_1x1.png",
        "edge_3x3.png",
    ] {
        std::fs::copy(corpus.join(name), case.join(name)).expect("copy");
        names.push(name.to_string());
        if name.starts_with("photo") {
            std::fs::copy(corpus.join(name), case.join("copy").join(name)).expect("copy");
        }
    }
    names
}

/// `(path, hash, quality)` of the rows of `hashsieve hash` TSV output.
fn hashed(tsv: &[u8]) -> Vec<(String, Hash256, u8)> {
    table(tsv)
        .into_iter()
        .map(|r| {
            (
                r["path"].clone(),
                Hash256::from_hex(&r["hash"]).expect("hex"),
                r["quality"].parse().expect("quality"),
            )
        })
        .collect()
}

/// Blank frames hash to all zeros: before the quality gate they formed a cluster of their own.
#[test]
fn blank_frames_are_left_out_of_clusters() {
    let dir = tempfile::tempdir().expect("tempdir");
    case_dir(dir.path());
    let case = dir.path().join("case");
    let out = hashsieve(&["hash", "--algo", "pdq", case.to_str().unwrap()]);
    expect_code(&out, 0);
    let rows = hashed(&out.stdout);
    let blanks: Vec<&String> = rows
        .iter()
        .filter(|r| is_degenerate(&r.1))
        .map(|r| &r.0)
        .collect();
    assert!(blanks.len() >= 2, "the blank frames hash to zero");
    let tsv = dir.path().join("hashes.tsv");
    std::fs::write(&tsv, &out.stdout).expect("write");

    // The oracle: components of the hashes that pass the PDQ gate (quality 50, not degenerate).
    let kept: Vec<(String, Hash256)> = rows
        .iter()
        .filter(|r| r.2 >= 50 && !is_degenerate(&r.1))
        .map(|r| (r.0.clone(), r.1))
        .collect();
    let gated = rows.len() - kept.len();
    let out = hashsieve(&["dedup", tsv.to_str().unwrap()]);
    expect_code(&out, 0);
    let got = table(&out.stdout);
    assert_eq!(clusters_of(&got), components(&kept, 31));
    assert!(got.iter().all(|r| !blanks.contains(&&r["id"])));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{gated} below the quality gate")),
        "{err}"
    );

    // --all: the gated files are listed last, in no cluster.
    let out = hashsieve(&["dedup", tsv.to_str().unwrap(), "--all"]);
    expect_code(&out, 0);
    let got = table(&out.stdout);
    assert_eq!(got.len(), rows.len());
    let unclustered: BTreeSet<&String> = got
        .iter()
        .filter(|r| r["cluster"].is_empty())
        .map(|r| &r["id"])
        .collect();
    assert_eq!(unclustered.len(), gated);
    assert!(blanks.iter().all(|b| unclustered.contains(b)));
    assert!(got[got.len() - gated..]
        .iter()
        .all(|r| r["cluster"].is_empty() && r["representative"] == "false"));

    // A gate of 0 keeps every file: the blank frames then cluster together.
    let out = hashsieve(&["dedup", tsv.to_str().unwrap(), "--min-quality", "0"]);
    expect_code(&out, 0);
    let all: Vec<(String, Hash256)> = rows.iter().map(|r| (r.0.clone(), r.1)).collect();
    assert_eq!(clusters_of(&table(&out.stdout)), components(&all, 31));
}

/// `scan` output (with its error row and one row per matched entry) and standard input give
/// the clusters of the `hash` output of the same files.
#[test]
fn reads_scan_output_and_standard_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    case_dir(dir.path());
    let case = dir.path().join("case");
    std::fs::write(case.join("notes.jpg"), b"not an image").expect("write");
    let out = hashsieve(&["hash", "--algo", "pdq", case.to_str().unwrap()]);
    // The text file is an error for `hash` too.
    expect_code(&out, 2);
    let rows = hashed(&out.stdout);
    let kept: Vec<(String, Hash256)> = rows
        .iter()
        .filter(|r| r.2 >= 50 && !is_degenerate(&r.1))
        .map(|r| (r.0.clone(), r.1))
        .collect();
    let want = components(&kept, 31);
    assert!(!want.is_empty());

    // A list holding the first photo's hash twice, so that its files match two entries.
    let mut b = ListBuilder::new(HashKind::Pdq).name("ref");
    b.add(kept[0].1, EntryMeta::new("known-1")).expect("add");
    b.add(kept[0].1, EntryMeta::new("known-2")).expect("add");
    let list = dir.path().join("ref.hsl");
    b.write(&list).expect("write list");
    let scan = dir.path().join("scan.tsv");
    let out = hashsieve(&[
        "scan",
        case.to_str().unwrap(),
        "--list",
        list.to_str().unwrap(),
        "-o",
        scan.to_str().unwrap(),
    ]);
    expect_code(&out, 2);
    let scanned = std::fs::read(&scan).expect("scan output");
    assert!(table(&scanned).iter().any(|r| r["status"] == "error"));

    let out = hashsieve(&["dedup", scan.to_str().unwrap()]);
    expect_code(&out, 0);
    assert_eq!(clusters_of(&table(&out.stdout)), want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 without a hash"), "{err}");

    // The same bytes on standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashsieve"))
        .args(["dedup", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&scanned)
        .expect("write stdin");
    let piped = child.wait_with_output().expect("wait");
    expect_code(&piped, 0);
    assert_eq!(piped.stdout, out.stdout);
}

/// A line of hashes each 20 bits from the next, at threshold 31.
fn chain_file(dir: &Path) -> (std::path::PathBuf, Vec<Hash256>) {
    let mut l = [0x5555_5555_5555_5555u64; 4];
    let mut hashes = vec![Hash256::from_limbs(l)];
    for step in 0..5u32 {
        for b in step * 20..step * 20 + 20 {
            l[(b / 64) as usize] ^= 1 << (b % 64);
        }
        hashes.push(Hash256::from_limbs(l));
    }
    let text: String = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{},f{i}\n", h.to_hex()))
        .collect();
    let path = dir.join("chain.hex");
    std::fs::write(&path, text).expect("write");
    (path, hashes)
}

#[test]
fn single_linkage_reports_the_chain_and_centre_linkage_bounds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, hashes) = chain_file(dir.path());
    let out = hashsieve(&["dedup", path.to_str().unwrap()]);
    expect_code(&out, 0);
    let rows = table(&out.stdout);
    assert_eq!(rows.len(), 6);
    // One chained cluster; every row says how far its farthest member is: 5 x 20 bits.
    assert!(rows.iter().all(|r| r["cluster"] == "1"));
    assert!(rows.iter().all(|r| r["max_distance"] == "100"));
    let far: u32 = rows
        .iter()
        .map(|r| r["distance"].parse::<u32>().unwrap())
        .max()
        .unwrap();
    assert_eq!(far, hashes[0].distance(&hashes[5]));

    let out = hashsieve(&["dedup", path.to_str().unwrap(), "--linkage", "centre"]);
    expect_code(&out, 0);
    let rows = table(&out.stdout);
    let want: BTreeSet<BTreeSet<String>> = [["f0", "f1"], ["f2", "f3"], ["f4", "f5"]]
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    assert_eq!(clusters_of(&rows), want);
    for r in &rows {
        let d: u32 = r["distance"].parse().unwrap();
        assert!(d <= 31 && r["max_distance"] == "20", "{r:?}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("centre linkage"), "{err}");

    // JSON: the numeric columns are numbers.
    let out = hashsieve(&["dedup", path.to_str().unwrap(), "--format", "json"]);
    expect_code(&out, 0);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(v["max_distance"], 100);
        assert!(v["cluster"].is_u64() && v["distance"].is_u64());
    }
}
