//! Unit tests of the pieces: the DCT against scipy's coefficients, the resampler against Pillow's
//! pixels (both pass orders), every SIMD kernel against the scalar oracle, and the small rules
//! (median, bit order, sizes). End-to-end hash conformance lives in
//! `tests/imagehash_conformance.rs`.

use std::path::PathBuf;

use super::pillow::{self, Kernels, Scalar, Weights};
use super::*;
use crate::image::PixelLayout;

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// The data rows of a fixture TSV (comment lines and the header skipped), split on tabs.
fn rows(path: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(data(path)).expect("fixture");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn dct_matches_scipy_bit_for_bit() {
    let cases = rows("imagehash/dct.tsv");
    assert!(cases.len() >= 10, "dct.tsv has {} rows", cases.len());
    for row in &cases {
        let n: usize = row[1].parse().unwrap();
        let size = if n == 32 {
            dct::DctSize::N32
        } else {
            dct::DctSize::N64
        };
        let pixels = unhex(&row[2]);
        let keep = n / 4;
        let got = dct::dct2d_top_left(size, &pixels, keep);
        let want: Vec<u64> = (0..keep * keep)
            .map(|i| u64::from_str_radix(&row[3][16 * i..16 * i + 16], 16).unwrap())
            .collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.to_bits(),
                *w,
                "{} n={n}: coefficient ({}, {}) = {g:e}",
                row[0],
                i / keep,
                i % keep
            );
        }
    }
}

/// Decodes a fixture image to packed RGB.
fn rgb_image(path: &str) -> (Vec<u8>, usize, usize) {
    let img = ::image::open(data(path)).expect("decode").to_rgb8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w as usize, h as usize)
}

/// Resizes with both the scalar oracle and the selected kernels, checks they agree, returns it.
fn resize_both(px: &PixelBuffer<'_>, w: usize, h: usize, order: ResizeOrder) -> Vec<u8> {
    let fast = simd::grey_resize(px, w, h, order);
    let slow = pillow::grey_resize(Scalar, px, w, h, order);
    assert_eq!(fast, slow, "SIMD and scalar resize differ");
    fast.pixels
}

#[test]
fn resize_matches_pillow_in_both_pass_orders() {
    let cases = rows("imagehash/resize.tsv");
    assert!(cases.len() >= 40, "resize.tsv has {} rows", cases.len());
    let mut orders_differ = 0;
    for row in &cases {
        let (rgb, width, _) = rgb_image(&row[0]);
        let n: Vec<usize> = row[1..5].iter().map(|v| v.parse().unwrap()).collect();
        let (w, h, ow, oh) = (n[0], n[1], n[2], n[3]);
        // The top-left w x h crop, borrowed with the full image's stride.
        let px = PixelBuffer::new(&rgb, w as u32, h as u32, width * 3, PixelLayout::Rgb8).unwrap();
        let order = if row[5] == "13" {
            ResizeOrder::Pillow13
        } else {
            ResizeOrder::Pillow12
        };
        let got = resize_both(&px, ow, oh, order);
        assert_eq!(
            got,
            unhex(&row[6]),
            "{w}x{h} -> {ow}x{oh}, Pillow {}",
            row[5]
        );
        let other = if order == ResizeOrder::Pillow13 {
            ResizeOrder::Pillow12
        } else {
            ResizeOrder::Pillow13
        };
        if resize_both(&px, ow, oh, other) != got {
            orders_differ += 1;
        }
    }
    // The fixture holds cases where the two orders give different pixels (each counted twice).
    assert!(
        orders_differ >= 10,
        "only {orders_differ} cases distinguish the pass orders"
    );
}

