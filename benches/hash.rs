//! Hashing throughput, one image per iteration, single thread.
//!
//! * `hash/pdq/<size>`: PDQ from decoded RGB pixels (the fast path, the library default).
//! * `hash/pdq_reference/<size>`: the straightforward full-plane PDQ (a transcription of the
//!   reference C++ algorithm), as a same-run baseline.
//! * `hash/pdq_dihedral/<size>`, `hash/pdq_dihedral_exact/<size>`: all eight dihedral hashes,
//!   derived from the DCT as the reference does, and the exact ones (hashes of the transformed
//!   pixels).
//! * `hash/pdq_jpeg/<size>`: JPEG bytes -> `hashsieve::image::decode` (limits on) -> PDQ.
//! * `hash/phash/<size>`, `hash/phash_jpeg/<size>`: the same for pHash.
//! * `hash/pdq_jpeg/{exact,fast,image_rs}/{1080p,12mp,1080p_420,12mp_420}` and
//!   `hash/phash_jpeg/...`: end to end through `Hasher::hash_bytes` (as an embedder calls it)
//!   from the JPEG bytes of a photo (tests/data/corpus/photo_015.jpg, CC0, resized to 1920x1080
//!   and 4000x3000 and encoded at quality 90 when the bench starts, with full-resolution chroma
//!   (4:4:4) and, as `*_420`, halved chroma (4:2:0, what cameras and Pillow write)) with each decode
//!   mode: `exact` (libjpeg-turbo's pixels, `DecodeMode::Exact`), `fast` (DCT-scaled,
//!   `DecodeMode::fast_for` the hash) and `image_rs` (`DecodeMode::PureRust`). The JPEGs are
//!   also written to `target/jpeg-bench/` for `benches/peers/jpeg_e2e.sh`, which times Pillow +
//!   pdqhash / imagehash on the same files.
//!
//! Inputs are synthetic smooth-plus-noise images from a fixed seed, built outside the timed
//! loop. Run with `cargo bench --bench hash`.

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hashsieve::algo::imagehash::{phash, ImageHashOptions};
use hashsieve::algo::pdq::internals;
use hashsieve::algo::pdq::{pdq, pdq_dihedral_with, DihedralMode, LumaMode, PdqOptions};
use hashsieve::{PixelBuffer, PixelLayout};

mod common;

const SIZES: [(u32, u32); 3] = [(512, 512), (1920, 1080), (4000, 3000)];

/// A smooth image with noise: what photos look like to a box filter. Fixed seed.
fn smooth_noise_rgb(w: u32, h: u32) -> Vec<u8> {
    let mut rng = common::xorshift::Xorshift64(0x2545_F491_4F6C_DD1D);
    let mut noise = move || (rng.next() >> 59) as f64 - 16.0;
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
            for c in 0..3 {
                let phase = f64::from(c) * 1.7;
                let v = 128.0
                    + 70.0 * (fx * 9.0 + phase).sin() * (fy * 7.0 - phase).cos()
                    + 30.0 * (fx * 31.0 + fy * 23.0).sin()
                    + noise();
                out.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

fn jpeg(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut bytes), 90);
    image::ImageEncoder::write_image(enc, rgb, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    bytes
}

fn decode(bytes: &[u8]) -> hashsieve::image::DecodedImage {
    hashsieve::image::decode(bytes, &hashsieve::DecodeOptions::default()).expect("decode")
}

fn bench_hash(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_millis(500));
    for (w, h) in SIZES {
        let id = format!("{w}x{h}");
        let big = u64::from(w) * u64::from(h) > 4_000_000;
        g.sample_size(if big { 10 } else { 20 });
        g.measurement_time(Duration::from_secs(if big { 4 } else { 2 }));

        let rgb = smooth_noise_rgb(w, h);
        let px = PixelBuffer::packed(&rgb, w, h, PixelLayout::Rgb8).expect("pixels");

        // A broken kernel must not look fast: the fast path must match the straightforward one.
        let fast = pdq(&px);
        let a = internals::downsample_reference(&px, LumaMode::Float64, true);
        assert_eq!(
            fast.hash,
            internals::bits(&internals::dct16(&a)),
            "pdq fast path disagrees"
        );
        assert_eq!(fast.quality, internals::quality(&a));

        g.bench_function(BenchmarkId::new("pdq", &id), |b| {
            b.iter(|| pdq(black_box(&px)))
        });
        if !big {
            g.bench_function(BenchmarkId::new("pdq_reference", &id), |b| {
                b.iter(|| {
                    let a =
                        internals::downsample_reference(black_box(&px), LumaMode::Float64, true);
                    internals::bits(&internals::dct16(&a))
                })
            });
        }
        for (name, mode) in [
            ("pdq_dihedral", DihedralMode::Reference),
            ("pdq_dihedral_exact", DihedralMode::Exact),
        ] {
            let o = PdqOptions::default().dihedral(mode);
            g.bench_function(BenchmarkId::new(name, &id), |b| {
                b.iter(|| pdq_dihedral_with(black_box(&px), &o))
            });
        }
        let opts = ImageHashOptions::default();
        g.bench_function(BenchmarkId::new("phash", &id), |b| {
            b.iter(|| phash(black_box(&px), &opts))
        });

        let bytes = jpeg(&rgb, w, h);
        g.bench_function(BenchmarkId::new("pdq_jpeg", &id), |b| {
            b.iter(|| pdq(&decode(black_box(&bytes)).pixels()))
        });
        g.bench_function(BenchmarkId::new("phash_jpeg", &id), |b| {
            b.iter(|| phash(&decode(black_box(&bytes)).pixels(), &opts))
        });
    }
    g.finish();
}

