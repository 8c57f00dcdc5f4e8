//! The record reader: one reader for every hash-text format, used by the importers, the update
//! delta, and the tool's `build`, `update`, `match --hashes` and `dedup`. (`scan --resume`
//! reads its own output back as rows, not records: a file whose row is an error has no hash
//! but is done.)
//!
//! A [`RecordReader`] turns text into [`Item`]s: a [`Record`] (hash, algorithm, quality, id,
//! categories, source, orientation), a line skipped on purpose ([`Item::Skipped`], with a
//! [`SkipReason`]), or a malformed line ([`Item::Malformed`], with a reason that never contains
//! the hash text). It reads one record at a time and never waits for more input than the
//! current record needs, so a co-process can write a line and wait for the answer.
//!
//! The code is split by concern: this file holds the reader, its options and items and the
//! line reading; `detect` the format detection, `fields` the field parsing every format
//! shares, `hex` the hex and pdq-photo-hasher formats, `pytx` python-threatexchange's,
//! `table` CSV, TSV and JSON lines, `tsv` the TSV escapes.
//!
//! # Formats
//!
//! | [`InputFormat`] | name | shape | fields |
//! |---|---|---|---|
//! | [`Hex`](InputFormat::Hex) | `hex` | the PDQ reference tools' hash files (`hashio`, read by `mih-query`, `clusterize256`, `hashtool256`): `[hash=]<hex>[,<metadata>]` | id = the metadata, whole (it may contain commas); none without it |
//! | [`PdqHasher`](InputFormat::PdqHasher) | `pdq-hasher` | `pdq-photo-hasher` output in every mode: `hash,quality,filename`; `-d`: `hash=…,norm=…,delta=…,quality=…,filename=…`; `--pdqdih` (8 rows per file); `-d --pdqdih`: `hash=…,quality=…,filename=…` then 8 rows `hash=…,xform=rot90,filename=…`; `--pdqdih-across`: `h1,…,h8,quality,filename`; `-d --pdqdih-across`: `hash=…,quality=…,orig=…,rot90=…,…,flipm=…,filename=…` | id = file name; quality; orientation from `xform=` and the across columns (`orig`, `rot90`, `rot180`, `rot270`, `flipx`, `flipy`, `flipp` → [`FlipPlus1`](Dihedral::FlipPlus1), `flipm` → [`FlipMinus1`](Dihedral::FlipMinus1)). An `xform=` row takes the quality of the same file's `quality=` row; its `xform=orig` row repeats that row's hash and is [skipped](SkipReason::Duplicate) |
//! | [`PytxSignals`](InputFormat::PytxSignals) | `pytx-signals` | python-threatexchange lines: `tx hash photo` (`pdq <hex>`, with `--rotations` `ROTATE90 pdq <hex>`); `tx dataset -P` (`<type> <value> '<collab>' <CATEGORY>[ <tag>,<tag>]`, with `-c` one collab and no collab column, with `-s pdq` no type column, with `-S` no metadata) | kind from the signal type; types that are not image hashes (`video_md5`, `url`, `raw_text`, `trend_query {…}`, …) are [skipped](SkipReason::OtherSignalType); source = collab (a Python string literal); categories `category:<CATEGORY>` and `tag:<tag>` (tags split at commas and whitespace); orientation from the rotation name. Text after the hash that is not pytx metadata is the id |
//! | [`PytxCsv`](InputFormat::PytxCsv) | `pytx-csv` | `tx dataset -P --csv`: header with `signal_type`, `signal_str`, and optionally `collab`, `category`, `tags`, in any order | as `pytx-signals`; `tags` separated by whitespace (pytx joins them with spaces), a quoted field may span lines |
//! | [`Hashsieve`](InputFormat::Hashsieve) | `hashsieve` | our own output read back: `hashsieve hash` and `hashsieve scan` as TSV, CSV or JSON lines; a header (or keys) with `path`, `algorithm`, `hash` | kind = `algorithm`; id = `path`; `quality`, `orientation` (a value that is not a dihedral name, such as an EXIF orientation code, is ignored; in scan output, which has a `status` column, it is the orientation of the match and is not read). Rows with no hash (failed files) or a `status` of `error` or `skipped` are [skipped](SkipReason::NoHash); repeated rows of one file (scan writes one per matched entry) give one record |
//! | [`Csv`](InputFormat::Csv), [`Tsv`](InputFormat::Tsv) | `csv`, `tsv` | a header naming the columns (our `export --format csv` writes `hash,id,quality,categories,source`) | hash (`hash_col`, default `hash`), id (`id_col`, default `id` when present), categories (`category_col`, default `categories`), `quality`, `source`, `algorithm`, `orientation` when present |
//! | [`JsonLines`](InputFormat::JsonLines) | `jsonl` | one JSON object per line with the same keys (our `export --format jsonl`) | categories a string or an array of strings |
//!
//! Common rules:
//!
//! - Lines end at LF, CRLF or a lone CR; a UTF-8 byte-order mark is ignored; blank lines are
//!   skipped; a line over [`MAX_LINE_LEN`] is malformed and never
//!   held in memory. Lines starting with `#` before a header (or anywhere in the line formats
//!   `hex`, `pdq-hasher`, `pytx-signals`) are comments. JSON objects whose `"type"` is
//!   `"header"` or `"summary"` are not rows.
//! - In CSV (and generic TSV), fields follow RFC 4180 quoting: a quoted field may span lines
//!   (pytx writes multi-line tags), up to 1 MiB per record; a quote never closed is malformed,
//!   at the line where it began and at every line it took in.
//! - In `hashsieve` TSV, the `path` cell is unescaped: `\t`, `\n`, `\r`, `\\` and `\xNN` (a byte).
//!   In `hashsieve` CSV a path cell holds the path's bytes; in `hashsieve` JSON a path may be
//!   `{"bytes": "<base64>"}` (as ripgrep writes non-UTF-8 paths). A path whose bytes are UTF-8 becomes that text; one that is not keeps the escaped
//!   form (`\xNN` for the bytes that are not UTF-8, `\\` for a backslash), so ids stay text and
//!   distinct paths stay distinct.
//! - Categories in text are `scheme:code` items separated by whitespace; a bare item is
//!   `tag:<item>`.
//! - The algorithm: formats that name it (`pytx-*`, `hashsieve`, an `algorithm` column) give
//!   it; rows of kinds not in [`ReadOptions::kinds`] are [skipped](SkipReason::OtherKind).
//!   Formats that do not (`hex`, `pdq-hasher`, generic tables without `algorithm`) read a hash
//!   as the first of `kinds` with its width; with no `kinds`, 64 hex digits are PDQ and 16 are
//!   pHash.
//!
//! # Detection
//!
//! Unless [`ReadOptions::format`] is given, the format is detected from the lines of the first
//! read (up to 32 after leading comments), never from the first line alone, and without
//! waiting for more input than the first complete line. A first line that is a header decides
//! the table formats (`path`+`algorithm`+`hash`: `hashsieve`; `signal_type`+`signal_str`:
//! `pytx-csv`; anything else: `csv`/`tsv`; `{`: JSON lines, `hashsieve` when the objects have
//! `path`, `algorithm` and `hash`). Otherwise each line is matched against the line formats, and
//! the format is the one every line fits (lines that fit none are malformed later, and do not
//! vote). Detection never picks a format that would ignore a column the input has: a line
//! `hash,<number>,<text>` is `pdq-hasher`, not `hex` with the id `<number>,<text>`. When two
//! formats fit (lines of two formats, or a header with the columns of two), the reader fails
//! with [`ErrorKind::InputFormat`] naming both; name the format to read such an input.
//!
//! ```
//! use hashsieve::list::records::{InputFormat, Item, ReadOptions, RecordReader};
//! let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
//! let text = format!("video_md5 d41d8cd98f00b204e9800998ecf8427e 'c' POSITIVE_CLASS\n\
//!                     pdq {hex} 'c' POSITIVE_CLASS tag1\n");
//! let mut reader = RecordReader::new(text.as_bytes(), "dataset.txt", &ReadOptions::new())?;
//! assert_eq!(reader.format(), Some(InputFormat::PytxSignals));
//! assert!(matches!(reader.next_item()?, Some(Item::Skipped { line: 1, .. })));
//! let Some(Item::Record(r)) = reader.next_item()? else { panic!() };
//! assert_eq!(r.categories, ["category:POSITIVE_CLASS", "tag:tag1"]);
//! assert_eq!(r.source.as_deref(), Some("c"));
//! assert!(reader.next_item()?.is_none());
//! # Ok::<(), hashsieve::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::io::{BufRead, Chain, Cursor, Read};

