//! No output can destroy an input, special files are refused rather than waited on, every file
//! named on the command line is accounted for, temporary files never outlive their writer, and
//! new files get the usual permissions (issue 10, sections 2 and 5).
//!
//! Each test runs the real binary in a temporary directory. `HASHSIEVE_TEST_BIN` replaces the
//! binary under test (to show that a test fails on an older build).
#![cfg(unix)]

use crate::common;

use common::{cmd, stderr, Run};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Generous: a refusal takes milliseconds; only a process that blocks or hangs gets near it.
const WAIT: Duration = Duration::from_secs(30);

/// Runs the binary in `dir`, killed after [`WAIT`] so that a regression that blocks fails
/// instead of hanging the suite.
fn run_in(dir: &Path, args: &[&str]) -> Run {
    cmd(args).dir(dir).timeout(WAIT).run()
}

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
}

/// A synthetic gradient image, different for each `seed`.
fn png(path: &Path, seed: u32) {
    let img = image::RgbImage::from_fn(96, 80, |x, y| {
        let v = (x * (3 + seed) + y * (5 + 2 * seed) + (x * y * seed) / 7) % 256;
        image::Rgb([v as u8, (255 - v) as u8, ((x + seed * 40) % 256) as u8])
    });
    img.save(path).unwrap();
}

/// A list in `dir` holding the PDQ hash of `image` (hashed by the binary itself).
fn list_of(dir: &Path, image: &str, list: &str) {
    let out = run_in(dir, &["hash", image]).assert_exit(0);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let hex = text.lines().nth(1).unwrap().split('\t').nth(2).unwrap();
    std::fs::write(dir.join("hashes.txt"), format!("{hex},known\n")).unwrap();
    run_in(dir, &["build", "-o", list, "hashes.txt"]).assert_exit(0);
}

/// Every file of `dir` (not recursive) and its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn temp_files(dir: &Path) -> Vec<String> {
    common::file_names(dir)
        .into_iter()
        .filter(|n| n.contains("hashsieve-tmp") || n.ends_with(".tmp"))
        .collect()
}

/// The arguments of a command line written as one string (no quoting: no argument here has a
/// space).
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// Symbolic links `dir/name` to `target`, for each (target, name).
fn links(dir: &Path, links: &[(&str, &str)]) {
    for (target, name) in links {
        std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
    }
}

/// `dir/tree`, holding copies of `files` of `dir`.
fn tree_of(dir: &Path, files: &[&str]) {
    std::fs::create_dir(dir.join("tree")).unwrap();
    for f in files {
        std::fs::copy(dir.join(f), dir.join("tree").join(f)).unwrap();
    }
}

/// Checks that the scan output `file` in `dir` holds each of `rows`.
#[track_caller]
fn assert_rows(dir: &Path, file: &str, rows: &[&str]) {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    for row in rows {
        assert!(text.contains(row), "{row:?} is not in {file}:\n{text}");
    }
}

/// The first column of each line of the scan output `file` in `dir` (its header included, its
/// comments not).
fn scan_paths(dir: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

/// A scratch directory with `a.png`, `b.png`, `L.hsl` (a's hash) and `data.json`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    png(&dir.path().join("a.png"), 1);
    png(&dir.path().join("b.png"), 2);
    list_of(dir.path(), "a.png", "L.hsl");
    std::fs::write(dir.path().join("data.json"), "{\"not\": \"a scan\"}\n").unwrap();
    dir
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let dir = setup();
    let d = dir.path();
    links(d, &[("L.hsl", "link.hsl"), ("a.png", "link.png")]);
    let cases = [
        "export L.hsl -o L.hsl",
        "export L.hsl -o link.hsl",
        "export link.hsl -o ./L.hsl",
        "scan --list L.hsl -o L.hsl a.png",
        "scan --list link.hsl -o L.hsl b.png",
        "scan --list L.hsl -o a.png a.png",
        "scan --list L.hsl -o link.png a.png",
        "merge -o L.hsl L.hsl",
        "update --base L.hsl --delta hashes.txt -o link.hsl",
        "build -o hashes.txt hashes.txt",
        "eval robustness -q --transforms jpeg_q70 --markdown a.png a.png",
        "eval robustness -q --transforms jpeg_q70 --csv link.png a.png",
    ];
    let before = snapshot(d);
    for line in cases {
        let args = words(line);
        run_in(d, &args)
            .assert_exit(2)
            .assert_stderr_contains("is the input");
        assert_eq!(snapshot(d), before, "{args:?} changed a file");
        assert!(temp_files(d).is_empty());
    }
}

