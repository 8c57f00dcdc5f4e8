//! Exporters: a list back to text, in our own formats (which keep every field) and in the
//! formats other tools read as they are.
//!
//! | [`ExportFormat`] | name | output |
//! |---|---|---|
//! | [`Hex`](ExportFormat::Hex) | `hex` | one unique hash per line, lowercase hex, in list order; with [`ExportOptions::ids`], one line `hash,id` per entry: the PDQ C++ tools' hash-with-metadata form (`mih-query`, `clusterize256`) |
//! | [`Csv`](ExportFormat::Csv) | `csv` | header `hash,id,quality,categories,source`, one row per entry; quality and source empty when absent; categories `scheme:code` separated by spaces |
//! | [`JsonLines`](ExportFormat::JsonLines) | `jsonl` | one object per entry: `{"hash", "id", "quality"?, "categories"?, "source"?}`, categories an array of `scheme:code` strings |
//! | [`PdqHasher`](ExportFormat::PdqHasher) | `pdq-hasher` | `hash,quality,id` per entry, no header: what the C++ `pdq-photo-hasher` prints, read as it is by `mih-query` and `clusterize256` (PDQ lists only) |
//! | [`PytxCsv`](ExportFormat::PytxCsv) | `pytx-csv` | python-threatexchange's `dataset -P --csv`: header `signal_type,signal_str,collab,category,tags`, CRLF line ends as Python's `csv` writes them, one row per entry (PDQ lists only) |
//!
//! CSV and JSON lines keep everything and import back to the same list. The others keep what
//! their format can hold:
//!
//! - `hex` keeps the hashes (and the ids with [`ExportOptions::ids`]).
//! - `pdq-hasher` keeps hash, quality and id. Its quality column is an integer that the
//!   reference tools always fill, so an entry with no recorded quality has none to write: the
//!   export fails unless [`ExportOptions::missing_quality`] says what to write for them (`0`
//!   makes quality gates drop them, `100` keeps them). Nothing is made up silently.
//! - `pytx-csv` keeps hash, source (the `collab` column) and categories: `category:X` is the
//!   `category` column (at most one per entry), `tag:Y` a tag `Y`, and a category of another
//!   scheme the tag `scheme:code` (which imports back as `tag:scheme:code`). It has no id or
//!   quality.
//!
//! The line formats (`hex` with ids, `pdq-hasher`) have no quoting: an id holding a line break
//! cannot be written, and the export fails before it writes anything. Every check runs before
//! the first byte is written.

use std::io::Write;

use serde::Serialize;

use super::reader::{Entry, HashList};
use crate::error::{Error, ErrorKind, Result};
use crate::hash::HashKind;

/// A text format an exporter writes. See the [module documentation](self) for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExportFormat {
    /// One hash per line (or `hash,id` per entry, with [`ExportOptions::ids`]).
    Hex,
    /// CSV with a header row, one row per entry.
    Csv,
    /// One JSON object per entry.
    JsonLines,
    /// `hash,quality,id` lines, as the PDQ C++ `pdq-photo-hasher` writes them.
    PdqHasher,
    /// python-threatexchange's dataset CSV.
    PytxCsv,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Hex,
        ExportFormat::Csv,
        ExportFormat::JsonLines,
        ExportFormat::PdqHasher,
        ExportFormat::PytxCsv,
    ];

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            ExportFormat::Hex => "hex",
            ExportFormat::Csv => "csv",
            ExportFormat::JsonLines => "jsonl",
            ExportFormat::PdqHasher => "pdq-hasher",
            ExportFormat::PytxCsv => "pytx-csv",
        }
    }

    /// Whether the format keeps every field of an entry (id, quality, categories, source), so
    /// that importing it gives the same list.
    pub const fn is_lossless(self) -> bool {
        matches!(self, ExportFormat::Csv | ExportFormat::JsonLines)
    }
}

display_by!(ExportFormat);

