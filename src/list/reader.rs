//! The reader: [`HashList`] over any byte buffer, zero-copy views of the hashes, entry access and
//! the full [`HashList::verify`] pass.

use std::fmt;
use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;

use memmap2::Mmap;

use super::exact::ExactKeys;
use super::raw::{self, Header, ListRole};
use crate::bytes::{self, to_usize};
use crate::error::{Error, ErrorKind, Limit, Result};
use crate::hash::{Hash256, Hash64, HashKind, HashValue};

/// What list errors name.
const WHAT: &str = "hash list";

/// A structural fault in the list.
fn corrupt(detail: impl Into<String>) -> Error {
    Error::corrupt(WHAT, detail)
}

/// Reads a little-endian `u64` at `at`, or 0 when out of bounds (never after a successful open).
#[inline]
fn rd_u64(bytes: &[u8], at: usize) -> u64 {
    bytes::le_u64(bytes, at)
}

/// Reads a little-endian `u32` at `at`, or `u32::MAX` (out of every table) when out of bounds.
#[inline]
fn rd_u32(bytes: &[u8], at: usize) -> u32 {
    bytes::u32_at_byte(bytes, at).unwrap_or(u32::MAX)
}

/// A byte range of the file, known to be in bounds after open.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    at: usize,
    len: usize,
}

impl Span {
    fn slice<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        self.at
            .checked_add(self.len)
            .and_then(|end| bytes.get(self.at..end))
            .unwrap_or(&[])
    }
}

/// A "ragged array" section: `count`, `count + 1` offsets, then elements of `width` bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Ragged {
    count: usize,
    offsets_at: usize,
    elems_at: usize,
    /// Number of elements (not bytes).
    elems: usize,
    width: usize,
}

impl Ragged {
    fn parse(bytes: &[u8], span: Span, width: usize, what: &str) -> Result<Ragged> {
        if span.len < 8 {
            return Err(corrupt(format!(
                "section {what} is shorter than its count field"
            )));
        }
        let count = rd_u64(bytes, span.at);
        let offsets_len = count
            .checked_add(1)
            .and_then(|c| c.checked_mul(8))
            .filter(|&l| l <= (span.len - 8) as u64)
            .ok_or_else(|| {
                corrupt(format!(
                    "section {what} declares more items than it has room for"
                ))
            })? as usize;
        let elem_bytes = span.len - 8 - offsets_len;
        if !elem_bytes.is_multiple_of(width) {
            return Err(corrupt(format!("section {what} has a partial element")));
        }
        let r = Ragged {
            count: count as usize,
            offsets_at: span.at + 8,
            elems_at: span.at + 8 + offsets_len,
            elems: elem_bytes / width,
            width,
        };
        if r.offset(bytes, 0) != 0 || r.offset(bytes, r.count) != r.elems as u64 {
            return Err(corrupt(format!(
                "section {what}: its offset table does not span its data"
            )));
        }
        Ok(r)
    }

    #[inline]
    fn offset(&self, bytes: &[u8], i: usize) -> u64 {
        rd_u64(bytes, self.offsets_at.saturating_add(i.saturating_mul(8)))
    }

