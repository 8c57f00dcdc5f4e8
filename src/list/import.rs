//! Importers: any hash-text format, streamed into a [`ListBuilder`].
//!
//! [`import`] reads its input with the [record reader](super::records), which documents every
//! format ([`InputFormat`]) and how it is detected, and adds each record of the builder's
//! algorithm: the id is the record's (a file name, a path, an id column), or `idx=<n>` when it
//! has none (`n` counts entries offered to the builder from 1, as the PDQ reference does); the
//! quality, categories and source are kept, and an orientation (dihedral output of the PDQ
//! tools, pytx rotations, our `orientation` column) is kept as the category
//! `orientation:<name>` (`orientation:rot90`). Rows of other algorithms and signal types, and
//! rows without a hash, are counted as skipped.
//!
//! Every malformed line is reported as `source:line: reason`; the reason never contains the
//! hash text (hash lists are sensitive). Up to [`ImportOptions::max_errors`] malformed lines are
//! skipped and listed in the [`ImportReport`]; one more and the import fails with
//! [`ErrorKind::Parse`]. A CSV record whose quote is never closed is reported at the line where
//! it began and at each line it took in, each counting as a malformed record. An input whose
//! every record is malformed fails whatever `max_errors` allows. On failure the builder holds
//! whatever was added before it: discard it, so nothing partial is ever written.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use super::builder::{EntryMeta, ListBuilder};
use super::records::{
    read_raw_line, Item, ReadOptions, Record, RecordReader, SkipReason, NOT_UTF8, TOO_LONG,
};
use crate::error::{Error, ErrorKind, Result};

pub use super::records::InputFormat;

/// Lines longer than this are malformed (and are not held in memory).
pub const MAX_LINE_LEN: usize = 1 << 20;

/// How many messages an [`ImportReport`] keeps.
pub const MAX_MESSAGES: usize = 100;

/// The scheme given to a category written without one.
pub const DEFAULT_CATEGORY_SCHEME: &str = "tag";

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

    setters! {
        -> ImportOptions;
        /// Sets the format.
        format(format: InputFormat) => format = Some(format);

        /// Sets how many malformed lines are skipped before the import fails.
        max_errors(max: u64);
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// The format read (detected or given); `None` for an input with no non-blank line.
    pub format: Option<InputFormat>,
    /// Items read: records (a `--pdqdih-across` line gives 8), skipped rows and malformed lines
    /// (blank lines, comments and header rows excluded).
    pub records: u64,
    /// Entries the builder kept.
    pub added: u64,
    /// Entries the builder rejected (degenerate hash, quality under the floor).
    pub rejected: u64,
    /// Records skipped on purpose: another signal type or algorithm, or no hash.
    pub skipped: u64,
    /// The skipped records by reason, in the order the reasons first occurred.
    pub skipped_by: Vec<(SkipReason, u64)>,
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
        )?;
        if !self.skipped_by.is_empty() {
            let parts: Vec<String> = self
                .skipped_by
                .iter()
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
            write!(f, " (skipped: {})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Counts malformed records and turns one too many into an error.
pub(crate) struct Problems<'s> {
    source: &'s str,
    max_errors: u64,
    pub(crate) count: u64,
    pub(crate) messages: Vec<String>,
    /// The first malformed record's line and reason.
    pub(crate) first: Option<(u64, String)>,
}

impl<'s> Problems<'s> {
    pub(crate) fn new(source: &'s str, max_errors: u64) -> Problems<'s> {
        Problems {
            source,
            max_errors,
            count: 0,
            messages: Vec::new(),
            first: None,
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
        if self.first.is_none() {
            self.first = Some((line, reason.to_string()));
        }
        if self.messages.len() < MAX_MESSAGES {
            self.messages
                .push(format!("{}:{line}: {reason}", self.source));
        }
        if self.count > self.max_errors {
            let (line, reason) = self.first.clone().unwrap_or_default();
            return Err(Error::parse(self.count, line, None, reason).with_path(self.source));
        }
        Ok(())
    }

    pub(crate) fn io(&self, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(err)).with_path(self.source)
    }

    /// The error for an input whose every record is malformed, whatever `max_errors` allows:
    /// such an input is the wrong format or the wrong file, never a list with a few bad lines.
    pub(crate) fn all_malformed(&self) -> Error {
        let (line, reason) = self
            .first
            .as_ref()
            .map_or((0, ""), |(l, r)| (*l, r.as_str()));
        Error::parse(
            self.count,
            line,
            None,
            format!("{reason} (every record of the input is malformed; check its format)"),
        )
        .with_path(self.source)
    }
}

/// The builder's counts when an import begins, to tell what the import added and rejected.
pub(crate) struct ImportStart {
    entries: u64,
    offered: u64,
}

impl ImportStart {
    pub(crate) fn of(builder: &ListBuilder) -> ImportStart {
        ImportStart {
            entries: builder.entry_count() as u64,
            offered: builder.report().offered,
        }
    }
}

impl ImportReport {
    /// Counts a record skipped for `reason`.
    pub(crate) fn skip(&mut self, reason: SkipReason) {
        self.skipped += 1;
        match self.skipped_by.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.skipped_by.push((reason, 1)),
        }
    }

    /// Completes the report of an import into `builder` that began at `start`: what the
    /// builder added and rejected since, and the malformed records of `problems`.
    ///
    /// # Errors
    ///
    /// [`Problems::all_malformed`] when the input had malformed records and nothing else.
    pub(crate) fn finish(
        mut self,
        start: ImportStart,
        builder: &ListBuilder,
        problems: Problems<'_>,
    ) -> Result<ImportReport> {
        self.added = builder.entry_count() as u64 - start.entries;
        self.rejected = builder.report().offered - start.offered - self.added;
        self.malformed = problems.count;
        if self.malformed > 0 && self.added + self.rejected + self.skipped == 0 {
            return Err(problems.all_malformed());
        }
        self.messages = problems.messages;
        Ok(self)
    }
}

/// A line reader that bounds line length, tracks line numbers and checks UTF-8, for callers
/// that read text line by line (the update delta's `+`/`-` lines). It reads through the same
/// bounded line splitter as [`RecordReader`].
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
        let Some(too_long) = read_raw_line(&mut *self.r, &mut self.buf, &mut self.skip_lf)? else {
            return Ok(None);
        };
        self.line += 1;
        if too_long {
            return Ok(Some((self.line, Err(TOO_LONG))));
        }
        let mut text = match std::str::from_utf8(&self.buf) {
            Ok(t) => t,
            Err(_) => return Ok(Some((self.line, Err(NOT_UTF8)))),
        };
        if self.line == 1 {
            text = text.trim_start_matches('\u{feff}');
        }
        Ok(Some((self.line, Ok(text))))
    }
}

