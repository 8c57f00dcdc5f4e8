//! Conformance of pHash, dHash, aHash and wHash with imagehash 4.3.2 (Pillow 13.0.0, scipy 1.17.1,
//! PyWavelets 1.9.0), driven by the reference tables in `tests/data`:
//!
//! * `corpus/REFERENCE.tsv` and `corpus/TRANSFORMED.tsv`: imagehash's defaults (`hash_size` 8) on
//!   the corpus, computed on Pillow's `convert("RGB")` pixels;
//! * `imagehash/hash16.tsv`: `hash_size` 16 on the same lossless files;
//! * `imagehash/synthetic.tsv`: synthetic edge cases (flat, symmetric, tiny, thin, portrait, ...)
//!   at both sizes;
//! * `imagehash/pillow11.tsv`: the same under Pillow 11.3.0, whose resize always runs the
//!   horizontal pass first ([`ResizeOrder::Pillow12`]).
//!
//! Only files whose decoded pixels are certain to equal Pillow's are used (lossless formats, 8 bits
//! per channel); where the table records the SHA-256 of Pillow's RGB bytes, the decoded bytes are
//! checked against it first, so a decoder difference can never pass for a hash difference.

use crate::common::{self, read_tsv};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hashsieve::algo::imagehash::{
    average_hash, dhash, phash, whash, HashSize, ImageHashOptions, ResizeOrder,
};
use hashsieve::{HashValue, PixelBuffer, PixelLayout};

fn data_dir() -> PathBuf {
    common::data("")
}

/// Why a file's decoded pixels may differ from Pillow's, or `None` when they cannot.
fn lossy_or_unsupported(path: &Path) -> Option<&'static str> {
    let bytes = std::fs::read(path).expect("read image");
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" if bytes.len() > 24 && bytes[24] == 16 => Some("16-bit PNG"),
        "png" | "bmp" | "gif" | "tif" | "tiff" => None,
        "webp" if bytes.len() > 16 && &bytes[12..16] == b"VP8L" => None,
        "webp" => Some("lossy WebP"),
        "jpg" | "jpeg" if cfg!(feature = "jpeg-exact") => None,
        _ => Some("lossy format (JPEG)"),
    }
}

/// The image as Pillow's `convert("RGB")` would give it: JPEGs through hashsieve's decoder
/// (libjpeg-turbo's pixels with `jpeg-exact`), everything else via the `image` crate.
fn decode_rgb(path: &Path) -> (Vec<u8>, u32, u32) {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.eq_ignore_ascii_case("jpg") || ext.eq_ignore_ascii_case("jpeg") {
        let img = hashsieve::image::decode_path(path, &hashsieve::DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (w, h) = (img.width(), img.height());
        let rgb = match img.layout() {
            PixelLayout::Luma8 => img.into_vec().iter().flat_map(|&g| [g, g, g]).collect(),
            _ => img.into_vec(),
        };
        return (rgb, w, h);
    }
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w, h)
}

struct Hashes {
    phash: HashValue,
    dhash: HashValue,
    ahash: HashValue,
    whash: HashValue,
}

fn hashes(rgb: &[u8], w: u32, h: u32, options: &ImageHashOptions) -> Hashes {
    let px = PixelBuffer::packed(rgb, w, h, PixelLayout::Rgb8).expect("pixel buffer");
    Hashes {
        phash: phash(&px, options),
        dhash: dhash(&px, options),
        ahash: average_hash(&px, options),
        whash: whash(&px, options),
    }
}

/// Compares the four hashes with the row's columns `{phash,dhash,ahash,whash}{suffix}`; returns
/// the mismatches as messages.
fn compare(name: &str, row: &HashMap<String, String>, suffix: &str, got: &Hashes) -> Vec<String> {
    let mut bad = Vec::new();
    for (col, value) in [
        ("phash", got.phash),
        ("dhash", got.dhash),
        ("ahash", got.ahash),
        ("whash", got.whash),
    ] {
        let key = format!("{col}{suffix}");
        let want = row
            .get(&key)
            .unwrap_or_else(|| panic!("column {key} missing"));
        if value.to_hex() != *want {
            bad.push(format!("{name}: {key} differs"));
        }
    }
    bad
}

