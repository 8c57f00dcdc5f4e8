//! What the CLI writes: exact paths in every format (TSV escaping, CSV quoting, JSON bytes),
//! typed JSON with a summary record, a quiet end on a closed stdout, OS errors said once, and
//! `hash -` reading an image from stdin.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};

use common::{cmd, hashsieve_in as run_in};

/// A small synthetic PNG (photo-like, so PDQ's quality is high).
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_raw(w, h, common::crafted::photo_rgb(w, h)).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Undoes the TSV escaping the CLI documents: `\t`, `\n`, `\r`, `\\` and `\xNN`.
fn tsv_unescape(cell: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cell.len() {
        if cell[i] != b'\\' {
            out.push(cell[i]);
            i += 1;
            continue;
        }
        match cell[i + 1] {
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = std::str::from_utf8(&cell[i + 2..i + 4]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            other => panic!("unknown escape \\{}", other as char),
        }
        i += 2;
    }
    out
}

/// The lines of a TSV output, each split at tabs (no field may hold a raw tab or newline).
fn tsv_cells(stdout: &[u8]) -> Vec<Vec<Vec<u8>>> {
    stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.split(|&b| b == b'\t').map(<[u8]>::to_vec).collect())
        .collect()
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A JSON path value as bytes: a string, or `{"bytes": base64}` for a non-UTF-8 one.
fn json_path(v: &serde_json::Value) -> Vec<u8> {
    use base64::Engine;
    match v {
        serde_json::Value::String(s) => s.as_bytes().to_vec(),
        serde_json::Value::Object(o) => base64::engine::general_purpose::STANDARD
            .decode(o["bytes"].as_str().unwrap())
            .unwrap(),
        other => panic!("not a path: {other}"),
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_file_names_stay_distinct_and_exact() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let names: [&[u8]; 2] = [b"x\xff.png", b"x\xfe.png"];
    let img = png(64, 48);
    std::fs::create_dir(dir.path().join("d")).unwrap();
    for n in names {
        std::fs::write(dir.path().join("d").join(OsStr::from_bytes(n)), &img).unwrap();
    }
    let mut want: Vec<Vec<u8>> = names.iter().map(|n| [b"d/", *n].concat()).collect();
    want.sort();
    for format in ["tsv", "csv", "json"] {
        let out = cmd(["hash", "--format", format, "d"])
            .dir(dir.path())
            .assert_exit(0);
        let mut paths: Vec<Vec<u8>> = match format {
            "tsv" => tsv_cells(&out.stdout)[1..]
                .iter()
                .map(|r| {
                    assert_eq!(r.len(), 5, "{format}: one row, five fields (with the size)");
                    tsv_unescape(&r[0])
                })
                .collect(),
            "csv" => csv::ReaderBuilder::new()
                .from_reader(&out.stdout[..])
                .byte_records()
                .map(|r| r.unwrap()[0].to_vec())
                .collect(),
            _ => json_lines(&out.stdout)
                .iter()
                .filter(|o| o.get("type").is_none())
                .map(|o| json_path(&o["path"]))
                .collect(),
        };
        paths.sort();
        assert_eq!(paths, want, "{format}: the paths, byte for byte");
    }
}

#[cfg(unix)]
#[test]
fn tsv_escapes_tab_newline_cr_and_backslash() {
    let dir = tempfile::tempdir().unwrap();
    let name = "a\tb\nc\rd\\e \"q\".png";
    std::fs::write(dir.path().join(name), png(64, 48)).unwrap();
    let out = cmd(["hash", name]).dir(dir.path()).assert_exit(0);
    let text = std::str::from_utf8(&out.stdout).unwrap();
    // One header line and one row: no raw tab or newline inside a field, no CSV quoting.
    assert_eq!(text.lines().count(), 2, "{text:?}");
    let rows = tsv_cells(&out.stdout);
    assert_eq!(rows[1].len(), 5, "{text:?}");
    assert_eq!(
        std::str::from_utf8(&rows[1][0]).unwrap(),
        "a\\tb\\nc\\rd\\\\e \"q\".png"
    );
    assert_eq!(tsv_unescape(&rows[1][0]), name.as_bytes());
    // CSV keeps the bytes and quotes as CSV does.
    let out = run_in(dir.path(), &["hash", "--format", "csv", name]);
    let rec = csv::ReaderBuilder::new()
        .from_reader(&out.stdout[..])
        .byte_records()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(&rec[0], name.as_bytes());
}

#[test]
fn json_has_types_and_ends_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.png"), png(64, 48)).unwrap();
    std::fs::write(dir.path().join("b.png"), png(80, 60)).unwrap();
    std::fs::write(dir.path().join("c.png"), b"not an image").unwrap();
    let out = run_in(
        dir.path(),
        &[
            "hash",
            "--format",
            "json",
            "--algo",
            "pdq,dhash",
            "a.png",
            "b.png",
            "c.png",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "c.png fails");
    let objs = json_lines(&out.stdout);
    let (summary, rows) = objs.split_last().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows {
        assert!(r.get("type").is_none(), "rows are plain objects: {r}");
        assert!(r["path"].is_string() && r["hash"].is_string());
    }
    assert!(rows[0]["quality"].is_u64(), "PDQ's quality is a number");
    assert!(rows[1]["quality"].is_u64(), "dHash's quality is a number");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["hashed"], 2);
    assert_eq!(summary["errors"], 1);
    assert_eq!(summary["rows"], 4);
}

/// Writes a photo-like `a.png` into `d`, hashes it with `hash`, and builds the PDQ list
/// `l.hsl` from `rows(hex)` written to `input`; returns the hex.
fn a_png_and_list(d: &Path, input: &str, rows: impl Fn(&str) -> String) -> String {
    std::fs::write(d.join("a.png"), png(64, 48)).unwrap();
    let out = cmd(["hash", "a.png"]).dir(d).assert_ok();
    let hex = String::from_utf8(tsv_cells(&out.stdout)[1][2].clone()).unwrap();
    std::fs::write(d.join(input), rows(&hex)).unwrap();
    cmd(["build", input, "-o", "l.hsl", "--algo", "pdq"])
        .dir(d)
        .assert_ok();
    hex
}

#[test]
fn match_and_dedup_json_types() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hex = a_png_and_list(d, "in.csv", |hex| {
        format!("hash,id,quality,categories\n{hex},known,100,ncmec:A1 tag:x\n")
    });
    let out = cmd(["match", "-l", "l.hsl", "--format", "json", "a.png"])
        .dir(d)
        .assert_exit(0);
    let objs = json_lines(&out.stdout);
    let row = &objs[0];
    assert_eq!(row["categories"], serde_json::json!(["ncmec:A1", "tag:x"]));
    assert!(row["distance"].is_u64());

    // dedup: `representative` is a boolean.
    std::fs::write(d.join("h.txt"), format!("{hex},one\n{hex},two\n")).unwrap();
    let out = cmd(["dedup", "h.txt", "--format", "json"])
        .dir(d)
        .assert_exit(0);
    let objs = json_lines(&out.stdout);
    let rows: Vec<_> = objs.iter().filter(|o| o.get("type").is_none()).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|o| o["representative"].is_boolean()));
    assert_eq!(
        rows.iter()
            .filter(|o| o["representative"] == serde_json::Value::Bool(true))
            .count(),
        1
    );
}

