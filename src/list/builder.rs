//! The writer: [`ListBuilder`] collects entries compactly, then sorts, groups and writes them in
//! one streaming pass (plus a checksum pass over the same generators), atomically when writing to
//! a path.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::slice::ParallelSliceMut;

use super::raw::{self, Header, ListRole, SectionEntry};
use super::reader::Category;
use super::INDEX_SECTION;
use crate::error::{Error, ErrorKind, Result};
use crate::hash::{Digest, Hash256, Hash64, HashKind, HashValue};
use crate::index::{HashBits, Index, IndexKind, IndexOptions, SearchIndex};

/// The default PDQ quality floor: entries with a recorded quality below it are rejected.
///
/// The PDQ reference documentation advises against matching hashes of quality under 50
/// (flat or nearly blank images give unstable hashes).
pub const DEFAULT_MIN_QUALITY_PDQ: u8 = 50;

/// What to store with a hash: the entry's id and optional metadata.
///
/// ```
/// use hashsieve::list::{Category, EntryMeta};
/// let meta = EntryMeta::new("ncmec-123456")
///     .quality(92)
///     .category(Category::new("vics-us", "1"))
///     .source("partner-list");
/// assert_eq!(meta.id, "ncmec-123456");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryMeta<'a> {
    /// The id: an NCMEC id, an MD5, a file name... (any UTF-8, may be empty).
    pub id: &'a str,
    /// The PDQ quality, 0..=100.
    pub quality: Option<u8>,
    /// Category labels; order and duplicates do not matter (they are stored as a sorted set).
    pub categories: Vec<Category<'a>>,
    /// The list this entry came from (set by merges). An empty name means none.
    pub source: Option<&'a str>,
    /// Opaque metadata kept with the entry (the `EMET` section): one compact JSON object, such
    /// as the flags and fields of a VICS record. `None` or empty means none. Stored as given
    /// (valid JSON is the writer's promise; readers that parse it must treat it as untrusted).
    pub metadata: Option<&'a str>,
}

impl<'a> EntryMeta<'a> {
    /// An entry with this id and no metadata.
    pub fn new(id: &'a str) -> EntryMeta<'a> {
        EntryMeta {
            id,
            ..EntryMeta::default()
        }
    }

    /// Sets the PDQ quality (0..=100).
    pub fn quality(mut self, quality: u8) -> EntryMeta<'a> {
        self.quality = Some(quality);
        self
    }

    /// Adds a category.
    pub fn category(mut self, category: Category<'a>) -> EntryMeta<'a> {
        self.categories.push(category);
        self
    }

    /// Sets the source list name.
    pub fn source(mut self, source: &'a str) -> EntryMeta<'a> {
        self.source = Some(source);
        self
    }

    /// Sets the opaque metadata (one compact JSON object; see [`EntryMeta::metadata`]).
    pub fn metadata(mut self, json: &'a str) -> EntryMeta<'a> {
        self.metadata = Some(json);
        self
    }
}

/// What a build did: counts of entries kept and rejected, and the size of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildReport {
    /// Entries offered to [`ListBuilder::add`] (accepted or rejected).
    pub offered: u64,
    /// Entries written.
    pub entries: u64,
    /// Unique hashes written.
    pub hashes: u64,
    /// Entries rejected because their hash is all zeros or all ones.
    pub rejected_degenerate: u64,
    /// Entries rejected because their quality is under the floor.
    pub rejected_low_quality: u64,
    /// The quality floor that was applied (0: none).
    pub min_quality: u8,
    /// Size of the written file in bytes (0 before writing).
    pub bytes: u64,
    /// The kind of the search index written in the [`INDEX_SECTION`] (`None`: no section,
    /// because none was asked for or [`IndexKind::Auto`] chose a linear scan).
    pub index: Option<IndexKind>,
}

impl fmt::Display for BuildReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries offered, {} written under {} unique hashes; rejected: {} degenerate \
             (all zeros / all ones), {} with quality under {}; {} bytes",
            self.offered,
            self.entries,
            self.hashes,
            self.rejected_degenerate,
            self.rejected_low_quality,
            self.min_quality,
            self.bytes
        )?;
        if let Some(kind) = self.index {
            write!(f, "; {kind} index embedded")?;
        }
        Ok(())
    }
}

/// Pending hashes with their entry numbers. 256-bit keys are stored most significant limb
/// first so that the derived tuple order is the list's order. Exact digests are stored as
/// big-endian limbs of the digest bytes zero-padded to 32 (so tuple order = byte order), with
/// the digest length in bytes.
#[derive(Clone, Debug)]
enum Keys {
    B64(Vec<(u64, u64)>),
    B256(Vec<([u64; 4], u64)>),
    Exact(Vec<([u64; 4], u64)>, usize),
}