/// Runs the binary with standard output appended to `path` (`>> path`).
fn run_appending_to(dir: &Path, path: &Path, args: &[&str]) -> Output {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    cmd(args)
        .dir(dir)
        .command()
        .stdout(Stdio::from(file))
        .output()
        .unwrap()
}

#[test]
fn standard_output_onto_an_input_is_refused_and_inside_a_walk_is_skipped() {
    let dir = setup();
    let d = dir.path();
    let before = snapshot(d);
    for args in [
        &["export", "L.hsl"][..],
        &["info", "L.hsl"],
        &["match", "-l", "L.hsl", "a.png"],
    ] {
        let out = run_appending_to(d, &d.join("L.hsl"), args);
        assert_exit(&out, 2, &format!("{args:?} >> L.hsl"));
        assert!(
            stderr(&out).contains("standard output is the input"),
            "{}",
            stderr(&out)
        );
        assert_eq!(snapshot(d), before, "{args:?} changed a file");
    }
    // `hash tree > tree/hashes.tsv`: the output is not hashed as an input.
    tree_of(d, &["a.png"]);
    let out = run_appending_to(d, &d.join("tree/hashes.tsv"), &["hash", "tree"]);
    assert_exit(&out, 0, "hash tree >> tree/hashes.tsv");
    let text = std::fs::read_to_string(d.join("tree/hashes.tsv")).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn scan_resumes_only_into_a_scan_output_of_the_same_format() {
    let dir = setup();
    let d = dir.path();
    std::fs::copy(d.join("L.hsl"), d.join("copy.hsl")).unwrap();
    std::fs::copy(d.join("b.png"), d.join("copy.png")).unwrap();
    // Text files that are not scan outputs, each with a last line cut short.
    std::fs::write(d.join("partial.json"), "{\"a\": 1}\n{\"b\":").unwrap();
    std::fs::write(d.join("other.tsv"), "path\tsize\nx\t1\ny\t").unwrap();
    std::fs::write(d.join("path.csv"), "path\nx\ny").unwrap();
    run_in(d, &["scan", "--list", "L.hsl", "-o", "scan.tsv", "a.png"]).assert_exit(0);
    let before = snapshot(d);
    let cases: &[&[&str]] = &[
        &["-o", "copy.hsl"],
        &["-o", "copy.png"],
        &["-o", "data.json", "--format", "json"],
        &["-o", "partial.json", "--format", "json"],
        &["-o", "other.tsv"],
        &["-o", "path.csv", "--format", "csv"],
        // A scan output, but of another format.
        &["-o", "scan.tsv", "--format", "json"],
        &["-o", "scan.tsv", "--format", "csv"],
    ];
    for extra in cases {
        let mut args = vec!["scan", "--list", "L.hsl", "b.png"];
        args.extend_from_slice(extra);
        let out = run_in(d, &args).assert_exit(2);
        assert!(stderr(&out).contains("cannot resume"), "{}", stderr(&out));
        assert_eq!(snapshot(d), before, "{args:?} changed a file");
    }
    // A real scan output with a torn last line still resumes: the torn row is scanned again.
    let mut torn = std::fs::read(d.join("scan.tsv")).unwrap();
    torn.extend_from_slice(b"b.png\tno_ma");
    std::fs::write(d.join("scan.tsv"), &torn).unwrap();
    let out = run_in(
        d,
        &[
            "scan", "--list", "L.hsl", "-o", "scan.tsv", "a.png", "b.png",
        ],
    );
    // The exit code speaks for the whole output: a.png matched in the first run.
    assert_exit(
        &out,
        0,
        "resume: only b.png is scanned, and it does not match, but a.png did",
    );
    assert_eq!(scan_paths(d, "scan.tsv"), ["path", "a.png", "b.png"]);
}

#[test]
fn special_files_are_refused_as_lists_and_images_without_blocking() {
    let dir = setup();
    let d = dir.path();
    common::mkfifo(&d.join("fifo"));
    let cases = [
        "info fifo",
        "verify fifo",
        "export fifo",
        "match -l fifo a.png",
        "scan -l fifo a.png",
        "merge -o m.hsl fifo",
        "update --base fifo --delta hashes.txt -o u.hsl",
        "dedup hashes.txt -l fifo",
        "hash fifo",
        "match -l L.hsl fifo",
        "scan -l L.hsl fifo",
        "eval robustness -q --transforms jpeg_q70 a.png fifo",
    ];
    for line in cases {
        run_in(d, &words(line))
            .assert_exit(2)
            .assert_stderr_contains("named pipe");
    }
    assert!(!d.join("m.hsl").exists() && !d.join("u.hsl").exists());
    // A device (only /dev/null, which reading cannot harm) is refused the same way.
    for args in [&["info", "/dev/null"][..], &["hash", "/dev/null"]] {
        run_in(d, args)
            .assert_exit(2)
            .assert_stderr_contains("a character device");
    }
}

#[test]
fn a_fifo_in_a_walked_directory_is_an_error_and_the_rest_is_processed() {
    let dir = setup();
    let d = dir.path();
    tree_of(d, &["a.png"]);
    common::mkfifo(&d.join("tree/fifo"));
    let out = run_in(d, &["hash", "tree"])
        .assert_exit(2)
        .assert_stderr_contains("tree/fifo: is a FIFO (named pipe)")
        .assert_stderr_contains("1 special file");
    assert!(out.stdout().contains("tree/a.png"));

    let out = run_in(d, &["match", "-l", "L.hsl", "tree"]).assert_exit(2);
    assert!(out.stdout().contains("tree/a.png"));

    run_in(d, &["scan", "-l", "L.hsl", "-o", "s.tsv", "tree"]).assert_exit(2);
    assert_rows(d, "s.tsv", &["tree/fifo\terror\t", "tree/a.png\tmatch\t"]);
}

#[test]
fn every_file_named_on_the_command_line_gets_a_row_or_an_error() {
    let dir = setup();
    let d = dir.path();
    links(d, &[("a.png", "link.png"), ("missing.png", "dangling.png")]);
    std::fs::write(d.join("empty.png"), b"").unwrap();

    let text = run_in(d, &["hash", "a.png", "link.png"])
        .assert_exit(0)
        .stdout();
    let hashes: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(hashes.len(), 2, "{text}");
    assert_eq!(hashes[0], hashes[1], "the link is hashed as its target");

    run_in(d, &["hash", "dangling.png"])
        .assert_exit(2)
        .assert_stderr_contains("dangling.png");

    let out = run_in(d, &["match", "-l", "L.hsl", "link.png"]).assert_exit(0);
    assert!(out.stdout().contains("link.png\t"));

    run_in(d, &["match", "-l", "L.hsl", "empty.png"])
        .assert_exit(2)
        .assert_stderr_contains("empty.png");

    run_in(
        d,
        // `--exact none`: a file that is not an image is an error (with exact hashes it would
        // get them and a `no_image` row).
        &[
            "scan",
            "--exact",
            "none",
            "-l",
            "L.hsl",
            "-o",
            "s.tsv",
            "link.png",
            "dangling.png",
            "empty.png",
        ],
    )
    .assert_exit(2);
    assert_rows(
        d,
        "s.tsv",
        &[
            "link.png\tmatch\t",
            "dangling.png\terror\t",
            "empty.png\terror\t",
        ],
    );
}

#[test]
fn walks_follow_links_only_with_dash_l_and_count_what_they_skip() {
    let dir = setup();
    let d = dir.path();
    tree_of(d, &["b.png"]);
    links(d, &[("../a.png", "tree/link.png")]);

    let out = run_in(d, &["hash", "tree"])
        .assert_exit(0)
        .assert_stderr_contains("skipped 1 symbolic link");
    let text = out.stdout();
    assert!(
        text.contains("tree/b.png") && !text.contains("tree/link.png"),
        "{text}"
    );

    let out = run_in(d, &["hash", "-L", "tree"]).assert_exit(0);
    let text = out.stdout();
    assert!(
        text.contains("tree/b.png") && text.contains("tree/link.png"),
        "{text}"
    );
    assert!(!stderr(&out).contains("skipped"), "{}", stderr(&out));

    run_in(d, &["match", "-l", "L.hsl", "tree"])
        .assert_exit(1)
        .assert_stderr_contains("skipped 1 symbolic link");
    run_in(d, &["match", "--follow", "-l", "L.hsl", "tree"]).assert_exit(0);

    run_in(d, &["scan", "-l", "L.hsl", "-o", "s.tsv", "tree"])
        .assert_exit(1)
        .assert_stderr_contains("skipped 1 symbolic link");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("s.tsv.report.json")).unwrap()).unwrap();
    assert_eq!(report["files"]["not_scanned"]["symlinks"], 1, "{report}");
    run_in(d, &["scan", "-L", "-l", "L.hsl", "-o", "s2.tsv", "tree"]).assert_exit(0);
}

