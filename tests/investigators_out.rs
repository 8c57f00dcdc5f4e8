//! What `scan` writes for investigators: `--vics OUT.json` (read back with our importer and
//! checked against the documented shape) and `--report case.html` + `case.json` (facts,
//! self-contained HTML, hashes hidden unless asked, reproducible).

use std::path::{Path, PathBuf};

use hashsieve::list::records::{MediaItem, MediaReader, VICS_METADATA};

use crate::common::{cmd, data, hashsieve};

/// A tree of benign images and non-image files: `sub/match.png` (the list's photo), its copy
/// under a name that is not UTF-8 (on Unix), an unrelated photo, a text file and a truncated PNG.
fn evidence(dir: &Path) -> PathBuf {
    let tree = dir.join("evidence");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::copy(data("corpus/photo_003.png"), tree.join("sub/match.png")).unwrap();
    std::fs::copy(data("corpus/photo_007.png"), tree.join("other.png")).unwrap();
    std::fs::write(tree.join("notes.txt"), b"benign text, not an image").unwrap();
    let png = std::fs::read(data("corpus/photo_002.png")).unwrap();
    std::fs::write(tree.join("sub/truncated.png"), &png[..png.len() / 3]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"odd\xff.png");
        std::fs::copy(data("corpus/photo_003.png"), tree.join(odd)).unwrap();
    }
    tree
}

/// A PDQ list of photo_003 whose entry has the VICS category 1 and the distributed flag.
fn pdq_list(dir: &Path) -> (PathBuf, String) {
    let out = hashsieve(&["hash", data("corpus/photo_003.png").to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let pdq = text
        .lines()
        .find_map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            (cells.get(1) == Some(&"pdq")).then(|| cells[2].to_owned())
        })
        .expect("a pdq row");
    let csv = dir.join("set.csv");
    std::fs::write(
        &csv,
        format!("hash,id,categories\n{pdq},vic-1,vics:1 flag:distributed\n"),
    )
    .unwrap();
    let list = build(
        &csv,
        &dir.join("set.hsl"),
        &["--name", "set", "--list-version", "2024-1"],
    );
    (list, pdq)
}

/// `hashsieve build FLAGS -o OUT INPUT`; returns `out`.
fn build(input: &Path, out: &Path, flags: &[&str]) -> PathBuf {
    cmd(["build"])
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(input)
        .assert_ok();
    out.to_owned()
}

fn md5_hex(bytes: &[u8]) -> String {
    hashsieve::hash::Digest::of(hashsieve::HashKind::Md5, bytes).to_hex_upper()
}

fn sha1_hex(bytes: &[u8]) -> String {
    hashsieve::hash::Digest::of(hashsieve::HashKind::Sha1, bytes).to_hex_upper()
}

/// A VICS set (MD5 of `notes.txt`, category 2) built into an md5 list, and an NSRL-shaped
/// database (SHA-1 of `other.png`) built into a sha1 allow-list.
fn exact_lists(dir: &Path, tree: &Path) -> (PathBuf, PathBuf) {
    let notes = std::fs::read(tree.join("notes.txt")).unwrap();
    let vics = dir.join("vics.json");
    std::fs::write(
        &vics,
        format!(
            r#"{{"odata.metadata": "x", "value": [{{"MediaID": 5, "Category": "2",
                "MD5": "{}", "MediaSize": {}, "IsDistributed": "true"}}]}}"#,
            md5_hex(&notes).to_lowercase(),
            notes.len()
        ),
    )
    .unwrap();
    let vics_list = build(
        &vics,
        &dir.join("vics.hsl"),
        &["--algo", "md5", "--name", "vics"],
    );
    let other = std::fs::read(tree.join("other.png")).unwrap();
    let db = dir.join("rds.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
             crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,
             package_id INTEGER NOT NULL)",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO FILE VALUES ('', ?1, ?2, '0', 'other.png', ?3, 1)",
        rusqlite::params![sha1_hex(&other), md5_hex(&other), other.len() as i64],
    )
    .unwrap();
    drop(conn);
    let nsrl_list = build(
        &db,
        &dir.join("nsrl.hsl"),
        &["--algo", "sha1", "--role", "allow", "--name", "nsrl"],
    );
    (vics_list, nsrl_list)
}