use super::import::MAX_LINE_LEN;
use super::reader::Category;
use crate::algo::pdq::Dihedral;
use crate::error::{Error, ErrorKind, Result};
use crate::hash::{HashKind, HashValue};

mod detect;
mod fields;
mod hex;
mod media;
#[cfg(feature = "nsrl")]
mod nsrl;
mod pytx;
mod sums;
mod table;
mod tsv;
mod vics;
mod vics_out;

use self::detect::*;
pub(crate) use self::detect::{sample, sample_lines};
pub(crate) use self::fields::*;
pub(crate) use self::hex::*;
pub use self::media::{
    MediaFormat, MediaItem, MediaReader, MediaRecord, MAX_FIELD_ITEMS, MAX_FIELD_LEN,
};
use self::pytx::*;
use self::table::*;
use self::tsv::*;
pub use self::tsv::{escape_tsv, unescape_tsv};
pub use self::vics_out::{VicsWriter, VICS_METADATA};

/// How many lines (after leading comments and blank lines) detection looks at, at most.
pub const DETECT_LINES: usize = 32;

/// A text format the record reader reads. See the [module documentation](self) for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputFormat {
    /// One hex hash per line, optional `hash=` prefix and `,metadata` tail (PDQ reference tools).
    Hex,
    /// `pdq-photo-hasher` output in every mode (`hash,quality,filename`, `-d`, `--pdqdih`,
    /// `--pdqdih-across`).
    PdqHasher,
    /// python-threatexchange `dataset -P --csv` output.
    PytxCsv,
    /// python-threatexchange signal lines: `tx hash`, `tx dataset -P` (all variants).
    PytxSignals,
    /// `hashsieve hash` and `hashsieve scan` output, as TSV, CSV or JSON lines.
    Hashsieve,
    /// CSV with a header row naming the columns.
    Csv,
    /// TSV with a header row naming the columns.
    Tsv,
    /// JSON objects, one per line.
    JsonLines,
}

