//! The [`Matcher`]: exact matching of query hashes against one or more opened hash lists, with
//! per-list thresholds, a query-quality gate, dihedral fan-out, parallel batches and atomic list
//! replacement.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, RwLock};

use rayon::prelude::*;

use crate::algo::pdq::{Dihedral, PdqDihedral};
use crate::error::{ErrorKind, Result};
use crate::hash::{Hash256, Hash64, HashKind, HashValue};
use crate::index::{HashBits, Index, IndexKind, IndexOptions, Match, SearchIndex};
use crate::list::{Entries, HashList, Hashes, ListRole, INDEX_SECTION};

/// Options for one list added to a [`Matcher`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ListOptions {
    /// Inclusive Hamming threshold; `None` uses [`HashKind::default_threshold`] (PDQ 31) for a
    /// block list and [`allow_threshold`] (a third of it: PDQ 10) for a perceptual
    /// allow-list. Exact-hash lists match by equality: their threshold must be 0 or `None`.
    pub threshold: Option<u32>,
    /// Which index to search with when the list file holds none (`Auto` by default). A list
    /// whose file carries an [`INDEX_SECTION`] uses it unless this is [`IndexKind::Linear`].
    pub index: IndexKind,
}

impl ListOptions {
    /// Sets the threshold.
    pub fn threshold(mut self, threshold: u32) -> ListOptions {
        self.threshold = Some(threshold);
        self
    }

    /// Sets the index kind.
    pub fn index(mut self, kind: IndexKind) -> ListOptions {
        self.index = kind;
        self
    }
}

/// Options for a [`Matcher`].
///
/// The quality gate: a query whose [`Query::quality`] is below its kind's minimum is not
/// searched but answered [`QueryResult::Skipped`] with [`SkipReason::LowQuality`]. A query
/// without a quality (a hash read from text) is never gated. The defaults:
///
/// * PDQ: 50, the threshold python-threatexchange and the reference README use;
/// * pHash, dHash, aHash, wHash (both sizes): 1, which skips only images that are flat on the
///   algorithm's grid (quality 0: a flat image, a flat image with faint noise, for pHash a very
///   soft gradient). Such a hash is rounding noise and matches the hash of every other flat
///   image. On the benign test corpus the lowest quality of a photo was 17 (aHash, a
///   low-contrast brick wall), so the gate drops no photo there.
///
/// The qualities of the imagehash family are PDQ's gradient metric on each algorithm's grey grid
/// (see [`HashOutput::quality`](crate::HashOutput::quality)); they are not on one scale with
/// PDQ's, so set a gate per kind.
///
/// ```
/// use hashsieve::matching::MatcherOptions;
/// use hashsieve::HashKind;
/// let opts = MatcherOptions::default().min_quality(HashKind::PHash, 20);
/// assert_eq!(opts.min_quality_of(HashKind::PHash), 20);
/// assert_eq!(opts.min_quality_of(HashKind::Pdq), 50);
/// assert_eq!(opts.min_quality_of(HashKind::DHash), 1);
/// let off = MatcherOptions::default().min_quality_all(0);
/// assert!(HashKind::ALL.iter().all(|&k| off.min_quality_of(k) == 0));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MatcherOptions {
    /// PDQ queries with a quality below this are skipped, with the reason reported (default 50,
    /// the threshold python-threatexchange and the reference README use). 0 disables the gate.
    /// The same value as `min_quality_of(HashKind::Pdq)`.
    pub min_pdq_quality: u8,
    /// The gates of the other kinds, by position in [`HashKind::ALL`] (PDQ's slot is unused:
    /// `min_pdq_quality` holds it).
    min_quality: [u8; HashKind::ALL.len()],
    /// Which list entries are reported, by category (default: every entry but the hidden ones,
    /// see [`CategoryFilter`]).
    pub categories: CategoryFilter,
}