/// The big-endian limbs of a digest's bytes, zero-padded to 32 bytes.
fn digest_limbs(d: &Digest) -> [u64; 4] {
    let mut buf = [0u8; 32];
    buf[..d.as_bytes().len()].copy_from_slice(d.as_bytes());
    std::array::from_fn(|i| u64::from_be_bytes(buf[8 * i..8 * i + 8].try_into().unwrap_or([0; 8])))
}

impl Keys {
    fn len(&self) -> usize {
        match self {
            Keys::B64(v) => v.len(),
            Keys::B256(v) | Keys::Exact(v, _) => v.len(),
        }
    }

    /// The original entry number of sorted position `i`.
    #[inline]
    fn entry(&self, i: usize) -> usize {
        match self {
            Keys::B64(v) => v[i].1 as usize,
            Keys::B256(v) | Keys::Exact(v, _) => v[i].1 as usize,
        }
    }

    /// Whether sorted position `i` starts a new hash.
    #[inline]
    fn starts_hash(&self, i: usize) -> bool {
        i == 0
            || match self {
                Keys::B64(v) => v[i].0 != v[i - 1].0,
                Keys::B256(v) | Keys::Exact(v, _) => v[i].0 != v[i - 1].0,
            }
    }
}

/// An extra section added with [`ListBuilder::add_section`].
#[derive(Clone, Debug)]
struct Extra {
    tag: [u8; 4],
    flags: u32,
    bytes: Vec<u8>,
}

/// Builds a hash-list file from entries added one at a time.
///
/// Memory stays near the size of the output: per entry the hash, an entry number, the id bytes
/// in one arena and (only when used) a quality byte, a category-set number and a source number.
/// Identical hashes are grouped into one hash with all their entries, in the order they were
/// added. Categories and sources are interned.
///
/// By default entries whose hash is degenerate (all zeros or all ones: the hash of a blank
/// image) are rejected, and so are PDQ entries whose recorded quality is under
/// [`DEFAULT_MIN_QUALITY_PDQ`]; both are counted in the [`BuildReport`].
///
/// ```
/// use hashsieve::{HashKind, Hash64, ListBuilder, list::EntryMeta};
/// let mut b = ListBuilder::new(HashKind::PHash).name("demo").version("2024-06-01").created(0);
/// b.add(Hash64::from_u64(7), EntryMeta::new("a"))?;
/// b.add(Hash64::from_u64(0), EntryMeta::new("blank"))?; // degenerate: rejected
/// let (bytes, report) = b.to_vec_with_report()?;
/// assert_eq!((report.entries, report.rejected_degenerate), (1, 1));
/// assert_eq!(hashsieve::HashList::from_bytes(bytes)?.version(), "2024-06-01");
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ListBuilder {
    kind: HashKind,
    role: ListRole,
    name: String,
    version: String,
    created: Option<u64>,
    min_quality: u8,
    allow_degenerate: bool,
    keys: Keys,
    id_bytes: Vec<u8>,
    id_ends: Vec<u64>,
    quality: Option<Vec<u8>>,
    cat_sets: Option<Vec<u32>>,
    cat_index: HashMap<Box<str>, HashMap<Box<str>, u32>>,
    cat_names: Vec<(Box<str>, Box<str>)>,
    set_index: HashMap<Box<[u32]>, u32>,
    sets: Vec<Box<[u32]>>,
    sources: Option<Vec<u32>>,
    source_index: HashMap<Box<str>, u32>,
    source_names: Vec<Box<str>>,
    meta_bytes: Vec<u8>,
    meta_ends: Option<Vec<u64>>,
    extra: Vec<Extra>,
    index: Option<IndexOptions>,
    scratch: Vec<u32>,
    report: BuildReport,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument(msg.into()))
}

impl ListBuilder {
    /// A builder for a list of `kind` hashes.
    pub fn new(kind: HashKind) -> ListBuilder {
        let min_quality = if kind == HashKind::Pdq {
            DEFAULT_MIN_QUALITY_PDQ
        } else {
            0
        };
        ListBuilder {
            kind,
            role: ListRole::Block,
            name: String::new(),
            version: String::new(),
            created: None,
            min_quality,
            allow_degenerate: false,
            keys: if kind.is_exact() {
                Keys::Exact(Vec::new(), kind.width() as usize / 8)
            } else if kind.width() == 64 {
                Keys::B64(Vec::new())
            } else {
                Keys::B256(Vec::new())
            },
            id_bytes: Vec::new(),
            id_ends: Vec::new(),
            quality: None,
            cat_sets: None,
            cat_index: HashMap::new(),
            cat_names: Vec::new(),
            set_index: HashMap::new(),
            sets: Vec::new(),
            sources: None,
            source_index: HashMap::new(),
            source_names: Vec::new(),
            meta_bytes: Vec::new(),
            meta_ends: None,
            extra: Vec::new(),
            index: None,
            scratch: Vec::new(),
            report: BuildReport {
                min_quality,
                ..BuildReport::default()
            },
        }
    }

