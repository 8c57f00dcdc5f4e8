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
use hashsieve::image::decode_path;
use hashsieve::index::IndexKind;
use hashsieve::matching::{Matcher, QueryResult};
use hashsieve::HashKind;
use rayon::prelude::*;

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
    /// Directories or image files to scan (recursively); files are identified as images by
    /// content, and any other file gets an `error` row "not an image".
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

/// The prefix of the TSV/CSV comment line that holds the settings (JSON).
const SETTINGS_PREFIX: &str = "# settings: ";

/// Files hashed per parallel batch: bounds memory to a few hundred decoded images at most.
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
    lists.sort_by(|a, b| a.name.cmp(&b.name));
    let filter = args.lists.category_filter();
    serde_json::json!({
        "format": format_name(args.format),
        "lists": lists.iter().map(|l| serde_json::json!({
            "name": l.name, "version": l.version, "algorithm": l.kind.name(),
            "hashes": l.hashes, "entries": l.entries, "crc32c": l.crc32c,
        })).collect::<Vec<_>>(),
        "thresholds": lists.iter().map(|l| (l.name.clone(), l.threshold)).collect::<BTreeMap<_, _>>(),
        "min_quality": kinds.iter().map(|&k| (k.name(), gates.min_quality_of(k))).collect::<BTreeMap<_, _>>(),
        "categories": {"hidden": filter.hidden, "show_hidden": filter.show_hidden,
                       "only": filter.only, "exclude": filter.exclude},
        "dihedral": args.image.dihedral.enabled(),
        "dihedral_mode": args.image.dihedral.mode().name(),
        "exif": format!("{:?}", args.image.exif.orientation()).to_ascii_lowercase(),
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
    let kinds = matcher.kinds();
    let settings = settings(&args, &loaded, &gates, &kinds);
    let list_meta: Vec<serde_json::Value> = loaded
        .iter()
        .map(|l| {
            serde_json::json!({
                "path": l.path.display().to_string(),
                "name": l.name,
                "version": l.version,
                "algorithm": l.kind.name(),
                "hashes": l.hashes,
                "entries": l.entries,
                "crc32c": l.crc32c,
                "threshold": l.threshold,
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
    .numeric(&["quality", "distance"]);
    let mut rows_now = 0u64;
    // `--vics` and `--report`: fed each file's rows (crate::case).
    let mut case = crate::case::Case::new(&args.case, &args.paths)?;

    let hasher = args.image.dihedral.hasher().decode_options(
        hashsieve::image::DecodeOptions::default().orientation(args.image.exif.orientation()),
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
            let mut cells = [Cell::Text(""); 10];
            cells[0] = Cell::Path(path);
            cells[1] = Cell::Text("error");
            cells[9] = Cell::Text(err);
            out.cells(&cells)?;
            rows_now += 1;
            if let Some(case) = &mut case {
                let mut row: [String; 10] = Default::default();
                row[1] = "error".into();
                row[9] = err.clone();
                case.file(path, &HEADER, &[row])?;
            }
        }
    }
    for chunk in files.chunks(CHUNK) {
        let rows: Vec<Vec<[String; 10]>> = chunk
            .par_iter()
            .map(|path| {
                scan_file(
                    path,
                    &hasher,
                    &matcher,
                    &kinds,
                    args.image.dihedral.enabled(),
                )
            })
            .collect();
        for (path, file_rows) in chunk.iter().zip(rows) {
            pb.inc(1);
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
        }
        // Rows reach the file as each batch finishes, so an interrupted scan loses at most one batch.
        out.flush()?;
    }
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
        let lists: Vec<crate::case::ListInfo> = loaded
            .iter()
            .map(|l| crate::case::ListInfo {
                path: l.path.clone(),
                name: l.name.clone(),
                version: l.version.clone(),
                algorithm: l.kind.name().to_owned(),
                entries: l.entries as u64,
            })
            .collect();
        case.finish(&lists, args.output.as_deref(), &started, &now(), skipped.to_json())?;
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
    let code = if total.errors > 0 {
        common::EXIT_ERROR
    } else if total.matched > 0 {
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

fn scan_file(
    path: &Path,
    hasher: &Hasher,
    matcher: &Matcher,
    kinds: &[HashKind],
    dihedral: bool,
) -> Vec<[String; 10]> {
    // The path cell is left empty: the caller writes the path itself, exactly.
    let row = |status: &str, kind: &str, hash: String, quality: String, detail: String| {
        [
            String::new(),
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
    if let Some(why) = lists::not_an_image(path) {
        return vec![row("error", "", String::new(), String::new(), why)];
    }
    let image = match decode_path(path, &hasher.decode_options) {
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