/// Which list entries a [`Matcher`] reports, by their categories (`scheme:code`, compared
/// without regard to ASCII case).
///
/// An entry is reported when
///
/// * it has none of the [`hidden`](CategoryFilter::hidden) categories, unless
///   [`show_hidden`](CategoryFilter::show_hidden) is set; a hidden category named in
///   [`only`](CategoryFilter::only) does not hide (asking for it by name shows it);
/// * [`only`](CategoryFilter::only) is empty or it has one of those categories;
/// * it has none of the [`exclude`](CategoryFilter::exclude) categories.
///
/// By default the hidden categories are [`HIDDEN_CATEGORIES`]: python-threatexchange's
/// opinions `NEGATIVE_CLASS` (the contributor says the content is *not* what the list is
/// about) and `DISPUTED`, which `tx match` does not report either. A matched hash whose entries
/// are all filtered out is not a match; a hash with some entries left reports only those.
///
/// ```
/// use hashsieve::matching::CategoryFilter;
/// let f = CategoryFilter::default();
/// assert!(f.reports(["category:POSITIVE_CLASS"]));
/// assert!(!f.reports(["category:NEGATIVE_CLASS"]));
/// assert!(f.clone().show_hidden(true).reports(["category:DISPUTED"]));
/// let only = CategoryFilter::default().only(["tag:ncmec"]);
/// assert!(only.reports(["tag:ncmec", "category:POSITIVE_CLASS"]));
/// assert!(!only.reports(["category:POSITIVE_CLASS"]));
/// assert!(!only.reports(["tag:ncmec", "category:DISPUTED"]));
/// let disputed = CategoryFilter::default().only(["category:DISPUTED"]);
/// assert!(disputed.reports(["tag:ncmec", "category:DISPUTED"]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CategoryFilter {
    /// Entries with one of these are not reported unless `show_hidden` is set or `only` names
    /// it (default: [`HIDDEN_CATEGORIES`]).
    pub hidden: Vec<String>,
    /// Reports the hidden entries too.
    pub show_hidden: bool,
    /// When not empty, only entries with one of these categories are reported.
    pub only: Vec<String>,
    /// Entries with one of these categories are never reported.
    pub exclude: Vec<String>,
}

/// The categories a [`Matcher`] hides by default: python-threatexchange's opinions that say the
/// content is not what the list is about, or that this is disputed.
pub const HIDDEN_CATEGORIES: [&str; 2] = ["category:NEGATIVE_CLASS", "category:DISPUTED"];

