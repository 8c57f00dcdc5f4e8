//! `hashsieve eval robustness` end to end: the files it writes, determinism, and errors.

use crate::common;

use common::{cmd, data, hashsieve};

#[test]
fn writes_markdown_csv_samples_and_svg_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let photos =
        ["photo_002.png", "photo_003.png", "photo_006.png"].map(|p| data(&format!("corpus/{p}")));
    let run = |tag: &str| {
        let out_path = |ext: &str| dir.path().join(format!("{tag}.{ext}"));
        let mut args = vec![
            "eval".to_string(),
            "robustness".into(),
            "-q".into(),
            "--seed".into(),
            "5".into(),
            "--transforms".into(),
            "jpeg_q70,rotate_90ccw,resize_50+jpeg_q70".into(),
            "--algorithms".into(),
            "pdq,pdq+dihedral-exact,phash".into(),
        ];
        for (flag, ext) in [
            ("--markdown", "md"),
            ("--csv", "csv"),
            ("--samples", "samples.csv"),
            ("--plot", "svg"),
        ] {
            args.push(flag.into());
            args.push(out_path(ext).to_string_lossy().into_owned());
        }
        args.extend(photos.iter().map(|p| p.to_string_lossy().into_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = hashsieve(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ["md", "csv", "samples.csv", "svg"].map(|e| std::fs::read_to_string(out_path(e)).unwrap())
    };
    let first = run("a");
    let [md, csv, samples, svg] = &first;
    assert!(md.starts_with("# Robustness: 3 originals x 3 edits, seed 5"));
    // 3 algorithms x (3 edits + all) rows and a header.
    assert_eq!(csv.lines().count(), 1 + 3 * 4);
    assert!(csv
        .lines()
        .any(|l| l.starts_with("pdq+dihedral-exact,rotate_90ccw,")));
    // Every (original, edit, algorithm) once.
    assert_eq!(samples.lines().count(), 1 + 3 * 3 * 3);
    assert!(svg.starts_with("<svg"));
    assert_eq!(run("b"), first, "same seed, same files");
}

#[test]
fn unknown_names_are_usage_errors_and_too_few_originals_an_error() {
    let photo = data("corpus/photo_002.png");
    let photo = photo.to_str().unwrap();
    for args in [
        vec![
            "eval",
            "robustness",
            "--transforms",
            "sharpen_9000",
            photo,
            photo,
        ],
        vec!["eval", "robustness", "--algorithms", "md5", photo],
        vec!["eval", "robustness", photo],
    ] {
        let out = hashsieve(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn lists_the_standard_edits() {
    let out = cmd(["eval", "robustness", "--transforms", "list"]).assert_ok();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for name in ["jpeg_q70", "rotate_90ccw", "flip_horizontal", "crop_5each"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name}");
    }
}
