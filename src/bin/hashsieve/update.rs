//! `hashsieve update`: a new version of a list from the old one plus a delta.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hashsieve::list::update::{update, Delta};
use hashsieve::ListBuilder;

use crate::build::{open_input, EntryArgs, IndexArgs};

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
    #[command(flatten)]
    entries: EntryArgs,
    #[command(flatten)]
    index: IndexArgs,
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
    let delta = Delta::parse(reader, &name, base.kind(), args.entries.max_errors)
        .with_context(|| format!("cannot read the delta {name}; nothing was written"))?;
    for m in delta.messages() {
        eprintln!("hashsieve: warning: skipped malformed line {m}");
    }
    // The role is kept: an updated allow-list stays an allow-list.
    let builder = ListBuilder::new(base.kind())
        .role(base.role())
        .name(base.name())
        .version(
            args.list_version
                .clone()
                .unwrap_or_else(|| base.version().to_owned()),
        );
    args.index.check(base.kind())?;
    let mut builder = args
        .index
        .apply(args.entries.apply(builder), base.index_kind(), base.kind());
    let report = update(&base, &delta, &mut builder)?;
    eprintln!("{name}: {report}");
    crate::build::write_list(builder, args.allow_empty, &args.output)
}