impl Default for CategoryFilter {
    fn default() -> CategoryFilter {
        CategoryFilter {
            hidden: HIDDEN_CATEGORIES.iter().map(|c| c.to_string()).collect(),
            show_hidden: false,
            only: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

impl CategoryFilter {
    /// Sets whether hidden entries are reported.
    pub fn show_hidden(mut self, show: bool) -> CategoryFilter {
        self.show_hidden = show;
        self
    }

    /// Reports only entries with one of `categories` (`scheme:code`); empty reports every one.
    pub fn only<S: Into<String>>(
        mut self,
        categories: impl IntoIterator<Item = S>,
    ) -> CategoryFilter {
        self.only = categories.into_iter().map(Into::into).collect();
        self
    }

    /// Never reports entries with one of `categories` (`scheme:code`).
    pub fn exclude<S: Into<String>>(
        mut self,
        categories: impl IntoIterator<Item = S>,
    ) -> CategoryFilter {
        self.exclude = categories.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the filter lets every entry through (nothing to check per entry).
    fn passes_all(&self) -> bool {
        self.only.is_empty()
            && self.exclude.is_empty()
            && (self.show_hidden || self.hidden.is_empty())
    }

    /// Whether an entry with these categories (`scheme:code`) is reported.
    pub fn reports<S: AsRef<str>>(&self, categories: impl IntoIterator<Item = S>) -> bool {
        let (mut hidden, mut wanted, mut excluded) = (false, false, false);
        let has = |set: &[String], c: &str| set.iter().any(|x| x.eq_ignore_ascii_case(c));
        for c in categories {
            let c = c.as_ref();
            let named = has(&self.only, c);
            hidden |= has(&self.hidden, c) && !named;
            wanted |= named;
            excluded |= has(&self.exclude, c);
        }
        !excluded && (self.only.is_empty() || wanted) && (!hidden || self.show_hidden)
    }
}

/// The default quality gate of the kinds other than PDQ (see [`MatcherOptions`]).
const DEFAULT_MIN_QUALITY: u8 = 1;

impl Default for MatcherOptions {
    fn default() -> MatcherOptions {
        MatcherOptions {
            min_pdq_quality: 50,
            min_quality: [DEFAULT_MIN_QUALITY; HashKind::ALL.len()],
            categories: CategoryFilter::default(),
        }
    }
}

/// The position of `kind` in [`HashKind::ALL`].
fn slot(kind: HashKind) -> usize {
    HashKind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("HashKind::ALL lists every kind")
}

impl MatcherOptions {
    /// Sets the PDQ quality gate (0 disables it); the same as `min_quality(HashKind::Pdq, q)`.
    pub fn min_pdq_quality(mut self, quality: u8) -> MatcherOptions {
        self.min_pdq_quality = quality;
        self
    }

    /// Sets the quality gate of `kind`: its queries with a quality below `quality` are skipped
    /// (0 disables the gate).
    pub fn min_quality(mut self, kind: HashKind, quality: u8) -> MatcherOptions {
        match kind {
            HashKind::Pdq => self.min_pdq_quality = quality,
            other => self.min_quality[slot(other)] = quality,
        }
        self
    }

    /// Sets the quality gate of every kind to `quality` (0 disables every gate).
    pub fn min_quality_all(mut self, quality: u8) -> MatcherOptions {
        self.min_pdq_quality = quality;
        self.min_quality = [quality; HashKind::ALL.len()];
        self
    }

    /// Sets which entries are reported, by category (see [`CategoryFilter`]).
    pub fn categories(mut self, filter: CategoryFilter) -> MatcherOptions {
        self.categories = filter;
        self
    }

    /// The quality gate of `kind`.
    pub fn min_quality_of(&self, kind: HashKind) -> u8 {
        match kind {
            HashKind::Pdq => self.min_pdq_quality,
            other => self.min_quality[slot(other)],
        }
    }
}

/// The default threshold of a perceptual allow-list of `kind`: a third of the block-list default
/// (PDQ 10, 64-bit kinds 3, 256-bit imagehash kinds 13), because a file is cleared only when it
/// is very close to known-good content; exact kinds 0.
pub const fn allow_threshold(kind: HashKind) -> u32 {
    kind.default_threshold() / 3
}

/// A query: one hash, or PDQ's 8 dihedral variants of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Query {
    /// The algorithm; only lists of the same kind are searched.
    pub kind: HashKind,
    /// The variants to search, each with the orientation it stands for.
    pub variants: Vec<Variant>,
    /// The query's quality ([`HashOutput::quality`](crate::HashOutput::quality)); `None` when
    /// unknown (a hash read from text without one), which the quality gate never skips.
    pub quality: Option<u8>,
}

impl Query {
    /// A query for one hash.
    pub fn new(kind: HashKind, hash: impl Into<HashValue>, quality: Option<u8>) -> Query {
        Query {
            kind,
            variants: vec![Variant::new(None, hash.into())],
            quality,
        }
    }

    /// A PDQ query fanned out over the 8 dihedral variants of one image; matches report which
    /// orientation matched.
    pub fn pdq_dihedral(dihedral: &PdqDihedral) -> Query {
        Query {
            kind: HashKind::Pdq,
            variants: dihedral
                .iter()
                .map(|(d, h)| Variant::new(Some(d), HashValue::Bits256(h)))
                .collect(),
            quality: Some(dihedral.quality),
        }
    }

    /// A PDQ query from the 8 hashes of another tool's dihedral output, in the reference order.
    pub fn pdq_variants(hashes: [Hash256; 8], quality: Option<u8>) -> Query {
        Query {
            kind: HashKind::Pdq,
            variants: Dihedral::ALL
                .into_iter()
                .zip(hashes)
                .map(|(d, h)| Variant::new(Some(d), HashValue::Bits256(h)))
                .collect(),
            quality,
        }
    }
}

/// One hash of a [`Query`], with the orientation of the image it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Variant {
    /// Which dihedral variant of the image this hash is (`None` for a plain hash).
    pub orientation: Option<Dihedral>,
    /// The hash.
    pub hash: HashValue,
}

impl Variant {
    /// The hash `hash` of the image in `orientation`.
    pub fn new(orientation: Option<Dihedral>, hash: HashValue) -> Variant {
        Variant { orientation, hash }
    }
}

/// A list loaded in a [`Matcher`], as [`Matcher::lists`] describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListInfo {
    /// The list's name.
    pub name: String,
    /// The list's version string.
    pub version: String,
    /// The hash algorithm of the list.
    pub kind: HashKind,
    /// Block list or allow-list.
    pub role: ListRole,
    /// The number of distinct hashes.
    pub len: usize,
    /// The threshold its matches use.
    pub threshold: u32,
    /// The index its queries use ([`IndexKind::Linear`] for none).
    pub index: IndexKind,
    /// Whether that index is the list file's own [`INDEX_SECTION`] (else it was built when
    /// the list was added, or there is none).
    pub index_from_file: bool,
}

/// One matched list entry: what a human reviewer and an audit log need. Hash values are not
/// included; the list position lets a caller fetch it when policy allows.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MatchRecord {
    /// The list's name.
    pub list: String,
    /// The list's version string.
    pub list_version: String,
    /// Position of the matched hash in the list.
    pub hash_index: usize,
    /// The ids of every entry that carries the matched hash.
    pub entry_ids: Vec<String>,
    /// The entries' categories as `scheme:code`, sorted and distinct.
    pub categories: Vec<String>,
    /// Hamming distance (0 for an exact match).
    pub distance: u32,
    /// The threshold that was applied (0 for an exact-hash list).
    pub threshold: u32,
    /// The kind of the list (and the query): [`HashKind::is_exact`] tells an exact-hash match
    /// (`exact`) from a perceptual one (a distance).
    pub kind: HashKind,
    /// The role of the list that matched: a match on an allow-list means known-good.
    pub role: ListRole,
    /// Which dihedral variant of the query matched (`None` for a plain query).
    pub orientation: Option<Dihedral>,
    /// The query's quality.
    pub query_quality: Option<u8>,
}

