//! Importers: the text formats hash-sharing tools write, streamed into a [`ListBuilder`].
//!
//! | [`InputFormat`] | name | lines |
//! |---|---|---|
//! | [`Hex`](InputFormat::Hex) | `hex` | the PDQ reference tools' format: one hash per line, optionally prefixed `hash=`; text after the first comma is the id; without it the id is `idx=<n>` (`n` counts entries from 1, as the reference does) |
//! | [`PdqHasher`](InputFormat::PdqHasher) | `pdq-hasher` | the reference C++ hasher's output `hash,quality,filename`, or its `--details` form `hash=…,norm=…,delta=…,quality=…,filename=…`; id = file name |
//! | [`PytxCsv`](InputFormat::PytxCsv) | `pytx-csv` | python-threatexchange `dataset --csv`: header `signal_type,signal_str,collab,category,tags`; rows whose `signal_type` is the list's algorithm name (`pdq`); id `idx=<n>`, source = collab, categories `category:<category>` and `tag:<tag>` |
//! | [`PytxSignals`](InputFormat::PytxSignals) | `pytx-signals` | python-threatexchange signal lines `<signal_type> <hex>[ text]` (also `<ROTATION> pdq <hex>` and a bare `<hex>`); lines of other signal types are skipped; id = the trailing text, else `idx=<n>` |
//! | [`HashsieveTsv`](InputFormat::HashsieveTsv) | `hashsieve-tsv` | `hashsieve hash` output: a header with columns `path`, `algorithm`, `hash`, `quality` (more allowed); rows whose algorithm is the list's; id = path; rows with an empty hash (failed files) are skipped |
//! | [`Csv`](InputFormat::Csv), [`Tsv`](InputFormat::Tsv) | `csv`, `tsv` | a header row naming the columns: hash (`hash_col`, default `hash`), id (`id_col`, default `id` when present, else `idx=<n>`), categories (`category_col`, default `categories` when present), `quality` and `source` when present |
//! | [`JsonLines`](InputFormat::JsonLines) | `jsonl` | one JSON object per line with the same field names; categories a string or an array of strings |
//!
//! Categories in text are `scheme:code` items separated by whitespace; a bare item is
//! `tag:<item>`. Blank lines are skipped everywhere; a UTF-8 byte-order mark is ignored. Lines
//! end at LF, CRLF or a lone CR (old Mac files), and are read through one bounded
//! [`LineReader`]: a line over [`MAX_LINE_LEN`] is malformed and never held in memory.
//!
//! Detection never picks a format that would ignore a column the input has: a first line
//! `hash,<number>,<text>` is the reference hasher's `hash,quality,filename` even when the
//! number is out of range (that line is then malformed, and the quality gate applies to the
//! others), not a hex line whose id is `<number>,<text>`.
//!
//! Every malformed line is reported as `source:line: reason`; the reason never contains the
//! hash text (hash lists are sensitive). Up to [`ImportOptions::max_errors`] malformed lines are
//! skipped and listed in the [`ImportReport`]; one more and the import fails with
//! [`ErrorKind::Parse`]. A CSV/TSV record whose quoted field spans lines (usually a quote never
//! closed) is reported at the line where it began, with the lines it took in, and counts as
//! that many malformed records. An input whose every record is malformed fails whatever
//! `max_errors` allows. On failure the builder holds whatever was added before it: discard it,
//! so nothing partial is ever written.

use std::fmt;
use std::io::{BufRead, Cursor, Read};
use std::str::FromStr;

use super::builder::{EntryMeta, ListBuilder};
use super::reader::Category;
use crate::error::{Error, ErrorKind, Result};
use crate::hash::{HashKind, HashValue};

/// Lines longer than this are malformed (and are not held in memory).
pub const MAX_LINE_LEN: usize = 1 << 20;

/// How many messages an [`ImportReport`] keeps.
pub const MAX_MESSAGES: usize = 100;

/// The scheme given to a category written without one.
pub const DEFAULT_CATEGORY_SCHEME: &str = "tag";

/// A text format an importer reads. See the [module documentation](self) for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputFormat {
    /// One hex hash per line, optional `hash=` prefix and `,id` tail (PDQ reference tools).
    Hex,
    /// `hash,quality,filename` (the reference C++ hasher).
    PdqHasher,
    /// python-threatexchange `dataset --csv` output.
    PytxCsv,
    /// python-threatexchange signal lines, `pdq <hex>`.
    PytxSignals,
    /// `hashsieve hash` TSV output.
    HashsieveTsv,
    /// CSV with a header row naming the columns.
    Csv,
    /// TSV with a header row naming the columns.
    Tsv,
    /// JSON objects, one per line.
    JsonLines,
}

impl InputFormat {
    /// Every format.
    pub const ALL: [InputFormat; 8] = [
        InputFormat::Hex,
        InputFormat::PdqHasher,
        InputFormat::PytxCsv,
        InputFormat::PytxSignals,
        InputFormat::HashsieveTsv,
        InputFormat::Csv,
        InputFormat::Tsv,
        InputFormat::JsonLines,
    ];