fn scan(dir: &Path, tree: &Path, lists: &[&Path], extra: &[&str]) -> crate::common::Run {
    let mut c = cmd(["scan"]);
    for l in lists {
        c = c.arg("--list").arg(l);
    }
    let out = c
        .arg("-o")
        .arg(dir.join("results.tsv"))
        .arg("--vics")
        .arg(dir.join("found.json"))
        .arg("--report")
        .arg(dir.join("case.html"))
        .args(extra)
        .arg(tree)
        .run();
    // Files that are not images are matched by exact hash: nothing failed, something matched.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::common::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[test]
fn scan_writes_vics_and_a_case_report() {
    let dir = tempfile::tempdir().unwrap();
    let tree = evidence(dir.path());
    let (list, pdq) = pdq_list(dir.path());
    let (vics_list, nsrl_list) = exact_lists(dir.path(), &tree);
    let lists = [list.as_path(), vics_list.as_path(), nsrl_list.as_path()];
    scan(dir.path(), &tree, &lists, &[]);
    let photo = std::fs::read(data("corpus/photo_003.png")).unwrap();
    let notes = std::fs::read(tree.join("notes.txt")).unwrap();

    // The VICS document, read back by our importer.
    let vics = dir.path().join("found.json");
    let mut reader = MediaReader::open(&vics, None).unwrap();
    let mut media = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            MediaItem::Malformed { .. } => {}
            MediaItem::Record(r) => media.push(r),
            _ => {}
        }
    }
    // The documented shape, checked as JSON.
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&vics).unwrap()).unwrap();
    assert_eq!(doc["odata.metadata"], VICS_METADATA);
    let value = doc["value"].as_array().unwrap();
    // The photo (and its copy with an odd name) by PDQ, the text file by MD5; not other.png,
    // which is on the NSRL allow-list.
    let expected = if cfg!(unix) { 2 } else { 1 };
    assert_eq!(value.len(), expected + 1, "{doc:#}");
    let m = value
        .iter()
        .find(|m| m["RelativeFilePath"] == "sub/match.png")
        .expect("the matched file, relative to the scanned root");
    assert_eq!(m["Category"], 1);
    assert_eq!(m["PDQ"], pdq.as_str());
    assert_eq!(m["MD5"], md5_hex(&photo));
    assert_eq!(m["SHA1"], sha1_hex(&photo));
    assert_eq!(m["MediaSize"], photo.len());
    let n = value
        .iter()
        .find(|m| m["RelativeFilePath"] == "notes.txt")
        .expect("notes.txt by MD5");
    assert_eq!(n["Category"], 2);
    assert_eq!(n["MD5"], md5_hex(&notes));
    assert!(n.get("PDQ").is_none());
    assert_eq!(m["MediaFiles"][0]["FileName"], "match.png");
    for key in ["MediaID", "MD5", "SHA1", "MediaSize"] {
        assert!(m.get(key).is_some(), "{key} missing: {m}");
    }
    if cfg!(unix) {
        let odd = value
            .iter()
            .find(|m| m["RelativeFilePath"] == "odd\\xff.png")
            .unwrap();
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(odd["RelativeFilePathBytes"].as_str().unwrap())
            .unwrap();
        assert_eq!(bytes, b"odd\xff.png", "the path's exact bytes");
    }
    // What the importer read agrees with the document.
    assert_eq!(media.len(), value.len());
    assert_eq!(
        media
            .iter()
            .filter(|r| r.category.as_deref() == Some("1"))
            .count(),
        expected
    );
    assert!(media.iter().any(|r| r.md5_hex() == Some(md5_hex(&notes))));

    // The case report.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("case.json")).unwrap()).unwrap();
    assert!(report["tool"].as_str().unwrap().starts_with("hashsieve "));
    let command: Vec<&str> = report["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(command[1..3], ["scan", "--list"]);
    let set = report["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "set")
        .unwrap();
    assert_eq!(set["version"], "2024-1");
    assert_eq!(set["sha256"], sha256_hex(&std::fs::read(&list).unwrap()));
    assert_eq!(report["lists"].as_array().unwrap().len(), 3);
    assert_eq!(
        report["outputs"]["results"]["sha256"],
        sha256_hex(&std::fs::read(dir.path().join("results.tsv")).unwrap())
    );
    assert_eq!(report["outputs"]["vics"]["media"], expected + 1);
    assert_eq!(
        report["outputs"]["vics"]["sha256"],
        sha256_hex(&std::fs::read(&vics).unwrap())
    );
    let files = &report["files"];
    assert_eq!(files["matched"], expected + 1, "{files:#}");
    assert_eq!(
        files["known_good"], 1,
        "other.png is on the NSRL allow-list"
    );
    assert_eq!(files["read"], expected + 3);
    assert!(files["failed"].as_array().unwrap().is_empty(), "{files:#}");
    let not_images: Vec<&str> = files["not_images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(not_images.len(), 2, "{files:#}");
    assert!(not_images.iter().any(|p| p.ends_with("notes.txt")));
    assert!(not_images.iter().any(|p| p.ends_with("sub/truncated.png")));
    assert!(files["not_images"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["reason"].as_str().unwrap().is_empty()));
    assert_eq!(report["per_category"]["vics:1"], expected);
    assert_eq!(report["per_category"]["vics:2"], 1);
    assert_eq!(report["per_category"]["flag:distributed"], expected + 1);
    assert_eq!(report["per_list"]["set"], expected);
    assert_eq!(report["per_list"]["vics"], 1);
    assert!(report["per_directory"]
        .as_array()
        .unwrap()
        .iter()
        .any(
            |d| d["directory"].as_str().unwrap().ends_with("evidence/sub")
                && d["files"] == 2
                && d["matched"] == 1
        ));

    // The HTML: self-contained, no image, no hash unless asked.
    let html = std::fs::read_to_string(dir.path().join("case.html")).unwrap();
    for banned in [
        "<img", "<script", "src=", "href=", "url(", "<link", "<object", "<iframe",
    ] {
        assert!(
            !html.to_ascii_lowercase().contains(banned),
            "{banned} in the report"
        );
    }
    assert!(html.contains("sub/match.png") && html.contains("set") && html.contains("2024-1"));
    for hash in [pdq.clone(), md5_hex(&photo), md5_hex(&photo).to_lowercase()] {
        assert!(
            !html.contains(&hash) && !report.to_string().contains(&hash),
            "hashes are hidden"
        );
    }

    // Reproducible: the same evidence and lists give the same report, the times aside.
    let strip = |mut v: serde_json::Value| {
        v["started"] = serde_json::Value::Null;
        v["finished"] = serde_json::Value::Null;
        v
    };
    for f in ["results.tsv", "found.json", "case.html", "case.json"] {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    scan(dir.path(), &tree, &lists, &[]);
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("case.json")).unwrap()).unwrap();
    assert_eq!(strip(again), strip(report));
}

#[test]
fn report_hashes_shows_them_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let tree = evidence(dir.path());
    let (list, pdq) = pdq_list(dir.path());
    scan(dir.path(), &tree, &[list.as_path()], &["--report-hashes"]);
    let html = std::fs::read_to_string(dir.path().join("case.html")).unwrap();
    assert!(html.contains(&pdq));
}

#[test]
fn case_outputs_may_not_overwrite_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let tree = evidence(dir.path());
    let (list, _) = pdq_list(dir.path());
    let out = cmd(["scan", "--list"])
        .arg(&list)
        .arg("--vics")
        .arg(&list)
        .arg(&tree)
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(std::fs::metadata(&list).unwrap().len() > 0);
    hashsieve::HashList::from_bytes(std::fs::read(&list).unwrap()).unwrap();
}
