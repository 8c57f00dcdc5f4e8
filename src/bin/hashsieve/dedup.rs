//! `hashsieve dedup`: cluster the near-duplicates of one set of hashes, optionally marking the
//! clusters that match reference lists.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use hashsieve::algo::pdq::Dihedral;
use hashsieve::index::HashBits;
use hashsieve::list::records::{InputFormat, Item, ReadOptions, RecordReader, SkipReason};
use hashsieve::list::Hashes;
use hashsieve::matching::{
    cluster_matches, cluster_report, cross_join_with, ClusterReport, DedupOptions, Linkage,
};
use hashsieve::{Hash256, Hash64, HashKind, HashValue};
use indicatif::ProgressBar;

use crate::args;
use crate::common::{self, Cell, Format, RowWriter};
use crate::hash_text::Malformed;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The case set: `-` for standard input, a hash-list file (.hsl), or hash text in any
    /// format `build` reads: our `hash` or `scan` output as TSV, CSV or JSON (error rows are
    /// skipped and counted; the `path` is the id), the PDQ hasher's and pytx's outputs, hex
    /// lines (`hash[,id]`, id defaulting to `line=<n>`), CSV/TSV/JSON lines with named columns.
    input: PathBuf,
    /// Format of text input: hex, pdq-hasher, pytx-csv, pytx-signals, hashsieve, csv, tsv,
    /// jsonl (default: detected from the header and the first lines; when two fit, the error
    /// names both).
    #[arg(long, value_name = "F")]
    input_format: Option<InputFormat>,
    /// Inclusive Hamming threshold linking two files, 0..=the hash width (default: per
    /// algorithm, PDQ 31).
    #[arg(long, short = 't', value_parser = args::threshold)]
    threshold: Option<u32>,
    /// How linked files form clusters. `single`: connected components, which chain (files
    /// each within the threshold of the next form one cluster however far apart its ends
    /// are; see the `max_distance` column). `centre`: the best file not yet clustered (highest
    /// quality, then first) takes every file not yet clustered within the threshold of it, so
    /// every member is within the threshold of its representative.
    #[arg(long, value_enum, default_value = "single")]
    linkage: LinkageArg,
    /// Quality gates, comma separated: Q for every algorithm or ALGO=Q for one (`0` keeps
    /// every file). Files below the gate and degenerate hashes (all zeros or all ones, such as
    /// blank frames) are left out of the clusters and counted. Default: pdq=50, and 1 for the
    /// others, as in `match`.
    #[arg(long, value_delimiter = ',', value_name = "[ALGO=]Q")]
    min_quality: Vec<common::QualityGate>,
    /// The most pairs of near-duplicates (distinct hashes within the threshold) to collect,
    /// about 12 bytes each; more is an error saying to lower the threshold. A threshold near
    /// half the hash width links most pairs of a large set.
    #[arg(long, value_name = "N", value_parser = args::positive_limit,
          default_value_t = hashsieve::matching::DEFAULT_MAX_PAIRS)]
    max_pairs: u64,
    /// Hash algorithm of text input (a list file carries its own); rows of other algorithms
    /// are skipped and counted.
    #[arg(long, default_value = "pdq")]
    algo: HashKind,
    /// Output format: TSV with a header, CSV, or JSON lines.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    /// Also print files with no near-duplicate (clusters of one), and files left out by the
    /// quality gate (last, with an empty `cluster`).
    #[arg(long)]
    all: bool,
    /// Reference hash-list files (repeat for several): adds a `matched` column listing the
    /// `list:entry` ids any member of the cluster matches (separated by `;`). Files that
    /// match a list are printed even without a near-duplicate.
    #[arg(long = "list", short = 'l')]
    lists: Vec<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LinkageArg {
    Single,
    #[value(alias = "center")]
    Centre,
}

/// The columns, in order; `matched` only with `--list`.
const HEADER: [&str; 8] = [
    "cluster",
    "id",
    "hash",
    "quality",
    "distance",
    "representative",
    "max_distance",
    "matched",
];

/// The columns JSON output writes as numbers.
const NUMERIC: [&str; 4] = ["cluster", "quality", "distance", "max_distance"];