    /// The raw bytes of item `i`; empty when `i` or its offsets are out of range (corrupt file).
    #[inline]
    fn get<'a>(&self, bytes: &'a [u8], i: usize) -> &'a [u8] {
        if i >= self.count {
            return &[];
        }
        let (a, b) = (self.offset(bytes, i), self.offset(bytes, i + 1));
        if a > b || b > self.elems as u64 {
            return &[];
        }
        let start = self.elems_at + a as usize * self.width;
        let end = self.elems_at + b as usize * self.width;
        bytes.get(start..end).unwrap_or(&[])
    }

    /// Checks that every item of a string table is UTF-8, after
    /// [`verify_offsets`](Ragged::verify_offsets): one validation of all the elements, plus a
    /// check that every item starts on a character boundary (equivalent to validating each
    /// item, and several times faster for millions of short ids).
    fn verify_utf8(&self, bytes: &[u8], what: &str) -> Result<()> {
        let elems = Span {
            at: self.elems_at,
            len: self.elems,
        }
        .slice(bytes);
        let bad = |i: usize| corrupt(format!("section {what}: item {i} is not valid UTF-8"));
        if let Err(e) = std::str::from_utf8(elems) {
            // Name the item that holds the first bad byte.
            let at = e.valid_up_to() as u64;
            let i = (0..self.count)
                .find(|&i| self.offset(bytes, i + 1) > at)
                .unwrap_or(0);
            return Err(bad(i));
        }
        for i in 1..self.count {
            let o = to_usize(self.offset(bytes, i));
            if elems.get(o).is_some_and(|&b| b & 0xc0 == 0x80) {
                // Item i starts (and item i - 1 ends) inside a character.
                return Err(bad(i));
            }
        }
        Ok(())
    }

    /// Full structural check: offsets non-decreasing (first and last were checked at open).
    fn verify_offsets(&self, bytes: &[u8], what: &str) -> Result<()> {
        let mut prev = 0u64;
        for i in 1..=self.count {
            let o = self.offset(bytes, i);
            if o < prev {
                return Err(corrupt(format!(
                    "section {what}: offset {i} goes backwards"
                )));
            }
            prev = o;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
struct CatLayout {
    entry_sets: Span,
    sets: Ragged,
    names: Ragged,
}

#[derive(Clone, Copy, Debug)]
struct SrcLayout {
    entry_sources: Span,
    names: Ragged,
}

/// Where everything is, resolved once at open from the header.
#[derive(Clone, Debug)]
struct Layout {
    kind: HashKind,
    width: usize,
    hash_count: usize,
    entry_count: usize,
    hashes: Span,
    hash_entries: Span,
    ids: Ragged,
    quality: Option<Span>,
    categories: Option<CatLayout>,
    sources: Option<SrcLayout>,
    metadata: Option<Ragged>,
}

impl Layout {
    fn resolve(header: &Header, bytes: &[u8]) -> Result<Layout> {
        for s in &header.sections {
            if s.is_required() && !raw::KNOWN_TAGS.contains(&s.tag) {
                return Err(Error::unsupported(format!(
                    "the list needs section {}, which this build does not know; upgrade hashsieve",
                    s.tag_name()
                )));
            }
        }
        let span = |tag: [u8; 4]| -> Result<Option<Span>> {
            let Some(s) = header.section(tag) else {
                return Ok(None);
            };
            let at = usize::try_from(s.offset).map_err(|_| corrupt("section offset too large"))?;
            let len = usize::try_from(s.length).map_err(|_| corrupt("section length too large"))?;
            match at.checked_add(len) {
                Some(end) if end <= bytes.len() => Ok(Some(Span { at, len })),
                _ => Err(Error::truncated(
                    format!("hash list (section {})", raw::tag_name(tag)),
                    (at as u64).saturating_add(len as u64),
                    bytes.len() as u64,
                )),
            }
        };
        let need = |tag: [u8; 4]| -> Result<Span> {
            span(tag)?.ok_or_else(|| {
                corrupt(format!(
                    "required section {} is missing",
                    raw::tag_name(tag)
                ))
            })
        };
        let kind = header.kind;
        let width = kind.width() as usize / 8;
        let hash_count = usize::try_from(header.hash_count).map_err(|_| {
            Error::limit(
                Limit::ListLen,
                "the hash count is too large for this platform",
            )
        })?;
        let entry_count = usize::try_from(header.entry_count).map_err(|_| {
            Error::limit(
                Limit::ListLen,
                "the entry count is too large for this platform",
            )
        })?;
        if entry_count < hash_count || (hash_count == 0) != (entry_count == 0) {
            return Err(corrupt(format!(
                "header declares {hash_count} hashes but {entry_count} entries; every hash needs \
                 at least one entry"
            )));
        }
        let expect_len = |s: Span, n: usize, w: usize, what: &str| -> Result<()> {
            if n.checked_mul(w) != Some(s.len) {
                return Err(corrupt(format!(
                    "section {what} is {} bytes; {n} items of {w} bytes expected",
                    s.len
                )));
            }
            Ok(())
        };

        let hashes = need(raw::TAG_HASHES)?;
        expect_len(hashes, hash_count, width, "HASH")?;
        if hashes.at % raw::ALIGN != 0 {
            return Err(corrupt("section HASH is not 64-byte aligned"));
        }
        let hash_entries = need(raw::TAG_HASH_ENTRIES)?;
        let hent_items = hash_count
            .checked_add(1)
            .ok_or_else(|| corrupt("count overflow"))?;
        expect_len(hash_entries, hent_items, 8, "HENT")?;
        if rd_u64(bytes, hash_entries.at) != 0
            || rd_u64(bytes, hash_entries.at + 8 * hash_count) != entry_count as u64
        {
            return Err(corrupt("section HENT does not span the entry table"));
        }
        let ids = Ragged::parse(bytes, need(raw::TAG_ENTRY_IDS)?, 1, "EIDS")?;
        if ids.count != entry_count {
            return Err(corrupt(format!(
                "section EIDS holds {} ids; the header declares {entry_count} entries",
                ids.count
            )));
        }
        let quality = span(raw::TAG_ENTRY_QUALITY)?;
        if let Some(q) = quality {
            expect_len(q, entry_count, 1, "EQUA")?;
        }
        let categories = match span(raw::TAG_ENTRY_CATEGORIES)? {
            None => None,
            Some(entry_sets) => {
                expect_len(entry_sets, entry_count, 4, "ECAT")?;
                let sets = Ragged::parse(bytes, need(raw::TAG_CATEGORY_SETS)?, 4, "CSET")?;
                let names = Ragged::parse(bytes, need(raw::TAG_CATEGORY_NAMES)?, 1, "CATN")?;
                if names.count % 2 != 0 {
                    return Err(corrupt("section CATN holds an odd number of strings"));
                }
                Some(CatLayout {
                    entry_sets,
                    sets,
                    names,
                })
            }
        };
        let sources = match span(raw::TAG_ENTRY_SOURCES)? {
            None => None,
            Some(entry_sources) => {
                expect_len(entry_sources, entry_count, 4, "ESRC")?;
                let names = Ragged::parse(bytes, need(raw::TAG_SOURCE_NAMES)?, 1, "SRCN")?;
                Some(SrcLayout {
                    entry_sources,
                    names,
                })
            }
        };
        let metadata = match span(raw::TAG_ENTRY_METADATA)? {
            None => None,
            Some(s) => {
                let r = Ragged::parse(bytes, s, 1, "EMET")?;
                if r.count != entry_count {
                    return Err(corrupt(format!(
                        "section EMET holds {} items; the header declares {entry_count} entries",
                        r.count
                    )));
                }
                Some(r)
            }
        };
        Ok(Layout {
            kind,
            width,
            hash_count,
            entry_count,
            hashes,
            hash_entries,
            ids,
            quality,
            categories,
            sources,
            metadata,
        })
    }
}

/// The non-generic view every accessor goes through: the file's bytes and their layout.
#[derive(Clone, Copy)]
struct View<'a> {
    bytes: &'a [u8],
    layout: &'a Layout,
}

impl<'a> View<'a> {
    /// The entry range of hash `i`, clamped into the entry table.
    #[inline]
    fn entry_range(&self, i: usize) -> (usize, usize) {
        let at = self.layout.hash_entries.at;
        let s = to_usize(rd_u64(self.bytes, at.saturating_add(i.saturating_mul(8))));
        let e = to_usize(rd_u64(
            self.bytes,
            at.saturating_add((i + 1).saturating_mul(8)),
        ));
        let e = e.min(self.layout.entry_count);
        (s.min(e), e)
    }
}

/// A hash list: sorted unique hashes, each with one or more [`Entry`]s, read from a file or any
/// byte buffer without copying.
///
/// `D` is the storage: a memory map ([`HashList::open_mmap`], `unsafe`: the caller promises
/// the file is not changed while mapped), a `Vec<u8>` ([`HashList::read`]), a `&'static [u8]`,
/// anything that is `AsRef<[u8]>` ([`HashList::from_bytes`]). Every one of these checks every
/// byte of the list before it returns ([`HashList::verify`]: section checksums, padding,
/// structure), so a list never answers from corrupt bytes.
///
/// [`HashList::from_bytes_unverified`] is the one way to skip that check (constant time:
/// header and section table only). A corrupt file opened that way still cannot make an
/// accessor panic, but it yields placeholder values: an entry range out of bounds is clamped
/// (possibly to no entries), an id whose offsets are out of range or whose bytes are not UTF-8
/// reads as `""` (its raw bytes stay available through [`Entry::id_bytes`]), an out-of-range
/// quality is `None`, an out-of-range category or source reference is skipped or `None`.
/// Lookups by value assume the hashes are sorted; on an unsorted (corrupt) file they may miss.
///
/// ```
/// use hashsieve::{HashKind, Hash256, HashList, ListBuilder, list::EntryMeta};
/// let h: Hash256 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
/// let mut builder = ListBuilder::new(HashKind::Pdq).name("example").created(0);
/// builder.add(h, EntryMeta::new("id-1").quality(100))?;
/// builder.add(h, EntryMeta::new("id-2"))?;
/// let list = HashList::from_bytes(builder.to_vec()?)?;
/// assert_eq!((list.len(), list.entry_count()), (1, 2));
/// assert_eq!(list.hashes256(), Some(&[h][..]));
/// let ids: Vec<&str> = list.entries_of(0).map(|e| e.id()).collect();
/// assert_eq!(ids, ["id-1", "id-2"]);
/// list.verify()?;
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub struct HashList<D = Mmap> {
    data: D,
    header: Header,
    layout: Layout,
    /// The hashes as native `u64` limbs, when the buffer cannot be viewed in place (not 8-byte
    /// aligned, or a big-endian target). Filled on first use.
    owned_limbs: OnceLock<Box<[u64]>>,
}

impl<D> fmt::Debug for HashList<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashList")
            .field("kind", &self.header.kind)
            .field("name", &self.header.name)
            .field("version", &self.header.list_version)
            .field("hashes", &self.layout.hash_count)
            .field("entries", &self.layout.entry_count)
            .finish_non_exhaustive()
    }
}

