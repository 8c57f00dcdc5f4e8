//! Exporters: a list back to text. CSV and JSON lines keep everything (id, quality, categories,
//! source) and import back to the same list; hex keeps only the hashes.
//!
//! | [`ExportFormat`] | output |
//! |---|---|
//! | [`Hex`](ExportFormat::Hex) | one unique hash per line, lowercase hex, in list order |
//! | [`Csv`](ExportFormat::Csv) | header `hash,id,quality,categories,source`, one row per entry; quality and source empty when absent; categories `scheme:code` separated by spaces |
//! | [`JsonLines`](ExportFormat::JsonLines) | one object per entry: `{"hash", "id", "quality"?, "categories"?, "source"?}`, categories an array of `scheme:code` strings |

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use serde::Serialize;

use super::reader::HashList;
use crate::error::{Error, ErrorKind, Result};

/// A text format an exporter writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExportFormat {
    /// One hash per line.
    Hex,
    /// CSV with a header row, one row per entry.
    Csv,
    /// One JSON object per entry.
    JsonLines,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 3] = [
        ExportFormat::Hex,
        ExportFormat::Csv,
        ExportFormat::JsonLines,
    ];

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            ExportFormat::Hex => "hex",
            ExportFormat::Csv => "csv",
            ExportFormat::JsonLines => "jsonl",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<ExportFormat> {
        let lower = s.trim().to_ascii_lowercase();
        let lower = if lower == "json" || lower == "ndjson" {
            "jsonl"
        } else {
            lower.as_str()
        };
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .ok_or_else(|| {
                ErrorKind::UnknownName {
                    what: "export format",
                    name: s.chars().take(32).collect(),
                    expected: "hex, csv, jsonl",
                }
                .into()
            })
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

fn csv_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::from(e),
        other => Error::new(ErrorKind::Io(std::io::Error::other(format!(
            "CSV: {other:?}"
        )))),
    }
}

/// Writes `list` to `out` in `format`, returning the number of lines written (header excluded).
///
/// `out` is written in order; wrap it in a `BufWriter` when it is unbuffered.
///
/// # Errors
///
/// [`ErrorKind::Io`] when writing fails (a closed pipe shows up as
/// [`std::io::ErrorKind::BrokenPipe`]).
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
    mut out: impl Write,
) -> Result<u64> {
    let mut lines = 0u64;
    match format {
        ExportFormat::Hex => {
            for (hash, _) in list.iter() {
                writeln!(out, "{hash}")?;
                lines += 1;
            }
        }
        ExportFormat::Csv => {
            let mut w = csv::WriterBuilder::new().from_writer(&mut out);
            w.write_record(["hash", "id", "quality", "categories", "source"])
                .map_err(csv_err)?;
            let mut q = String::new();
            let mut cats = String::new();
            for (hash, entries) in list.iter() {
                let hex = hash.to_hex();
                for e in entries {
                    q.clear();
                    if let Some(v) = e.quality() {
                        q.push_str(&v.to_string());
                    }
                    cats.clear();
                    for (i, c) in e.categories().enumerate() {
                        if i > 0 {
                            cats.push(' ');
                        }
                        cats.push_str(c.scheme);
                        cats.push(':');
                        cats.push_str(c.code);
                    }
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
