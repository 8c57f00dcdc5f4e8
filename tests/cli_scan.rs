//! End-to-end tests of `hashsieve scan` (streaming rows, resume, report, broken files) and
//! `hashsieve demo`, on the bundled sample set in a temp dir.

use std::path::{Path, PathBuf};

use crate::common;

use common::cmd::Cmd;
use common::{cmd, data, hashsieve};

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
    let images = [data("corpus/photo_003.png")];
    let build = ["--name", "known", "--list-version", "7"];
    common::list_of_images(dir, "known", &[], &images, &build).0
}

/// `scan -l <list>… <options> -o <output> <input>`, to be run.
fn scan(lists: &[&Path], options: &[&str], output: &Path, input: &Path) -> Cmd {
    let mut run = cmd(["scan"]);
    for list in lists {
        run = run.arg("-l").arg(list);
    }
    run.args(options).arg("-o").arg(output).arg(input)
}

fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    common::tsv_rows(&text, &["path", "status", "algorithm", "hash"]).expect("a header line")
}

#[test]
fn scan_records_every_file_reports_errors_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let tree = case_tree(dir.path());
    let list = known_list(dir.path());
    let out_path = dir.path().join("results.tsv");
    let run = || {
        scan(
            &[&list],
            &["--exact", "none", "--dihedral"],
            &out_path,
            &tree,
        )
        .output()
    };
    let first = run();
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
        // The names are pinned by pdq_conformance::dihedral_names_round_trip.
        let names = hashsieve::algo::pdq::Dihedral::ALL.map(|d| d.name());
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
    let second = run();
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
    cmd([
        "scan",
        "-l",
        list.to_str().unwrap(),
        other.to_str().unwrap(),
    ])
    .assert_exit(1);
    let same = data("corpus/transformed/grayscale/photo_003.png");
    let out = cmd([
        "scan",
        "-l",
        list.to_str().unwrap(),
        "--format",
        "json",
        same.to_str().unwrap(),
    ])
    .assert_exit(0);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
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
    let exact = ["--dihedral", "--dihedral-mode", "exact"];
    scan(&[&list], &exact, &out_path, &mirrored).assert_exit(0);
    let rows = read_rows(&out_path);
    assert_eq!((rows[0][1].as_str(), rows[0][7].as_str()), ("match", "0"));
    assert_eq!(rows[0][8], "flipy");
    let report = std::fs::read_to_string(dir.path().join("exact.tsv.report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["dihedral_mode"], "exact");
}

#[test]
fn demo_runs_on_the_bundled_set() {
    let out = cmd(["demo"]).assert_ok();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
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

/// A tree of `files` (name, source under tests/data, or None for a text file).
fn tree_of(dir: &Path, name: &str, files: &[(&str, Option<&str>)]) -> PathBuf {
    let tree = dir.join(name);
    std::fs::create_dir_all(&tree).unwrap();
    for (file, src) in files {
        match src {
            Some(src) => {
                std::fs::copy(data(src), tree.join(file)).unwrap();
            }
            None => std::fs::write(tree.join(file), b"ffee0011 not an image\n").unwrap(),
        }
    }
    tree
}

fn report_of(output: &Path) -> serde_json::Value {
    let mut name = output.file_name().unwrap().to_os_string();
    name.push(".report.json");
    serde_json::from_str(&std::fs::read_to_string(output.with_file_name(name)).unwrap()).unwrap()
}

/// Issue 11: a resume with other lists, thresholds, options or format was accepted, and the
/// report then named only the new list. The output's header records the settings; a resume
/// with others is refused and leaves the output (and report) unchanged, as is an output
/// without a header (an older hashsieve's: its settings are unknown).
#[test]
fn a_resume_with_other_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let list = known_list(dir.path());
    let other = dir.path().join("other.hsl");
    cmd([
        "build",
        "--name",
        "known",
        "--list-version",
        "8",
        "-o",
        other.to_str().unwrap(),
        dir.path().join("known.tsv").to_str().unwrap(),
    ])
    .assert_ok();
    let tree = tree_of(
        dir.path(),
        "tree",
        &[("a.png", Some("corpus/photo_003.png"))],
    );
    let output = dir.path().join("out.tsv");
    let (l, o, t) = (
        list.to_str().unwrap(),
        output.to_str().unwrap(),
        tree.to_str().unwrap(),
    );
    cmd(["scan", "-l", l, "-o", o, t]).assert_exit(0);
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.starts_with("# hashsieve "), "{text}");
    assert!(text.contains("\n# settings: {"), "{text}");
    let report = std::fs::read(dir.path().join("out.tsv.report.json")).unwrap();
    // The same settings resume (nothing left to scan).
    cmd(["scan", "-l", l, "-o", o, t]).assert_exit(0);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), text);
    let report = {
        let now = std::fs::read(dir.path().join("out.tsv.report.json")).unwrap();
        assert_ne!(now, report, "the resume wrote its report");
        now
    };
    for (args, says) in [
        (vec!["-l", other.to_str().unwrap()], "lists"),
        (vec!["-l", l, "-t", "20"], "thresholds"),
        (vec!["-l", l, "--min-quality", "0"], "min quality"),
        (vec!["-l", l, "--show-hidden"], "categories"),
        (vec!["-l", l, "--dihedral"], "dihedral"),
        (vec!["-l", l, "--decode", "fast"], "decode"),
        (
            vec!["-l", l, "--format", "csv"],
            "not a `hashsieve scan --format csv` output",
        ),
    ] {
        let mut full = vec!["scan"];
        full.extend_from_slice(&args);
        full.extend(["-o", o, t]);
        let out = hashsieve(&full);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("cannot resume") && err.contains(says),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&output).unwrap(), text, "{args:?}");
        assert_eq!(
            std::fs::read(dir.path().join("out.tsv.report.json")).unwrap(),
            report,
            "{args:?}"
        );
    }
    // An output without the settings header: refused, unchanged.
    let old: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&output, &old).unwrap();
    let out = cmd(["scan", "-l", l, "-o", o, t]).assert_exit(2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no settings header"), "{err}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), old);
    // JSON lines: the header is a first object of type "header"; the same settings resume,
    // others are refused.
    let json = dir.path().join("out.json");
    let j = json.to_str().unwrap();
    cmd(["scan", "-l", l, "--format", "json", "-o", j, t]).assert_exit(0);
    let text = std::fs::read_to_string(&json).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["type"], "header");
    assert_eq!(header["settings"]["lists"][0]["name"], "known");
    assert_eq!(header["settings"]["thresholds"]["known"], 31);
    cmd(["scan", "-l", l, "--format", "json", "-o", j, t]).assert_exit(0);
    cmd(["scan", "-l", l, "-t", "3", "--format", "json", "-o", j, t]).assert_exit(2);
    assert_eq!(std::fs::read_to_string(&json).unwrap(), text);
}

