//! `hashsieve scan`: walk trees, hash in parallel, match against lists, write rows as they are
//! produced, and resume an interrupted scan without re-hashing what is done.

use std::collections::HashSet;
use std::fs::OpenOptions;
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
    /// already recorded there are not hashed again. Only a scan output of the same `--format`
    /// is resumed; any other existing file is refused and left unchanged. An output (and its
    /// `.report.json`) inside a scanned directory is not scanned. Without it, rows go to stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Inclusive Hamming threshold for every list (default: per algorithm, PDQ 31).
    #[arg(long, short = 't', value_parser = crate::args::threshold)]
    threshold: Option<u32>,
    #[command(flatten)]
    dihedral: common::DihedralArgs,
    #[command(flatten)]
    exif: common::ExifArgs,
    /// Quality gates, comma separated: Q for every algorithm or ALGO=Q for one, later items
    /// winning (`0` turns every gate off; `pdq=70,phash=10`). Images below their algorithm's gate
    /// are skipped (recorded as `skipped`). Default: pdq=50, and 1 for the others, which skips only
    /// images that are flat on the algorithm's grid.
    #[arg(long, value_delimiter = ',', value_name = "[ALGO=]Q")]
    min_quality: Vec<common::QualityGate>,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    #[command(flatten)]
    walk: common::WalkArgs,
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
    let report_path = args.output.as_deref().map(report_path);
    let files = common::Files::new()
        .lists(args.lists.iter().map(PathBuf::as_path))
        .inputs(args.paths.iter().map(PathBuf::as_path))
        .outputs(args.output.as_deref())
        .outputs(report_path.as_deref());
    files.check()?;
    let outputs = files.output_ids();
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

    // Only a regular file is resumed; a pipe or device is written through.
    let resume = args
        .output
        .as_deref()
        .filter(|out| std::fs::metadata(out).is_ok_and(|m| m.is_file() && m.len() > 0));
    let done = match resume {
        Some(out) => already_done(out, args.format)?,
        None => HashSet::new(),
    };
    let resumed = !done.is_empty();
    let mut walk_errors = Vec::new();
    let (walked, skipped) = common::walk_inputs(&args.paths, args.walk, &outputs, |p, e| {
        walk_errors.push((p.display().to_string(), e.to_string()))
    });
    let files: Vec<PathBuf> = walked
        .into_iter()
        .filter(|p| !done.contains(&p.display().to_string()))
        .collect();

    let mut out = match &args.output {
        Some(path) => {
            let fresh = resume.is_none();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
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

    let hasher = args.dihedral.hasher().with_decode_options(
        hashsieve::image::DecodeOptions::default().with_orientation(args.exif.orientation()),
    );
    let pb = common::progress(files.len() as u64, "files");
    let (mut matched, mut clean, mut skipped_quality, mut errors) =
        (0u64, 0u64, 0u64, walk_errors.len() as u64);
    // What the walk could not read gets an error row too (once: not again when resumed).
    for (path, err) in &walk_errors {
        eprintln!("hashsieve: {path}: {err}");
        if !done.contains(path) {
            let mut cells = [""; 10];
            cells[0] = path;
            cells[1] = "error";
            cells[9] = err;
            out.row(&cells)?;
        }
    }
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
                skipped_quality += 1;
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
                  "no_match": clean, "skipped_low_quality": skipped_quality, "errors": errors,
                  "not_scanned": skipped.to_json()},
    });
    match &report_path {
        Some(path) => write_report(path, &summary)?,
        None => eprintln!("{}", serde_json::to_string_pretty(&summary)?),
    }
    eprintln!(
        "scanned {} files ({} already done): {matched} matched, {clean} no match, {skipped_quality} skipped, {errors} errors",
        files.len(),
        done.len()
    );
    if let Some(line) = skipped.summary() {
        eprintln!("hashsieve: {line}");
    }
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

/// The report sits next to the output as `<output>.report.json`.
fn report_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".report.json");
    output.with_file_name(name)
}

/// Writes the report atomically.
fn write_report(path: &Path, summary: &serde_json::Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(summary)?;
    text.push(b'\n');
    common::write_atomic(path, &text)
}

/// The paths an earlier run recorded in `output`, which must be a scan output of `format`:
/// its first line is the scan header (TSV, CSV) or every line is a scan row (JSON lines).
/// Anything else (a list, an image, another table) is refused unchanged. Only then is a last
/// line cut off by an interruption dropped from the file, so that its file is scanned again.
fn already_done(output: &Path, format: Format) -> anyhow::Result<HashSet<String>> {
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "cannot resume into {}: {why}, so it is not a `hashsieve scan --format {}` output; \
             it was left unchanged (give another -o, or the same --format as before)",
            output.display(),
            match format {
                Format::Tsv => "tsv",
                Format::Csv => "csv",
                Format::Json => "json",
            }
        )
    };
    let bytes =
        std::fs::read(output).with_context(|| format!("cannot read {}", output.display()))?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let complete = &bytes[..keep];
    let mut done = HashSet::new();
    match format {
        Format::Json => {
            if complete.is_empty() {
                return Err(refuse("it has no complete line"));
            }
            for (n, line) in complete.split(|&b| b == b'\n').enumerate() {
                if line.is_empty() && n > 0 {
                    continue;
                }
                let row: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(line)
                    .map_err(|_| refuse(&format!("line {} is not a JSON object", n + 1)))?;
                if row.len() != HEADER.len() || !HEADER.iter().all(|h| row.contains_key(*h)) {
                    return Err(refuse(&format!(
                        "line {} has other fields than a scan row",
                        n + 1
                    )));
                }
                if let Some(p) = row.get("path").and_then(|p| p.as_str()) {
                    done.insert(p.to_string());
                }
            }
        }
        Format::Tsv | Format::Csv => {
            let delim = if format == Format::Tsv { b'\t' } else { b',' };
            let header = HEADER.join(if format == Format::Tsv { "\t" } else { "," });
            if !complete.starts_with(format!("{header}\n").as_bytes()) {
                return Err(refuse("its first line is not the scan header"));
            }
            // TSV is escaped, not quoted (common::tsv_escape).
            let mut rd = csv::ReaderBuilder::new()
                .delimiter(delim)
                .quoting(format == Format::Csv)
                .flexible(true)
                .from_reader(complete);
            for (n, rec) in rd.records().enumerate() {
                let rec = rec.map_err(|_| refuse(&format!("row {} cannot be read", n + 1)))?;
                if rec.len() != HEADER.len() {
                    return Err(refuse(&format!(
                        "row {} has {} fields, not {}",
                        n + 1,
                        rec.len(),
                        HEADER.len()
                    )));
                }
                if let Some(p) = rec.get(0) {
                    done.insert(match format {
                        Format::Tsv => {
                            String::from_utf8_lossy(&common::tsv_unescape(p.as_bytes())).into()
                        }
                        _ => p.to_string(),
                    });
                }
            }
        }
    }
    if keep < bytes.len() {
        let f = OpenOptions::new().write(true).open(output)?;
        f.set_len(keep as u64)?;
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