#[allow(non_upper_case_globals)]
impl InputFormat {
    /// The former name of [`InputFormat::Hashsieve`], which reads TSV, CSV and JSON lines.
    #[deprecated(note = "use InputFormat::Hashsieve, which reads every delimiter")]
    pub const HashsieveTsv: InputFormat = InputFormat::Hashsieve;

    /// Every format.
    pub const ALL: [InputFormat; 8] = [
        InputFormat::Hex,
        InputFormat::PdqHasher,
        InputFormat::PytxCsv,
        InputFormat::PytxSignals,
        InputFormat::Hashsieve,
        InputFormat::Csv,
        InputFormat::Tsv,
        InputFormat::JsonLines,
    ];

    /// The names, for messages and help.
    pub const NAMES: &'static str =
        "hex, pdq-hasher, pytx-csv, pytx-signals, hashsieve, csv, tsv, jsonl";

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            InputFormat::Hex => "hex",
            InputFormat::PdqHasher => "pdq-hasher",
            InputFormat::PytxCsv => "pytx-csv",
            InputFormat::PytxSignals => "pytx-signals",
            InputFormat::Hashsieve => "hashsieve",
            InputFormat::Csv => "csv",
            InputFormat::Tsv => "tsv",
            InputFormat::JsonLines => "jsonl",
        }
    }

    /// Guesses the format from one line, the first of an input.
    ///
    /// `None` when the line fits no format. A reader looks at more than one line (see the
    /// [module documentation](self#detection)); this is the one-line guess.
    ///
    /// ```
    /// use hashsieve::list::records::InputFormat;
    /// let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    /// assert_eq!(InputFormat::detect(hex), Some(InputFormat::Hex));
    /// assert_eq!(InputFormat::detect(&format!("{hex},100,a.jpg")), Some(InputFormat::PdqHasher));
    /// assert_eq!(InputFormat::detect(&format!("pdq {hex}")), Some(InputFormat::PytxSignals));
    /// assert_eq!(InputFormat::detect("signal_type,signal_str,collab,category,tags"),
    ///            Some(InputFormat::PytxCsv));
    /// assert_eq!(InputFormat::detect("path\talgorithm\thash\tquality"),
    ///            Some(InputFormat::Hashsieve));
    /// assert_eq!(InputFormat::detect(r#"{"hash": "00"}"#), Some(InputFormat::JsonLines));
    /// ```
    pub fn detect(first_line: &str) -> Option<InputFormat> {
        let line = first_line.trim_start_matches('\u{feff}').trim();
        match detect_lines("", &[line], &ReadOptions::default()) {
            Ok(Some(f)) => Some(f),
            _ => None,
        }
    }
}

display_by!(InputFormat);

from_str_by_name! {
    /// Parses a [name](InputFormat::name), ignoring case, and the former names
    /// (`hashsieve-tsv`, `json`, `ndjson`, `pdq`, `reference`, ...).
    InputFormat: "input format", all InputFormat::ALL, expected InputFormat::NAMES,
    aliases {
        "json" => "jsonl",
        "jsonlines" => "jsonl",
        "ndjson" => "jsonl",
        "pdq" => "hex",
        "reference" => "hex",
        "hashsieve-tsv" => "hashsieve",
        "hashsieve-csv" => "hashsieve",
        "hashsieve-json" => "hashsieve",
        "hashsieve-jsonl" => "hashsieve",
        "pytx" => "pytx-signals",
        "threatexchange" => "pytx-signals",
        "pdq-photo-hasher" => "pdq-hasher",
    }
}

/// How to read an input.
///
/// ```
/// use hashsieve::list::records::{InputFormat, ReadOptions};
/// use hashsieve::HashKind;
/// let options = ReadOptions::new().format(InputFormat::Csv).kinds([HashKind::Pdq]);
/// assert_eq!(options.kinds, [HashKind::Pdq]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The format; `None` detects it.
    pub format: Option<InputFormat>,
    /// The algorithms wanted: rows of other kinds are [skipped](SkipReason::OtherKind). Empty:
    /// every kind.
    pub kinds: Vec<HashKind>,
    /// Generic formats: the hash column (default `hash`).
    pub hash_col: Option<String>,
    /// Generic formats: the id column (default `id` when present).
    pub id_col: Option<String>,
    /// Generic formats: the category column (default `categories` when present).
    pub category_col: Option<String>,
}

impl ReadOptions {
    /// Options that detect the format and read every kind.
    pub fn new() -> ReadOptions {
        ReadOptions::default()
    }