/// Issue 11: report.json counted only the last run, and the exit code ignored what earlier
/// runs recorded. Counts now cover the whole output, and so does the exit code: an error row
/// of the first run makes the resumed run exit 2, a match of the first run makes it exit 0.
#[test]
fn a_resume_counts_and_exits_for_the_whole_output() {
    let dir = tempfile::tempdir().unwrap();
    let list = known_list(dir.path());
    let l = list.to_str().unwrap();
    for (first_files, want_first, want_total) in [
        // A non-image: an error row "not an image". The last file recorded (m.png) is scanned
        // again on resume (its rows may have been cut), the first is not.
        (
            vec![
                ("a-notes.jpg", None),
                ("m.png", Some("corpus/photo_008.png")),
            ],
            2,
            serde_json::json!({"matched": 0, "no_match": 2, "errors": 1}),
        ),
        (
            vec![
                ("a.png", Some("corpus/photo_003.png")),
                ("m.png", Some("corpus/photo_008.png")),
            ],
            0,
            serde_json::json!({"matched": 1, "no_match": 2, "errors": 0}),
        ),
    ] {
        let name = if want_first == 2 { "errors" } else { "matches" };
        let tree = tree_of(dir.path(), name, &first_files);
        let output = dir.path().join(format!("{name}.tsv"));
        let (o, t) = (output.to_str().unwrap(), tree.to_str().unwrap());
        // `--exact none`: the non-image is then an error row.
        let first = hashsieve(&["scan", "--exact", "none", "-l", l, "-o", o, t]);
        assert_eq!(first.status.code(), Some(want_first), "{name}");
        if want_first == 2 {
            let rows = read_rows(&output);
            assert_eq!(rows[0][1], "error");
            assert!(rows[0][9].contains("not an image"), "{:?}", rows[0]);
        }
        // More files arrive; the resumed run scans the new one and the last one recorded,
        // neither of which matches.
        std::fs::copy(data("corpus/photo_007.png"), tree.join("z-new.png")).unwrap();
        let second = hashsieve(&["scan", "--exact", "none", "-l", l, "-o", o, t]);
        assert_eq!(
            second.status.code(),
            Some(want_first),
            "{name}: the exit code speaks for the whole output"
        );
        let report = report_of(&output);
        assert_eq!(report["resumed"], true);
        assert_eq!(report["files"]["scanned"], 2, "{name}");
        assert_eq!(report["files"]["previously_done"], 1, "{name}");
        for key in ["matched", "no_match", "errors"] {
            assert_eq!(report["files"][key], want_total[key], "{name} {key}");
        }
        assert_eq!(report["files"]["this_run"]["no_match"], 2, "{name}");
        assert_eq!(
            report["files"]["this_run"]["matched"].as_u64().unwrap()
                + report["files"]["this_run"]["errors"].as_u64().unwrap(),
            0,
            "{name}: the first file was not scanned again"
        );
        assert_eq!(report["lists"][0]["name"], "known");
    }
}

/// A file's rows (one per algorithm, one per match) can be cut between two by an interruption;
/// the file must not then pass for done. A resume drops the last file's rows and scans it again,
/// so every file ends with all its rows, once.
#[test]
fn a_resume_rescans_a_file_whose_rows_were_cut() {
    let dir = tempfile::tempdir().unwrap();
    let list = known_list(dir.path());
    let (phash, _) = common::list_of_images(
        dir.path(),
        "phash",
        &["--algo", "phash"],
        &[data("corpus/photo_003.png")],
        &["--name", "known-phash", "--algo", "phash"],
    );
    let tree = tree_of(
        dir.path(),
        "tree",
        &[
            ("a.png", Some("corpus/photo_008.png")),
            ("b.png", Some("corpus/photo_003.png")),
        ],
    );
    let output = dir.path().join("out.tsv");
    let run = || scan(&[&list, &phash], &[], &output, &tree).assert_ok();
    run();
    let full = read_rows(&output);
    assert_eq!(full.len(), 4, "two files, two algorithms: {full:?}");
    // Cut the last row: b.png keeps its PDQ row and loses its pHash one.
    let text = std::fs::read_to_string(&output).unwrap();
    let cut: String = text
        .lines()
        .take(text.lines().count() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&output, cut).unwrap();
    run();
    let mut got = read_rows(&output);
    let mut want = full.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every file has all its rows, once");
}