from_str_by_name! {
    ExportFormat: "export format",
    all ExportFormat::ALL,
    expected "hex, csv, jsonl, pdq-hasher, pytx-csv",
    aliases {
        "json" => "jsonl",
        "ndjson" => "jsonl",
        "pdq" => "pdq-hasher",
        "pdq-photo-hasher" => "pdq-hasher",
        "pytx" => "pytx-csv",
    }
}

/// Options of [`export_with`].
///
/// ```
/// use hashsieve::list::export::ExportOptions;
/// let opts = ExportOptions::new().ids(true).missing_quality(0);
/// assert!(opts.ids);
/// assert_eq!(opts.missing_quality, Some(0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportOptions {
    /// [`Hex`](ExportFormat::Hex): one `hash,id` line per entry instead of one line per unique
    /// hash. Other formats ignore it (they always carry the id, or have no place for it).
    pub ids: bool,
    /// [`PdqHasher`](ExportFormat::PdqHasher): the quality written for entries that have none
    /// recorded. `None` (the default) fails the export when there is such an entry.
    pub missing_quality: Option<u8>,
}

impl ExportOptions {
    /// The defaults: hex without ids; entries without quality refused by `pdq-hasher`.
    pub fn new() -> ExportOptions {
        ExportOptions::default()
    }

    /// Sets [`ids`](ExportOptions::ids).
    pub fn ids(mut self, yes: bool) -> ExportOptions {
        self.ids = yes;
        self
    }

    /// Sets [`missing_quality`](ExportOptions::missing_quality).
    ///
    /// # Panics
    ///
    /// When `quality` is over 100 (a caller bug: qualities are 0..=100).
    pub fn missing_quality(mut self, quality: u8) -> ExportOptions {
        assert!(quality <= 100, "a quality is 0..=100");
        self.missing_quality = Some(quality);
        self
    }
}

#[derive(Serialize)]
struct JsonRow<'a> {
    hash: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    categories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

/// The `categories` cell of the CSV format into `cats`: every `scheme:code`, space-separated.
fn csv_categories(e: &Entry<'_>, cats: &mut String) {
    cats.clear();
    for (i, c) in e.categories().enumerate() {
        if i > 0 {
            cats.push(' ');
        }
        cats.push_str(c.scheme);
        cats.push(':');
        cats.push_str(c.code);
    }
}

/// The `category` and `tags` cells of python-threatexchange's CSV: the code of a `category:`
/// category goes to `category`; every other category is a tag, `scheme:code` (a bare code for
/// the `tag` scheme), space-separated.
fn pytx_category_and_tags(e: &Entry<'_>, category: &mut String, tags: &mut String) {
    category.clear();
    tags.clear();
    for c in e.categories() {
        if c.scheme == "category" {
            category.push_str(c.code);
            continue;
        }
        if !tags.is_empty() {
            tags.push(' ');
        }
        if c.scheme != "tag" {
            tags.push_str(c.scheme);
            tags.push(':');
        }
        tags.push_str(c.code);
    }
}

/// A CSV writer that ends records with `terminator` and has written the `header` row.
fn csv_with_header<W: Write>(
    out: W,
    terminator: csv::Terminator,
    header: &[&str],
) -> Result<csv::Writer<W>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(terminator)
        .from_writer(out);
    w.write_record(header).map_err(csv_err)?;
    Ok(w)
}

fn csv_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::from(e),
        other => Error::new(ErrorKind::Io(std::io::Error::other(format!(
            "CSV: {other:?}"
        )))),
    }
}