    setters! {
        -> ReadOptions;
        /// Sets the format.
        format(format: InputFormat) => format = Some(format);

        /// Sets the algorithms wanted.
        kinds(kinds: impl IntoIterator<Item = HashKind>) => kinds = kinds.into_iter().collect();

        /// Sets the hash column of the generic formats.
        hash_col(name: impl Into<String>) => hash_col = Some(name.into());

        /// Sets the id column of the generic formats.
        id_col(name: impl Into<String>) => id_col = Some(name.into());

        /// Sets the category column of the generic formats.
        category_col(name: impl Into<String>) => category_col = Some(name.into());
    }

    fn wants(&self, kind: HashKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// One hash read from text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The 1-based line where the record starts.
    pub line: u64,
    /// The algorithm.
    pub kind: HashKind,
    /// The hash.
    pub hash: HashValue,
    /// The quality (0..=100), when the input has one.
    pub quality: Option<u8>,
    /// The id (a file name, a path, an id column); `None` when the input has none.
    pub id: Option<String>,
    /// Categories, `scheme:code`, each valid ([`Category::is_valid`]).
    pub categories: Vec<String>,
    /// The source: the pytx collaboration, a `source` column.
    pub source: Option<String>,
    /// The orientation the hash was computed in (dihedral output of the PDQ tools, pytx
    /// rotations, our `orientation` column).
    pub orientation: Option<Dihedral>,
}

impl Record {
    /// The categories its list entry gets: each `scheme:code` (a bare item is
    /// `tag:<item>`), and the orientation as `orientation:<name>` (the list format has no
    /// orientation field).
    pub(crate) fn entry_categories(&self) -> Vec<Category<'_>> {
        let mut categories: Vec<Category<'_>> = self
            .categories
            .iter()
            .map(|c| Category::parse(c, super::import::DEFAULT_CATEGORY_SCHEME))
            .collect();
        if let Some(o) = self.orientation {
            categories.push(Category::new("orientation", o.name()));
        }
        categories
    }

    /// A record with no metadata.
    ///
    /// ```
    /// use hashsieve::list::records::Record;
    /// use hashsieve::{Hash64, HashKind, HashValue};
    /// let r = Record::new(1, HashKind::PHash, HashValue::Bits64(Hash64::from_u64(5)));
    /// assert_eq!((r.id, r.quality), (None, None));
    /// ```
    pub fn new(line: u64, kind: HashKind, hash: HashValue) -> Record {
        Record {
            line,
            kind,
            hash,
            quality: None,
            id: None,
            categories: Vec::new(),
            source: None,
            orientation: None,
        }
    }
}

/// Why a line was skipped on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// A hash of an algorithm not in [`ReadOptions::kinds`].
    OtherKind,
    /// A pytx signal that is not an image hash (`video_md5`, `url`, `trend_query`, ...).
    OtherSignalType,
    /// A row without a hash: a scan error or skipped row, a `hash` row of a failed file.
    NoHash,
    /// A row that repeats the record before it (a scan writes one row per matched entry; the
    /// PDQ hasher's `xform=orig` row repeats the file's `quality=` row).
    Duplicate,
}

impl SkipReason {
    /// A short description.
    pub const fn description(self) -> &'static str {
        match self {
            SkipReason::OtherKind => "a hash of another algorithm",
            SkipReason::OtherSignalType => "a signal type that is not an image hash",
            SkipReason::NoHash => "a row without a hash",
            SkipReason::Duplicate => "a repeat of the row before",
        }
    }
}

display_by!(SkipReason => description);

/// What the reader made of a record of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// A hash.
    Record(Record),
    /// A line skipped on purpose.
    Skipped {
        /// The 1-based line.
        line: u64,
        /// Why.
        reason: SkipReason,
    },
    /// A line that could not be read.
    Malformed {
        /// The 1-based line.
        line: u64,
        /// Why; never the hash text.
        reason: String,
    },
}

impl Item {
    /// The line the item starts at.
    pub fn line(&self) -> u64 {
        match self {
            Item::Record(r) => r.line,
            Item::Skipped { line, .. } | Item::Malformed { line, .. } => *line,
        }
    }
}

/// Reads hash records from text in any [`InputFormat`]. See the [module documentation](self).
pub struct RecordReader<R> {
    input: Chain<Cursor<Vec<u8>>, R>,
    source: String,
    options: ReadOptions,
    format: Option<InputFormat>,
    lines: LineState,
    parser: Parser,
    pending: VecDeque<Item>,
}

