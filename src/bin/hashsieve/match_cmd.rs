//! `hashsieve match`: match images, or hash text read with `--hashes`, against hash lists.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::Hasher;
use hashsieve::image::{decode, decode_path};
use hashsieve::index::IndexKind;
use hashsieve::list::records::{InputFormat, Item, ReadOptions, RecordReader};
use hashsieve::matching::{apply_allow_lists, MatchRecord, OverMatching, Query, QueryResult};
use hashsieve::HashKind;

use crate::common::{self, Cell, Format, RowWriter};
use crate::hash_text::Malformed;
use crate::lists::{self, ListArgs};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    lists: ListArgs,
    #[command(flatten)]
    image: common::ImageQueryArgs,
    /// Search index for lists that carry none: auto, linear, mih, bktree.
    #[arg(long, default_value = "auto")]
    index: IndexKind,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    /// Hash text to match instead of images (repeat for several; `-` for standard input, which
    /// is answered record by record as it arrives). Read as `build` reads its input, in any
    /// format it takes; the `query` column is each record's id, else `FILE:LINE`.
    #[arg(long = "hashes", value_name = "FILE")]
    hashes: Vec<PathBuf>,
    /// The format of the --hashes inputs (default: detected from each input's first lines).
    #[arg(long, value_name = "FORMAT", requires = "hashes")]
    input_format: Option<InputFormat>,
    /// Also write a row for each query that matched nothing (or was skipped), with the match
    /// columns empty: every query then gets at least one row (for a co-process on
    /// `--hashes -`).
    #[arg(long)]
    unmatched: bool,
    #[command(flatten)]
    walk: common::WalkArgs,
    /// Images or directories (recursive), identified by content: a file that is not an image
    /// is an error, whatever its name, unless an exact-hash list (md5, sha1, sha256) is loaded:
    /// then every file is matched by its exact hashes, computed in the same read. `-` reads one
    /// image from standard input.
    #[arg(required_unless_present = "hashes")]
    inputs: Vec<PathBuf>,
}

const HEADER: [&str; 12] = [
    "query",
    "list",
    "entry_id",
    "distance",
    "orientation",
    "threshold",
    "list_version",
    "categories",
    "query_quality",
    "algorithm",
    "match",
    "verdict",
];

/// What the `query` column says: never the hash.
#[derive(Clone)]
enum Label {
    /// An image file: its path, written exactly (its bytes; see [`Cell::Path`]).
    Path(PathBuf),
    /// A record's id (else `FILE:LINE`), or `-` for an image on standard input.
    Text(String),
}

impl Label {
    fn cell(&self) -> Cell<'_> {
        match self {
            Label::Path(p) => Cell::Path(p),
            Label::Text(t) => Cell::Text(t),
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Path(p) => p.display().fmt(f),
            Label::Text(t) => t.fmt(f),
        }
    }
}

/// A labelled query ready for the matcher.
struct Labelled {
    /// The query column of the output.
    label: Label,
    /// The file (or record) the query belongs to: allow-lists apply to all of a file's
    /// queries together.
    group: u64,
    query: Query,
}

/// `group` numbers: one per file or record.
static GROUPS: AtomicU64 = AtomicU64::new(0);

fn next_group() -> u64 {
    GROUPS.fetch_add(1, Ordering::Relaxed)
}

/// What a run did, for the JSON summary record: queries (one per image and algorithm, or per
/// record), how many matched, were skipped by the quality gate, rows written, errors.
#[derive(Default)]
struct Tally {
    queries: u64,
    matched: u64,
    skipped: u64,
    rows: u64,
    known_good: u64,
}

/// The errors of a run: files that failed and malformed lines, each reported on stderr (by
/// path or `FILE:LINE`, never by content) and counted once.
#[derive(Default)]
struct Errors {
    count: AtomicU64,
}

impl Errors {
    fn report(&self, what: &dyn std::fmt::Display, err: &dyn std::fmt::Display) {
        self.count.fetch_add(1, Ordering::Relaxed);
        eprintln!("hashsieve: {what}: {err}");
    }
}

