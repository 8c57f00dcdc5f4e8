//! End-to-end tests of `hashsieve hash`: the real binary, checked against the corpus reference.

use std::collections::HashMap;
use std::path::Path;

use crate::common;

use common::{cmd, data, hashsieve};

/// REFERENCE.tsv rows (exif_mode=raw) keyed by file name, as column -> value maps.
fn reference() -> HashMap<String, HashMap<String, String>> {
    let text = std::fs::read_to_string(data("corpus/REFERENCE.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let mut out = HashMap::new();
    for line in lines {
        let row: HashMap<String, String> = header
            .iter()
            .zip(line.split('\t'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if row["exif_mode"] == "raw" {
            out.insert(row["file"].clone(), row);
        }
    }
    out
}

/// The quality of a corpus file for a 64-bit imagehash algorithm, from
/// `imagehash/quality.tsv`.
fn imagehash_quality(file: &str, algorithm: &str) -> String {
    let text = std::fs::read_to_string(data("imagehash/quality.tsv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = header
        .iter()
        .position(|h| *h == format!("{algorithm}8"))
        .unwrap();
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|r| r[0] == format!("corpus/{file}"))
        .map(|r| r[col].to_string())
        .unwrap_or_else(|| panic!("{file} is not in quality.tsv"))
}

fn tsv_rows(stdout: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    let rows = lines
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn hashes_match_the_reference_for_every_algorithm() {
    let refs = reference();
    let files = [
        "photo_002.png",
        "photo_003.png",
        "edge_palette_P.png",
        "edge_prime_997x661.png",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| data(&format!("corpus/{f}")).display().to_string())
        .collect();
    let mut args = vec!["hash", "--algo", "pdq,phash,dhash,ahash,whash"];
    args.extend(paths.iter().map(String::as_str));
    let out = hashsieve(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = tsv_rows(&out.stdout);
    assert_eq!(header, ["path", "algorithm", "hash", "quality", "size"]);
    assert_eq!(rows.len(), files.len() * 5);
    for row in &rows {
        let name = Path::new(&row[0]).file_name().unwrap().to_str().unwrap();
        let want = &refs[name];
        // PDQ's quality from the reference; the others' from Pillow's grids rated by numpy.
        let (column, quality) = match row[1].as_str() {
            "pdq" => ("pdq_hex", want["pdq_quality"].clone()),
            other => (other, imagehash_quality(name, other)),
        };
        assert_eq!(row[2], want[column], "{name} {}", row[1]);
        assert_eq!(row[3], quality, "{name} {}", row[1]);
    }
}

#[test]
fn dihedral_prints_eight_rows_in_reference_order() {
    let refs = reference();
    let path = data("corpus/photo_003.png");
    let out = cmd(["hash", "--dihedral", path.to_str().unwrap()]).assert_ok();
    let (header, rows) = tsv_rows(&out.stdout);
    assert_eq!(
        header,
        [
            "path",
            "algorithm",
            "hash",
            "quality",
            "orientation",
            "size"
        ]
    );
    // The names are pinned by pdq_conformance::dihedral_names_round_trip.
    let names = hashsieve::algo::pdq::Dihedral::ALL.map(|d| d.name());
    assert_eq!(rows.len(), 8);
    for (row, name) in rows.iter().zip(names) {
        assert_eq!(row[4], name);
        assert_eq!(row[2], refs["photo_003.png"][&format!("pdq_dih_{name}")]);
    }
}

/// In exact mode, turning a 90°-rotated copy back by 270° gives the original's reference hash.
#[test]
fn exact_dihedral_mode_rows_are_hashes_of_the_transformed_pixels() {
    let refs = reference();
    let path = data("corpus/transformed/rotate_90ccw/photo_003.png");
    // `--dihedral-mode` implies `--dihedral`.
    let out = cmd(["hash", "--dihedral-mode", "exact", path.to_str().unwrap()]).assert_ok();
    let (_, rows) = tsv_rows(&out.stdout);
    assert_eq!(rows.len(), 8);
    let rot270 = rows.iter().find(|r| r[4] == "rot270").unwrap();
    assert_eq!(rot270[2], refs["photo_003.png"]["pdq_hex"]);
}

#[test]
fn a_bad_file_is_reported_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a_broken.jpg"),
        b"\xff\xd8\xff\xe0 not really a jpeg",
    )
    .unwrap();
    std::fs::copy(data("corpus/photo_002.png"), dir.path().join("b_good.png")).unwrap();
    let out = cmd(["hash", dir.path().to_str().unwrap()]).assert_exit(2);
    let (_, rows) = tsv_rows(&out.stdout);
    assert_eq!(rows.len(), 1, "the good file is still hashed");
    assert!(rows[0][0].ends_with("b_good.png"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a_broken.jpg"), "{stderr}");
}

#[test]
fn csv_and_json_formats() {
    let path = data("corpus/photo_002.png");
    let out = hashsieve(&["hash", "--format", "csv", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("path,algorithm,hash,quality,size\n"),
        "{text}"
    );
    let out = hashsieve(&[
        "hash",
        "--format",
        "json",
        "--algo",
        "pdq,dhash",
        path.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = rows.pop().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["rows"], 2);
    assert_eq!(rows.len(), 2);
    let refs = reference();
    assert_eq!(rows[0]["hash"], refs["photo_002.png"]["pdq_hex"].as_str());
    assert_eq!(
        rows[0]["quality"].as_u64(),
        Some(refs["photo_002.png"]["pdq_quality"].parse().unwrap())
    );
    assert_eq!(
        rows[1]["quality"].as_u64(),
        Some(imagehash_quality("photo_002.png", "dhash").parse().unwrap())
    );
}

#[test]
fn unknown_algorithm_is_a_usage_error() {
    cmd(["hash", "--algo", "md5", "x.png"]).assert_exit(2);
}