/// Opens `path` for reading if it is a regular file ([`crate::fs::open_regular`]), with its length.
fn open_regular(path: &Path) -> Result<(File, u64)> {
    let file = crate::fs::open_regular(path)?;
    let len = file.metadata()?.len();
    Ok((file, len))
}

impl HashList<Mmap> {
    /// Memory-maps the list file at `path` and checks every byte of it ([`HashList::verify`])
    /// before returning.
    ///
    /// The mapping shares the page cache, and the check is one pass over the file (see
    /// [`HashList::from_bytes`] for its cost). Mapping is an explicit opt-in, as in `fst` and
    /// `ripgrep`: [`HashList::read`] is the safe alternative that copies the file into memory.
    ///
    /// Paths that are not regular files (FIFOs, sockets, devices, directories) are refused
    /// before they are opened, so this never blocks on a pipe.
    ///
    /// # Safety
    ///
    /// The file must not be modified or truncated while the returned list (or anything
    /// borrowed from it) is alive. Truncating a mapped file makes the next access to the lost
    /// pages raise `SIGBUS`, which kills the process; modifying it in place changes bytes after
    /// they were checked, so answers may be wrong. Replace list files by writing a new file in
    /// the same directory and renaming it over the old one (as [`ListBuilder::write`]
    /// does): processes that have the old file mapped keep reading the old, intact file. Never
    /// `cp` or write over a list that may be in use.
    ///
    /// [`ListBuilder::write`]: crate::ListBuilder::write
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be opened or mapped or the path is not a regular
    /// file (`InvalidInput`), and as [`HashList::from_bytes`] for an empty,
    /// truncated, corrupt or unsupported file. Errors carry the path.
    ///
    /// ```no_run
    /// // SAFETY: lists in this directory are only ever replaced by rename.
    /// let list = unsafe { hashsieve::HashList::open_mmap("known.hsl")? };
    /// println!("{} hashes", list.len());
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub unsafe fn open_mmap(path: impl AsRef<Path>) -> Result<HashList<Mmap>> {
        let path = path.as_ref();
        let inner = || -> Result<HashList<Mmap>> {
            let (file, len) = open_regular(path)?;
            if len == 0 {
                return Err(Error::unsupported(
                    "the file is empty; it is not a hash list",
                ));
            }
            // SAFETY: the caller promises (this function's contract) that the file is not
            // modified or truncated while mapped. Every access to the mapped bytes is
            // bounds-checked against the mapping's length.
            let map = unsafe { Mmap::map(&file)? };
            HashList::from_bytes(map)
        };
        inner().map_err(|e| e.with_path(path))
    }
}