/// Queries of a hash file matched at a time: the file streams through in batches of this many.
const BATCH: usize = 4096;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let is_stdin = |p: &PathBuf| p.as_os_str() == "-";
    if args.hashes.iter().filter(|p| is_stdin(p)).count()
        + args.inputs.iter().filter(|p| is_stdin(p)).count()
        > 1
    {
        bail!(
            "standard input (`-`) can be read once: give it to --hashes or as an image, not both"
        );
    }
    let files = common::Files::new()
        .lists(args.lists.lists.iter().map(PathBuf::as_path))
        .inputs(args.inputs.iter().map(PathBuf::as_path))
        .inputs(args.hashes.iter().map(PathBuf::as_path));
    files.check()?;
    let (matcher, loaded_lists) = args.lists.load(
        common::matcher_options(&args.image.min_quality),
        args.index,
        false,
    )?;
    let kinds = matcher.kinds();
    let has_allow = loaded_lists
        .iter()
        .any(|l| l.info.role == hashsieve::list::ListRole::Allow);
    let errors = Errors::default();
    let report =
        |what: &dyn std::fmt::Display, err: &dyn std::fmt::Display| errors.report(what, err);

    let mut out = RowWriter::stdout(args.format, HEADER.to_vec())?
        .numeric(&["distance", "threshold", "query_quality"])
        .arrays(&["categories"]);
    let mut tally = Tally::default();
    let unmatched = args.unmatched;
    let policy = args.lists.allow_policy;
    let mut over = OverMatching::new();
    let mut emit = |items: Vec<Labelled>, out: &mut RowWriter| -> anyhow::Result<()> {
        let queries: Vec<Query> = items.iter().map(|l| l.query.clone()).collect();
        let results = matcher.query_batch(&queries);
        let mut start = 0;
        while start < items.len() {
            // One file's (or record's) queries: allow-lists apply to all of them together.
            let end = start
                + items[start..]
                    .iter()
                    .take_while(|l| l.group == items[start].group)
                    .count();
            let mut records: Vec<(usize, MatchRecord)> = Vec::new();
            for (k, result) in results[start..end].iter().enumerate() {
                if let QueryResult::Searched(r) = result {
                    records.extend(r.iter().map(|r| (start + k, r.clone())));
                }
            }
            let verdict = apply_allow_lists(records.iter().map(|(_, r)| r.clone()), policy);
            if verdict.known_good {
                tally.known_good += 1;
            }
            over.add_file(verdict.block.iter());
            let shown = |r: &MatchRecord| -> Option<&'static str> {
                if verdict.allow.contains(r) {
                    Some("known-good")
                } else if verdict.block.contains(r) {
                    Some("match")
                } else if verdict.overridden.contains(r) {
                    Some("overridden")
                } else {
                    None
                }
            };
            for (k, item) in items.iter().enumerate().take(end).skip(start) {
                tally.queries += 1;
                let label = item.label.cell();
                let quality = item
                    .query
                    .quality
                    .map(|q| q.to_string())
                    .unwrap_or_default();
                let mut rows = 0;
                let mut stands = false;
                match &results[k] {
                    QueryResult::Skipped(reason) => {
                        tally.skipped += 1;
                        eprintln!("hashsieve: {}: skipped: {reason}", item.label)
                    }
                    QueryResult::Searched(_) => {
                        for (_, r) in records.iter().filter(|(q, _)| *q == k) {
                            let Some(verdict) = shown(r) else { continue };
                            stands |= verdict == "match";
                            let orientation = r.orientation.map(Dihedral::name).unwrap_or("");
                            let categories = r.categories.join(" ");
                            let how = if r.kind.is_exact() {
                                "exact"
                            } else {
                                "perceptual"
                            };
                            for id in &r.entry_ids {
                                rows += 1;
                                out.cells(&[
                                    label,
                                    r.list.as_str().into(),
                                    id.into(),
                                    r.distance.to_string().as_str().into(),
                                    orientation.into(),
                                    r.threshold.to_string().as_str().into(),
                                    r.list_version.as_str().into(),
                                    categories.as_str().into(),
                                    quality.as_str().into(),
                                    r.kind.name().into(),
                                    how.into(),
                                    verdict.into(),
                                ])?;
                            }
                        }
                    }
                    _ => {}
                }
                if stands {
                    tally.matched += 1;
                }
                tally.rows += rows;
                if unmatched && rows == 0 {
                    let e = Cell::Text("");
                    out.cells(&[
                        label,
                        e,
                        e,
                        e,
                        e,
                        e,
                        e,
                        e,
                        quality.as_str().into(),
                        item.query.kind.name().into(),
                        e,
                        e,
                    ])?;
                    tally.rows += 1;
                }
            }
            start = end;
        }
        Ok(())
    };

    for source in &args.hashes {
        let stream = is_stdin(source);
        let shown = if stream {
            "-".to_string()
        } else {
            source.display().to_string()
        };
        let result = (|| -> anyhow::Result<()> {
            let format = args.input_format;
            if stream {
                // Each record is answered (and the output flushed) as soon as it is read.
                let stdin = Box::new(std::io::stdin().lock());
                match_hash_text(stdin, &shown, &kinds, format, &errors, 1, &mut |items| {
                    emit(items, &mut out)?;
                    out.flush()
                })
            } else {
                let file = hashsieve::fs::open_regular(source)
                    .with_context(|| format!("cannot open {shown}"))?;
                let reader = Box::new(BufReader::new(file));
                match_hash_text(
                    reader,
                    &shown,
                    &kinds,
                    format,
                    &errors,
                    BATCH,
                    &mut |items| emit(items, &mut out),
                )
            }
        })();
        if let Err(err) = result {
            report(&shown, &crate::common::error_message(&err));
        }
    }

    let hasher = args
        .image
        .dihedral
        .hasher()
        .decode_options(args.image.decoding.apply(common::decode_options(), &kinds));
    let mut image_files = Vec::new();
    let mut all_skipped = common::Skipped::default();
    let outputs = files.output_ids();
    for input in &args.inputs {
        if is_stdin(input) {
            match stdin_image_queries(&hasher, &kinds, args.image.dihedral.enabled()) {
                Ok(items) => emit(items, &mut out)?,
                Err(err) => report(&"-", &crate::common::error_message(&err)),
            }
            continue;
        }
        let (walked, skipped) =
            common::walk_inputs(std::slice::from_ref(input), args.walk, &outputs, |p, e| {
                report(&p.display(), e)
            });
        all_skipped.add(skipped);
        image_files.extend(walked);
    }

    let pb = common::progress(image_files.len() as u64, "images");
    // Images hash in parallel (crate::pipeline), in input order; their queries are matched in
    // batches of 256 images (a parallel batch query) while the next images hash.
    let (mut batch, mut images) = (Vec::new(), 0);
    crate::pipeline::ordered(
        &image_files,
        |path| crate::pipeline::read_ahead(path),
        |path| image_queries(path, &hasher, &kinds, args.image.dihedral.enabled()),
        |path, result| {
            pb.inc(1);
            match result {
                Ok(items) => batch.extend(items),
                Err(err) => report(&path.display(), &crate::common::error_message(&err)),
            }
            images += 1;
            if images % 256 == 0 {
                emit(std::mem::take(&mut batch), &mut out)?;
            }
            Ok(())
        },
    )?;
    emit(batch, &mut out)?;
    pb.finish_and_clear();
    let errors = errors.count.load(Ordering::Relaxed);
    let mut counts = vec![
        ("queries", tally.queries),
        ("matched", tally.matched),
        (
            "no_match",
            tally.queries.saturating_sub(tally.matched + tally.skipped),
        ),
        ("skipped", tally.skipped),
        ("rows", tally.rows),
        ("errors", errors),
    ];
    if has_allow {
        counts.push(("known_good", tally.known_good));
    }
    if let Some(n) = args.lists.over_matching {
        let flagged = crate::lists::report_over_matching(&over, n);
        counts.push(("over_matching", flagged));
    }
    out.summary(&counts)?;
    if let Some(line) = all_skipped.summary() {
        eprintln!("hashsieve: {line}");
    }
    Ok(common::match_exit_code(errors, tally.matched))
}

