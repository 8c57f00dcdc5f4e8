//! The list subcommands, run as the real binary in a temporary directory.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use hashsieve::list::{EntryMeta, HashList, ListBuilder};
use hashsieve::{Hash64, HashKind};

use crate::common::cmd::Cmd;
use crate::common::{self, cmd, hashsieve_in as run, needles, stderr};

/// A path under `tests/data/list`.
fn data(name: &str) -> PathBuf {
    common::data(&format!("list/{name}"))
}

/// `update --base <base> --delta <delta> -o <out>` in `dir`, to be set up further and run.
fn update(dir: &Path, base: &str, delta: &str, out: &str) -> Cmd {
    cmd(["update", "--base", base, "--delta", delta, "-o", out]).dir(dir)
}

#[test]
fn build_info_verify_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = data("needles-20.txt");
    let o = run(
        d,
        &[
            "build",
            "--name",
            "needles",
            "--list-version",
            "2024-06-01",
            "-o",
            "n.hsl",
            input.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "build writes messages to stderr only");
    assert!(
        stderr(&o).contains("20 written under 20 unique hashes"),
        "{}",
        stderr(&o)
    );

    let o = cmd(["info", "n.hsl"]).dir(d).assert_exit(0);
    let info = String::from_utf8(o.stdout.clone()).unwrap();
    for line in [
        "name\tneedles",
        "version\t2024-06-01",
        "algorithm\tpdq (256-bit)",
        "hashes\t20",
        "entries\t20",
        "section\tHASH\trequired",
    ] {
        assert!(info.contains(line), "missing {line:?} in\n{info}");
    }

    cmd(["verify", "n.hsl"]).dir(d).assert_exit(0);

    let o = cmd(["export", "--format", "hex", "n.hsl"])
        .dir(d)
        .assert_exit(0);
    let mut got: Vec<String> = String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut want = needles();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    // CSV export -> build -> same export (lossless).
    cmd(["export", "n.hsl", "-o", "n.csv"]).dir(d).assert_ok();
    cmd(["build", "-o", "m.hsl", "--name", "needles", "n.csv"])
        .dir(d)
        .assert_ok();
    let a = run(d, &["export", "--format", "jsonl", "n.hsl"]).stdout;
    let b = run(d, &["export", "--format", "jsonl", "m.hsl"]).stdout;
    assert_eq!(a, b);
    assert!(!a.is_empty());
}

#[test]
fn stdin_input_and_explicit_format() {
    let dir = tempfile::tempdir().unwrap();
    let n = needles();
    let o = cmd([
        "build",
        "--input-format",
        "pytx-signals",
        "-o",
        "s.hsl",
        "-",
    ])
    .dir(dir.path())
    .stdin(format!("pdq {}\npdq {}\n", n[0], n[1]))
    .run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("<stdin>"));
    let list = HashList::read(dir.path().join("s.hsl")).unwrap();
    assert_eq!((list.len(), list.name()), (2, "s"));
}