impl<R> fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordReader")
            .field("source", &self.source)
            .field("format", &self.format)
            .field("line", &self.lines.line)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> RecordReader<R> {
    /// A reader over `input`; `source` names it in messages (a path, `<stdin>`).
    ///
    /// Detects the format (unless given) from the header and the lines of the first read; a
    /// table format's header is read here.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InputFormat`] when the format cannot be told, when two formats fit (the message
    /// names both), or when a table lacks a column it needs; [`ErrorKind::Io`] when reading
    /// fails.
    pub fn new(mut input: R, source: &str, options: &ReadOptions) -> Result<RecordReader<R>> {
        let (format, prefix) = match options.format {
            Some(f) => (Some(f), Vec::new()),
            None => {
                let prefix = sample(&mut input, source)?;
                (detect_prefix(&prefix, source, options)?, prefix)
            }
        };
        let mut reader = RecordReader {
            input: Cursor::new(prefix).chain(input),
            source: source.to_owned(),
            options: options.clone(),
            format,
            lines: LineState::default(),
            parser: Parser::Empty,
            pending: VecDeque::new(),
        };
        reader.parser = match format {
            None => Parser::Empty,
            Some(InputFormat::Hex) => Parser::Hex,
            Some(InputFormat::PdqHasher) => Parser::PdqHasher(PdqState::default()),
            Some(InputFormat::PytxSignals) => Parser::Pytx,
            Some(InputFormat::JsonLines) => Parser::Json(Box::new(JsonState::new(options, false))),
            Some(f) => reader.table_header(f)?,
        };
        // A JSON input named `hashsieve` reads as JSON with our keys.
        if let Parser::Table(t) = &reader.parser {
            if t.json {
                reader.parser = Parser::Json(Box::new(JsonState::new(options, true)));
            }
        }
        Ok(reader)
    }

    /// The format read (detected or given); `None` for an input with no meaningful line.
    pub fn format(&self) -> Option<InputFormat> {
        self.format
    }

    /// The name of the input given to [`RecordReader::new`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The next item; `None` at the end of the input.
    ///
    /// Never blocks on more input than the current record needs.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when reading fails. Bad lines are [`Item::Malformed`], not errors.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let more = match self.parser {
                Parser::Empty => return Ok(None),
                Parser::Hex | Parser::PdqHasher(_) | Parser::Pytx => self.next_line_item()?,
                Parser::Table(_) => self.next_table_item()?,
                Parser::Json(_) => self.next_json_item()?,
            };
            if !more && self.pending.is_empty() {
                return Ok(None);
            }
        }
    }

    /// Whether a table input's header has the column `name` (lower case).
    pub(crate) fn has_column(&self, name: &str) -> bool {
        matches!(&self.parser, Parser::Table(t) if t.header.iter().any(|h| h == name))
    }

    /// The cell of column `name` (lower case) in the row of the last item of a table input.
    pub(crate) fn column(&self, name: &str) -> Option<&str> {
        let Parser::Table(t) = &self.parser else {
            return None;
        };
        let i = t.header.iter().position(|h| h == name)?;
        if i >= t.csv.fields_len() {
            return None;
        }
        std::str::from_utf8(t.csv.field(i)).ok()
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::from(e).with_path(&self.source)
    }

    /// Reads the next line into `self.lines.buf`; `None` at the end.
    fn read_line(&mut self) -> Result<Option<LineStatus>> {
        match read_raw_line(
            &mut self.input,
            &mut self.lines.buf,
            &mut self.lines.skip_lf,
        ) {
            Err(e) => Err(self.io(e)),
            Ok(None) => Ok(None),
            Ok(Some(too_long)) => {
                self.lines.line += 1;
                if self.lines.line == 1 && self.lines.buf.starts_with("\u{feff}".as_bytes()) {
                    self.lines.buf.drain(..3);
                }
                Ok(Some(if too_long {
                    LineStatus::TooLong
                } else if std::str::from_utf8(&self.lines.buf).is_err() {
                    LineStatus::NotUtf8
                } else {
                    LineStatus::Ok
                }))
            }
        }
    }

    /// Reads a line for the line-at-a-time formats: `Some(true)` when it is text, `Some(false)`
    /// when it is too long or not UTF-8 (reported as malformed), `None` at the end.
    fn read_text_line(&mut self) -> Result<Option<bool>> {
        let Some(status) = self.read_line()? else {
            return Ok(None);
        };
        let reason = match status {
            LineStatus::Ok => return Ok(Some(true)),
            LineStatus::TooLong => TOO_LONG,
            LineStatus::NotUtf8 => NOT_UTF8,
        };
        self.malformed(self.lines.line, reason);
        Ok(Some(false))
    }

    fn malformed(&mut self, line: u64, reason: impl Into<String>) {
        self.pending.push_back(Item::Malformed {
            line,
            reason: reason.into(),
        });
    }

    /// Line formats: reads lines until one gives items. `false` at the end.
    fn next_line_item(&mut self) -> Result<bool> {
        loop {
            let Some(readable) = self.read_text_line()? else {
                return Ok(false);
            };
            if !readable {
                return Ok(true);
            }
            let n = self.lines.line;
            let buf = std::mem::take(&mut self.lines.buf);
            let text = std::str::from_utf8(&buf).unwrap_or("").trim();
            if text.is_empty() || text.starts_with('#') {
                self.lines.buf = buf;
                continue;
            }
            let mut parser = std::mem::replace(&mut self.parser, Parser::Empty);
            match &mut parser {
                Parser::Hex => {
                    let item = hex_item(&self.options, n, text);
                    self.pending.push_back(item);
                }
                Parser::PdqHasher(state) => {
                    pdq_hasher_items(&self.options, state, n, text, &mut self.pending)
                }
                Parser::Pytx => {
                    let item = pytx_item(&self.options, n, text);
                    self.pending.push_back(item);
                }
                _ => {}
            }
            self.parser = parser;
            self.lines.buf = buf;
            return Ok(true);
        }
    }

    /// Reads one CSV/TSV record (which may span lines) into the table's fields. `None` at the
    /// end; `Some(false)` when the record was malformed (the items are pending).
    fn read_table_record(&mut self) -> Result<Option<bool>> {
        // The parser is taken out while the record is read (a cheap move of its box).
        let mut parser = std::mem::replace(&mut self.parser, Parser::Empty);
        let result = match &mut parser {
            Parser::Table(t) => self.read_csv_record(&mut t.csv),
            _ => Ok(None),
        };
        self.parser = parser;
        result
    }

    fn read_csv_record(&mut self, csv: &mut CsvState) -> Result<Option<bool>> {
        csv.reader.reset();
        csv.out_used = 0;
        csv.ends_used = 0;
        let mut start = 0;
        loop {
            let Some(status) = self.read_line()? else {
                if start == 0 {
                    return Ok(None);
                }
                // The input ended inside a quoted field.
                let last = self.lines.line;
                self.spanning(start, last, true);
                return Ok(Some(false));
            };
            let n = self.lines.line;
            if start == 0 {
                if status == LineStatus::Ok && self.lines.buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                start = n;
            }
            if status == LineStatus::TooLong {
                if n > start {
                    self.spanning(start, n - 1, false);
                }
                self.malformed(n, TOO_LONG);
                return Ok(Some(false));
            }
            if csv.out_used + self.lines.buf.len() > MAX_LINE_LEN {
                self.spanning(start, n, false);
                return Ok(Some(false));
            }
            self.lines.buf.push(b'\n');
            let mut input: &[u8] = &self.lines.buf;
            loop {
                if csv.out_used == csv.out.len() {
                    csv.out.resize((csv.out.len() * 2).max(256), 0);
                }
                if csv.ends_used == csv.ends.len() {
                    csv.ends.resize((csv.ends.len() * 2).max(16), 0);
                }
                let (res, nin, nout, nend) = csv.reader.read_record(
                    input,
                    &mut csv.out[csv.out_used..],
                    &mut csv.ends[csv.ends_used..],
                );
                input = &input[nin..];
                csv.out_used += nout;
                csv.ends_used += nend;
                match res {
                    csv_core::ReadRecordResult::InputEmpty => break,
                    csv_core::ReadRecordResult::OutputFull
                    | csv_core::ReadRecordResult::OutputEndsFull => {}
                    csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => {
                        csv.record_line = start;
                        return Ok(Some(true));
                    }
                }
            }
            // The record goes on: a quoted field spans the line end.
        }
    }

    /// Reports a record from `start` that took in the lines to `last` (a quote never closed,
    /// or a record over the size limit).
    fn spanning(&mut self, start: u64, last: u64, eof: bool) {
        let taken = last - start;
        let reason = if eof {
            format!(
                "a quoted field starts on this line and is never closed; it takes in the next \
                 {taken} line(s), to line {last}; close the quote"
            )
        } else {
            format!(
                "a quoted field starts on this line and takes in the next {taken} line(s), to \
                 line {last}, more than 1 MiB; close the quote or remove the line breaks"
            )
        };
        self.malformed(start, reason);
        for l in start + 1..=last {
            self.malformed(l, format!("taken in by the quoted field of line {start}"));
        }
    }

    /// Reads the header of a table format and builds its parser.
    fn table_header(&mut self, format: InputFormat) -> Result<Parser> {
        // Skip blank lines and leading comments; peek at the header line to pick the
        // delimiter (and JSON for `hashsieve`).
        let (delim, json) = loop {
            let source = &self.source;
            let buf = self
                .input
                .fill_buf()
                .map_err(|e| Error::from(e).with_path(source))?;
            if buf.is_empty() {
                return Ok(Parser::Empty);
            }
            let peek = &buf[..buf.len().min(MAX_LINE_LEN)];
            let line_end = memchr::memchr2(b'\n', b'\r', peek).unwrap_or(peek.len());
            let line = &peek[..line_end];
            let text = String::from_utf8_lossy(line);
            let text = text.trim_start_matches('\u{feff}').trim();
            if text.is_empty() || text.starts_with('#') {
                // A blank line or a comment before the header: consume it.
                if self.read_line()?.is_none() {
                    return Ok(Parser::Empty);
                }
                continue;
            }
            let json = text.starts_with('{');
            let delim = match format {
                InputFormat::Tsv => b'\t',
                InputFormat::Csv | InputFormat::PytxCsv => b',',
                _ if line.contains(&b'\t') => b'\t',
                _ => b',',
            };
            break (delim, json && format == InputFormat::Hashsieve);
        };
        if json {
            return Ok(Parser::Table(Box::new(Table {
                json: true,
                ..Table::default()
            })));
        }
        // Generic TSV keeps CSV quoting (as the csv crate reads it); our own TSV has none.
        let quoting = !(format == InputFormat::Hashsieve && delim == b'\t');
        let mut table = Table {
            csv: CsvState::new(delim, quoting),
            escaped: format == InputFormat::Hashsieve && delim == b'\t',
            ..Table::default()
        };
        self.parser = Parser::Table(Box::new(std::mem::take(&mut table)));
        let header = match self.read_table_record()? {
            Some(true) => {
                let Parser::Table(t) = &self.parser else {
                    unreachable!("the parser is a table")
                };
                (0..t.csv.fields_len())
                    .map(|i| {
                        String::from_utf8_lossy(t.csv.field(i))
                            .trim()
                            .trim_start_matches('\u{feff}')
                            .to_ascii_lowercase()
                    })
                    .collect::<Vec<String>>()
            }
            Some(false) => {
                return Err(Error::new(ErrorKind::InputFormat(format!(
                    "{}: the header row is unreadable (a quote is never closed)",
                    self.source
                ))))
            }
            None => return Ok(Parser::Empty),
        };
        self.pending.clear();
        let Parser::Table(mut t) = std::mem::replace(&mut self.parser, Parser::Empty) else {
            unreachable!("the parser is a table")
        };
        t.cols = Columns::from_header(format, &header, &self.options, &self.source)?;
        t.header = header;
        Ok(Parser::Table(t))
    }

    fn next_table_item(&mut self) -> Result<bool> {
        loop {
            match self.read_table_record()? {
                None => return Ok(false),
                Some(false) => return Ok(true),
                Some(true) => {}
            }
            let Parser::Table(t) = &mut self.parser else {
                return Ok(false);
            };
            let line = t.csv.record_line;
            let fields: Vec<&[u8]> = (0..t.csv.fields_len()).map(|i| t.csv.field(i)).collect();
            if fields.len() == 1 && fields[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let item = match table_raw(&t.cols, &fields, t.escaped) {
                Ok(raw) => finish(&self.options, &mut t.seen, line, raw),
                Err(reason) => Item::Malformed { line, reason },
            };
            self.pending.push_back(item);
            return Ok(true);
        }
    }

    fn next_json_item(&mut self) -> Result<bool> {
        loop {
            let Some(readable) = self.read_text_line()? else {
                return Ok(false);
            };
            if !readable {
                return Ok(true);
            }
            let n = self.lines.line;
            let text = std::str::from_utf8(&self.lines.buf).unwrap_or("").trim();
            if text.is_empty() {
                continue;
            }
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    // serde_json's syntax errors name a position, never the content.
                    self.malformed(n, format!("invalid JSON at column {}", e.column()));
                    return Ok(true);
                }
            };
            let Some(obj) = value.as_object() else {
                self.malformed(n, "not a JSON object");
                return Ok(true);
            };
            if let Some(serde_json::Value::String(t)) = obj.get("type") {
                if t == "summary" || t == "header" {
                    continue;
                }
            }
            let Parser::Json(state) = &mut self.parser else {
                return Ok(false);
            };
            let item = match json_raw(state, obj) {
                Ok(raw) => finish(&self.options, &mut state.seen, n, raw),
                Err(reason) => Item::Malformed { line: n, reason },
            };
            self.pending.push_back(item);
            return Ok(true);
        }
    }
}

