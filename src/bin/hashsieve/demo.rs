//! `hashsieve demo`: the main job on the bundled, benign sample set, with no set-up: build a small
//! list from original photos, scan a folder of edited variants and unrelated photos, and print
//! which matched, at what distance and orientation, and which did not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::Hasher;
use hashsieve::list::EntryMeta;
use hashsieve::matching::{ListOptions, Matcher, Query, QueryResult};
use hashsieve::{HashKind, HashList, ListBuilder};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The sample set: originals at the top, edited variants under `transformed/<edit>/`.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus"))]
    data: PathBuf,
    #[command(flatten)]
    exif: crate::common::ExifArgs,
}

/// The originals that go into the demo list; every other photo is an unrelated negative.
const KNOWN: [&str; 5] = [
    "photo_002.png",
    "photo_003.png",
    "photo_006.png",
    "photo_009.jpg",
    "photo_010.jpg",
];
const UNRELATED: [&str; 5] = [
    "photo_007.png",
    "photo_008.png",
    "photo_011.png",
    "photo_015.jpg",
    "photo_018.jpg",
];

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Written with `?`, not `println!` (which panics on a closed pipe): `demo | head` ends quietly.
    let mut out = std::io::stdout().lock();
    let hasher = Hasher::new().with_decode_options(
        crate::common::decode_options().with_orientation(args.exif.orientation()),
    );
    let pdq = |path: &Path| -> anyhow::Result<hashsieve::algo::pdq::PdqDihedral> {
        let image = hashsieve::image::decode_path(path, hasher.decode_options())
            .with_context(|| format!("cannot read the sample set at {}", args.data.display()))?;
        Ok(hasher.pdq_dihedral_pixels(&image.pixels()))
    };

    let mut builder = ListBuilder::new(HashKind::Pdq)
        .name("demo-known")
        .version("bundled");
    for name in KNOWN {
        let h = pdq(&args.data.join(name))?;
        builder.add(
            h.get(Dihedral::Orig),
            EntryMeta::new(name).quality(h.quality),
        )?;
    }
    let list = HashList::from_bytes(builder.to_vec()?)?;
    writeln!(
        out,
        "Built list {:?}: {} PDQ hashes of bundled photos: {}",
        list.name(),
        list.len(),
        KNOWN.join(", ")
    )?;
    let matcher = Matcher::new();
    matcher.add_list(list, ListOptions::default())?;

    let mut queries: Vec<(String, PathBuf)> = Vec::new();
    let transformed = args.data.join("transformed");
    let mut edits: Vec<PathBuf> = std::fs::read_dir(&transformed)
        .with_context(|| format!("cannot read {}", transformed.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    edits.sort();
    for dir in edits {
        let edit = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files {
            let stem = f
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            queries.push((format!("{edit} of {stem}"), f));
        }
    }
    for name in UNRELATED {
        queries.push((format!("unrelated ({name})"), args.data.join(name)));
    }

    writeln!(
        out,
        "\nScanning {} images (PDQ, all 8 orientations, threshold 31):\n",
        queries.len()
    )?;
    writeln!(
        out,
        "{:<34} {:<10} {:<16} {:>8}  orientation",
        "image", "result", "matched entry", "distance"
    )?;
    let (mut variant_hits, mut variants, mut false_hits) = (0, 0, 0);
    for (label, path) in &queries {
        let unrelated = label.starts_with("unrelated");
        let result = matcher.query(&Query::pdq_dihedral(&pdq(path)?));
        let best = result.matches().first();
        match (&result, best) {
            (QueryResult::Skipped(reason), _) => writeln!(out, "{label:<34} skipped    {reason}")?,
            (_, Some(m)) => {
                let orientation = m.orientation.map(Dihedral::name).unwrap_or("");
                writeln!(
                    out,
                    "{label:<34} {:<10} {:<16} {:>8}  {orientation}",
                    "MATCH", m.entry_ids[0], m.distance
                )?;
            }
            (_, None) => writeln!(out, "{label:<34} {:<10}", "no match")?,
        }
        if unrelated {
            false_hits += usize::from(best.is_some());
        } else {
            variants += 1;
            variant_hits += usize::from(best.is_some());
        }
    }
    writeln!(
        out,
        "\n{variant_hits} of {variants} edited variants matched their original; {false_hits} of {} unrelated photos matched (false matches).",
        UNRELATED.len()
    )?;
    writeln!(out, "Next: `hashsieve hash`, `build`, `match` and `scan` do the same on your own files (see README).")?;
    Ok(ExitCode::SUCCESS)
}
