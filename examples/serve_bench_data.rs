//! Data for `benches/serve_load.sh`: a synthetic PDQ list, query hashes and a 1080p JPEG.
//!
//! Run: `cargo run --release --example serve_bench_data -- DIR SIZE [QUERIES]`
//!
//! Writes into DIR:
//! - `list.hsl`: SIZE random PDQ hashes (fixed seed), 1 in 100 of them a near copy (1..=40
//!   bits flipped) of another, so lookups find matches near the threshold;
//! - `list.txt`: the same hashes as hex, one per line (for python-threatexchange);
//! - `queries.txt`: QUERIES hashes (default 10000): half near copies (0..=40 bits) of list
//!   hashes, half random;
//! - `photo_1080p.jpg`: a synthetic (gradients, blocks, noise) 1920x1080 JPEG.
//!
//! Everything is synthetic and benign; nothing here is committed.

use std::io::Write;
use std::path::PathBuf;

use hashsieve::list::EntryMeta;
use hashsieve::{Hash256, HashKind, ListBuilder};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn hash(&mut self) -> Hash256 {
        Hash256::from_limbs([self.next(), self.next(), self.next(), self.next()])
    }

    fn near(&mut self, h: Hash256, max_bits: u64) -> Hash256 {
        let mut h = h;
        for _ in 0..self.next() % (max_bits + 1) {
            let b = (self.next() % 256) as usize;
            let v = h.bit(b);
            h.set_bit(b, !v);
        }
        h
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: serve_bench_data DIR SIZE [QUERIES]")?,
    );
    let size: usize = args.next().ok_or("SIZE is required")?.parse()?;
    let queries: usize = args.next().map_or(Ok(10_000), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;

    let mut rng = XorShift(0x5EED_0000_0001);
    let mut hashes: Vec<Hash256> = Vec::with_capacity(size);
    for i in 0..size {
        let h = if i % 100 == 99 {
            let j = (rng.next() % i as u64) as usize;
            let base = hashes[j];
            rng.near(base, 40)
        } else {
            rng.hash()
        };
        hashes.push(h);
    }
    let mut text = std::io::BufWriter::new(std::fs::File::create(dir.join("list.txt"))?);
    let mut b = ListBuilder::new(HashKind::Pdq).name("bench").version("1");
    for (i, h) in hashes.iter().enumerate() {
        writeln!(text, "{h}")?;
        b.add(*h, EntryMeta::new(&i.to_string()))?;
    }
    text.flush()?;
    b.write(dir.join("list.hsl"))?;

    let mut q = std::io::BufWriter::new(std::fs::File::create(dir.join("queries.txt"))?);
    for i in 0..queries {
        let h = if i % 2 == 0 {
            let base = hashes[(rng.next() % size as u64) as usize];
            rng.near(base, 40)
        } else {
            rng.hash()
        };
        writeln!(q, "{h}")?;
    }
    q.flush()?;

    let (w, h) = (1920u32, 1080u32);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let noise = (rng.next() >> 60) as u8;
            let block = ((x / 300 + y / 200) % 2) as u8 * 60;
            rgb.push(((x * 255 / w) as u8).wrapping_add(noise));
            rgb.push(((y * 255 / h) as u8).wrapping_add(block));
            rgb.push((((x + y) * 255 / (w + h)) as u8) ^ noise);
        }
    }
    let img = image::RgbImage::from_raw(w, h, rgb).ok_or("image size")?;
    img.save_with_format(dir.join("photo_1080p.jpg"), image::ImageFormat::Jpeg)?;
    eprintln!(
        "wrote {} hashes and {queries} queries to {}",
        size,
        dir.display()
    );
    Ok(())
}
