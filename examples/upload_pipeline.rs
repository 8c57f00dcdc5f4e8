//! A platform-style upload screening loop: hash each upload's bytes in memory (no pixel ever
//! touches disk), gate low-quality hashes, match against a hash list with dihedral fan-out, and
//! hand match records to a review queue.
//!
//! Run: `cargo run --release --example upload_pipeline [LIST.hsl] [IMAGE...]`. Without arguments
//! it builds a small list from the bundled sample photos and screens their edited variants.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use hashsieve::algo::pdq::{DihedralMode, PdqOptions};
use hashsieve::algo::Hasher;
use hashsieve::list::EntryMeta;
use hashsieve::matching::{ListOptions, MatchRecord, Matcher, Query, QueryResult};
use hashsieve::{HashKind, HashList, ListBuilder};
use rayon::prelude::*;

/// What the pipeline hands to human review: the upload's id and the match records.
struct ReviewItem {
    upload: String,
    matches: Vec<MatchRecord>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    // Exact dihedral variants: rotated or mirrored uploads of a listed image come back at the
    // distance the unrotated copy would have (the reference's variants can be far off).
    let hasher = Hasher::new().pdq_options(PdqOptions::default().dihedral(DihedralMode::Exact));

    let matcher = Matcher::new();
    let uploads: Vec<PathBuf> = if let Some((list, images)) = args.split_first() {
        matcher.add_list(HashList::read(list)?, ListOptions::default())?;
        images.to_vec()
    } else {
        let mut b = ListBuilder::new(HashKind::Pdq)
            .name("sample-known")
            .version("demo");
        for name in ["photo_002.png", "photo_003.png", "photo_009.jpg"] {
            let out = hasher.hash_bytes(&std::fs::read(sample.join(name))?, &[HashKind::Pdq])?;
            b.add(
                out[0].value,
                EntryMeta::new(name).quality(out[0].quality.unwrap_or(0)),
            )?;
        }
        matcher.add_list(HashList::from_bytes(b.to_vec()?)?, ListOptions::default())?;
        let mut files: Vec<PathBuf> = walk(&sample.join("transformed"));
        files.push(sample.join("photo_007.png"));
        files
    };

    // The review queue: a channel a reviewer service would consume.
    let (to_review, review) = mpsc::channel::<ReviewItem>();
    uploads.par_iter().for_each_with(to_review, |queue, path| {
        // In a service these bytes come from the upload request.
        let Ok(bytes) = std::fs::read(path) else {
            return;
        };
        let image = match hashsieve::image::decode(&bytes, &hasher.decode_options) {
            Ok(image) => image,
            Err(err) => {
                eprintln!("{}: rejected: {err}", path.display());
                return;
            }
        };
        let query = Query::pdq_dihedral(&hasher.pdq_dihedral_pixels(&image.pixels()));
        drop(image); // pixels are freed before matching; only hashes go further
        match matcher.query(&query) {
            QueryResult::Skipped(reason) => eprintln!("{}: not screened: {reason}", path.display()),
            result if !result.matches().is_empty() => {
                let item = ReviewItem {
                    upload: path.display().to_string(),
                    matches: result.matches().to_vec(),
                };
                queue.send(item).expect("review queue open");
            }
            _ => {}
        }
    });

    for item in review {
        for m in &item.matches {
            println!(
                "REVIEW {} -> list {} v{} entries {:?} distance {} (threshold {}) orientation {} quality {:?}",
                item.upload,
                m.list,
                m.list_version,
                m.entry_ids,
                m.distance,
                m.threshold,
                m.orientation.map_or("orig", |d| d.name()),
                m.query_quality
            );
        }
    }
    Ok(())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