    /// Sets the list's name (at most 4096 bytes; checked when writing).
    pub fn name(mut self, name: impl Into<String>) -> ListBuilder {
        self.name = name.into();
        self
    }

    /// Sets the list's version string (at most 1024 bytes; checked when writing).
    pub fn version(mut self, version: impl Into<String>) -> ListBuilder {
        self.version = version.into();
        self
    }

    /// Fixes the creation time (seconds since the Unix epoch) instead of the time of writing,
    /// for reproducible files.
    pub fn created(mut self, secs: u64) -> ListBuilder {
        self.created = Some(secs);
        self
    }

    /// Sets the quality floor: entries whose recorded quality is below it are rejected (entries
    /// without a quality are kept). 0 turns the check off. Defaults to
    /// [`DEFAULT_MIN_QUALITY_PDQ`] for PDQ and 0 otherwise. Applies to later [`add`]s.
    ///
    /// [`add`]: ListBuilder::add
    pub fn min_quality(mut self, min: u8) -> ListBuilder {
        self.min_quality = min;
        self.report.min_quality = min;
        self
    }

    /// Keeps degenerate hashes (all zeros, all ones) instead of rejecting them.
    pub fn allow_degenerate(mut self, allow: bool) -> ListBuilder {
        self.allow_degenerate = allow;
        self
    }

    /// Embeds a search index in the list: at write time, after the entries are sorted and
    /// grouped, the index `options` ask for is built over the final hashes and written as the
    /// [`INDEX_SECTION`] (see the [format specification](super#the-search-index-section-indx)),
    /// so that matching loads it instead of building one. [`IndexKind::Auto`] picks the kind
    /// from the list size and [`options.threshold`](IndexOptions::threshold); when that (or
    /// [`IndexKind::Linear`]) means a linear scan, no section is written.
    /// [`BuildReport::index`] says what was embedded.
    ///
    /// Memory: the hashes once more (32 or 8 bytes each) and the index itself while writing,
    /// never a second copy of the list. [`update`](super::update::update) and
    /// [`merge_into`](super::update::merge_into) set this from their input lists when it was
    /// not set.
    ///
    /// ```
    /// use hashsieve::index::{IndexKind, IndexOptions};
    /// use hashsieve::list::{EntryMeta, HashList, ListBuilder};
    /// use hashsieve::{Hash64, HashKind};
    /// let mut b = ListBuilder::new(HashKind::PHash).index(IndexOptions::new(IndexKind::BkTree));
    /// for i in 1..100u64 {
    ///     b.add(Hash64::from_u64(i * 0x9e37_79b9), EntryMeta::new("x"))?;
    /// }
    /// let (bytes, report) = b.to_vec_with_report()?;
    /// assert_eq!(report.index, Some(IndexKind::BkTree));
    /// assert_eq!(HashList::from_bytes(bytes)?.index_kind(), Some(IndexKind::BkTree));
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn index(mut self, options: IndexOptions) -> ListBuilder {
        self.index = Some(options);
        self
    }

    /// Sets the index options unless some were set (for update and merge).
    /// Marks the list as a block list (the default) or an allow-list; recorded in the header
    /// (format version 2, which older builds refuse rather than misread).
    pub fn role(mut self, role: ListRole) -> ListBuilder {
        self.role = role;
        self
    }

    pub(crate) fn inherit_index(&mut self, kind: IndexKind) {
        if self.index.is_none() {
            self.index = Some(IndexOptions::new(kind).threshold(self.kind.default_threshold()));
        }
    }

    /// The hash algorithm of the list being built.
    pub fn kind(&self) -> HashKind {
        self.kind
    }

    /// The number of entries accepted so far.
    pub fn entry_count(&self) -> usize {
        self.id_ends.len()
    }

    /// The number of entries offered so far, accepted or rejected.
    pub fn offered(&self) -> u64 {
        self.report.offered
    }

    /// The counts so far (`bytes` is 0 until written).
    pub fn report(&self) -> &BuildReport {
        &self.report
    }

    /// Adds an entry for `hash`.
    ///
    /// Returns `Ok(true)` when the entry was kept, `Ok(false)` when it was rejected by the
    /// degenerate-hash or quality rules (counted in the report).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] when the hash's width is not the list's,
    /// [`ErrorKind::InvalidArgument`] for a quality over 100 or a malformed category (empty,
    /// whitespace, `:` in the scheme).
    pub fn add(&mut self, hash: impl Into<HashValue>, meta: EntryMeta<'_>) -> Result<bool> {
        self.add_inner(hash.into(), meta, true)
    }

