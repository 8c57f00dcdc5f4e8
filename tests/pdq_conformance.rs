//! PDQ conformance: hashes, qualities, dihedral hashes and the f32 intermediates of the reference
//! C++ (pdqhash 0.2.8) read from the fixture tables in tests/data, plus the fast path against the
//! straightforward one on random images.
//!
//! Pixels come from the `image` crate directly (PNG, GIF, BMP, TIFF, lossless WebP decode
//! exactly). JPEG inputs go through hashsieve's decoder: with `jpeg-exact` (the default) it gives
//! libjpeg-turbo's pixels and JPEG hashes must equal the reference's; without it, they are held
//! to the reference's own rule (distance <= 10 where the reference quality is >= 80). Their
//! libjpeg-turbo decodes are also in `derived/decoded-rgb` as PNGs, checked bit for bit.

use std::collections::HashMap;
use std::path::Path;

use hashsieve::algo::pdq::internals::{self, Mat64};
use hashsieve::algo::pdq::{
    pdq, pdq_dihedral, pdq_dihedral_with, pdq_with, Dihedral, DihedralMode, LumaMode, PdqDihedral,
    PdqHash, PdqOptions,
};
use hashsieve::arch::Isa;
use hashsieve::{Hash256, PixelBuffer, PixelLayout};

use crate::common::{data, read_tsv};

// ---------------------------------------------------------------------------------------------
// Fixture helpers

/// A matrix of f32 bit patterns (hex, tab-separated rows).
fn read_f32hex(rel: &str) -> Vec<Vec<u32>> {
    std::fs::read_to_string(data(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split('\t')
                .map(|c| u32::from_str_radix(c, 16).expect("hex"))
                .collect()
        })
        .collect()
}

fn hex(s: &str) -> Hash256 {
    s.parse().unwrap_or_else(|_| panic!("bad hash in fixture"))
}

/// An owned RGB8 image.
struct Rgb {
    w: u32,
    h: u32,
    data: Vec<u8>,
}

impl Rgb {
    fn px(&self) -> PixelBuffer<'_> {
        PixelBuffer::packed(&self.data, self.w, self.h, PixelLayout::Rgb8).expect("pixel buffer")
    }
}

/// Decodes an image with the `image` crate and converts it to RGB8 (Pillow's `convert("RGB")`
/// for 8-bit inputs; first frame of an animation).
fn load_rgb(path: &Path) -> Rgb {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rgb = img.to_rgb8();
    Rgb {
        w: rgb.width(),
        h: rgb.height(),
        data: rgb.into_raw(),
    }
}

fn is_jpeg(file: &str) -> bool {
    let f = file.to_ascii_lowercase();
    f.ends_with(".jpg") || f.ends_with(".jpeg")
}

/// The dihedral hash columns of a table row, in `Dihedral::ALL` order.
fn dihedral_columns(row: &HashMap<String, String>, names: [&str; 8]) -> [Hash256; 8] {
    names.map(|c| hex(&row[c]))
}

const FULLRES_DIH: [&str; 8] = [
    "pdq_hex",
    "dih_rotate90",
    "dih_rotate180",
    "dih_rotate270",
    "dih_flipx",
    "dih_flipy",
    "dih_flipplus1",
    "dih_flipminus1",
];

const CORPUS_DIH: [&str; 8] = [
    "pdq_dih_orig",
    "pdq_dih_rot90",
    "pdq_dih_rot180",
    "pdq_dih_rot270",
    "pdq_dih_flipx",
    "pdq_dih_flipy",
    "pdq_dih_flipplus1",
    "pdq_dih_flipminus1",
];

/// [`assert_exact`] against a row of the corpus table: its hash, quality and dihedral columns.
fn assert_corpus_row(what: &str, px: &PixelBuffer<'_>, row: &HashMap<String, String>) {
    let quality = row["pdq_quality"].parse().unwrap();
    let dih = dihedral_columns(row, CORPUS_DIH);
    assert_exact(what, px, hex(&row["pdq_hex"]), quality, Some(dih));
}

