//! End-to-end tests of `hashsieve match`: build a list with the real binary, then match images,
//! and hash text (`--hashes`, files and stdin) against it; exit codes 0 (matched), 1 (nothing), 2 (error).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashsieve"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Hashes photo_003.png and photo_002.png with `hash`, builds a list from that TSV.
fn known_list(dir: &Path) -> (PathBuf, String) {
    let tsv = dir.join("known.tsv");
    let a = data("corpus/photo_003.png");
    let b = data("corpus/photo_002.png");
    let out = run(&["hash", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert!(out.status.success());
    std::fs::write(&tsv, &out.stdout).unwrap();
    let list = dir.join("known.hsl");
    let out = run(
        &[
            "build",
            "--name",
            "known",
            "-o",
            list.to_str().unwrap(),
            tsv.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        list,
        String::from_utf8(std::fs::read(&tsv).unwrap()).unwrap(),
    )
}

fn rows(out: &Output) -> Vec<Vec<String>> {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(
        &header[..5],
        ["query", "list", "entry_id", "distance", "orientation"]
    );
    lines
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

#[test]
fn edited_variants_match_and_distances_agree_with_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = known_list(dir.path());
    let variants = data("corpus/transformed");
    let out = run(
        &[
            "match",
            "--list",
            list.to_str().unwrap(),
            variants.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Oracle: TRANSFORMED.tsv's pdq_dist for each lossless variant of photo_003 (JPEG variants
    // may differ by decoder noise, so only their membership is checked).
    let table = std::fs::read_to_string(data("corpus/TRANSFORMED.tsv")).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap();
    let got = rows(&out);
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let dist: u32 = cells[col("pdq_dist")].parse().unwrap();
        let file = cells[col("file")];
        let row = got.iter().find(|r| r[0].ends_with(file));
        if dist <= 31 {
            let row =
                row.unwrap_or_else(|| panic!("{file} (reference distance {dist}) did not match"));
            assert!(row[2].ends_with("photo_003.png"));
            if file.ends_with(".png") {
                assert_eq!(row[3], dist.to_string(), "{file}");
            }
        } else {
            assert!(
                row.is_none(),
                "{file} is {dist} bits away and must not match"
            );
        }
    }
}

#[test]
fn dihedral_matching_reports_the_orientation() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = known_list(dir.path());
    let rotated = data("corpus/transformed/rotate_90ccw/photo_003.png");
    let plain = run(
        &[
            "match",
            "-l",
            list.to_str().unwrap(),
            rotated.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        plain.status.code(),
        Some(1),
        "a rotation is far away without --dihedral"
    );
    let out = run(
        &[
            "match",
            "-l",
            list.to_str().unwrap(),
            "--dihedral",
            rotated.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let got = rows(&out);
    assert_eq!(got.len(), 1);
    // The query was rotated 90 degrees counter-clockwise; turning it 270 more gives the original.
    assert_eq!(got[0][4], "rot270");
}

/// `--dihedral-mode exact` hashes the un-rotated pixels, so a lossless rotation or mirror image
/// of a listed photo comes back at distance 0; the reference mode's DCT-derived variants are no
/// closer.
#[test]
fn exact_dihedral_mode_matches_rotations_at_distance_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = known_list(dir.path());
    for (edit, orientation) in [("rotate_90ccw", "rot270"), ("flip_horizontal", "flipy")] {
        let path = data(&format!("corpus/transformed/{edit}/photo_003.png"));
        let distance = |mode: &str| {
            let out = run(
                &[
                    "match",
                    "-l",
                    list.to_str().unwrap(),
                    "--dihedral",
                    "--dihedral-mode",
                    mode,
                    path.to_str().unwrap(),
                ],
                None,
            );
            assert_eq!(out.status.code(), Some(0), "{edit} {mode}");
            let got = rows(&out);
            assert_eq!(got[0][4], orientation, "{edit} {mode}");
            got[0][3].parse::<u32>().unwrap()
        };
        assert_eq!(distance("exact"), 0, "{edit}");
        assert!(
            distance("reference") > 0,
            "{edit}: the reference mode is not exact here"
        );
    }
    let out = run(
        &[
            "match",
            "-l",
            list.to_str().unwrap(),
            "--dihedral-mode",
            "sideways",
            "x.png",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn hash_files_and_stdin_are_queries() {
    let dir = tempfile::tempdir().unwrap();
    let (list, tsv) = known_list(dir.path());
    // Our own TSV as a hash file: each row matches itself at distance 0, labelled by its path.
    let out = run(
        &[
            "match",
            "-l",
            list.to_str().unwrap(),
            "--hashes",
            dir.path().join("known.tsv").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let got = rows(&out);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r[3] == "0" && r[0] == r[2]));
    // Hex lines on stdin, one with an id.
    let hex: Vec<&str> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    let input = format!("{},upload-1\nhash={}\n", hex[0], hex[1]);
    let out = run(
        &[
            "match",
            "-l",
            list.to_str().unwrap(),
            "--format",
            "json",
            "--hashes",
            "-",
        ],
        Some(&input),
    );
    assert_eq!(out.status.code(), Some(0));
    let objs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["query"], "upload-1");
    assert_eq!(objs[0]["distance"], 0);
    // Without an id the query is named by its line, never by its hash.
    assert_eq!(objs[1]["query"], "-:2");
}

#[test]
fn exit_codes_for_no_match_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = known_list(dir.path());
    let other = data("corpus/photo_007.png");
    let out = run(
        &[
            "match",
            "-l",
            list.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    // A malformed hash line: exit 2, the line number named, the text not echoed.
    let out = run(
        &["match", "-l", list.to_str().unwrap(), "--hashes", "-"],
        Some("0123456789abcdefXYZ\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-:1"), "{err}");
    assert!(!err.contains("0123456789abcdefXYZ"), "{err}");
    // A missing list is an error before anything runs.
    let out = run(
        &[
            "match",
            "-l",
            dir.path().join("nope.hsl").to_str().unwrap(),
            other.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 11: a text file that holds a listed hash, named like an image, is not a match. Given
/// by path or found in a directory, it is an error ("not an image", exit 2), and its hex is
/// never the query.
#[test]
fn a_text_file_named_like_an_image_is_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let (list, tsv) = known_list(dir.path());
    let hex = tsv.lines().nth(1).unwrap().split('\t').nth(2).unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir(&uploads).unwrap();
    let forged = uploads.join("upload.jpg");
    std::fs::write(&forged, hex).unwrap();
    std::fs::write(uploads.join("notes.txt"), format!("{hex}\n")).unwrap();
    for input in [&forged, &uploads] {
        let out = run(
            &[
                "match",
                "-l",
                list.to_str().unwrap(),
                input.to_str().unwrap(),
            ],
            None,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("upload.jpg") && err.contains("not an image"),
            "{err}"
        );
        assert!(!err.contains(hex), "{err}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines().skip(1).next().is_none(),
            "no match row: {text}"
        );
    }
}
