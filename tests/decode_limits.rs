//! Decoding memory is bounded by the limits, at any thread count (issue 10, section 3), and
//! special files are refused by `decode_path` without blocking.
//!
//! Oracles: a counting global allocator (live bytes per thread, so tests running in parallel do
//! not disturb each other) for "the decoder never has more than `max_alloc` live", the budget's
//! own counter for what is reserved, and the typed error for what is refused.

use crate::common;

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hashsieve::image::{
    decode, decode_path, DecodeBudget, DecodeOptions, DecodedImage, Limits, Orientation,
    DEFAULT_MAX_ALLOC,
};
use hashsieve::ErrorKind;

use crate::common::tracking_alloc::peak_of;
use common::crafted::{bmp_header, gif_header, photo_rgb, png_header, riff, vp8l, webp_vp8x};

// ---------------------------------------------------------------------------------------------
// Live and peak bytes allocated by the current thread.

// ---------------------------------------------------------------------------------------------
// Inputs.

/// A budget of this test's own, so tests running at the same time do not wait for each other.
fn own_budget() -> DecodeOptions {
    DecodeOptions::default().budget(DecodeBudget::unlimited())
}

/// The files of a fixture directory.
fn fixtures(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::data(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn assert_limits(result: Result<DecodedImage, hashsieve::Error>, what: &str) {
    match result {
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::Limit { .. }),
            "{what}: expected LimitsExceeded, got {e}"
        ),
        Ok(img) => panic!("{what}: decoded {}x{}", img.width(), img.height()),
    }
}

// ---------------------------------------------------------------------------------------------
// The bombs of issue 10: small files declaring 13000 x 13000 images.

/// Each took 500-830 MB with the old defaults. Now each is refused from its header, with
/// nothing large allocated (the old property: bombs refused in <= 7 MB).
#[test]
fn thirteen_thousand_square_headers_are_refused_without_allocating() {
    let cases = [
        (
            "gif 13000x13000, 35 bytes",
            gif_header(13_000, 13_000, 13_000, 13_000),
        ),
        (
            "gif 13000x13000 with a small frame",
            gif_header(13_000, 13_000, 1, 1),
        ),
        ("png rgb 13000x13000", png_header(13_000, 13_000, 2)),
        ("bmp 13000x13000", bmp_header(13_000, 13_000)),
        (
            "webp vp8l 13000x13000",
            riff(&[(b"VP8L", vp8l(13_000, 13_000))]),
        ),
        ("webp vp8x 13000x13000", webp_vp8x(13_000, 13_000, 0)),
        (
            "webp vp8x 13000x13000 with alpha",
            webp_vp8x(13_000, 13_000, 0x10),
        ),
    ];
    for (what, bytes) in &cases {
        assert!(bytes.len() < 500, "{what}: {} bytes", bytes.len());
        let (result, peak) = peak_of(|| decode(bytes, &own_budget()));
        assert_limits(result, what);
        assert!(
            peak < 7 << 20,
            "{what}: {peak} bytes live while refusing it"
        );
    }
}

/// A 13000 x 13000 GIF frame on a 1 x 1 canvas: the frame's own buffers are counted too.
#[test]
fn a_gif_frame_larger_than_its_canvas_is_counted() {
    let bytes = gif_header(1, 1, 13_000, 13_000);
    let (result, peak) = peak_of(|| decode(&bytes, &own_budget()));
    match result {
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::Limit { .. } | ErrorKind::Decode { .. }),
            "{e}"
        ),
        Ok(img) => assert_eq!((img.width(), img.height()), (1, 1)),
    }
    assert!(peak < 7 << 20, "{peak} bytes live");
}

/// The default `max_alloc` binds before the pixel limit: a header just over it is refused, and
/// the message names the need and the limit, never image bytes.
#[test]
fn the_default_memory_limit_binds() {
    // 9500 x 9500 RGB = 270.75 MB of pixels, over 256 MiB.
    let err = decode(&png_header(9_500, 9_500, 2), &own_budget()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Limit { .. }), "{err}");
    assert!(
        err.to_string().contains(&DEFAULT_MAX_ALLOC.to_string()),
        "{err}"
    );
    // Within the limit, the same header gets as far as its (missing) data: a decode error.
    let err = decode(&png_header(4_000, 4_000, 2), &own_budget()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
}

