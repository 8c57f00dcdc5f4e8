//! Arguments and inputs that used to lose data or blow up (issue 10, sections 3 and 4): numeric
//! arguments refused the same way by every command, work too large for memory refused with a
//! message saying what to do instead, streamed text inputs with a bounded line length, and
//! builds that would write an empty list.

#![cfg(feature = "cli")]

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{cmd, hashsieve_in as hashsieve, stderr};

/// Asserts a clean refusal: exit 2, no panic, and a message containing every `needle`.
#[track_caller]
fn refused(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in: {err}");
    }
}

use common::needles;

/// A PDQ list of the 20 needles, ids n0..n19.
/// A scratch directory holding `needles.hsl` (see [`needle_list`]), and the needles.
fn dir_with_needle_list() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    needle_list(dir.path());
    (dir, needles())
}

fn needle_list(dir: &Path) -> PathBuf {
    let text: String = needles()
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{h},n{i}\n"))
        .collect();
    std::fs::write(dir.join("needles.txt"), text).unwrap();
    cmd(["build", "-o", "needles.hsl", "needles.txt"])
        .dir(dir)
        .assert_ok();
    dir.join("needles.hsl")
}

#[test]
fn bench_refuses_sizes_that_overflow_or_cannot_fit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for size in ["18446744073709551615", "100000000000", "0"] {
        let out = hashsieve(d, &["bench", "search", "--size", size]);
        refused(&out, &["--size"]);
    }
    // Within the u32 range but 4.3 billion 256-bit hashes (about 400 GiB with the index copy):
    // refused before allocating, by the memory available (or by the allocation probe).
    let out = hashsieve(
        d,
        &["bench", "search", "--size", "4294967295", "--queries", "1"],
    );
    refused(&out, &[]);
    let err = stderr(&out);
    assert!(
        err.contains("memory is available") || err.contains("cannot allocate"),
        "{err}"
    );
}

#[test]
fn thresholds_are_refused_not_clamped_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list = needle_list(d);
    let list = list.to_str().unwrap();
    std::fs::write(d.join("q.txt"), format!("{}\n", needles()[0])).unwrap();
    // 257 is beyond every width: refused by the argument parser everywhere.
    for args in [
        vec!["match", "-l", list, "-t", "257", "--hashes", "q.txt"],
        vec!["dedup", "-t", "257", "q.txt"],
        vec!["scan", "-l", list, "-t", "257", "q.txt"],
        vec!["bench", "search", "--size", "10", "-t", "300"],
        vec!["build", "--index-threshold", "257", "-o", "x.hsl", "q.txt"],
    ] {
        refused(&hashsieve(d, &args), &["threshold"]);
    }
    // Beyond the width of the algorithm: refused once the algorithm is known.
    std::fs::write(d.join("p.txt"), "00000000000000ff,a\n0000000000000fff,b\n").unwrap();
    for args in [
        vec!["dedup", "--algo", "phash", "-t", "65", "p.txt"],
        vec![
            "bench", "search", "--size", "10", "--bits", "64", "-t", "65",
        ],
        vec![
            "build",
            "--algo",
            "phash",
            "--index-threshold",
            "65",
            "-o",
            "x.hsl",
            "p.txt",
        ],
    ] {
        refused(&hashsieve(d, &args), &["threshold 65 exceeds the 64-bit"]);
    }
    assert!(!d.join("x.hsl").exists());
    // The widths themselves are accepted.
    cmd(["dedup", "--algo", "phash", "-t", "64", "p.txt"])
        .dir(d)
        .assert_exit(0);
    // Other numbers: widths, counts and durations out of range.
    for args in [
        vec!["bench", "search", "--bits", "128"],
        vec!["bench", "search", "--queries", "0"],
        vec!["bench", "search", "--budget", "nan"],
        vec!["bench", "search", "--budget", "-1"],
        vec!["dedup", "--max-pairs", "0", "q.txt"],
        vec!["build", "--max-errors", "-1", "-o", "x.hsl", "q.txt"],
    ] {
        refused(&hashsieve(d, &args), &[]);
    }
}

#[test]
fn bench_refuses_a_threshold_whose_answers_cannot_fit() {
    let dir = tempfile::tempdir().unwrap();
    // r = 128 of 256 bits: about half of 10^9 pairs match.
    let out = hashsieve(
        dir.path(),
        &["bench", "search", "--size", "1000000", "-t", "128"],
    );
    refused(&out, &["lower the threshold"]);
}