/// The outcome of one query.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryResult {
    /// The query was searched; the matches are sorted by (distance, list order, hash index).
    Searched(Vec<MatchRecord>),
    /// The query was not searched, and why (never silently).
    Skipped(SkipReason),
}

impl QueryResult {
    /// The matches (empty when skipped).
    pub fn matches(&self) -> &[MatchRecord] {
        match self {
            QueryResult::Searched(m) => m,
            QueryResult::Skipped(_) => &[],
        }
    }
}

/// Why a query was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The query's quality is under the gate.
    LowQuality {
        /// The query's quality.
        quality: u8,
        /// The gate.
        min: u8,
    },
    /// No loaded list holds hashes of the query's kind.
    NoListOfKind(HashKind),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::LowQuality { quality, min } => {
                write!(f, "quality {quality} is below the minimum {min}")
            }
            SkipReason::NoListOfKind(kind) => write!(f, "no {kind} list is loaded"),
        }
    }
}

/// A list as the [`Matcher`] holds it: one type whatever the list's storage (a memory map, a
/// `Vec<u8>`, static bytes), so that one matcher mixes them.
trait AnyList: Send + Sync {
    fn bytes(&self) -> &[u8];
    fn list_hashes(&self) -> Hashes<'_>;
    fn section(&self, tag: [u8; 4]) -> Option<&[u8]>;
    fn name(&self) -> &str;
    fn version(&self) -> &str;
    fn kind(&self) -> HashKind;
    fn role(&self) -> ListRole;
    fn entries_of(&self, index: usize) -> Entries<'_>;
}

impl<D: AsRef<[u8]> + Send + Sync> AnyList for HashList<D> {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
    fn list_hashes(&self) -> Hashes<'_> {
        self.hashes()
    }
    fn section(&self, tag: [u8; 4]) -> Option<&[u8]> {
        HashList::section(self, tag)
    }
    fn name(&self) -> &str {
        HashList::name(self)
    }
    fn version(&self) -> &str {
        HashList::version(self)
    }
    fn kind(&self) -> HashKind {
        HashList::kind(self)
    }
    fn role(&self) -> ListRole {
        HashList::role(self)
    }
    fn entries_of(&self, index: usize) -> Entries<'_> {
        HashList::entries_of(self, index)
    }
}

/// A list's hashes as a slice of their width: `<&[Hash64]>::try_from(list.hashes())`, for
/// code generic over the width.
///
/// ```
/// use hashsieve::list::{EntryMeta, HashList, ListBuilder};
/// use hashsieve::{Hash64, HashKind};
/// let mut b = ListBuilder::new(HashKind::PHash);
/// b.add(Hash64::from_u64(7), EntryMeta::new("a"))?;
/// let list = HashList::from_bytes(b.to_vec()?)?;
/// assert_eq!(<&[Hash64]>::try_from(list.hashes())?, &[Hash64::from_u64(7)][..]);
/// assert!(<&[hashsieve::Hash256]>::try_from(list.hashes()).is_err());
/// # Ok::<(), hashsieve::Error>(())
/// ```
impl<'a> TryFrom<Hashes<'a>> for &'a [Hash64] {
    type Error = crate::Error;
    fn try_from(hashes: Hashes<'a>) -> Result<&'a [Hash64]> {
        match hashes {
            Hashes::Bits64(h) => Ok(h),
            Hashes::Bits256(_) => Err(width_mismatch(256, 64)),
            Hashes::Exact(k) => Err(width_mismatch(k.kind().width(), 64)),
        }
    }
}

/// A 256-bit list's hashes as a slice; see the 64-bit conversion.
impl<'a> TryFrom<Hashes<'a>> for &'a [Hash256] {
    type Error = crate::Error;
    fn try_from(hashes: Hashes<'a>) -> Result<&'a [Hash256]> {
        match hashes {
            Hashes::Bits256(h) => Ok(h),
            Hashes::Bits64(_) => Err(width_mismatch(64, 256)),
            Hashes::Exact(k) => Err(width_mismatch(k.kind().width(), 256)),
        }
    }
}

fn width_mismatch(found: u32, wanted: u32) -> crate::Error {
    ErrorKind::Mismatch(format!(
        "the list holds {found}-bit hashes, not {wanted}-bit ones"
    ))
    .into()
}

