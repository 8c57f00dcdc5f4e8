//! Image input: decoded pixels against Pillow's (the reference tools' decoder), the pixel policy,
//! decoding limits, and robustness against hostile bytes.
//!
//! Oracles: `tests/data/corpus/REFERENCE.tsv` (SHA-256 of Pillow's `convert('RGB')` bytes),
//! `tests/data/{corpus,decode}/DECODED.tsv` (written by `tests/data/decode/make_decoded_tsv.py`
//! with Pillow: per-policy checksums and, for JPEG, 16x16 block means), the lossless PNGs of
//! libjpeg-turbo's pixels in `tests/data/pdq/derived/decoded-rgb/`, and the `image` crate's own
//! `apply_orientation` for the orientation maths.

use crate::common;
use common::tracking_alloc::peak_of;
use common::{data as data_dir, read_tsv, sha256};
use std::collections::HashMap;

use hashsieve::image::{
    decode, decode_path, DecodeOptions, DecodedImage, ImageFormat, Limits, Orientation,
    PixelLayout, SixteenBit,
};
use hashsieve::ErrorKind;

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The image as H x W x 3 RGB bytes (grey expanded to (g, g, g), as Pillow's convert('RGB')).
fn rgb_bytes(img: &DecodedImage) -> Vec<u8> {
    let px = img.pixels();
    let mut out = Vec::with_capacity(px.width() as usize * px.height() as usize * 3);
    for y in 0..px.height() {
        match img.layout() {
            PixelLayout::Luma8 => px
                .row(y)
                .iter()
                .for_each(|&g| out.extend_from_slice(&[g, g, g])),
            PixelLayout::Rgb8 => out.extend_from_slice(px.row(y)),
            other => panic!("decoder produced unexpected layout {other:?}"),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// 16 x 16 block means of H x W x 3 RGB bytes, the way make_decoded_tsv.py computes them.
fn thumb16(rgb: &[u8], w: usize, h: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(768);
    for by in 0..16 {
        for bx in 0..16 {
            let (y0, y1, x0, x1) = (
                by * h / 16,
                (by + 1) * h / 16,
                bx * w / 16,
                (bx + 1) * w / 16,
            );
            let mut sum = [0f64; 3];
            for y in y0..y1 {
                for x in x0..x1 {
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += f64::from(rgb[(y * w + x) * 3 + c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as f64;
            out.extend(sum.iter().map(|s| s / n));
        }
    }
    out
}

/// Asserts that `result` failed with an error whose kind satisfies `want`
/// (named `kind` in the failure message).
fn assert_err_kind(
    result: Result<DecodedImage, hashsieve::Error>,
    what: &str,
    kind: &str,
    want: fn(&ErrorKind) -> bool,
) {
    match result {
        Ok(img) => panic!(
            "{what}: decoded {}x{} instead of failing",
            img.width(),
            img.height()
        ),
        Err(e) => assert!(
            want(e.kind()),
            "{what}: wrong error kind (want {kind}): {e}"
        ),
    }
}

fn assert_decode_err(result: Result<DecodedImage, hashsieve::Error>, what: &str) {
    assert_err_kind(result, what, "Decode", |k| {
        matches!(k, ErrorKind::Decode { .. })
    });
}

fn assert_unsupported_err(result: Result<DecodedImage, hashsieve::Error>, what: &str) {
    assert_err_kind(result, what, "Unsupported", |k| {
        matches!(k, ErrorKind::Unsupported(_))
    });
}

fn assert_limits_err(result: Result<DecodedImage, hashsieve::Error>, what: &str) {
    assert_err_kind(result, what, "Limit", |k| {
        matches!(k, ErrorKind::Limit { .. })
    });
}

// --- Minimal encoders for inputs built inside the tests. ---

use common::crafted::png_chunk;

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A zlib stream of `data` in stored (uncompressed) blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        out.extend_from_slice(&(c.len() as u16).to_le_bytes());
        out.extend_from_slice(&(!(c.len() as u16)).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// A zlib stream of `n >= 1` zero bytes, compressed about 160:1 with the fixed Huffman code
/// (one literal zero, then copies of 258 bytes at distance 1): a decompression bomb.
fn zlib_zeros(n: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, v: u32, n: u32) {
            self.acc |= u64::from(v) << self.len;
            self.len += n;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// Huffman codes go most significant bit first.
        fn code(&mut self, code: u32, n: u32) {
            self.put(code.reverse_bits() >> (32 - n), n);
        }
    }
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        len: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman codes
    b.code(0x30, 8); // literal 0
    let copies = (n - 1) / 258;
    for _ in 0..copies {
        b.code(0xC0 + 5, 8); // length 258 (symbol 285)
        b.code(0, 5); // distance 1
    }
    for _ in 0..(n - 1 - copies * 258) {
        b.code(0x30, 8);
    }
    b.code(0, 7); // end of block
    b.put(0, 7); // flush to a byte boundary
    let mut out = b.out;
    let adler = (((n % 65521) as u32) << 16) | 1;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

/// A PNG from its IHDR fields, extra chunks placed before IDAT, and a ready zlib stream.
fn png(
    w: u32,
    h: u32,
    depth: u8,
    colour: u8,
    extra: &[(&[u8; 4], Vec<u8>)],
    zlib: &[u8],
) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    for (kind, body) in extra {
        png_chunk(&mut out, kind, body);
    }
    png_chunk(&mut out, b"IDAT", zlib);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// An 8-bit RGB PNG of `rgb` (filter type 0 on every row).
fn png_rgb(w: u32, h: u32, rgb: &[u8], extra: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut raw = Vec::new();
    for row in rgb.chunks(w as usize * 3) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    png(w, h, 8, 2, extra, &zlib_stored(&raw))
}

/// A big-endian EXIF block holding only an orientation tag.
fn exif_orientation(tag: u16) -> Vec<u8> {
    let mut e = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    e.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    e.extend_from_slice(&tag.to_be_bytes());
    e.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    e
}

fn read(sub: &str, name: &str) -> Vec<u8> {
    let p = data_dir(sub).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// ---------------------------------------------------------------------------------------------
// Decoded pixels against Pillow.

#[test]
fn sha256_helper_is_sha256() {
    // FIPS 180-2 appendix B.1 and B.2 test vectors.
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

/// Every row of the corpus reference table: the same size and format as Pillow, and for
/// lossless formats the same RGB bytes (the raw rows under the default policy, the transposed
/// rows under `Orientation::Apply`). With `jpeg-exact`, JPEGs too: the same RGB bytes as
/// Pillow's libjpeg-turbo decode, CMYK and grey included.
#[test]
fn corpus_matches_the_reference_table() {
    let dir = data_dir("corpus");
    let rows = read_tsv(dir.join("REFERENCE.tsv"));
    assert!(rows.len() >= 70, "reference table too short");
    let mut exact = 0;
    for row in &rows {
        let file = &row["file"];
        let orientation = match row["exif_mode"].as_str() {
            "raw" => Orientation::default(),
            "transposed" => Orientation::Apply,
            other => panic!("unknown exif_mode {other}"),
        };
        let img = decode_path(
            &dir.join(file),
            &DecodeOptions::default().orientation(orientation),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let what = format!("{file} ({})", row["exif_mode"]);
        assert_eq!(img.width().to_string(), row["width"], "{what}: width");
        assert_eq!(img.height().to_string(), row["height"], "{what}: height");
        assert_eq!(img.format().name(), row["format"], "{what}: format");
        if matches!(row["mode"].as_str(), "L" | "LA" | "I;16" | "1")
            && img.format() != ImageFormat::Bmp
        {
            assert_eq!(img.layout(), PixelLayout::Luma8, "{what}: grey stays grey");
        }
        if img.format() != ImageFormat::Jpeg || cfg!(feature = "jpeg-exact") {
            assert_eq!(
                hex(&sha256(&rgb_bytes(&img))),
                row["rgb_sha256"],
                "{what}: pixels differ from Pillow's"
            );
            exact += 1;
        }
    }
    assert!(exact >= 50, "only {exact} exact comparisons");
    if cfg!(feature = "jpeg-exact") {
        assert!(
            exact == rows.len(),
            "{exact} of {} rows compared",
            rows.len()
        );
    }
}

/// Checks one DECODED.tsv table: exact rows bit for bit, lossy rows by 16x16 block means.
fn check_decoded_table(sub: &str) -> usize {
    let dir = data_dir(sub);
    let rows = read_tsv(dir.join("DECODED.tsv"));
    let reference: HashMap<(String, String), String> = if sub == "corpus" {
        read_tsv(dir.join("REFERENCE.tsv"))
            .into_iter()
            .map(|r| {
                (
                    (r["file"].clone(), r["exif_mode"].clone()),
                    r["rgb_sha256"].clone(),
                )
            })
            .collect()
    } else {
        HashMap::new()
    };
    for row in &rows {
        let file = &row["file"];
        let what = format!(
            "{sub}/{file} ({}, {})",
            row["exif_mode"], row["sixteen_bit"]
        );
        let mut opts = DecodeOptions::default();
        if row["exif_mode"] == "transposed" {
            opts = opts.orientation(Orientation::Apply);
        }
        if row["sixteen_bit"] == "scale" {
            opts = opts.sixteen_bit(SixteenBit::Scale);
        }
        if row["sixteen_bit"] == "pillow" {
            if let Some(sha) = reference.get(&(file.clone(), row["exif_mode"].clone())) {
                assert_eq!(
                    sha, &row["rgb_sha256"],
                    "{what}: DECODED.tsv disagrees with REFERENCE.tsv"
                );
            }
        }
        let img = decode_path(&dir.join(file), &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            (img.width().to_string(), img.height().to_string()),
            (row["width"].clone(), row["height"].clone()),
            "{what}: size"
        );
        if img.layout() == PixelLayout::Luma8 {
            // Never grey where Pillow sees colour (grey + alpha at 16 bits is Pillow's RGBA of
            // equal channels, so it may be grey here).
            assert!(
                row["layout"] == "L" || file.contains("la16"),
                "{what}: grey output for a colour image"
            );
        }
        let rgb = rgb_bytes(&img);
        // With `jpeg-exact`, JPEG rows (marked inexact for the pure-Rust decoder) are exact too.
        let jpeg_exact = cfg!(feature = "jpeg-exact") && img.format() == ImageFormat::Jpeg;
        if row["exact"] == "1" || jpeg_exact {
            assert_eq!(
                hex(&sha256(&rgb)),
                row["rgb_sha256"],
                "{what}: pixels differ from Pillow's"
            );
        } else if row["thumb16"] != "-" {
            let ours = thumb16(&rgb, img.width() as usize, img.height() as usize);
            let theirs = unhex(&row["thumb16"]);
            assert_eq!(theirs.len(), 768, "{what}: thumb16");
            let diffs: Vec<f64> = ours
                .iter()
                .zip(&theirs)
                .map(|(a, &b)| (a - f64::from(b)).abs())
                .collect();
            let max = diffs.iter().cloned().fold(0.0, f64::max);
            let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
            // Measured: max 1.67 (blocks of 6 pixels in a 59x35 image), mean 0.40 (the stored
            // means are rounded: 0.25 of the mean is rounding alone). A wrong colour transform
            // or orientation is off by tens.
            assert!(
                max <= 2.0 && mean <= 0.5,
                "{what}: block means differ from Pillow's: max {max:.3}, mean {mean:.3}"
            );
        }
    }
    rows.len()
}

#[test]
fn decoded_table_corpus() {
    assert!(check_decoded_table("corpus") >= 70);
}

#[test]
fn decoded_table_synthetic() {
    assert!(check_decoded_table("decode") >= 90);
}

/// JPEG pixels against libjpeg-turbo's (the lossless PNGs in pdq/derived/decoded-rgb are
/// Pillow's decode of these JPEGs): identical with `jpeg-exact` (`DecodeMode::Exact`), close
/// with the pure-Rust decoder.
#[test]
fn jpeg_pixels_against_libjpeg_turbo() {
    let pairs = [
        "bridge-mods/shrink-a-lot",
        "bridge-mods/square-128x128",
        "bridge-mods/square-256x256",
        "bridge-mods/square-512x512",
        "misc-images/small",
        "misc-images/wee",
    ];
    let dir = data_dir("pdq");
    let opts = DecodeOptions::default();
    for name in pairs {
        let theirs =
            decode_path(&dir.join(format!("derived/decoded-rgb/{name}.png")), &opts).unwrap();
        let exact = decode_path(&dir.join(format!("{name}.jpg")), &opts).unwrap();
        if cfg!(feature = "jpeg-exact") {
            assert_eq!(
                (exact.width(), exact.height()),
                (theirs.width(), theirs.height())
            );
            assert!(
                rgb_bytes(&exact) == rgb_bytes(&theirs),
                "{name}: not Pillow's pixels"
            );
        }
        let pure = DecodeOptions::default().mode(hashsieve::image::DecodeMode::PureRust);
        let ours = decode_path(&dir.join(format!("{name}.jpg")), &pure).unwrap();
        assert_eq!(
            (ours.width(), ours.height()),
            (theirs.width(), theirs.height()),
            "{name}"
        );
        let (a, b) = (rgb_bytes(&ours), rgb_bytes(&theirs));
        let max = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        let mean = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(x.abs_diff(*y)))
            .sum::<f64>()
            / a.len() as f64;
        // Measured (image 0.25.10 / zune-jpeg 0.5.15): max 4, mean <= 0.35.
        assert!(max <= 8 && mean <= 0.5, "{name}: max {max}, mean {mean:.4}");
    }
}

#[test]
fn palette_tiff_is_a_clean_decode_error() {
    // The image crate does not decode palette TIFFs (Pillow does): a documented gap.
    assert_decode_err(
        decode(
            &read("decode", "unsupported_palette.tif"),
            &DecodeOptions::default(),
        ),
        "palette TIFF",
    );
}

// ---------------------------------------------------------------------------------------------
// Orientation.

/// The fixture `dir/name` decoded with the default options.
fn decoded(dir: &str, name: &str) -> DecodedImage {
    decode(&read(dir, name), &DecodeOptions::default()).unwrap()
}

/// `bytes` decoded with `orientation` and the other options at their defaults.
fn oriented(bytes: &[u8], orientation: Orientation) -> DecodedImage {
    decode(bytes, &DecodeOptions::default().orientation(orientation)).unwrap()
}

/// Pillow turns a TIFF upright when it opens it, so the default does too; `Ignore` keeps the
/// stored pixels (which are the same pixels as orient1.png, stored without rotation).
#[test]
fn tiff_orientation_default_vs_ignore() {
    let tif = read("decode", "orient5.tif");
    let stored = decoded("decode", "orient1.png");
    let ignore = oriented(&tif, Orientation::Ignore);
    assert_eq!(
        (ignore.width(), ignore.height()),
        (stored.width(), stored.height())
    );
    assert_eq!(rgb_bytes(&ignore), rgb_bytes(&stored));
    let default = decode(&tif, &DecodeOptions::default()).unwrap();
    let apply = oriented(&tif, Orientation::Apply);
    assert_eq!(
        (default.width(), default.height()),
        (stored.height(), stored.width())
    );
    assert_eq!(rgb_bytes(&default), rgb_bytes(&apply));
}

/// A PNG built here with an eXIf chunk, for each of the 8 orientations: `Apply` agrees with the
/// image crate's own `apply_orientation`, the default and `Ignore` leave the pixels alone.
#[test]
fn png_exif_orientation_all_eight() {
    let (w, h) = (5u32, 3u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 17 % 256) as u8).collect();
    for tag in 1..=8u16 {
        let file = png_rgb(w, h, &rgb, &[(b"eXIf", exif_orientation(tag))]);
        for o in [Orientation::default(), Orientation::Ignore] {
            let img = oriented(&file, o);
            assert_eq!(
                (img.width(), img.height(), rgb_bytes(&img)),
                (w, h, rgb.clone()),
                "tag {tag}, {o:?}"
            );
        }
        let img = oriented(&file, Orientation::Apply);
        let mut oracle =
            image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb.clone()).unwrap());
        oracle.apply_orientation(image::metadata::Orientation::from_exif(tag as u8).unwrap());
        let oracle = oracle.to_rgb8();
        assert_eq!(
            (img.width(), img.height()),
            oracle.dimensions(),
            "tag {tag}"
        );
        assert_eq!(rgb_bytes(&img), oracle.into_raw(), "tag {tag}");
    }
}

/// The EXIF-tagged JPEG of the corpus: `Apply` is `Ignore` turned by the image crate's oracle.
#[test]
fn jpeg_exif_orientation() {
    let bytes = read("corpus", "edge_exif_orient6.jpg");
    let raw = decode(&bytes, &DecodeOptions::default()).unwrap();
    let turned = oriented(&bytes, Orientation::Apply);
    let mut oracle = image::DynamicImage::ImageRgb8(
        image::RgbImage::from_raw(raw.width(), raw.height(), rgb_bytes(&raw)).unwrap(),
    );
    oracle.apply_orientation(image::metadata::Orientation::Rotate90);
    assert_eq!(
        (turned.width(), turned.height()),
        (raw.height(), raw.width())
    );
    assert_eq!(rgb_bytes(&turned), oracle.to_rgb8().into_raw());
}

// ---------------------------------------------------------------------------------------------
// Limits.

fn huge_png() -> Vec<u8> {
    png(100_000, 100_000, 8, 2, &[], &zlib_stored(&[0; 64]))
}

fn huge_gif() -> Vec<u8> {
    let mut g = b"GIF89a\xff\xff\xff\xff\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
    g.extend_from_slice(&[0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
    g.extend_from_slice(&[2, 2, 0x4C, 0x01, 0, 0x3B]);
    g
}

fn huge_bmp() -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&(54u32 + 64).to_le_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&100_000i32.to_le_bytes());
    b.extend_from_slice(&100_000i32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 24]);
    b.extend_from_slice(&[0; 64]);
    b
}

/// A real JPEG whose frame header is patched to `height` x `width`.
fn jpeg_with_size(height: u16, width: u16) -> Vec<u8> {
    let mut j = read("pdq", "misc-images/wee.jpg");
    let mut pos = 2;
    loop {
        let marker = j[pos + 1];
        let len = usize::from(u16::from_be_bytes([j[pos + 2], j[pos + 3]]));
        if matches!(marker, 0xC0..=0xC2) {
            j[pos + 5..pos + 7].copy_from_slice(&height.to_be_bytes());
            j[pos + 7..pos + 9].copy_from_slice(&width.to_be_bytes());
            return j;
        }
        pos += 2 + len;
    }
}

fn huge_jpeg() -> Vec<u8> {
    jpeg_with_size(65535, 65535)
}

fn huge_tiff() -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entries: [(u16, u16, u32); 8] = [
        (256, 4, 100_000),
        (257, 4, 100_000),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 8 + 2 + 8 * 12 + 4),
        (278, 4, 100_000),
        (279, 4, 16),
    ];
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            t.extend_from_slice(&(value as u16).to_le_bytes());
            t.extend_from_slice(&[0, 0]);
        } else {
            t.extend_from_slice(&value.to_le_bytes());
        }
    }
    t.extend_from_slice(&[0; 4]);
    t.extend_from_slice(&[0; 16]);
    t
}

/// An extended WebP whose canvas is 20000 x 20000 (the VP8X header allows 2^24 a side).
fn huge_webp() -> Vec<u8> {
    let side = (20_000u32 - 1).to_le_bytes();
    let mut vp8x = vec![0, 0, 0, 0];
    vp8x.extend_from_slice(&side[..3]);
    vp8x.extend_from_slice(&side[..3]);
    let mut vp8l = vec![0x2F];
    vp8l.extend_from_slice(&0u32.to_le_bytes()); // 1 x 1
    vp8l.extend_from_slice(&[0; 3]);
    let mut body = b"WEBP".to_vec();
    for (kind, chunk) in [(b"VP8X", vp8x), (b"VP8L", vp8l)] {
        body.extend_from_slice(kind);
        body.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        body.extend_from_slice(&chunk);
    }
    let mut w = b"RIFF".to_vec();
    w.extend_from_slice(&(body.len() as u32).to_le_bytes());
    w.extend_from_slice(&body);
    w
}

/// 20000 x 20000 one-bit grey PNG of zeros: 50 MB of inflated rows in a ~300 KB file, 400 MB
/// once expanded to 8-bit grey.
fn zlib_bomb_png() -> Vec<u8> {
    let (w, h) = (20_000u32, 20_000u32);
    let raw_len = (1 + w as usize / 8) * h as usize;
    png(w, h, 1, 0, &[], &zlib_zeros(raw_len))
}

/// Headers that declare enormous images are refused with `ErrorKind::Limit`, before decoding and
/// without any large allocation (checked with the per-thread counting global allocator: the most bytes
/// this thread had live, an upper bound on its largest allocation).
#[test]
fn huge_headers_are_refused_fast_without_allocating() {
    let cases: [(&str, Vec<u8>); 7] = [
        ("png 100000x100000", huge_png()),
        ("gif 65535x65535", huge_gif()),
        ("bmp 100000x100000", huge_bmp()),
        ("jpeg 65535x65535", huge_jpeg()),
        ("tiff 100000x100000", huge_tiff()),
        ("webp 20000x20000", huge_webp()),
        ("png zlib bomb 20000x20000", zlib_bomb_png()),
    ];
    for (what, bytes) in &cases {
        let (result, peak) = peak_of(|| decode(bytes, &DecodeOptions::default()));
        assert_limits_err(result, what);
        // The smallest of these images needs 400 MB of pixels; the input is at most ~0.3 MB.
        assert!(
            peak < 64 << 20,
            "{what}: {peak} bytes live while refusing a huge header"
        );
    }
}

/// A real (smaller) bomb: 4096 x 4096 zeros in a few KB. No limits: it decodes, to zeros.
/// Generous limits: it decodes. Tight limits: each one fails cleanly.
#[test]
fn limits_three_ways_on_a_real_bomb() {
    let (w, h) = (4096u32, 4096u32);
    let file = png(
        w,
        h,
        1,
        0,
        &[],
        &zlib_zeros((1 + w as usize / 8) * h as usize),
    );
    assert!(file.len() < 32 << 10, "bomb is {} bytes", file.len());
    for limits in [Limits::none(), Limits::default()] {
        let img = decode(&file, &DecodeOptions::default().limits(limits)).unwrap();
        assert_eq!(
            (img.width(), img.height(), img.layout()),
            (w, h, PixelLayout::Luma8)
        );
        assert!(img.into_vec().iter().all(|&v| v == 0));
    }
    let tight = [
        Limits::default().max_width(w - 1),
        Limits::default().max_height(h - 1),
        Limits::default().max_pixels(u64::from(w * h) - 1),
        Limits::default().max_alloc(u64::from(w * h) - 1),
    ];
    for limits in tight {
        assert_limits_err(
            decode(&file, &DecodeOptions::default().limits(limits.clone())),
            &format!("{limits:?}"),
        );
    }
}

/// One fixture per format: no limits, exactly-fitting dimension limits and a generous
/// allocation decode; one pixel or byte less fails with `LimitsExceeded`.
#[test]
fn limits_three_ways_per_format() {
    let files = [
        ("corpus", "edge_24bit.bmp"),
        ("corpus", "edge_lzw.tif"),
        ("corpus", "edge_lossy.webp"),
        ("corpus", "edge_lossless.webp"),
        ("corpus", "edge_progressive.jpg"),
        ("corpus", "edge_animated.gif"),
        ("corpus", "edge_rgba_alpha.png"),
        ("corpus", "edge_16bit_rgb.png"),
    ];
    for (sub, name) in files {
        let bytes = read(sub, name);
        let unlimited = decode(&bytes, &DecodeOptions::default().limits(Limits::none())).unwrap();
        let (w, h) = (unlimited.width(), unlimited.height());
        let px = u64::from(w) * u64::from(h);
        let fitting = Limits::default()
            .max_width(w)
            .max_height(h)
            .max_pixels(px)
            .max_alloc(px * 8 * 4);
        let fit = decode(&bytes, &DecodeOptions::default().limits(fitting.clone())).unwrap();
        assert_eq!(rgb_bytes(&fit), rgb_bytes(&unlimited), "{name}");
        for tight in [
            fitting.clone().max_width(w - 1),
            fitting.clone().max_height(h - 1),
            fitting.clone().max_pixels(px - 1),
            // Less than the 8-bit RGB output alone.
            fitting.clone().max_alloc(px * 3 - 1),
        ] {
            assert_limits_err(
                decode(&bytes, &DecodeOptions::default().limits(tight.clone())),
                &format!("{name} {tight:?}"),
            );
        }
    }
}

#[test]
fn decode_path_reads_by_content_and_respects_limits() {
    let dir = tempfile::tempdir().unwrap();
    // A PNG under a JPEG name decodes as PNG: the name is never consulted.
    let misnamed = dir.path().join("actually_a_png.jpg");
    std::fs::copy(data_dir("corpus").join("edge_64x64.png"), &misnamed).unwrap();
    let img = decode_path(&misnamed, &DecodeOptions::default()).unwrap();
    assert_eq!(img.format(), ImageFormat::Png);
    // A file larger than the allocation limit is refused before it is read whole.
    let small = DecodeOptions::default().limits(Limits::default().max_alloc(1000));
    let err = decode_path(&misnamed, &small).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Limit { .. }), "{err}");
    assert_eq!(err.path(), Some(misnamed.as_path()));
    // A missing file is an I/O error naming the path.
    let missing = dir.path().join("missing.png");
    let err = decode_path(&missing, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Io(_)), "{err}");
    assert_eq!(err.path(), Some(missing.as_path()));
}

