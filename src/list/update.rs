//! Updates and merges: a new version of a list from an old one plus a delta (the daily
//! additions and removals hash-sharing services send), and one list from several.
//!
//! # Delta format
//!
//! A delta is text in one of two forms, told apart by its first non-blank, non-comment line.
//!
//! Both forms are read with the [record reader](super::records) (the lines form's `<hex>[,<id>]`
//! after the operation is a line of its `hex` format, the CSV form is its `csv` format), so the
//! same rules hold: lines end at LF, CRLF or a lone CR; a quoted CSV field may span lines, and
//! one never closed is reported where it began and at each line it took in; a delta whose
//! every line is malformed fails whatever `max_errors` allows.
//!
//! **Lines**: one operation per line; blank lines and lines starting with `#` are ignored.
//!
//! ```text
//! +<hex>,<id>      add an entry (id = text after the first comma; without it, idx=<n>)
//! +<hex>
//! -<hex>           remove the hash with all its entries (a tombstone)
//! -<hex>,<id>      remove only the entries of that hash with exactly that id
//! ```
//!
//! **CSV**: a header with an `op` column (`+`/`add` or `-`/`remove`), a `hash` column and
//! optionally `id`, `quality`, `categories`, `source` (the columns of the CSV export). For a
//! removal an empty `id` removes the whole hash.
//!
//! Removals apply to the base list only, then additions are appended, so a delta can replace an
//! entry's metadata by removing and adding it. A removal that matches nothing is counted in the
//! [`UpdateReport`], not an error (deltas are often re-applied). Entries copied from the base
//! keep their metadata and are not re-filtered by the builder's quality and degenerate rules
//! (they were vetted when the base was built); additions are.

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, Cursor, Read};

use super::builder::{EntryMeta, ListBuilder};
use super::import::{Lines, Problems};
use super::reader::{Category, Entry, HashList};
use super::records::{
    hex_item, sample, sample_lines, InputFormat, Item, ReadOptions, Record, RecordReader,
};
use crate::error::{Error, ErrorKind, Result};
use crate::hash::{HashKind, HashValue};

/// An entry to add, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Addition {
    hash: HashValue,
    id: String,
    quality: Option<u8>,
    categories: Vec<(String, String)>,
    source: Option<String>,
}

/// A parsed delta: additions and removals for one list.
#[derive(Clone, Debug, Default)]
pub struct Delta {
    additions: Vec<Addition>,
    remove_hashes: HashSet<HashValue>,
    remove_entries: HashSet<(HashValue, String)>,
    malformed: u64,
    messages: Vec<String>,
}

impl Delta {
    /// Parses a delta for a list of `kind`.
    ///
    /// `source` names the input in messages. Up to `max_errors` malformed lines are skipped
    /// (see [`Delta::messages`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Parse`] with the first line and reason (never the hash text) when more than
    /// `max_errors` lines are malformed or every line is, [`ErrorKind::InputFormat`] when a CSV delta lacks the `op`
    /// or `hash` column, [`ErrorKind::Io`] when reading fails.
    ///
    /// ```
    /// use hashsieve::list::update::Delta;
    /// use hashsieve::HashKind;
    /// let text = "# 2024-06-02\n+00000000000000ab,new-1\n-00000000000000cd\n";
    /// let delta = Delta::parse(text.as_bytes(), "delta.txt", HashKind::PHash, 0)?;
    /// assert_eq!((delta.additions(), delta.removals()), (1, 1));
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn parse(
        mut input: impl BufRead,
        source: &str,
        kind: HashKind,
        max_errors: u64,
    ) -> Result<Delta> {
        let input: &mut dyn BufRead = &mut input;
        // The first meaningful line picks the form: read as the record reader's detection
        // reads its sample.
        let prefix = sample(input, source)?;
        let csv_form = sample_lines(&prefix, false)
            .first()
            .is_some_and(|t| !(t.starts_with('+') || t.starts_with('-')));
        let mut chained = Cursor::new(prefix).chain(input);
        let mut problems = Problems::new(source, max_errors);
        let mut delta = Delta::default();
        if csv_form {
            delta.parse_csv(&mut chained, source, kind, &mut problems)?;
        } else {
            delta.parse_lines(&mut chained, kind, &mut problems)?;
        }
        delta.malformed = problems.count;
        if delta.malformed > 0 && delta.additions() + delta.removals() == 0 {
            return Err(problems.all_malformed());
        }
        delta.messages = problems.messages;
        Ok(delta)
    }