/// A 16 x 16 PNG carrying an ICC profile of `icc_len` zero bytes (deflated to a few KB).
fn png_with_icc(icc_len: usize) -> Vec<u8> {
    use ::image::ImageEncoder;
    let mut out = Vec::new();
    let mut encoder = ::image::codecs::png::PngEncoder::new(&mut out);
    encoder.set_icc_profile(vec![0; icc_len]).unwrap();
    encoder
        .write_image(
            &[128u8; 16 * 16 * 3],
            16,
            16,
            ::image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// The PNG decoder inflates an ICC profile while it reads the header, before the dimensions are
/// known: a small file could make it allocate up to `max_alloc` (256 MB from 243 KB) outside any
/// estimate. Metadata is held to 16 MiB (a larger profile is dropped, as the decoder drops a
/// corrupt one; the pixels still decode), and counted.
#[test]
fn an_inflating_icc_profile_is_held_to_the_metadata_cap() {
    let bomb = png_with_icc(40 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let (result, peak) = peak_of(|| decode(&bomb, &own_budget()));
    assert_eq!(result.unwrap().width(), 16);
    assert!(peak < 20 << 20, "{peak} bytes live for a 16 x 16 image");

    let fine = png_with_icc(4 << 20);
    let m = smallest_fitting(&fine, &own_budget());
    let at_m = own_budget().limits(Limits::none().max_alloc(m));
    let (result, peak) = peak_of(|| decode(&fine, &at_m));
    assert_eq!(result.unwrap().width(), 16);
    assert!(peak <= m, "{peak} bytes live, limit {m}");
    assert!(m > 4 << 20, "the profile is not counted: {m}");
}

/// Found by the `decode` fuzz target: a 204-byte TIFF whose Photometric tag declares 2.6
/// million values made the TIFF decoder allocate 84 MB while opening the file, before any limit
/// of ours applied (its own default allows 256 MiB). A value that runs past the end of the file
/// is now refused before the decoder sees it.
#[test]
fn a_tiff_tag_declaring_more_values_than_the_file_holds_is_refused() {
    let hex =
        "49492a000800000009000001040001000000070000000101040001000000050000000201030001000000\
               100000000301030001000000010000000601030002002800010000000100000011010400010000007a\
               0000001601040001000000050000001701040001000000460000001c0103000100003f01000089504e\
               470d0a1a0a0000000000ff000001ffff8000810052c10b00000000000000f6a4e724d26facd2aeb0da\
               f2a972cd3fa02fd44f487078de451f5f6c246dee453351e4d3ca3aca414c46c1682afad1a4022c";
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let opts = own_budget().limits(Limits::default().max_alloc(32 << 20));
    let (result, peak) = peak_of(|| decode(&bytes, &opts));
    let err = result.expect_err("refused");
    assert!(matches!(err.kind(), ErrorKind::Decode { .. }), "{err}");
    assert!(peak < 1 << 20, "{peak} bytes live");
}

// ---------------------------------------------------------------------------------------------
// max_alloc bounds what the decoder really allocates.

/// The bytes of a PNG's `iCCP` chunks (0 for other formats).
fn iccp_bytes(bytes: &[u8]) -> u64 {
    if !bytes.starts_with(b"\x89PNG") {
        return 0;
    }
    let mut pos = 8;
    let mut total = 0;
    while let Some(head) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if &head[4..8] == b"iCCP" {
            total += len as u64;
        }
        pos += 12 + len;
    }
    total
}

/// The smallest `max_alloc` that decodes `bytes`, by bisection (decoding is monotonic in it).
fn smallest_fitting(bytes: &[u8], opts: &DecodeOptions) -> u64 {
    let fits = |m: u64| decode(bytes, &opts.clone().limits(Limits::none().max_alloc(m))).is_ok();
    let (mut lo, mut hi) = (0u64, 1u64 << 40);
    assert!(fits(hi));
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// For every fixture (each format, colour type, bit depth, animation, interlacing, progressive
/// JPEG, and the 90-degree orientations): with `max_alloc` at the smallest value that decodes
/// it, the decoder's live bytes never exceed `max_alloc`. The estimate is an upper bound, and
/// not a loose one: the smallest fitting limit is under 3x the bytes the decoder really used,
/// plus the fixed allowance for tables.
#[test]
fn the_decoder_never_has_more_than_max_alloc_live() {
    let mut checked = 0;
    for path in fixtures("corpus").into_iter().chain(fixtures("decode")) {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let plain = own_budget().limits(Limits::none());
        if decode(&bytes, &plain).is_err() {
            continue; // tables, scripts and the unsupported palette TIFF
        }
        for orientation in [Orientation::Reference, Orientation::Apply] {
            let opts = own_budget().orientation(orientation);
            let m = smallest_fitting(&bytes, &opts);
            let at_m = opts.clone().limits(Limits::none().max_alloc(m));
            let (result, peak) = peak_of(|| decode(&bytes, &at_m));
            result.unwrap();
            assert!(
                peak <= m,
                "{name} {orientation:?}: {peak} bytes live, limit {m}"
            );
            // (An ICC profile is counted at deflate's largest expansion: not tight.)
            assert!(
                m <= 3 * peak + (1 << 20) + 1032 * iccp_bytes(&bytes),
                "{name} {orientation:?}: limit {m} for {peak} bytes live"
            );
            // decode_path counts the file's bytes as well.
            let (result, peak) = peak_of(|| decode_path(&path, &at_m));
            match result {
                Ok(_) => assert!(peak <= m, "{name}: {peak} bytes live reading the file"),
                Err(e) => assert!(matches!(e.kind(), ErrorKind::Limit { .. }), "{e}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} decodes checked");
}

/// Real photos up to the limits still decode with the defaults: a 24 MP baseline JPEG (the
/// largest common camera size), without waiting on anything.
#[test]
fn a_24_megapixel_jpeg_decodes_with_default_limits() {
    let (w, h) = (6000u32, 4000u32);
    let rgb = photo_rgb(w, h);
    let mut jpeg = Cursor::new(Vec::new());
    ::image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode(&rgb, w, h, ::image::ExtendedColorType::Rgb8)
        .unwrap();
    drop(rgb);
    let jpeg = jpeg.into_inner();
    let (img, peak) = peak_of(|| decode(&jpeg, &own_budget()).unwrap());
    assert_eq!((img.width(), img.height()), (w, h));
    assert!(peak <= DEFAULT_MAX_ALLOC, "{peak}");
}

/// Images whose decoder buffers are larger than the metadata cap still decode, in every format
/// that has a lossless encoder here (the TIFF decoder takes its limits in two steps).
#[test]
fn large_images_decode_with_default_limits_in_every_format() {
    use ::image::ImageEncoder;
    let (w, h) = (3000u32, 2000u32); // 18 MB of RGB, over the 16 MiB metadata cap
    let rgb = photo_rgb(w, h);
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut tiff = Cursor::new(Vec::new());
    ::image::codecs::tiff::TiffEncoder::new(&mut tiff)
        .write_image(&rgb, w, h, ::image::ExtendedColorType::Rgb8)
        .unwrap();
    files.push(("tiff", tiff.into_inner()));
    let mut png = Vec::new();
    ::image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, w, h, ::image::ExtendedColorType::Rgb8)
        .unwrap();
    files.push(("png", png));
    let mut bmp = Vec::new();
    ::image::codecs::bmp::BmpEncoder::new(&mut bmp)
        .write_image(&rgb, w, h, ::image::ExtendedColorType::Rgb8)
        .unwrap();
    files.push(("bmp", bmp));
    let mut webp = Vec::new();
    ::image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(&rgb, w, h, ::image::ExtendedColorType::Rgb8)
        .unwrap();
    files.push(("webp", webp));
    for (what, bytes) in &files {
        for orientation in [Orientation::Reference, Orientation::Apply] {
            let img = decode(bytes, &own_budget().orientation(orientation))
                .unwrap_or_else(|e| panic!("{what} {orientation:?}: {e}"));
            assert_eq!(img.into_vec(), rgb, "{what} {orientation:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The budget shared by threads.

/// Eight threads decoding through one budget smaller than two images: every decode succeeds
/// (no deadlock, no refusal), and the budget is empty afterwards.
#[test]
fn threads_share_one_budget() {
    let bytes = std::fs::read(common::data("corpus/edge_prime_997x661.png")).unwrap();
    let need = smallest_fitting(&bytes, &own_budget());
    let budget = DecodeBudget::new(need + need / 2);
    let opts = Arc::new(DecodeOptions::default().budget(budget.clone()));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (opts, bytes) = (opts.clone(), bytes.clone());
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let img = decode(&bytes, &opts).unwrap();
                    assert!(!img.is_reserved());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(budget.in_use(), 0);
}

/// One image larger than the whole budget still decodes (alone), rather than waiting forever.
#[test]
fn an_image_larger_than_the_budget_decodes_alone() {
    let bytes = std::fs::read(common::data("corpus/edge_prime_997x661.png")).unwrap();
    let budget = DecodeBudget::new(1000);
    let img = decode(&bytes, &DecodeOptions::default().budget(budget.clone())).unwrap();
    assert_eq!((img.width(), img.height()), (997, 661));
    assert_eq!(budget.in_use(), 0);
}

/// With `keep_reserved`, the image's pixels count until it is dropped; a thread holding one may
/// decode another even past the budget (it never waits for itself).
#[test]
fn kept_reservations_last_until_the_image_drops() {
    let bytes = std::fs::read(common::data("corpus/edge_prime_997x661.png")).unwrap();
    let budget = DecodeBudget::new(1 << 20);
    let opts = DecodeOptions::default()
        .budget(budget.clone())
        .keep_reserved(true);
    let first = decode(&bytes, &opts).unwrap();
    assert!(first.is_reserved());
    assert_eq!(budget.in_use(), 997 * 661 * 3);
    let second = decode(&bytes, &opts).unwrap();
    assert_eq!(budget.in_use(), 2 * 997 * 661 * 3);
    assert!(!first.clone().is_reserved());
    drop(first);
    assert_eq!(second.into_vec().len(), 997 * 661 * 3);
    assert_eq!(budget.in_use(), 0);
    // A failed decode gives everything back.
    assert!(decode(&bytes[..bytes.len() / 2], &opts).is_err());
    assert_eq!(budget.in_use(), 0);
}

/// Limits three ways through the budget: no limits decodes, generous decodes, tight fails
/// cleanly and gives its reservation back.
#[test]
fn limits_three_ways_with_a_budget() {
    let bytes = std::fs::read(common::data("corpus/edge_lossless.webp")).unwrap();
    let budget = DecodeBudget::new(64 << 20);
    let opts = DecodeOptions::default().budget(budget.clone());
    let none = decode(&bytes, &opts.clone().limits(Limits::none())).unwrap();
    let generous = decode(&bytes, &opts).unwrap();
    assert_eq!(none.into_vec(), generous.into_vec());
    let m = smallest_fitting(&bytes, &opts);
    assert_limits(
        decode(
            &bytes,
            &opts.clone().limits(Limits::default().max_alloc(m - 1)),
        ),
        "one byte under the smallest fitting max_alloc",
    );
    assert_eq!(budget.in_use(), 0);
}

// ---------------------------------------------------------------------------------------------
// Special files.

/// Runs `decode_path` on another thread and gives up after a minute, so that a regression that
/// blocks fails this test instead of hanging the suite.
#[cfg(unix)]
fn decode_path_or_hang(path: &Path) -> Option<Result<DecodedImage, hashsieve::Error>> {
    let owned = path.to_path_buf();
    common::within(std::time::Duration::from_secs(60), move || {
        decode_path(&owned, &DecodeOptions::default())
    })
}

#[cfg(unix)]
fn assert_not_regular(result: Option<Result<DecodedImage, hashsieve::Error>>, what: &str) {
    let Some(result) = result else {
        panic!("{what}: decode_path blocked");
    };
    let err = result.err().unwrap_or_else(|| panic!("{what}: decoded"));
    common::assert_not_a_regular_file(&err, "not a regular file", what);
}

/// A FIFO with no writer would block `open` forever; a character device (`/dev/zero`) never
/// ends; a socket and a directory are not images. All are refused at once, as I/O errors.
#[cfg(unix)]
#[test]
fn special_files_are_refused_without_blocking() {
    let (dir, fifo) = common::dir_with_fifo("queue.png");
    let result = decode_path_or_hang(&fifo);
    if result.is_none() {
        // Unblock the reader so the thread ends, then fail.
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
    }
    assert_not_regular(result, "fifo");

    assert_not_regular(decode_path_or_hang(Path::new("/dev/zero")), "/dev/zero");
    assert_not_regular(decode_path_or_hang(Path::new("/dev/null")), "/dev/null");
    let socket = dir.path().join("socket.png");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    assert_not_regular(decode_path_or_hang(&socket), "socket");
    assert_not_regular(decode_path_or_hang(dir.path()), "directory");

    // A symbolic link to a regular file is read like the file.
    let link = dir.path().join("link.png");
    std::os::unix::fs::symlink(common::data("corpus/edge_64x64.png"), &link).unwrap();
    let img = decode_path(&link, &DecodeOptions::default()).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));
    // And a link to a FIFO is a FIFO.
    let to_fifo = dir.path().join("to_fifo.png");
    std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
    assert_not_regular(decode_path_or_hang(&to_fifo), "link to fifo");
}

/// `decode_reader` (`hash -`): no limits decodes, generous limits decode, and an input longer
/// than `max_alloc` is refused after reading at most one byte more, without holding it all.
#[test]
fn decode_reader_is_bounded_by_max_alloc() {
    use hashsieve::image::decode_reader;
    let img = image::RgbImage::from_raw(64, 48, photo_rgb(64, 48)).unwrap();
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let png = png.into_inner();
    let none = own_budget().limits(Limits::none());
    let by_bytes = decode(&png, &none).unwrap();
    let from_reader = decode_reader(&png[..], &none).unwrap();
    assert_eq!(from_reader.into_vec(), by_bytes.into_vec());
    assert!(
        decode_reader(&png[..], &own_budget()).is_ok(),
        "default limits"
    );
    // A stream far longer than the limit (1 GiB of zeros, never materialised).
    let endless = std::io::repeat(0).take(1 << 30);
    let tight = own_budget().limits(Limits::default().max_alloc(1 << 20));
    let (result, peak) = peak_of(|| decode_reader(endless, &tight));
    let err = result.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Limit { .. }), "{err}");
    assert!(peak < 4 << 20, "held {peak} bytes for a 1 MiB limit");
}