// ---------------------------------------------------------------------------------------------
// Hostile and broken input: typed errors, never a panic.

#[test]
fn empty_garbage_and_zero_dimensions_are_clean_errors() {
    let opts = DecodeOptions::default();
    assert_decode_err(decode(b"", &opts), "empty");
    assert_unsupported_err(decode(b"hello, world: not an image", &opts), "text");
    assert_unsupported_err(decode(&[0u8; 4096], &opts), "zeros");
    assert_decode_err(decode(b"\x89PNG\r\n\x1a\n", &opts), "PNG signature only");
    assert_decode_err(decode(b"\xff\xd8\xff", &opts), "JPEG SOI only");
    assert_decode_err(decode(b"GIF89a", &opts), "GIF signature only");
    assert_decode_err(
        decode(&png(0, 5, 8, 2, &[], &zlib_stored(&[])), &opts),
        "PNG 0x5",
    );
    assert_decode_err(
        decode(&png(5, 0, 8, 2, &[], &zlib_stored(&[])), &opts),
        "PNG 5x0",
    );
    let mut gif = huge_gif();
    gif[6..10].copy_from_slice(&[0, 0, 0, 0]);
    gif[23..27].copy_from_slice(&[0, 0, 0, 0]);
    assert_decode_err(decode(&gif, &opts), "GIF 0x0");
    let mut bmp = huge_bmp();
    bmp[18..22].copy_from_slice(&0i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&5i32.to_le_bytes());
    assert_decode_err(decode(&bmp, &opts), "BMP width 0");
    assert_decode_err(decode(&jpeg_with_size(0, 8), &opts), "JPEG height 0");
    assert_decode_err(decode(&jpeg_with_size(8, 0), &opts), "JPEG width 0");
}