/// One input file's entry.
struct Entry {
    id: String,
    quality: Option<u8>,
}

/// What reading the input counted, for the summary.
#[derive(Default)]
struct ReadStats {
    /// Rows or entries read, whether used or not.
    rows: u64,
    /// Rows of other hash algorithms.
    other_kind: u64,
    /// Rows without a hash (scan error and skipped rows, failed files).
    no_hash: u64,
    /// pytx signals that are not image hashes.
    other_signal: u64,
    /// Rows of other orientations than the original (`hash --dihedral`).
    other_orientation: u64,
    /// Further rows of one file (a scan writes one row per matched entry).
    repeated: u64,
}

/// Where the case set comes from.
enum Source {
    /// A hash-list file.
    List,
    /// Hash text, from a file or standard input.
    Text(Box<dyn BufRead>),
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdin = args.input.as_os_str() == "-";
    common::Files::new()
        .lists(args.lists.iter().map(PathBuf::as_path))
        .inputs([args.input.as_path()])
        .check()?;
    let pb = if stdin {
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes} read [{elapsed_precise}] {bytes_per_sec}",
            )
            .expect("valid template"),
        );
        pb
    } else {
        readable(&args.input)?;
        let len = std::fs::metadata(&args.input).map_or(0, |m| m.len());
        common::progress(len, "bytes read")
    };
    let raw: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.input)
                .with_context(|| format!("cannot read {}", args.input.display()))?,
        )
    };
    let mut reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: raw,
            pb: pb.clone(),
        },
    ));
    let head = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", shown(&args.input)))?;
    let source = if is_list_head(head) {
        if stdin {
            bail!("a hash-list file cannot be read from standard input; give its path");
        }
        Source::List
    } else {
        Source::Text(reader)
    };
    let kind = match source {
        Source::List => common::open_list(&args.input)
            .with_context(|| format!("cannot open list {}", args.input.display()))?
            .kind(),
        Source::Text(_) => args.algo,
    };
    if kind.is_exact() {
        anyhow::bail!(
            "{kind} hashes are exact: identical files have identical digests, and near-duplicates \
             are found with a perceptual hash (pdq, phash, ...)"
        );
    }
    if kind.width() == 64 {
        run_width::<Hash64>(&args, kind, source, pb)
    } else {
        run_width::<Hash256>(&args, kind, source, pb)
    }
}

/// Whether the input's first bytes (a buffer of at least 8, unless the input is shorter) open
/// a hash-list file: the library's magic bytes, or a prefix of them for a file cut short,
/// which opening as a list then reports as truncated.
fn is_list_head(head: &[u8]) -> bool {
    let magic = &hashsieve::list::raw::MAGIC;
    !head.is_empty() && (head.starts_with(magic) || magic.starts_with(head))
}

/// Refuses an input that is neither a regular file nor a pipe (`<(cmd)`): a directory, a
/// device or a socket is no hash file.
fn readable(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?;
        if meta.file_type().is_fifo() {
            return Ok(());
        }
    }
    common::regular_file(path)
}

/// The input as messages name it.
fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Counts the bytes read on a progress bar.
struct Counting {
    inner: Box<dyn Read>,
    pb: ProgressBar,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pb.inc(n as u64);
        Ok(n)
    }
}