impl HashList<Vec<u8>> {
    /// Reads the whole list file at `path` into memory and checks every byte of it
    /// ([`HashList::verify`]).
    ///
    /// Unlike [`HashList::open_mmap`] this is safe whatever happens to the file afterwards, at
    /// the cost of reading it all into memory. Paths that are not regular files (FIFOs,
    /// sockets, devices, directories) are refused before they are opened.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be read or the path is not a regular file
    /// (`InvalidInput`), and as [`HashList::from_bytes`]. Errors carry the path.
    ///
    /// ```no_run
    /// let list = hashsieve::HashList::read("known.hsl")?;
    /// println!("{} hashes", list.len());
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn read(path: impl AsRef<Path>) -> Result<HashList<Vec<u8>>> {
        let path = path.as_ref();
        let inner = || -> Result<HashList<Vec<u8>>> {
            let (mut file, len) = open_regular(path)?;
            let mut data = Vec::new();
            // A (sparse) file larger than memory is an error, not an abort.
            usize::try_from(len)
                .ok()
                .and_then(|len| data.try_reserve_exact(len).ok())
                .ok_or_else(|| {
                    Error::new(ErrorKind::InvalidArgument(format!(
                        "the file is {len} bytes, more than this process can hold in memory"
                    )))
                })?;
            std::io::Read::read_to_end(&mut file, &mut data)?;
            HashList::from_bytes(data)
        };
        inner().map_err(|e| e.with_path(path))
    }
}

impl<D: AsRef<[u8]>> HashList<D> {
    /// Reads a list from any byte buffer and checks every byte of it ([`HashList::verify`]):
    /// the header, every section's checksum (including sections this build does not
    /// interpret, such as a persisted search index), the padding and the structure. No answer
    /// is ever given from bytes whose checksum was not checked.
    ///
    /// The check is one pass over the buffer, about 4 to 5 GiB/s on one core (`cargo bench
    /// --bench list -- open_`, a 2-core Xeon VM under load: 16 ms for a 1M-entry PDQ list of
    /// 89 MB, 0.2 s for 10M entries, 896 MB; the header-only open takes about 20 µs). A
    /// caller that has already verified these exact bytes (a file verified once and since
    /// kept read-only) can skip it with [`HashList::from_bytes_unverified`].
    ///
    /// The buffer needs no particular alignment: when the hashes cannot be viewed in place
    /// (the buffer's address is not a multiple of 8, or the target is big-endian), they are
    /// copied once, on first access.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Truncated`] when the buffer is shorter than its header says (an
    ///   interrupted copy);
    /// - [`ErrorKind::Version`] for a format version this build does not read;
    /// - [`ErrorKind::Unsupported`] when the bytes are not a hash list (empty, bad magic), or
    ///   need a hash algorithm or section this build does not know;
    /// - [`ErrorKind::Checksum`] when the header or a section fails its checksum;
    /// - [`ErrorKind::Corrupt`] for any structural fault.
    pub fn from_bytes(data: D) -> Result<HashList<D>> {
        let list = HashList::from_bytes_unverified(data)?;
        list.verify()?;
        Ok(list)
    }

    /// Reads a list from a byte buffer checking its header and section table only, in
    /// constant time: **the section checksums are not checked**.
    ///
    /// This is the one way to skip [`HashList::verify`]. Use it only for bytes that were
    /// verified before and cannot have changed since (say, a file verified once and then kept
    /// read-only, mapped again by a restarted process), or to inspect a damaged file's header.
    /// A corrupt file opened this way cannot make an accessor panic, but it can give wrong
    /// answers: wrong ids, missing entries, missed matches (see [`HashList`]).
    ///
    /// # Errors
    ///
    /// As [`HashList::from_bytes`], for the header and section table only: the checksum is
    /// that of the header.
    pub fn from_bytes_unverified(data: D) -> Result<HashList<D>> {
        let bytes = data.as_ref();
        let header = Header::parse(bytes)?;
        if header.file_len != bytes.len() as u64 {
            return Err(if (bytes.len() as u64) < header.file_len {
                Error::truncated(WHAT, header.file_len, bytes.len() as u64)
            } else {
                corrupt(format!(
                    "the file is {} bytes but its header says {}; it has trailing data",
                    bytes.len(),
                    header.file_len
                ))
            });
        }
        let layout = Layout::resolve(&header, bytes)?;
        Ok(HashList {
            data,
            header,
            layout,
            owned_limbs: OnceLock::new(),
        })
    }