    fn parse_lines(
        &mut self,
        input: &mut dyn BufRead,
        kind: HashKind,
        problems: &mut Problems<'_>,
    ) -> Result<()> {
        let options = ReadOptions::new().kinds([kind]);
        let mut lines = Lines::new(input);
        while let Some((n, text)) = lines.next_line().map_err(|e| problems.io(e))? {
            let text = match text {
                Ok(t) if t.trim().is_empty() || t.trim_start().starts_with('#') => continue,
                Ok(t) => t,
                Err(reason) => {
                    problems.report(n, reason)?;
                    continue;
                }
            };
            let (add, rest) = match text.as_bytes().first() {
                Some(b'+') => (true, &text[1..]),
                Some(b'-') => (false, &text[1..]),
                _ => {
                    problems.report(n, "expected a line starting with + or -")?;
                    continue;
                }
            };
            // The rest of the line is a line of the hex format: `<hex>[,<id>]`.
            let r = match hex_item(&options, n, rest) {
                Item::Record(r) => r,
                Item::Malformed { reason, .. } => {
                    problems.report(n, reason)?;
                    continue;
                }
                _ => continue,
            };
            if add {
                self.add(r);
            } else {
                self.remove(r.hash, r.id.as_deref());
            }
        }
        Ok(())
    }

    fn add(&mut self, r: Record) {
        let categories = r
            .entry_categories()
            .iter()
            .map(|c| (c.scheme.to_owned(), c.code.to_owned()))
            .collect();
        let id =
            r.id.unwrap_or_else(|| format!("idx={}", self.additions.len() + 1));
        self.additions.push(Addition {
            hash: r.hash,
            id,
            quality: r.quality,
            categories,
            source: r.source,
        });
    }

    fn remove(&mut self, hash: HashValue, id: Option<&str>) {
        match id {
            Some(id) => {
                self.remove_entries.insert((hash, id.to_owned()));
            }
            None => {
                self.remove_hashes.insert(hash);
            }
        }
    }

    fn parse_csv(
        &mut self,
        input: &mut dyn BufRead,
        source: &str,
        kind: HashKind,
        problems: &mut Problems<'_>,
    ) -> Result<()> {
        let options = ReadOptions::new().format(InputFormat::Csv).kinds([kind]);
        let mut reader = RecordReader::new(input, source, &options)?;
        if !reader.has_column("op") {
            return Err(Error::new(ErrorKind::InputFormat(format!(
                "{source}: a CSV delta needs a column \"op\" (lines must start with + or -)"
            ))));
        }
        while let Some(item) = reader.next_item()? {
            let r = match item {
                Item::Record(r) => r,
                Item::Malformed { line, reason } => {
                    problems.report(line, reason)?;
                    continue;
                }
                Item::Skipped { line, reason } => {
                    problems.report(line, reason)?;
                    continue;
                }
            };
            let op = reader
                .column("op")
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            match op.as_str() {
                "+" | "add" => self.add(r),
                "-" | "remove" | "del" | "delete" => {
                    self.remove(r.hash, r.id.as_deref().filter(|i| !i.is_empty()))
                }
                _ => problems.report(r.line, "op must be + / add or - / remove")?,
            }
        }
        Ok(())
    }

    /// The number of entries to add.
    pub fn additions(&self) -> usize {
        self.additions.len()
    }

    /// The number of removal operations (whole hashes plus single entries).
    pub fn removals(&self) -> usize {
        self.remove_hashes.len() + self.remove_entries.len()
    }

    /// Malformed lines skipped (at most `max_errors`).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// `source:line: reason` for the first malformed lines.
    pub fn messages(&self) -> &[String] {
        &self.messages
    }
}

/// What [`update`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpdateReport {
    /// Entries copied from the base list.
    pub kept: u64,
    /// Base entries removed.
    pub removed: u64,
    /// Removal operations that matched nothing in the base.
    pub removals_not_found: u64,
    /// Additions the builder kept.
    pub added: u64,
    /// Additions the builder rejected (degenerate, low quality).
    pub rejected: u64,
}

impl fmt::Display for UpdateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries kept, {} removed ({} removals matched nothing), {} added, {} additions rejected",
            self.kept, self.removed, self.removals_not_found, self.added, self.rejected
        )
    }
}

fn check_kind(builder: &ListBuilder, kind: HashKind) -> Result<()> {
    if builder.kind() != kind {
        return Err(Error::new(ErrorKind::Mismatch(format!(
            "cannot combine a {kind} list into a {} list",
            builder.kind()
        ))));
    }
    Ok(())
}

fn copy_entry(
    builder: &mut ListBuilder,
    hash: HashValue,
    e: &Entry<'_>,
    source: Option<&str>,
) -> Result<()> {
    let categories: Vec<Category<'_>> = e.categories().collect();
    let meta = EntryMeta {
        id: e.id(),
        quality: e.quality(),
        categories,
        source: e.source().or(source),
        metadata: e.metadata(),
    };
    builder.add_trusted(hash, meta)
}