#[test]
fn failed_build_exits_2_names_the_line_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = needles();
    let truncated = &n[1][..60];
    fs::write(
        d.join("in.txt"),
        format!("{}\n{truncated}\n{}\n", n[0], n[2]),
    )
    .unwrap();
    let o = cmd(["build", "-o", "out.hsl", "in.txt"])
        .dir(d)
        .assert_exit(2);
    let err = stderr(&o);
    assert!(
        err.contains("cannot import in.txt") && err.contains("first at line 2:"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    for h in [&n[0][..], truncated, &n[2]] {
        assert!(!err.contains(h), "hash text in error output: {err}");
    }
    assert_eq!(common::file_names(d), ["in.txt"], "a file was left behind");
    // With --max-errors the line is skipped with a warning.
    let o = run(
        d,
        &["build", "--max-errors", "1", "-o", "out.hsl", "in.txt"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning") && stderr(&o).contains("in.txt:2:"));
    assert_eq!(HashList::read(d.join("out.hsl")).unwrap().len(), 2);
    // A failing later input also writes nothing, even over an existing list.
    fs::write(d.join("bad.txt"), "nonsense here\n").unwrap();
    let before = fs::read(d.join("out.hsl")).unwrap();
    cmd(["build", "-o", "out.hsl", "in.txt", "bad.txt"])
        .dir(d)
        .assert_exit(2);
    assert_eq!(fs::read(d.join("out.hsl")).unwrap(), before);
    // Missing inputs and bad arguments are errors too.
    assert_eq!(
        run(d, &["build", "-o", "x.hsl", "absent.txt"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(d, &["build", "--algo", "md5", "-o", "x.hsl", "in.txt"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(common::file_names(d), ["bad.txt", "in.txt", "out.hsl"]);
}

#[test]
fn verify_reports_corruption_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bytes = fs::read(data("golden-v1.hsl")).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x10;
    fs::write(d.join("bad.hsl"), &bytes).unwrap();
    cmd(["verify", "bad.hsl"])
        .dir(d)
        .assert_exit(2)
        .assert_stderr_contains("checksum mismatch in section XTRA");
    // info still works (it reads the header only); a header flip fails even that.
    assert_eq!(run(d, &["info", "bad.hsl"]).status.code(), Some(0));
    bytes[20] ^= 1;
    fs::write(d.join("bad.hsl"), &bytes).unwrap();
    let o = cmd(["info", "bad.hsl"]).dir(d).assert_exit(2);
    assert!(stderr(&o).contains("bad.hsl"), "{}", stderr(&o));
    fs::write(d.join("empty.hsl"), b"").unwrap();
    assert_eq!(run(d, &["verify", "empty.hsl"]).status.code(), Some(2));
}

#[test]
fn merge_and_update() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = needles();
    fs::write(d.join("a.txt"), format!("{},a1\n{},a2\n", n[0], n[1])).unwrap();
    fs::write(d.join("b.txt"), format!("{},b1\n", n[1])).unwrap();
    assert!(
        run(d, &["build", "--name", "alpha", "-o", "a.hsl", "a.txt"])
            .status
            .success()
    );
    assert!(run(d, &["build", "-o", "b.hsl", "b.txt"]).status.success());
    cmd(["merge", "-o", "ab.hsl", "a.hsl", "b.hsl"])
        .dir(d)
        .assert_ok();
    let csv = String::from_utf8(run(d, &["export", "ab.hsl"]).stdout).unwrap();
    assert!(csv.contains(&format!("{},a2,,,alpha\n", n[1])), "{csv}");
    assert!(csv.contains(&format!("{},b1,,,b\n", n[1])), "{csv}");

    fs::write(
        d.join("delta.txt"),
        format!("-{},a2\n+{},new\n", n[1], n[3]),
    )
    .unwrap();
    update(d, "ab.hsl", "delta.txt", "ab2.hsl")
        .args(["--list-version", "2"])
        .assert_ok()
        .assert_stderr_contains("1 removed");
    let list = HashList::read(d.join("ab2.hsl")).unwrap();
    assert_eq!(
        (list.entry_count(), list.version(), list.name()),
        (3, "2", "ab")
    );
    // Updating a list onto itself is refused (write a new file, then rename it over the old).
    let before = fs::read(d.join("ab.hsl")).unwrap();
    update(d, "ab.hsl", "delta.txt", "ab.hsl").assert_exit(2);
    assert_eq!(fs::read(d.join("ab.hsl")).unwrap(), before);
    // Mixed algorithms do not merge; a bad delta writes nothing.
    let mut b = ListBuilder::new(HashKind::PHash);
    b.add(Hash64::from_u64(77), EntryMeta::new("x")).unwrap();
    b.write(d.join("p.hsl")).unwrap();
    cmd(["merge", "-o", "mixed.hsl", "a.hsl", "p.hsl"])
        .dir(d)
        .assert_exit(2);
    assert!(!d.join("mixed.hsl").exists());
    fs::write(d.join("bad-delta.txt"), "+zz\n").unwrap();
    let o = update(d, "a.hsl", "bad-delta.txt", "new.hsl").assert_exit(2);
    let err = o.stderr();
    assert!(
        err.contains("bad-delta.txt") && err.contains("first at line 1:"),
        "{err}"
    );
    assert!(!d.join("new.hsl").exists());
}

#[test]
fn broken_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.hsl");
    let mut b = ListBuilder::new(HashKind::PHash);
    for i in 1..=50_000u64 {
        b.add(
            Hash64::from_u64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            EntryMeta::new("entry"),
        )
        .unwrap();
    }
    b.write(&path).unwrap();
    let mut child = cmd(["export", "--format", "jsonl"])
        .arg(&path)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

/// `update` and `merge` keep the index kind the input had; `--index` chooses another or none.
#[test]
fn update_and_merge_keep_the_embedded_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = data("needles-20.txt");
    let index_of = |list: &str| -> String {
        let info = cmd(["info", list]).dir(d).assert_ok().stdout();
        let line = info.lines().find(|l| l.starts_with("index\t")).unwrap();
        line["index\t".len()..].to_owned()
    };
    for kind in ["bktree", "mih"] {
        cmd(["build", "--index", kind, "-o", "base.hsl"])
            .arg(&input)
            .dir(d)
            .assert_ok();
        assert_eq!(index_of("base.hsl"), kind);
        fs::write(d.join("delta.txt"), format!("-{}\n", needles()[0])).unwrap();
        update(d, "base.hsl", "delta.txt", "next.hsl").assert_ok();
        assert_eq!(index_of("next.hsl"), kind, "update kept the index");
        cmd(["verify", "next.hsl"]).dir(d).assert_ok();
        cmd(["merge", "-o", "merged.hsl", "next.hsl", "base.hsl"])
            .dir(d)
            .assert_ok();
        assert_eq!(index_of("merged.hsl"), kind, "merge kept the index");
    }
    update(d, "base.hsl", "delta.txt", "plain.hsl")
        .args(["--index", "linear"])
        .assert_ok();
    assert_eq!(index_of("plain.hsl"), "none");
    cmd(["merge", "--index", "bktree", "-o", "m2.hsl", "plain.hsl"])
        .dir(d)
        .assert_ok();
    assert_eq!(index_of("m2.hsl"), "bktree");
}