/// Asserts hash, quality and (where given) the dihedral hashes, naming the file on failure
/// (never the hash values).
fn assert_exact(
    what: &str,
    px: &PixelBuffer<'_>,
    hash: Hash256,
    quality: u8,
    dih: Option<[Hash256; 8]>,
) {
    let got = pdq(px);
    assert_eq!(got.quality, quality, "{what}: quality");
    assert!(
        got.hash == hash,
        "{what}: hash differs by {} bits",
        got.hash.distance(&hash)
    );
    if let Some(dih) = dih {
        let all = pdq_dihedral(px);
        assert_eq!(all.quality, quality, "{what}: dihedral quality");
        for t in Dihedral::ALL {
            let (g, e) = (all.get(t), dih[t.index()]);
            assert!(
                g == e,
                "{what}: dihedral {t} differs by {} bits",
                g.distance(&e)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reference hashes

/// Every `fullres` MANIFEST row whose (non-JPEG, 8-bit) file is here, plus the full-resolution
/// table's quality and dihedral hashes for it.
#[test]
fn manifest_fullres_rows_are_bit_exact() {
    let fullres: HashMap<String, HashMap<String, String>> = read_tsv("pdq/pdqhash_fullres.tsv")
        .into_iter()
        .map(|r| (r["file"].clone(), r))
        .collect();
    let mut checked = 0;
    for row in read_tsv("pdq/MANIFEST.tsv") {
        let file = &row["file"];
        let path = data(&format!("pdq/{file}"));
        if row["pipeline"] != "fullres"
            || !path.exists()
            || is_jpeg(file)
            || file.ends_with("I16.png")
        {
            continue;
        }
        let img = load_rgb(&path);
        let full = &fullres[file];
        let quality: u8 = match row["expected_quality"].as_str() {
            "" => full["quality"].parse().unwrap(),
            q => q.parse().unwrap(),
        };
        assert_eq!(
            full["quality"],
            quality.to_string(),
            "{file}: tables disagree"
        );
        let dih = dihedral_columns(full, FULLRES_DIH);
        assert_eq!(
            dih[0],
            hex(&row["expected_pdq_hex"]),
            "{file}: tables disagree"
        );
        assert_exact(
            file,
            &img.px(),
            hex(&row["expected_pdq_hex"]),
            quality,
            Some(dih),
        );
        checked += 1;
    }
    assert_eq!(checked, 3, "c.png, LA.png and random_image_26x28.png");
}

/// Every decoded-RGB PNG against the full-resolution row of the JPEG it was decoded from.
#[test]
fn decoded_rgb_pngs_are_bit_exact() {
    let fullres = read_tsv("pdq/pdqhash_fullres.tsv");
    let mut checked = 0;
    for row in &fullres {
        let file = &row["file"];
        let Some(stem) = file
            .strip_suffix(".jpg")
            .or_else(|| file.strip_suffix(".jpeg"))
        else {
            continue;
        };
        let path = data(&format!("pdq/derived/decoded-rgb/{stem}.png"));
        if !path.exists() {
            continue;
        }
        let img = load_rgb(&path);
        assert_eq!(
            (img.w.to_string(), img.h.to_string()),
            (row["width"].clone(), row["height"].clone())
        );
        let dih = dihedral_columns(row, FULLRES_DIH);
        assert_exact(
            file,
            &img.px(),
            dih[0],
            row["quality"].parse().unwrap(),
            Some(dih),
        );
        checked += 1;
    }
    let on_disk = std::fs::read_dir(data(
        "pdq/derived/decoded-rgb/reg-test-input/labelme-subset",
    ))
    .unwrap()
    .count()
        + std::fs::read_dir(data("pdq/derived/decoded-rgb/bridge-mods"))
            .unwrap()
            .count()
        + std::fs::read_dir(data("pdq/derived/decoded-rgb/misc-images"))
            .unwrap()
            .count();
    assert_eq!(checked, on_disk, "a decoded PNG has no reference row");
}

/// Pillow reads a 16-bit grey PNG as mode `I;16` and `convert("RGB")` clips it at 255; a
/// 16-bit RGB PNG it reads as 8-bit RGB from the high bytes. The library's decoder defines its
/// own policy; here the reference's pixels are rebuilt to test the hash core on them.
fn load_pillow_16bit(path: &Path) -> Option<Rgb> {
    let img = image::open(path).expect("decode");
    let (w, h) = (img.width(), img.height());
    let data = match img {
        image::DynamicImage::ImageLuma16(g) => g
            .into_raw()
            .into_iter()
            .flat_map(|v| [v.min(255) as u8; 3])
            .collect(),
        image::DynamicImage::ImageRgb16(c) => {
            c.into_raw().into_iter().map(|v| (v >> 8) as u8).collect()
        }
        _ => return None,
    };
    Some(Rgb { w, h, data })
}

/// 16-bit inputs, with Pillow's conversions rebuilt (see [`load_pillow_16bit`]).
#[test]
fn sixteen_bit_inputs_with_pillows_conversion_are_bit_exact() {
    let fullres = read_tsv("pdq/pdqhash_fullres.tsv");
    let row = fullres
        .iter()
        .find(|r| r["file"] == "pytx-resources/I16.png")
        .expect("I16 row");
    let img = load_pillow_16bit(&data("pdq/pytx-resources/I16.png")).expect("16-bit");
    let dih = dihedral_columns(row, FULLRES_DIH);
    assert_exact(
        "I16.png",
        &img.px(),
        dih[0],
        row["quality"].parse().unwrap(),
        Some(dih),
    );

    let mut checked = 1;
    for row in read_tsv("corpus/REFERENCE.tsv") {
        if row["exif_mode"] != "raw" || !row["file"].starts_with("edge_16bit") {
            continue;
        }
        let img = load_pillow_16bit(&data(&format!("corpus/{}", row["file"]))).expect("16-bit");
        assert_corpus_row(&row["file"], &img.px(), &row);
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// Every losslessly decodable 8-bit row of the corpus table (`exif_mode` raw), including the
/// degenerate ones of quality 0 (too small, solid colour).
#[test]
fn corpus_lossless_rows_are_bit_exact() {
    let mut checked = 0;
    let mut with_quality = 0;
    for row in read_tsv("corpus/REFERENCE.tsv") {
        let file = &row["file"];
        let lossless = match row["format"].as_str() {
            "PNG" | "GIF" | "BMP" | "TIFF" => true,
            "WEBP" => file.contains("lossless"),
            _ => false,
        };
        if row["exif_mode"] != "raw" || !lossless || file.starts_with("edge_16bit") {
            continue;
        }
        let img = load_rgb(&data(&format!("corpus/{file}")));
        assert_eq!(
            (img.w.to_string(), img.h.to_string()),
            (row["width"].clone(), row["height"].clone())
        );
        let quality: u8 = row["pdq_quality"].parse().unwrap();
        let dih = dihedral_columns(&row, CORPUS_DIH);
        assert_eq!(
            dih[0],
            hex(&row["pdq_hex"]),
            "{file}: table columns disagree"
        );
        assert_exact(file, &img.px(), hex(&row["pdq_hex"]), quality, Some(dih));
        checked += 1;
        with_quality += usize::from(quality > 0);
    }
    assert!(
        checked >= 25 && with_quality >= 20,
        "only {checked} rows ({with_quality} with quality > 0)"
    );
}

/// The transformed corpus variants that are stored losslessly.
#[test]
fn corpus_transformed_rows_are_bit_exact() {
    let mut checked = 0;
    for row in read_tsv("corpus/TRANSFORMED.tsv") {
        let file = &row["file"];
        if is_jpeg(file) {
            continue;
        }
        let img = load_rgb(&data(&format!("corpus/{file}")));
        assert_corpus_row(file, &img.px(), &row);
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// Applies a dihedral transform in pixel space, with python-threatexchange's (PIL) meaning.
fn transform_pixels(img: &Rgb, t: Dihedral) -> Rgb {
    let (w, h) = (img.w as usize, img.h as usize);
    let transposed = matches!(
        t,
        Dihedral::Rot90 | Dihedral::Rot270 | Dihedral::FlipPlus1 | Dihedral::FlipMinus1
    );
    let (ow, oh) = if transposed { (h, w) } else { (w, h) };
    let mut data = vec![0u8; w * h * 3];
    for oy in 0..oh {
        for ox in 0..ow {
            // Source pixel of output (ox, oy).
            let (sx, sy) = match t {
                Dihedral::Orig => (ox, oy),
                Dihedral::Rot90 => (w - 1 - oy, ox),
                Dihedral::Rot180 => (w - 1 - ox, h - 1 - oy),
                Dihedral::Rot270 => (oy, h - 1 - ox),
                Dihedral::FlipX => (ox, h - 1 - oy),
                Dihedral::FlipY => (w - 1 - ox, oy),
                Dihedral::FlipPlus1 => (oy, ox),
                Dihedral::FlipMinus1 => (w - 1 - oy, h - 1 - ox),
                _ => unreachable!(),
            };
            let (o, s) = ((oy * ow + ox) * 3, (sy * w + sx) * 3);
            data[o..o + 3].copy_from_slice(&img.data[s..s + 3]);
        }
    }
    Rgb {
        w: ow as u32,
        h: oh as u32,
        data,
    }
}

/// MANIFEST `pixel-rotated` rows: the image transformed in pixel space, then hashed. This pins
/// down what each `Dihedral` name means.
#[test]
fn pixel_rotated_rows_are_bit_exact() {
    let mut checked = 0;
    for row in read_tsv("pdq/MANIFEST.tsv") {
        let path = data(&format!("pdq/{}", row["file"]));
        if row["pipeline"] != "pixel-rotated" || !path.exists() {
            continue;
        }
        let t: Dihedral = row["orientation"].parse().expect("orientation name");
        let img = transform_pixels(&load_rgb(&path), t);
        let got = pdq(&img.px());
        let want = hex(&row["expected_pdq_hex"]);
        assert!(
            got.hash == want,
            "{t}: differs by {} bits",
            got.hash.distance(&want)
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
}

/// Nearest-neighbour squash to exactly 512x512, as the C++ file path does for larger images.
fn squash_512(img: &Rgb) -> Rgb {
    let (w, h) = (img.w as usize, img.h as usize);
    let mut data = Vec::with_capacity(512 * 512 * 3);
    for y in 0..512 {
        let sy = y * h / 512;
        for x in 0..512 {
            let s = (sy * w + x * w / 512) * 3;
            data.extend_from_slice(&img.data[s..s + 3]);
        }
    }
    Rgb {
        w: 512,
        h: 512,
        data,
    }
}

/// The C++ file path (`wasm-cpp` rows and the table's `cpp_file_path_512` column): f32 luma, as
/// the C++ tool computes it, after the 512x512 squash, on the lossless inputs. (These images
/// happen not to separate the two luma formulas; the intermediates test below does.)
#[test]
fn cpp_file_path_rows_match_with_f32_luma() {
    let opts = PdqOptions::default().luma(LumaMode::Float32);
    let mut checked = 0;
    for row in read_tsv("pdq/pdqhash_fullres.tsv") {
        let file = &row["file"];
        let path = data(&format!("pdq/{file}"));
        if !path.exists() || is_jpeg(file) || file.ends_with("I16.png") {
            continue;
        }
        let img = load_rgb(&path);
        let img = if img.w > 512 || img.h > 512 {
            squash_512(&img)
        } else {
            img
        };
        let got = pdq_with(&img.px(), &opts);
        let want = hex(&row["cpp_file_path_512_hex"]);
        assert!(
            got.hash == want,
            "{file}: differs by {} bits",
            got.hash.distance(&want)
        );
        assert_eq!(
            got.quality.to_string(),
            row["cpp_file_path_512_quality"],
            "{file}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked}");
}

/// JPEG inputs through hashsieve's decoder: bit-exact with `jpeg-exact` (Pillow's libjpeg-turbo
/// pixels; every JPEG with a non-flat image, CMYK included), else the reference's acceptance rule
/// (distance <= 10 at quality >= 80).
#[test]
fn jpeg_inputs_against_the_reference() {
    let mut cases: Vec<(String, Hash256, u8)> = Vec::new();
    for row in read_tsv("pdq/pdqhash_fullres.tsv") {
        if is_jpeg(&row["file"]) {
            cases.push((
                format!("pdq/{}", row["file"]),
                hex(&row["pdq_hex"]),
                row["quality"].parse().unwrap(),
            ));
        }
    }
    for row in read_tsv("corpus/REFERENCE.tsv") {
        if row["exif_mode"] == "raw"
            && row["format"] == "JPEG"
            && (row["mode"] != "CMYK" || cfg!(feature = "jpeg-exact"))
        {
            cases.push((
                format!("corpus/{}", row["file"]),
                hex(&row["pdq_hex"]),
                row["pdq_quality"].parse().unwrap(),
            ));
        }
    }
    let mut checked = 0;
    for (file, want, quality) in cases {
        let path = data(&file);
        if !path.exists() {
            continue;
        }
        let img = hashsieve::image::decode_path(&path, &hashsieve::DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = pdq(&img.pixels());
        if cfg!(feature = "jpeg-exact") && quality > 0 {
            assert_eq!(got.hash, want, "{file}: not the reference's hash");
            assert_eq!(got.quality, quality, "{file}: quality");
            checked += 1;
        } else if quality >= 80 {
            let d = got.hash.distance(&want);
            assert!(d <= 10, "{file}: distance {d} > 10");
            assert!(got.quality >= 50, "{file}: quality {}", got.quality);
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} JPEGs checked");
}

/// Rebuilds an image of `synthetic_pdqhash.tsv` from its recipe.
fn synthetic(recipe: &str, w: usize, h: usize) -> Rgb {
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let c = match recipe {
                "vconst" => [x * 37 + 11, x * 91 + 5, x * 13 + 200],
                "hconst" => [y * 37 + 11, y * 91 + 5, y * 13 + 200],
                "mix" => [x * 37 + y * 11, x * 5 + y * 91, x * y],
                _ => panic!("unknown recipe"),
            };
            data.extend(c.map(|v| (v % 256) as u8));
        }
    }
    Rgb {
        w: w as u32,
        h: h as u32,
        data,
    }
}

/// Synthetic images hashed by pdqhash 0.2.8. Images whose rows (or columns) are all alike have
/// DCT outputs that are pure rounding noise, so every hash bit probes f32 exactness; the 64x64
/// rows pin down the reference's quirk that only the single-hash entry point skips the blur.
#[test]
fn synthetic_rows_are_bit_exact() {
    let rows = read_tsv("pdq/synthetic_pdqhash.tsv");
    for row in &rows {
        let (w, h) = (
            row["width"].parse().unwrap(),
            row["height"].parse().unwrap(),
        );
        let img = synthetic(&row["recipe"], w, h);
        let what = format!("{} {w}x{h}", row["recipe"]);
        let dih = dihedral_columns(row, CORPUS_DIH.map(|c| &c[4..]));
        assert_exact(
            &what,
            &img.px(),
            hex(&row["pdq_hex"]),
            row["quality"].parse().unwrap(),
            Some(dih),
        );
    }
    assert_eq!(rows.len(), 10);
    let quirk = rows
        .iter()
        .filter(|r| r["width"] == "64" && r["height"] == "64" && r["pdq_hex"] != r["dih_orig"]);
    assert!(quirk.count() > 0, "no row shows the 64x64 quirk");
}

// ---------------------------------------------------------------------------------------------
// Intermediates

fn bits64(a: &Mat64) -> Vec<Vec<u32>> {
    a.iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// The DCT matrix, bit for bit.
#[test]
fn dct_matrix_is_bit_exact() {
    let want = read_f32hex("pdq/derived/intermediates/dct_matrix_16x64.f32hex.tsv");
    let got: Vec<Vec<u32>> = internals::dct_matrix()
        .iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect();
    assert_eq!(got, want);
}

/// The 64x64 downsample and 16x16 DCT of the five SUMMARY images, as f32 bit patterns, from
/// both the fast path and the straightforward one; plus windows, quality, median and hash. The
/// intermediates come from the C++-faithful f32 path, i.e. `LumaMode::Float32`.
#[test]
fn intermediates_are_bit_exact() {
    let summary = read_tsv("pdq/derived/intermediates/SUMMARY.tsv");
    assert_eq!(summary.len(), 5);
    let mut float64_differs = 0;
    for row in summary {
        let img = load_rgb(&data(&format!("pdq/{}", row["pixels_from"])));
        let px = img.px();
        let stem = row["file"].rsplit_once('.').unwrap().0.replace('/', "__");
        let want_a = read_f32hex(&format!(
            "pdq/derived/intermediates/{stem}.downsample64x64.f32hex.tsv"
        ));
        let want_b = read_f32hex(&format!(
            "pdq/derived/intermediates/{stem}.dct16x16.f32hex.tsv"
        ));
        let file = &row["file"];

        let mode = LumaMode::Float32;
        let a = internals::downsample_fast(&px, mode, true, Isa::detect());
        let a_ref = internals::downsample_reference(&px, mode, true);
        assert!(bits64(&a_ref) == want_a, "{file}: reference downsample");
        assert!(bits64(&a) == want_a, "{file}: fast downsample");
        float64_differs += usize::from(
            bits64(&internals::downsample_reference(
                &px,
                LumaMode::Float64,
                true,
            )) != want_a,
        );
        let b = internals::dct16(&a);
        let got_b: Vec<Vec<u32>> = b
            .iter()
            .map(|r| r.iter().map(|v| v.to_bits()).collect())
            .collect();
        assert!(got_b == want_b, "{file}: DCT");
        assert_eq!(
            internals::quality(&a).to_string(),
            row["quality"],
            "{file}: quality"
        );
        let mut sorted: Vec<f32> = b.iter().flatten().copied().collect();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(
            format!("{:08x}", sorted[127].to_bits()),
            row["dct_median_f32hex"],
            "{file}: median"
        );
        let h = internals::bits(&b);
        assert!(h == hex(&row["pdq_hex"]), "{file}: hash");
        assert_eq!(pdq_with(&px, &PdqOptions::default().luma(mode)).hash, h);
        assert_eq!(
            row["jarosz_window_horizontal_pass"],
            img.w.div_ceil(128).to_string()
        );
        assert_eq!(
            row["jarosz_window_vertical_pass"],
            img.h.div_ceil(128).to_string()
        );
    }
    // The tables tell the two luma formulas apart (so the test above pins down Float32).
    assert!(float64_differs > 0);
}

// ---------------------------------------------------------------------------------------------
// The fast path against the straightforward one

use crate::common::xorshift::XorShift as Rng;

/// Random bytes with some smooth structure (so box sums are not all alike) and some noise.
fn random_image(rng: &mut Rng, w: usize, h: usize, bpp: usize) -> Vec<u8> {
    let (fx, fy) = (1 + rng.next() % 7, 1 + rng.next() % 5);
    let mut out = Vec::with_capacity(w * h * bpp);
    for y in 0..h {
        for x in 0..w {
            for c in 0..bpp {
                let smooth = ((x as u64 * fx + y as u64 * fy + c as u64 * 40) % 256) as u8;
                let v = if rng.next().is_multiple_of(4) {
                    rng.byte()
                } else {
                    smooth
                };
                out.push(v);
            }
        }
    }
    out
}

const AWKWARD_SIZES: [(usize, usize); 16] = [
    (5, 5),
    (7, 129),
    (129, 7),
    (64, 64),
    (65, 300),
    (1000, 3),
    (3, 1000),
    (1000, 5),
    (5, 1000),
    (17, 33),
    (128, 129),
    (255, 257),
    (300, 65),
    (63, 64),
    (517, 389),
    (1031, 17),
];

fn all_kernels() -> Vec<Isa> {
    Isa::available()
}

/// The fast downsample equals the straightforward one bit for bit, for every kernel, layout,
/// luma mode, padded stride and awkward size.
#[test]
fn fast_path_equals_reference_on_random_images() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let layouts = [
        PixelLayout::Rgb8,
        PixelLayout::Rgba8,
        PixelLayout::Bgra8,
        PixelLayout::Luma8,
    ];
    let mut checked = 0;
    for (i, (&(w, h), layout)) in AWKWARD_SIZES
        .iter()
        .flat_map(|s| layouts.iter().map(move |l| (s, *l)))
        .enumerate()
    {
        let bpp = layout.bytes_per_pixel();
        let pad = i % 3; // padded rows on some sizes
        let packed = random_image(&mut rng, w, h, bpp);
        let stride = w * bpp + pad;
        let mut data = vec![0xA5u8; stride * h];
        for y in 0..h {
            data[y * stride..y * stride + w * bpp]
                .copy_from_slice(&packed[y * w * bpp..(y + 1) * w * bpp]);
        }
        let px = PixelBuffer::new(&data, w as u32, h as u32, stride, layout).unwrap();
        let packed_px = PixelBuffer::packed(&packed, w as u32, h as u32, layout).unwrap();
        if w < 5 || h < 5 {
            let z = pdq(&px);
            assert_eq!((z.hash, z.quality), (Hash256::default(), 0), "{w}x{h}");
            let d = pdq_dihedral(&px);
            assert_eq!(
                (d.hashes, d.quality),
                ([Hash256::default(); 8], 0),
                "{w}x{h}"
            );
            continue;
        }
        for mode in [LumaMode::Float64, LumaMode::Float32] {
            for skip in [true, false] {
                let want = bits64(&internals::downsample_reference(&packed_px, mode, skip));
                for k in all_kernels() {
                    let got = bits64(&internals::downsample_fast(&px, mode, skip, k));
                    assert!(got == want, "{w}x{h} {layout:?} {mode:?} skip={skip} {k:?}");
                    checked += 1;
                }
            }
        }
        // The public functions agree with the reference pipeline.
        let a = internals::downsample_reference(&packed_px, LumaMode::Float64, true);
        let b = internals::dct16(&a);
        assert_eq!(pdq(&px), pdq(&packed_px));
        let got = pdq(&px);
        assert_eq!(
            (got.hash, got.quality),
            (internals::bits(&b), internals::quality(&a)),
            "{w}x{h}"
        );
    }
    assert!(checked >= 12 * 4);
}

/// Large random images (long rows, ring-buffer wrap-around, windows > 16).
#[test]
fn fast_path_equals_reference_on_large_images() {
    let mut rng = Rng(42);
    for (w, h) in [(2500, 2100), (4100, 40)] {
        let data = random_image(&mut rng, w, h, 3);
        let px = PixelBuffer::packed(&data, w as u32, h as u32, PixelLayout::Rgb8).unwrap();
        let want = bits64(&internals::downsample_reference(
            &px,
            LumaMode::Float64,
            true,
        ));
        for k in all_kernels() {
            assert!(
                bits64(&internals::downsample_fast(&px, LumaMode::Float64, true, k)) == want,
                "{w}x{h} {k:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Input conventions

/// For every grey level g, Float64 luma of (g, g, g) is exactly g, so `Luma8` input hashes as
/// the equivalent RGB does; Float32 luma is not always g (the C++ tool reads one-channel images
/// as grey directly, which `Luma8` also does).
#[test]
fn luma8_is_grey_rgb_under_float64() {
    let mut f32_differs = 0;
    for g in 0..=255u8 {
        assert_eq!(
            internals::luma(LumaMode::Float64, g, g, g).to_bits(),
            f32::from(g).to_bits(),
            "{g}"
        );
        f32_differs += usize::from(internals::luma(LumaMode::Float32, g, g, g) != f32::from(g));
    }
    assert!(
        f32_differs > 0,
        "f32 luma is expected to move some grey levels"
    );

    let mut rng = Rng(7);
    let grey = random_image(&mut rng, 211, 97, 1);
    let rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
    let a = PixelBuffer::packed(&grey, 211, 97, PixelLayout::Luma8).unwrap();
    let b = PixelBuffer::packed(&rgb, 211, 97, PixelLayout::Rgb8).unwrap();
    assert_eq!(pdq(&a), pdq(&b));
    assert_eq!(pdq_dihedral(&a), pdq_dihedral(&b));
}

/// Alpha is ignored and BGRA is read as RGB.
#[test]
fn layouts_agree() {
    let mut rng = Rng(11);
    let rgb = random_image(&mut rng, 150, 90, 3);
    let rgba: Vec<u8> = rgb.chunks(3).flat_map(|p| [p[0], p[1], p[2], 17]).collect();
    let bgra: Vec<u8> = rgb
        .chunks(3)
        .flat_map(|p| [p[2], p[1], p[0], 200])
        .collect();
    let h = |d: &[u8], l| pdq(&PixelBuffer::packed(d, 150, 90, l).unwrap());
    let want: PdqHash = h(&rgb, PixelLayout::Rgb8);
    assert_eq!(h(&rgba, PixelLayout::Rgba8), want);
    assert_eq!(h(&bgra, PixelLayout::Bgra8), want);
}

/// Sides shorter than 5 give the zero hash and quality 0; 5 does not.
#[test]
fn tiny_images_hash_to_zero() {
    let data = vec![200u8; 3 * 4000];
    for (w, h) in [(1, 1), (4, 4), (4, 1000), (1000, 4), (3, 5)] {
        let px =
            PixelBuffer::packed(&data[..w * h * 3], w as u32, h as u32, PixelLayout::Rgb8).unwrap();
        let p = pdq(&px);
        assert_eq!((p.hash, p.quality), (Hash256::default(), 0));
        let d: PdqDihedral = pdq_dihedral_with(&px, &PdqOptions::default());
        assert_eq!((d.hashes, d.quality), ([Hash256::default(); 8], 0));
    }
    let mut rng = Rng(3);
    let five = random_image(&mut rng, 5, 5, 3);
    let p = pdq(&PixelBuffer::packed(&five, 5, 5, PixelLayout::Rgb8).unwrap());
    assert!(p.hash != Hash256::default());
}

/// The dihedral hashes of the public API are the DCT transforms of the original's, and `Orig`
/// is the plain hash (away from the 64x64 special case).
#[test]
fn dihedral_orig_is_the_plain_hash() {
    let mut rng = Rng(5);
    let data = random_image(&mut rng, 333, 222, 3);
    let px = PixelBuffer::packed(&data, 333, 222, PixelLayout::Rgb8).unwrap();
    let d = pdq_dihedral(&px);
    let p = pdq(&px);
    assert_eq!((d.get(Dihedral::Orig), d.quality), (p.hash, p.quality));
    for t in Dihedral::ALL {
        assert_eq!(d.hashes[t.index()], d.get(t));
        if t != Dihedral::Orig {
            assert!(
                d.get(t).distance(&p.hash) > 32,
                "{t} too close to the original"
            );
        }
    }
}

#[test]
fn dihedral_names_round_trip() {
    let names: Vec<&str> = Dihedral::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(
        names,
        [
            "orig",
            "rot90",
            "rot180",
            "rot270",
            "flipx",
            "flipy",
            "flipplus1",
            "flipminus1"
        ]
    );
    for (i, d) in Dihedral::ALL.into_iter().enumerate() {
        assert_eq!(d.index(), i);
        assert_eq!(d.name().parse::<Dihedral>().unwrap(), d);
        assert_eq!(d.name().to_uppercase().parse::<Dihedral>().unwrap(), d);
        assert_eq!(d.to_string(), d.name());
    }
    for (long, d) in [
        ("original", Dihedral::Orig),
        ("rotate90", Dihedral::Rot90),
        ("ROTATE270", Dihedral::Rot270),
    ] {
        assert_eq!(long.parse::<Dihedral>().unwrap(), d);
    }
    let err = "rot45".parse::<Dihedral>().unwrap_err();
    assert!(matches!(
        err.kind(),
        hashsieve::ErrorKind::UnknownName { .. }
    ));
}

/// `DihedralMode::Exact`: each variant is the hash of the transformed pixels (computed by the
/// bit-exact single-hash path on pixels rotated here), up to f32 rounding, on the lossless
/// corpus photos and on random images whose sides give even and odd windows, multiples of 128
/// (asymmetric samples) and the 64x64 quirk. The reference mode is measured alongside: it must
/// be no closer, or the exact mode would be pointless.
#[test]
fn exact_dihedral_variants_are_the_hashes_of_the_transformed_pixels() {
    let exact = PdqOptions::default().dihedral(DihedralMode::Exact);
    let mut images: Vec<(String, Rgb)> = Vec::new();
    for row in read_tsv("corpus/REFERENCE.tsv") {
        let file = &row["file"];
        if row["exif_mode"] == "raw" && file.starts_with("photo_") && file.ends_with(".png") {
            images.push((file.clone(), load_rgb(&data(&format!("corpus/{file}")))));
        }
    }
    let mut rng = Rng(0x5eed_d1e7);
    for (w, h) in [
        (64, 64),
        (5, 9),
        (100, 37),
        (256, 128),
        (257, 300),
        (384, 200),
        (1000, 640),
    ] {
        let data = random_image(&mut rng, w, h, 3);
        let img = Rgb {
            w: w as u32,
            h: h as u32,
            data,
        };
        images.push((format!("random {w}x{h}"), img));
    }
    let (mut exact_total, mut reference_total, mut equal, mut compared) = (0u32, 0u32, 0, 0);
    for (name, img) in &images {
        let px = img.px();
        let got = pdq_dihedral_with(&px, &exact);
        let reference = pdq_dihedral(&px);
        assert_eq!(got.get(Dihedral::Orig), pdq(&px).hash, "{name}");
        assert_eq!(got.quality, pdq(&px).quality, "{name}");
        for t in Dihedral::ALL {
            let want = pdq(&transform_pixels(img, t).px()).hash;
            let d = got.get(t).distance(&want);
            assert!(
                d <= 2,
                "{name} {t}: exact variant is {d} bits from the rotated pixels"
            );
            exact_total += d;
            reference_total += reference.get(t).distance(&want);
            equal += usize::from(d == 0);
            compared += 1;
        }
    }
    assert!(images.len() >= 12);
    assert!(
        equal * 20 >= compared * 19,
        "only {equal} of {compared} variants bit-exact"
    );
    assert!(
        exact_total * 4 < reference_total,
        "exact mode {exact_total} bits in all, reference {reference_total}"
    );
    eprintln!("exact: {equal}/{compared} bit-exact, {exact_total} bits off in all; reference: {reference_total}");
}