    const NAMES: &'static str =
        "hex, pdq-hasher, pytx-csv, pytx-signals, hashsieve-tsv, csv, tsv, jsonl";

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            InputFormat::Hex => "hex",
            InputFormat::PdqHasher => "pdq-hasher",
            InputFormat::PytxCsv => "pytx-csv",
            InputFormat::PytxSignals => "pytx-signals",
            InputFormat::HashsieveTsv => "hashsieve-tsv",
            InputFormat::Csv => "csv",
            InputFormat::Tsv => "tsv",
            InputFormat::JsonLines => "jsonl",
        }
    }

    /// Guesses the format from the first non-blank line of the input.
    ///
    /// `None` when the line fits no format.
    ///
    /// ```
    /// use hashsieve::list::import::InputFormat;
    /// let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    /// assert_eq!(InputFormat::detect(hex), Some(InputFormat::Hex));
    /// assert_eq!(InputFormat::detect(&format!("{hex},100,a.jpg")), Some(InputFormat::PdqHasher));
    /// assert_eq!(InputFormat::detect(&format!("pdq {hex}")), Some(InputFormat::PytxSignals));
    /// assert_eq!(InputFormat::detect("signal_type,signal_str,collab,category,tags"),
    ///            Some(InputFormat::PytxCsv));
    /// assert_eq!(InputFormat::detect("path\talgorithm\thash\tquality"),
    ///            Some(InputFormat::HashsieveTsv));
    /// assert_eq!(InputFormat::detect(r#"{"hash": "00"}"#), Some(InputFormat::JsonLines));
    /// ```
    pub fn detect(first_line: &str) -> Option<InputFormat> {
        let line = first_line.trim_start_matches('\u{feff}').trim();
        if line.starts_with('{') {
            return Some(InputFormat::JsonLines);
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("signal_type,") {
            return Some(InputFormat::PytxCsv);
        }
        if line.contains('\t') {
            let cols: Vec<&str> = lower.split('\t').map(str::trim).collect();
            let has = |c: &str| cols.contains(&c);
            return Some(if has("path") && has("algorithm") && has("hash") {
                InputFormat::HashsieveTsv
            } else {
                InputFormat::Tsv
            });
        }
        if lower.starts_with("hash=") && lower.contains(",quality=") {
            return Some(InputFormat::PdqHasher);
        }
        let body = line.strip_prefix("hash=").unwrap_or(line);
        let mut fields = body.splitn(3, ',');
        let first = fields.next().unwrap_or("").trim();
        if is_hex_hash(first) {
            let second = fields.next();
            let third = fields.next();
            // A number between the hash and a third field is the reference hasher's quality
            // column, even out of range (that line is then malformed): reading such a file as
            // plain hex would ignore the column, and with it the quality gate.
            if let (Some(q), Some(_)) = (second, third) {
                let q = q.trim();
                if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) {
                    return Some(InputFormat::PdqHasher);
                }
            }
            return Some(InputFormat::Hex);
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let word = |t: &str| t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match tokens.as_slice() {
            [t, h, ..] if word(t) && is_hex_hash(h) => return Some(InputFormat::PytxSignals),
            [r, t, h, ..] if word(r) && word(t) && is_hex_hash(h) => {
                return Some(InputFormat::PytxSignals)
            }
            _ => {}
        }
        if line.contains(',') {
            return Some(InputFormat::Csv);
        }
        None
    }
}

fn is_hex_hash(s: &str) -> bool {
    (s.len() == 16 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for InputFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<InputFormat> {
        let lower = s.trim().to_ascii_lowercase();
        let lower = match lower.as_str() {
            "json" | "jsonlines" | "ndjson" => "jsonl",
            "pdq" | "reference" => "hex",
            other => other,
        };
        InputFormat::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .ok_or_else(|| {
                ErrorKind::UnknownName {
                    what: "input format",
                    name: s.chars().take(32).collect(),
                    expected: InputFormat::NAMES,
                }
                .into()
            })
    }
}

/// How to read an input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The format; `None` detects it from the first line.
    pub format: Option<InputFormat>,
    /// Generic formats: the hash column (default `hash`).
    pub hash_col: Option<String>,
    /// Generic formats: the id column (default `id` when present; else ids are `idx=<n>`).
    pub id_col: Option<String>,
    /// Generic formats: the category column (default `categories` when present).
    pub category_col: Option<String>,
    /// How many malformed lines to skip before failing (default 0: the first fails). An input
    /// whose every record is malformed fails whatever this allows.
    pub max_errors: u64,
}

impl ImportOptions {
    /// Options that detect the format and fail on the first malformed line.
    pub fn new() -> ImportOptions {
        ImportOptions::default()
    }

    /// Sets the format.
    pub fn format(mut self, format: InputFormat) -> ImportOptions {
        self.format = Some(format);
        self
    }

