//! `hashsieve eval robustness`: edit benign images in memory, hash originals and edits with every
//! algorithm, and report recall, precision and false-match rates per edit (Markdown, CSV, SVG).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hashsieve::eval::robustness::{self, Algorithm, ImageFiles, Originals, RobustnessOptions};
use hashsieve::eval::transform::{standard_set, Transform};
use hashsieve::matching::MatcherOptions;
use hashsieve::DecodeOptions;

use crate::common;
use crate::samples::BundledPhotos;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Measure how each hash survives edits (JPEG, resizes, crops, rotations, flips, colour,
    /// blur, noise, overlays, combinations) and how often unrelated images collide.
    Robustness(Args),
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Images or directories of images (not searched recursively) to use as originals; they
    /// must be unrelated to each other. Default: the ten sample photos bundled in the binary
    /// (copies of the repository's `tests/data/corpus/photo_*`).
    paths: Vec<PathBuf>,
    /// Edits, comma separated (default: the standard set; `--transforms list` prints it).
    /// Combine edits with `+`, e.g. `resize_50+jpeg_q70`.
    #[arg(long, value_delimiter = ',')]
    transforms: Vec<String>,
    /// Algorithms, comma separated: pdq, pdq+dihedral, pdq+dihedral-exact, phash, dhash, ahash,
    /// whash (and the 256-bit forms).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "pdq,pdq+dihedral,pdq+dihedral-exact,phash,dhash,ahash,whash"
    )]
    algorithms: Vec<Algorithm>,
    /// Seed of the random edits (noise, the overlay's text pattern): same seed, same report.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The precision the reported thresholds keep.
    #[arg(long, default_value_t = 0.999, value_parser = crate::args::fraction)]
    min_precision: f64,
    /// Leave out originals whose PDQ quality is below this (the matcher's default gate; 0 keeps
    /// all).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    min_original_quality: u8,
    /// Gate queries as `match` does by default (PDQ quality 50, the other algorithms 1): a
    /// gated query counts as a miss, so recall is that of a deployment with the gates.
    #[arg(long)]
    gate: bool,
    /// Write the Markdown report here (atomically) instead of standard output.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Also write one CSV row per algorithm and edit here.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Also write one CSV row per query (image, edit, algorithm, distances) here.
    #[arg(long)]
    samples: Option<PathBuf>,
    /// Also write the distances of unrelated pairs (per algorithm and distance: pairs and the
    /// false-match rate of that threshold) here.
    #[arg(long)]
    pairs: Option<PathBuf>,
    /// Also draw ROC curves and distance distributions as SVG here.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// A reference table of edited files (the corpus's TRANSFORMED.tsv) to cross-check the
    /// in-memory edits against: its distances are compared with ours, edit by edit.
    #[arg(long)]
    reference: Option<PathBuf>,
    #[command(flatten)]
    decoding: crate::common::DecodeArgs,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Robustness(args) => robustness_cmd(args),
    }
}

fn robustness_cmd(args: Args) -> anyhow::Result<ExitCode> {
    common::Files::new()
        .inputs(args.paths.iter().map(PathBuf::as_path))
        .inputs(args.reference.as_deref())
        .outputs(
            [
                &args.markdown,
                &args.csv,
                &args.samples,
                &args.pairs,
                &args.plot,
            ]
            .into_iter()
            .filter_map(|p| p.as_deref()),
        )
        .check()?;
    let transforms = if args.transforms.is_empty() {
        standard_set()
    } else if args.transforms == ["list"] {
        for t in standard_set() {
            writeln!(std::io::stdout(), "{}\t{}", t.name(), t.category())?;
        }
        return Ok(ExitCode::SUCCESS);
    } else {
        args.transforms
            .iter()
            .map(|s| s.parse::<Transform>())
            .collect::<Result<_, _>>()?
    };
    let kinds: Vec<hashsieve::HashKind> = args.algorithms.iter().map(|a| a.kind()).collect();
    let decode = args.decoding.apply(DecodeOptions::default(), &kinds);
    let originals: Box<dyn Originals> = if args.paths.is_empty() {
        Box::new(BundledPhotos::new(decode))
    } else {
        Box::new(ImageFiles::new(image_files(&args.paths)?, decode))
    };
    let options = RobustnessOptions::default()
        .transforms(transforms)
        .algorithms(args.algorithms.clone())
        .seed(args.seed)
        .min_precision(args.min_precision)
        .min_original_quality(args.min_original_quality);
    let options = if args.gate {
        options.quality_gates(MatcherOptions::default())
    } else {
        options
    };
    let jobs = (originals.count() * options.transform_list().len()) as u64;
    let pb = common::progress(jobs, "edits");
    if args.quiet {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let report = robustness::run(originals.as_ref(), &options, &|| pb.inc(1))?;
    pb.finish_and_clear();

    let mut markdown = report.to_markdown();
    if let Some(path) = &args.reference {
        let table = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        markdown.push_str(&report.cross_check(&table)?);
    }
    match &args.markdown {
        Some(path) => common::write_atomic(path, markdown.as_bytes())?,
        None => std::io::stdout().write_all(markdown.as_bytes())?,
    }
    if let Some(path) = &args.csv {
        common::write_atomic(path, report.to_csv().as_bytes())?;
    }
    if let Some(path) = &args.samples {
        common::write_atomic(path, report.samples_csv().as_bytes())?;
    }
    if let Some(path) = &args.pairs {
        common::write_atomic(path, report.unrelated_csv().as_bytes())?;
    }
    if let Some(path) = &args.plot {
        common::write_atomic(path, report.to_svg()?.as_bytes())?;
    }
    for e in &report.excluded {
        eprintln!("hashsieve: left out {}: {}", e.name, e.reason);
    }
    for f in &report.failures {
        eprintln!(
            "hashsieve: {} / {}: {}",
            report.images[f.image as usize],
            report.transforms[f.transform as usize].name(),
            f.message
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The files to use as originals: files as given, and directories' image files (not
/// recursively).
fn image_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if !p.is_dir() {
            // A pipe or device would block or never end: refuse it rather than wait.
            common::regular_file(p)?;
            files.push(p.to_path_buf());
            continue;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file() && is_image_name(f))
            .collect();
        entries.sort();
        files.extend(entries);
    }
    Ok(files)
}

fn is_image_name(p: &Path) -> bool {
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "tif" | "tiff"
    )
}