#[test]
fn pillow13_pass_order_rule() {
    use pillow::vertical_first as vf;
    let p13 = ResizeOrder::Pillow13;
    // in_h - out_h > 2 * (in_w - out_w), both sides changing, height shrinking.
    assert!(!vf(p13, 100, 168, 32, 32)); // 136 == 136
    assert!(vf(p13, 100, 169, 32, 32)); // 137 > 136
    assert!(vf(p13, 20, 250, 32, 32)); // width grows
    assert!(!vf(p13, 250, 20, 32, 32)); // height grows
    assert!(!vf(p13, 32, 200, 32, 32)); // only the height changes
    assert!(!vf(p13, 1920, 1080, 32, 32));
    assert!(!vf(p13, 1080, 1920, 32, 32)); // 1888 < 2096: a 9:16 portrait still goes horizontal first
    assert!(vf(p13, 1080, 2400, 32, 32));
    assert!(!vf(ResizeOrder::Pillow12, 1080, 1920, 32, 32));
}

#[test]
fn weights_are_normalised_and_in_bounds() {
    for (input, output) in [
        (1, 8),
        (3, 32),
        (451, 32),
        (4000, 9),
        (300, 300),
        (64, 63),
        (7, 1),
    ] {
        let w = Weights::new(input, output);
        assert_eq!(w.bounds.len(), output);
        assert_eq!(w.stride % pillow::BLOCK, 0);
        for (i, &(first, taps)) in w.bounds.iter().enumerate() {
            assert!(
                taps >= 1 && taps <= w.stride && first + taps <= input,
                "{input}->{output} #{i}"
            );
            let row = &w.fixed[i * w.stride..(i + 1) * w.stride];
            let sum: i64 = row.iter().map(|&v| i64::from(v)).sum();
            // Each weight is rounded to 22 fractional bits, so the sum is 2^22 within the taps.
            assert!(
                (sum - (1 << 22)).abs() <= taps as i64,
                "{input}->{output} #{i}: sum {sum}"
            );
            assert!(row[taps..].iter().all(|&v| v == 0));
            for t in 0..w.stride {
                let k = i * w.stride + t;
                assert_eq!(
                    pillow::combine(i32::from(w.hi[k]), i32::from(w.lo[k])),
                    w.fixed[k]
                );
            }
        }
    }
}

/// Every SIMD kernel against the scalar oracle, on lengths that cross the vector widths.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_kernels_match_scalar() {
    let Some(avx2) = crate::arch::x86::Avx2::new() else {
        eprintln!("no AVX2 on this CPU: nothing to compare");
        return;
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for layout in [
        PixelLayout::Rgb8,
        PixelLayout::Rgba8,
        PixelLayout::Bgra8,
        PixelLayout::Luma8,
    ] {
        for n in 0..=70 {
            let src = rng.bytes(n * layout.bytes_per_pixel());
            let (mut a, mut b) = (vec![0u8; n], vec![0u8; n]);
            Scalar.grey_row(&src, layout, &mut a);
            avx2.grey_row(&src, layout, &mut b);
            assert_eq!(a, b, "grey_row {layout:?} n={n}");
        }
    }
    // Extreme pixels and weights included: 0/255 and +-(2^22 - 1).
    let weight = |rng: &mut Rng| match rng.next() % 4 {
        0 => (1 << 22) - 1,
        1 => -(1 << 22) + 1,
        _ => (rng.next() % (1 << 23)) as i32 - (1 << 22),
    };
    for n in (16..=160).step_by(16) {
        for _ in 0..20 {
            let px: Vec<u8> = rng
                .bytes(n)
                .into_iter()
                .map(|p| if p % 5 == 0 { 255 } else { p })
                .collect();
            let fixed: Vec<i32> = (0..n).map(|_| weight(&mut rng)).collect();
            let hi: Vec<i16> = fixed.iter().map(|&w| (w >> 11) as i16).collect();
            let lo: Vec<i16> = fixed.iter().map(|&w| (w & 0x7ff) as i16).collect();
            assert_eq!(
                Scalar.dot(&px, &fixed, &hi, &lo),
                avx2.dot(&px, &fixed, &hi, &lo),
                "dot n={n}"
            );
        }
    }
    for n in 0..=41 {
        let px = rng.bytes(n);
        let w = weight(&mut rng);
        let start: Vec<i32> = (0..n).map(|_| rng.next() as i32).collect();
        let (mut a, mut b) = (start.clone(), start);
        Scalar.axpy(&px, w, &mut a);
        avx2.axpy(&px, w, &mut b);
        assert_eq!(a, b, "axpy n={n}");
    }
    // Whole resizes (both pass orders, every layout), including odd sizes and row strides.
    for (w, h, ow, oh) in [
        (37, 53, 32, 32),
        (53, 37, 9, 8),
        (10, 90, 16, 16),
        (90, 10, 64, 64),
        (5, 5, 8, 8),
    ] {
        for layout in [PixelLayout::Rgb8, PixelLayout::Bgra8, PixelLayout::Luma8] {
            let stride = w * layout.bytes_per_pixel() + 3;
            let buf = rng.bytes(stride * h);
            let px = PixelBuffer::new(&buf, w as u32, h as u32, stride, layout).unwrap();
            for order in [ResizeOrder::Pillow13, ResizeOrder::Pillow12] {
                assert_eq!(
                    pillow::grey_resize(avx2, &px, ow, oh, order),
                    pillow::grey_resize(Scalar, &px, ow, oh, order),
                    "{w}x{h} -> {ow}x{oh} {layout:?} {order:?}"
                );
            }
        }
    }
}