    /// Sets how many malformed lines are skipped before the import fails.
    pub fn max_errors(mut self, max: u64) -> ImportOptions {
        self.max_errors = max;
        self
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// The format read (detected or given); `None` for an input with no non-blank line.
    pub format: Option<InputFormat>,
    /// Data records read (lines or rows, blank lines and header rows excluded).
    pub records: u64,
    /// Entries the builder kept.
    pub added: u64,
    /// Entries the builder rejected (degenerate hash, quality under the floor).
    pub rejected: u64,
    /// Records skipped on purpose: another signal type or algorithm, or no hash.
    pub skipped: u64,
    /// Malformed records skipped (at most `max_errors`).
    pub malformed: u64,
    /// `source:line: reason` for the first malformed records (at most [`MAX_MESSAGES`]).
    pub messages: Vec<String>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records ({}): {} added, {} rejected, {} skipped, {} malformed",
            self.records,
            self.format.map_or("empty", InputFormat::name),
            self.added,
            self.rejected,
            self.skipped,
            self.malformed
        )
    }
}

/// Counts malformed records and turns one too many into an error.
pub(crate) struct Problems<'s> {
    source: &'s str,
    max_errors: u64,
    pub(crate) count: u64,
    pub(crate) messages: Vec<String>,
}

impl<'s> Problems<'s> {
    pub(crate) fn new(source: &'s str, max_errors: u64) -> Problems<'s> {
        Problems {
            source,
            max_errors,
            count: 0,
            messages: Vec::new(),
        }
    }

    /// Records a malformed record at `line`; fails once there are more than `max_errors`.
    /// `reason` must never contain the hash text.
    pub(crate) fn report(&mut self, line: u64, reason: impl fmt::Display) -> Result<()> {
        self.report_many(line, 1, reason)
    }

    /// Records `n` malformed records that all show up at `line` (a quoted CSV field that took
    /// in the lines after it).
    pub(crate) fn report_many(
        &mut self,
        line: u64,
        n: u64,
        reason: impl fmt::Display,
    ) -> Result<()> {
        self.count += n;
        if self.messages.len() < MAX_MESSAGES {
            self.messages
                .push(format!("{}:{line}: {reason}", self.source));
        }
        if self.count > self.max_errors {
            return Err(Error::new(ErrorKind::Parse {
                count: self.count,
                first: self.messages.first().cloned().unwrap_or_default(),
            }));
        }
        Ok(())
    }

    pub(crate) fn io(&self, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(err)).with_path(self.source)
    }
}

/// Runs `$body` for each non-blank line of `$lines` as `(line number, text)`, counting records
/// and reporting undecodable lines; `continue` in the body goes to the next line.
macro_rules! for_each_record {
    ($self:ident, $lines:ident, |$n:ident, $text:ident| $body:block) => {
        while let Some(($n, line)) = $lines.next_line().map_err(|e| $self.problems.io(e))? {
            let $text = match line {
                Ok(t) if t.trim().is_empty() => continue,
                Ok(t) => t,
                Err(reason) => {
                    $self.report.records += 1;
                    $self.problems.report($n, reason)?;
                    continue;
                }
            };
            $self.report.records += 1;
            $body
        }
    };
}

/// A line reader that bounds line length, tracks line numbers and checks UTF-8: the one every
/// text reader of this crate (and of the `hashsieve` tool) uses.
///
/// Lines end at `\n`, `\r\n` or a lone `\r` (old Mac files). A line longer than
/// [`MAX_LINE_LEN`] is consumed without being held in memory and comes back as an error, as
/// does a line that is not UTF-8; a byte-order mark at the start of the first line is dropped.
/// Memory use is bounded by [`MAX_LINE_LEN`] whatever the input.
///
/// ```
/// use hashsieve::list::import::LineReader;
/// let mut input = &b"a\r\nb\rc\n\xff\n"[..];
/// let mut lines = LineReader::new(&mut input);
/// assert_eq!(lines.next_line()?, Some((1, Ok("a"))));
/// assert_eq!(lines.next_line()?, Some((2, Ok("b"))));
/// assert_eq!(lines.next_line()?, Some((3, Ok("c"))));
/// assert_eq!(lines.next_line()?, Some((4, Err("line is not valid UTF-8"))));
/// assert_eq!(lines.next_line()?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct LineReader<'r> {
    r: &'r mut dyn BufRead,
    buf: Vec<u8>,
    line: u64,
    /// The last line ended with `\r`: a `\n` right after it belongs to that terminator.
    skip_lf: bool,
}

impl fmt::Debug for LineReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineReader")
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// One line from a [`LineReader`]: its 1-based number and its text without the terminator, or
/// why it is unreadable (a reason that never contains the line's content).
pub type Line<'a> = (u64, std::result::Result<&'a str, &'static str>);

pub(crate) type Lines<'r> = LineReader<'r>;