/// Writes `list` to `out` in `format` with the default [`ExportOptions`], returning the number
/// of lines written (header excluded). See [`export_with`].
///
/// # Errors
///
/// As [`export_with`].
///
/// ```
/// use hashsieve::list::{export::{export, ExportFormat}, EntryMeta, HashList, ListBuilder};
/// use hashsieve::{Hash64, HashKind};
/// let mut b = ListBuilder::new(HashKind::DHash);
/// b.add(Hash64::from_u64(0xabc), EntryMeta::new("x"))?;
/// let list = HashList::from_bytes(b.to_vec()?)?;
/// let mut out = Vec::new();
/// export(&list, ExportFormat::Csv, &mut out)?;
/// assert_eq!(String::from_utf8(out).unwrap(), "hash,id,quality,categories,source\n0000000000000abc,x,,,\n");
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn export<D: AsRef<[u8]>>(
    list: &HashList<D>,
    format: ExportFormat,
    out: impl Write,
) -> Result<u64> {
    export_with(list, format, &ExportOptions::default(), out)
}

/// Writes `list` to `out` in `format`, returning the number of lines written (header excluded).
///
/// Everything that could make the export fail other than writing (a format that cannot hold
/// this list) is checked before the first byte is written. `out` is written in order; wrap it
/// in a `BufWriter` when it is unbuffered.
///
/// # Errors
///
/// - [`ErrorKind::InvalidArgument`] when the format cannot hold the list: `pdq-hasher` or
///   `pytx-csv` for a list that is not PDQ; an id with a line break in a line format (`hex`
///   with ids, `pdq-hasher`); an entry without quality in `pdq-hasher` without
///   [`ExportOptions::missing_quality`]; an entry with two `category:` categories in
///   `pytx-csv`. The message names the entry by its position, never by its hash.
/// - [`ErrorKind::Io`] when writing fails (a closed pipe shows up as
///   [`std::io::ErrorKind::BrokenPipe`]).
///
/// ```
/// use hashsieve::list::export::{export_with, ExportFormat, ExportOptions};
/// use hashsieve::list::{EntryMeta, HashList, ListBuilder};
/// use hashsieve::{Hash256, HashKind};
/// let mut b = ListBuilder::new(HashKind::Pdq);
/// b.add(Hash256::from_hex(&"f0".repeat(32))?, EntryMeta::new("a.jpg").quality(90))?;
/// let list = HashList::from_bytes(b.to_vec()?)?;
/// let mut out = Vec::new();
/// export_with(&list, ExportFormat::PdqHasher, &ExportOptions::new(), &mut out)?;
/// assert_eq!(String::from_utf8(out).unwrap(), format!("{},90,a.jpg\n", "f0".repeat(32)));
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn export_with<D: AsRef<[u8]>>(
    list: &HashList<D>,
    format: ExportFormat,
    options: &ExportOptions,
    mut out: impl Write,
) -> Result<u64> {
    check(list, format, options)?;
    let mut lines = 0u64;
    match format {
        ExportFormat::Hex if !options.ids => {
            for (hash, _) in list.iter() {
                writeln!(out, "{hash}")?;
                lines += 1;
            }
        }
        ExportFormat::Hex | ExportFormat::PdqHasher => {
            let quality = format == ExportFormat::PdqHasher;
            let mut line = Vec::new();
            for (hash, entries) in list.iter() {
                let hex = hash.to_hex();
                for e in entries {
                    line.clear();
                    line.extend_from_slice(hex.as_bytes());
                    line.push(b',');
                    if quality {
                        // `check` made sure that one of the two is there.
                        let q = e.quality().or(options.missing_quality).unwrap_or(0);
                        line.extend_from_slice(q.to_string().as_bytes());
                        line.push(b',');
                    }
                    line.extend_from_slice(e.id_bytes());
                    line.push(b'\n');
                    out.write_all(&line)?;
                    lines += 1;
                }
            }
        }
        ExportFormat::Csv => {
            let header = ["hash", "id", "quality", "categories", "source"];
            let mut w = csv_with_header(&mut out, csv::Terminator::Any(b'\n'), &header)?;
            let mut q = String::new();
            let mut cats = String::new();
            for (hash, entries) in list.iter() {
                let hex = hash.to_hex();
                for e in entries {
                    q.clear();
                    if let Some(v) = e.quality() {
                        q.push_str(&v.to_string());
                    }
                    csv_categories(&e, &mut cats);
                    let src = e.source().unwrap_or("");
                    w.write_record([
                        hex.as_bytes(),
                        e.id().as_bytes(),
                        q.as_bytes(),
                        cats.as_bytes(),
                        src.as_bytes(),
                    ])
                    .map_err(csv_err)?;
                    lines += 1;
                }
            }
            w.flush()?;
        }
        ExportFormat::PytxCsv => {
            // Python's csv.DictWriter: minimal quoting, "\r\n" after every record.
            let header = ["signal_type", "signal_str", "collab", "category", "tags"];
            let mut w = csv_with_header(&mut out, csv::Terminator::CRLF, &header)?;
            let mut category = String::new();
            let mut tags = String::new();
            for (hash, entries) in list.iter() {
                let hex = hash.to_hex();
                for e in entries {
                    pytx_category_and_tags(&e, &mut category, &mut tags);
                    w.write_record(["pdq", &hex, e.source().unwrap_or(""), &category, &tags])
                        .map_err(csv_err)?;
                    lines += 1;
                }
            }
            w.flush()?;
        }
        ExportFormat::JsonLines => {
            for (hash, entries) in list.iter() {
                let hex = hash.to_hex();
                for e in entries {
                    let row = JsonRow {
                        hash: &hex,
                        id: e.id(),
                        quality: e.quality(),
                        categories: e.categories().map(|c| c.to_string()).collect(),
                        source: e.source(),
                    };
                    serde_json::to_writer(&mut out, &row).map_err(|e| match e.io_error_kind() {
                        Some(kind) => Error::from(std::io::Error::from(kind)),
                        None => {
                            Error::new(ErrorKind::Io(std::io::Error::other("JSON encoding failed")))
                        }
                    })?;
                    out.write_all(b"\n")?;
                    lines += 1;
                }
            }
        }
    }
    out.flush()?;
    Ok(lines)
}