/// The queries of one decoded image, one per loaded perceptual kind, labelled `label`.
fn queries_of(
    image: &hashsieve::image::DecodedImage,
    label: Label,
    group: u64,
    hasher: &Hasher,
    kinds: &[HashKind],
    dihedral: bool,
) -> Vec<Labelled> {
    let pixels = image.pixels();
    kinds
        .iter()
        .filter(|k| k.is_perceptual())
        .map(|&kind| Labelled {
            label: label.clone(),
            group,
            query: common::image_query(hasher, &pixels, kind, dihedral).1,
        })
        .collect()
}

/// The queries of one image file. A file that is not an image by its content is an error
/// ("not an image"), whatever its name, unless exact-hash lists are loaded: then it is matched
/// by its exact hashes, computed in the same read as the decoding.
fn image_queries(
    path: &Path,
    hasher: &Hasher,
    kinds: &[HashKind],
    dihedral: bool,
) -> anyhow::Result<Vec<Labelled>> {
    let group = next_group();
    let label = Label::Path(path.to_path_buf());
    if kinds.iter().any(|k| k.is_exact()) {
        let read = lists::read_once(path, hasher, kinds)?;
        let mut out: Vec<Labelled> = read
            .digests
            .iter()
            .map(|d| Labelled {
                label: label.clone(),
                group,
                query: Query::new(d.kind(), *d, None),
            })
            .collect();
        match &read.image {
            Ok(image) => out.extend(queries_of(image, label, group, hasher, kinds, dihedral)),
            Err(why) if kinds.iter().any(|k| k.is_perceptual()) => {
                eprintln!(
                    "hashsieve: {}: matched by exact hash only: {why}",
                    path.display()
                );
            }
            Err(_) => {}
        }
        return Ok(out);
    }
    if let Some(why) = lists::not_an_image(path) {
        bail!(why);
    }
    // The error names the path already where it is shown; its kind says what went wrong.
    let image =
        decode_path(path, &hasher.decode_options).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    Ok(queries_of(&image, label, group, hasher, kinds, dihedral))
}

