//! `hashsieve scan`: walk trees, hash in parallel, match against lists, write rows as they are
//! produced, and resume an interrupted scan without re-hashing what is done.
//!
//! The output starts with the settings that decide its answers (lists by name, version and
//! checksum, thresholds, quality gates, category filter, dihedral and EXIF options, format):
//! `#` comment lines before the column header (TSV, CSV), or a first object with
//! `"type":"header"` (JSON lines). A scan resumes into an output only when they are the same,
//! so that one file never holds answers given under two settings.
//!
//! Paths are written exactly ([`Cell::Path`]) and a resume knows the files done by their bytes.
//! JSON lines end with a `"type":"summary"` record counting the whole output; a resume drops
//! it with the rows of the last file recorded and writes a new one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::Hasher;
use hashsieve::index::IndexKind;
use hashsieve::matching::{
    apply_allow_lists, AllowPolicy, MatchRecord, Matcher, OverMatching, Query, QueryResult,
    SkipReason as QueryResultSkip,
};
use hashsieve::HashKind;

use crate::common::{self, Cell, Format, RowWriter};
use crate::lists::{self, ListArgs, LoadedList};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    lists: ListArgs,
    /// Where to write the results. Started again with the same output, the scan resumes: files
    /// already recorded there are not hashed again (but the last, whose rows an interruption
    /// may have cut). Only a scan output of the same `--format`,
    /// lists (name, version, checksum), thresholds and options is resumed (its header records
    /// them); any other existing file is refused and left unchanged. An output (and its
    /// `.report.json`) inside a scanned directory is not scanned. Without it, rows go to stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    #[command(flatten)]
    image: common::ImageQueryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    #[command(flatten)]
    walk: common::WalkArgs,
    #[command(flatten)]
    case: crate::case::CaseArgs,
    /// Exact hashes of the file bytes every row set carries, computed in the same read as the
    /// decoding, comma separated: md5, sha1, sha256 (default md5,sha1, the hashes national hash
    /// sets use; `none` for none). Exact-hash lists add their own kind.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "md5,sha1",
        value_name = "ALGOS"
    )]
    exact: Vec<ExactArg>,
    /// Directories or files to scan (recursively). Every file gets its exact hashes; files
    /// identified as images by content also get their perceptual hashes, and any other file a
    /// `no_image` row saying why (an `error` row "not an image" when no exact hash is asked for).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// One `--exact` item: an exact kind, or `none`.
#[derive(Clone, Copy, Debug)]
struct ExactArg(Option<HashKind>);

impl std::str::FromStr for ExactArg {
    type Err = String;
    fn from_str(s: &str) -> Result<ExactArg, String> {
        if s.trim() == "none" {
            return Ok(ExactArg(None));
        }
        match s.parse::<HashKind>() {
            Ok(k) if k.is_exact() => Ok(ExactArg(Some(k))),
            _ => Err("an exact hash is md5, sha1 or sha256 (or none)".into()),
        }
    }
}

const HEADER: [&str; 16] = [
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
    "size",
    "md5",
    "sha1",
    "sha256",
    "match",
    "role",
];

/// The prefix of the TSV/CSV comment line that holds the settings (JSON).
const SETTINGS_PREFIX: &str = "# settings: ";

/// Files between two flushes of the output: an interrupted scan loses at most these.
const CHUNK: usize = 64;

/// What one file's rows say, counted once per file: matched if any of its hashes matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    NoMatch,
    Skipped,
    Error,
    Matched,
}

impl Outcome {
    fn of(status: &str) -> Outcome {
        match status {
            "match" => Outcome::Matched,
            "error" => Outcome::Error,
            "skipped" => Outcome::Skipped,
            _ => Outcome::NoMatch,
        }
    }
}