#[test]
fn a_scan_output_inside_the_scanned_tree_is_not_scanned() {
    let dir = setup();
    let d = dir.path();
    tree_of(d, &["a.png"]);
    run_in(d, &["scan", "-l", "L.hsl", "-o", "tree/out.tsv", "tree"]).assert_exit(0);
    // The second run resumes; neither its output nor the report is scanned as an image.
    std::fs::copy(d.join("b.png"), d.join("tree/b.png")).unwrap();
    let out = run_in(d, &["scan", "-l", "L.hsl", "-o", "tree/out.tsv", "tree"]);
    // b.png does not match, but a.png, recorded by the first run, did.
    assert_exit(&out, 0, "resumed scan");
    assert_eq!(
        scan_paths(d, "tree/out.tsv"),
        ["path", "tree/a.png", "tree/b.png"]
    );
    assert!(
        stderr(&out).contains("skipped 2 own outputs or temporary files"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn leftovers_of_killed_writers_are_removed_by_the_next_write_and_live_ones_kept() {
    let dir = setup();
    let d = dir.path();
    let dead = d.join(".L.hsl.hashsieve-tmp-999999-0123456789ab");
    let live = d.join(".L.hsl.hashsieve-tmp-999998-ba9876543210");
    let unknown = d.join(".L.hsl.tmp");
    // Earlier versions' temporary files (no lock): removed only once a day old.
    let legacy_old = d.join(".hashsieve-a1B2c3.tmp");
    let legacy_new = d.join(".hashsieve-d4E5f6.tmp");
    for p in [&dead, &live, &unknown, &legacy_old, &legacy_new] {
        std::fs::write(p, b"half a list").unwrap();
    }
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&legacy_old)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    // A live writer holds the lock on its temporary file.
    let held = std::fs::File::open(&live).unwrap();
    held.lock().unwrap();
    run_in(d, &["build", "-o", "new.hsl", "hashes.txt"]).assert_exit(0);
    assert!(
        !dead.exists(),
        "the dead writer's temporary file is removed"
    );
    assert!(live.exists(), "a locked temporary file is left alone");
    assert!(unknown.exists(), "a file we do not recognise is left alone");
    assert!(
        !legacy_old.exists(),
        "an old version's day-old temporary file is removed"
    );
    assert!(
        legacy_new.exists(),
        "an old version's recent temporary file may be live"
    );
    drop(held);
}

/// Starts `build -o big.hsl -` in `dir`, feeds it 200,000 lines and waits until its temporary
/// file appears. The build then waits for the rest of its input on the pipe we hold open.
fn blocked_build(dir: &Path) -> (std::process::Child, std::process::ChildStdin) {
    use std::io::Write;
    let (mut child, mut stdin) = cmd(["build", "-o", "big.hsl", "-"])
        .dir(dir)
        .spawn(Stdio::null(), Stdio::null());
    let mut text = String::new();
    for i in 0..200_000u64 {
        let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        text.push_str(&format!("{h:016x}{h:016x}{h:016x}{h:016x},id{i}\n"));
    }
    stdin.write_all(text.as_bytes()).unwrap();
    let start = Instant::now();
    while temp_files(dir).is_empty() {
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("no temporary file appeared");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, stdin)
}

/// Sends `signal` to `child` and waits (bounded) for it to end.
fn signal_and_wait(child: &mut std::process::Child, signal: &str) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("the build did not exit on SIG{signal}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_and_sigint_remove_the_temporary_file() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (mut child, stdin) = blocked_build(d);
        let status = signal_and_wait(&mut child, signal);
        drop(stdin);
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        assert!(
            temp_files(d).is_empty(),
            "SIG{signal} left {:?}",
            temp_files(d)
        );
        assert!(!d.join("big.hsl").exists());
    }
}

#[test]
fn a_build_killed_by_sigkill_leaves_the_old_list_and_a_temp_file_the_next_write_removes() {
    let dir = setup();
    let d = dir.path();
    std::fs::copy(d.join("L.hsl"), d.join("big.hsl")).unwrap();
    let old = std::fs::read(d.join("big.hsl")).unwrap();
    let (mut child, stdin) = blocked_build(d);
    let status = signal_and_wait(&mut child, "KILL");
    drop(stdin);
    assert_eq!(status.code(), None, "killed by the signal");
    assert_eq!(
        std::fs::read(d.join("big.hsl")).unwrap(),
        old,
        "the old list is whole"
    );
    let left = temp_files(d);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".big.hsl.hashsieve-tmp-"), "{left:?}");
    // A failed build (a malformed line) leaves no temporary file of its own, and removes the
    // dead writer's.
    std::fs::write(d.join("bad.txt"), "not hex\n").unwrap();
    run_in(d, &["build", "-o", "other.hsl", "bad.txt"]).assert_exit(2);
    assert!(temp_files(d).is_empty(), "{:?}", temp_files(d));
    assert!(!d.join("other.hsl").exists());
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs the binary under `umask 022` (set in a shell that then execs it).
fn under_umask_022(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(common::cmd::bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        stderr(&out)
    );
    out
}