/// Fixtures for the robustness sweeps: one or more per format.
fn sweep_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("edge_64x64.png", read("corpus", "edge_64x64.png")),
        ("png_pal_4bit.png", read("decode", "png_pal_4bit.png")),
        ("png_rgba16.png", read("decode", "png_rgba16.png")),
        ("wee.jpg", read("pdq", "misc-images/wee.jpg")),
        ("jpg_odd_420.jpg", read("decode", "jpg_odd_420.jpg")),
        ("jpg_cmyk.jpg", read("decode", "jpg_cmyk.jpg")),
        ("gif_anim.gif", read("decode", "gif_anim.gif")),
        (
            "gif_small_first_frame_trns.gif",
            read("decode", "gif_small_first_frame_trns.gif"),
        ),
        (
            "webp_alpha_lossy.webp",
            read("decode", "webp_alpha_lossy.webp"),
        ),
        (
            "webp_alpha_lossless.webp",
            read("decode", "webp_alpha_lossless.webp"),
        ),
        ("bmp_pal4.bmp", read("decode", "bmp_pal4.bmp")),
        ("bmp_565.bmp", read("decode", "bmp_565.bmp")),
        ("tif_rgb_deflate.tif", read("decode", "tif_rgb_deflate.tif")),
        ("tif_cmyk.tif", read("decode", "tif_cmyk.tif")),
    ]
}