/// Streams one input into `builder`.
///
/// `source` names the input in messages (a path, or `<stdin>`). Only records of the builder's
/// algorithm are added; see the [module documentation](self).
///
/// # Errors
///
/// [`ErrorKind::Parse`] with the count and the first line and reason (the source is the path) when there are more
/// than `max_errors` malformed records, or when every record is malformed;
/// [`ErrorKind::InputFormat`] when the format cannot be detected, when two formats fit, or when a
/// required column is missing; [`ErrorKind::Io`] when reading fails. The builder then holds a
/// partial list: discard it.
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
    input: impl BufRead,
    source: &str,
    options: &ImportOptions,
    builder: &mut ListBuilder,
) -> Result<ImportReport> {
    let read = ReadOptions {
        format: options.format,
        kinds: vec![builder.kind()],
        hash_col: options.hash_col.clone(),
        id_col: options.id_col.clone(),
        category_col: options.category_col.clone(),
    };
    let mut reader = RecordReader::new(input, source, &read)?;
    let mut problems = Problems::new(source, options.max_errors);
    let mut report = ImportReport {
        format: reader.format(),
        ..ImportReport::default()
    };
    let start = ImportStart::of(builder);
    while let Some(item) = reader.next_item()? {
        report.records += 1;
        match item {
            Item::Record(r) => {
                if let Err(e) = add_record(builder, &r) {
                    problems.report(r.line, e.kind())?;
                }
            }
            Item::Skipped { reason, .. } => {
                report.skip(reason);
            }
            Item::Malformed { line, reason } => problems.report(line, reason)?,
        }
    }
    report.finish(start, builder, problems)
}

/// A record's entry id: its own, else `idx=<n>` where it is the `n`th record offered to
/// `builder`.
pub(crate) fn id_or_index<'a>(id: Option<&'a str>, builder: &ListBuilder) -> Cow<'a, str> {
    match id {
        Some(id) => Cow::Borrowed(id),
        None => Cow::Owned(format!("idx={}", builder.offered() + 1)),
    }
}

/// Adds a record to `builder`: id `idx=<n>` when it has none, the orientation as the category
/// `orientation:<name>`. `Ok(false)` when the builder rejects it (quality, degenerate).
pub(crate) fn add_record(builder: &mut ListBuilder, r: &Record) -> Result<bool> {
    let id = id_or_index(r.id.as_deref(), builder);
    let meta = EntryMeta {
        id: &id,
        quality: r.quality,
        categories: r.entry_categories(),
        source: r.source.as_deref(),
        metadata: None,
    };
    builder.add(r.hash, meta)
}

pub use super::import_media::import_media;

#[cfg(test)]
mod tests {
    use super::*;

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
