//! `hashsieve update`: a new version of a list from the old one plus a delta.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hashsieve::index::IndexKind;
use hashsieve::list::update::{update, Delta};
use hashsieve::ListBuilder;

use crate::build::open_input;

/// Apply a delta to a list: lines `+<hex>[,<id>]` add, `-<hex>` removes a hash, `-<hex>,<id>`
/// removes one entry (or a CSV with an `op` column). Writes the new list atomically; OUT may be
/// the base itself.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The current list.
    #[arg(long, value_name = "OLD")]
    base: PathBuf,
    /// The delta file; `-` reads standard input.
    #[arg(long, value_name = "DELTA")]
    delta: PathBuf,
    /// Where to write the new list.
    #[arg(short = 'o', long = "output", value_name = "NEW")]
    output: PathBuf,
    /// The new list's version string (default: the base's).
    #[arg(long = "list-version", value_name = "V")]
    list_version: Option<String>,
    /// Reject added entries whose quality is below Q (default 50 for PDQ, 0 otherwise).
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: Option<u8>,
    /// Keep added all-zero and all-one hashes.
    #[arg(long)]
    allow_degenerate: bool,
    /// Skip up to N malformed delta lines instead of failing on the first. A delta whose every
    /// line is malformed fails whatever N is.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = crate::args::limit)]
    max_errors: u64,
    /// Search index to embed: mih, bktree, auto (chosen from list size and threshold), or
    /// linear (none). Default: the kind the input list had (none if it had none).
    #[arg(long, value_name = "KIND")]
    index: Option<IndexKind>,
    /// The threshold the embedded index is tuned for (default: the algorithm's, PDQ 31).
    #[arg(long, value_name = "T", value_parser = crate::args::threshold)]
    index_threshold: Option<u32>,
    /// Write the new list even when it has no entry left.
    #[arg(long)]
    allow_empty: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::common::Files::new()
        .lists([args.base.as_path()])
        .inputs([args.delta.as_path()])
        .outputs([args.output.as_path()])
        .check()?;
    let base = crate::common::open_list(&args.base).context("cannot open the base list")?;
    let (reader, name) = open_input(&args.delta)?;
    let delta = Delta::parse(reader, &name, base.kind(), args.max_errors)
        .with_context(|| format!("cannot read the delta {name}; nothing was written"))?;
    for m in delta.messages() {
        eprintln!("hashsieve: warning: skipped malformed line {m}");
    }
    let mut builder = ListBuilder::new(base.kind())
        .name(base.name())
        .version(
            args.list_version
                .clone()
                .unwrap_or_else(|| base.version().to_owned()),
        )
        .allow_degenerate(args.allow_degenerate);
    if let Some(q) = args.min_quality {
        builder = builder.min_quality(q);
    }
    if let Some(t) = args.index_threshold {
        crate::args::check_threshold(t, base.kind())?;
    }
    let inherited = base.index_kind();
    if let Some(o) =
        crate::build::index_options(args.index, args.index_threshold, inherited, base.kind())
    {
        builder = builder.index(o);
    }
    let report = update(&base, &delta, &mut builder)?;
    eprintln!("{name}: {report}");
    crate::build::check_not_empty(&builder, args.allow_empty, &args.output)?;
    let built = builder
        .write(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!("{}: {built}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
