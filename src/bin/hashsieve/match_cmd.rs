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

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A hash-list file to match against (repeat for several).
    #[arg(long = "list", short = 'l', required = true)]
    lists: Vec<PathBuf>,
    /// Inclusive Hamming threshold for every list (default: per algorithm, PDQ 31).
    #[arg(long, short = 't')]
    threshold: Option<u32>,
    #[command(flatten)]
    dihedral: common::DihedralArgs,
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
    label: String,
    query: Query,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let matcher: Matcher = Matcher::with_options(common::matcher_options(&args.min_quality));
    for path in &args.lists {
        let mut opts = ListOptions::default().index(args.index);
        if let Some(t) = args.threshold {
            opts = opts.threshold(t);
        }
        matcher
            .add_list_file(path, opts)
            .with_context(|| format!("cannot load list {}", path.display()))?;
    }
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
    let mut emit = |items: Vec<Labelled>, out: &mut RowWriter| -> anyhow::Result<()> {
        let queries: Vec<Query> = items.iter().map(|l| l.query.clone()).collect();
        for (item, result) in items.iter().zip(matcher.query_batch(&queries)) {
            match result {
                QueryResult::Skipped(reason) => {
                    eprintln!("hashsieve: {}: skipped: {reason}", item.label)
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
        .with_decode_options(common::decode_options());
    let mut image_files = Vec::new();
    for input in &args.inputs {
        if input.as_os_str() == "-" {
            let stdin = std::io::stdin();
            match parse_hash_text(stdin.lock(), "-", &kinds) {
                Ok(items) => emit(items, &mut out)?,
                Err(err) => report(&"-", &format!("{err:#}")),
            }
            continue;
        }
        for file in common::walk_inputs(std::slice::from_ref(input), |p, e| report(&p.display(), e))
        {
            if is_image(&file) {
                image_files.push(file);
            } else {
                let parsed = std::fs::File::open(&file)
                    .map_err(anyhow::Error::from)
                    .and_then(|f| {
                        parse_hash_text(BufReader::new(f), &file.display().to_string(), &kinds)
                    });
                match parsed {
                    Ok(items) => emit(items, &mut out)?,
                    Err(err) => report(&file.display(), &format!("{err:#}")),
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
                query,
            }
        })
        .collect())
}

/// Reads queries from a hash file ([`common::read_hash_lines`]). A row without an `algorithm`
/// column takes the one loaded list kind of its width. Errors name the line, never the hash.
fn parse_hash_text(
    input: impl BufRead,
    source: &str,
    kinds: &[HashKind],
) -> anyhow::Result<Vec<Labelled>> {
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
    let mut items = Vec::new();
    for row in common::read_hash_lines(input, source)? {
        let at = || format!("{source}:{}", row.line);
        let kind = match &row.algorithm {
            Some(a) => a.parse::<HashKind>().with_context(at)?,
            None => single_kind(row.hex.len()).with_context(at)?,
        };
        let value: HashValue = kind.parse_hex(&row.hex).with_context(at)?;
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
            label: row.id.unwrap_or_else(|| value.to_hex()),
            query,
        });
    }
    Ok(items)
}
