//! `hashsieve match`: match images or hash files against hash lists.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context};
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::Hasher;
use hashsieve::image::decode;
use hashsieve::index::IndexKind;
use hashsieve::matching::{ListOptions, Matcher, Query, QueryResult};
use hashsieve::{HashKind, HashValue};
use rayon::prelude::*;

use crate::common::{self, Format, RowWriter};
use crate::hash_text::{BadLine, HashLines, Malformed};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A hash-list file to match against (repeat for several).
    #[arg(long = "list", short = 'l', required = true)]
    lists: Vec<PathBuf>,
    /// Inclusive Hamming threshold for every list, 0..=the list's bit width (default: per
    /// algorithm, PDQ 31).
    #[arg(long, short = 't', value_parser = crate::args::threshold)]
    threshold: Option<u32>,
    #[command(flatten)]
    dihedral: common::DihedralArgs,
    #[command(flatten)]
    exif: common::ExifArgs,
    /// Quality gates, comma separated: Q for every algorithm or ALGO=Q for one, later items
    /// winning (`0` turns every gate off; `pdq=70,phash=10`). Images below their algorithm's gate
    /// are skipped (reported on stderr). Default: pdq=50, and 1 for the others, which skips only
    /// images that are flat on the algorithm's grid.
    #[arg(long, value_delimiter = ',', value_name = "[ALGO=]Q")]
    min_quality: Vec<common::QualityGate>,
    /// Search index for lists that carry none: auto, linear, mih, bktree.
    #[arg(long, default_value = "auto")]
    index: IndexKind,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    #[command(flatten)]
    walk: common::WalkArgs,
    /// Images, directories (recursive), hash files (our TSV, hex lines) or `-` for hashes on stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

const HEADER: [&str; 9] = [
    "query",
    "list",
    "entry_id",
    "distance",
    "orientation",
    "threshold",
    "list_version",
    "categories",
    "query_quality",
];

/// A labelled query ready for the matcher.
struct Labelled {
    /// The query column of the output: the id, the image path, or the hash itself.
    label: String,
    /// How messages name the query: the id, the image path, or `file:line`, never the hash.
    shown: String,
    query: Query,
}