/// Files per outcome.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    matched: u64,
    no_match: u64,
    skipped: u64,
    errors: u64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Matched => self.matched += 1,
            Outcome::Error => self.errors += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::NoMatch => self.no_match += 1,
        }
    }

    fn plus(self, other: Counts) -> Counts {
        Counts {
            matched: self.matched + other.matched,
            no_match: self.no_match + other.no_match,
            skipped: self.skipped + other.skipped,
            errors: self.errors + other.errors,
        }
    }

    fn to_json(self) -> serde_json::Value {
        serde_json::json!({"matched": self.matched, "no_match": self.no_match,
                           "skipped_low_quality": self.skipped, "errors": self.errors})
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Tsv => "tsv",
        Format::Csv => "csv",
        Format::Json => "json",
    }
}

/// The settings that decide a scan's answers, as recorded in its output header: a resume must
/// have the same. Lists are identified by content (checksum), not path, and sorted by name.
fn settings(
    args: &Args,
    loaded: &[LoadedList],
    gates: &hashsieve::matching::MatcherOptions,
    kinds: &[HashKind],
) -> serde_json::Value {
    let mut lists: Vec<&LoadedList> = loaded.iter().collect();
    lists.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    let filter = args.lists.category_filter();
    serde_json::json!({
        "format": format_name(args.format),
        "lists": lists.iter().map(|l| serde_json::json!({
            "name": l.info.name, "version": l.info.version, "algorithm": l.info.kind.name(),
            "hashes": l.info.len, "entries": l.entries, "crc32c": l.crc32c,
        })).collect::<Vec<_>>(),
        "thresholds": lists.iter().map(|l| (l.info.name.clone(), l.info.threshold)).collect::<BTreeMap<_, _>>(),
        "min_quality": kinds.iter().map(|&k| (k.name(), gates.min_quality_of(k))).collect::<BTreeMap<_, _>>(),
        "categories": {"hidden": filter.hidden, "show_hidden": filter.show_hidden,
                       "only": filter.only, "exclude": filter.exclude},
        "dihedral": args.image.dihedral.enabled(),
        "dihedral_mode": args.image.dihedral.mode().name(),
        "exif": format!("{:?}", args.image.decoding.orientation()).to_ascii_lowercase(),
        "decode": args.image.decoding.decode_name(),
    })
}

