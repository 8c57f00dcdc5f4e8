//! `hashsieve dedup`: cluster the near-duplicates of one set of hashes, optionally marking the
//! clusters that match reference lists.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use hashsieve::index::HashBits;
use hashsieve::list::Hashes;
use hashsieve::matching::{cluster, cluster_matches, cross_join, DedupOptions};
use hashsieve::{Hash256, Hash64, HashKind, HashValue};

use crate::args;
use crate::common::{self, Format, RowWriter};
use crate::hash_text::{BadLine, HashLines, Malformed};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The case set: `hashsieve hash` TSV output, a hash-list file (.hsl), or hex lines
    /// (`hash[,id]`, id defaulting to `idx=<n>`).
    input: PathBuf,
    /// Inclusive Hamming threshold linking two files, 0..=the hash width (default: per
    /// algorithm, PDQ 31).
    #[arg(long, short = 't', value_parser = args::threshold)]
    threshold: Option<u32>,
    /// The most pairs of near-duplicates (distinct hashes within the threshold) to collect,
    /// about 12 bytes each; more is an error saying to lower the threshold. A threshold near
    /// half the hash width links most pairs of a large set.
    #[arg(long, value_name = "N", value_parser = args::positive_limit,
          default_value_t = hashsieve::matching::DEFAULT_MAX_PAIRS)]
    max_pairs: u64,
    /// Hash algorithm of text input (a list file carries its own).
    #[arg(long, default_value = "pdq")]
    algo: HashKind,
    /// Output format: TSV with a header, CSV, or JSON lines.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    /// Also print files with no near-duplicate (clusters of one).
    #[arg(long)]
    all: bool,
    /// Reference hash-list files (repeat for several): adds a `matched` column listing the
    /// `list:entry` ids any member of the cluster matches (separated by `;`). Files that
    /// match a list are printed even without a near-duplicate.
    #[arg(long = "list", short = 'l')]
    lists: Vec<PathBuf>,
}

/// One input file's entry.
struct Item {
    id: String,
    quality: Option<u8>,
}