/// Reads one line of `args`'s output, closes the pipe and waits: the command must end quietly.
fn closed_early(dir: &Path, args: &[&str]) -> Output {
    let mut child = common::cmd(args)
        .dir(dir)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    // The reader (and the pipe's read end) is dropped here.
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let img = png(16, 16);
    std::fs::create_dir(dir.path().join("imgs")).unwrap();
    // Far more output than a pipe buffers (about 400 kB), so the writer meets the closed pipe.
    for i in 0..200 {
        std::fs::write(dir.path().join(format!("imgs/{i:03}.png")), &img).unwrap();
    }
    for format in ["tsv", "csv", "json"] {
        let out = closed_early(
            dir.path(),
            &[
                "hash",
                "--format",
                format,
                "--algo",
                "pdq,phash,dhash,ahash,whash",
                "--dihedral",
                "imgs",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
    // `demo` prints its first line before it hashes the rest, so the pipe is closed by then.
    let out = closed_early(dir.path(), &["demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "demo: {stderr}");
    assert!(stderr.is_empty(), "demo: {stderr}");
    // The same for export.
    let mut text = String::from("hash,id\n");
    for i in 0..20_000u32 {
        text.push_str(&format!(
            "{:064x},id{i}\n",
            u128::from(i) * 0x9e37_79b9_7f4a_7c15 + 1
        ));
    }
    std::fs::write(dir.path().join("in.csv"), text).unwrap();
    build_list(dir.path());
    for format in ["hex", "csv", "jsonl"] {
        let out = closed_early(dir.path(), &["export", "--format", format, "l.hsl"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "export {format}: {stderr}");
        assert!(stderr.is_empty(), "export {format}: {stderr}");
    }
}

#[test]
fn os_errors_are_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hex = a_png_and_list(d, "in.txt", |hex| format!("{hex}\n"));
    std::fs::write(d.join("delta.txt"), format!("+{hex},other\n")).unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["merge", "-o", "no/such/dir/m.hsl", "l.hsl"], "m.hsl"),
        (
            &[
                "update",
                "--base",
                "l.hsl",
                "--delta",
                "delta.txt",
                "-o",
                "no/such/dir/u.hsl",
            ],
            "u.hsl",
        ),
        (
            &["scan", "-l", "l.hsl", "-o", "no/such/dir/s.tsv", "a.png"],
            "s.tsv",
        ),
        (&["hash", "missing.png"], "missing.png"),
        (&["match", "-l", "missing.hsl", "a.png"], "missing.hsl"),
        (&["export", "missing.hsl"], "missing.hsl"),
        (
            &[
                "build",
                "in.txt",
                "-o",
                "no/such/dir/out.hsl",
                "--algo",
                "pdq",
            ],
            "out.hsl",
        ),
        (&["export", "l.hsl", "-o", "no/such/dir/out.csv"], "out.csv"),
        (
            &["build", "missing.txt", "-o", "x.hsl", "--algo", "pdq"],
            "missing.txt",
        ),
    ];
    for (args, path) in cases {
        let out = run_in(d, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.matches(path).count(), 1, "{args:?}: {stderr}");
        assert_eq!(
            stderr.matches("(os error 2)").count(),
            1,
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn hash_reads_one_image_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let img = png(96, 64);
    std::fs::write(dir.path().join("a.png"), &img).unwrap();
    let by_path = cmd(["hash", "--algo", "pdq,phash", "a.png"])
        .dir(dir.path())
        .assert_exit(0);
    let out = common::hashsieve_stdin(None, &["hash", "--algo", "pdq,phash", "-"], &img);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = tsv_cells(&by_path.stdout);
    let got = tsv_cells(&out.stdout);
    assert_eq!(got.len(), 3);
    for (g, w) in got[1..].iter().zip(&want[1..]) {
        assert_eq!(g[0], b"-");
        assert_eq!(g[1..], w[1..], "same hashes as the file");
    }
    // Not an image on stdin: an error row on stderr, exit 2, nothing on stdout but the header.
    let out = common::hashsieve_stdin(None, &["hash", "-"], b"hello");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(tsv_cells(&out.stdout).len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("-: ") && stderr.contains("unrecognised image format"),
        "{stderr}"
    );
}

#[test]
fn hash_stdin_given_twice_is_an_error() {
    let out = cmd(["hash", "-", "-"]).assert_exit(2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("standard input"), "{stderr}");
}

#[test]
fn export_options_for_the_other_tools() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22";
    let b = "b0a10efd71cc3f429413d48d0ffffe12e34e0e17ada952a9d29684210aa9e5af";
    std::fs::write(
        d.join("in.csv"),
        format!("hash,id,quality\n{a},one.jpg,90\n{a},two.jpg,80\n{b},three.jpg,\n"),
    )
    .unwrap();
    build_list(d);
    // hex: unique hashes; --with-ids: `hash,id` per entry.
    let out = run_in(d, &["export", "--format", "hex", "l.hsl"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
    let out = run_in(d, &["export", "--format", "hex", "--with-ids", "l.hsl"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("{a},one.jpg\n")) && text.contains(&format!("{b},three.jpg\n")));
    assert_eq!(text.lines().count(), 3);
    // pdq-hasher: an entry without quality needs --missing-quality; nothing is written without.
    let out = cmd(["export", "--format", "pdq-hasher", "l.hsl"])
        .dir(d)
        .assert_exit(2);
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--missing-quality") && !stderr.contains(b),
        "{stderr}"
    );
    let out = run_in(
        d,
        &[
            "export",
            "--format",
            "pdq-hasher",
            "--missing-quality",
            "0",
            "l.hsl",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("{a},90,one.jpg\n")) && text.contains(&format!("{b},0,three.jpg\n"))
    );
    // pytx-csv.
    let out = cmd(["export", "--format", "pytx-csv", "l.hsl"])
        .dir(d)
        .assert_exit(0);
    assert!(out
        .stdout
        .starts_with(b"signal_type,signal_str,collab,category,tags\r\n"));
    // Options for another format are refused, not ignored.
    cmd(["export", "--format", "csv", "--with-ids", "l.hsl"])
        .dir(d)
        .assert_exit(2);
    let out = run_in(
        d,
        &[
            "export",
            "--format",
            "hex",
            "--missing-quality",
            "0",
            "l.hsl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// `scan --resume` reads back the escaped TSV it wrote: files with a tab, a quote or a
/// backslash in their names are done once, not scanned again.
#[cfg(unix)]
#[test]
fn scan_resumes_over_escaped_tsv_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("imgs")).unwrap();
    let img = png(64, 48);
    for name in [
        "\"quoted\".png",
        "tab\there.png",
        "back\\slash.png",
        "plain.png",
    ] {
        std::fs::write(d.join("imgs").join(name), &img).unwrap();
    }
    let out = run_in(d, &["hash", "imgs/plain.png"]);
    let hex = String::from_utf8(tsv_cells(&out.stdout)[1][2].clone()).unwrap();
    std::fs::write(d.join("in.txt"), format!("{hex}\n")).unwrap();
    cmd(["build", "in.txt", "-o", "l.hsl", "--algo", "pdq"])
        .dir(d)
        .assert_exit(0);
    cmd(["scan", "-l", "l.hsl", "-o", "s.tsv", "imgs"])
        .dir(d)
        .assert_ok();
    let before = std::fs::read(d.join("s.tsv")).unwrap();
    assert_eq!(
        column("tsv", &before, "path").len(),
        4,
        "4 rows after the settings and column headers"
    );
    let again = run_in(d, &["scan", "-l", "l.hsl", "-o", "s.tsv", "imgs"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_ne!(again.status.code(), Some(2), "{stderr}");
    // The last file recorded is scanned again (an interruption may have cut its rows).
    assert!(
        stderr.contains("scanned 1 files (3 already done)"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(d.join("s.tsv")).unwrap(),
        before,
        "nothing scanned twice"
    );
}

/// The cells of column `name` in a `match`, `scan` or `dedup` output of `format`, as bytes
/// (TSV unescaped, CSV as written, JSON strings or `{"bytes": base64}`): `#` comment lines and
/// typed JSON records (a scan's header, the summary) are not rows.
fn column(format: &str, stdout: &[u8], name: &str) -> Vec<Vec<u8>> {
    match format {
        "tsv" => {
            let rows: Vec<Vec<Vec<u8>>> = tsv_cells(stdout)
                .into_iter()
                .filter(|r| !r[0].starts_with(b"#"))
                .collect();
            let at = rows[0].iter().position(|h| h == name.as_bytes()).unwrap();
            rows[1..]
                .iter()
                .map(|r| {
                    assert_eq!(r.len(), rows[0].len(), "one line, one row");
                    tsv_unescape(&r[at])
                })
                .collect()
        }
        "csv" => {
            let mut rd = csv::ReaderBuilder::new()
                .comment(Some(b'#'))
                .from_reader(stdout);
            let at = rd
                .byte_headers()
                .unwrap()
                .iter()
                .position(|h| h == name.as_bytes())
                .unwrap();
            rd.byte_records().map(|r| r.unwrap()[at].to_vec()).collect()
        }
        _ => json_lines(stdout)
            .iter()
            .filter(|o| o.get("type").is_none())
            .map(|o| json_path(&o[name]))
            .collect(),
    }
}

/// A directory `d` with two copies of one image whose names differ only in a byte that is
/// not UTF-8, and a list `l.hsl` holding that image's PDQ hash. Returns the two paths' bytes.
#[cfg(unix)]
fn two_non_utf8_names(d: &Path) -> Vec<Vec<u8>> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let img = png(64, 48);
    std::fs::write(d.join("one.png"), &img).unwrap();
    let out = run_in(d, &["hash", "one.png"]);
    let hex = String::from_utf8(tsv_cells(&out.stdout)[1][2].clone()).unwrap();
    std::fs::remove_file(d.join("one.png")).unwrap();
    std::fs::write(d.join("in.txt"), format!("{hex},known\n")).unwrap();
    cmd(["build", "in.txt", "-o", "l.hsl", "--algo", "pdq"])
        .dir(d)
        .assert_exit(0);
    std::fs::create_dir(d.join("d")).unwrap();
    let names: [&[u8]; 2] = [b"x\xff.png", b"x\xfe.png"];
    for n in names {
        std::fs::write(d.join("d").join(OsStr::from_bytes(n)), &img).unwrap();
    }
    let mut want: Vec<Vec<u8>> = names.iter().map(|n| [b"d/", *n].concat()).collect();
    want.sort();
    want
}

/// `match` and `scan` write a query's (a file's) path exactly in every format: two names that
/// differ only in a byte that is not UTF-8 stay two (they printed as one `x\u{fffd}.png`).
#[cfg(unix)]
#[test]
fn match_and_scan_write_non_utf8_paths_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let want = two_non_utf8_names(d);
    for format in ["tsv", "csv", "json"] {
        let out = cmd(["match", "-l", "l.hsl", "--format", format, "d"])
            .dir(d)
            .assert_exit(0);
        let mut paths = column(format, &out.stdout, "query");
        paths.sort();
        assert_eq!(paths, want, "match {format}: the paths, byte for byte");

        let out = cmd(["scan", "-l", "l.hsl", "--format", format, "d"])
            .dir(d)
            .assert_exit(0);
        let mut paths = column(format, &out.stdout, "path");
        paths.sort();
        assert_eq!(paths, want, "scan {format}: the paths, byte for byte");
    }
}

/// A resumed scan knows done files by their exact bytes: with names that differ only in a byte
/// that is not UTF-8, it scans nothing twice and misses nothing, in every format.
#[cfg(unix)]
#[test]
fn scan_resume_knows_files_by_their_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    for format in ["tsv", "csv", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut want = two_non_utf8_names(d);
        let out_name = format!("s.{format}");
        let scan = [
            "scan", "-l", "l.hsl", "--format", format, "-o", &out_name, "d",
        ];
        let first = run_in(d, &scan);
        assert_eq!(
            first.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&first.stderr)
        );
        // A third name, new to the resumed run.
        std::fs::write(
            d.join("d").join(OsStr::from_bytes(b"x\xfd.png")),
            png(64, 48),
        )
        .unwrap();
        want.push(b"d/x\xfd.png".to_vec());
        want.sort();
        let again = run_in(d, &scan);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert_eq!(again.status.code(), Some(0), "{format}: {stderr}");
        // The last file recorded is scanned again (its rows may have been cut), and the new one.
        assert!(
            stderr.contains("scanned 2 files (1 already done)"),
            "{format}: {stderr}"
        );
        let mut paths = column(format, &std::fs::read(d.join(&out_name)).unwrap(), "path");
        paths.sort();
        assert_eq!(paths, want, "{format}: each file once, byte for byte");
    }
}

/// The last record of a JSON output, which must be its only summary record.
fn only_summary(objs: &[serde_json::Value]) -> (&serde_json::Value, Vec<&serde_json::Value>) {
    let (summary, rest) = objs.split_last().expect("some output");
    assert_eq!(summary["type"], "summary", "ends with a summary: {summary}");
    assert!(
        rest.iter()
            .all(|o| o.get("type") != Some(&"summary".into())),
        "one summary only"
    );
    let rows = rest.iter().filter(|o| o.get("type").is_none()).collect();
    (summary, rows)
}

/// `match` JSON ends with one summary record whose counts agree with the rows.
#[test]
fn match_json_ends_with_a_summary_of_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hex = a_png_and_list(d, "in.txt", |hex| format!("{hex},one\n{hex},two\n"));
    std::fs::write(d.join("b.png"), png(97, 211)).unwrap();
    std::fs::write(d.join("c.png"), b"not an image").unwrap();
    let out = run_in(
        d,
        &[
            "match", "-l", "l.hsl", "--format", "json", "a.png", "b.png", "c.png",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "c.png fails");
    let objs = json_lines(&out.stdout);
    let (summary, rows) = only_summary(&objs);
    let matched: std::collections::BTreeSet<_> =
        rows.iter().map(|r| r["query"].to_string()).collect();
    assert_eq!(summary["rows"], rows.len() as u64);
    assert_eq!(summary["matched"], matched.len() as u64);
    assert_eq!(
        (summary["rows"].as_u64(), summary["matched"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(summary["queries"], 2, "a.png and b.png");
    assert_eq!(summary["no_match"], 1, "b.png");
    assert_eq!(summary["errors"], 1, "c.png");

    // Hash text too, with --unmatched: every query gets a row.
    std::fs::write(
        d.join("q.txt"),
        format!("{hex},q1\n{:064x},q2\nnot hex\n", 1),
    )
    .unwrap();
    let out = run_in(
        d,
        &[
            "match",
            "-l",
            "l.hsl",
            "--format",
            "json",
            "--min-quality",
            "0",
            "--unmatched",
            "--hashes",
            "q.txt",
        ],
    );
    let objs = json_lines(&out.stdout);
    let (summary, rows) = only_summary(&objs);
    assert_eq!(summary["rows"], rows.len() as u64);
    assert_eq!(rows.len(), 3, "q1 twice, q2 once");
    assert_eq!(summary["queries"], 2);
    assert_eq!(summary["matched"], 1);
    assert_eq!(summary["errors"], 1, "the malformed line");
}

/// `scan` JSON ends with one summary record of the whole output whose counts agree with its
/// rows, also after resumes: the first over an empty directory (a summary and no rows), the
/// next with files added.
#[test]
fn scan_json_ends_with_one_summary_across_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    a_png_and_list(d, "in.txt", |hex| format!("{hex},one\n"));
    std::fs::create_dir(d.join("imgs")).unwrap();
    // `--exact none`: a file that is not an image is then an error (with exact hashes it is
    // matched by them instead).
    let scan = [
        "scan", "-l", "l.hsl", "--exact", "none", "--format", "json", "-o", "s.json", "imgs",
    ];
    let check = |files: u64, matched: u64, errors: u64| {
        let objs = json_lines(&std::fs::read(d.join("s.json")).unwrap());
        assert_eq!(objs[0]["type"], "header");
        let (summary, rows) = only_summary(&objs);
        let paths: std::collections::BTreeSet<_> =
            rows.iter().map(|r| r["path"].to_string()).collect();
        assert_eq!(
            paths.len() as u64,
            files,
            "each file recorded once: {objs:?}"
        );
        assert_eq!(summary["rows"], rows.len() as u64);
        assert_eq!(summary["files"], files);
        assert_eq!(summary["matched"], matched);
        assert_eq!(summary["errors"], errors);
        let count = |status: &str| {
            let mut p: Vec<_> = rows
                .iter()
                .filter(|r| r["status"] == status)
                .map(|r| &r["path"])
                .collect();
            p.dedup();
            p.len() as u64
        };
        assert_eq!(summary["matched"], count("match"));
        assert_eq!(summary["errors"], count("error"));
    };
    let out = run_in(d, &scan);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(0, 0, 0);
    std::fs::copy(d.join("a.png"), d.join("imgs/a.png")).unwrap();
    std::fs::write(d.join("imgs/b.png"), png(97, 211)).unwrap();
    cmd(scan).dir(d).assert_ok();
    check(2, 1, 0);
    std::fs::write(d.join("imgs/c.png"), b"not an image").unwrap();
    std::fs::write(d.join("imgs/d.png"), png(50, 70)).unwrap();
    let out = run_in(d, &scan);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(4, 1, 1);
    // Once more with nothing new: the same rows, one summary.
    let out = run_in(d, &scan);
    assert_eq!(out.status.code(), Some(2));
    check(4, 1, 1);
}

/// `dedup` writes ids that came from paths exactly (tab, newline, backslash, bytes that are not
/// UTF-8), as `hash` wrote them, and its JSON ends with one summary record that agrees with the
/// rows.
#[cfg(unix)]
#[test]
fn dedup_writes_path_ids_exactly_and_ends_json_with_a_summary() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("d")).unwrap();
    let img = png(64, 48);
    // (Not a UTF-8 name holding a literal `\xff`: the record reader gives it the id of the
    // byte 0xff, so no writer can tell the two apart.)
    let names: [&[u8]; 3] = [b"x\xff.png", b"x\xfe.png", b"t\tn\nb\\s.png"];
    for n in names {
        std::fs::write(d.join("d").join(OsStr::from_bytes(n)), &img).unwrap();
    }
    let mut want: Vec<Vec<u8>> = names.iter().map(|n| [b"d/", *n].concat()).collect();
    want.sort();
    // (Not `hash --format csv`: the record reader refuses a CSV cell that is not UTF-8.)
    for input in ["tsv", "json"] {
        let out = cmd(["hash", "--format", input, "d"]).dir(d).assert_exit(0);
        let file = format!("h.{input}");
        std::fs::write(d.join(&file), &out.stdout).unwrap();
        for format in ["tsv", "csv", "json"] {
            let out = cmd(["dedup", &file, "--format", format])
                .dir(d)
                .assert_exit(0);
            let mut ids = column(format, &out.stdout, "id");
            ids.sort();
            assert_eq!(ids, want, "{input} -> {format}: the ids, byte for byte");
            if format == "json" {
                let objs = json_lines(&out.stdout);
                let (summary, rows) = only_summary(&objs);
                assert_eq!(summary["rows"], rows.len() as u64);
                assert_eq!(summary["clusters"], 1);
                assert_eq!(summary["hashes"], 3);
            }
        }
    }
}

/// Builds `l.hsl` (PDQ, every row kept whatever its quality) from `in.csv` in `dir`.
fn build_list(dir: &Path) {
    cmd([
        "build",
        "in.csv",
        "-o",
        "l.hsl",
        "--algo",
        "pdq",
        "--min-quality",
        "0",
    ])
    .dir(dir)
    .assert_ok();
}