/// The bench photo resized to `w` x `h` and encoded at quality 90, with chroma at full
/// resolution (4:4:4, the `image` crate's encoder) or halved both ways (4:2:0, as cameras, phones
/// and Pillow write it; `jpeg-encoder`), also written to `target/jpeg-bench/` for the Python side.
fn photo_jpeg(w: u32, h: u32, name: &str, subsampled: bool) -> Vec<u8> {
    let src = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/corpus/photo_015.jpg"
    ))
    .expect("bench photo")
    .to_rgb8();
    let resized = image::imageops::resize(&src, w, h, image::imageops::FilterType::Triangle);
    let bytes = if subsampled {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        enc.encode(
            resized.as_raw(),
            u16::try_from(w).expect("width"),
            u16::try_from(h).expect("height"),
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("encode 4:2:0");
        out
    } else {
        jpeg(resized.as_raw(), w, h)
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/jpeg-bench");
    std::fs::create_dir_all(&dir).expect("target/jpeg-bench");
    std::fs::write(dir.join(format!("{name}.jpg")), &bytes).expect("write bench JPEG");
    bytes
}

fn bench_jpeg_modes(c: &mut Criterion) {
    use hashsieve::image::DecodeMode;
    use hashsieve::HashKind;
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_millis(500));
    for (w, h, name, subsampled) in [
        (1920, 1080, "1080p", false),
        (4000, 3000, "12mp", false),
        (1920, 1080, "1080p_420", true),
        (4000, 3000, "12mp_420", true),
    ] {
        let big = w == 4000;
        g.sample_size(if big { 10 } else { 20 });
        g.measurement_time(Duration::from_secs(if big { 4 } else { 2 }));
        let bytes = photo_jpeg(w, h, name, subsampled);
        for (mode_name, pdq_mode, phash_mode) in [
            ("exact", DecodeMode::Exact, DecodeMode::Exact),
            (
                "fast",
                DecodeMode::fast_for([HashKind::Pdq]),
                DecodeMode::fast_for([HashKind::PHash]),
            ),
            ("image_rs", DecodeMode::PureRust, DecodeMode::PureRust),
        ] {
            // End to end as an embedder calls it: `Hasher::hash_bytes` decodes (straight to
            // grey where only pHash is asked) and hashes.
            let hasher = |mode| {
                hashsieve::algo::Hasher::new()
                    .decode_options(hashsieve::DecodeOptions::default().mode(mode))
            };
            let (pdq_hasher, phash_hasher) = (hasher(pdq_mode), hasher(phash_mode));
            // A broken decoder must not look fast: the image has the size the mode promises.
            let img = hashsieve::image::decode(
                &bytes,
                &hashsieve::DecodeOptions::default().mode(pdq_mode),
            )
            .expect("decode");
            let d = u32::from(pdq_mode.jpeg_scale_denom(w, h));
            if cfg!(feature = "jpeg-exact") {
                assert_eq!((img.width(), img.height()), (w.div_ceil(d), h.div_ceil(d)));
            }
            g.bench_function(
                BenchmarkId::new(format!("pdq_jpeg/{mode_name}"), name),
                |b| b.iter(|| pdq_hasher.hash_bytes(black_box(&bytes), &[HashKind::Pdq])),
            );
            g.bench_function(
                BenchmarkId::new(format!("phash_jpeg/{mode_name}"), name),
                |b| b.iter(|| phash_hasher.hash_bytes(black_box(&bytes), &[HashKind::PHash])),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench_hash, bench_jpeg_modes);
criterion_main!(benches);
