//! End-to-end tests of `hashsieve scan` (streaming rows, resume, report, broken files) and
//! `hashsieve demo`, on the bundled sample set in a temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn hashsieve(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hashsieve"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// A case tree: the photo_003 variants, one unrelated photo, a truncated PNG and a non-image.
fn case_tree(dir: &Path) -> PathBuf {
    let tree = dir.join("case");
    for entry in std::fs::read_dir(data("corpus/transformed")).unwrap() {
        let edit = entry.unwrap().path();
        let dest = tree.join(edit.file_name().unwrap());
        std::fs::create_dir_all(&dest).unwrap();
        for f in std::fs::read_dir(&edit).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dest.join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(data("corpus/photo_007.png"), tree.join("unrelated.png")).unwrap();
    let png = std::fs::read(data("corpus/photo_002.png")).unwrap();
    std::fs::write(tree.join("truncated.png"), &png[..png.len() / 3]).unwrap();
    std::fs::write(tree.join("notes.txt"), b"not an image").unwrap();
    tree
}

fn known_list(dir: &Path) -> PathBuf {
    let src = data("corpus/photo_003.png");
    let out = hashsieve(&["hash", src.to_str().unwrap()]);
    let tsv = dir.join("known.tsv");
    std::fs::write(&tsv, out.stdout).unwrap();
    let list = dir.join("known.hsl");
    let out = hashsieve(&[
        "build",
        "--name",
        "known",
        "--list-version",
        "7",
        "-o",
        list.to_str().unwrap(),
        tsv.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    list
}

fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().skip_while(|l| l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(&header[..4], ["path", "status", "algorithm", "hash"]);
    lines
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

#[test]
fn scan_records_every_file_reports_errors_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let tree = case_tree(dir.path());
    let list = known_list(dir.path());
    let out_path = dir.path().join("results.tsv");
    let args = [
        "scan",
        "--list",
        list.to_str().unwrap(),
        "--dihedral",
        "-o",
        out_path.to_str().unwrap(),
        tree.to_str().unwrap(),
    ];
    let first = hashsieve(&args);
    assert_eq!(
        first.status.code(),
        Some(2),
        "broken files make the exit code 2 but are not fatal"
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("truncated.png") && stderr.contains("notes.txt"),
        "{stderr}"
    );

    let rows = read_rows(&out_path);
    let files: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(files.len(), 6 + 1 + 2, "every file has at least one row");
    let status = |name: &str| {
        rows.iter()
            .find(|r| r[0].ends_with(name))
            .map(|r| r[1].clone())
            .unwrap()
    };
    assert_eq!(status("truncated.png"), "error");
    assert_eq!(status("notes.txt"), "error");
    assert_eq!(status("unrelated.png"), "no_match");
    assert_eq!(
        status("rotate_90ccw/photo_003.png"),
        "match",
        "dihedral matching catches rotations"
    );
    // Oracle: the best distance from the variant's 8 reference dihedral hashes (TRANSFORMED.tsv)
    // to the source's reference hash (REFERENCE.tsv).
    let source: hashsieve::Hash256 = std::fs::read_to_string(data("corpus/REFERENCE.tsv"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("photo_003.png\traw"))
        .unwrap()
        .split('\t')
        .nth(8)
        .unwrap()
        .parse()
        .unwrap();
    let table = std::fs::read_to_string(data("corpus/TRANSFORMED.tsv")).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap();
    for line in lines {
        let c: Vec<&str> = line.split('\t').collect();
        let file = c[col("file")].trim_start_matches("transformed/");
        let row = rows.iter().find(|r| r[0].ends_with(file)).unwrap();
        let names = [
            "orig",
            "rot90",
            "rot180",
            "rot270",
            "flipx",
            "flipy",
            "flipplus1",
            "flipminus1",
        ];
        let best = names
            .iter()
            .map(|n| {
                c[col(&format!("pdq_dih_{n}"))]
                    .parse::<hashsieve::Hash256>()
                    .unwrap()
                    .distance(&source)
            })
            .min()
            .unwrap();
        if file.ends_with(".png") {
            assert_eq!(row[1] == "match", best <= 31, "{file}");
            if best <= 31 {
                assert_eq!(row[7], best.to_string(), "{file}");
            }
        }
    }

    // The report names the tool, the list (name, version, checksum), thresholds and times.
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("results.tsv.report.json")).unwrap(),
    )
    .unwrap();
    assert!(report["tool"].as_str().unwrap().starts_with("hashsieve "));
    assert_eq!(report["lists"][0]["name"], "known");
    assert_eq!(report["lists"][0]["version"], "7");
    assert_eq!(report["lists"][0]["threshold"], 31);
    assert_eq!(report["lists"][0]["crc32c"].as_str().unwrap().len(), 8);
    assert_eq!(report["files"]["errors"], 2);
    assert!(report["started"].as_str().unwrap().ends_with('Z'));

    // Interrupt: drop the last rows (and leave a half-written line), then run again.
    let text = std::fs::read_to_string(&out_path).unwrap();
    let keep: Vec<&str> = text.lines().take(4).collect();
    std::fs::write(
        &out_path,
        format!("{}\n{}", keep.join("\n"), "case/partial-li"),
    )
    .unwrap();
    let second = hashsieve(&args);
    assert_eq!(second.status.code(), Some(2));
    let resumed = read_rows(&out_path);
    let mut again: Vec<&str> = resumed.iter().map(|r| r[0].as_str()).collect();
    again.dedup();
    let unique: std::collections::BTreeSet<&str> = again.iter().copied().collect();
    assert_eq!(unique, files, "the resumed output covers every file once");
    assert_eq!(again.len(), unique.len(), "no file was hashed twice");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("results.tsv.report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["resumed"], true);
    assert_eq!(
        report["files"]["previously_done"].as_u64().unwrap()
            + report["files"]["scanned"].as_u64().unwrap(),
        9
    );
}

#[test]
fn scan_without_errors_exits_by_match() {
    let dir = tempfile::tempdir().unwrap();
    let list = known_list(dir.path());
    let other = data("corpus/photo_008.png");
    let out = hashsieve(&[
        "scan",
        "-l",
        list.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let same = data("corpus/transformed/grayscale/photo_003.png");
    let out = hashsieve(&[
        "scan",
        "-l",
        list.to_str().unwrap(),
        "--format",
        "json",
        same.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["type"], "header");
    let row: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(row["status"], "match");
    assert_eq!(row["distance"], 0);
}

/// `--dihedral-mode exact`: the mirrored copy of the listed photo is found at distance 0, and
/// the report records the mode.
#[test]
fn exact_dihedral_mode_is_used_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let list = known_list(dir.path());
    let mirrored = data("corpus/transformed/flip_horizontal/photo_003.png");
    let out_path = dir.path().join("exact.tsv");
    let out = hashsieve(&[
        "scan",
        "-l",
        list.to_str().unwrap(),
        "--dihedral",
        "--dihedral-mode",
        "exact",
        "-o",
        out_path.to_str().unwrap(),
        mirrored.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let rows = read_rows(&out_path);
    assert_eq!((rows[0][1].as_str(), rows[0][7].as_str()), ("match", "0"));
    assert_eq!(rows[0][8], "flipy");
    let report = std::fs::read_to_string(dir.path().join("exact.tsv.report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["dihedral_mode"], "exact");
}

#[test]
fn demo_runs_on_the_bundled_set() {
    let out = hashsieve(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}\n{text}"))
    };
    assert!(line("rotate_90ccw of photo_003").contains("MATCH"));
    assert!(line("jpeg_q70 of photo_003").contains("MATCH"));
    assert!(line("unrelated (photo_007.png)").contains("no match"));
    assert!(text.contains("0 of 5 unrelated photos matched"));
}