/// The hashes of a loaded list, owned through the list (storage for a [`SearchIndex`]).
struct ListHashes<H> {
    list: Arc<dyn AnyList>,
    _hash: PhantomData<fn() -> H>,
}

impl<H> AsRef<[H]> for ListHashes<H>
where
    for<'a> &'a [H]: TryFrom<Hashes<'a>>,
{
    fn as_ref(&self) -> &[H] {
        // Never empty for a list of hashes: `load` builds a `ListHashes<H>` of the list's own
        // width only (and an index opened over it checks the count).
        <&[H]>::try_from(self.list.list_hashes()).unwrap_or(&[])
    }
}

/// The section bytes of a loaded list's index: the file's own [`INDEX_SECTION`], in place, or
/// one built when the list was added.
enum IndexBytes {
    /// An index built here.
    Built(Vec<u8>),
    /// The list file's section, at `range` of its bytes.
    File {
        list: Arc<dyn AnyList>,
        range: Range<usize>,
    },
}

impl AsRef<[u8]> for IndexBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            IndexBytes::Built(b) => b,
            // In range: `file_section` took the range from the list's own bytes, which cannot
            // change.
            IndexBytes::File { list, range } => list.bytes().get(range.clone()).unwrap_or(&[]),
        }
    }
}

impl IndexBytes {
    /// The [`INDEX_SECTION`] of `list`, viewed in place, if it has one.
    fn file_section(list: &Arc<dyn AnyList>) -> Option<IndexBytes> {
        let section = list.section(INDEX_SECTION)?;
        let bytes = list.bytes();
        let start = (section.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize);
        let range = start
            .map(|s| s..s + section.len())
            .filter(|r| r.end <= bytes.len());
        Some(match range {
            Some(range) => IndexBytes::File {
                list: list.clone(),
                range,
            },
            // The section is always a part of the list's bytes; copying it would also do.
            None => IndexBytes::Built(section.to_vec()),
        })
    }
}

/// A loaded list's index, parsed once.
enum ListIndex {
    Bits64(SearchIndex<Hash64, ListHashes<Hash64>, IndexBytes>),
    Bits256(SearchIndex<Hash256, ListHashes<Hash256>, IndexBytes>),
    /// An exact-hash list: searched by its sorted keys, in place.
    Exact,
}

struct Loaded {
    list: Arc<dyn AnyList>,
    len: usize,
    threshold: u32,
    index: ListIndex,
    index_from_file: bool,
}

/// Matches queries against opened hash lists, exactly.
///
/// The set of lists is swapped atomically ([`Matcher::replace_list`]): each query takes a
/// snapshot when it starts, so it sees either the old or the new list, never a mix, and never
/// fails because of a swap.
///
/// ```
/// use hashsieve::list::{EntryMeta, HashList, ListBuilder};
/// use hashsieve::matching::{ListOptions, Matcher, Query};
/// use hashsieve::{Hash256, HashKind};
///
/// let known = Hash256::from_limbs([0x0123_4567_89ab_cdef, !0, 0x5555, 0xaaaa_0000]);
/// let mut b = ListBuilder::new(HashKind::Pdq).name("demo");
/// b.add(known, EntryMeta::new("case-17"))?;
/// let matcher = Matcher::new();
/// matcher.add_list(HashList::from_bytes(b.to_vec()?)?, ListOptions::default())?;
///
/// let mut near = known;
/// near.set_bit(3, !near.bit(3)); // one bit away
/// let result = matcher.query(&Query::new(HashKind::Pdq, near, Some(100)));
/// let m = &result.matches()[0];
/// assert_eq!((m.list.as_str(), m.entry_ids[0].as_str(), m.distance), ("demo", "case-17", 1));
/// # Ok::<(), hashsieve::Error>(())
/// ```
///
/// One matcher holds lists of any storage at once (memory-mapped files and in-memory
/// buffers). Each list's search index is opened (and, from a file, validated) once, when the
/// list is added; queries use it as it is.
pub struct Matcher {
    options: MatcherOptions,
    lists: RwLock<Arc<Vec<Arc<Loaded>>>>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for Matcher {
    fn default() -> Matcher {
        Matcher::with_options(MatcherOptions::default())
    }
}

impl Matcher {
    /// Memory-maps the list at `path`, verifies it ([`HashList::open_mmap`]) and adds it; see
    /// [`Matcher::add_list`].
    ///
    /// # Safety
    ///
    /// As [`HashList::open_mmap`]: the file must not be modified or truncated while the
    /// matcher holds it (until it is replaced or removed and every query that started before
    /// has finished). Replace list files by renaming a new file over them, never in place.
    ///
    /// # Errors
    ///
    /// As [`HashList::open_mmap`] and [`Matcher::add_list`].
    pub unsafe fn add_list_file(&self, path: impl AsRef<Path>, options: ListOptions) -> Result<()> {
        // SAFETY: this function's contract is `open_mmap`'s, passed on to the caller.
        let list = unsafe { HashList::open_mmap(path)? };
        self.add_list(list, options)
    }

