//! `hashsieve build`: text inputs to a hash-list file.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hashsieve::index::{IndexKind, IndexOptions};
use hashsieve::list::import::{import, ImportOptions};
use hashsieve::list::ListRole;
use hashsieve::{HashKind, ListBuilder};

/// Build a hash-list file from text inputs (hex lines, pdq-photo-hasher output, python-threatexchange
/// signal lines or dataset CSV, our own hash/scan/export output, CSV/TSV/JSON lines with named
/// columns).
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Hash algorithm: pdq, phash, dhash, ahash, whash (or phash256, dhash256, ahash256,
    /// whash256), or an exact hash of file bytes: md5, sha1, sha256 (either case of hex).
    #[arg(long, default_value = "pdq")]
    algo: HashKind,
    /// What the list is for: `block` (a match is reported) or `allow` (known good, such as
    /// NSRL: a match clears the file; `match` and `scan` then drop or flag its other matches).
    /// Recorded in the list's header.
    #[arg(long, default_value = "block")]
    role: ListRole,
    #[command(flatten)]
    meta: ListMetaArgs,
    #[command(flatten)]
    index: IndexArgs,
    /// Where to write the list (atomically: nothing is left there if the build fails).
    #[arg(short = 'o', long = "output", value_name = "LIST")]
    output: PathBuf,
    /// Input format: hex (PDQ reference tools), pdq-hasher (pdq-photo-hasher, every mode),
    /// pytx-csv, pytx-signals (python-threatexchange `tx hash`, `tx dataset -P`), hashsieve (our
    /// hash/scan output, TSV/CSV/JSON), csv, tsv, jsonl (default: detected from the header and
    /// first lines of each input; an input that fits two formats is an error naming both).
    /// Exact-hash sets (with `--algo md5|sha1|sha256`): vics (Project VIC / CAID JSON), nsrl
    /// (NSRL RDS v3 SQLite), md5sum (md5sum/sha1sum/sha256sum output), hashdeep; detected too.
    #[arg(long, alias = "format", value_name = "F", value_parser = crate::media::parse_format)]
    input_format: Option<crate::media::AnyFormat>,
    /// CSV/TSV/JSON lines: the hash column (default `hash`).
    #[arg(long, value_name = "NAME")]
    hash_col: Option<String>,
    /// CSV/TSV/JSON lines: the id column (default `id` when present).
    #[arg(long, value_name = "NAME")]
    id_col: Option<String>,
    /// CSV/TSV/JSON lines: the category column (default `categories` when present).
    #[arg(long, value_name = "NAME")]
    category_col: Option<String>,
    #[command(flatten)]
    entries: EntryArgs,
    /// Write the list even when it has no entry (by default a build that keeps no entry fails
    /// and writes nothing: an empty list matches nothing, silently).
    #[arg(long)]
    allow_empty: bool,
    /// Input files; `-` reads standard input.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

/// `--index` and `--index-threshold`: the index `build`, `update` and `merge` embed.
/// The new list's name and version string (`build`, `merge`).
#[derive(clap::Args, Debug)]
pub(crate) struct ListMetaArgs {
    /// The list's name (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
    /// The list's version string, e.g. a date.
    #[arg(long = "list-version", value_name = "V")]
    list_version: Option<String>,
}

impl ListMetaArgs {
    /// A builder of `kind` with the name (default: `output`'s stem) and version asked for.
    pub(crate) fn builder(&self, kind: HashKind, output: &Path) -> ListBuilder {
        ListBuilder::new(kind)
            .name(self.name.clone().unwrap_or_else(|| stem(output)))
            .version(self.list_version.clone().unwrap_or_default())
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct IndexArgs {
    /// Search index to embed: auto (chosen from list size and threshold), mih, bktree, or linear
    /// (none). Default: auto for `build`; for `update` and `merge`, the kind the input list had
    /// (the first that had one; none if none had one).
    #[arg(long, value_name = "KIND")]
    index: Option<IndexKind>,
    /// The threshold the embedded index is tuned for (default: the algorithm's, PDQ 31).
    #[arg(long, value_name = "T", value_parser = crate::args::threshold)]
    index_threshold: Option<u32>,
}

impl IndexArgs {
    /// Checks `--index-threshold` against `algo`.
    pub(crate) fn check(&self, algo: HashKind) -> anyhow::Result<()> {
        if let Some(t) = self.index_threshold {
            crate::args::check_threshold(t, algo)?;
        }
        Ok(())
    }

    /// `builder` set to embed the index asked for, else the `default` kind (none: no index).
    pub(crate) fn apply(
        &self,
        builder: ListBuilder,
        default: Option<IndexKind>,
        algo: HashKind,
    ) -> ListBuilder {
        match self.index.or(default) {
            Some(kind) => builder.index(
                IndexOptions::new(kind)
                    .threshold(self.index_threshold.unwrap_or(algo.default_threshold())),
            ),
            None => builder,
        }
    }
}

/// The entry filters `build` and `update` share: quality, degenerate hashes, malformed lines.
#[derive(clap::Args, Debug)]
pub(crate) struct EntryArgs {
    /// Reject entries whose recorded quality is below Q (default 50 for PDQ, 0 otherwise).
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: Option<u8>,
    /// Keep all-zero and all-one hashes (rejected by default: blank images).
    #[arg(long)]
    allow_degenerate: bool,
    /// Skip up to N malformed lines per input instead of failing on the first. An input whose
    /// every line is malformed fails whatever N is.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = crate::args::limit)]
    pub(crate) max_errors: u64,
}

impl EntryArgs {
    /// `builder` with the quality and degenerate-hash filters set.
    pub(crate) fn apply(&self, builder: ListBuilder) -> ListBuilder {
        let builder = builder.allow_degenerate(self.allow_degenerate);
        match self.min_quality {
            Some(q) => builder.min_quality(q),
            None => builder,
        }
    }
}

/// Opens `path` for reading, `-` meaning standard input; returns the reader and a display name.
pub(crate) fn open_input(path: &Path) -> anyhow::Result<(Box<dyn BufRead>, String)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(BufReader::new(io::stdin())), "<stdin>".to_owned()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok((
        Box::new(BufReader::with_capacity(1 << 16, file)),
        path.display().to_string(),
    ))
}

/// The default list name: the file stem of the output path.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Refuses to write a list with no entry unless `--allow-empty` asked for one.
pub(crate) fn check_not_empty(
    builder: &ListBuilder,
    allow_empty: bool,
    output: &Path,
) -> anyhow::Result<()> {
    if builder.entry_count() == 0 && !allow_empty {
        anyhow::bail!(
            "the list would have no entry, so nothing was written to {}; check the inputs \
             (format, algorithm, quality), or pass --allow-empty to write an empty list",
            output.display()
        );
    }
    Ok(())
}

/// Writes the list `builder` holds to `output` (atomically) and reports it on stderr: the end
/// of `update` and `merge`.
pub(crate) fn write_list(
    builder: ListBuilder,
    allow_empty: bool,
    output: &Path,
) -> anyhow::Result<ExitCode> {
    check_not_empty(&builder, allow_empty, output)?;
    let report = builder
        .write(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!("{}: {report}", output.display());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    args.index.check(args.algo)?;
    crate::common::Files::new()
        .inputs(args.inputs.iter().map(PathBuf::as_path))
        .outputs([args.output.as_path()])
        .check()?;
    // Opened first: an unwritable output fails before a long import, and an interrupted build
    // (error, SIGINT, SIGTERM) removes its temporary file.
    let mut output = hashsieve::fs::AtomicFile::create(&args.output)?;
    let builder = args.meta.builder(args.algo, &args.output).role(args.role);
    let mut builder = args.index.apply(
        args.entries.apply(builder),
        Some(IndexKind::Auto),
        args.algo,
    );
    let mut options = ImportOptions::new().max_errors(args.entries.max_errors);
    options.format = args.input_format.and_then(crate::media::AnyFormat::text);
    options.hash_col = args.hash_col.clone();
    options.id_col = args.id_col.clone();
    options.category_col = args.category_col.clone();

    for input in &args.inputs {
        // Investigators' exact-hash sets (VICS, NSRL, md5sum, hashdeep): crate::media.
        if crate::media::import_if_media(input, args.input_format, &options, &mut builder)? {
            continue;
        }
        let (reader, name) = open_input(input)?;
        let report = import(reader, &name, &options, &mut builder)
            .with_context(|| format!("cannot import {name}; nothing was written"))?;
        for m in &report.messages {
            eprintln!("hashsieve: warning: skipped malformed line {m}");
        }
        eprintln!("{name}: {report}");
    }
    check_not_empty(&builder, args.allow_empty, &args.output)?;
    let report = builder
        .write_to(&mut output)
        .and_then(|report| output.commit().map(|()| report))
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!("{}: {report}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
