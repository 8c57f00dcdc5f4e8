//! Writes a directory of benign benchmark JPEGs for `benches/pipeline.sh`: `COUNT` files of
//! `WIDTH` x `HEIGHT` pixels (default 1,000 at 1920 x 1080), each a bundled corpus photo
//! (`tests/data/corpus/photo_*`, licences in its SOURCES.tsv) scaled to cover the frame, cropped
//! at a position and shifted in brightness that depend on the file's number (so that no two files
//! are the same), and encoded at quality 90.
//!
//! ```text
//! cargo run --release --example photo_set -- OUT_DIR [COUNT] [WIDTH] [HEIGHT]
//! ```

use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{ExtendedColorType, ImageEncoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: photo_set OUT_DIR [COUNT] [WIDTH] [HEIGHT]";
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or(usage)?;
    let mut number = |default: u32| -> Result<u32, Box<dyn std::error::Error>> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (count, width, height) = (number(1000)?, number(1920)?, number(1080)?);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    let mut photos = Vec::new();
    for entry in std::fs::read_dir(&corpus)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("photo_") {
            photos.push(path);
        }
    }
    photos.sort();
    if photos.is_empty() {
        return Err(format!("no photo_* files in {}", corpus.display()).into());
    }
    // Each photo scaled once to a little more than the frame, so that crops can move.
    let scaled: Vec<image::RgbImage> = photos
        .iter()
        .map(|p| -> Result<_, Box<dyn std::error::Error>> {
            let img = image::open(p)?.to_rgb8();
            let scale = f64::max(
                f64::from(width + 64) / f64::from(img.width()),
                f64::from(height + 64) / f64::from(img.height()),
            );
            let (w, h) = (
                (f64::from(img.width()) * scale).ceil() as u32,
                (f64::from(img.height()) * scale).ceil() as u32,
            );
            Ok(image::imageops::resize(&img, w, h, FilterType::Triangle))
        })
        .collect::<Result<_, _>>()?;
    std::fs::create_dir_all(&out)?;
    for i in 0..count {
        let src = &scaled[i as usize % scaled.len()];
        let (dx, dy) = (
            (i * 7) % (src.width() - width + 1),
            (i * 13) % (src.height() - height + 1),
        );
        let shift = (i % 9) as i16 - 4;
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in dy..dy + height {
            for x in dx..dx + width {
                let p = src.get_pixel(x, y).0;
                rgb.extend(p.map(|c| (i16::from(c) + shift).clamp(0, 255) as u8));
            }
        }
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, 90).write_image(
            &rgb,
            width,
            height,
            ExtendedColorType::Rgb8,
        )?;
        std::fs::write(Path::new(&out).join(format!("img_{i:05}.jpg")), bytes)?;
    }
    Ok(())
}
