//! Writes the inputs of `benches/decode_memory.sh` into a directory: tiny files whose headers
//! declare 13000 x 13000 images (GIF, PNG, BMP, WebP), real small files that decode to
//! 13000 x 13000 pixels, a PNG whose ICC profile inflates to 250 MB, and synthetic 12 MP and
//! 24 MP photos (JPEG).
//!
//! ```text
//! cargo run --release --example decode_bombs -- OUT_DIR
//! ```

#[path = "../tests/common/crafted.rs"]
mod crafted;

use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crafted::{bmp_header, gif_header, photo_rgb, png_header, riff, vp8l, webp_vp8x};

const SIDE: u32 = 13_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .ok_or("usage: decode_bombs OUT_DIR")?;
    let out = Path::new(&out);
    std::fs::create_dir_all(out)?;
    let write = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        println!("{name}: {} bytes", bytes.len());
        std::fs::write(out.join(name), bytes)
    };
    let side = SIDE as u16;
    write("gif_13000.gif", &gif_header(side, side, side, side))?;
    write("png_13000_rgb.png", &png_header(SIDE, SIDE, 2))?;
    write("png_13000_grey.png", &png_header(SIDE, SIDE, 0))?;
    write("bmp_13000.bmp", &bmp_header(SIDE, SIDE))?;
    write(
        "webp_13000_vp8l.webp",
        &riff(&[(b"VP8L", vp8l(SIDE, SIDE))]),
    )?;
    write("webp_13000_vp8x.webp", &webp_vp8x(SIDE, SIDE, 0))?;

    // Real files: a flat 13000 x 13000 image compresses to a few KB (WebP) or ~170 KB (PNG).
    let grey = vec![128u8; (SIDE * SIDE) as usize];
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Best, FilterType::NoFilter)
        .write_image(&grey, SIDE, SIDE, ExtendedColorType::L8)?;
    write("png_13000_grey_real.png", &png)?;
    drop(grey);
    let rgb = vec![128u8; (SIDE * SIDE * 3) as usize];
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp).write_image(&rgb, SIDE, SIDE, ExtendedColorType::Rgb8)?;
    write("webp_13000_real.webp", &webp)?;
    drop(rgb);

    // A 16 x 16 PNG whose ICC profile inflates to 250 MB, before the dimensions are known.
    let mut icc = Vec::new();
    let mut encoder =
        PngEncoder::new_with_quality(&mut icc, CompressionType::Best, FilterType::NoFilter);
    encoder.set_icc_profile(vec![0; 250_000_000])?;
    encoder.write_image(&[128; 16 * 16 * 3], 16, 16, ExtendedColorType::Rgb8)?;
    write("png_icc_bomb.png", &icc)?;

    for (name, w, h) in [("jpeg_12mp.jpg", 4000, 3000), ("jpeg_24mp.jpg", 6000, 4000)] {
        write(name, &photo_jpeg(w, h)?)?;
    }
    Ok(())
}

/// A photo-like `w` x `h` JPEG (smooth gradients, edges and noise), quality 90.
fn photo_jpeg(w: u32, h: u32) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let rgb = photo_rgb(w, h);
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 90).write_image(&rgb, w, h, ExtendedColorType::Rgb8)?;
    Ok(out.into_inner())
}