pub(crate) const TOO_LONG: &str = "line longer than 1 MiB";
pub(crate) const NOT_UTF8: &str = "line is not valid UTF-8";

#[derive(Default)]
struct LineState {
    buf: Vec<u8>,
    line: u64,
    skip_lf: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineStatus {
    Ok,
    TooLong,
    NotUtf8,
}

/// Reads one line (without its terminator) into `buf`: `Some(too_long)`, or `None` at the end.
///
/// Lines end at `\n`, `\r\n` or a lone `\r`; `skip_lf` carries a `\r` seen at the end of the
/// last line. A line longer than [`MAX_LINE_LEN`] is consumed without being held (`buf` is
/// left empty). Never reads past the line's end, so it never waits for more input than the
/// line.
pub(crate) fn read_raw_line(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    skip_lf: &mut bool,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        if std::mem::take(skip_lf) && avail[0] == b'\n' {
            r.consume(1);
            continue;
        }
        any = true;
        let (chunk, done, end) = match memchr::memchr2(b'\n', b'\r', avail) {
            Some(i) => (&avail[..i], i + 1, Some(avail[i])),
            None => (avail, avail.len(), None),
        };
        if !too_long {
            if buf.len() + chunk.len() > MAX_LINE_LEN {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        r.consume(done);
        if let Some(end) = end {
            *skip_lf = end == b'\r';
            break;
        }
    }
    Ok(any.then_some(too_long))
}

// ---- line formats ----

enum Parser {
    Empty,
    Hex,
    PdqHasher(PdqState),
    Pytx,
    Table(Box<Table>),
    Json(Box<JsonState>),
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    fn items(text: &str, options: &ReadOptions) -> (Option<InputFormat>, Vec<Item>) {
        let mut r = RecordReader::new(text.as_bytes(), "t", options).unwrap();
        let mut out = Vec::new();
        while let Some(i) = r.next_item().unwrap() {
            out.push(i);
        }
        (r.format(), out)
    }

    #[test]
    fn python_strings() {
        assert_eq!(python_str("'a b' X"), Some(("a b".into(), " X")));
        assert_eq!(python_str(r#""it's" X"#), Some(("it's".into(), " X")));
        assert_eq!(python_str(r"'a\'b\x41\n'"), Some(("a'bA\n".into(), "")));
        assert_eq!(python_str("'open"), None);
    }

    #[test]
    fn a_path_that_is_not_utf8_gets_one_id_from_tsv_csv_and_json() {
        let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let ids = [
            format!("path\talgorithm\thash\tquality\nx\\xff.png\tpdq\t{hex}\t100\n").into_bytes(),
            [
                b"path,algorithm,hash,quality\nx".as_slice(),
                b"\xff",
                format!(".png,pdq,{hex},100\n").as_bytes(),
            ]
            .concat(),
            format!(r#"{{"path":{{"bytes":"eP8ucG5n"}},"algorithm":"pdq","hash":"{hex}"}}"#)
                .into_bytes(),
        ]
        .map(|input| {
            let mut r = RecordReader::new(&input[..], "t", &ReadOptions::new()).unwrap();
            match r.next_item().unwrap() {
                Some(Item::Record(rec)) => rec.id,
                other => panic!("{other:?}"),
            }
        });
        assert_eq!(ids[0].as_deref(), Some(r"x\xff.png"));
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    }

    #[test]
    fn tsv_escapes() {
        assert_eq!(unescape_tsv_text(r"a\tb\\c\nd"), "a\tb\\c\nd");
        assert_eq!(unescape_tsv_text(r"caf\xc3\xa9"), "café");
        assert_eq!(unescape_tsv_text(r"x\xff.jpg"), r"x\xff.jpg");
        assert_ne!(
            unescape_tsv_text(r"x\xff.jpg"),
            unescape_tsv_text(r"x\xfe.jpg")
        );
        assert_eq!(unescape_tsv_text(r"a\x"), r"a\x");
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("eP8uanBn").unwrap(), b"x\xff.jpg");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("a*").is_none());
    }

    #[test]
    fn line_shapes_of_each_format() {
        assert_eq!(line_shapes(HEX), 0b011);
        assert_eq!(line_shapes(&format!("{HEX},id")), 0b001);
        assert_eq!(line_shapes(&format!("{HEX},90,a.jpg")), 0b100);
        assert_eq!(line_shapes(&format!("pdq {HEX}")), 0b010);
        assert_eq!(
            line_shapes("video_md5 d41d8cd98f00b204e9800998ecf8427e"),
            0b010
        );
        assert_eq!(line_shapes("just some text"), 0);
    }

    #[test]
    fn a_co_process_is_answered_line_by_line() {
        // A reader that hands out one line per read and fails if asked for more than the
        // lines written so far.
        struct OneLine {
            lines: Vec<Vec<u8>>,
            pos: usize,
            allowed: std::rc::Rc<std::cell::Cell<usize>>,
        }
        impl Read for OneLine {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                assert!(self.pos < self.allowed.get(), "read past the written lines");
                let Some(l) = self.lines.get(self.pos) else {
                    return Ok(0);
                };
                out[..l.len()].copy_from_slice(l);
                self.pos += 1;
                Ok(l.len())
            }
        }
        let allowed = std::rc::Rc::new(std::cell::Cell::new(1));
        let src = OneLine {
            lines: (0..3).map(|_| format!("{HEX},x\n").into_bytes()).collect(),
            pos: 0,
            allowed: allowed.clone(),
        };
        let mut r =
            RecordReader::new(std::io::BufReader::new(src), "pipe", &ReadOptions::new()).unwrap();
        assert_eq!(r.format(), Some(InputFormat::Hex));
        for line in 1..=3 {
            let item = r.next_item().unwrap().unwrap();
            assert_eq!(item.line(), line);
            allowed.set(allowed.get() + 1);
        }
        assert!(r.next_item().unwrap().is_none());
    }

    #[test]
    fn scan_rows_give_one_record_per_file_and_hash() {
        let text = format!(
            "path\tstatus\talgorithm\thash\tquality\tlist\tentry_id\tdistance\torientation\tdetail\n\
             a.jpg\tmatch\tpdq\t{HEX}\t100\tL\te1\t0\t\t\n\
             a.jpg\tmatch\tpdq\t{HEX}\t100\tL\te2\t3\t\t\n\
             b.jpg\terror\t\t\t\t\t\t\t\tnot an image\n"
        );
        let (f, items) = items(&text, &ReadOptions::new());
        assert_eq!(f, Some(InputFormat::Hashsieve));
        assert!(matches!(&items[0], Item::Record(r) if r.id.as_deref() == Some("a.jpg")));
        assert!(matches!(
            items[1],
            Item::Skipped {
                reason: SkipReason::Duplicate,
                ..
            }
        ));
        assert!(matches!(
            items[2],
            Item::Skipped {
                reason: SkipReason::NoHash,
                ..
            }
        ));
    }
}