impl<'r> LineReader<'r> {
    /// A reader over `r`.
    pub fn new(r: &'r mut dyn BufRead) -> LineReader<'r> {
        LineReader {
            r,
            buf: Vec::new(),
            line: 0,
            skip_lf: false,
        }
    }

    /// The next line without its terminator, or `None` at the end.
    ///
    /// # Errors
    ///
    /// Any I/O error from the underlying reader other than [`std::io::ErrorKind::Interrupted`].
    pub fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let avail = match self.r.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            if std::mem::take(&mut self.skip_lf) && avail[0] == b'\n' {
                self.r.consume(1);
                continue;
            }
            any = true;
            let (chunk, done, end) = match memchr::memchr2(b'\n', b'\r', avail) {
                Some(i) => (&avail[..i], i + 1, Some(avail[i])),
                None => (avail, avail.len(), None),
            };
            if !too_long {
                if self.buf.len() + chunk.len() > MAX_LINE_LEN {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.r.consume(done);
            if let Some(end) = end {
                self.skip_lf = end == b'\r';
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if too_long {
            return Ok(Some((self.line, Err("line longer than 1 MiB"))));
        }
        let mut text = match std::str::from_utf8(&self.buf) {
            Ok(t) => t,
            Err(_) => return Ok(Some((self.line, Err("line is not valid UTF-8")))),
        };
        if self.line == 1 {
            text = text.trim_start_matches('\u{feff}');
        }
        Ok(Some((self.line, Ok(text))))
    }
}

/// Parses the categories of a text field: whitespace-separated `scheme:code` items.
pub(crate) fn parse_categories(field: &str) -> Vec<Category<'_>> {
    field
        .split_whitespace()
        .map(|item| Category::parse(item, DEFAULT_CATEGORY_SCHEME))
        .collect()
}

/// Parses a quality field: empty or `-` = none, else an integer 0..=100.
pub(crate) fn parse_quality(field: &str) -> std::result::Result<Option<u8>, &'static str> {
    let f = field.trim();
    if f.is_empty() || f == "-" {
        return Ok(None);
    }
    match f.parse::<u8>() {
        Ok(q) if q <= 100 => Ok(Some(q)),
        _ => Err("quality is not an integer in 0..=100"),
    }
}

/// Parses a hash of `kind`, giving a reason that never echoes the text.
pub(crate) fn parse_hash(kind: HashKind, text: &str) -> std::result::Result<HashValue, String> {
    kind.parse_hex(text.trim())
        .map_err(|e| e.kind().to_string())
}

/// Streams one input into `builder`.
///
/// `source` names the input in messages (a path, or `<stdin>`).
///
/// # Errors
///
/// [`ErrorKind::Parse`] with the count and the first `source:line: reason` when there are more
/// than `max_errors` malformed records, or when every record is malformed; [`ErrorKind::Format`] when the format cannot be detected
/// or a required column is missing; [`ErrorKind::Io`] when reading fails. The builder then
/// holds a partial list: discard it.
///
/// ```
/// use hashsieve::list::import::{import, ImportOptions, InputFormat};
/// use hashsieve::{HashKind, ListBuilder};
/// let text = "hash,id,categories\n\
///             f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,a1,uk:A\n";
/// let mut builder = ListBuilder::new(HashKind::Pdq);
/// let report = import(text.as_bytes(), "in.csv", &ImportOptions::default(), &mut builder)?;
/// assert_eq!(report.format, Some(InputFormat::Csv));
/// assert_eq!(report.added, 1);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn import(
    mut input: impl BufRead,
    source: &str,
    options: &ImportOptions,
    builder: &mut ListBuilder,
) -> Result<ImportReport> {
    import_dyn(&mut input, source, options, builder)
}

fn import_dyn(
    input: &mut dyn BufRead,
    source: &str,
    options: &ImportOptions,
    builder: &mut ListBuilder,
) -> Result<ImportReport> {
    let mut problems = Problems::new(source, options.max_errors);
    let mut report = ImportReport::default();
    let before = (builder.entry_count() as u64, builder.report().offered);

    let (format, mut prefix) = match options.format {
        Some(f) => (Some(f), Vec::new()),
        None => detect(input, source)?,
    };
    let mut chained = Cursor::new(std::mem::take(&mut prefix)).chain(input);
    let input: &mut dyn BufRead = &mut chained;
    report.format = format;
    let mut ctx = Ctx {
        builder,
        problems: &mut problems,
        report: &mut report,
        source,
    };
    match format {
        None => {}
        Some(InputFormat::Hex) => ctx.hex(input)?,
        Some(InputFormat::PdqHasher) => ctx.pdq_hasher(input)?,
        Some(InputFormat::PytxSignals) => ctx.pytx_signals(input)?,
        Some(InputFormat::JsonLines) => ctx.json_lines(input, options)?,
        Some(InputFormat::PytxCsv) => ctx.table(input, b',', true, Table::Pytx)?,
        Some(InputFormat::HashsieveTsv) => ctx.table(input, b'\t', false, Table::Hashsieve)?,
        Some(InputFormat::Csv) => ctx.table(input, b',', true, Table::Generic(options))?,
        Some(InputFormat::Tsv) => ctx.table(input, b'\t', true, Table::Generic(options))?,
    }
    report.added = builder.entry_count() as u64 - before.0;
    report.rejected = builder.report().offered - before.1 - report.added;
    report.malformed = problems.count;
    report.messages = problems.messages;
    if report.malformed > 0 && report.added + report.rejected + report.skipped == 0 {
        return Err(all_malformed(report.malformed, &report.messages));
    }
    Ok(report)
}