#[test]
fn median_follows_numpy() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    // Two middle values that tie: the median equals them, so neither is above it.
    assert_eq!(median(&[0.0, 5.0, 5.0, 9.0]), 5.0);
    let h = above_median(HashSize::Eight, &[0.0, 5.0, 5.0, 9.0]);
    assert_eq!(h, HashValue::Bits64(Hash64::from_u64(0b0001)));
}

#[test]
fn first_cell_is_the_most_significant_bit() {
    let one_hot = |size: HashSize, i: usize| pack(size, (0..size.width() as usize).map(|k| k == i));
    assert_eq!(one_hot(HashSize::Eight, 0).to_hex(), "8000000000000000");
    assert_eq!(one_hot(HashSize::Eight, 63).to_hex(), "0000000000000001");
    assert_eq!(
        one_hot(HashSize::Sixteen, 0).to_hex(),
        format!("8{}", "0".repeat(63))
    );
    assert_eq!(
        one_hot(HashSize::Sixteen, 255).to_hex(),
        format!("{}1", "0".repeat(63))
    );
    // Cell 17 = row 1, column 1: hex digit 4, bit value 4.
    assert_eq!(
        one_hot(HashSize::Sixteen, 17).to_hex(),
        format!("00004{}", "0".repeat(59))
    );
}

#[test]
fn hash_sizes() {
    assert_eq!(HashSize::try_from(8).unwrap(), HashSize::Eight);
    assert_eq!(HashSize::try_from(16).unwrap().width(), 256);
    let err = HashSize::try_from(12).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
    assert_eq!(
        ImageHashOptions::default().hash_size(16).size,
        HashSize::Sixteen
    );
    assert_eq!(ImageHashOptions::default().size, HashSize::Eight);
    assert_eq!(
        ImageHashOptions::default().resize_order,
        ResizeOrder::Pillow13
    );
}

#[test]
#[should_panic(expected = "hash_size must be 8 or 16")]
fn unsupported_hash_size_panics() {
    let _ = ImageHashOptions::default().hash_size(32);
}

#[test]
fn widths_follow_the_hash_size() {
    let grey = vec![7u8; 5 * 3];
    let px = PixelBuffer::packed(&grey, 5, 3, PixelLayout::Luma8).unwrap();
    for f in [phash, dhash, average_hash, whash] {
        assert_eq!(f(&px, &ImageHashOptions::default()).width(), 64);
        assert_eq!(
            f(&px, &ImageHashOptions::default().size(HashSize::Sixteen)).width(),
            256
        );
    }
}
