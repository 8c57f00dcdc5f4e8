//! End-to-end tests of `hashsieve match`: build a list with the real binary, then match images,
//! and hash text (`--hashes`, files and stdin) against it; exit codes 0 (matched), 1 (nothing), 2 (error).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::common::{cmd, data};

/// Hashes photo_003.png and photo_002.png with `hash`, builds a list from that TSV.
fn known_list(dir: &Path) -> (PathBuf, String) {
    let tsv = dir.join("known.tsv");
    let a = data("corpus/photo_003.png");
    let b = data("corpus/photo_002.png");
    let out = cmd(["hash"]).arg(&a).arg(&b).assert_ok();
    std::fs::write(&tsv, &out.stdout).unwrap();
    let list = dir.join("known.hsl");
    cmd(["build", "--name", "known", "-o"])
        .arg(&list)
        .arg(&tsv)
        .assert_ok();
    (
        list,
        String::from_utf8(std::fs::read(&tsv).unwrap()).unwrap(),
    )
}

fn rows(out: &Output) -> Vec<Vec<String>> {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header: Vec<&str> = header.split('\t').collect();
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
    let out = cmd(["match", "--list"])
        .arg(&list)
        .arg(&variants)
        .assert_exit(0);
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
    // A rotation is far away without --dihedral.
    cmd(["match", "-l"]).arg(&list).arg(&rotated).assert_exit(1);
    let out = cmd(["match", "-l"])
        .arg(&list)
        .arg("--dihedral")
        .arg(&rotated)
        .assert_exit(0);
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
            let out = cmd(["match", "-l"])
                .arg(&list)
                .args(["--dihedral", "--dihedral-mode", mode])
                .arg(&path)
                .assert_exit(0);
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
    cmd(["match", "-l"])
        .arg(&list)
        .args(["--dihedral-mode", "sideways", "x.png"])
        .assert_exit(2);
}

#[test]
fn hash_files_and_stdin_are_queries() {
    let dir = tempfile::tempdir().unwrap();
    let (list, tsv) = known_list(dir.path());
    // Our own TSV as a hash file: each row matches itself at distance 0, labelled by its path.
    let out = cmd(["match", "-l"])
        .arg(&list)
        .arg("--hashes")
        .arg(dir.path().join("known.tsv"))
        .assert_exit(0);
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
    let out = cmd(["match", "-l"])
        .arg(&list)
        .args(["--format", "json", "--hashes", "-"])
        .stdin(&input)
        .assert_exit(0);
    let objs: Vec<serde_json::Value> = out
        .stdout_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|o: &serde_json::Value| o.get("type").is_none())
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
    cmd(["match", "-l"]).arg(&list).arg(&other).assert_exit(1);
    // A malformed hash line: exit 2, the line number named, the text not echoed; an input
    // whose format cannot be told is an error too.
    for format in [&["--input-format", "hex"][..], &[]] {
        let out = cmd(["match", "-l"])
            .arg(&list)
            .args(["--hashes", "-"])
            .args(format)
            .stdin("0123456789abcdefXYZ\n")
            .assert_exit(2);
        let err = out.stderr();
        assert!(
            err.contains(if format.is_empty() { "format" } else { "-:1" }),
            "{err}"
        );
        assert!(!err.contains("0123456789abcdef"), "{err}");
    }
    // A missing list is an error before anything runs.
    cmd(["match", "-l"])
        .arg(dir.path().join("nope.hsl"))
        .arg(&other)
        .assert_exit(2);
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
        let out = cmd(["match", "-l"]).arg(&list).arg(input).assert_exit(2);
        let err = out.stderr();
        assert!(
            err.contains("upload.jpg") && err.contains("not an image"),
            "{err}"
        );
        assert!(!err.contains(hex), "{err}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().nth(1).is_none(), "no match row: {text}");
    }
}