/// The error for an input whose every record is malformed, whatever `max_errors` allows: such
/// an input is the wrong format or the wrong file, never a list with a few bad lines.
pub(crate) fn all_malformed(count: u64, messages: &[String]) -> Error {
    let first = messages.first().map_or("", String::as_str);
    Error::new(ErrorKind::Parse {
        count,
        first: format!("{first} (every record of the input is malformed; check its format)"),
    })
}

/// Turns every `\r\n` and lone `\r` into `\n`, so that the CSV reader numbers the lines of
/// a file with CR-only line ends as an editor does.
pub(crate) struct CrToLf<R> {
    inner: R,
    after_cr: bool,
}

impl<R: Read> CrToLf<R> {
    pub(crate) fn new(inner: R) -> CrToLf<R> {
        CrToLf {
            inner,
            after_cr: false,
        }
    }
}

impl<R: Read> Read for CrToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(out)?;
            let mut w = 0;
            for i in 0..n {
                let b = out[i];
                if std::mem::replace(&mut self.after_cr, b == b'\r') && b == b'\n' {
                    continue;
                }
                out[w] = if b == b'\r' { b'\n' } else { b };
                w += 1;
            }
            // A read that held only the `\n` of a `\r\n` must not look like the end.
            if w > 0 || n == 0 {
                return Ok(w);
            }
        }
    }
}

/// How many lines after its first a CSV record's fields took in (0 for a one-line record): a
/// line break inside a quoted field, usually a quote that was never closed.
pub(crate) fn lines_taken_in(record: &csv::ByteRecord) -> u64 {
    record
        .iter()
        .map(|f| {
            let body = f.strip_suffix(b"\n").unwrap_or(f);
            let n = memchr::memchr_iter(b'\n', body).count() as u64;
            n.max(u64::from(f.contains(&b'\n')))
        })
        .sum()
}

/// The message for a record that spans lines.
pub(crate) fn spanning_reason(taken: u64, line: u64) -> String {
    format!(
        "a quoted field starts on this line and takes in the next {taken} line(s), to line {}; \
         close the quote or remove the line break",
        line + taken
    )
}

/// Reads up to the first non-blank line, returning the detected format and the bytes read.
fn detect(input: &mut dyn BufRead, source: &str) -> Result<(Option<InputFormat>, Vec<u8>)> {
    let mut prefix = Vec::new();
    loop {
        let start = prefix.len();
        let n = Read::take(&mut *input, MAX_LINE_LEN as u64)
            .read_until(b'\n', &mut prefix)
            .map_err(|e| Error::from(e).with_path(source))?;
        if n == 0 {
            return Ok((None, prefix));
        }
        let text = String::from_utf8_lossy(&prefix[start..]);
        // A file with CR-only line ends reads as one long "line" here: look at its first line.
        let first = text
            .split(['\r', '\n'])
            .map(|l| l.trim_start_matches('\u{feff}').trim())
            .find(|l| !l.is_empty());
        let Some(line) = first else {
            if prefix.len() > 4 * MAX_LINE_LEN {
                return Err(Error::new(ErrorKind::Format(format!(
                    "{source}: the first 4 MiB are blank; cannot tell the input format"
                ))));
            }
            continue;
        };
        return match InputFormat::detect(line) {
            Some(f) => Ok((Some(f), prefix)),
            None => Err(Error::new(ErrorKind::Format(format!(
                "{source}: cannot tell the input format from its first line; pass the format \
                 explicitly (one of: {})",
                InputFormat::NAMES
            )))),
        };
    }
}

enum Table<'o> {
    Pytx,
    Hashsieve,
    Generic(&'o ImportOptions),
}

struct Ctx<'a, 's> {
    builder: &'a mut ListBuilder,
    problems: &'a mut Problems<'s>,
    report: &'a mut ImportReport,
    source: &'s str,
}

impl Ctx<'_, '_> {
    /// Adds an entry; malformed metadata (caught by the builder) is a malformed line.
    fn add(&mut self, line: u64, hash: HashValue, meta: EntryMeta<'_>) -> Result<()> {
        match self.builder.add(hash, meta) {
            Ok(_) => Ok(()),
            Err(e) => self.problems.report(line, e.kind()),
        }
    }

    fn idx(&self) -> String {
        format!("idx={}", self.builder.offered() + 1)
    }

    fn hex(&mut self, input: &mut dyn BufRead) -> Result<()> {
        let kind = self.builder.kind();
        let mut lines = Lines::new(input);
        for_each_record!(self, lines, |n, text| {
            let (hash_part, id) = match text.split_once(',') {
                Some((h, m)) => (h, Some(m)),
                None => (text, None),
            };
            let hash_part = hash_part.strip_prefix("hash=").unwrap_or(hash_part);
            match parse_hash(kind, hash_part) {
                Ok(h) => {
                    let idx;
                    let id = match id {
                        Some(m) => m,
                        None => {
                            idx = self.idx();
                            &idx
                        }
                    };
                    self.add(n, h, EntryMeta::new(id))?;
                }
                Err(reason) => self.problems.report(n, reason)?,
            }
        });
        Ok(())
    }