/// Writes the settings header: comment lines (TSV, CSV) or a header object (JSON lines).
fn write_settings(
    out: &mut dyn Write,
    format: Format,
    settings: &serde_json::Value,
) -> anyhow::Result<()> {
    let tool = format!("hashsieve {}", env!("CARGO_PKG_VERSION"));
    match format {
        Format::Json => {
            let header = serde_json::json!({"type": "header", "tool": tool, "settings": settings});
            serde_json::to_writer(&mut *out, &header)?;
            out.write_all(b"\n")?;
        }
        Format::Tsv | Format::Csv => {
            writeln!(
                out,
                "# {tool} scan: a resume (the same -o) must use the same settings"
            )?;
            writeln!(out, "{SETTINGS_PREFIX}{}", serde_json::to_string(settings)?)?;
        }
    }
    Ok(())
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = now();
    let report_path = args.output.as_deref().map(report_path);
    let case_outputs = args.case.outputs();
    let files = common::Files::new()
        .lists(args.lists.lists.iter().map(PathBuf::as_path))
        .inputs(args.paths.iter().map(PathBuf::as_path))
        .outputs(args.output.as_deref())
        .outputs(report_path.as_deref())
        .outputs(case_outputs.iter().map(PathBuf::as_path));
    files.check()?;
    let outputs = files.output_ids();
    let gates = common::matcher_options(&args.image.min_quality);
    let (matcher, loaded) = args.lists.load(gates.clone(), IndexKind::Auto, true)?;
    let mut kinds = matcher.kinds();
    for k in args.exact.iter().filter_map(|e| e.0) {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let settings = settings(&args, &loaded, &gates, &kinds);
    let list_meta: Vec<serde_json::Value> = loaded
        .iter()
        .map(|l| {
            serde_json::json!({
                "path": l.path.display().to_string(),
                "name": l.info.name,
                "version": l.info.version,
                "algorithm": l.info.kind.name(),
                "hashes": l.info.len,
                "entries": l.entries,
                "crc32c": l.crc32c,
                "threshold": l.info.threshold,
            })
        })
        .collect();

    // Only a regular file is resumed; a pipe or device is written through.
    let resume = args
        .output
        .as_deref()
        .filter(|out| std::fs::metadata(out).is_ok_and(|m| m.is_file() && m.len() > 0));
    let Done {
        files: done,
        rows: rows_before,
    } = match resume {
        Some(out) => already_done(out, args.format, &settings)?,
        None => Done::default(),
    };
    let resumed = resume.is_some();
    let mut before = Counts::default();
    done.values().for_each(|&o| before.add(o));
    let mut walk_errors = Vec::new();
    let (walked, skipped) = common::walk_inputs(&args.paths, args.walk, &outputs, |p, e| {
        walk_errors.push((p.to_path_buf(), e.to_string()))
    });
    // Done files are known by their exact bytes: two names that differ in a byte that is not
    // UTF-8 are two files.
    let files: Vec<PathBuf> = walked
        .into_iter()
        .filter(|p| !done.contains_key(&*common::path_bytes(p)))
        .collect();

    let mut out = match &args.output {
        Some(path) => {
            let fresh = resume.is_none();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut file = std::io::BufWriter::new(file);
            if fresh {
                write_settings(&mut file, args.format, &settings)?;
            }
            let w = RowWriter::new(Box::new(file), args.format, HEADER.to_vec())?;
            if fresh {
                w
            } else {
                w.without_header()
            }
        }
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            write_settings(&mut stdout, args.format, &settings)?;
            RowWriter::new(Box::new(stdout), args.format, HEADER.to_vec())?
        }
    }
    .numeric(&["quality", "distance", "size"]);
    let mut rows_now = 0u64;
    // `--vics` and `--report`: fed each file's rows (crate::case).
    let mut case = crate::case::Case::new(&args.case, &args.paths)?;
    let mut over = OverMatching::new();

    let hasher = args.image.dihedral.hasher().decode_options(
        args.image
            .decoding
            .apply(hashsieve::image::DecodeOptions::default(), &kinds),
    );
    let pb = common::progress(files.len() as u64, "files");
    let mut now_counts = Counts::default();
    // What the walk could not read gets an error row too (once: not again when resumed).
    let mut seen = HashSet::new();
    for (path, err) in &walk_errors {
        eprintln!("hashsieve: {}: {err}", path.display());
        let key = common::path_bytes(path);
        if !done.contains_key(&*key) && seen.insert(key) {
            now_counts.add(Outcome::Error);
            let mut cells = [Cell::Text(""); 16];
            cells[0] = Cell::Path(path);
            cells[1] = Cell::Text("error");
            cells[9] = Cell::Text(err);
            out.cells(&cells)?;
            rows_now += 1;
            if let Some(case) = &mut case {
                let mut row = vec![String::new(); HEADER.len()];
                row[1] = "error".into();
                row[9] = err.clone();
                case.file(path, &HEADER, &[row])?;
            }
        }
    }
    // Files scan in parallel and their rows come out in input order (crate::pipeline).
    let mut since_flush = 0;
    crate::pipeline::ordered(
        &files,
        |path| crate::pipeline::read_ahead(path),
        |path| {
            scan_file(
                path,
                &hasher,
                &matcher,
                &kinds,
                args.image.dihedral.enabled(),
                args.lists.allow_policy,
            )
        },
        |path, (file_rows, block)| {
            pb.inc(1);
            over.add_file(block.iter());
            // A file counts once: as matched if any of its hashes matched.
            let outcome = file_rows
                .iter()
                .map(|r| Outcome::of(&r[1]))
                .max()
                .unwrap_or(Outcome::NoMatch);
            if outcome == Outcome::Error {
                eprintln!("hashsieve: {}: {}", path.display(), file_rows[0][9]);
            }
            now_counts.add(outcome);
            if let Some(case) = &mut case {
                case.file(path, &HEADER, &file_rows)?;
            }
            for row in &file_rows {
                // The path is written exactly (its bytes); the other cells are text.
                let mut cells: Vec<Cell<'_>> = row.iter().map(Cell::from).collect();
                cells[0] = Cell::Path(path);
                out.cells(&cells)?;
                rows_now += 1;
            }
            since_flush += 1;
            if since_flush == CHUNK {
                out.flush()?;
                since_flush = 0;
            }
            Ok(())
        },
    )?;
    out.flush()?;
    pb.finish_and_clear();

    // The counts cover the whole output: the files recorded by earlier runs and this one's.
    let total = before.plus(now_counts);
    // JSON ends with a summary record of the whole output (a resume drops the old one).
    out.summary(&[
        (
            "files",
            total.matched + total.no_match + total.skipped + total.errors,
        ),
        ("matched", total.matched),
        ("no_match", total.no_match),
        ("skipped", total.skipped),
        ("errors", total.errors),
        ("rows", rows_before + rows_now),
    ])?;
    let over_matching = args
        .lists
        .over_matching
        .map(|n| crate::lists::report_over_matching(&over, n));
    let mut file_counts = serde_json::json!({
        "scanned": files.len(), "previously_done": done.len(),
        "this_run": now_counts.to_json(), "not_scanned": skipped.to_json(),
    });
    if let (Some(obj), serde_json::Value::Object(t)) =
        (file_counts.as_object_mut(), total.to_json())
    {
        obj.extend(t);
    }
    let summary = serde_json::json!({
        "tool": format!("hashsieve {}", env!("CARGO_PKG_VERSION")),
        "started": started,
        "finished": now(),
        "resumed": resumed,
        "inputs": args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "lists": list_meta,
        "settings": settings,
        "dihedral": args.image.dihedral.enabled(),
        "dihedral_mode": args.image.dihedral.mode().name(),
        "min_pdq_quality": gates.min_pdq_quality,
        "min_quality": kinds.iter().map(|&k| (k.name(), gates.min_quality_of(k))).collect::<BTreeMap<_, _>>(),
        "files": file_counts,
    });
    // The results file is complete before the case report takes its digest.
    drop(out);
    if let Some(case) = case {
        case.finish(
            &loaded,
            args.output.as_deref(),
            &started,
            &now(),
            skipped.to_json(),
        )?;
    }
    let mut summary = summary;
    if let (Some(n), Some(obj)) = (over_matching, summary.as_object_mut()) {
        obj.insert("over_matching".into(), n.into());
    }
    match &report_path {
        Some(path) => write_report(path, &summary)?,
        None => eprintln!("{}", serde_json::to_string_pretty(&summary)?),
    }
    eprintln!(
        "scanned {} files ({} already done); in all: {} matched, {} no match, {} skipped, {} errors",
        files.len(),
        done.len(),
        total.matched,
        total.no_match,
        total.skipped,
        total.errors
    );
    if let Some(line) = skipped.summary() {
        eprintln!("hashsieve: {line}");
    }
    // The exit code speaks for the whole output, earlier runs included.
    Ok(common::match_exit_code(total.errors, total.matched))
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

/// The top-level settings that differ, by name.
fn differences(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (o, n) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| k.replace('_', " "))
        .collect()
}

