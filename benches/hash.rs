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

criterion_group!(benches, bench_hash);
criterion_main!(benches);