/// Builds a list called `name` of `algo` hashes from `rows` (a CSV with a header).
fn build_csv(dir: &Path, name: &str, algo: &str, csv: &str) -> PathBuf {
    let src = dir.join(format!("{name}.csv"));
    std::fs::write(&src, csv).unwrap();
    let list = dir.join(format!("{name}.hsl"));
    cmd([
        "build",
        "--name",
        name,
        "--algo",
        algo,
        "--input-format",
        "csv",
        "-o",
    ])
    .arg(&list)
    .arg(&src)
    .assert_ok();
    list
}

/// The hash of `image` by `algo`, as hex.
fn hex_of(image: &Path, algo: &str) -> String {
    let out = cmd(["hash", "--algo", algo]).arg(image).assert_ok();
    out.stdout_lines()[1]
        .split('\t')
        .nth(2)
        .unwrap()
        .to_string()
}

/// Issue 11: `-t 10` with a PDQ and a pHash list set PDQ's threshold to 10 too, silently.
/// Thresholds are per algorithm (or per list); a bare one with several algorithms is an error
/// that shows the per-algorithm syntax.
#[test]
fn thresholds_are_per_algorithm_or_per_list() {
    let dir = tempfile::tempdir().unwrap();
    let photo = data("corpus/photo_003.png");
    let pdq = build_csv(
        dir.path(),
        "pdq-list",
        "pdq",
        &format!("hash,id\n{},a\n", hex_of(&photo, "pdq")),
    );
    let phash = build_csv(
        dir.path(),
        "phash-list",
        "phash",
        &format!("hash,id\n{},b\n", hex_of(&photo, "phash")),
    );
    let (p, h, q) = (
        pdq.to_str().unwrap(),
        phash.to_str().unwrap(),
        photo.to_str().unwrap(),
    );
    let thresholds = |extra: &[&str]| {
        let mut args = vec!["match", "-l", p, "-l", h];
        args.extend_from_slice(extra);
        args.push(q);
        let out = cmd(args).assert_exit(0);
        let mut got: Vec<(String, String)> = rows(&out)
            .into_iter()
            .map(|r| (r[1].clone(), r[5].clone()))
            .collect();
        got.sort();
        got
    };
    let pair = |a: &str, b: &str| {
        vec![
            ("pdq-list".to_string(), a.to_string()),
            ("phash-list".to_string(), b.to_string()),
        ]
    };
    assert_eq!(thresholds(&[]), pair("31", "10"), "the defaults");
    assert_eq!(
        thresholds(&["--threshold", "pdq=40,phash=6"]),
        pair("40", "6")
    );
    assert_eq!(
        thresholds(&["-t", "phash=7", "--list-threshold", "pdq-list=12"]),
        pair("12", "7")
    );
    // A bare threshold with two algorithms: refused, naming the per-algorithm form.
    let out = cmd(["match", "-l", p, "-l", h, "-t", "10", q]).assert_exit(2);
    let err = out.stderr();
    assert!(err.contains("pdq=31,phash=10"), "{err}");
    assert!(out.stdout.is_empty());
    // With one algorithm a bare threshold is fine.
    let out = cmd(["match", "-l", p, "-t", "10", q]).assert_exit(0);
    assert_eq!(rows(&out)[0][5], "10");
    // Each threshold must fit its algorithm, name a loaded algorithm or list.
    for (bad, says) in [
        (vec!["-t", "phash=65"], "exceeds the 64-bit"),
        (vec!["-t", "dhash=3"], "no dhash list is loaded"),
        (
            vec!["--list-threshold", "nope=3"],
            "no loaded list is named",
        ),
    ] {
        let mut args = vec!["match", "-l", p, "-l", h];
        args.extend_from_slice(&bad);
        args.push(q);
        let out = cmd(args).assert_exit(2);
        let err = out.stderr();
        assert!(err.contains(says), "{bad:?}: {err}");
    }
}

/// Issue 11: two lists of one name used to be a silent replacement (the first was never
/// searched); now an error naming both files.
#[test]
fn two_lists_of_one_name_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let photo = data("corpus/photo_003.png");
    let hex = hex_of(&photo, "pdq");
    let a = build_csv(dir.path(), "same", "pdq", &format!("hash,id\n{hex},a\n"));
    let b = dir.path().join("other.hsl");
    std::fs::copy(&a, &b).unwrap();
    for sub in ["match", "scan"] {
        let out = cmd([sub, "-l"])
            .arg(&a)
            .arg("-l")
            .arg(&b)
            .arg(&photo)
            .assert_exit(2);
        let err = out.stderr();
        assert!(
            err.contains("same name") && err.contains("other.hsl"),
            "{sub}: {err}"
        );
    }
}

