//! No hash value in any message (issue 10, section 6): every subcommand is driven through as
//! many error and warning paths as inputs can reach, with inputs that carry canary hashes, and
//! no run of 16 or more hex digits of any input may reach stderr.
//!
//! The check is generic: every run of 16+ hex digits in stderr is cut into 16-digit windows,
//! and none may occur (case-insensitively) in any file of the test directory or in the text
//! given on stdin. Hash lists are sensitive: a message may name a file, a line or an id, never
//! a hash.

#![cfg(feature = "cli")]

use crate::common;

use std::path::{Path, PathBuf};

/// A canary PDQ hash and a canary 64-bit hash (random, unrelated to any fixture).
const P: &str = "c4a1f09e33b87d5260e1a9fb4d7c2e8813f6b05a9ed42c71806b3fa55e9d1c27";
const P2: &str = "7b29e04fd1c8a3356e0f9b12ac47d8e5f31a6c90b2d74e18a5c3f06d9e8b2174";
const S: &str = "17e011b7f8102383";

struct Sweep {
    dir: tempfile::TempDir,
    runs: usize,
}

impl Sweep {
    fn new() -> Sweep {
        Sweep {
            dir: tempfile::tempdir().unwrap(),
            runs: 0,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// Runs the command line `line` (words split at spaces) in the directory and checks its
    /// stderr.
    #[track_caller]
    fn run(&mut self, line: &str) {
        self.check(&line.split(' ').collect::<Vec<_>>(), None);
    }

    /// Runs each of `templates` with `{}` replaced by each of `inputs` (names split at spaces),
    /// input by input.
    #[track_caller]
    fn run_each(&mut self, inputs: &str, templates: &[&str]) {
        for input in inputs.split(' ') {
            for t in templates {
                self.run(&t.replace("{}", input));
            }
        }
    }

    /// [`Sweep::run`] with `stdin` written to the standard input.
    #[track_caller]
    fn run_with_stdin(&mut self, line: &str, stdin: &[u8]) {
        self.check(&line.split(' ').collect::<Vec<_>>(), Some(stdin));
    }

    /// Runs `hashsieve args` in the directory and checks its stderr.
    #[track_caller]
    fn check(&mut self, args: &[&str], stdin: Option<&[u8]>) {
        let out = common::hashsieve_stdin(Some(self.dir.path()), args, stdin.unwrap_or(b""));
        let err = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        let mut haystacks = vec![P.to_owned(), P2.to_owned(), S.to_owned()];
        haystacks.extend(stdin.map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()));
        collect_files(self.dir.path(), &mut haystacks);
        for run in hex_runs(&err) {
            for w in run.as_bytes().windows(16) {
                let w = std::str::from_utf8(w).unwrap();
                assert!(
                    !haystacks.iter().any(|h| h.contains(w)),
                    "hashsieve {args:?} leaked hex {w:?} of an input in its stderr:\n{err}"
                );
            }
        }
        self.runs += 1;
    }
}

/// The lowercased text of every file under `dir`.
fn collect_files(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            collect_files(&e.path(), out);
        } else if ft.is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            out.push(String::from_utf8_lossy(&bytes).to_ascii_lowercase());
        }
    }
}

/// Every maximal run of 16 or more hex digits.
fn hex_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            cur.push(c);
        } else {
            if cur.len() >= 16 {
                runs.push(cur.clone());
            }
            cur.clear();
        }
    }
    runs
}

#[test]
fn the_checker_catches_a_leak() {
    assert_eq!(
        hex_runs("a: 0123456789abcdef0 x 0123"),
        ["0123456789abcdef0"]
    );
    // The sweep's own oracle must fail on a message that leaks: `hash` of a file whose *name*
    // is a canary echoes that name, and the name is in the directory listing's files.
    let mut s = Sweep::new();
    s.write("names.txt", S);
    let leaked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.run(&format!("info {S}"));
    }));
    assert!(leaked.is_err(), "a path holding a canary must be caught");
}

