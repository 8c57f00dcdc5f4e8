//! `hashsieve dedup` end to end: the quality gate (blank frames), scan output and standard
//! input as inputs, centre linkage and the `max_distance` column, each against an oracle
//! computed here from the same hashes.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

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

/// Writes `dir/ref.hsl` (PDQ, named `ref`) holding `entries`, scans `case` against it with
/// `options` into `dir/scan.tsv`, checks the exit code and returns the scan output's path.
fn scan_against(
    dir: &Path,
    case: &Path,
    entries: &[(Hash256, &str)],
    options: &[&str],
    code: i32,
) -> PathBuf {
    let mut b = ListBuilder::new(HashKind::Pdq).name("ref");
    for &(hash, id) in entries {
        b.add(hash, EntryMeta::new(id)).expect("add");
    }
    let list = dir.join("ref.hsl");
    b.write(&list).expect("write list");
    let scan = dir.join("scan.tsv");
    common::cmd(["scan"])
        .arg(case)
        .arg("--list")
        .arg(&list)
        .args(options)
        .arg("-o")
        .arg(&scan)
        .assert_exit(code);
    scan
}

/// A TSV (with header) as maps from column name to cell.
fn table(text: &[u8]) -> Vec<BTreeMap<String, String>> {
    common::tsv_maps(&String::from_utf8_lossy(text))
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
    let entries = [(kept[0].1, "known-1"), (kept[0].1, "known-2")];
    let scan = scan_against(dir.path(), &case, &entries, &["--exact", "none"], 2);
    let scanned = std::fs::read(&scan).expect("scan output");
    let status = |s: &str| table(&scanned).iter().filter(|r| r["status"] == s).count();
    assert_eq!(status("error"), 1);
    // Error rows and the rows the scan skipped (low quality: the blank frames) have no hash
    // to cluster; a file matching two entries has two rows.
    let no_hash = status("error") + status("skipped");
    assert!(status("match") >= 4);

    let out = hashsieve(&["dedup", scan.to_str().unwrap()]);
    expect_code(&out, 0);
    assert_eq!(clusters_of(&table(&out.stdout)), want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{no_hash} without a hash")), "{err}");

    // The same bytes on standard input.
    let piped = common::hashsieve_stdin(None, &["dedup", "-"], &scanned);
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
    for v in json_rows(&out) {
        assert_eq!(v["max_distance"], 100);
        assert!(v["cluster"].is_u64() && v["distance"].is_u64());
    }
}

/// A JSON id as the record reader's id text: a string, or a path that is not UTF-8
/// (`{"bytes": base64}`, as dedup writes it) in the reader's escaped form (`\xNN`, `\\`).
fn id_text(v: &serde_json::Value) -> String {
    use base64::Engine;
    if let Some(s) = v.as_str() {
        return s.to_owned();
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["bytes"].as_str().expect("a string or bytes"))
        .unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "bytes only when not UTF-8"
    );
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The rows of dedup JSON output (not its summary record, which ends it).
fn json_rows(out: &Output) -> Vec<serde_json::Value> {
    let mut objs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(objs.pop().expect("a summary")["type"], "summary");
    objs
}

/// Every golden input file of the record reader (tests/data/formats) goes through `dedup`:
/// each file (each record of the original orientation, of the algorithm asked for) is one
/// row, with the id and hash the `.expected` file gives, and the summary counts what was
/// skipped. At threshold 0 with `--all`, a cluster is a set of identical hashes.
#[test]
fn reads_every_input_format() {
    let root = common::data("formats");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("formats") {
        let dir = dir.expect("entry").path();
        // `real`: real tool outputs; `out`: golden files of what `export` writes (no
        // `.expected`).
        if !dir.is_dir() || dir.ends_with("real") || dir.ends_with("out") {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("dir") {
            let f = f.expect("entry").path();
            if f.extension().is_some_and(|e| e != "expected") {
                files.push(f);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "{files:?}");
    let mut formats = BTreeSet::new();
    for path in files {
        let expected =
            std::fs::read_to_string(format!("{}.expected", path.display())).expect("expected file");
        let mut lines = expected
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("expected json"));
        let format = lines.next().expect("format line")["format"].clone();
        let items: Vec<serde_json::Value> = lines.collect();
        if items.iter().any(|v| v.get("malformed").is_some()) {
            continue;
        }
        formats.insert(format.to_string());
        let records: Vec<&serde_json::Value> =
            items.iter().filter_map(|v| v.get("record")).collect();
        // The algorithm: PDQ when the file has any, else the first record's.
        let algo = if records.iter().any(|r| r["kind"] == "pdq") {
            "pdq".to_owned()
        } else {
            records[0]["kind"].as_str().unwrap().to_owned()
        };
        // The oracle: the records of that kind; rotations and flips after a file's first row
        // are left out.
        let mut want: Vec<(String, String)> = Vec::new();
        let mut last_id: Option<serde_json::Value> = None;
        let (mut other_kind, mut rotated) = (0, 0);
        for v in &items {
            let Some(r) = v.get("record") else { continue };
            if r["kind"] != algo.as_str() {
                other_kind += 1;
                continue;
            }
            let id = match r["id"].as_str() {
                Some(id) => id.to_owned(),
                None => format!("line={}", v["line"]),
            };
            let turned = !(r["orientation"].is_null() || r["orientation"] == "orig");
            if turned && last_id.as_ref() == Some(&r["id"]) {
                // A rotation of the file, or a scan's row matched through one (its hash is
                // the file's own: a repeated row).
                if want.last().map(|w| w.1.as_str()) != r["hash"].as_str() {
                    rotated += 1;
                }
                continue;
            }
            last_id = Some(r["id"].clone());
            want.push((id, r["hash"].as_str().unwrap().to_owned()));
        }
        let p = path.to_str().unwrap();
        let args = [
            "dedup",
            p,
            "--algo",
            &algo,
            "--all",
            "--min-quality",
            "0",
            "-t",
            "0",
            "--format",
            "json",
        ];
        let out = hashsieve(&args);
        expect_code(&out, 0);
        let mut got: Vec<(String, String)> = json_rows(&out)
            .iter()
            .map(|o| (id_text(&o["id"]), o["hash"].as_str().unwrap().to_owned()))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{p}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{} rows read", items.len())),
            "{p}: {err}"
        );
        if other_kind > 0 {
            assert!(
                err.contains(&format!("{other_kind} of other algorithms")),
                "{p}: {err}"
            );
        }
        if rotated > 0 {
            assert!(
                err.contains(&format!("{rotated} of other orientations")),
                "{p}: {err}"
            );
        }
        let signals = items
            .iter()
            .filter(|v| v["skip"] == "other-signal-type")
            .count();
        if signals > 0 {
            assert!(
                err.contains(&format!("{signals} of other signal types")),
                "{p}: {err}"
            );
        }
    }
    assert!(formats.len() >= 7, "{formats:?}");
}

/// `--input-format` overrides detection: `hash,quality,name` read as hex lines keeps the
/// whole tail as the id.
#[test]
fn input_format_overrides_detection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, hashes) = chain_file(dir.path());
    let path = dir.path().join("hasher.txt");
    let text: String = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{},90,f{i}.jpg\n", h.to_hex()))
        .collect();
    std::fs::write(&path, text).expect("write");
    let p = path.to_str().unwrap();
    let out = hashsieve(&["dedup", p, "--all", "--format", "json"]);
    expect_code(&out, 0);
    let rows = json_rows(&out);
    assert!(rows
        .iter()
        .all(|o| o["id"].as_str().unwrap().starts_with('f') && o["quality"] == 90));
    let out = hashsieve(&[
        "dedup",
        p,
        "--all",
        "--format",
        "json",
        "--input-format",
        "hex",
    ]);
    expect_code(&out, 0);
    let rows = json_rows(&out);
    assert!(rows
        .iter()
        .all(|o| o["id"].as_str().unwrap().starts_with("90,f") && o["quality"].is_null()));
    let out = hashsieve(&["dedup", p, "--input-format", "nonsense"]);
    expect_code(&out, 2);
}

