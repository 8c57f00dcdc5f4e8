//! `hashsieve scan`: walk trees, hash in parallel, match against lists, write rows as they are
//! produced, and resume an interrupted scan without re-hashing what is done.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::Hasher;
use hashsieve::image::decode_path;
use hashsieve::index::IndexKind;
use hashsieve::matching::{ListOptions, Matcher, QueryResult};
use hashsieve::HashKind;
use rayon::prelude::*;

use crate::common::{self, Format, RowWriter};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A hash-list file to match against (repeat for several).
    #[arg(long = "list", short = 'l', required = true)]
    lists: Vec<PathBuf>,
    /// Where to write the results. Started again with the same output, the scan resumes: files
    /// already recorded there are not hashed again. Without it, rows go to stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Inclusive Hamming threshold for every list (default: per algorithm, PDQ 31).
    #[arg(long, short = 't')]
    threshold: Option<u32>,
    #[command(flatten)]
    dihedral: common::DihedralArgs,
    /// Quality gates, comma separated: Q for every algorithm or ALGO=Q for one, later items
    /// winning (`0` turns every gate off; `pdq=70,phash=10`). Images below their algorithm's gate
    /// are skipped (recorded as `skipped`). Default: pdq=50, and 1 for the others, which skips only
    /// images that are flat on the algorithm's grid.
    #[arg(long, value_delimiter = ',', value_name = "[ALGO=]Q")]
    min_quality: Vec<common::QualityGate>,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    /// Directories or files to scan (recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

const HEADER: [&str; 10] = [
    "path",
    "status",
    "algorithm",
    "hash",
    "quality",
    "list",
    "entry_id",
    "distance",
    "orientation",
    "detail",
];

/// Files hashed per parallel batch: bounds memory to a few hundred decoded images at most.
const CHUNK: usize = 64;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = now();
    let gates = common::matcher_options(&args.min_quality);
    let matcher: Matcher = Matcher::with_options(gates.clone());
    let mut list_meta = Vec::new();
    for path in &args.lists {
        let list = common::open_list(path)
            .with_context(|| format!("cannot load list {}", path.display()))?;
        let threshold = args.threshold.unwrap_or(list.kind().default_threshold());
        list_meta.push(serde_json::json!({
            "path": path.display().to_string(),
            "name": list.name(),
            "version": list.version(),
            "algorithm": list.kind().name(),
            "hashes": list.len(),
            "entries": list.entry_count(),
            "crc32c": format!("{:08x}", crc32c::crc32c(list.as_bytes())),
            "threshold": threshold,
        }));
        let mut opts = ListOptions::default().index(IndexKind::Auto);
        if let Some(t) = args.threshold {
            opts = opts.threshold(t);
        }
        matcher
            .add_list(list, opts)
            .with_context(|| format!("cannot load list {}", path.display()))?;
    }
    let kinds = matcher.kinds();

    let done = match &args.output {
        Some(out) if out.exists() => already_done(out, args.format)?,
        _ => HashSet::new(),
    };
    let resumed = !done.is_empty();
    let mut walk_errors = Vec::new();
    let files: Vec<PathBuf> = common::walk_inputs(&args.paths, |p, e| {
        walk_errors.push(format!("{}: {e}", p.display()))
    })
    .into_iter()
    .filter(|p| !done.contains(&p.display().to_string()))
    .collect();
    for e in &walk_errors {
        eprintln!("hashsieve: {e}");
    }

    let mut out = match &args.output {
        Some(path) => {
            let fresh = !path.exists() || std::fs::metadata(path)?.len() == 0;
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            let w = RowWriter::new(
                Box::new(std::io::BufWriter::new(file)),
                args.format,
                HEADER.to_vec(),
            )?;
            if fresh {
                w
            } else {
                w.without_header()
            }
        }
        None => RowWriter::stdout(args.format, HEADER.to_vec())?,
    }
    .numeric(&["quality", "distance"]);

    let hasher = args.dihedral.hasher();
    let pb = common::progress(files.len() as u64, "files");
    let (mut matched, mut clean, mut skipped, mut errors) =
        (0u64, 0u64, 0u64, walk_errors.len() as u64);
    for chunk in files.chunks(CHUNK) {
        let rows: Vec<Vec<[String; 10]>> = chunk
            .par_iter()
            .map(|path| scan_file(path, &hasher, &matcher, &kinds, args.dihedral.enabled()))
            .collect();
        for file_rows in rows {
            pb.inc(1);
            // A file counts once: as matched if any of its hashes matched.
            let has = |status: &str| file_rows.iter().any(|r| r[1] == status);
            if has("match") {
                matched += 1;
            } else if has("error") {
                errors += 1;
                eprintln!("hashsieve: {}: {}", file_rows[0][0], file_rows[0][9]);
            } else if has("skipped") {
                skipped += 1;
            } else {
                clean += 1;
            }
            for row in &file_rows {
                let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                out.row(&cells)?;
            }
        }
        // Rows reach the file as each batch finishes, so an interrupted scan loses at most one batch.
        out.flush()?;
    }
    pb.finish_and_clear();
    out.flush()?;

    let summary = serde_json::json!({
        "tool": format!("hashsieve {}", env!("CARGO_PKG_VERSION")),
        "started": started,
        "finished": now(),
        "resumed": resumed,
        "inputs": args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "lists": list_meta,
        "dihedral": args.dihedral.enabled(),
        "dihedral_mode": args.dihedral.mode().name(),
        "min_pdq_quality": gates.min_pdq_quality,
        "min_quality": kinds.iter().map(|&k| (k.name(), gates.min_quality_of(k))).collect::<std::collections::BTreeMap<_, _>>(),
        "files": {"scanned": files.len(), "previously_done": done.len(), "matched": matched,
                  "no_match": clean, "skipped_low_quality": skipped, "errors": errors},
    });
    match &args.output {
        Some(path) => write_report(path, &summary)?,
        None => eprintln!("{}", serde_json::to_string_pretty(&summary)?),
    }
    eprintln!(
        "scanned {} files ({} already done): {matched} matched, {clean} no match, {skipped} skipped, {errors} errors",
        files.len(),
        done.len()
    );
    let code = if errors > 0 {
        common::EXIT_ERROR
    } else if matched > 0 {
        common::EXIT_OK
    } else {
        common::EXIT_NO_MATCH
    };
    Ok(ExitCode::from(code))
}

fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::info::utc(secs)
}

/// The report sits next to the output as `<output>.report.json`, written atomically.
fn write_report(output: &Path, summary: &serde_json::Value) -> anyhow::Result<()> {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".report.json");
    let mut text = serde_json::to_vec_pretty(summary)?;
    text.push(b'\n');
    common::write_atomic(&output.with_file_name(name), &text)
}

/// The paths an earlier run recorded. A last line cut off by an interruption is dropped from
/// the file, so that file is scanned again.
fn already_done(output: &Path, format: Format) -> anyhow::Result<HashSet<String>> {
    let bytes = std::fs::read(output)?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        let f = OpenOptions::new().write(true).open(output)?;
        f.set_len(keep as u64)?;
    }
    let mut done = HashSet::new();
    let reader = BufReader::new(File::open(output)?);
    match format {
        Format::Json => {
            for line in reader.lines() {
                let v: serde_json::Value = serde_json::from_str(&line?)
                    .context("cannot resume: output is not JSON lines")?;
                if let Some(p) = v.get("path").and_then(|p| p.as_str()) {
                    done.insert(p.to_string());
                }
            }
        }
        Format::Tsv | Format::Csv => {
            let delim = if format == Format::Tsv { b'\t' } else { b',' };
            let mut rd = csv::ReaderBuilder::new()
                .delimiter(delim)
                .flexible(true)
                .from_reader(reader);
            let col = rd
                .headers()?
                .iter()
                .position(|h| h == "path")
                .context("cannot resume: output has no path column")?;
            for rec in rd.records() {
                if let Some(p) = rec?.get(col) {
                    done.insert(p.to_string());
                }
            }
        }
    }
    Ok(done)
}

fn scan_file(
    path: &Path,
    hasher: &Hasher,
    matcher: &Matcher,
    kinds: &[HashKind],
    dihedral: bool,
) -> Vec<[String; 10]> {
    let shown = path.display().to_string();
    let row = |status: &str, kind: &str, hash: String, quality: String, detail: String| {
        [
            shown.clone(),
            status.into(),
            kind.into(),
            hash,
            quality,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            detail,
        ]
    };
    let image = match decode_path(path, hasher.decode_options()) {
        Ok(image) => image,
        Err(err) => {
            return vec![row(
                "error",
                "",
                String::new(),
                String::new(),
                err.kind().to_string(),
            )]
        }
    };
    let pixels = image.pixels();
    let mut rows = Vec::new();
    for &kind in kinds {
        let (out, query) = common::image_query(hasher, &pixels, kind, dihedral);
        let quality = out.quality.map(|q| q.to_string()).unwrap_or_default();
        match matcher.query(&query) {
            QueryResult::Searched(records) if records.is_empty() => {
                rows.push(row(
                    "no_match",
                    kind.name(),
                    out.value.to_hex(),
                    quality,
                    String::new(),
                ));
            }
            QueryResult::Searched(records) => {
                for r in records {
                    for id in &r.entry_ids {
                        let mut cells = row(
                            "match",
                            kind.name(),
                            out.value.to_hex(),
                            quality.clone(),
                            r.categories.join(" "),
                        );
                        cells[5] = r.list.clone();
                        cells[6] = id.clone();
                        cells[7] = r.distance.to_string();
                        cells[8] = r.orientation.map(Dihedral::name).unwrap_or("").to_string();
                        rows.push(cells);
                    }
                }
            }
            QueryResult::Skipped(reason) => {
                rows.push(row(
                    "skipped",
                    kind.name(),
                    out.value.to_hex(),
                    quality,
                    reason.to_string(),
                ));
            }
            _ => {}
        }
    }
    rows
}
