//! Hash text files as `match` and `dedup` read them, streamed line by line through the
//! library's bounded [`LineReader`] (the 1 MiB line cap `build` uses): memory stays bounded
//! whatever the input, and an over-long line is a malformed line, not an allocation.

use std::io::BufRead;

use hashsieve::list::import::LineReader;

/// One row of a hash text file, before its hash is parsed.
pub(crate) struct HashLine {
    /// 1-based line number, for messages (never the hash itself).
    pub(crate) line: u64,
    /// The row's id: the TSV `path` (or `id`) column, or the text after a hex line's comma.
    pub(crate) id: Option<String>,
    /// The TSV `algorithm` column, where there is one.
    pub(crate) algorithm: Option<String>,
    /// The hex text (a hex line's `hash=` prefix removed).
    pub(crate) hex: String,
    /// The TSV `quality` column, where present and not empty.
    pub(crate) quality: Option<String>,
    /// The TSV `orientation` column, where present and not empty (unused since `match` reads
    /// through the library's record reader).
    #[allow(dead_code)]
    pub(crate) orientation: Option<String>,
}

/// Counts the malformed lines of one input; the first [`Malformed::LISTED`] are listed one by
/// one, the rest only counted.
#[derive(Default)]
pub(crate) struct Malformed {
    count: u64,
}

impl Malformed {
    /// How many malformed lines of one input are listed.
    pub(crate) const LISTED: u64 = 20;

    /// Counts one malformed line; `true` while it should still be listed.
    pub(crate) fn count_one(&mut self) -> bool {
        self.count += 1;
        self.count <= Self::LISTED
    }

    /// Malformed lines counted so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Malformed lines counted but not listed.
    pub(crate) fn unlisted(&self) -> u64 {
        self.count.saturating_sub(Self::LISTED)
    }
}

/// A line that cannot be read: its number and why (never its content).
pub(crate) struct BadLine {
    pub(crate) line: u64,
    pub(crate) reason: &'static str,
}

/// Reads our `hashsieve hash` TSV (a header row with a `hash` column; optional `path`/`id`,
/// `algorithm`, `quality`, `orientation`) or hex lines (`[hash=]HEX[,ID]`, `#` comments), one
/// row at a time. Blank lines and a byte-order mark are ignored; lines end at LF, CRLF or CR.
pub(crate) struct HashLines<'r> {
    lines: LineReader<'r>,
    columns: Option<Vec<String>>,
    first: bool,
}

impl<'r> HashLines<'r> {
    pub(crate) fn new(input: &'r mut dyn BufRead) -> HashLines<'r> {
        HashLines {
            lines: LineReader::new(input),
            columns: None,
            first: true,
        }
    }

    /// The next row, a line that cannot be read (too long, not UTF-8), or `None` at the end.
    ///
    /// # Errors
    ///
    /// An I/O error reading the input.
    pub(crate) fn next_row(&mut self) -> std::io::Result<Option<Result<HashLine, BadLine>>> {
        loop {
            let Some((n, text)) = self.lines.next_line()? else {
                return Ok(None);
            };
            let line = match text {
                Ok(t) => t,
                Err(reason) => {
                    self.first = false;
                    return Ok(Some(Err(BadLine { line: n, reason })));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            if std::mem::take(&mut self.first)
                && line
                    .split('\t')
                    .any(|c| c.trim().eq_ignore_ascii_case("hash"))
            {
                self.columns = Some(
                    line.split('\t')
                        .map(|c| c.trim().to_ascii_lowercase())
                        .collect(),
                );
                continue;
            }
            let row = match &self.columns {
                Some(cols) => {
                    let cells: Vec<&str> = line.split('\t').collect();
                    let cell = |name: &str| {
                        cols.iter()
                            .position(|c| c == name)
                            .and_then(|i| cells.get(i))
                            .map(|c| c.trim())
                            .filter(|c| !c.is_empty())
                            .map(str::to_string)
                    };
                    HashLine {
                        line: n,
                        id: cell("path").or_else(|| cell("id")),
                        algorithm: cell("algorithm"),
                        hex: cell("hash").unwrap_or_default(),
                        quality: cell("quality"),
                        orientation: cell("orientation"),
                    }
                }
                None => {
                    let body = line.trim();
                    if body.starts_with('#') {
                        continue;
                    }
                    let body = body.strip_prefix("hash=").unwrap_or(body);
                    let (hex, id) = match body.split_once(',') {
                        Some((h, id)) => (h.trim(), Some(id.trim()).filter(|s| !s.is_empty())),
                        None => (body, None),
                    };
                    HashLine {
                        line: n,
                        id: id.map(str::to_string),
                        algorithm: None,
                        hex: hex.to_string(),
                        quality: None,
                        orientation: None,
                    }
                }
            };
            return Ok(Some(Ok(row)));
        }
    }
}