    fn pdq_hasher(&mut self, input: &mut dyn BufRead) -> Result<()> {
        let kind = self.builder.kind();
        let mut lines = Lines::new(input);
        for_each_record!(self, lines, |n, text| {
            match parse_pdq_hasher_line(kind, text) {
                Ok((h, q, name)) => {
                    let mut meta = EntryMeta::new(name);
                    meta.quality = q;
                    self.add(n, h, meta)?;
                }
                Err(reason) => self.problems.report(n, reason)?,
            }
        });
        Ok(())
    }

    fn pytx_signals(&mut self, input: &mut dyn BufRead) -> Result<()> {
        let kind = self.builder.kind();
        let mut lines = Lines::new(input);
        for_each_record!(self, lines, |n, text| {
            match parse_signal_line(kind, text) {
                Ok(None) => self.report.skipped += 1,
                Ok(Some((h, rest))) => {
                    let idx;
                    let id = if rest.is_empty() {
                        idx = self.idx();
                        &idx
                    } else {
                        rest
                    };
                    self.add(n, h, EntryMeta::new(id))?;
                }
                Err(reason) => self.problems.report(n, reason)?,
            }
        });
        Ok(())
    }

    fn json_lines(&mut self, input: &mut dyn BufRead, options: &ImportOptions) -> Result<()> {
        let kind = self.builder.kind();
        let hash_key = options.hash_col.as_deref().unwrap_or("hash");
        let id_key = options.id_col.as_deref().unwrap_or("id");
        let cat_key = options.category_col.as_deref().unwrap_or("categories");
        let mut lines = Lines::new(input);
        for_each_record!(self, lines, |n, text| {
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    // serde_json's syntax errors name a position, never the content.
                    self.problems
                        .report(n, format!("invalid JSON at column {}", e.column()))?;
                    continue;
                }
            };
            let Some(obj) = value.as_object() else {
                self.problems.report(n, "not a JSON object")?;
                continue;
            };
            let hash = match obj.get(hash_key) {
                Some(serde_json::Value::String(s)) => match parse_hash(kind, s) {
                    Ok(h) => h,
                    Err(reason) => {
                        self.problems.report(n, reason)?;
                        continue;
                    }
                },
                Some(_) => {
                    self.problems
                        .report(n, format!("field {hash_key:?} is not a string"))?;
                    continue;
                }
                None => {
                    self.problems.report(n, format!("no field {hash_key:?}"))?;
                    continue;
                }
            };
            let id_owned;
            let id: &str = match obj.get(id_key) {
                Some(serde_json::Value::String(s)) => s,
                Some(serde_json::Value::Number(num)) => {
                    id_owned = num.to_string();
                    &id_owned
                }
                None | Some(serde_json::Value::Null) if options.id_col.is_none() => {
                    id_owned = self.idx();
                    &id_owned
                }
                _ => {
                    self.problems
                        .report(n, format!("field {id_key:?} is missing or not a string"))?;
                    continue;
                }
            };
            let quality = match obj.get("quality") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::Number(q)) => match q.as_u64() {
                    Some(q) if q <= 100 => Some(q as u8),
                    _ => {
                        self.problems
                            .report(n, "quality is not an integer in 0..=100")?;
                        continue;
                    }
                },
                Some(serde_json::Value::String(s)) => match parse_quality(s) {
                    Ok(q) => q,
                    Err(reason) => {
                        self.problems.report(n, reason)?;
                        continue;
                    }
                },
                Some(_) => {
                    self.problems.report(n, "quality is not a number")?;
                    continue;
                }
            };
            let mut categories = Vec::new();
            match obj.get(cat_key) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::String(s)) => categories = parse_categories(s),
                Some(serde_json::Value::Array(items)) => {
                    let mut ok = true;
                    for item in items {
                        match item.as_str() {
                            Some(s) => categories.extend(parse_categories(s)),
                            None => ok = false,
                        }
                    }
                    if !ok {
                        self.problems.report(n, "a category is not a string")?;
                        continue;
                    }
                }
                Some(_) => {
                    self.problems
                        .report(n, "categories are not a string or an array")?;
                    continue;
                }
            }
            let source = match obj.get("source") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.as_str()),
                Some(_) => {
                    self.problems.report(n, "source is not a string")?;
                    continue;
                }
            };
            let meta = EntryMeta {
                id,
                quality,
                categories,
                source,
            };
            self.add(n, hash, meta)?;
        });
        Ok(())
    }

    fn table(
        &mut self,
        input: &mut dyn BufRead,
        delim: u8,
        quoting: bool,
        t: Table<'_>,
    ) -> Result<()> {
        let kind = self.builder.kind();
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delim)
            .quoting(quoting)
            .has_headers(true)
            .flexible(true)
            .from_reader(CrToLf::new(input));
        let source = self.source;
        let io = |e: csv::Error| -> Error {
            match e.into_kind() {
                csv::ErrorKind::Io(e) => Error::from(e).with_path(source),
                _ => Error::new(ErrorKind::Format(format!("{source}: unreadable CSV"))),
            }
        };
        let headers: Vec<String> = rdr
            .byte_headers()
            .map_err(io)?
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_ascii_lowercase()
            })
            .collect();
        let col = |name: &str| headers.iter().position(|h| h == &name.to_ascii_lowercase());
        let missing = |name: &str, hint: &str| {
            Error::new(ErrorKind::Format(format!(
                "{source}: the header has no column {name:?}{hint}"
            )))
        };
        let spec = match t {
            Table::Pytx => Spec {
                hash: col("signal_str").ok_or_else(|| missing("signal_str", ""))?,
                signal_type: Some(col("signal_type").ok_or_else(|| missing("signal_type", ""))?),
                collab: col("collab"),
                pytx_category: col("category"),
                tags: col("tags"),
                ..Spec::default()
            },
            Table::Hashsieve => Spec {
                hash: col("hash").ok_or_else(|| missing("hash", ""))?,
                id: Some(col("path").ok_or_else(|| missing("path", ""))?),
                algorithm: Some(col("algorithm").ok_or_else(|| missing("algorithm", ""))?),
                quality: col("quality"),
                skip_empty_hash: true,
                ..Spec::default()
            },
            Table::Generic(o) => {
                let hash_name = o.hash_col.as_deref().unwrap_or("hash");
                let pick = |given: &Option<String>, default: &str| -> Result<Option<usize>> {
                    match given {
                        Some(name) => col(name).map(Some).ok_or_else(|| missing(name, "")),
                        None => Ok(col(default)),
                    }
                };
                Spec {
                    hash: col(hash_name)
                        .ok_or_else(|| missing(hash_name, "; name the hash column"))?,
                    id: pick(&o.id_col, "id")?,
                    categories: pick(&o.category_col, "categories")?,
                    quality: col("quality"),
                    source: col("source"),
                    ..Spec::default()
                }
            }
        };
        let mut record = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(io(e)),
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1
                && record
                    .get(0)
                    .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let taken = lines_taken_in(&record);
            if taken > 0 {
                // Each line taken in is a record lost: count them all, so `max_errors` bites.
                self.report.records += 1 + taken;
                self.problems
                    .report_many(line, 1 + taken, spanning_reason(taken, line))?;
                continue;
            }
            self.report.records += 1;
            match spec.read(kind, &record) {
                Err(reason) => self.problems.report(line, reason)?,
                Ok(None) => self.report.skipped += 1,
                Ok(Some(row)) => {
                    let idx;
                    let id = match row.id {
                        Some(id) => id,
                        None => {
                            idx = self.idx();
                            &idx
                        }
                    };
                    let mut categories = row.categories;
                    if let Some(c) = row.pytx_category.filter(|c| !c.trim().is_empty()) {
                        categories
                            .extend(c.split_whitespace().map(|c| Category::new("category", c)));
                    }
                    let meta = EntryMeta {
                        id,
                        quality: row.quality,
                        categories,
                        source: row.source,
                    };
                    self.add(line, row.hash, meta)?;
                }
            }
        }
        Ok(())
    }
}

