//! Writes the inputs of `benches/decode_memory.sh` into a directory: tiny files whose headers
//! declare 13000 x 13000 images (GIF, PNG, BMP, WebP), real small files that decode to
//! 13000 x 13000 pixels, a PNG whose ICC profile inflates to 250 MB, and synthetic 12 MP and
//! 24 MP photos (JPEG).
//!
//! ```text
//! cargo run --release --example decode_bombs -- OUT_DIR
//! ```

use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};

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
    write("gif_13000.gif", &gif_header(SIDE, SIDE))?;
    write("png_13000_rgb.png", &png_header(SIDE, SIDE, 2))?;
    write("png_13000_grey.png", &png_header(SIDE, SIDE, 0))?;
    write("bmp_13000.bmp", &bmp_header(SIDE, SIDE))?;
    write("webp_13000_vp8l.webp", &webp_vp8l_header(SIDE, SIDE))?;
    write("webp_13000_vp8x.webp", &webp_vp8x_header(SIDE, SIDE))?;

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

/// 35 bytes: a 13000 x 13000 logical screen and frame, a 2-colour palette, one byte of LZW data.
fn gif_header(w: u32, h: u32) -> Vec<u8> {
    let (w, h) = ((w as u16).to_le_bytes(), (h as u16).to_le_bytes());
    let mut g = b"GIF89a".to_vec();
    g.extend_from_slice(&[w[0], w[1], h[0], h[1], 0x80, 0, 0]);
    g.extend_from_slice(&[0, 0, 0, 0xff, 0xff, 0xff]);
    g.extend_from_slice(&[0x2C, 0, 0, 0, 0, w[0], w[1], h[0], h[1], 0]);
    g.extend_from_slice(&[2, 2, 0x4C, 0x01, 0, 0x3B]);
    g
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An IHDR declaring `w` x `h` 8-bit pixels of `colour` type, an IDAT holding one empty stored
/// deflate block, and IEND.
fn png_header(w: u32, h: u32, colour: u8) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, colour, 0, 0, 0]);
    png_chunk(&mut p, b"IHDR", &ihdr);
    png_chunk(&mut p, b"IDAT", &[0x78, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff]);
    png_chunk(&mut p, b"IEND", &[]);
    p
}

/// A 24-bit BMP info header declaring `w` x `h`, with 64 bytes of pixels.
fn bmp_header(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&(54u32 + 64).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&(w as i32).to_le_bytes());
    b.extend_from_slice(&(h as i32).to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 24]);
    b.extend_from_slice(&[0; 64]);
    b
}

fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (kind, chunk) in chunks {
        body.extend_from_slice(*kind);
        body.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        body.extend_from_slice(chunk);
        if chunk.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut w = b"RIFF".to_vec();
    w.extend_from_slice(&(body.len() as u32).to_le_bytes());
    w.extend_from_slice(&body);
    w
}

/// The 5-byte VP8L header of a `w` x `h` image without alpha, then 3 bytes of zeros.
fn vp8l(w: u32, h: u32) -> Vec<u8> {
    let bits = (w - 1) | ((h - 1) << 14);
    let mut v = vec![0x2F];
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(&[0; 3]);
    v
}

/// A simple lossless WebP whose VP8L header declares `w` x `h`.
fn webp_vp8l_header(w: u32, h: u32) -> Vec<u8> {
    riff(&[(b"VP8L", vp8l(w, h))])
}

/// An extended WebP whose canvas and VP8L header both declare `w` x `h`.
fn webp_vp8x_header(w: u32, h: u32) -> Vec<u8> {
    let (cw, ch) = ((w - 1).to_le_bytes(), (h - 1).to_le_bytes());
    let vp8x = vec![0, 0, 0, 0, cw[0], cw[1], cw[2], ch[0], ch[1], ch[2]];
    riff(&[(b"VP8X", vp8x), (b"VP8L", vp8l(w, h))])
}

/// A photo-like `w` x `h` JPEG (smooth gradients, edges and noise), quality 90.
fn photo_jpeg(w: u32, h: u32) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    let mut seed = 0x9E37_79B9u32;
    for y in 0..h {
        for x in 0..w {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed >> 28) as u8;
            let disc = ((x / 300 + y / 200) % 2) as u8 * 60;
            rgb.push(((x * 255 / w) as u8).wrapping_add(noise));
            rgb.push(((y * 255 / h) as u8).wrapping_add(disc));
            rgb.push((((x + y) * 255 / (w + h)) as u8) ^ noise);
        }
    }
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 90).write_image(&rgb, w, h, ExtendedColorType::Rgb8)?;
    Ok(out.into_inner())
}