fn run_width<H>(
    args: &Args,
    kind: HashKind,
    source: Source,
    pb: ProgressBar,
) -> anyhow::Result<ExitCode>
where
    H: HashBits + TryFrom<HashValue> + Into<HashValue> + std::fmt::Display,
    for<'a> &'a [H]: TryFrom<Hashes<'a>>,
{
    let threshold = args.threshold.unwrap_or(kind.default_threshold());
    args::check_threshold(threshold, kind)?;
    let (items, hashes, stats) = match source {
        Source::List => read_list::<H>(&args.input)?,
        Source::Text(reader) => {
            read_text::<H>(reader, &shown(&args.input), kind, args.input_format)?
        }
    };
    pb.finish_and_clear();
    // The pairs take 12 bytes each, twice that while their vector grows: never allow more
    // than the memory the system has.
    let per_pair = 2 * std::mem::size_of::<hashsieve::matching::Pair>() as u64;
    let max_pairs = match args::memory_available() {
        Some(avail) if avail / per_pair < args.max_pairs => (avail / per_pair).max(1),
        _ => args.max_pairs,
    };

    // Reference lists: the ids each input file matches.
    let mut refs = Vec::new();
    for path in &args.lists {
        let list = common::open_list(path)
            .with_context(|| format!("cannot open list {}", path.display()))?;
        if list.kind() != kind {
            bail!(
                "list {} holds {} hashes but the input is {}",
                path.display(),
                list.kind().name(),
                kind.name()
            );
        }
        refs.push(list);
    }
    let marking = !refs.is_empty();

    let quality: Vec<Option<u8>> = items.iter().map(|i| i.quality).collect();
    let linkage = match args.linkage {
        LinkageArg::Single => Linkage::Single,
        LinkageArg::Centre => Linkage::Centre,
    };
    let options = DedupOptions::new(threshold)
        .include_singletons(args.all || marking)
        .max_pairs(max_pairs)
        .linkage(linkage)
        .min_quality(common::matcher_options(&args.min_quality).min_quality_of(kind));
    let spinner = ProgressBar::new_spinner().with_message(format!(
        "clustering {} hashes at threshold {threshold}",
        hashes.len()
    ));
    spinner.enable_steady_tick(Duration::from_millis(200));
    let report = cluster_report(&hashes, &quality, &options).with_context(|| {
        if max_pairs < args.max_pairs {
            format!("--max-pairs lowered to {max_pairs} by the memory available")
        } else {
            "cannot cluster".to_owned()
        }
    });
    spinner.finish_and_clear();
    let report = report?;
    let clusters = &report.clusters;

    let mut matched: Vec<Vec<String>> = vec![Vec::new(); clusters.len()];
    let pb = common::progress(refs.len() as u64, "lists");
    for (path, list) in args.lists.iter().zip(&refs) {
        let name = if list.name().is_empty() {
            path.file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
        } else {
            list.name().to_string()
        };
        let Ok(ref_hashes) = <&[H]>::try_from(list.hashes()) else {
            bail!("list {} has an unexpected hash width", path.display());
        };
        let pairs = cross_join_with(&hashes, ref_hashes, threshold, max_pairs)
            .with_context(|| format!("cannot match the input against {}", path.display()))?;
        for (c, found) in cluster_matches(clusters, &pairs).into_iter().enumerate() {
            for p in found {
                for e in list.entries_of(p.b as usize) {
                    matched[c].push(format!("{name}:{}", e.id()));
                }
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();

    let columns = if marking { 8 } else { 7 };
    let mut out = RowWriter::stdout(args.format, HEADER[..columns].to_vec())?
        .numeric(&NUMERIC)
        .booleans(&["representative"]);
    let mut number = 0u64;
    let mut printed = 0u64;
    let mut rows = 0u64;
    for (c, cl) in clusters.iter().enumerate() {
        let m = &mut matched[c];
        if cl.members.len() < 2 && !args.all && m.is_empty() {
            continue;
        }
        m.sort_unstable();
        m.dedup();
        let marks = m.join(";");
        number += 1;
        printed += 1;
        let number = number.to_string();
        let max = cl.max_distance.to_string();
        for mem in &cl.members {
            let i = mem.index as usize;
            let q = items[i].quality.map(|q| q.to_string()).unwrap_or_default();
            let d = mem.distance.to_string();
            let hex = hashes[i].to_string();
            let rep = if mem.index == cl.representative {
                "true"
            } else {
                "false"
            };
            let id = IdCell::new(&items[i].id);
            let cells = [
                number.as_str().into(),
                id.cell(),
                hex.as_str().into(),
                q.as_str().into(),
                d.as_str().into(),
                rep.into(),
                max.as_str().into(),
                marks.as_str().into(),
            ];
            out.cells(&cells[..columns])?;
            rows += 1;
        }
    }
    if args.all {
        // Left out by the quality gate: in no cluster.
        for &g in &report.gated {
            let i = g as usize;
            let q = items[i].quality.map(|q| q.to_string()).unwrap_or_default();
            let hex = hashes[i].to_string();
            let id = IdCell::new(&items[i].id);
            let e = Cell::Text("");
            let cells = [
                e,
                id.cell(),
                hex.as_str().into(),
                q.as_str().into(),
                e,
                "false".into(),
                e,
                e,
            ];
            out.cells(&cells[..columns])?;
            rows += 1;
        }
    }
    let gated_rows = if args.all {
        report.gated.len() as u64
    } else {
        0
    };
    out.summary(&[
        ("rows_read", stats.rows),
        ("hashes", hashes.len() as u64),
        ("below_quality_gate", report.gated.len() as u64),
        ("clusters", printed),
        ("rows", rows),
        ("gated_rows", gated_rows),
    ])?;
    eprintln!(
        "hashsieve: dedup: {}",
        summary(&stats, &report, &hashes, threshold, args.linkage, printed)
    );
    Ok(ExitCode::from(common::EXIT_OK))
}

/// An id as the output writes it. The record reader gives the id of a path whose bytes are not
/// UTF-8 in its escaped form (`\xNN` for those bytes, `\\` for a backslash, as TSV escapes
/// them: see `hashsieve::list::records`); such an id is written as the path's bytes again
/// ([`Cell::Path`]), so that it reads as `hash` and `scan` write that path. Every other id is
/// text (TSV escapes its tab, newline and backslash).
enum IdCell<'a> {
    Text(&'a str),
    #[cfg(unix)]
    Path(PathBuf),
}

impl<'a> IdCell<'a> {
    fn new(id: &'a str) -> IdCell<'a> {
        #[cfg(unix)]
        if id.contains("\\x") {
            let bytes = common::tsv_unescape(id.as_bytes());
            // Only the exact escaped form of bytes that are not UTF-8: nothing else the
            // reader gives reads back to bytes that are not UTF-8 and escape to the same text.
            if std::str::from_utf8(&bytes).is_err() {
                let mut again = Vec::with_capacity(id.len());
                common::tsv_escape(&bytes, &mut again);
                if again == id.as_bytes() {
                    use std::os::unix::ffi::OsStrExt;
                    return IdCell::Path(std::ffi::OsStr::from_bytes(&bytes).into());
                }
            }
        }
        IdCell::Text(id)
    }

    fn cell(&self) -> Cell<'_> {
        match self {
            IdCell::Text(t) => Cell::Text(t),
            #[cfg(unix)]
            IdCell::Path(p) => Cell::Path(p),
        }
    }
}

/// The end-of-run line: what was read, skipped and gated, and what the clusters are.
fn summary<H: HashBits + Into<HashValue>>(
    stats: &ReadStats,
    report: &ClusterReport,
    hashes: &[H],
    threshold: u32,
    linkage: LinkageArg,
    printed: u64,
) -> String {
    let mut skipped = Vec::new();
    for (n, what) in [
        (stats.other_kind, "of other algorithms"),
        (stats.other_signal, "of other signal types"),
        (stats.no_hash, "without a hash (error or skipped rows)"),
        (stats.other_orientation, "of other orientations"),
        (stats.repeated, "repeating a file (scan matches)"),
    ] {
        if n > 0 {
            skipped.push(format!("{n} {what}"));
        }
    }
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!(" (skipped {})", skipped.join(", "))
    };
    let degenerate = report
        .gated
        .iter()
        .filter(|&&i| hashes[i as usize].into().is_degenerate())
        .count();
    let largest = report
        .clusters
        .iter()
        .map(|c| c.members.len())
        .max()
        .unwrap_or(0);
    let widest = report
        .clusters
        .iter()
        .filter(|c| c.members.len() > 1)
        .map(|c| c.max_distance)
        .max()
        .unwrap_or(0);
    let multi = report
        .clusters
        .iter()
        .filter(|c| c.members.len() > 1)
        .count();
    let linkage = match linkage {
        LinkageArg::Single => "single",
        LinkageArg::Centre => "centre",
    };
    format!(
        "{} rows read{skipped}; {} below the quality gate ({degenerate} degenerate); {} hashes \
         clustered ({} distinct), {} pairs within {threshold}; {multi} clusters of 2 or more \
         ({linkage} linkage), largest {largest}, widest {widest} from its representative; {printed} \
         clusters printed",
        stats.rows,
        report.gated.len(),
        hashes.len() - report.gated.len(),
        report.distinct,
        report.pairs,
    )
}

type Input<H> = (Vec<Entry>, Vec<H>, ReadStats);

fn read_list<H: HashBits>(path: &Path) -> anyhow::Result<Input<H>>
where
    for<'a> &'a [H]: TryFrom<Hashes<'a>>,
{
    let list =
        common::open_list(path).with_context(|| format!("cannot open list {}", path.display()))?;
    let Ok(hs) = <&[H]>::try_from(list.hashes()) else {
        bail!("list {} has an unexpected hash width", path.display());
    };
    let (mut items, mut hashes) = (Vec::new(), Vec::new());
    for (i, h) in hs.iter().enumerate() {
        for e in list.entries_of(i) {
            items.push(Entry {
                id: e.id().to_string(),
                quality: e.quality(),
            });
            hashes.push(*h);
        }
    }
    let stats = ReadStats {
        rows: items.len() as u64,
        ..ReadStats::default()
    };
    Ok((items, hashes, stats))
}

/// Reads hash text in any format of the record reader ([`RecordReader`], streamed, lines
/// capped at 1 MiB): rows of other algorithms, rows without a hash (scan errors), repeated rows
/// of one file and rows of other orientations are skipped and counted. Malformed lines are
/// reported by number, never by content, and fail the run once all are read.
fn read_text<H: HashBits + TryFrom<HashValue>>(
    reader: Box<dyn BufRead>,
    shown: &str,
    kind: HashKind,
    format: Option<InputFormat>,
) -> anyhow::Result<Input<H>> {
    let mut options = ReadOptions::new().kinds([kind]);
    if let Some(f) = format {
        options = options.format(f);
    }
    let mut records = RecordReader::new(reader, shown, &options)
        .context("cannot read the input (name its format with --input-format)")?;
    let mut bad = Malformed::default();
    let mut fail = |n: u64, why: &str| {
        if bad.count_one() {
            eprintln!("hashsieve: {shown}:{n}: {why}");
        }
    };
    let (mut items, mut hashes) = (Vec::new(), Vec::<H>::new());
    let mut stats = ReadStats::default();
    // The id of the last record kept (`None` inside: the input has no ids).
    let mut last_id: Option<Option<String>> = None;
    while let Some(item) = records.next_item()? {
        stats.rows += 1;
        let record = match item {
            Item::Record(r) => r,
            Item::Skipped { reason, .. } => {
                match reason {
                    SkipReason::OtherKind => stats.other_kind += 1,
                    SkipReason::OtherSignalType => stats.other_signal += 1,
                    SkipReason::Duplicate => stats.repeated += 1,
                    _ => stats.no_hash += 1,
                }
                continue;
            }
            Item::Malformed { line, reason } => {
                fail(line, &reason);
                continue;
            }
            other => {
                fail(other.line(), "unreadable row");
                continue;
            }
        };
        // The rotations and flips of a file (`hash --dihedral`, the PDQ hasher's `--pdqdih`,
        // pytx `--rotations`, with or without ids) follow its original: only that one is
        // clustered. A file's first row is always kept: a scan row's orientation is the one
        // that matched a list entry, while its hash is the file's own.
        let Ok(hash) = H::try_from(record.hash) else {
            fail(record.line, &format!("not a {} hash", kind.name()));
            continue;
        };
        if record.orientation.is_some_and(|o| o != Dihedral::Orig)
            && last_id.as_ref() == Some(&record.id)
        {
            if hashes.last() == Some(&hash) {
                // A scan's further row for the file, matched through another orientation.
                stats.repeated += 1;
            } else {
                stats.other_orientation += 1;
            }
            continue;
        }
        last_id = Some(record.id.clone());
        let id = record.id.unwrap_or_else(|| format!("line={}", record.line));
        items.push(Entry {
            id,
            quality: record.quality,
        });
        hashes.push(hash);
    }
    if bad.count() > 0 {
        if bad.unlisted() > 0 {
            eprintln!(
                "hashsieve: {shown}: {} more malformed line(s) not listed",
                bad.unlisted()
            );
        }
        bail!("{} malformed line(s) in {shown}", bad.count());
    }
    Ok((items, hashes, stats))
}