    /// Adds an entry copied from an existing list: validated, but not re-filtered by the
    /// degenerate-hash and quality rules (the list was vetted when it was built).
    pub(crate) fn add_trusted(&mut self, hash: HashValue, meta: EntryMeta<'_>) -> Result<()> {
        self.add_inner(hash, meta, false).map(|_| ())
    }

    fn add_inner(
        &mut self,
        hash: HashValue,
        meta: EntryMeta<'_>,
        apply_rules: bool,
    ) -> Result<bool> {
        if hash.width() != self.kind.width() || hash.is_exact() != self.kind.is_exact() {
            return Err(Error::new(ErrorKind::Mismatch(format!(
                "a {}-bit hash cannot go into a {} list ({}-bit)",
                hash.width(),
                self.kind,
                self.kind.width()
            ))));
        }
        if let HashValue::Exact(d) = hash {
            if d.kind() != self.kind {
                return Err(Error::new(ErrorKind::Mismatch(format!(
                    "a {} digest cannot go into a {} list",
                    d.kind(),
                    self.kind
                ))));
            }
        }
        if let Some(q) = meta.quality {
            if q > 100 {
                return Err(invalid(format!("quality {q} is out of range 0..=100")));
            }
        }
        if let Some(c) = meta.categories.iter().find(|c| !c.is_valid()) {
            return Err(invalid(format!(
                "malformed category {:?}:{:?}: scheme and code must be non-empty without \
                 whitespace, and the scheme without ':'",
                c.scheme.chars().take(64).collect::<String>(),
                c.code.chars().take(64).collect::<String>()
            )));
        }
        self.report.offered += 1;
        if apply_rules && !self.allow_degenerate && hash.is_degenerate() {
            self.report.rejected_degenerate += 1;
            return Ok(false);
        }
        if apply_rules && meta.quality.is_some_and(|q| q < self.min_quality) {
            self.report.rejected_low_quality += 1;
            return Ok(false);
        }

        let n = self.id_ends.len();
        // Intern categories before pushing anything, so a capacity error leaves no trace.
        let set = if meta.categories.is_empty() {
            None
        } else {
            Some(self.intern_set(&meta.categories)?)
        };
        let source = match meta.source {
            Some(s) if !s.is_empty() => Some(self.intern_source(s)?),
            _ => None,
        };

        match (&mut self.keys, hash) {
            (Keys::B64(v), HashValue::Bits64(h)) => v.push((h.to_u64(), n as u64)),
            (Keys::B256(v), HashValue::Bits256(h)) => {
                let l = h.limbs();
                v.push(([l[3], l[2], l[1], l[0]], n as u64));
            }
            (Keys::Exact(v, _), HashValue::Exact(d)) => v.push((digest_limbs(&d), n as u64)),
            _ => unreachable!("widths were checked above"),
        }
        self.id_bytes.extend_from_slice(meta.id.as_bytes());
        self.id_ends.push(self.id_bytes.len() as u64);
        push_column(&mut self.quality, n, meta.quality, raw::QUALITY_NONE);
        push_column(&mut self.cat_sets, n, set, 0);
        push_column(&mut self.sources, n, source, raw::SOURCE_NONE);
        match (meta.metadata, &mut self.meta_ends) {
            (Some(m), ends) if !m.is_empty() => {
                let ends = ends.get_or_insert_with(|| vec![0; n]);
                self.meta_bytes.extend_from_slice(m.as_bytes());
                ends.push(self.meta_bytes.len() as u64);
            }
            (_, Some(ends)) => ends.push(self.meta_bytes.len() as u64),
            (_, None) => {}
        }
        self.report.entries += 1;
        Ok(true)
    }