    #[inline]
    fn view(&self) -> View<'_> {
        View {
            bytes: self.data.as_ref(),
            layout: &self.layout,
        }
    }

    /// The storage this list reads from.
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// The parsed header (format version, counts, section table).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The number of unique hashes.
    pub fn len(&self) -> usize {
        self.layout.hash_count
    }

    /// Whether the list has no hashes.
    pub fn is_empty(&self) -> bool {
        self.layout.hash_count == 0
    }

    /// The number of entries (ids); at least [`len`](HashList::len).
    pub fn entry_count(&self) -> usize {
        self.layout.entry_count
    }

    /// The hash algorithm of the list.
    pub fn kind(&self) -> HashKind {
        self.layout.kind
    }

    /// Whether this is a block list or an allow-list (known good).
    pub fn role(&self) -> ListRole {
        self.header.role
    }

    /// The list's name (may be empty).
    pub fn name(&self) -> &str {
        &self.header.name
    }

    /// The list's version string (may be empty).
    pub fn version(&self) -> &str {
        &self.header.list_version
    }

    /// Creation time, seconds since the Unix epoch.
    pub fn created(&self) -> u64 {
        self.header.created
    }

    /// The raw bytes of the section with this tag, known or not; `None` when absent.
    ///
    /// Sections start at a 64-byte aligned offset of the file. Their checksums were checked
    /// when the list was opened, unless it was opened with
    /// [`from_bytes_unverified`](HashList::from_bytes_unverified).
    pub fn section(&self, tag: [u8; 4]) -> Option<&[u8]> {
        let s = self.header.section(tag)?;
        let span = Span {
            at: to_usize(s.offset),
            len: to_usize(s.length),
        };
        Some(span.slice(self.data.as_ref()))
    }

    /// The keys of an exact-hash list (MD5, SHA-1, SHA-256), zero-copy; `None` for a
    /// perceptual list.
    pub fn exact_keys(&self) -> Option<ExactKeys<'_>> {
        self.layout.kind.is_exact().then(|| {
            ExactKeys::new(
                self.layout.kind,
                self.layout.hashes.slice(self.data.as_ref()),
            )
        })
    }

    /// The hashes as native `u64` limbs (4 per hash for 256-bit lists; none for exact lists).
    fn limbs(&self) -> &[u64] {
        if self.layout.kind.is_exact() {
            return &[];
        }
        let raw = self.layout.hashes.slice(self.data.as_ref());
        let aligned = (raw.as_ptr() as usize).is_multiple_of(std::mem::align_of::<u64>());
        if cfg!(target_endian = "little") && aligned {
            // SAFETY: `raw` is in bounds and borrowed from `self.data` for the returned lifetime;
            // its address is 8-byte aligned (checked above); its length is a multiple of 8 (open
            // checked it is `hash_count * width` with width 8 or 32); every bit pattern is a
            // valid `u64`; on a little-endian target the stored little-endian limbs are the
            // in-memory representation.
            unsafe { std::slice::from_raw_parts(raw.as_ptr().cast::<u64>(), raw.len() / 8) }
        } else {
            self.owned_limbs.get_or_init(|| {
                raw.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect()
            })
        }
    }

    /// The hashes, sorted ascending, as a typed slice.
    pub fn hashes(&self) -> Hashes<'_> {
        if let Some(keys) = self.exact_keys() {
            return Hashes::Exact(keys);
        }
        let limbs = self.limbs();
        if self.layout.width == 8 {
            // SAFETY: `Hash64` is `#[repr(transparent)]` over `u64`: same size, alignment and
            // validity, so a `&[u64]` is a valid `&[Hash64]` of the same length.
            Hashes::Bits64(unsafe {
                std::slice::from_raw_parts(limbs.as_ptr().cast::<Hash64>(), limbs.len())
            })
        } else {
            // SAFETY: `Hash256` is `#[repr(transparent)]` over `[u64; 4]`, which has the size of
            // four `u64`s and the alignment of one; `limbs` is aligned for `u64` and its length
            // is a multiple of 4 (the width is 32 bytes), so it holds `len / 4` valid `Hash256`s.
            Hashes::Bits256(unsafe {
                std::slice::from_raw_parts(limbs.as_ptr().cast::<Hash256>(), limbs.len() / 4)
            })
        }
    }

    /// The hashes of a 256-bit perceptual list (PDQ, the `*256` imagehash kinds), zero-copy;
    /// `None` for a 64-bit or exact-hash list (SHA-256 lists are [`exact_keys`](HashList::exact_keys)).
    pub fn hashes256(&self) -> Option<&[Hash256]> {
        match self.hashes() {
            Hashes::Bits256(h) => Some(h),
            _ => None,
        }
    }

    /// The hashes of a 64-bit list (pHash, dHash, aHash, wHash), zero-copy; `None` for a
    /// 256-bit or exact-hash list.
    pub fn hashes64(&self) -> Option<&[Hash64]> {
        match self.hashes() {
            Hashes::Bits64(h) => Some(h),
            _ => None,
        }
    }

    /// The hash at `index`, or `None` past the end.
    pub fn hash(&self, index: usize) -> Option<HashValue> {
        self.hashes().get(index)
    }

    /// The index of `hash` in the list (binary search; interpolation then binary search for
    /// an exact digest), or `None` when absent or of another width or kind.
    pub fn position(&self, hash: impl Into<HashValue>) -> Option<usize> {
        match (self.hashes(), hash.into()) {
            (Hashes::Bits64(h), HashValue::Bits64(q)) => h.binary_search(&q).ok(),
            (Hashes::Bits256(h), HashValue::Bits256(q)) => {
                h.binary_search_by(|x| order256(x).cmp(&order256(&q))).ok()
            }
            (Hashes::Exact(k), HashValue::Exact(d)) => k.position(&d),
            _ => None,
        }
    }

    /// The entries (ids and metadata) of the hash at `hash_index`, in insertion order.
    ///
    /// # Panics
    ///
    /// Panics if `hash_index >= self.len()` (a caller bug); use [`get`](HashList::get) for a
    /// checked lookup.
    pub fn entries_of(&self, hash_index: usize) -> Entries<'_> {
        assert!(
            hash_index < self.len(),
            "hash index {hash_index} out of range for a list of {} hashes",
            self.len()
        );
        let view = self.view();
        let (next, end) = view.entry_range(hash_index);
        Entries { view, next, end }
    }

    /// The hash at `index` with its entries, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<(HashValue, Entries<'_>)> {
        let hash = self.hash(index)?;
        Some((hash, self.entries_of(index)))
    }

    /// The entry at `index` of the entry table (entries are grouped by hash, in hash order).
    pub fn entry(&self, index: usize) -> Option<Entry<'_>> {
        (index < self.layout.entry_count).then(|| Entry {
            view: self.view(),
            index,
        })
    }

    /// Every hash in order, with its entries.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            hashes: self.hashes(),
            view: self.view(),
            next: 0,
        }
    }

    /// Checks every byte: each section's CRC-32C, zero padding between sections, and the
    /// structure (hashes sorted and unique, entry ranges and string offsets monotonic and in
    /// bounds, ids and names valid UTF-8, quality values in 0..=100, category and source
    /// tables well formed, sorted and distinct, every reference into them in range).
    /// O(file size).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Checksum`] naming the section whose checksum fails, or
    /// [`ErrorKind::Corrupt`] describing the first structural fault.
    pub fn verify(&self) -> Result<()> {
        verify(
            self.data.as_ref(),
            &self.header,
            &self.layout,
            self.hashes(),
        )
    }
}