/// Column positions of a table format.
#[derive(Default)]
struct Spec {
    hash: usize,
    id: Option<usize>,
    quality: Option<usize>,
    categories: Option<usize>,
    source: Option<usize>,
    algorithm: Option<usize>,
    signal_type: Option<usize>,
    collab: Option<usize>,
    pytx_category: Option<usize>,
    tags: Option<usize>,
    skip_empty_hash: bool,
}

struct Row<'a> {
    hash: HashValue,
    id: Option<&'a str>,
    quality: Option<u8>,
    categories: Vec<Category<'a>>,
    source: Option<&'a str>,
    pytx_category: Option<&'a str>,
}

fn field(record: &csv::ByteRecord, i: usize) -> std::result::Result<&str, String> {
    let raw = record
        .get(i)
        .ok_or_else(|| format!("missing column {}", i + 1))?;
    std::str::from_utf8(raw).map_err(|_| format!("column {} is not valid UTF-8", i + 1))
}

fn opt_field(
    record: &csv::ByteRecord,
    i: Option<usize>,
) -> std::result::Result<Option<&str>, String> {
    match i {
        None => Ok(None),
        Some(i) => field(record, i).map(Some),
    }
}

impl Spec {
    /// Reads one row: `Ok(None)` when it is skipped on purpose.
    fn read<'a>(
        &self,
        kind: HashKind,
        record: &'a csv::ByteRecord,
    ) -> std::result::Result<Option<Row<'a>>, String> {
        if let Some(st) = opt_field(record, self.signal_type)? {
            if !st.trim().eq_ignore_ascii_case(kind.name()) {
                return Ok(None);
            }
        }
        if let Some(alg) = opt_field(record, self.algorithm)? {
            match alg.parse::<HashKind>() {
                Ok(k) if k == kind => {}
                Ok(_) => return Ok(None),
                Err(_) => return Err("unknown algorithm name".into()),
            }
        }
        let hash_text = field(record, self.hash)?;
        if self.skip_empty_hash && hash_text.trim().is_empty() {
            return Ok(None);
        }
        let hash = parse_hash(kind, hash_text)?;
        let quality = match opt_field(record, self.quality)? {
            Some(q) => parse_quality(q)?,
            None => None,
        };
        let mut categories = match opt_field(record, self.categories)? {
            Some(c) => parse_categories(c),
            None => Vec::new(),
        };
        if let Some(tags) = opt_field(record, self.tags)? {
            categories.extend(tags.split_whitespace().map(|t| Category::new("tag", t)));
        }
        let source = opt_field(record, self.source.or(self.collab))?.filter(|s| !s.is_empty());
        Ok(Some(Row {
            hash,
            id: opt_field(record, self.id)?,
            quality,
            categories,
            source,
            pytx_category: opt_field(record, self.pytx_category)?,
        }))
    }
}