    fn intern_set(&mut self, categories: &[Category<'_>]) -> Result<u32> {
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        for c in categories {
            let next = self.cat_names.len();
            let inner = self.cat_index.entry(c.scheme.into()).or_default();
            let id = match inner.get(c.code) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(next)
                        .ok()
                        .filter(|&i| i < u32::MAX / 2)
                        .ok_or_else(|| invalid("too many distinct categories"))?;
                    inner.insert(c.code.into(), id);
                    self.cat_names.push((c.scheme.into(), c.code.into()));
                    id
                }
            };
            ids.push(id);
        }
        ids.sort_unstable();
        ids.dedup();
        if self.sets.is_empty() {
            // Set 0 is the empty set, for entries without categories.
            self.sets.push(Box::new([]));
            self.set_index.insert(Box::new([]), 0);
        }
        let id = match self.set_index.get(ids.as_slice()) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.sets.len())
                    .ok()
                    .filter(|&i| i < u32::MAX)
                    .ok_or_else(|| invalid("too many distinct category sets"))?;
                self.sets.push(ids.clone().into_boxed_slice());
                self.set_index.insert(ids.clone().into_boxed_slice(), id);
                id
            }
        };
        self.scratch = ids;
        Ok(id)
    }

    fn intern_source(&mut self, name: &str) -> Result<u32> {
        if let Some(&id) = self.source_index.get(name) {
            return Ok(id);
        }
        let id = u32::try_from(self.source_names.len())
            .ok()
            .filter(|&i| i < raw::SOURCE_NONE)
            .ok_or_else(|| invalid("too many distinct sources"))?;
        self.source_index.insert(name.into(), id);
        self.source_names.push(name.into());
        Ok(id)
    }

    /// Adds an optional section that this crate does not interpret (for example an index built
    /// by later code). Readers that do not know `tag` skip it; [`HashList::section`] returns its
    /// bytes. It is placed at a 64-byte aligned offset and checksummed like every section.
    ///
    /// [`HashList::section`]: super::HashList::section
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when `tag` is one of the built-in tags or was added
    /// before, or there are too many sections.
    pub fn add_section(&mut self, tag: [u8; 4], bytes: Vec<u8>) -> Result<()> {
        self.push_extra(tag, 0, bytes)
    }

    /// Like [`add_section`](ListBuilder::add_section), but marks the section required: readers
    /// that do not know `tag` refuse the file. Use only when ignoring the section would give
    /// wrong answers.
    ///
    /// # Errors
    ///
    /// As [`add_section`](ListBuilder::add_section).
    pub fn add_required_section(&mut self, tag: [u8; 4], bytes: Vec<u8>) -> Result<()> {
        self.push_extra(tag, raw::FLAG_REQUIRED, bytes)
    }

    fn push_extra(&mut self, tag: [u8; 4], flags: u32, bytes: Vec<u8>) -> Result<()> {
        // An index built elsewhere may still be added by hand (the matcher validates it in
        // full when the list is added); `index` and a hand-added section conflict at write.
        let built_in = raw::KNOWN_TAGS.contains(&tag) && tag != INDEX_SECTION;
        if built_in || self.extra.iter().any(|e| e.tag == tag) {
            return Err(invalid(format!(
                "section tag {} is built in or already added",
                raw::tag_name(tag)
            )));
        }
        if self.extra.len() + raw::KNOWN_TAGS.len() >= raw::MAX_SECTIONS {
            return Err(invalid("too many sections"));
        }
        self.extra.push(Extra { tag, flags, bytes });
        Ok(())
    }

    /// Sorts and groups the entries and writes the list to `out`.
    ///
    /// `out` receives the file in one sequential pass; wrap unbuffered writers yourself (this
    /// buffers internally in 64 KiB chunks).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when writing fails, [`ErrorKind::InvalidArgument`] when the name or
    /// version is too long.
    pub fn write_to(mut self, out: impl Write) -> Result<BuildReport> {
        let index = self.index.take();
        if index.is_some() && self.extra.iter().any(|e| e.tag == INDEX_SECTION) {
            return Err(invalid(
                "an index section was added by hand and asked for with `index`; use one",
            ));
        }
        let prepared = self.prepare();
        match index {
            None => prepared.write(out, None),
            Some(options) => match &prepared.b.keys {
                Keys::B64(v) => {
                    let hashes: Vec<Hash64> = unique(v, |k| Hash64::from_u64(*k));
                    prepared.write_indexed(out, &hashes, &options)
                }
                Keys::B256(v) => {
                    let hashes: Vec<Hash256> =
                        unique(v, |k| Hash256::from_limbs([k[3], k[2], k[1], k[0]]));
                    prepared.write_indexed(out, &hashes, &options)
                }
                // Exact lists are searched by their sorted keys alone: no index section.
                Keys::Exact(..) => prepared.write(out, None),
            },
        }
    }

    /// Writes the list to memory.
    ///
    /// # Errors
    ///
    /// As [`write_to`](ListBuilder::write_to).
    pub fn to_vec(self) -> Result<Vec<u8>> {
        self.to_vec_with_report().map(|(v, _)| v)
    }

    /// Writes the list to memory and returns the report too.
    ///
    /// # Errors
    ///
    /// As [`write_to`](ListBuilder::write_to).
    pub fn to_vec_with_report(self) -> Result<(Vec<u8>, BuildReport)> {
        // An upper bound of the common case (no categories or extras), to avoid regrowth.
        let n = self.keys.len();
        let estimate = n * (self.kind.width() as usize / 8 + 8 + 8 + 1 + 4 + 4)
            + self.id_bytes.len()
            + self.extra.iter().map(|e| e.bytes.len()).sum::<usize>()
            + 64 * 1024;
        let mut out = Vec::with_capacity(estimate);
        let report = self.write_to(&mut out)?;
        Ok((out, report))
    }

    /// Writes the list to `path` atomically with [`AtomicFile`](crate::fs::AtomicFile): into a
    /// temporary file in the same directory, flushed and `fsync`ed, then renamed over `path`. An
    /// interrupted or failed build never leaves a partial file under `path` (a failed one leaves
    /// no temporary file either), and a list already there stays intact (and stays valid for
    /// processes that have it mapped) until the rename.
    ///
    /// A new file gets mode `0666` masked by the umask, like any other new file (`0644` under
    /// umask `022`); restrict it with the umask or the directory's permissions. Replacing a
    /// file keeps the old file's permissions.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (with the path) when the directory is not writable or writing fails,
    /// and as [`write_to`](ListBuilder::write_to).
    pub fn write(self, path: impl AsRef<Path>) -> Result<BuildReport> {
        let path = path.as_ref();
        let mut file = crate::fs::AtomicFile::create(path)?;
        let report = self.write_to(&mut file).map_err(|e| e.with_path(path))?;
        file.commit()?;
        Ok(report)
    }

    /// Sorts the entries and canonicalises the interned tables.
    fn prepare(&mut self) -> Prepared<'_> {
        match &mut self.keys {
            Keys::B64(v) => v.par_sort_unstable(),
            Keys::B256(v) | Keys::Exact(v, _) => v.par_sort_unstable(),
        }
        let hashes = (0..self.keys.len())
            .filter(|&i| self.keys.starts_hash(i))
            .count();
        self.report.hashes = hashes as u64;

        // Categories in (scheme, code) order; sets re-numbered, sorted, in content order.
        let mut cat_order: Vec<u32> = (0..self.cat_names.len() as u32).collect();
        cat_order.sort_by(|&a, &b| self.cat_names[a as usize].cmp(&self.cat_names[b as usize]));
        let mut cat_remap = vec![0u32; self.cat_names.len()];
        for (new, &old) in cat_order.iter().enumerate() {
            cat_remap[old as usize] = new as u32;
        }
        let sets: Vec<Vec<u32>> = self
            .sets
            .iter()
            .map(|s| {
                let mut v: Vec<u32> = s.iter().map(|&c| cat_remap[c as usize]).collect();
                v.sort_unstable();
                v
            })
            .collect();
        let mut set_order: Vec<u32> = (0..sets.len() as u32).collect();
        set_order.sort_by(|&a, &b| sets[a as usize].cmp(&sets[b as usize]));
        let mut set_remap = vec![0u32; sets.len()];
        for (new, &old) in set_order.iter().enumerate() {
            set_remap[old as usize] = new as u32;
        }

        let mut src_order: Vec<u32> = (0..self.source_names.len() as u32).collect();
        src_order
            .sort_by(|&a, &b| self.source_names[a as usize].cmp(&self.source_names[b as usize]));
        let mut src_remap = vec![0u32; self.source_names.len()];
        for (new, &old) in src_order.iter().enumerate() {
            src_remap[old as usize] = new as u32;
        }

        Prepared {
            b: self,
            hashes,
            cat_order,
            sets,
            set_order,
            set_remap,
            src_order,
            src_remap,
        }
    }
}

