//! `hashsieve export`: a list as text.

use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hashsieve::fs::AtomicFile;
use hashsieve::list::export::{export_with, ExportFormat, ExportOptions};

/// Write a list as text: csv or jsonl (everything; they import back), hex (hashes, or `hash,id`
/// with --with-ids), pdq-hasher (`hash,quality,id`, as the PDQ C++ tools read it) or pytx-csv
/// (python-threatexchange's dataset CSV).
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The list file.
    #[arg(value_name = "LIST")]
    list: PathBuf,
    /// Output format: csv, jsonl, hex, pdq-hasher, pytx-csv.
    #[arg(long, default_value = "csv")]
    format: ExportFormat,
    /// hex: one `hash,id` line per entry (the PDQ C++ tools' hash-with-metadata form) instead
    /// of one line per unique hash.
    #[arg(long)]
    with_ids: bool,
    /// pdq-hasher: the quality written for entries with none recorded (0..=100; 0 makes
    /// quality gates drop them, 100 keeps them). Without it such an entry fails the export.
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(0..=100))]
    missing_quality: Option<u8>,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::common::Files::new()
        .lists([args.list.as_path()])
        .outputs(args.output.as_deref())
        .check()?;
    if args.with_ids && args.format != ExportFormat::Hex {
        anyhow::bail!(
            "--with-ids is for --format hex; the {} format carries ids already, or has no place for them",
            args.format
        );
    }
    if args.missing_quality.is_some() && args.format != ExportFormat::PdqHasher {
        anyhow::bail!("--missing-quality is for --format pdq-hasher");
    }
    let mut options = ExportOptions::new().ids(args.with_ids);
    if let Some(q) = args.missing_quality {
        options = options.missing_quality(q);
    }
    let list = crate::common::open_list(&args.list).context("cannot open the list")?;
    match &args.output {
        None => {
            let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            export_with(&list, args.format, &options, out).context("cannot export")?;
        }
        Some(path) => {
            // Atomically: an interrupted export leaves no half file, and a file already there
            // stays whole until the new one is complete.
            let mut out = AtomicFile::create(path)?;
            export_with(&list, args.format, &options, &mut out)
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.commit()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
