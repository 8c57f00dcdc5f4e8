//! `hashsieve demo`: the main job on the bundled, benign sample set, with no set-up: build a small
//! list from original photos, scan a folder of edited variants and unrelated photos, and print
//! which matched, at what distance and orientation, and which did not.
//!
//! The sample set is compiled into the binary (see `samples.rs`), so an installed `hashsieve demo`
//! needs no source tree; `--data DIR` runs it on a directory of the same layout instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::Hasher;
use hashsieve::list::EntryMeta;
use hashsieve::matching::{ListOptions, Matcher, Query, QueryResult};
use hashsieve::{HashKind, HashList, ListBuilder};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Run on this sample set instead of the bundled one: the photos named in the output at the
    /// top, edited variants under `transformed/<edit>/` (the layout of the repository's
    /// `tests/data/corpus`, whose SOURCES.tsv credits the bundled photos).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(flatten)]
    decoding: crate::common::DecodeArgs,
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
    let hasher = Hasher::new().decode_options(
        args.decoding
            .apply(crate::common::decode_options(), &[hashsieve::HashKind::Pdq]),
    );
    let samples = crate::samples::SampleSet::new(args.data);
    let pdq = |rel: &str| -> anyhow::Result<hashsieve::algo::pdq::PdqDihedral> {
        let image = samples.decode(rel, &hasher.decode_options)?;
        Ok(hasher.pdq_dihedral_pixels(&image.pixels()))
    };

    let mut builder = ListBuilder::new(HashKind::Pdq)
        .name("demo-known")
        .version("bundled");
    for name in KNOWN {
        let h = pdq(name)?;
        builder.add(
            h.get(Dihedral::Orig),
            EntryMeta::new(name).quality(h.quality),
        )?;
    }
    let list = HashList::from_bytes(builder.to_vec()?)?;
    writeln!(
        out,
        "Built list {:?}: {} PDQ hashes of sample photos: {}",
        list.name(),
        list.len(),
        KNOWN.join(", ")
    )?;
    let matcher = Matcher::new();
    matcher.add_list(list, ListOptions::default())?;

    let mut queries: Vec<(String, String)> = Vec::new();
    for (edit, rel) in samples.variants()? {
        let stem = Path::new(&rel)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        queries.push((format!("{edit} of {stem}"), rel));
    }
    for name in UNRELATED {
        queries.push((format!("unrelated ({name})"), name.to_string()));
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
    for (label, rel) in &queries {
        let unrelated = label.starts_with("unrelated");
        let result = matcher.query(&Query::pdq_dihedral(&pdq(rel)?));
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