/// The distinct hashes of sorted keys, in order: the list's `HASH` section.
fn unique<K: PartialEq, H>(keys: &[(K, u64)], hash: impl Fn(&K) -> H) -> Vec<H> {
    let mut out = Vec::new();
    for (i, (k, _)) in keys.iter().enumerate() {
        if i == 0 || keys[i - 1].0 != *k {
            out.push(hash(k));
        }
    }
    out
}

fn push_column<T: Copy>(col: &mut Option<Vec<T>>, n: usize, value: Option<T>, none: T) {
    match (col.as_mut(), value) {
        (Some(c), v) => c.push(v.unwrap_or(none)),
        (None, Some(v)) => {
            let mut c = Vec::with_capacity(n + 1);
            c.resize(n, none);
            c.push(v);
            *col = Some(c);
        }
        (None, None) => {}
    }
}

/// The parts of the file, in the order the writer lays them out.
#[derive(Clone, Copy, Debug)]
enum Part {
    Hashes,
    HashEntries,
    Ids,
    Quality,
    EntryCategories,
    CategorySets,
    CategoryNames,
    EntrySources,
    SourceNames,
    Metadata,
    Index,
    Extra(usize),
}

struct Prepared<'b> {
    b: &'b ListBuilder,
    hashes: usize,
    cat_order: Vec<u32>,
    sets: Vec<Vec<u32>>,
    set_order: Vec<u32>,
    set_remap: Vec<u32>,
    src_order: Vec<u32>,
    src_remap: Vec<u32>,
}