#[test]
fn dedup_refuses_more_pairs_than_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 3,000 distinct random 64-bit hashes: at threshold 32 about half of the 4.5M pairs link.
    let mut x = 0x1234_5678_9abc_def0u64;
    let text: String = (0..3000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{x:016x},f{i}\n")
        })
        .collect();
    std::fs::write(d.join("set.txt"), text).unwrap();
    let out = hashsieve(
        d,
        &[
            "dedup",
            "--algo",
            "phash",
            "-t",
            "32",
            "--max-pairs",
            "10000",
            "set.txt",
        ],
    );
    refused(&out, &["lower the threshold", "--max-pairs"]);
    assert!(out.stdout.is_empty());
    // A threshold whose pairs fit runs.
    let out = hashsieve(
        d,
        &[
            "dedup",
            "--algo",
            "phash",
            "-t",
            "4",
            "--max-pairs",
            "10000",
            "set.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_over_long_line_is_a_malformed_line_for_match_and_dedup() {
    let (dir, n) = dir_with_needle_list();
    let d = dir.path();
    // One 101 MiB line, then a line that matches.
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(d.join("big.txt")).unwrap());
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..101 {
            f.write_all(&chunk).unwrap();
        }
        writeln!(f).unwrap();
        writeln!(f, "{},q2", n[3]).unwrap();
        f.flush().unwrap();
    }
    // Its format cannot be told from a first line that long: an error, never an empty input.
    let out = hashsieve(d, &["match", "-l", "needles.hsl", "--hashes", "big.txt"]);
    refused(&out, &["big.txt: cannot tell the input format"]);
    let out = hashsieve(
        d,
        &[
            "match",
            "-l",
            "needles.hsl",
            "--input-format",
            "hex",
            "--hashes",
            "big.txt",
        ],
    );
    refused(&out, &["big.txt:1: line longer than 1 MiB"]);
    // The rest of the file still streams through and matches.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("q2\t")), "{stdout}");

    let out = hashsieve(d, &["dedup", "big.txt"]);
    refused(&out, &["big.txt: cannot tell the input format"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn match_goes_on_after_a_malformed_line_and_names_it_by_number() {
    let (dir, n) = dir_with_needle_list();
    let d = dir.path();
    let text = format!("{}\n{}\n{}\n", &n[0][..40], n[1], n[2]);
    std::fs::write(d.join("q.txt"), text).unwrap();
    let out = hashsieve(d, &["match", "-l", "needles.hsl", "--hashes", "q.txt"]);
    refused(&out, &["q.txt:1: "]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}

#[test]
fn builds_that_keep_nothing_write_nothing_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = needles();
    // Every record malformed: fails even with a high --max-errors.
    std::fs::write(
        d.join("bad.txt"),
        format!("{}\n{}\n", &n[0][..30], &n[1][..50]),
    )
    .unwrap();
    let out = hashsieve(
        d,
        &[
            "build",
            "--input-format",
            "hex",
            "--max-errors",
            "1000",
            "-o",
            "out.hsl",
            "bad.txt",
        ],
    );
    refused(&out, &["every record"]);
    assert!(!d.join("out.hsl").exists());
    // Every record rejected (quality under the gate), or an empty input: 0 entries.
    std::fs::write(d.join("low.txt"), format!("{},10,a.jpg\n", n[0])).unwrap();
    std::fs::write(d.join("empty.txt"), "").unwrap();
    for input in ["low.txt", "empty.txt"] {
        let out = hashsieve(d, &["build", "-o", "out.hsl", input]);
        refused(&out, &["--allow-empty"]);
        assert!(!d.join("out.hsl").exists());
        cmd(["build", "--allow-empty", "-o", "out.hsl", input])
            .dir(d)
            .assert_exit(0);
        let list = hashsieve::HashList::read(d.join("out.hsl")).unwrap();
        assert_eq!(list.len(), 0);
        std::fs::remove_file(d.join("out.hsl")).unwrap();
    }
    // update and merge too.
    std::fs::write(d.join("one.txt"), format!("{},a\n", n[0])).unwrap();
    assert!(hashsieve(d, &["build", "-o", "one.hsl", "one.txt"])
        .status
        .success());
    std::fs::write(d.join("del.txt"), format!("-{}\n", n[0])).unwrap();
    let out = hashsieve(
        d,
        &[
            "update", "--base", "one.hsl", "--delta", "del.txt", "-o", "e.hsl",
        ],
    );
    refused(&out, &["--allow-empty"]);
    assert!(!d.join("e.hsl").exists());
    let out = hashsieve(
        d,
        &[
            "update",
            "--base",
            "one.hsl",
            "--delta",
            "del.txt",
            "--allow-empty",
            "-o",
            "e.hsl",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = hashsieve(d, &["merge", "-o", "m.hsl", "e.hsl"]);
    refused(&out, &["--allow-empty"]);
    assert!(!d.join("m.hsl").exists());
    cmd(["merge", "--allow-empty", "-o", "m.hsl", "e.hsl"])
        .dir(d)
        .assert_exit(0);
}
