//! `scan --vics OUT.json` and `scan --report case.html` (+ `case.json`): what a scan writes for
//! investigators, fed one file's rows at a time by a small hook in `scan`.
//!
//! - The VICS document holds one Media record per file that matched a list: MD5, SHA1,
//!   MediaSize when the scan rows carry them, the Category from the matched entry's
//!   `vics:<code>` category, RelativeFilePath (relative to the scanned root it was found under),
//!   and our PDQ as the extra field `PDQ`.
//! - The case report is `case.json` (the facts) and `case.html` (the same, for people): tool
//!   version, the exact command line, start and end times, each list (name, version, algorithm,
//!   SHA-256 of the file), counts per category, per list and per directory, files read, skipped
//!   and failed (each with its reason), and the SHA-256 of the results file. Hashes of the
//!   files scanned are left out unless `--report-hashes`. The HTML has no script, no external
//!   asset and no image. Everything but the two times is the same for the same evidence and
//!   lists: maps are sorted, lists of files sorted by path bytes.
//! - Paths are byte-exact: a path that is UTF-8 is written as it is; one that is not is written
//!   escaped (`\xNN` for each byte outside UTF-8, `\\` for a backslash), as in our TSV.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hashsieve::fs::AtomicFile;
use hashsieve::hash::ExactHasher;
use hashsieve::list::records::{MediaRecord, VicsWriter};
use hashsieve::HashKind;

use crate::common;
use crate::lists::LoadedList;

/// The options `scan` flattens in.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct CaseArgs {
    /// Also write the files that matched as a VICS JSON document (Project VIC / CAID), which
    /// IPED and Griffeye import: MD5, SHA1, MediaSize, Category (from the matched entry),
    /// RelativeFilePath and our PDQ.
    #[arg(long, value_name = "OUT.json")]
    pub(crate) vics: Option<PathBuf>,
    /// Also write a case report: this HTML file (self-contained, no images) and the same facts
    /// as JSON beside it (the same name ending in `.json`).
    #[arg(long, value_name = "CASE.html")]
    pub(crate) report: Option<PathBuf>,
    /// Show the matched files' hashes in the case report (hidden by default).
    #[arg(long, requires = "report")]
    pub(crate) report_hashes: bool,
}

impl CaseArgs {
    /// The files these options write, to be checked against the inputs.
    pub(crate) fn outputs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self.vics.iter().cloned().collect();
        if let Some(r) = &self.report {
            out.push(r.clone());
            out.push(json_path(r));
        }
        out
    }
}

/// `case.html` → `case.json`.
fn json_path(html: &Path) -> PathBuf {
    html.with_extension("json")
}

/// A path's bytes as text: itself when UTF-8, else escaped.
fn path_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut out = Vec::new();
            common::tsv_escape(bytes, &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
    }
}

/// SHA-256 of a file, upper-case hex.
pub(crate) fn file_sha256(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = ExactHasher::new(&[HashKind::Sha256]);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finish()
        .first()
        .map(|d| d.to_hex_upper())
        .unwrap_or_default())
}

#[derive(Default)]
struct Counts {
    files: u64,
    matched: u64,
}

/// What the hook gathers.
pub(crate) struct Case {
    args_vics: Option<(PathBuf, VicsWriter<std::io::BufWriter<AtomicFile>>)>,
    report: Option<PathBuf>,
    hashes: bool,
    roots: Vec<Vec<u8>>,
    read: u64,
    matched: u64,
    known_good: u64,
    no_match: u64,
    skipped: BTreeMap<Vec<u8>, String>,
    failed: BTreeMap<Vec<u8>, String>,
    not_images: BTreeMap<Vec<u8>, String>,
    per_category: BTreeMap<String, u64>,
    per_list: BTreeMap<String, u64>,
    per_directory: BTreeMap<Vec<u8>, Counts>,
    matches: BTreeMap<Vec<u8>, serde_json::Value>,
}

/// The cell of `row` in column `name`, `""` when the scan has no such column.
fn cell<'a>(columns: &[&str], row: &'a [String], name: &str) -> &'a str {
    columns
        .iter()
        .position(|c| *c == name)
        .and_then(|i| row.get(i))
        .map(String::as_str)
        .unwrap_or("")
}

fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Case {
    /// Opens the outputs asked for; `None` when none was.
    pub(crate) fn new(args: &CaseArgs, roots: &[PathBuf]) -> anyhow::Result<Option<Case>> {
        if args.vics.is_none() && args.report.is_none() {
            return Ok(None);
        }
        let vics = match &args.vics {
            Some(path) => {
                // Written atomically: an interrupted scan leaves no half document.
                let file = AtomicFile::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                Some((
                    path.clone(),
                    VicsWriter::new(std::io::BufWriter::new(file))
                        .with_context(|| format!("cannot write {}", path.display()))?,
                ))
            }
            None => None,
        };
        Ok(Some(Case {
            args_vics: vics,
            report: args.report.clone(),
            hashes: args.report_hashes,
            roots: roots
                .iter()
                .map(|r| common::path_bytes(r).into_owned())
                .collect(),
            read: 0,
            matched: 0,
            known_good: 0,
            no_match: 0,
            skipped: BTreeMap::new(),
            failed: BTreeMap::new(),
            not_images: BTreeMap::new(),
            per_category: BTreeMap::new(),
            per_list: BTreeMap::new(),
            per_directory: BTreeMap::new(),
            matches: BTreeMap::new(),
        }))
    }

    /// The path relative to the root it was found under (the longest that holds it).
    fn relative<'a>(&self, path: &'a [u8]) -> &'a [u8] {
        let mut best: &[u8] = path;
        for root in &self.roots {
            let root = root.strip_suffix(b"/").unwrap_or(root);
            if let Some(rest) = path.strip_prefix(root) {
                if let Some(rest) = rest.strip_prefix(b"/") {
                    if rest.len() < best.len() {
                        best = rest;
                    }
                }
            }
        }
        best
    }

    /// One file's rows, as `scan` writes them (`columns` names the cells).
    pub(crate) fn file(
        &mut self,
        path: &Path,
        columns: &[&str],
        rows: &[impl AsRef<[String]>],
    ) -> anyhow::Result<()> {
        let bytes = common::path_bytes(path).into_owned();
        let dir = match bytes.iter().rposition(|&b| b == b'/') {
            Some(i) => bytes[..i].to_vec(),
            None => b".".to_vec(),
        };
        let rows: Vec<&[String]> = rows.iter().map(AsRef::as_ref).collect();
        let status = |r: &[String]| cell(columns, r, "status").to_owned();
        let first = rows.first().copied().unwrap_or(&[]);
        let matched: Vec<&[String]> = rows
            .iter()
            .copied()
            .filter(|r| status(r) == "match")
            .collect();
        let dir_counts = self.per_directory.entry(dir).or_default();
        dir_counts.files += 1;
        if rows.iter().all(|r| status(r) == "error") {
            let reason = cell(columns, first, "detail");
            self.failed.insert(bytes, reason.to_owned());
            return Ok(());
        }
        self.read += 1;
        if let Some(r) = rows.iter().find(|r| status(r) == "no_image") {
            // Read and matched by exact hash only.
            self.not_images
                .insert(bytes.clone(), cell(columns, r, "detail").to_owned());
        }
        if matched.is_empty() {
            if rows.iter().any(|r| status(r) == "known_good") {
                // On an allow-list (NSRL, a negative bank): known good, not a match.
                self.known_good += 1;
            } else if rows.iter().any(|r| status(r) == "skipped") {
                let reason = rows
                    .iter()
                    .find(|r| status(r) == "skipped")
                    .map(|r| cell(columns, r, "detail"))
                    .unwrap_or("");
                self.skipped.insert(bytes, reason.to_owned());
            } else {
                self.no_match += 1;
            }
            return Ok(());
        }
        self.matched += 1;
        dir_counts.matched += 1;
        let mut categories = std::collections::BTreeSet::new();
        let mut lists = std::collections::BTreeSet::new();
        for r in &matched {
            lists.insert(cell(columns, r, "list").to_owned());
            for c in cell(columns, r, "detail").split_whitespace() {
                categories.insert(c.to_owned());
            }
        }
        for l in &lists {
            *self.per_list.entry(l.clone()).or_default() += 1;
        }
        if categories.is_empty() {
            *self.per_category.entry("(none)".into()).or_default() += 1;
        }
        for c in &categories {
            *self.per_category.entry(c.clone()).or_default() += 1;
        }
        // The hashes the rows carry (part of the scan output, not of this report by default).
        let find = |name: &str| {
            rows.iter()
                .map(|r| cell(columns, r, name))
                .find(|c| !c.is_empty())
                .unwrap_or("")
                .to_owned()
        };
        let md5 = find("md5");
        let sha1 = find("sha1");
        let size = find("size");
        let pdq = rows
            .iter()
            .find(|r| cell(columns, r, "algorithm") == "pdq")
            .map(|r| cell(columns, r, "hash").to_owned())
            .unwrap_or_default();
        let vics_category = categories
            .iter()
            .find_map(|c| c.strip_prefix("vics:"))
            .map(str::to_owned);
        let relative = self.relative(&bytes).to_vec();
        if let Some((path_out, w)) = &mut self.args_vics {
            let mut record = MediaRecord::default();
            record.md5 = hex_bytes::<16>(&md5);
            record.sha1 = hex_bytes::<20>(&sha1);
            record.size = size.parse().ok();
            record.category = vics_category;
            let extra: Vec<(&str, &str)> = if pdq.is_empty() {
                Vec::new()
            } else {
                vec![("PDQ", pdq.as_str())]
            };
            w.write(&record, Some(&relative), &extra)
                .with_context(|| format!("cannot write {}", path_out.display()))?;
        }
        let mut entry = serde_json::json!({
            "lists": lists,
            "categories": categories,
        });
        if self.hashes {
            entry["md5"] = md5.into();
            entry["sha1"] = sha1.into();
            entry["pdq"] = pdq.into();
        }
        self.matches.insert(bytes, entry);
        Ok(())
    }

    /// Ends the VICS document and writes the report.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn finish(
        mut self,
        lists: &[LoadedList],
        results: Option<&Path>,
        started: &str,
        finished: &str,
        not_scanned: serde_json::Value,
    ) -> anyhow::Result<()> {
        let vics_written = match self.args_vics.take() {
            Some((path, w)) => {
                let count = w.count();
                w.finish()
                    .and_then(|b| b.into_inner().map_err(|e| e.into_error().into()))
                    .and_then(AtomicFile::commit)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Some((path, count))
            }
            None => None,
        };
        let Some(html_path) = self.report.clone() else {
            return Ok(());
        };
        let command: Vec<String> = std::env::args_os()
            .map(|a| path_text(&common::path_bytes(Path::new(&a))))
            .collect();
        let list_json: Vec<serde_json::Value> = lists
            .iter()
            .map(|l| {
                Ok(serde_json::json!({
                    "name": l.info.name, "version": l.info.version, "algorithm": l.info.kind.name(),
                    "entries": l.entries,
                    "file": path_text(&common::path_bytes(&l.path)),
                    "sha256": file_sha256(&l.path)?,
                }))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut outputs = serde_json::Map::new();
        if let Some(r) = results {
            outputs.insert(
                "results".into(),
                serde_json::json!({"file": path_text(&common::path_bytes(r)),
                                   "sha256": file_sha256(r)?}),
            );
        }
        if let Some((p, count)) = &vics_written {
            outputs.insert(
                "vics".into(),
                serde_json::json!({"file": path_text(&common::path_bytes(p)),
                                   "media": count, "sha256": file_sha256(p)?}),
            );
        }
        let text_map = |m: &BTreeMap<Vec<u8>, String>| -> Vec<serde_json::Value> {
            m.iter()
                .map(|(p, why)| serde_json::json!({"path": path_text(p), "reason": why}))
                .collect()
        };
        let report = serde_json::json!({
            "tool": format!("hashsieve {}", env!("CARGO_PKG_VERSION")),
            "command": command,
            "started": started,
            "finished": finished,
            "lists": list_json,
            "files": {
                "read": self.read,
                "matched": self.matched,
                "known_good": self.known_good,
                "no_match": self.no_match,
                "skipped": text_map(&self.skipped),
                "failed": text_map(&self.failed),
                "not_images": text_map(&self.not_images),
                "not_scanned": not_scanned,
            },
            "per_category": self.per_category,
            "per_list": self.per_list,
            "per_directory": self.per_directory.iter().map(|(d, c)| serde_json::json!({
                "directory": path_text(d), "files": c.files, "matched": c.matched,
            })).collect::<Vec<_>>(),
            "matches": self.matches.iter().map(|(p, m)| {
                let mut m = m.clone();
                m["path"] = path_text(p).into();
                m
            }).collect::<Vec<_>>(),
            "outputs": outputs,
            "hashes_shown": self.hashes,
        });
        let mut json = serde_json::to_vec_pretty(&report)?;
        json.push(b'\n');
        common::write_atomic(&json_path(&html_path), &json)?;
        common::write_atomic(&html_path, html(&report).as_bytes())?;
        Ok(())
    }
}

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(a) => a.iter().map(text_of).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// A table of `rows` (objects) with the `columns` given.
fn table(out: &mut String, title: &str, rows: &[serde_json::Value], columns: &[&str]) {
    out.push_str(&format!("<h2>{}</h2>\n", esc(title)));
    if rows.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str("<table>\n<tr>");
    for c in columns {
        out.push_str(&format!("<th>{}</th>", esc(c)));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in columns {
            out.push_str(&format!("<td>{}</td>", esc(&text_of(&r[*c]))));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The report as self-contained HTML: inline CSS, no script, no external asset, no image.
fn html(r: &serde_json::Value) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>hashsieve case report</title>\n<style>\
         body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}\
         td,th{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}\
         code{white-space:pre-wrap;word-break:break-all}</style>\n</head>\n<body>\n\
         <h1>hashsieve case report</h1>\n",
    );
    let kv = |out: &mut String, k: &str, v: String| {
        out.push_str(&format!(
            "<tr><th>{}</th><td><code>{}</code></td></tr>\n",
            esc(k),
            esc(&v)
        ));
    };
    out.push_str("<table>\n");
    kv(&mut out, "Tool", text_of(&r["tool"]));
    let command: Vec<String> = r["command"]
        .as_array()
        .map(|a| a.iter().map(text_of).map(|a| shell_quote(&a)).collect())
        .unwrap_or_default();
    kv(&mut out, "Command line", command.join(" "));
    kv(&mut out, "Started (UTC)", text_of(&r["started"]));
    kv(&mut out, "Finished (UTC)", text_of(&r["finished"]));
    let f = &r["files"];
    kv(&mut out, "Files read", text_of(&f["read"]));
    kv(&mut out, "Files matched", text_of(&f["matched"]));
    kv(
        &mut out,
        "Files known good (allow-lists)",
        text_of(&f["known_good"]),
    );
    kv(&mut out, "Files with no match", text_of(&f["no_match"]));
    kv(
        &mut out,
        "Files skipped",
        f["skipped"].as_array().map_or(0, Vec::len).to_string(),
    );
    kv(
        &mut out,
        "Files failed",
        f["failed"].as_array().map_or(0, Vec::len).to_string(),
    );
    if let Some(o) = r["outputs"].as_object() {
        for (k, v) in o {
            kv(
                &mut out,
                &format!("Output: {k}"),
                format!(
                    "{} (SHA-256 {})",
                    text_of(&v["file"]),
                    text_of(&v["sha256"])
                ),
            );
        }
    }
    out.push_str("</table>\n");
    let arr = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    table(
        &mut out,
        "Lists",
        &arr(&r["lists"]),
        &["name", "version", "algorithm", "entries", "file", "sha256"],
    );
    let counts = |v: &serde_json::Value, key: &str| -> Vec<serde_json::Value> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, n)| serde_json::json!({key: k, "files": n}))
                    .collect()
            })
            .unwrap_or_default()
    };
    table(
        &mut out,
        "Matched files per category",
        &counts(&r["per_category"], "category"),
        &["category", "files"],
    );
    table(
        &mut out,
        "Matched files per list",
        &counts(&r["per_list"], "list"),
        &["list", "files"],
    );
    table(
        &mut out,
        "Files per directory",
        &arr(&r["per_directory"]),
        &["directory", "files", "matched"],
    );
    let mut match_columns = vec!["path", "lists", "categories"];
    if r["hashes_shown"] == serde_json::Value::Bool(true) {
        match_columns.extend(["md5", "sha1", "pdq"]);
    }
    table(
        &mut out,
        "Matched files",
        &arr(&r["matches"]),
        &match_columns,
    );
    table(
        &mut out,
        "Skipped files",
        &arr(&f["skipped"]),
        &["path", "reason"],
    );
    table(
        &mut out,
        "Failed files",
        &arr(&f["failed"]),
        &["path", "reason"],
    );
    table(
        &mut out,
        "Files that are not images (matched by exact hash only)",
        &arr(&f["not_images"]),
        &["path", "reason"],
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// An argument as a POSIX shell would need it quoted.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