/// A `Write` that only counts bytes and computes their CRC-32C.
struct CrcSink {
    crc: u32,
    len: u64,
}

impl Write for CrcSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.crc = crc32c::crc32c_append(self.crc, buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A `Write` wrapper that counts bytes.
struct Counting<W> {
    inner: W,
    len: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn ragged_strings<'s, W: Write>(
    w: &mut W,
    count: usize,
    strings: impl Iterator<Item = &'s [u8]> + Clone,
) -> io::Result<()> {
    w.write_all(&(count as u64).to_le_bytes())?;
    let mut off = 0u64;
    w.write_all(&off.to_le_bytes())?;
    for s in strings.clone() {
        off += s.len() as u64;
        w.write_all(&off.to_le_bytes())?;
    }
    for s in strings {
        w.write_all(s)?;
    }
    Ok(())
}

impl Prepared<'_> {
    fn parts(&self, index: Option<&[u8]>) -> Vec<(Part, [u8; 4], u32)> {
        let req = raw::FLAG_REQUIRED;
        let mut parts = vec![
            (Part::Hashes, raw::TAG_HASHES, req),
            (Part::HashEntries, raw::TAG_HASH_ENTRIES, req),
            (Part::Ids, raw::TAG_ENTRY_IDS, req),
        ];
        if self.b.quality.is_some() {
            parts.push((Part::Quality, raw::TAG_ENTRY_QUALITY, 0));
        }
        if self.b.cat_sets.is_some() {
            parts.push((Part::EntryCategories, raw::TAG_ENTRY_CATEGORIES, 0));
            parts.push((Part::CategorySets, raw::TAG_CATEGORY_SETS, 0));
            parts.push((Part::CategoryNames, raw::TAG_CATEGORY_NAMES, 0));
        }
        if self.b.sources.is_some() {
            parts.push((Part::EntrySources, raw::TAG_ENTRY_SOURCES, 0));
            parts.push((Part::SourceNames, raw::TAG_SOURCE_NAMES, 0));
        }
        if self.b.meta_ends.is_some() {
            parts.push((Part::Metadata, raw::TAG_ENTRY_METADATA, 0));
        }
        if index.is_some() {
            parts.push((Part::Index, INDEX_SECTION, 0));
        }
        for (i, e) in self.b.extra.iter().enumerate() {
            parts.push((Part::Extra(i), e.tag, e.flags));
        }
        parts
    }

    /// Streams one part into `out`.
    fn emit(&self, part: Part, index: Option<&[u8]>, out: &mut dyn Write) -> io::Result<()> {
        let b = self.b;
        let keys = &b.keys;
        let n = keys.len();
        let mut w = BufWriter::with_capacity(1 << 16, out);
        match part {
            Part::Hashes => match keys {
                Keys::B64(v) => {
                    for i in (0..n).filter(|&i| keys.starts_hash(i)) {
                        w.write_all(&v[i].0.to_le_bytes())?;
                    }
                }
                Keys::B256(v) => {
                    for i in (0..n).filter(|&i| keys.starts_hash(i)) {
                        let k = v[i].0;
                        let mut buf = [0u8; 32];
                        for (j, limb) in [k[3], k[2], k[1], k[0]].iter().enumerate() {
                            buf[8 * j..8 * j + 8].copy_from_slice(&limb.to_le_bytes());
                        }
                        w.write_all(&buf)?;
                    }
                }
                Keys::Exact(v, len) => {
                    for i in (0..n).filter(|&i| keys.starts_hash(i)) {
                        let mut buf = [0u8; 32];
                        for (j, limb) in v[i].0.iter().enumerate() {
                            buf[8 * j..8 * j + 8].copy_from_slice(&limb.to_be_bytes());
                        }
                        w.write_all(&buf[..*len])?;
                    }
                }
            },
            Part::HashEntries => {
                for i in (0..n).filter(|&i| keys.starts_hash(i)) {
                    w.write_all(&(i as u64).to_le_bytes())?;
                }
                w.write_all(&(n as u64).to_le_bytes())?;
            }
            Part::Ids => {
                let id = |e: usize| {
                    let start = if e == 0 { 0 } else { b.id_ends[e - 1] as usize };
                    &b.id_bytes[start..b.id_ends[e] as usize]
                };
                ragged_strings(&mut w, n, (0..n).map(|i| id(keys.entry(i))))?;
            }
            Part::Quality => {
                let q = b.quality.as_deref().unwrap_or(&[]);
                for i in 0..n {
                    w.write_all(&[q[keys.entry(i)]])?;
                }
            }
            Part::EntryCategories => {
                let c = b.cat_sets.as_deref().unwrap_or(&[]);
                for i in 0..n {
                    let set = self.set_remap[c[keys.entry(i)] as usize];
                    w.write_all(&set.to_le_bytes())?;
                }
            }
            Part::CategorySets => {
                w.write_all(&(self.set_order.len() as u64).to_le_bytes())?;
                let mut off = 0u64;
                w.write_all(&off.to_le_bytes())?;
                for &s in &self.set_order {
                    off += self.sets[s as usize].len() as u64;
                    w.write_all(&off.to_le_bytes())?;
                }
                for &s in &self.set_order {
                    for c in &self.sets[s as usize] {
                        w.write_all(&c.to_le_bytes())?;
                    }
                }
            }
            Part::CategoryNames => {
                let names = self.cat_order.iter().flat_map(|&c| {
                    let (s, k) = &b.cat_names[c as usize];
                    [s.as_bytes(), k.as_bytes()]
                });
                ragged_strings(&mut w, 2 * self.cat_order.len(), names)?;
            }
            Part::EntrySources => {
                let s = b.sources.as_deref().unwrap_or(&[]);
                for i in 0..n {
                    let v = s[keys.entry(i)];
                    let v = if v == raw::SOURCE_NONE {
                        v
                    } else {
                        self.src_remap[v as usize]
                    };
                    w.write_all(&v.to_le_bytes())?;
                }
            }
            Part::SourceNames => {
                let names = self
                    .src_order
                    .iter()
                    .map(|&s| b.source_names[s as usize].as_bytes());
                ragged_strings(&mut w, self.src_order.len(), names)?;
            }
            Part::Metadata => {
                let ends = b.meta_ends.as_deref().unwrap_or(&[]);
                let meta = |e: usize| {
                    let start = if e == 0 { 0 } else { ends[e - 1] as usize };
                    &b.meta_bytes[start..ends[e] as usize]
                };
                ragged_strings(&mut w, n, (0..n).map(|i| meta(keys.entry(i))))?;
            }
            Part::Index => w.write_all(index.unwrap_or(&[]))?,
            Part::Extra(i) => w.write_all(&b.extra[i].bytes)?,
        }
        w.flush()
    }

    /// Builds the index `options` ask for over `hashes` (the list's final hashes) and writes
    /// the list with it.
    fn write_indexed<H: HashBits>(
        self,
        out: impl Write,
        hashes: &[H],
        options: &IndexOptions,
    ) -> Result<BuildReport> {
        let index = SearchIndex::build(hashes, options)?;
        let kind = index.kind();
        let mut report = self.write(out, index.section_bytes())?;
        if index.section_bytes().is_some() {
            report.index = Some(kind);
        }
        Ok(report)
    }

    fn write(self, out: impl Write, index: Option<&[u8]>) -> Result<BuildReport> {
        let b = self.b;
        let parts = self.parts(index);
        // Pass 1: lengths and checksums.
        let mut header = Header {
            format_version: raw::version_for(b.kind, b.role),
            header_len: 0,
            kind: b.kind,
            role: b.role,
            hash_count: self.hashes as u64,
            entry_count: b.keys.len() as u64,
            created: b.created.unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
            file_len: 0,
            flags: 0,
            name: b.name.clone(),
            list_version: b.version.clone(),
            sections: Vec::with_capacity(parts.len()),
            header_crc: 0,
        };
        let header_len = raw::header_len_for(parts.len(), b.name.len(), b.version.len()) as u64;
        let mut offset = header_len;
        for (i, &(part, tag, flags)) in parts.iter().enumerate() {
            let mut sink = CrcSink { crc: 0, len: 0 };
            self.emit(part, index, &mut sink)?;
            if i > 0 {
                offset = raw::align_up(offset).ok_or_else(|| invalid("list too large"))?;
            }
            header.sections.push(SectionEntry {
                tag,
                flags,
                offset,
                length: sink.len,
                crc: sink.crc,
            });
            offset += sink.len;
        }
        header.file_len = offset;
        let header_bytes = header.encode()?;
        debug_assert_eq!(header_bytes.len() as u64, header_len);

        // Pass 2: the file.
        let mut out = Counting { inner: out, len: 0 };
        out.write_all(&header_bytes)?;
        const ZEROS: [u8; raw::ALIGN] = [0; raw::ALIGN];
        for (&(part, ..), s) in parts.iter().zip(&header.sections) {
            let pad = s.offset - out.len;
            out.write_all(&ZEROS[..pad as usize])?;
            self.emit(part, index, &mut out)?;
            if out.len != s.offset + s.length {
                return Err(Error::new(ErrorKind::Io(io::Error::other(
                    "section length changed between passes",
                ))));
            }
        }
        out.flush()?;
        let mut report = b.report.clone();
        report.bytes = out.len;
        Ok(report)
    }
}