impl<'a, D: AsRef<[u8]>> IntoIterator for &'a HashList<D> {
    type Item = (HashValue, Entries<'a>);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The sort key of a 256-bit hash: the integer's limbs, most significant first. The list is
/// sorted by this key, which is also the order of the lowercase hex text.
#[inline]
pub(crate) fn order256(h: &Hash256) -> [u64; 4] {
    let l = h.limbs();
    [l[3], l[2], l[1], l[0]]
}

fn verify(bytes: &[u8], header: &Header, layout: &Layout, hashes: Hashes<'_>) -> Result<()> {
    // 1. Checksums and padding.
    let mut prev_end = header.header_len as usize;
    for s in &header.sections {
        let span = Span {
            at: to_usize(s.offset),
            len: to_usize(s.length),
        };
        let pad = bytes.get(prev_end..span.at).unwrap_or(&[]);
        if pad.iter().any(|&b| b != 0) {
            return Err(corrupt(format!(
                "non-zero padding before section {}",
                s.tag_name()
            )));
        }
        if raw::crc32c(span.slice(bytes)) != s.crc {
            return Err(Error::checksum(format!("section {}", s.tag_name())));
        }
        prev_end = span.at.saturating_add(span.len);
    }

    // 2. Hashes strictly ascending.
    let sorted = match hashes {
        Hashes::Bits64(h) => h.windows(2).all(|w| w[0] < w[1]),
        Hashes::Bits256(h) => h.windows(2).all(|w| order256(&w[0]) < order256(&w[1])),
        Hashes::Exact(k) => k.is_strictly_sorted(),
    };
    if !sorted {
        return Err(corrupt("the hashes are not sorted and unique"));
    }

    // 3. Entry ranges: strictly increasing (every hash has an entry), ends checked at open.
    let hent = layout.hash_entries;
    let mut prev = 0u64;
    for i in 1..=layout.hash_count {
        let v = rd_u64(bytes, hent.at + 8 * i);
        if v <= prev {
            return Err(corrupt(format!(
                "section HENT: hash {} has no entries or a backwards range",
                i - 1
            )));
        }
        prev = v;
    }

    // 4. Ids: offsets monotonic, each id valid UTF-8.
    layout.ids.verify_offsets(bytes, "EIDS")?;
    layout.ids.verify_utf8(bytes, "EIDS")?;

    // 4b. Entry metadata: offsets monotonic, UTF-8.
    if let Some(m) = &layout.metadata {
        m.verify_offsets(bytes, "EMET")?;
        m.verify_utf8(bytes, "EMET")?;
    }

    // 5. Quality bytes.
    if let Some(q) = layout.quality {
        if let Some(i) = q
            .slice(bytes)
            .iter()
            .position(|&v| v > 100 && v != raw::QUALITY_NONE)
        {
            return Err(corrupt(format!("entry {i}: quality is out of range")));
        }
    }

    // 6. Categories.
    if let Some(c) = &layout.categories {
        c.names.verify_offsets(bytes, "CATN")?;
        let mut prev_cat: Option<Category<'_>> = None;
        for j in 0..c.names.count / 2 {
            let scheme = std::str::from_utf8(c.names.get(bytes, 2 * j));
            let code = std::str::from_utf8(c.names.get(bytes, 2 * j + 1));
            let (Ok(scheme), Ok(code)) = (scheme, code) else {
                return Err(corrupt("section CATN: a category name is not valid UTF-8"));
            };
            let cat = Category { scheme, code };
            if !cat.is_valid() || prev_cat.is_some_and(|p| p >= cat) {
                return Err(corrupt(format!(
                    "section CATN: category {j} is malformed, duplicated or out of order"
                )));
            }
            prev_cat = Some(cat);
        }
        c.sets.verify_offsets(bytes, "CSET")?;
        let n_cats = (c.names.count / 2) as u64;
        let mut prev_set: Option<&[u8]> = None;
        for s in 0..c.sets.count {
            // Sets are distinct and sorted; comparing the little-endian bytes is not the
            // numeric order, so compare element by element.
            let set = c.sets.get(bytes, s);
            let key = |b: &[u8]| -> Vec<u32> {
                b.chunks_exact(4)
                    .map(|x| u32::from_le_bytes(x.try_into().unwrap_or([0xff; 4])))
                    .collect()
            };
            if prev_set.is_some_and(|p| key(p) >= key(set)) {
                return Err(corrupt(format!(
                    "section CSET: set {s} is duplicated or out of order"
                )));
            }
            prev_set = Some(set);
            let mut prev: Option<u32> = None;
            for chunk in c.sets.get(bytes, s).chunks_exact(4) {
                let v = u32::from_le_bytes(chunk.try_into().unwrap_or([0xff; 4]));
                if u64::from(v) >= n_cats || prev.is_some_and(|p| p >= v) {
                    return Err(corrupt(format!(
                        "section CSET: set {s} has an out-of-range or unsorted category"
                    )));
                }
                prev = Some(v);
            }
        }
        for i in 0..layout.entry_count {
            let v = rd_u32(bytes, c.entry_sets.at + 4 * i);
            if v as usize >= c.sets.count {
                return Err(corrupt(format!(
                    "entry {i}: category set reference out of range"
                )));
            }
        }
    }

    // 7. Sources.
    if let Some(s) = &layout.sources {
        s.names.verify_offsets(bytes, "SRCN")?;
        let mut prev: Option<&str> = None;
        for i in 0..s.names.count {
            let Ok(name) = std::str::from_utf8(s.names.get(bytes, i)) else {
                return Err(corrupt("section SRCN: a source name is not valid UTF-8"));
            };
            if name.is_empty() || prev.is_some_and(|p| p >= name) {
                return Err(corrupt(format!(
                    "section SRCN: source {i} is empty, duplicated or out of order"
                )));
            }
            prev = Some(name);
        }
        for i in 0..layout.entry_count {
            let v = rd_u32(bytes, s.entry_sources.at + 4 * i);
            if v != raw::SOURCE_NONE && v as usize >= s.names.count {
                return Err(corrupt(format!("entry {i}: source reference out of range")));
            }
        }
    }
    Ok(())
}

/// The hashes of a list as a typed slice, sorted ascending by their integer value (the order
/// of their lowercase hex text).
///
/// New widths may be added: match with a wildcard arm.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hashes<'a> {
    /// The hashes of a 64-bit list.
    Bits64(&'a [Hash64]),
    /// The hashes of a 256-bit list.
    Bits256(&'a [Hash256]),
    /// The digests of an exact-hash list (MD5, SHA-1, SHA-256).
    Exact(ExactKeys<'a>),
}

// Debug shows the width and count only: lists can hold millions of hashes, and hash values
// stay out of logs.
impl fmt::Debug for Hashes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hashes::Bits64(h) => write!(f, "Hashes::Bits64(len {})", h.len()),
            Hashes::Bits256(h) => write!(f, "Hashes::Bits256(len {})", h.len()),
            Hashes::Exact(k) => write!(f, "Hashes::Exact({k:?})"),
        }
    }
}

impl<'a> Hashes<'a> {
    /// The number of hashes.
    pub fn len(&self) -> usize {
        match self {
            Hashes::Bits64(h) => h.len(),
            Hashes::Bits256(h) => h.len(),
            Hashes::Exact(k) => k.len(),
        }
    }