/// pytx opinions: entries marked NEGATIVE_CLASS or DISPUTED are hidden by default (as `tx
/// match` hides them); `--show-hidden` shows them, `--category` reports only the categories
/// named (naming a hidden one shows it), `--exclude-category` leaves some out.
#[test]
fn hidden_categories_and_category_filters() {
    let dir = tempfile::tempdir().unwrap();
    let p3 = data("corpus/photo_003.png");
    let p2 = data("corpus/photo_002.png");
    let list = build_csv(
        dir.path(),
        "opinions",
        "pdq",
        &format!(
            "hash,id,categories\n{h3},pos,category:POSITIVE_CLASS\n{h3},neg,category:NEGATIVE_CLASS\n{h2},disp,category:DISPUTED tag:x\n",
            h3 = hex_of(&p3, "pdq"),
            h2 = hex_of(&p2, "pdq")
        ),
    );
    let matched = |extra: &[&str]| -> (Option<i32>, Vec<String>) {
        let mut args = vec!["match", "-l", list.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend([p3.to_str().unwrap(), p2.to_str().unwrap()]);
        let out = cmd(args).run();
        let mut ids: Vec<String> = rows(&out).into_iter().map(|r| r[2].clone()).collect();
        ids.sort();
        (out.status.code(), ids)
    };
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(matched(&[]), (Some(0), ids(&["pos"])));
    assert_eq!(
        matched(&["--show-hidden"]),
        (Some(0), ids(&["disp", "neg", "pos"]))
    );
    assert_eq!(
        matched(&["--category", "category:DISPUTED"]),
        (Some(0), ids(&["disp"]))
    );
    // Asking for another category of a disputed entry does not show it; naming its opinion does.
    assert_eq!(
        matched(&[
            "--category",
            "tag:x",
            "--category",
            "category:POSITIVE_CLASS"
        ]),
        (Some(0), ids(&["pos"]))
    );
    assert_eq!(
        matched(&["--category", "tag:x", "--category", "category:DISPUTED"]),
        (Some(0), ids(&["disp"]))
    );
    assert_eq!(
        matched(&["--exclude-category", "category:POSITIVE_CLASS"]),
        (Some(1), ids(&[]))
    );
    assert_eq!(matched(&["--category", "nocolon"]).0, Some(2));
    // scan applies the same filter: photo_002's only entry is disputed.
    let out = cmd(["scan", "-l"]).arg(&list).arg(&p2).assert_exit(1);
    let text = out.stdout();
    assert!(text.contains("\tno_match\t"), "{text}");
}

/// Issue 11: `match --hashes -` waited for the end of its input. Each record is now answered
/// as it arrives, so a service can keep the command running as a co-process: write a line,
/// read its answer, with stdin still open. (Each read waits at most 30 s, so a regression
/// fails rather than hangs.)
#[test]
fn hashes_on_stdin_are_answered_line_by_line() {
    use std::io::BufRead;
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let (list, tsv) = known_list(dir.path());
    let hex: Vec<String> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap().to_string())
        .collect();
    let mut child = cmd(["match", "-l"])
        .arg(&list)
        .args(["--unmatched", "--hashes", "-"])
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = |rx: &mpsc::Receiver<String>| {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("an answer while stdin is still open")
    };
    writeln!(stdin, "{},first", hex[0]).unwrap();
    stdin.flush().unwrap();
    assert!(next(&rx).starts_with("query\tlist\t"));
    let row = next(&rx);
    assert!(row.starts_with("first\tknown\t"), "{row}");
    // A hash that matches nothing gets its row too (--unmatched), named by its line.
    writeln!(stdin, "{}", "0".repeat(64)).unwrap();
    stdin.flush().unwrap();
    assert_eq!(next(&rx), "-:2\t\t\t\t\t\t\t\t\tpdq\t\t");
    // A bad line is reported and skipped; the next is answered.
    writeln!(stdin, "not a hash").unwrap();
    writeln!(stdin, "{},third", hex[1]).unwrap();
    stdin.flush().unwrap();
    assert!(next(&rx).starts_with("third\tknown\t"));
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert_eq!(status.code(), Some(2), "a bad line makes the run exit 2");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("-:3"), "{err}");
}