/// A scan row's orientation is the variant that matched, while its hash is the file's own: a
/// file that matched only through a rotation is still clustered.
#[test]
fn scan_rows_matched_through_a_rotation_are_clustered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = dir.path().join("case");
    std::fs::create_dir_all(case.join("copy")).expect("mkdir");
    let photo = common::data("corpus/photo_002.png");
    std::fs::copy(&photo, case.join("a.png")).expect("copy");
    std::fs::copy(&photo, case.join("copy/a.png")).expect("copy");
    let out = hashsieve(&[
        "hash",
        "--algo",
        "pdq",
        "--dihedral",
        photo.to_str().unwrap(),
    ]);
    expect_code(&out, 0);
    let rows = table(&out.stdout);
    let rot90 = rows
        .iter()
        .find(|r| r["orientation"] == "rot90")
        .expect("a rot90 row");
    let orig = rows
        .iter()
        .find(|r| r["orientation"] == "orig")
        .expect("orig");
    let (rot90, orig) = (
        Hash256::from_hex(&rot90["hash"]).expect("hex"),
        Hash256::from_hex(&orig["hash"]).expect("hex"),
    );
    assert!(rot90.distance(&orig) > 31);
    // A list holding the rotated hash only.
    let scan = scan_against(dir.path(), &case, &[(rot90, "turned")], &["--dihedral"], 0);
    let scanned = table(&std::fs::read(&scan).expect("scan output"));
    assert!(scanned
        .iter()
        .all(|r| r["status"] == "match" && r["orientation"] != "orig"));
    let out = hashsieve(&["dedup", scan.to_str().unwrap()]);
    expect_code(&out, 0);
    let want: BTreeSet<BTreeSet<String>> = [scanned
        .iter()
        .map(|r| r["path"].clone())
        .collect::<BTreeSet<String>>()]
    .into();
    assert_eq!(want.iter().next().unwrap().len(), 2);
    assert_eq!(clusters_of(&table(&out.stdout)), want);
}