/// `hash,quality,filename` or `hash=…,norm=…,delta=…,quality=…,filename=…`.
fn parse_pdq_hasher_line(
    kind: HashKind,
    text: &str,
) -> std::result::Result<(HashValue, Option<u8>, &str), String> {
    if let Some(rest) = text.strip_prefix("hash=") {
        // --details form; the file name is last and may contain commas.
        let (fields, name) = match rest.split_once(",filename=") {
            Some((f, name)) => (f, name),
            None => return Err("no filename= field".into()),
        };
        let mut parts = fields.split(',');
        let hash = parse_hash(kind, parts.next().unwrap_or(""))?;
        let mut quality = None;
        for p in parts {
            if let Some(q) = p.strip_prefix("quality=") {
                quality = parse_quality(q)?;
            }
        }
        return Ok((hash, quality, name));
    }
    let mut parts = text.splitn(3, ',');
    let hash = parse_hash(kind, parts.next().unwrap_or(""))?;
    let quality = match parts.next() {
        Some(q) => parse_quality(q)?,
        None => return Err("expected hash,quality,filename".into()),
    };
    let name = parts.next().ok_or("expected hash,quality,filename")?;
    Ok((hash, quality, name))
}

/// `<type> <hex>[ rest]`, `<ROTATION> <type> <hex>[ rest]` or `<hex>`; `Ok(None)` when the
/// signal type is not the list's.
fn parse_signal_line(
    kind: HashKind,
    text: &str,
) -> std::result::Result<Option<(HashValue, &str)>, String> {
    let t = text.trim();
    let (first, after_first) = split_token(t);
    if after_first.is_empty() {
        return parse_hash(kind, first).map(|h| Some((h, "")));
    }
    let (second, after_second) = split_token(after_first);
    if first.eq_ignore_ascii_case(kind.name()) {
        let h = parse_hash(kind, second)?;
        return Ok(Some((h, after_second)));
    }
    if second.eq_ignore_ascii_case(kind.name())
        && first
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        let (third, rest) = split_token(after_second);
        let h = parse_hash(kind, third)?;
        return Ok(Some((h, rest)));
    }
    if first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !is_hex_hash(first) {
        return Ok(None);
    }
    Err("expected `<signal_type> <hash>`".into())
}

/// Splits off the first whitespace-delimited token; the rest is trimmed.
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_lines() {
        let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let k = HashKind::Pdq;
        assert!(matches!(
            parse_signal_line(k, &format!("pdq {hex}")),
            Ok(Some((_, "")))
        ));
        assert!(matches!(
            parse_signal_line(k, &format!("ROTATE90 pdq {hex}")),
            Ok(Some(_))
        ));
        assert!(matches!(parse_signal_line(k, hex), Ok(Some(_))));
        assert!(matches!(parse_signal_line(k, "video_md5 0123"), Ok(None)));
        let line = format!("pdq {hex} 'collab' note");
        let Ok(Some((_, rest))) = parse_signal_line(k, &line) else {
            panic!()
        };
        assert_eq!(rest, "'collab' note");
        assert!(parse_signal_line(k, "pdq 12").is_err());
    }

    #[test]
    fn pdq_hasher_lines() {
        let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let k = HashKind::Pdq;
        let line = format!("{hex},87,dir/a,b.jpg");
        let (_, q, name) = parse_pdq_hasher_line(k, &line).unwrap();
        assert_eq!((q, name), (Some(87), "dir/a,b.jpg"));
        let details = format!("hash={hex},norm=128,delta=0,quality=100,filename=x.png");
        let (_, q, name) = parse_pdq_hasher_line(k, &details).unwrap();
        assert_eq!((q, name), (Some(100), "x.png"));
        assert!(parse_pdq_hasher_line(k, &format!("{hex},101,x")).is_err());
        assert!(parse_pdq_hasher_line(k, &format!("{hex},50")).is_err());
    }

    #[test]
    fn long_lines_are_bounded() {
        let mut data = vec![b'a'; MAX_LINE_LEN + 10];
        data.extend_from_slice(b"\nok\r\n");
        let mut r = &data[..];
        let mut lines = Lines::new(&mut r);
        assert_eq!(
            lines.next_line().unwrap(),
            Some((1, Err("line longer than 1 MiB")))
        );
        assert_eq!(lines.next_line().unwrap(), Some((2, Ok("ok"))));
        assert_eq!(lines.next_line().unwrap(), None);
    }
}