#[test]
fn new_files_get_0666_masked_by_the_umask_and_replacements_keep_their_mode() {
    let dir = setup();
    let d = dir.path();
    under_umask_022(d, &["build", "-o", "new.hsl", "hashes.txt"]);
    under_umask_022(d, &["export", "new.hsl", "-o", "new.csv"]);
    under_umask_022(d, &["scan", "-l", "new.hsl", "-o", "s.tsv", "a.png"]);
    under_umask_022(
        d,
        &words("eval robustness -q --transforms jpeg_q70 --markdown r.md a.png b.png"),
    );
    for f in ["new.hsl", "new.csv", "s.tsv", "s.tsv.report.json", "r.md"] {
        assert_eq!(mode(&d.join(f)), 0o644, "{f}");
    }
    // Replacing keeps the old file's mode, and replaces by rename: a reader that has the old
    // file open still reads all of the old bytes.
    std::fs::set_permissions(d.join("new.hsl"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let old_bytes = std::fs::read(d.join("new.hsl")).unwrap();
    let mut old = std::fs::File::open(d.join("new.hsl")).unwrap();
    std::fs::write(
        d.join("more.txt"),
        "ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00,x\n",
    )
    .unwrap();
    under_umask_022(d, &["build", "-o", "new.hsl", "hashes.txt", "more.txt"]);
    assert_eq!(mode(&d.join("new.hsl")), 0o640);
    let mut seen = Vec::new();
    std::io::Read::read_to_end(&mut old, &mut seen).unwrap();
    assert_eq!(seen, old_bytes);
    assert_ne!(std::fs::read(d.join("new.hsl")).unwrap(), old_bytes);
}

#[test]
fn the_library_removes_its_live_temporary_files_on_request() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let mut f = hashsieve::fs::AtomicFile::create(&path).unwrap();
    f.write_all(b"x").unwrap();
    assert_eq!(temp_files(dir.path()).len(), 1);
    assert!(hashsieve::fs::remove_temp_files() >= 1);
    assert!(temp_files(dir.path()).is_empty());
    assert!(f.commit().is_err(), "an interrupted write does not land");
    assert!(!path.exists());
}