    /// Whether there are no hashes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash at `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<HashValue> {
        match self {
            Hashes::Bits64(h) => h.get(index).map(|&h| HashValue::Bits64(h)),
            Hashes::Bits256(h) => h.get(index).map(|&h| HashValue::Bits256(h)),
            Hashes::Exact(k) => k.get(index).map(HashValue::Exact),
        }
    }
}

/// An iterator over a list's hashes with their entries, from [`HashList::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    hashes: Hashes<'a>,
    view: View<'a>,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (HashValue, Entries<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let hash = self.hashes.get(self.next)?;
        let (start, end) = self.view.entry_range(self.next);
        self.next += 1;
        Some((
            hash,
            Entries {
                view: self.view,
                next: start,
                end,
            },
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.hashes.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

/// The entries of one hash, from [`HashList::entries_of`].
#[derive(Clone)]
pub struct Entries<'a> {
    view: View<'a>,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.next >= self.end {
            return None;
        }
        let e = Entry {
            view: self.view,
            index: self.next,
        };
        self.next += 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.saturating_sub(self.next);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        Some(Entry {
            view: self.view,
            index: self.end,
        })
    }
}

exact_size_iter!(Iter, Entries);

/// One entry of a list: an id (an NCMEC id, an MD5, a file name...) with optional metadata.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    view: View<'a>,
    index: usize,
}

