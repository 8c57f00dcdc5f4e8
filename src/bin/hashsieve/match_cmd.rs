//! `hashsieve match`: match images, or hash text read with `--hashes`, against hash lists.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context};
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::Hasher;
use hashsieve::image::{decode, decode_path};
use hashsieve::index::IndexKind;
use hashsieve::matching::{Query, QueryResult};
use hashsieve::{HashKind, HashValue};
use rayon::prelude::*;

use crate::common::{self, Format, RowWriter};
use crate::hash_text::{BadLine, HashLines, Malformed};
use crate::lists::{self, ListArgs};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    lists: ListArgs,
    #[command(flatten)]
    dihedral: common::DihedralArgs,
    #[command(flatten)]
    exif: common::ExifArgs,
    /// Quality gates, comma separated: Q for every algorithm or ALGO=Q for one, later items
    /// winning (`0` turns every gate off; `pdq=70,phash=10`). Images (and hashes read with a
    /// quality) below their algorithm's gate are skipped (reported on stderr). Default: pdq=50,
    /// and 1 for the others, which skips only images that are flat on the algorithm's grid.
    #[arg(long, value_delimiter = ',', value_name = "[ALGO=]Q")]
    min_quality: Vec<common::QualityGate>,
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
    input_format: Option<hashsieve::list::import::InputFormat>,
    /// Also write a row for each query that matched nothing (or was skipped), with the match
    /// columns empty: every query then gets at least one row (for a co-process on
    /// `--hashes -`).
    #[arg(long)]
    unmatched: bool,
    #[command(flatten)]
    walk: common::WalkArgs,
    /// Images or directories (recursive), identified by content: a file that is not an image
    /// is an error, whatever its name. `-` reads one image from standard input.
    #[arg(required_unless_present = "hashes")]
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
    /// The query column of the output: the image path, or the record's id (else `FILE:LINE`);
    /// never the hash.
    label: String,
    query: Query,
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
    let (matcher, _) = args
        .lists
        .load(common::matcher_options(&args.min_quality), args.index)?;
    let kinds = matcher.kinds();
    let errored = AtomicBool::new(false);
    let report = |what: &dyn std::fmt::Display, err: &dyn std::fmt::Display| {
        errored.store(true, Ordering::Relaxed);
        eprintln!("hashsieve: {what}: {err}");
    };

    let mut out = RowWriter::stdout(args.format, HEADER.to_vec())?.numeric(&[
        "distance",
        "threshold",
        "query_quality",
    ]);
    let mut matched = false;
    let unmatched = args.unmatched;
    let mut emit = |items: Vec<Labelled>, out: &mut RowWriter| -> anyhow::Result<()> {
        let queries: Vec<Query> = items.iter().map(|l| l.query.clone()).collect();
        for (item, result) in items.iter().zip(matcher.query_batch(&queries)) {
            let quality = item
                .query
                .quality
                .map(|q| q.to_string())
                .unwrap_or_default();
            let mut rows = 0;
            match result {
                QueryResult::Skipped(reason) => {
                    eprintln!("hashsieve: {}: skipped: {reason}", item.label)
                }
                QueryResult::Searched(records) => {
                    for r in records {
                        let orientation = r.orientation.map(Dihedral::name).unwrap_or("");
                        let categories = r.categories.join(" ");
                        for id in &r.entry_ids {
                            matched = true;
                            rows += 1;
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
            if unmatched && rows == 0 {
                out.row(&[&item.label, "", "", "", "", "", "", "", &quality])?;
            }
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
            if stream {
                let stdin = std::io::stdin();
                let mut lock = stdin.lock();
                // Each record is answered (and the output flushed) as soon as it is read.
                match_hash_text(&mut lock, &shown, &kinds, &report, 1, &mut |items| {
                    emit(items, &mut out)?;
                    out.flush()
                })
            } else {
                common::regular_file(source)?;
                let file =
                    std::fs::File::open(source).with_context(|| format!("cannot open {shown}"))?;
                let mut reader = BufReader::new(file);
                match_hash_text(&mut reader, &shown, &kinds, &report, BATCH, &mut |items| {
                    emit(items, &mut out)
                })
            }
        })();
        if let Err(err) = result {
            report(&shown, &format!("{err:#}"));
        }
    }

    let hasher = args
        .dihedral
        .hasher()
        .with_decode_options(common::decode_options().with_orientation(args.exif.orientation()));
    let mut image_files = Vec::new();
    let mut all_skipped = common::Skipped::default();
    for input in &args.inputs {
        if is_stdin(input) {
            match stdin_image_queries(&hasher, &kinds, args.dihedral.enabled()) {
                Ok(items) => emit(items, &mut out)?,
                Err(err) => report(&"-", &format!("{err:#}")),
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
        image_files.extend(walked);
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

/// The queries of one decoded image, one per loaded kind, labelled `label`.
fn queries_of(
    image: &hashsieve::image::DecodedImage,
    label: &str,
    hasher: &Hasher,
    kinds: &[HashKind],
    dihedral: bool,
) -> Vec<Labelled> {
    let pixels = image.pixels();
    kinds
        .iter()
        .map(|&kind| Labelled {
            label: label.to_string(),
            query: common::image_query(hasher, &pixels, kind, dihedral).1,
        })
        .collect()
}

/// The queries of one image file. A file that is not an image by its content is an error
/// ("not an image"), whatever its name.
fn image_queries(
    path: &Path,
    hasher: &Hasher,
    kinds: &[HashKind],
    dihedral: bool,
) -> anyhow::Result<Vec<Labelled>> {
    if let Some(why) = lists::not_an_image(path) {
        bail!(why);
    }
    // The error names the path already where it is shown; its kind says what went wrong.
    let image =
        decode_path(path, hasher.decode_options()).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    Ok(queries_of(
        &image,
        &path.display().to_string(),
        hasher,
        kinds,
        dihedral,
    ))
}

/// The queries of one image read from standard input (`-`), read up to the decoder's
/// allocation limit.
fn stdin_image_queries(
    hasher: &Hasher,
    kinds: &[HashKind],
    dihedral: bool,
) -> anyhow::Result<Vec<Labelled>> {
    let cap = hasher.decode_options().limits.max_alloc;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    if bytes.len() as u64 > cap {
        bail!("the image on standard input is larger than the allocation limit of {cap} bytes");
    }
    if let Some(why) = lists::image_kind(&bytes[..bytes.len().min(32)]) {
        bail!("standard input is {why}; to match hash text, use --hashes -");
    }
    let image =
        decode(&bytes, hasher.decode_options()).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    Ok(queries_of(&image, "-", hasher, kinds, dihedral))
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
    batch: usize,
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
        items.push(Labelled {
            label: row.id.unwrap_or_else(|| format!("{source}:{}", row.line)),
            query,
        });
        if items.len() >= batch {
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