/// Queries of a hash file matched at a time: the file streams through in batches of this many.
const BATCH: usize = 4096;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = common::Files::new()
        .lists(args.lists.iter().map(PathBuf::as_path))
        .inputs(args.inputs.iter().map(PathBuf::as_path));
    files.check()?;
    let matcher: Matcher = Matcher::with_options(common::matcher_options(&args.min_quality));
    for path in &args.lists {
        let mut opts = ListOptions::default().index(args.index);
        if let Some(t) = args.threshold {
            opts = opts.threshold(t);
        }
        common::open_list(path)
            .and_then(|list| matcher.add_list(list, opts))
            .with_context(|| format!("cannot load list {}", path.display()))?;
    }
    let kinds = matcher.kinds();
    let errored = AtomicBool::new(false);
    let report = |what: &dyn std::fmt::Display, err: &dyn std::fmt::Display| {
        errored.store(true, Ordering::Relaxed);
        eprintln!("hashsieve: {what}: {err}");
    };

    let mut out = RowWriter::stdout(args.format, HEADER.to_vec())?
        .numeric(&["distance", "threshold", "query_quality"])
        .arrays(&["categories"]);
    let mut matched = false;
    let mut emit = |items: Vec<Labelled>, out: &mut RowWriter| -> anyhow::Result<()> {
        let queries: Vec<Query> = items.iter().map(|l| l.query.clone()).collect();
        for (item, result) in items.iter().zip(matcher.query_batch(&queries)) {
            match result {
                QueryResult::Skipped(reason) => {
                    eprintln!("hashsieve: {}: skipped: {reason}", item.shown)
                }
                QueryResult::Searched(records) => {
                    for r in records {
                        let orientation = r.orientation.map(Dihedral::name).unwrap_or("");
                        let quality = r.query_quality.map(|q| q.to_string()).unwrap_or_default();
                        let categories = r.categories.join(" ");
                        for id in &r.entry_ids {
                            matched = true;
                            out.row(&[
                                &item.label,
                                &r.list,
                                id,
                                &r.distance.to_string(),
                                orientation,
                                &r.threshold.to_string(),
                                &r.list_version,
                                &categories,
                                &quality,
                            ])?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    };

    let hasher = args
        .dihedral
        .hasher()
        .with_decode_options(common::decode_options().with_orientation(args.exif.orientation()));
    let mut image_files = Vec::new();
    let mut all_skipped = common::Skipped::default();
    for input in &args.inputs {
        if input.as_os_str() == "-" {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            if let Err(err) = match_hash_text(&mut lock, "-", &kinds, &report, &mut |items| {
                emit(items, &mut out)
            }) {
                report(&"-", &format!("{err:#}"));
            }
            continue;
        }
        let (walked, skipped) = common::walk_inputs(
            std::slice::from_ref(input),
            args.walk,
            &files.output_ids(),
            |p, e| report(&p.display(), e),
        );
        all_skipped.add(skipped);
        for file in walked {
            if std::fs::metadata(&file).is_ok_and(|m| m.len() == 0) {
                report(&file.display(), &"empty file: neither an image nor hashes");
            } else if is_image(&file) {
                image_files.push(file);
            } else {
                let shown = file.display().to_string();
                let result = std::fs::File::open(&file)
                    .map_err(anyhow::Error::from)
                    .and_then(|f| {
                        let mut reader = BufReader::new(f);
                        match_hash_text(&mut reader, &shown, &kinds, &report, &mut |items| {
                            emit(items, &mut out)
                        })
                    });
                if let Err(err) = result {
                    report(&shown, &format!("{err:#}"));
                }
            }
        }
    }

    let pb = common::progress(image_files.len() as u64, "images");
    for chunk in image_files.chunks(256) {
        let hashed: Vec<anyhow::Result<Vec<Labelled>>> = chunk
            .par_iter()
            .map(|path| image_queries(path, &hasher, &kinds, args.dihedral.enabled()))
            .collect();
        let mut items = Vec::new();
        for (path, result) in chunk.iter().zip(hashed) {
            pb.inc(1);
            match result {
                Ok(q) => items.extend(q),
                Err(err) => report(&path.display(), &format!("{err:#}")),
            }
        }
        emit(items, &mut out)?;
    }
    pb.finish_and_clear();
    out.flush()?;
    if let Some(line) = all_skipped.summary() {
        eprintln!("hashsieve: {line}");
    }
    let code = if errored.load(Ordering::Relaxed) {
        common::EXIT_ERROR
    } else if matched {
        common::EXIT_OK
    } else {
        common::EXIT_NO_MATCH
    };
    Ok(ExitCode::from(code))
}

/// Whether the file's first bytes are those of an image format we decode.
fn is_image(path: &Path) -> bool {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    ::image::guess_format(&head[..n]).is_ok()
}

fn image_queries(
    path: &Path,
    hasher: &Hasher,
    kinds: &[HashKind],
    dihedral: bool,
) -> anyhow::Result<Vec<Labelled>> {
    let bytes = std::fs::read(path)?;
    let image = decode(&bytes, hasher.decode_options()).context("cannot hash")?;
    let pixels = image.pixels();
    let label = path.display().to_string();
    Ok(kinds
        .iter()
        .map(|&kind| {
            let (_, query) = common::image_query(hasher, &pixels, kind, dihedral);
            Labelled {
                label: label.clone(),
                shown: label.clone(),
                query,
            }
        })
        .collect())
}

/// Streams the queries of a hash file ([`HashLines`]) to `emit`, [`BATCH`] at a time. A row
/// without an `algorithm` column takes the one loaded list kind of its width. Each malformed
/// line is reported through `report` by `source:line`, never by its content, and the file goes
/// on; the error returned is one that stops the file (reading fails, or `emit` fails).
fn match_hash_text(
    input: &mut dyn BufRead,
    source: &str,
    kinds: &[HashKind],
    report: &dyn Fn(&dyn std::fmt::Display, &dyn std::fmt::Display),
    emit: &mut dyn FnMut(Vec<Labelled>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let single_kind = |width: usize| -> anyhow::Result<HashKind> {
        let fits: Vec<HashKind> = kinds
            .iter()
            .copied()
            .filter(|k| k.bits() as usize == width * 4)
            .collect();
        match fits.as_slice() {
            [k] => Ok(*k),
            [] => bail!("no loaded list takes {width}-character hashes"),
            _ => bail!("several loaded lists take {width}-character hashes; use a TSV with an algorithm column"),
        }
    };
    let mut bad = Malformed::default();
    let mut malformed = |line: u64, why: &dyn std::fmt::Display| {
        if bad.count_one() {
            report(&format_args!("{source}:{line}"), why);
        }
    };
    let mut rows = HashLines::new(input);
    let mut items = Vec::new();
    while let Some(row) = rows
        .next_row()
        .with_context(|| format!("cannot read {source}"))?
    {
        let row = match row {
            Ok(row) => row,
            Err(BadLine { line, reason }) => {
                malformed(line, &reason);
                continue;
            }
        };
        let parsed = (|| -> anyhow::Result<(HashKind, HashValue)> {
            let kind = match &row.algorithm {
                Some(a) => a.parse::<HashKind>()?,
                None => single_kind(row.hex.len())?,
            };
            Ok((kind, kind.parse_hex(&row.hex)?))
        })();
        let (kind, value) = match parsed {
            Ok(kv) => kv,
            Err(err) => {
                malformed(row.line, &format_args!("{err:#}"));
                continue;
            }
        };
        let quality = row.quality.as_deref().and_then(|q| q.parse::<u8>().ok());
        let mut query = Query::new(kind, value, quality);
        if let Some(d) = row
            .orientation
            .as_deref()
            .and_then(|o| o.parse::<Dihedral>().ok())
        {
            query.variants[0].0 = Some(d);
        }
        let shown = row
            .id
            .clone()
            .unwrap_or_else(|| format!("{source}:{}", row.line));
        items.push(Labelled {
            label: row.id.unwrap_or_else(|| value.to_hex()),
            shown,
            query,
        });
        if items.len() >= BATCH {
            emit(std::mem::take(&mut items))?;
        }
    }
    if !items.is_empty() {
        emit(items)?;
    }
    if bad.unlisted() > 0 {
        report(
            &source,
            &format_args!(
                "{} malformed lines in all ({} not listed)",
                bad.count(),
                bad.unlisted()
            ),
        );
    }
    Ok(())
}