/// The queries of one image read from standard input (`-`), read up to the decoder's
/// allocation limit.
fn stdin_image_queries(
    hasher: &Hasher,
    kinds: &[HashKind],
    dihedral: bool,
) -> anyhow::Result<Vec<Labelled>> {
    let cap = hasher.decode_options.limits.max_alloc;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    if bytes.len() as u64 > cap {
        bail!("the image on standard input is larger than the allocation limit of {cap} bytes");
    }
    let group = next_group();
    let label = Label::Text("-".to_string());
    let mut out: Vec<Labelled> = kinds
        .iter()
        .filter(|k| k.is_exact())
        .map(|&k| Labelled {
            label: label.clone(),
            group,
            query: Query::new(k, hashsieve::hash::Digest::of(k, &bytes), None),
        })
        .collect();
    let why = lists::image_kind(&bytes[..bytes.len().min(32)]);
    match why {
        Some(why) if out.is_empty() => {
            bail!("standard input is {why}; to match hash text, use --hashes -")
        }
        Some(why) => {
            if kinds.iter().any(|k| k.is_perceptual()) {
                eprintln!("hashsieve: -: matched by exact hash only: {why}");
            }
            return Ok(out);
        }
        None => {}
    }
    let image =
        decode(&bytes, &hasher.decode_options).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    out.extend(queries_of(&image, label, group, hasher, kinds, dihedral));
    Ok(out)
}

/// Streams the records of one `--hashes` input (`-`: standard input) to `emit`, `batch` at a
/// time, read by the library's [`RecordReader`] as `build` reads (kinds: those of the loaded
/// lists). Each malformed line is reported through `errors` by `source:line`, never by its
/// content, and the input goes on; rows skipped on purpose (other algorithms, other pytx signal
/// types, rows without a hash) are counted in one line at the end. The error returned is one
/// that stops the input (the format cannot be told, reading fails, or `emit` fails).
fn match_hash_text(
    input: Box<dyn BufRead>,
    source: &str,
    kinds: &[HashKind],
    format: Option<InputFormat>,
    errors: &Errors,
    batch: usize,
    emit: &mut dyn FnMut(Vec<Labelled>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut options = ReadOptions::new().kinds(kinds.iter().copied());
    if let Some(f) = format {
        options = options.format(f);
    }
    let mut reader = RecordReader::new(input, source, &options)?;
    let mut bad = Malformed::default();
    let mut skipped: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut items = Vec::new();
    while let Some(item) = reader
        .next_item()
        .with_context(|| format!("cannot read {source}"))?
    {
        match item {
            Item::Record(record) => {
                let mut query = Query::new(record.kind, record.hash, record.quality);
                query.variants[0].orientation = record.orientation;
                items.push(Labelled {
                    group: next_group(),
                    label: Label::Text(
                        record
                            .id
                            .unwrap_or_else(|| format!("{source}:{}", record.line)),
                    ),
                    query,
                });
                if items.len() >= batch {
                    emit(std::mem::take(&mut items))?;
                }
            }
            Item::Skipped { reason, .. } => {
                *skipped.entry(reason.description()).or_default() += 1;
            }
            Item::Malformed { line, reason } => {
                // Every one is counted; the first few are listed.
                let listed = bad.count_one();
                if listed {
                    errors.report(&format_args!("{source}:{line}"), &reason);
                }
            }
            _ => {}
        }
    }
    if !items.is_empty() {
        emit(items)?;
    }
    if bad.unlisted() > 0 {
        // Each malformed line is an error of the summary; the listed ones are counted already.
        errors.count.fetch_add(bad.unlisted(), Ordering::Relaxed);
        eprintln!(
            "hashsieve: {source}: {} malformed lines in all ({} not listed)",
            bad.count(),
            bad.unlisted()
        );
    }
    if !skipped.is_empty() {
        let parts: Vec<String> = skipped
            .iter()
            .map(|(why, n)| format!("{n} ({why})"))
            .collect();
        eprintln!("hashsieve: {source}: skipped rows: {}", parts.join(", "));
    }
    Ok(())
}