#[test]
fn no_subcommand_prints_an_input_hash_to_stderr() {
    let mut s = Sweep::new();
    let n = common::needles();

    // ---- inputs ----
    s.write(
        "known.txt",
        format!("{P},canary-entry\n{},other\n{},third\n", n[0], n[1]),
    );
    s.write(
        "short.txt",
        format!("{S},short-entry\n0000000000ff00ff,x\n"),
    );
    let mut bad = format!(
        "{P}\n{}\n{S}\n{P}x,id-a\nzz{P}\nhash={P2}{P2}\n{},\n",
        &P[..63],
        &P2[..40]
    );
    bad.push_str(&P.repeat(20_000)); // an over-long line
    bad.push('\n');
    let mut bad = bad.into_bytes();
    bad.extend_from_slice(P2.as_bytes());
    bad.extend_from_slice(b"\xff\xfe\n");
    s.write("bad.txt", &bad);
    s.write(
        "bad.tsv",
        format!(
            "path\talgorithm\thash\tquality\n\t{S}\t{P}\t\n\tpdq\t{P}\t10\n\tpdq\t{P2}\t101\n\
             \tphash\t{S}\t5\n\tpdq\t{}\t\nrow-x\t{P2}\t{P}\t50\n",
            &P[..60]
        ),
    );
    s.write(
        "ref101.txt",
        format!("{P},101,a.jpg\n{P2},10,b.jpg\n{},90,c.jpg\n", n[2]),
    );
    s.write(
        "quote.csv",
        format!("hash,id\n{P},\"open\n{P2},b\n{},c\n", n[3]),
    );
    s.write(
        "bad.jsonl",
        format!(
            "{{\"hash\": \"{}\", \"id\": 5}}\n{{\"hash\": \"{P}\", \"quality\": 300}}\n\
             {{\"hash\": \"{P2}\", \"categories\": 7}}\n{{\"hash\": \"{P}\", \"id\": [1]}}\n{{\"id\": \"{P}\"}}\n",
            &P[1..]
        ),
    );
    s.write("all_bad.txt", format!("{}\n{}\n", &P[..63], &P2[..62]));
    s.write(
        "delta.txt",
        format!(
            "+{P},new\n-{}\n+{P}{S}\n*{P2}\n+{S},short\n-{P2},gone\n",
            &P[..50]
        ),
    );
    s.write(
        "delta.csv",
        format!("op,hash,id,quality\nadd,{P},a,500\nzap,{P2},b,\n+,{S},c,\n-,{P2},\"open\n"),
    );
    s.write(
        "all_bad_delta.txt",
        format!("+{}\n-{}\n", &P[..10], &P2[..20]),
    );
    s.write("fake.hsl", format!("\u{89}HSL{P}{P2}{S}"));
    s.write("text_as_list.hsl", format!("{P}\n{P2}\n"));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(P.as_bytes());
    s.write("imgs/fake.png", &png);
    s.write("imgs/notes.txt", format!("{P}\n"));
    s.write("demo/photo_002.png", &png);
    s.write("eval/photo.png", &png);

    // ---- lists ----
    s.run("build -o known.hsl known.txt");
    s.run("build --algo phash -o short.hsl short.txt");
    assert!(s.path("known.hsl").exists() && s.path("short.hsl").exists());
    // A copy of the known list with damage in its entry bytes.
    let mut corrupt = std::fs::read(s.path("known.hsl")).unwrap();
    let len = corrupt.len();
    for i in (len / 3..len).step_by(97) {
        corrupt[i] ^= 0x5a;
    }
    s.write("corrupt.hsl", &corrupt);

    // ---- build ----
    s.run_each(
        "bad.txt bad.tsv ref101.txt quote.csv bad.jsonl all_bad.txt",
        &[
            "build -o b.hsl {}",
            "build --max-errors 1000 -o b.hsl {}",
            "build --algo phash --max-errors 9 -o b.hsl {}",
        ],
    );
    s.run("build --input-format hex --max-errors 99 -o b.hsl bad.tsv");
    s.run("build --input-format csv --hash-col nope -o b.hsl quote.csv");
    s.run_with_stdin("build --max-errors 99 -o b.hsl -", &bad);

    // ---- match ----
    // As images (a text file is "not an image") and, but for the directory, as hash text.
    s.run_each(
        "bad.txt bad.tsv short.txt known.txt imgs ref101.txt",
        &["match -l known.hsl {}"],
    );
    s.run_each(
        "bad.txt bad.tsv short.txt known.txt ref101.txt",
        &[
            "match -l known.hsl --hashes {}",
            "match -l known.hsl -l short.hsl --hashes {}",
            "match -l short.hsl --min-quality 90 --hashes {}",
        ],
    );
    s.run_with_stdin("match -l known.hsl --hashes -", &bad);
    s.run_with_stdin("match -l known.hsl -", &bad);
    s.run_with_stdin("match -l known.hsl --dihedral --hashes -", P.as_bytes());
    s.run_each(
        "fake.hsl text_as_list.hsl corrupt.hsl known.txt",
        &["match -l {} --hashes known.txt"],
    );

    // ---- hash, scan ----
    s.run("hash imgs bad.txt imgs/fake.png");
    s.run("hash --algo pdq,phash --dihedral imgs");
    s.run("scan -l known.hsl -o scan.tsv imgs");
    s.run("scan -l corrupt.hsl -o scan2.tsv imgs");
    s.run("scan -l fake.hsl -o scan3.tsv imgs");

    // ---- info, verify, export ----
    s.run_each(
        "fake.hsl text_as_list.hsl corrupt.hsl known.hsl bad.txt",
        &[
            "info {}",
            "verify {}",
            "export {}",
            "export --format csv {} -o exported.csv",
        ],
    );

    // ---- merge, update ----
    s.run("merge -o m.hsl known.hsl short.hsl");
    s.run("merge -o m.hsl known.hsl fake.hsl");
    s.run("merge -o m.hsl corrupt.hsl");
    s.run_each(
        "delta.txt delta.csv all_bad_delta.txt bad.tsv",
        &[
            "update --base known.hsl --delta {} -o u.hsl",
            "update --base known.hsl --delta {} --max-errors 99 -o u.hsl",
            "update --base short.hsl --delta {} -o u.hsl",
        ],
    );
    s.run("update --base corrupt.hsl --delta delta.txt -o u.hsl");

    // ---- dedup ----
    s.run_each(
        "bad.txt bad.tsv known.txt short.txt fake.hsl corrupt.hsl",
        &[
            "dedup {}",
            "dedup --algo phash {}",
            "dedup -l fake.hsl -l short.hsl {}",
            "dedup -t 200 --max-pairs 1 {}",
        ],
    );
    s.run("dedup -l known.hsl known.hsl");

    // ---- bench, eval, demo ----
    s.run("bench search --size 2000 --queries 20 --budget 0.01");
    s.run("bench search --size 2000 -t 300");
    s.run("eval robustness eval --transforms jpeg_q70 --algorithms pdq -q --reference bad.tsv");
    s.run("eval robustness eval/photo.png imgs -q");
    s.run("demo --data demo");

    assert!(s.runs > 100, "{} runs", s.runs);
}