    /// A matcher with no lists and default options.
    pub fn new() -> Matcher {
        Matcher::default()
    }

    /// A matcher with no lists.
    pub fn with_options(options: MatcherOptions) -> Matcher {
        Matcher {
            options,
            lists: RwLock::new(Arc::new(Vec::new())),
        }
    }

    /// Adds a list, of any storage (a memory-mapped file, a `Vec<u8>`, static bytes). Each
    /// list has its own name: adding a second list of a name already loaded fails
    /// ([`ErrorKind::DuplicateList`]), since a silent replacement would drop a list the
    /// caller meant to search; use [`Matcher::replace_list`] for the daily update.
    ///
    /// The list's index is opened here, once. When the file carries an index section
    /// ([`INDEX_SECTION`]) that the options use, the section is validated in full here
    /// ([`SearchIndex::open`]: every hash indexed exactly once, where its bits say), so a
    /// damaged index is an error now rather than a missed match later; queries then search it
    /// in place. For a multi-index hashing section the validation is two sequential passes,
    /// one over the section and one over the hashes, compared through a keyed fingerprint
    /// ([`Mih::validate`](crate::index::Mih::validate)); its cost is measured by
    /// `HASHSIEVE_BENCH_OPEN_SIZES=1000000,10000000 cargo bench --bench list -- index_load`
    /// (figures in the README). When the file carries none and the options ask for one (or
    /// `Auto` picks one), it is built here, in memory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DuplicateList`] when a list of the same name is loaded;
    /// [`ErrorKind::InvalidArgument`] for a threshold above the list's bit width;
    /// As [`SearchIndex::open`] when the list's index section is damaged, from a newer writer
    /// or built over other hashes ([`ErrorKind::Corrupt`], [`ErrorKind::Version`],
    /// [`ErrorKind::Mismatch`], ...).
    pub fn add_list<D>(&self, list: HashList<D>, options: ListOptions) -> Result<()>
    where
        D: AsRef<[u8]> + Send + Sync + 'static,
    {
        self.insert(Arc::new(list), options, false)
    }

    /// Atomically replaces the list of the same name with `list` (the daily update), or adds it
    /// when there is none: queries already running finish on the old list, later ones see the
    /// new one.
    ///
    /// # Errors
    ///
    /// As [`Matcher::add_list`] (except [`ErrorKind::DuplicateList`]); on error the old list
    /// stays in place.
    pub fn replace_list<D>(&self, list: HashList<D>, options: ListOptions) -> Result<()>
    where
        D: AsRef<[u8]> + Send + Sync + 'static,
    {
        self.insert(Arc::new(list), options, true)
    }

    fn insert(&self, list: Arc<dyn AnyList>, options: ListOptions, replace: bool) -> Result<()> {
        let duplicate = |name: &str| -> crate::Error {
            ErrorKind::DuplicateList {
                name: name.to_string(),
            }
            .into()
        };
        // Refuse before the (possibly long) index build, and again under the lock.
        if !replace && self.snapshot().iter().any(|l| l.list.name() == list.name()) {
            return Err(duplicate(list.name()));
        }
        let loaded = Arc::new(load(list, &options)?);
        let mut guard = self.lists.write().unwrap_or_else(|e| e.into_inner());
        let name = loaded.list.name();
        let mut next: Vec<Arc<Loaded>> = Vec::with_capacity(guard.len() + 1);
        let mut replaced = false;
        for l in guard.iter() {
            if l.list.name() == name {
                if !replace {
                    return Err(duplicate(name));
                }
                // Keep the list's place in the load order.
                next.push(loaded.clone());
                replaced = true;
            } else {
                next.push(l.clone());
            }
        }
        if !replaced {
            next.push(loaded);
        }
        *guard = Arc::new(next);
        Ok(())
    }

    /// Removes the list called `name`; returns whether there was one.
    pub fn remove_list(&self, name: &str) -> bool {
        let mut guard = self.lists.write().unwrap_or_else(|e| e.into_inner());
        let next: Vec<_> = guard
            .iter()
            .filter(|l| l.list.name() != name)
            .cloned()
            .collect();
        let removed = next.len() != guard.len();
        *guard = Arc::new(next);
        removed
    }