impl<'a> Entry<'a> {
    /// The entry's position in the list's entry table.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The entry's id as raw bytes (UTF-8 in every file hashsieve writes; empty when the
    /// file's offsets are corrupt).
    pub fn id_bytes(&self) -> &'a [u8] {
        self.view.layout.ids.get(self.view.bytes, self.index)
    }

    /// The entry's id; `""` when the stored bytes are not UTF-8 or out of range (a corrupt file
    /// that [`HashList::verify`] rejects).
    pub fn id(&self) -> &'a str {
        std::str::from_utf8(self.id_bytes()).unwrap_or("")
    }

    /// The PDQ quality (0..=100) recorded with the hash, if any.
    pub fn quality(&self) -> Option<u8> {
        let q = self.view.layout.quality?;
        let v = *q.slice(self.view.bytes).get(self.index)?;
        (v <= 100).then_some(v)
    }

    /// The entry's categories, sorted by scheme then code.
    pub fn categories(&self) -> Categories<'a> {
        let view = self.view;
        let set: &'a [u8] = match &view.layout.categories {
            Some(c) => {
                let s = rd_u32(view.bytes, c.entry_sets.at.saturating_add(4 * self.index));
                c.sets.get(view.bytes, s as usize)
            }
            None => &[],
        };
        Categories { view, set }
    }

    /// The name of the list the entry came from, recorded by merges and updates.
    pub fn source(&self) -> Option<&'a str> {
        let s = self.view.layout.sources.as_ref()?;
        let v = rd_u32(
            self.view.bytes,
            s.entry_sources.at.saturating_add(4 * self.index),
        );
        if v == raw::SOURCE_NONE {
            return None;
        }
        std::str::from_utf8(s.names.get(self.view.bytes, v as usize)).ok()
    }

    /// The entry's opaque metadata (the `EMET` section: one compact JSON object, as written
    /// with [`EntryMeta::metadata`](super::EntryMeta::metadata)); `None` when there is none.
    /// Treat it as untrusted input when parsing it.
    pub fn metadata(&self) -> Option<&'a str> {
        let m = self.view.layout.metadata.as_ref()?;
        let b = m.get(self.view.bytes, self.index);
        if b.is_empty() {
            return None;
        }
        std::str::from_utf8(b).ok()
    }
}

impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("index", &self.index)
            .field("id", &self.id())
            .field("quality", &self.quality())
            .field("categories", &self.categories().collect::<Vec<_>>())
            .field("source", &self.source())
            .finish()
    }
}

/// A category label: a scheme and a code within it, e.g. `vics-us` / `1` or `uk` / `A`.
///
/// Its text form is `scheme:code`. Neither part is empty or contains whitespace; the scheme
/// contains no `:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category<'a> {
    /// The classification scheme, e.g. `vics-us`.
    pub scheme: &'a str,
    /// The code within the scheme, e.g. `1`.
    pub code: &'a str,
}

impl<'a> Category<'a> {
    /// A category from its parts.
    pub fn new(scheme: &'a str, code: &'a str) -> Category<'a> {
        Category { scheme, code }
    }

    /// Parses the text form `scheme:code`; a bare `code` takes `default_scheme`.
    ///
    /// ```
    /// use hashsieve::list::Category;
    /// assert_eq!(Category::parse("uk:A", "tag"), Category::new("uk", "A"));
    /// assert_eq!(Category::parse("urgent", "tag"), Category::new("tag", "urgent"));
    /// ```
    pub fn parse(text: &'a str, default_scheme: &'a str) -> Category<'a> {
        match text.split_once(':') {
            Some((scheme, code)) => Category { scheme, code },
            None => Category {
                scheme: default_scheme,
                code: text,
            },
        }
    }

    /// Whether both parts are well formed (non-empty, no whitespace or control characters, no
    /// `:` in the scheme).
    pub fn is_valid(&self) -> bool {
        let ok = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        ok(self.scheme) && ok(self.code) && !self.scheme.contains(':')
    }
}

impl fmt::Display for Category<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme, self.code)
    }
}

/// The categories of an entry, from [`Entry::categories`].
#[derive(Clone)]
pub struct Categories<'a> {
    view: View<'a>,
    set: &'a [u8],
}

impl<'a> Iterator for Categories<'a> {
    type Item = Category<'a>;

    fn next(&mut self) -> Option<Category<'a>> {
        let c = self.view.layout.categories.as_ref()?;
        while self.set.len() >= 4 {
            let (head, rest) = self.set.split_at(4);
            self.set = rest;
            let idx = u32::from_le_bytes(head.try_into().unwrap_or([0xff; 4])) as usize;
            let Some(pair) = idx.checked_mul(2) else {
                continue;
            };
            let scheme = std::str::from_utf8(c.names.get(self.view.bytes, pair));
            let code = std::str::from_utf8(c.names.get(self.view.bytes, pair.saturating_add(1)));
            if let (Ok(scheme), Ok(code)) = (scheme, code) {
                if !scheme.is_empty() && !code.is_empty() {
                    return Some(Category { scheme, code });
                }
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.set.len() / 4))
    }
}

impl fmt::Debug for Categories<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}
