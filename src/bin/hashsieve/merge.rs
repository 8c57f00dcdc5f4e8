//! `hashsieve merge`: several lists into one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use hashsieve::list::update::merge_into;
use hashsieve::ListBuilder;

use crate::build::{stem, IndexArgs};

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
    #[command(flatten)]
    index: IndexArgs,
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
    let role = lists[0].role();
    if let Some((p, l)) = args
        .lists
        .iter()
        .zip(&lists)
        .find(|(_, l)| l.role() != role)
    {
        bail!(
            "{} has the role {} but {} has the role {}; block lists and allow-lists do not merge",
            p.display(),
            l.role(),
            args.lists[0].display(),
            role
        );
    }
    let mut builder = ListBuilder::new(kind)
        .role(role)
        .name(args.name.clone().unwrap_or_else(|| stem(&args.output)))
        .version(args.list_version.clone().unwrap_or_default());
    args.index.check(kind)?;
    let inherited = lists.iter().find_map(|l| l.index_kind());
    builder = args.index.apply(builder, inherited, kind);
    for (path, list) in args.lists.iter().zip(&lists) {
        let source = if list.name().is_empty() {
            stem(path)
        } else {
            list.name().to_owned()
        };
        let n = merge_into(&mut builder, list, &source)?;
        eprintln!("{}: {n} entries from source {source:?}", path.display());
    }
    crate::build::write_list(builder, args.allow_empty, &args.output)
}