/// A path's bytes (Unix), or its text elsewhere: how done files are keyed.
/// A JSON `path` value as bytes: a string, or `{"bytes": "<base64>"}` (a path that is not
/// UTF-8, as [`Cell::Path`] writes it). `None` for anything else.
fn json_path_bytes(value: &serde_json::Value) -> Option<Vec<u8>> {
    use base64::Engine;
    match value {
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Object(o) if o.len() == 1 => base64::engine::general_purpose::STANDARD
            .decode(o.get("bytes")?.as_str()?)
            .ok(),
        _ => None,
    }
}

/// What an earlier run recorded in a scan output, as far as it is kept.
#[derive(Default)]
struct Done {
    /// The files recorded (by their exact bytes, [`common::path_bytes`]) and what their rows say.
    files: HashMap<Vec<u8>, Outcome>,
    /// The rows kept.
    rows: u64,
}

/// The files an earlier run recorded in `output` and what their rows say. `output` must be a
/// scan output of `format` whose settings header equals `settings`; anything else (a list, an
/// image, another table, an output of other settings or of a hashsieve that wrote no header)
/// is refused unchanged. Only then are the rows of the last file recorded dropped from the
/// output (with a last line cut off by an interruption), so that that file is scanned again:
/// an interruption may have cut its rows between two of them (one per algorithm and match),
/// and a file recorded in part must not pass for done. A JSON summary record after the last row
/// is dropped too (the resumed run writes the summary of the whole output); rows after a
/// summary are read as any others.
fn already_done(
    output: &Path,
    format: Format,
    settings: &serde_json::Value,
) -> anyhow::Result<Done> {
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "cannot resume into {}: {why}; it was left unchanged (give another -o, or the same \
             --format, lists and options as before)",
            output.display(),
        )
    };
    let not_scan = |why: &str| {
        refuse(&format!(
            "{why}, so it is not a `hashsieve scan --format {}` output",
            format_name(format)
        ))
    };
    let no_header = || {
        refuse(
            "it has no settings header (written by an older hashsieve?), so the lists and \
                thresholds its answers came from are unknown and a resume could mix answers of \
                two settings",
        )
    };
    let bytes =
        std::fs::read(output).with_context(|| format!("cannot read {}", output.display()))?;
    let mut keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let complete = &bytes[..keep];
    if complete.is_empty() {
        return Err(not_scan("it has no complete line"));
    }
    let mut lines = complete.split_inclusive(|&b| b == b'\n');
    let mut done: HashMap<Vec<u8>, Outcome> = HashMap::new();
    // The last file recorded, the offset of its first row and its rows so far (a file's rows
    // are written together, one after another), and all rows read.
    let mut last: Option<(Vec<u8>, usize, u64)> = None;
    let mut rows = 0u64;
    let mut record = |path: Vec<u8>, status: &str, at: usize| {
        let o = Outcome::of(status);
        rows += 1;
        match last.as_mut() {
            Some((p, _, n)) if *p == path => *n += 1,
            _ => last = Some((path.clone(), at, 1)),
        }
        let e = done.entry(path).or_insert(o);
        *e = (*e).max(o);
    };
    // Where a summary record after the last row starts (JSON).
    let mut summary_at: Option<usize> = None;
    let same = |old: &serde_json::Value| -> anyhow::Result<()> {
        if old == settings {
            return Ok(());
        }
        Err(refuse(&format!(
            "it was written with other settings ({} differ)",
            differences(old, settings).join(", ")
        )))
    };
    match format {
        Format::Json => {
            let first = lines.next().unwrap_or_default();
            let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(first)
                .map_err(|_| not_scan("line 1 is not a JSON object"))?;
            if header.get("type").and_then(|t| t.as_str()) != Some("header") {
                if header.len() == HEADER.len() && HEADER.iter().all(|h| header.contains_key(*h)) {
                    return Err(no_header());
                }
                return Err(not_scan("line 1 is not a scan header"));
            }
            same(header.get("settings").unwrap_or(&serde_json::Value::Null))?;
            let mut at = first.len();
            for (n, line) in lines.enumerate() {
                let start = at;
                at += line.len();
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                let row: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(line)
                    .map_err(|_| not_scan(&format!("line {} is not a JSON object", n + 2)))?;
                if row.contains_key("type") {
                    // A typed record (a summary) is not a row.
                    if row.get("type").and_then(|t| t.as_str()) == Some("summary") {
                        summary_at.get_or_insert(start);
                    }
                    continue;
                }
                summary_at = None;
                if row.len() != HEADER.len() || !HEADER.iter().all(|h| row.contains_key(*h)) {
                    return Err(not_scan(&format!(
                        "line {} has other fields than a scan row",
                        n + 2
                    )));
                }
                let (Some(p), Some(s)) = (
                    row.get("path").and_then(json_path_bytes),
                    row.get("status").and_then(|s| s.as_str()),
                ) else {
                    return Err(not_scan(&format!("line {} has no path or status", n + 2)));
                };
                record(p, s, start);
            }
        }
        Format::Tsv | Format::Csv => {
            let delim = if format == Format::Tsv { b'\t' } else { b',' };
            let header = HEADER.join(if format == Format::Tsv { "\t" } else { "," });
            let mut found: Option<serde_json::Value> = None;
            let mut offset = 0;
            let mut columns = None;
            for line in lines.by_ref() {
                offset += line.len();
                if line.starts_with(b"#") {
                    if let Some(json) = std::str::from_utf8(line)
                        .ok()
                        .and_then(|l| l.trim_end().strip_prefix(SETTINGS_PREFIX))
                    {
                        found = serde_json::from_str(json).ok();
                    }
                    continue;
                }
                columns = Some(line);
                break;
            }
            let columns = columns.map(|c| c.strip_suffix(b"\n").unwrap_or(c));
            if columns != Some(header.as_bytes()) {
                return Err(not_scan("it has no scan column header"));
            }
            let Some(old) = found else {
                return Err(no_header());
            };
            same(&old)?;
            // TSV is escaped, not quoted (common::tsv_escape).
            let mut rd = csv::ReaderBuilder::new()
                .delimiter(delim)
                .quoting(format == Format::Csv)
                .has_headers(false)
                .flexible(true)
                .from_reader(&complete[offset..]);
            for (n, rec) in rd.byte_records().enumerate() {
                let rec = rec.map_err(|_| not_scan(&format!("row {} cannot be read", n + 1)))?;
                if rec.len() != HEADER.len() {
                    return Err(not_scan(&format!(
                        "row {} has {} fields, not {}",
                        n + 1,
                        rec.len(),
                        HEADER.len()
                    )));
                }
                if let (Some(p), Some(s)) = (rec.get(0), rec.get(1)) {
                    let start = rec.position().map_or(0, |pos| pos.byte() as usize);
                    // TSV escapes a path's bytes; CSV writes them as they are.
                    let path = match format {
                        Format::Tsv => common::tsv_unescape(p),
                        _ => p.to_vec(),
                    };
                    let status = std::str::from_utf8(s).unwrap_or("");
                    record(path, status, offset + start);
                }
            }
        }
    }
    if let Some(at) = summary_at {
        keep = at;
    }
    if let Some((path, start, n)) = last {
        done.remove(&path);
        rows -= n;
        keep = keep.min(start);
    }
    if keep < bytes.len() {
        let f = OpenOptions::new().write(true).open(output)?;
        f.set_len(keep as u64)?;
    }
    Ok(Done { files: done, rows })
}

