//! `hashsieve merge`: several lists into one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use hashsieve::list::update::merge_into;
use hashsieve::HashList;

use crate::build::{stem, IndexArgs, ListMetaArgs};

/// Merge lists of the same algorithm into one. Each entry records its source: the name of the
/// list it came from (or that list's file stem when it has no name).
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Where to write the merged list (atomically).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    #[command(flatten)]
    meta: ListMetaArgs,
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
    let kind = same(
        &args.lists,
        &lists,
        HashList::kind,
        |p, kind, first, want| {
            format!("{p} is a {kind} list but {first} is {want}; only lists of one algorithm merge")
        },
    )?;
    let role = same(
        &args.lists,
        &lists,
        HashList::role,
        |p, role, first, want| {
            format!(
                "{p} has the role {role} but {first} has the role {want}; \
                 block lists and allow-lists do not merge"
            )
        },
    )?;
    let mut builder = args.meta.builder(kind, &args.output).role(role);
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

/// The first list's `prop`, or an error naming the first list that differs from it:
/// `message(path, its value, first path, first value)`.
fn same<T: PartialEq + std::fmt::Display>(
    paths: &[PathBuf],
    lists: &[HashList],
    prop: impl Fn(&HashList) -> T,
    message: impl Fn(std::path::Display<'_>, T, std::path::Display<'_>, &T) -> String,
) -> anyhow::Result<T> {
    let want = prop(&lists[0]);
    match paths.iter().zip(lists).find(|(_, l)| prop(l) != want) {
        Some((p, l)) => bail!(message(p.display(), prop(l), paths[0].display(), &want)),
        None => Ok(want),
    }
}