/// Applies `delta` to `base`, adding the result to `builder` (which must be for the same
/// algorithm; its name, version and creation time are the caller's to set).
///
/// The new list keeps the base's search index: when the base has an
/// [`INDEX_SECTION`](super::INDEX_SECTION) and the builder was given no
/// [`index`](ListBuilder::index) options, the builder is set to write an index of the same
/// kind ([`HashList::index_kind`]), rebuilt over the new hashes and tuned for the algorithm's
/// default threshold. Set the builder's `index` first to choose another kind or threshold
/// ([`IndexKind::Linear`](crate::index::IndexKind::Linear) drops the index).
///
/// # Errors
///
/// [`ErrorKind::Mismatch`] when the builder's algorithm is not the base list's.
///
/// ```
/// use hashsieve::list::{update::{update, Delta}, EntryMeta, HashList, ListBuilder};
/// use hashsieve::{Hash64, HashKind};
/// let mut b = ListBuilder::new(HashKind::PHash).name("daily").version("1");
/// b.add(Hash64::from_u64(0xab), EntryMeta::new("old"))?;
/// b.add(Hash64::from_u64(0xcd), EntryMeta::new("gone"))?;
/// let base = HashList::from_bytes(b.to_vec()?)?;
/// let delta = Delta::parse(&b"-00000000000000cd\n+00000000000000ef,new\n"[..], "d", HashKind::PHash, 0)?;
/// let mut next = ListBuilder::new(HashKind::PHash).name(base.name()).version("2");
/// let report = update(&base, &delta, &mut next)?;
/// assert_eq!((report.kept, report.removed, report.added), (1, 1, 1));
/// let list = HashList::from_bytes(next.to_vec()?)?;
/// assert_eq!(list.len(), 2);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn update<D: AsRef<[u8]>>(
    base: &HashList<D>,
    delta: &Delta,
    builder: &mut ListBuilder,
) -> Result<UpdateReport> {
    check_kind(builder, base.kind())?;
    if let Some(kind) = base.index_kind() {
        builder.inherit_index(kind);
    }
    let mut report = UpdateReport::default();
    let mut hit_hashes: HashSet<HashValue> = HashSet::new();
    let mut hit_entries: HashSet<(HashValue, &str)> = HashSet::new();
    let entry_hashes: HashSet<HashValue> = delta.remove_entries.iter().map(|(h, _)| *h).collect();
    for (hash, entries) in base.iter() {
        if delta.remove_hashes.contains(&hash) {
            hit_hashes.insert(hash);
            report.removed += entries.len() as u64;
            continue;
        }
        let check_ids = entry_hashes.contains(&hash);
        for e in entries {
            if check_ids {
                let key = (hash, e.id().to_owned());
                if let Some((_, id)) = delta.remove_entries.get(&key) {
                    hit_entries.insert((hash, id.as_str()));
                    report.removed += 1;
                    continue;
                }
            }
            copy_entry(builder, hash, &e, None)?;
            report.kept += 1;
        }
    }
    report.removals_not_found = (delta.remove_hashes.len() - hit_hashes.len()
        + delta.remove_entries.len()
        - hit_entries.len()) as u64;
    for a in &delta.additions {
        let meta = EntryMeta {
            id: &a.id,
            quality: a.quality,
            categories: a
                .categories
                .iter()
                .map(|(s, c)| Category::new(s, c))
                .collect(),
            source: a.source.as_deref(),
            metadata: None,
        };
        if builder.add(a.hash, meta)? {
            report.added += 1;
        } else {
            report.rejected += 1;
        }
    }
    Ok(report)
}

/// Adds every entry of `list` to `builder`, recording `source` as the source of entries that
/// have none (entries from an earlier merge keep theirs). Returns the number of entries added.
///
/// Merging lists is calling this once per list, then writing the builder. Like [`update`],
/// the merged list keeps a search index: the first list with an
/// [`INDEX_SECTION`](super::INDEX_SECTION) sets the builder to write one of the same kind,
/// unless the builder was given [`index`](ListBuilder::index) options.
///
/// # Errors
///
/// [`ErrorKind::Mismatch`] when the builder's algorithm is not the list's.
///
/// ```
/// use hashsieve::list::{update::merge_into, EntryMeta, HashList, ListBuilder};
/// use hashsieve::{Hash64, HashKind};
/// let one = |id: &str| -> hashsieve::Result<HashList<Vec<u8>>> {
///     let mut b = ListBuilder::new(HashKind::PHash);
///     b.add(Hash64::from_u64(0xab), EntryMeta::new(id))?;
///     HashList::from_bytes(b.to_vec()?)
/// };
/// let (a, b) = (one("a")?, one("b")?);
/// let mut merged = ListBuilder::new(HashKind::PHash).name("merged");
/// merge_into(&mut merged, &a, "list-a")?;
/// merge_into(&mut merged, &b, "list-b")?;
/// let list = HashList::from_bytes(merged.to_vec()?)?;
/// let sources: Vec<_> = list.entries_of(0).map(|e| e.source().unwrap()).collect();
/// assert_eq!(sources, ["list-a", "list-b"]);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn merge_into<D: AsRef<[u8]>>(
    builder: &mut ListBuilder,
    list: &HashList<D>,
    source: &str,
) -> Result<u64> {
    check_kind(builder, list.kind())?;
    if let Some(kind) = list.index_kind() {
        builder.inherit_index(kind);
    }
    let mut n = 0;
    for (hash, entries) in list.iter() {
        for e in entries {
            copy_entry(builder, hash, &e, Some(source))?;
            n += 1;
        }
    }
    Ok(n)
}