    /// The loaded lists, in load order: name, version, kind, size, threshold and index.
    pub fn lists(&self) -> Vec<ListInfo> {
        self.snapshot()
            .iter()
            .map(|l| ListInfo {
                name: l.list.name().to_string(),
                version: l.list.version().to_string(),
                kind: l.list.kind(),
                role: l.list.role(),
                len: l.len,
                threshold: l.threshold,
                index: l.index_kind(),
                index_from_file: l.index_from_file,
            })
            .collect()
    }

    /// The distinct hash kinds of the loaded lists, in load order: what a query must be hashed as.
    pub fn kinds(&self) -> Vec<HashKind> {
        let mut kinds = Vec::new();
        for loaded in self.snapshot().iter() {
            if !kinds.contains(&loaded.list.kind()) {
                kinds.push(loaded.list.kind());
            }
        }
        kinds
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Loaded>>> {
        self.lists.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Searches one query against every loaded list of its kind.
    pub fn query(&self, query: &Query) -> QueryResult {
        self.query_in(&self.snapshot(), query)
    }

    /// Searches many queries in parallel (rayon); `result[i]` answers `queries[i]`. All queries of
    /// one call see the same lists.
    pub fn query_batch(&self, queries: &[Query]) -> Vec<QueryResult> {
        let lists = self.snapshot();
        queries
            .par_iter()
            .map(|q| self.query_in(&lists, q))
            .collect()
    }

    fn query_in(&self, lists: &[Arc<Loaded>], query: &Query) -> QueryResult {
        if let Some(q) = query.quality {
            let min = self.options.min_quality_of(query.kind);
            if q < min {
                return QueryResult::Skipped(SkipReason::LowQuality { quality: q, min });
            }
        }
        let mut any = false;
        let mut records = Vec::new();
        for (order, loaded) in lists.iter().enumerate() {
            if loaded.list.kind() != query.kind {
                continue;
            }
            any = true;
            // Best (smallest distance, then first orientation) per matched hash.
            let mut best: BTreeMap<u32, (u32, Option<Dihedral>)> = BTreeMap::new();
            loaded.search(&query.variants, |orientation, m| {
                let e = best.entry(m.index).or_insert((m.distance, orientation));
                if m.distance < e.0 {
                    *e = (m.distance, orientation);
                }
            });
            for (index, (distance, orientation)) in best {
                if let Some(r) = self.record(loaded, index as usize, distance, orientation, query) {
                    records.push((order, r));
                }
            }
        }
        if !any {
            return QueryResult::Skipped(SkipReason::NoListOfKind(query.kind));
        }
        records.sort_by_key(|(order, r)| (r.distance, *order, r.hash_index));
        QueryResult::Searched(records.into_iter().map(|(_, r)| r).collect())
    }

    /// The record of one matched hash: its entries that the category filter reports, or `None`
    /// when it reports none of them.
    fn record(
        &self,
        loaded: &Loaded,
        index: usize,
        distance: u32,
        orientation: Option<Dihedral>,
        query: &Query,
    ) -> Option<MatchRecord> {
        let filter = &self.options.categories;
        let check = !filter.passes_all();
        let mut entry_ids = Vec::new();
        let mut categories = Vec::new();
        for entry in loaded.list.entries_of(index) {
            let cats: Vec<String> = entry.categories().map(|c| c.to_string()).collect();
            if check && !filter.reports(&cats) {
                continue;
            }
            entry_ids.push(entry.id().to_string());
            categories.extend(cats);
        }
        if entry_ids.is_empty() {
            return None;
        }
        categories.sort_unstable();
        categories.dedup();
        Some(MatchRecord {
            list: loaded.list.name().to_string(),
            list_version: loaded.list.version().to_string(),
            hash_index: index,
            entry_ids,
            categories,
            distance,
            threshold: loaded.threshold,
            kind: loaded.list.kind(),
            role: loaded.list.role(),
            orientation,
            query_quality: query.quality,
        })
    }
}

/// Opens `list`'s index once: the file's section (validated in full) or one built here.
fn load(list: Arc<dyn AnyList>, options: &ListOptions) -> Result<Loaded> {
    let bits = list.kind().width();
    let kind = list.kind();
    if kind.is_exact() {
        if options.threshold.is_some_and(|t| t > 0) {
            return Err(ErrorKind::InvalidArgument(format!(
                "list {:?} holds exact {kind} hashes, which match by equality: a threshold does \
                 not apply",
                list.name()
            ))
            .into());
        }
        let len = list.list_hashes().len();
        if u32::try_from(len).is_err() {
            return Err(crate::Error::limit(
                crate::Limit::ListLen,
                "an exact-hash list of more than 4,294,967,295 hashes",
            ));
        }
        return Ok(Loaded {
            list,
            len,
            threshold: 0,
            index: ListIndex::Exact,
            index_from_file: false,
        });
    }
    let threshold = options.threshold.unwrap_or(match list.role() {
        ListRole::Allow => allow_threshold(kind),
        _ => kind.default_threshold(),
    });
    if threshold > bits {
        return Err(ErrorKind::InvalidArgument(format!(
            "threshold {threshold} exceeds the {bits}-bit hash width"
        ))
        .into());
    }
    let section = if options.index == IndexKind::Linear {
        None
    } else {
        IndexBytes::file_section(&list)
    };
    let index_from_file = section.is_some();
    let opts = IndexOptions::new(options.index).threshold(threshold);
    let len = list.list_hashes().len();
    let index = match list.list_hashes() {
        Hashes::Bits64(_) => ListIndex::Bits64(open_index(&list, section, &opts)?),
        Hashes::Bits256(_) => ListIndex::Bits256(open_index(&list, section, &opts)?),
        Hashes::Exact(_) => ListIndex::Exact,
    };
    Ok(Loaded {
        list,
        len,
        threshold,
        index,
        index_from_file,
    })
}

/// The index of `list`'s hashes: `section` opened and validated, or, without one, the index
/// `opts` ask for, built.
fn open_index<H: HashBits>(
    list: &Arc<dyn AnyList>,
    section: Option<IndexBytes>,
    opts: &IndexOptions,
) -> Result<SearchIndex<H, ListHashes<H>, IndexBytes>>
where
    for<'a> &'a [H]: TryFrom<Hashes<'a>>,
{
    let hashes = ListHashes {
        list: list.clone(),
        _hash: PhantomData,
    };
    match section {
        Some(bytes) => SearchIndex::open(bytes, hashes),
        None => Ok(SearchIndex::build_over(hashes, opts)?.map_section(IndexBytes::Built)),
    }
}

/// The full O(n) check of a list's [`INDEX_SECTION`], if it has one: the section loads over the
/// list's hashes and every offset and id in it is in range. For `hashsieve verify`.
///
/// # Errors
///
/// As [`SearchIndex::load`]: [`ErrorKind::Corrupt`], [`ErrorKind::Mismatch`] and so on,
/// describing the first problem found.
pub fn verify_index_section<D: AsRef<[u8]>>(list: &HashList<D>) -> Result<()> {
    fn check<H: HashBits>(section: &[u8], hashes: &[H]) -> Result<()> {
        // `load` validates in full.
        SearchIndex::load(section, hashes).map(drop)
    }
    match (list.section(INDEX_SECTION), list.hashes()) {
        (None, _) => Ok(()),
        (Some(s), Hashes::Bits64(h)) => check(s, h),
        (Some(s), Hashes::Bits256(h)) => check(s, h),
        (Some(_), Hashes::Exact(_)) => Err(crate::Error::corrupt(
            "hash list",
            "an exact-hash list has a search index section; exact lists carry none",
        )),
    }
}

impl Loaded {
    fn index_kind(&self) -> IndexKind {
        match &self.index {
            ListIndex::Bits64(i) => i.kind(),
            ListIndex::Bits256(i) => i.kind(),
            ListIndex::Exact => IndexKind::Linear,
        }
    }

    /// Searches every variant of a query with the list's index; `found` sees each match with
    /// the orientation of the variant that produced it.
    fn search(&self, variants: &[Variant], found: impl FnMut(Option<Dihedral>, &Match)) {
        match &self.index {
            ListIndex::Bits64(index) => self.search_in(index, variants, found, |v| match v {
                HashValue::Bits64(q) => Some(*q),
                _ => None,
            }),
            ListIndex::Bits256(index) => self.search_in(index, variants, found, |v| match v {
                HashValue::Bits256(q) => Some(*q),
                _ => None,
            }),
            ListIndex::Exact => {
                let Hashes::Exact(keys) = self.list.list_hashes() else {
                    return;
                };
                let mut found = found;
                for v in variants {
                    if let HashValue::Exact(d) = &v.hash {
                        if let Some(i) = keys.position(d) {
                            found(v.orientation, &Match::new(i as u32, 0));
                        }
                    }
                }
            }
        }
    }

    fn search_in<H: HashBits>(
        &self,
        index: &impl Index<Hash = H>,
        variants: &[Variant],
        mut found: impl FnMut(Option<Dihedral>, &Match),
        width: impl Fn(&HashValue) -> Option<H>,
    ) {
        let mut out = Vec::new();
        for v in variants {
            if let Some(q) = width(&v.hash) {
                index.range(&q, self.threshold, &mut out);
                out.iter().for_each(|m| found(v.orientation, m));
            }
        }
    }
}
