//! `hashsieve merge`: several lists into one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use hashsieve::index::IndexKind;
use hashsieve::list::update::merge_into;
use hashsieve::ListBuilder;

use crate::build::stem;

/// Merge lists of the same algorithm into one. Each entry records its source: the name of the
/// list it came from (or that list's file stem when it has no name).
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Where to write the merged list (atomically).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    /// The merged list's name (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
    /// The merged list's version string.
    #[arg(long = "list-version", value_name = "V")]
    list_version: Option<String>,
    /// Search index to embed: mih, bktree, auto (chosen from list size and threshold), or
    /// linear (none). Default: the kind the input lists (the first that had one) had (none if it had none).
    #[arg(long, value_name = "KIND")]
    index: Option<IndexKind>,
    /// The threshold the embedded index is tuned for (default: the algorithm's, PDQ 31).
    #[arg(long, value_name = "T", value_parser = crate::args::threshold)]
    index_threshold: Option<u32>,
    /// Write the merged list even when it has no entry.
    #[arg(long)]
    allow_empty: bool,
    /// The lists to merge.
    #[arg(required = true, value_name = "LIST")]
    lists: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::common::Files::new()
        .lists(args.lists.iter().map(PathBuf::as_path))
        .outputs([args.output.as_path()])
        .check()?;
    let lists = args
        .lists
        .iter()
        .map(|p| crate::common::open_list(p).context("cannot open the list"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let kind = lists[0].kind();
    if let Some((p, l)) = args
        .lists
        .iter()
        .zip(&lists)
        .find(|(_, l)| l.kind() != kind)
    {
        bail!(
            "{} is a {} list but {} is {}; only lists of one algorithm merge",
            p.display(),
            l.kind(),
            args.lists[0].display(),
            kind
        );
    }
    let mut builder = ListBuilder::new(kind)
        .name(args.name.clone().unwrap_or_else(|| stem(&args.output)))
        .version(args.list_version.clone().unwrap_or_default());
    if let Some(t) = args.index_threshold {
        crate::args::check_threshold(t, kind)?;
    }
    let inherited = lists.iter().find_map(|l| l.index_kind());
    if let Some(o) = crate::build::index_options(args.index, args.index_threshold, inherited, kind)
    {
        builder = builder.index(o);
    }
    for (path, list) in args.lists.iter().zip(&lists) {
        let source = if list.name().is_empty() {
            stem(path)
        } else {
            list.name().to_owned()
        };
        let n = merge_into(&mut builder, list, &source)?;
        eprintln!("{}: {n} entries from source {source:?}", path.display());
    }
    crate::build::check_not_empty(&builder, args.allow_empty, &args.output)?;
    let report = builder
        .write(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!("{}: {report}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