/// Refuses, before anything is written, a list that `format` cannot hold.
fn check<D: AsRef<[u8]>>(
    list: &HashList<D>,
    format: ExportFormat,
    options: &ExportOptions,
) -> Result<()> {
    let invalid = |msg: String| Err(Error::new(ErrorKind::InvalidArgument(msg)));
    let pdq_only = matches!(format, ExportFormat::PdqHasher | ExportFormat::PytxCsv);
    if pdq_only && list.kind() != HashKind::Pdq {
        return invalid(format!(
            "the {format} format holds PDQ hashes, and this list holds {} hashes; export csv or jsonl",
            list.kind().name()
        ));
    }
    let lines = format == ExportFormat::PdqHasher || (format == ExportFormat::Hex && options.ids);
    if !lines && format != ExportFormat::PytxCsv {
        return Ok(());
    }
    let mut no_quality = 0u64;
    let mut first_no_quality = None;
    for (n, e) in (1u64..).zip(list.iter().flat_map(|(_, entries)| entries)) {
        if lines && e.id_bytes().iter().any(|&b| b == b'\n' || b == b'\r') {
            return invalid(format!(
                "entry {n} has an id with a line break, which the {format} format cannot hold \
                 (it has no quoting); export csv or jsonl"
            ));
        }
        if format == ExportFormat::PdqHasher && e.quality().is_none() {
            no_quality += 1;
            first_no_quality.get_or_insert(n);
        }
        if format == ExportFormat::PytxCsv
            && e.categories().filter(|c| c.scheme == "category").count() > 1
        {
            return invalid(format!(
                "entry {n} has more than one `category:` category, and a pytx-csv row holds one; \
                 export csv or jsonl"
            ));
        }
    }
    if let (Some(first), None) = (first_no_quality, options.missing_quality) {
        return invalid(format!(
            "{no_quality} entries (the first is entry {first}) have no recorded quality, which \
             every pdq-hasher line holds; choose the quality written for them (`--missing-quality` \
             in the CLI, `ExportOptions::missing_quality` in the library: 0 to have quality \
             gates drop them, 100 to keep them), or export csv or jsonl"
        ));
    }
    Ok(())
}
