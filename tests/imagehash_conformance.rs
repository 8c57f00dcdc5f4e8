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

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hashsieve::algo::imagehash::{
    average_hash, dhash, phash, whash, HashSize, ImageHashOptions, ResizeOrder,
};
use hashsieve::{HashValue, PixelBuffer, PixelLayout};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A TSV file as header-keyed rows.
fn read_tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
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
        _ => Some("lossy format (JPEG)"),
    }
}

/// The image as Pillow's `convert("RGB")` would give it, via the `image` crate.
fn decode_rgb(path: &Path) -> (Vec<u8>, u32, u32) {
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

#[test]
fn reference_tsv_hash_size_8() {
    let dir = data_dir().join("corpus");
    let options = ImageHashOptions::default();
    let mut checked = 0;
    let mut failures = Vec::new();
    for row in read_tsv(&dir.join("REFERENCE.tsv")) {
        if row["exif_mode"] != "raw" || !row["error"].is_empty() {
            continue;
        }
        let path = dir.join(&row["file"]);
        if lossy_or_unsupported(&path).is_some() {
            continue;
        }
        let (rgb, w, h) = decode_rgb(&path);
        assert_eq!(
            sha256_hex(&rgb),
            row["rgb_sha256"],
            "{}: decoded pixels differ from Pillow's; fix the skip rule, not the hash",
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
    assert!(
        failures.is_empty(),
        "{} of {checked} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 36 files in the corpus copy, 25 of them lossless with 8 bits per channel.
    assert!(checked >= 25, "only {checked} REFERENCE.tsv rows checked");
}

#[test]
fn transformed_tsv_hash_size_8() {
    let dir = data_dir().join("corpus");
    let options = ImageHashOptions::default();
    let mut checked = 0;
    let mut failures = Vec::new();
    for row in read_tsv(&dir.join("TRANSFORMED.tsv")) {
        if !row["error"].is_empty() || row["stored_as"] != "PNG" {
            continue;
        }
        let path = dir.join(&row["file"]);
        let (rgb, w, h) = decode_rgb(&path);
        assert_eq!(
            sha256_hex(&rgb),
            row["rgb_sha256"],
            "{}: decoded pixels differ",
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
    assert!(
        failures.is_empty(),
        "{} of {checked} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 5, "only {checked} TRANSFORMED.tsv rows checked");
}

/// Runs every row of `table` (columns `file`, then `{algo}8` / `{algo}16` per size) with `order`.
fn check_table(table: &str, order: ResizeOrder, min_rows: usize) {
    let dir = data_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for row in read_tsv(&dir.join("imagehash").join(table)) {
        let path = dir.join(&row["file"]);
        let (rgb, w, h) = decode_rgb(&path);
        for (size, suffix) in [(HashSize::Eight, "8"), (HashSize::Sixteen, "16")] {
            let options = ImageHashOptions::default()
                .with_size(size)
                .with_resize_order(order);
            failures.extend(compare(
                &row["file"],
                &row,
                suffix,
                &hashes(&rgb, w, h, &options),
            ));
        }
        checked += 1;
    }
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
    for row in read_tsv(&dir.join("imagehash/synthetic.tsv")) {
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

/// SHA-256 (FIPS 180-4), for checking decoded pixels against the tables' `rgb_sha256`.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = state;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (s, x) in state.iter_mut().zip(v) {
            *s = s.wrapping_add(x);
        }
    }
    state.iter().map(|s| format!("{s:08x}")).collect()
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