fn typed_or_ok(result: Result<DecodedImage, hashsieve::Error>, what: &str) {
    if let Err(e) = result {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Decode { .. } | ErrorKind::Limit { .. } | ErrorKind::Unsupported(_)
            ),
            "{what}: unexpected error kind {e}"
        );
    }
}

/// Every short prefix and a spread of longer ones: never a panic; a file cut to 90% or less of
/// its length is an error for the formats whose pixel data runs to the end of the file (a cut
/// GIF or TIFF may still hold a whole first frame or strip).
#[test]
fn truncations_never_panic() {
    let opts = DecodeOptions::default();
    for (name, bytes) in sweep_fixtures() {
        let n = bytes.len();
        let mut cuts: Vec<usize> = (0..n.min(300)).collect();
        cuts.extend((0..200).map(|i| i * n / 200));
        cuts.extend(n.saturating_sub(16)..n);
        let must_fail = !(name.ends_with(".gif") || name.ends_with(".tif"));
        for cut in cuts {
            let what = format!("{name} cut to {cut} of {n} bytes");
            if must_fail && (16..=n * 9 / 10).contains(&cut) {
                assert_decode_err(decode(&bytes[..cut], &opts), &what);
            } else if cut < 16 {
                // Too short to hold the format's signature: not recognisably an image.
                match decode(&bytes[..cut], &opts) {
                    Ok(_) => panic!("{what}: decoded"),
                    Err(e) => assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::Decode { .. } | ErrorKind::Unsupported(_)
                        ),
                        "{what}: {e}"
                    ),
                }
            } else {
                typed_or_ok(decode(&bytes[..cut], &opts), &what);
            }
        }
    }
}