/// Checks the size-8 hashes of every row of `corpus/{table}` that `keep` selects: the decoded
/// pixels must match the row's `rgb_sha256` and the hashes its columns; at least `min_rows` rows.
fn check_corpus(table: &str, keep: fn(&HashMap<String, String>, &Path) -> bool, min_rows: usize) {
    let dir = data_dir().join("corpus");
    let options = ImageHashOptions::default();
    let mut checked = 0;
    let mut failures = Vec::new();
    for row in read_tsv(dir.join(table)) {
        let path = dir.join(&row["file"]);
        if !keep(&row, &path) {
            continue;
        }
        let (rgb, w, h) = decode_rgb(&path);
        assert_eq!(
            sha256_hex(&rgb),
            row["rgb_sha256"],
            "{table} {}: decoded pixels differ from Pillow's; fix the skip rule, not the hash",
            row["file"]
        );
        failures.extend(compare(
            &row["file"],
            &row,
            "",
            &hashes(&rgb, w, h, &options),
        ));
        checked += 1;
    }
    assert_all_agree(table, &failures, checked, min_rows);
}

#[test]
fn reference_tsv_hash_size_8() {
    // 36 files in the corpus copy, 25 of them lossless with 8 bits per channel.
    check_corpus(
        "REFERENCE.tsv",
        |row, path| {
            row["exif_mode"] == "raw"
                && row["error"].is_empty()
                && lossy_or_unsupported(path).is_none()
        },
        25,
    );
}

#[test]
fn transformed_tsv_hash_size_8() {
    check_corpus(
        "TRANSFORMED.tsv",
        |row, _| row["error"].is_empty() && row["stored_as"] == "PNG",
        5,
    );
}

/// Runs every row of `table` (columns `file`, then `{algo}8` / `{algo}16` per size) with `order`.
fn check_table(table: &str, order: ResizeOrder, min_rows: usize) {
    let dir = data_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for row in read_tsv(dir.join("imagehash").join(table)) {
        let path = dir.join(&row["file"]);
        let (rgb, w, h) = decode_rgb(&path);
        for (size, suffix) in [(HashSize::Eight, "8"), (HashSize::Sixteen, "16")] {
            let options = ImageHashOptions::default().size(size).resize_order(order);
            failures.extend(compare(
                &row["file"],
                &row,
                suffix,
                &hashes(&rgb, w, h, &options),
            ));
        }
        checked += 1;
    }
    assert_all_agree(table, &failures, checked, min_rows);
}

/// Fails listing every mismatch found in `table`, or when fewer than `min_rows` rows of it were
/// checked.
#[track_caller]
fn assert_all_agree(table: &str, failures: &[String], checked: usize, min_rows: usize) {
    assert!(
        failures.is_empty(),
        "{table}: {} mismatches in {checked} files:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= min_rows, "{table}: only {checked} rows checked");
}

#[test]
fn corpus_hash_size_16() {
    check_table("hash16.tsv", ResizeOrder::Pillow13, 30);
}

#[test]
fn synthetic_edge_cases() {
    check_table("synthetic.tsv", ResizeOrder::Pillow13, 25);
}

#[test]
fn pillow11_resize_order() {
    check_table("pillow11.tsv", ResizeOrder::Pillow12, 55);
}

/// The Luma8 and BGRA paths hash like the RGB image they represent.
#[test]
fn layouts_agree_with_rgb() {
    let dir = data_dir();
    let mut checked = 0;
    for row in read_tsv(dir.join("imagehash/synthetic.tsv")) {
        let (rgb, w, h) = decode_rgb(&dir.join(&row["file"]));
        let bgra: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[2], p[1], p[0], 77])
            .collect();
        let options = ImageHashOptions::default();
        let want = hashes(&rgb, w, h, &options);
        let px = PixelBuffer::packed(&bgra, w, h, PixelLayout::Bgra8).unwrap();
        assert_eq!(phash(&px, &options), want.phash, "{}", row["file"]);
        assert_eq!(whash(&px, &options), want.whash, "{}", row["file"]);
        if rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]) {
            let grey: Vec<u8> = rgb.iter().step_by(3).copied().collect();
            let px = PixelBuffer::packed(&grey, w, h, PixelLayout::Luma8).unwrap();
            assert_eq!(phash(&px, &options), want.phash, "{}", row["file"]);
            assert_eq!(dhash(&px, &options), want.dhash, "{}", row["file"]);
            assert_eq!(average_hash(&px, &options), want.ahash, "{}", row["file"]);
            assert_eq!(whash(&px, &options), want.whash, "{}", row["file"]);
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} grey synthetic images");
}

/// SHA-256 hex, for checking decoded pixels against the tables' `rgb_sha256`.
fn sha256_hex(data: &[u8]) -> String {
    common::sha256(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn sha256_known_answer() {
    // FIPS 180-4 example "abc", and the empty message.
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