/// Hash text read with `--hashes`: a record's quality gates it as an image's does, its id
/// column names it (the C++ hasher's filename, our `path`), rows of algorithms no list holds and
/// pytx signals that are not image hashes are skipped and counted, never fatal.
#[test]
fn hash_text_records_are_gated_and_named_by_their_id() {
    let dir = tempfile::tempdir().unwrap();
    let (list, tsv) = known_list(dir.path());
    let hex: Vec<&str> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    let matched = |input: &str, extra: &[&str]| {
        let path = dir.path().join("input.txt");
        std::fs::write(&path, input).unwrap();
        let mut args = vec!["match", "-l", list.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend(["--hashes", path.to_str().unwrap()]);
        let out = cmd(args).run();
        let queries: Vec<String> = rows(&out).into_iter().map(|r| r[0].clone()).collect();
        (out.code(), queries, out.stderr())
    };
    // pdq-photo-hasher output: `hash,quality,filename`; quality 20 is under PDQ's gate of 50.
    let (code, queries, err) =
        matched(&format!("{},100,a.jpg\n{},20,b.jpg\n", hex[0], hex[1]), &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(queries, ["a.jpg"]);
    assert!(
        err.contains("b.jpg: skipped: quality 20 is below the minimum 50"),
        "{err}"
    );
    let (_, queries, _) = matched(
        &format!("{},100,a.jpg\n{},20,b.jpg\n", hex[0], hex[1]),
        &["--min-quality", "0"],
    );
    assert_eq!(queries, ["a.jpg", "b.jpg"]);
    // pytx `dataset -P -S` with other signal types first: skipped and counted.
    let (code, queries, err) = matched(
        &format!(
            "video_md5 d41d8cd98f00b204e9800998ecf8427e\ntrend_query {{\"a\": 1}}\npdq {}\n",
            hex[0]
        ),
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        queries,
        [format!("{}:3", dir.path().join("input.txt").display())]
    );
    assert!(err.contains("skipped rows: 2"), "{err}");
    // Our own multi-algorithm hash output: the PDQ rows, named by path.
    let photo = data("corpus/photo_003.png");
    let out = cmd(["hash", "--algo", "phash,pdq"]).arg(&photo).run();
    let (code, queries, err) = matched(&out.stdout(), &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(queries, [photo.display().to_string()]);
    assert!(
        err.contains("skipped rows: 1 (a hash of another algorithm)"),
        "{err}"
    );
    // Two formats at once: refused, naming both.
    let (code, _, err) = matched(&format!("{},100,a.jpg\npdq {}\n", hex[0], hex[1]), &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--input-format pytx-signals or --input-format pdq-hasher"),
        "{err}"
    );
}

/// `-` is one image on stdin; hash text there is "not an image", pointing to `--hashes -`.
#[test]
fn dash_reads_one_image_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let (list, tsv) = known_list(dir.path());
    let feed = |bytes: &[u8]| cmd(["match", "-l"]).arg(&list).arg("-").stdin(bytes).run();
    let out = feed(&std::fs::read(data("corpus/photo_003.png")).unwrap()).assert_exit(0);
    let got = rows(&out);
    assert_eq!((got[0][0].as_str(), got[0][3].as_str()), ("-", "0"));
    let hex = tsv.lines().nth(1).unwrap().split('\t').nth(2).unwrap();
    let out = feed(format!("{hex}\n").as_bytes()).assert_exit(2);
    let err = out.stderr();
    assert!(
        err.contains("not an image") && err.contains("--hashes -"),
        "{err}"
    );
    assert!(rows(&out).is_empty());
}