/// One file's rows, and its block-list matches that stand (for the over-matching summary).
type ScanRows = (Vec<[String; 16]>, Vec<MatchRecord>);

fn scan_file(
    path: &Path,
    hasher: &Hasher,
    matcher: &Matcher,
    kinds: &[HashKind],
    dihedral: bool,
    policy: AllowPolicy,
) -> ScanRows {
    // The path cell is left empty: the caller writes the path itself, exactly.
    let row = |status: &str, kind: &str, hash: String, quality: String, detail: String| {
        let mut r: [String; 16] = Default::default();
        r[1] = status.into();
        r[2] = kind.into();
        r[3] = hash;
        r[4] = quality;
        r[9] = detail;
        r
    };
    let has_exact = kinds.iter().any(|k| k.is_exact());
    if !has_exact {
        if let Some(why) = lists::not_an_image(path) {
            return (
                vec![row("error", "", String::new(), String::new(), why)],
                Vec::new(),
            );
        }
    }
    // One read: the exact digests as the bytes stream in, the image decoded from them.
    let read = match lists::read_once(path, hasher, kinds) {
        Ok(read) => read,
        Err(err) => {
            let why = common::error_message(&err);
            return (
                vec![row("error", "", String::new(), String::new(), why)],
                Vec::new(),
            );
        }
    };
    let size = read.size.to_string();
    // (kind, hash text, quality, query result) for every hash of the file: the perceptual
    // hashes first, then the exact ones.
    let mut results: Vec<(HashKind, String, String, QueryResult)> = Vec::new();
    let mut rows = Vec::new();
    match &read.image {
        Ok(image) => {
            let pixels = image.pixels();
            for &kind in kinds.iter().filter(|k| k.is_perceptual()) {
                let (out, query) = common::image_query(hasher, &pixels, kind, dihedral);
                let quality = out.quality.map(|q| q.to_string()).unwrap_or_default();
                results.push((kind, out.value.to_hex(), quality, matcher.query(&query)));
            }
        }
        Err(why) if !has_exact => {
            let mut r = row("error", "", String::new(), String::new(), why.clone());
            r[10] = size;
            return (vec![r], Vec::new());
        }
        Err(why) if kinds.iter().any(|k| k.is_perceptual()) => {
            // Videos and other files are matched by their exact hashes only.
            let mut r = row("no_image", "", String::new(), String::new(), why.clone());
            r[10] = size.clone();
            rows.push(r);
        }
        Err(_) => {}
    }
    for d in &read.digests {
        let q = Query::new(d.kind(), *d, None);
        results.push((d.kind(), d.to_hex(), String::new(), matcher.query(&q)));
    }
    let all: Vec<MatchRecord> = results
        .iter()
        .flat_map(|(.., r)| r.matches().iter().cloned())
        .collect();
    let verdict = apply_allow_lists(all, policy);
    for (kind, hash, quality, result) in results {
        match result {
            QueryResult::Searched(records) => {
                let mut any = false;
                for r in &records {
                    let status = if verdict.allow.contains(r) {
                        "known_good"
                    } else if verdict.block.contains(r) {
                        "match"
                    } else if verdict.overridden.contains(r) {
                        "overridden"
                    } else {
                        continue;
                    };
                    any = true;
                    for id in &r.entry_ids {
                        let mut cells = row(
                            status,
                            kind.name(),
                            hash.clone(),
                            quality.clone(),
                            r.categories.join(" "),
                        );
                        cells[5] = r.list.clone();
                        cells[6] = id.clone();
                        cells[7] = r.distance.to_string();
                        cells[8] = r.orientation.map(Dihedral::name).unwrap_or("").to_string();
                        cells[14] = if r.kind.is_exact() {
                            "exact"
                        } else {
                            "perceptual"
                        }
                        .into();
                        cells[15] = r.role.name().into();
                        rows.push(cells);
                    }
                }
                if !any {
                    rows.push(row("no_match", kind.name(), hash, quality, String::new()));
                }
            }
            QueryResult::Skipped(QueryResultSkip::NoListOfKind(k)) if k.is_exact() => {
                // An exact hash computed for the rows' columns, with no list of its kind.
            }
            QueryResult::Skipped(reason) => {
                rows.push(row(
                    "skipped",
                    kind.name(),
                    hash,
                    quality,
                    reason.to_string(),
                ));
            }
            _ => {}
        }
    }
    // Every row carries the file's size and exact hashes.
    let digest = |k: HashKind| {
        read.digests
            .iter()
            .find(|d| d.kind() == k)
            .map(|d| d.to_hex())
            .unwrap_or_default()
    };
    let (md5, sha1, sha256) = (
        digest(HashKind::Md5),
        digest(HashKind::Sha1),
        digest(HashKind::Sha256),
    );
    if rows.is_empty() {
        // Only exact hashes, and no list of their kinds: one row to carry them.
        rows.push(row(
            "no_match",
            "",
            String::new(),
            String::new(),
            String::new(),
        ));
    }
    for r in &mut rows {
        r[10] = size.clone();
        r[11] = md5.clone();
        r[12] = sha1.clone();
        r[13] = sha256.clone();
    }
    (rows, verdict.block)
}