/// Deterministic single-bit flips and byte overwrites: never a panic.
#[test]
fn corruptions_never_panic() {
    let opts = DecodeOptions::default();
    let mut rng = crate::common::xorshift::Xorshift64(0x9E37_79B9_7F4A_7C15);
    let mut next = move || rng.next();
    for (name, bytes) in sweep_fixtures() {
        for i in 0..400 {
            let mut b = bytes.clone();
            let pos = (next() % b.len() as u64) as usize;
            // Headers hold the interesting fields: aim half of the damage at the first 64 bytes.
            let pos = if i % 2 == 0 {
                pos % b.len().min(64)
            } else {
                pos
            };
            if i % 3 == 0 {
                b[pos] = next() as u8;
            } else {
                b[pos] ^= 1 << (next() % 8);
            }
            typed_or_ok(
                decode(&b, &opts),
                &format!("{name} corruption {i} at byte {pos}"),
            );
        }
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    const MAGICS: [&[u8]; 8] = [
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
        b"\xff\xd8\xff\xe0",
        b"\xff\xd8\xff\xc0\0\x11\x08",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBPVP8 ",
        b"RIFF\0\0\0\0WEBPVP8L",
        b"BM",
        b"II*\0\x08\0\0\0",
    ];

    proptest! {
        /// Random bytes behind each format's signature: a typed result, never a panic.
        #[test]
        fn random_bytes_after_a_signature(magic in 0..MAGICS.len(), tail in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut bytes = MAGICS[magic].to_vec();
            bytes.extend_from_slice(&tail);
            typed_or_ok(decode(&bytes, &DecodeOptions::default()), "random tail");
        }
    }
}

#[test]
fn accessors_describe_the_image() {
    let grey = decoded("corpus", "edge_gray_L.png");
    assert_eq!(
        (grey.format(), grey.layout()),
        (ImageFormat::Png, PixelLayout::Luma8)
    );
    assert_eq!(grey.format().to_string(), "PNG");
    let n = grey.width() as usize * grey.height() as usize;
    assert_eq!(grey.pixels().row(0).len(), grey.width() as usize);
    assert_eq!(grey.into_vec().len(), n);
    let colour = decoded("corpus", "edge_lossy.webp");
    assert_eq!(
        (colour.format(), colour.layout()),
        (ImageFormat::WebP, PixelLayout::Rgb8)
    );
    assert_eq!(colour.into_vec().len(), 600 * 400 * 3);
}

// ---------------------------------------------------------------------------------------------
// JPEG decode modes

/// `DecodeMode::Fast` decodes a JPEG at the scale `jpeg_scale_denom` names, whose choice is
/// checked against a brute force over the four scales; libjpeg rounds sizes up.
#[test]
fn fast_mode_scales_jpeg_as_documented() {
    use hashsieve::image::DecodeMode;
    let bytes = read("corpus", "photo_015.jpg"); // 1411 x 1411
    for min_side in [0, 64, 128, 177, 178, 353, 512, 706, 707, 2000] {
        let mode = DecodeMode::Fast { min_side };
        let want = [8u8, 4, 2]
            .into_iter()
            .find(|&d| 1411u32.div_ceil(u32::from(d)) >= min_side)
            .unwrap_or(1);
        assert_eq!(
            mode.jpeg_scale_denom(1411, 1411),
            want,
            "min_side {min_side}"
        );
        if !cfg!(feature = "jpeg-exact") {
            continue;
        }
        let img = decode(&bytes, &DecodeOptions::default().mode(mode)).unwrap();
        let side = 1411u32.div_ceil(u32::from(want));
        assert_eq!(
            (img.width(), img.height()),
            (side, side),
            "min_side {min_side}"
        );
    }
    assert_eq!(DecodeMode::Exact.jpeg_scale_denom(8000, 8000), 1);
    assert_eq!(DecodeMode::PureRust.jpeg_scale_denom(8000, 8000), 1);
}

/// Fast hashes stay near the exact ones (the README's measured maxima over 346 JPEGs: PDQ 16,
/// pHash 4), and formats other than JPEG ignore the mode (the same pixels).
#[test]
fn fast_mode_hashes_near_exact_and_ignores_other_formats() {
    use hashsieve::algo::Hasher;
    use hashsieve::image::DecodeMode;
    use hashsieve::HashKind;
    let hasher = |mode| Hasher::new().decode_options(DecodeOptions::default().mode(mode));
    for (kind, max) in [(HashKind::Pdq, 16), (HashKind::PHash, 4)] {
        for name in ["photo_010.jpg", "photo_015.jpg"] {
            let bytes = read("corpus", name);
            let exact = hasher(DecodeMode::Exact)
                .hash_bytes(&bytes, &[kind])
                .unwrap();
            let fast = hasher(DecodeMode::fast_for([kind]))
                .hash_bytes(&bytes, &[kind])
                .unwrap();
            let d = exact[0].value.distance(&fast[0].value).unwrap();
            assert!(d <= max, "{name} {kind:?}: fast is {d} bits off");
        }
    }
    let png = read("corpus", "photo_003.png");
    let a = decode(&png, &DecodeOptions::default()).unwrap();
    let b = decode(
        &png,
        &DecodeOptions::default().mode(DecodeMode::Fast { min_side: 0 }),
    )
    .unwrap();
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    assert!(
        a.into_vec() == b.into_vec(),
        "PNG pixels changed by the JPEG mode"
    );
}

/// libjpeg's errors come back as `ErrorKind::Decode` in every mode, never a panic or an abort:
/// every prefix of a real JPEG, and the JPEG with its entropy-coded data overwritten.
#[test]
fn libjpeg_errors_are_clean_in_every_mode() {
    use hashsieve::image::DecodeMode;
    let bytes = read("corpus", "edge_progressive.jpg");
    for mode in [
        DecodeMode::Exact,
        DecodeMode::Fast { min_side: 0 },
        DecodeMode::PureRust,
    ] {
        let opts = DecodeOptions::default().mode(mode);
        for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
            if let Err(e) = decode(&bytes[..cut], &opts) {
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Decode { .. } | ErrorKind::Unsupported(_)
                    ),
                    "{mode:?} cut {cut}: {e}"
                );
            }
        }
        let mut garbled = bytes.clone();
        let n = garbled.len();
        for b in &mut garbled[n / 3..n - 2] {
            *b = b.wrapping_mul(31).wrapping_add(7);
        }
        let _ = decode(&garbled, &opts); // Ok (corrupt data is decoded as Pillow does) or Err
    }
}