/// A hash width the command handles, with conversions from the library's value types.
trait Width: HashBits + Copy {
    fn from_value(v: HashValue) -> Option<Self>;
    fn slice(h: Hashes<'_>) -> Option<&[Self]>;
    fn hex(&self) -> String;
}

impl Width for Hash256 {
    fn from_value(v: HashValue) -> Option<Self> {
        match v {
            HashValue::Bits256(h) => Some(h),
            _ => None,
        }
    }
    fn slice(h: Hashes<'_>) -> Option<&[Self]> {
        match h {
            Hashes::Bits256(s) => Some(s),
            _ => None,
        }
    }
    fn hex(&self) -> String {
        self.to_hex()
    }
}

impl Width for Hash64 {
    fn from_value(v: HashValue) -> Option<Self> {
        match v {
            HashValue::Bits64(h) => Some(h),
            _ => None,
        }
    }
    fn slice(h: Hashes<'_>) -> Option<&[Self]> {
        match h {
            Hashes::Bits64(s) => Some(s),
            _ => None,
        }
    }
    fn hex(&self) -> String {
        self.to_hex()
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    common::Files::new()
        .lists(args.lists.iter().map(PathBuf::as_path))
        .inputs([args.input.as_path()])
        .check()?;
    let mut magic = [0u8; 4];
    let is_list = File::open(&args.input)
        .and_then(|mut f| f.read(&mut magic))
        .with_context(|| format!("cannot read {}", args.input.display()))?
        == 4
        && &magic == b"\x89HSL";
    let kind = if is_list {
        common::open_list(&args.input)
            .with_context(|| format!("cannot open list {}", args.input.display()))?
            .kind()
    } else {
        args.algo
    };
    if kind.bits() == 64 {
        run_width::<Hash64>(&args, kind, is_list)
    } else {
        run_width::<Hash256>(&args, kind, is_list)
    }
}

fn run_width<H: Width>(args: &Args, kind: HashKind, is_list: bool) -> anyhow::Result<ExitCode> {
    let (items, hashes) = if is_list {
        read_list::<H>(&args.input)?
    } else {
        read_text::<H>(&args.input, kind)?
    };
    let threshold = args.threshold.unwrap_or(kind.default_threshold());
    args::check_threshold(threshold, kind)?;
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
    let options = DedupOptions::new(threshold)
        .include_singletons(args.all || marking)
        .max_pairs(max_pairs);
    let clusters = cluster(&hashes, &quality, &options).with_context(|| {
        if max_pairs < args.max_pairs {
            format!("--max-pairs lowered to {max_pairs} by the memory available")
        } else {
            "cannot cluster".to_owned()
        }
    })?;

    let mut matched: Vec<Vec<String>> = vec![Vec::new(); clusters.len()];
    for (path, list) in args.lists.iter().zip(&refs) {
        let name = if list.name().is_empty() {
            path.file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
        } else {
            list.name().to_string()
        };
        let Some(ref_hashes) = H::slice(list.hashes()) else {
            bail!("list {} has an unexpected hash width", path.display());
        };
        check_cross_estimate(&hashes, ref_hashes, threshold, max_pairs)?;
        let pairs = cross_join(&hashes, ref_hashes, threshold)?;
        for (c, found) in cluster_matches(&clusters, &pairs).into_iter().enumerate() {
            for p in found {
                for e in list.entries_of(p.b as usize) {
                    matched[c].push(format!("{name}:{}", e.id()));
                }
            }
        }
    }

    let mut header = vec![
        "cluster",
        "id",
        "hash",
        "quality",
        "distance",
        "representative",
    ];
    if marking {
        header.push("matched");
    }
    let mut out = RowWriter::stdout(args.format, header)?
        .numeric(&["cluster", "quality", "distance"])
        .booleans(&["representative"]);
    let mut number = 0u64;
    for (c, cl) in clusters.iter().enumerate() {
        let m = &mut matched[c];
        if cl.members.len() < 2 && !args.all && m.is_empty() {
            continue;
        }
        m.sort_unstable();
        m.dedup();
        let marks = m.join(";");
        number += 1;
        let number = number.to_string();
        for mem in &cl.members {
            let i = mem.index as usize;
            let q = items[i].quality.map(|q| q.to_string()).unwrap_or_default();
            let d = mem.distance.to_string();
            let hex = hashes[i].hex();
            let rep = if mem.index == cl.representative {
                "true"
            } else {
                "false"
            };
            let mut cells = vec![number.as_str(), &items[i].id, &hex, &q, &d, rep];
            if marking {
                cells.push(&marks);
            }
            out.row(&cells)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(common::EXIT_OK))
}

/// Refuses a cross-join with a reference list when a sample of random pairs shows it would
/// find clearly more than `max` pairs (the lower end of a 3-sigma interval is over it).
fn check_cross_estimate<H: Width>(a: &[H], b: &[H], r: u32, max: u64) -> anyhow::Result<()> {
    const SAMPLE: u64 = 20_000;
    let all = a.len() as u128 * b.len() as u128;
    if all <= u128::from(max) {
        return Ok(());
    }
    let mut rng = hashsieve::index::bench::SplitMix64::new(0x0c05_5e5d);
    let hits = (0..SAMPLE)
        .filter(|_| {
            let x = &a[rng.below(a.len() as u64) as usize];
            let y = &b[rng.below(b.len() as u64) as usize];
            x.hamming(y) <= r
        })
        .count() as f64;
    let low = (hits - 3.0 * hits.sqrt()).max(0.0) / SAMPLE as f64 * all as f64;
    if low > max as f64 {
        bail!(
            "about {:.3e} pairs of the input and a reference list are within threshold {r}, \
             more than --max-pairs {max} allows; lower the threshold, or raise --max-pairs if \
             memory allows",
            hits / SAMPLE as f64 * all as f64
        );
    }
    Ok(())
}

fn read_list<H: Width>(path: &Path) -> anyhow::Result<(Vec<Item>, Vec<H>)> {
    let list =
        common::open_list(path).with_context(|| format!("cannot open list {}", path.display()))?;
    let Some(hs) = H::slice(list.hashes()) else {
        bail!("list {} has an unexpected hash width", path.display());
    };
    let (mut items, mut hashes) = (Vec::new(), Vec::new());
    for (i, h) in hs.iter().enumerate() {
        for e in list.entries_of(i) {
            items.push(Item {
                id: e.id().to_string(),
                quality: e.quality(),
            });
            hashes.push(*h);
        }
    }
    Ok((items, hashes))
}

/// Reads a hash file ([`HashLines`], streamed with its 1 MiB line cap): TSV rows of other
/// algorithms and rows of failed files are skipped. Malformed lines are reported by number,
/// never by content.
fn read_text<H: Width>(path: &Path, kind: HashKind) -> anyhow::Result<(Vec<Item>, Vec<H>)> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let shown = path.display().to_string();
    let mut reader = std::io::BufReader::new(file);
    let mut rows = HashLines::new(&mut reader);
    let mut bad = Malformed::default();
    let mut fail = |n: u64, why: &str| {
        if bad.count_one() {
            eprintln!("hashsieve: {shown}:{n}: {why}");
        }
    };
    let (mut items, mut hashes) = (Vec::new(), Vec::new());
    while let Some(row) = rows
        .next_row()
        .with_context(|| format!("cannot read {shown}"))?
    {
        let row = match row {
            Ok(row) => row,
            Err(BadLine { line, reason }) => {
                fail(line, reason);
                continue;
            }
        };
        if let Some(a) = &row.algorithm {
            if !a.eq_ignore_ascii_case(kind.name()) || row.hex.is_empty() {
                continue;
            }
        }
        let Some(hash) = kind.parse_hex(&row.hex).ok().and_then(H::from_value) else {
            fail(row.line, &format!("not a {} hash", kind.name()));
            continue;
        };
        let quality = match row.quality.as_deref().map(str::parse::<u8>) {
            None => None,
            Some(Ok(q)) if q <= 100 => Some(q),
            Some(_) => {
                fail(row.line, "quality is not 0..=100");
                continue;
            }
        };
        let id = row
            .id
            .unwrap_or_else(|| format!("idx={}", hashes.len() + 1));
        items.push(Item { id, quality });
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
    Ok((items, hashes))
}
