//! Hash lists: a memory-mappable, versioned, checksummed file of known hashes and their ids.
//!
//! [`ListBuilder`] writes a list, [`HashList`] reads one (from a memory map or any byte buffer),
//! [`import`] reads the text formats hash-sharing tools use, [`export`] writes text back,
//! [`update`] applies deltas and merges lists, and [`raw`] exposes the header for tools.
//!
//! ```
//! use hashsieve::list::{import, EntryMeta, HashList, ListBuilder};
//! use hashsieve::HashKind;
//! let text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,photo-1\n";
//! let mut builder = ListBuilder::new(HashKind::Pdq).name("demo");
//! import::import(text.as_bytes(), "demo.txt", &import::ImportOptions::default(), &mut builder)?;
//! let list = HashList::from_bytes(builder.to_vec()?)?;
//! assert_eq!(list.entries_of(0).next().unwrap().id(), "photo-1");
//! # Ok::<(), hashsieve::Error>(())
//! ```
//!
//! # File format, versions 1 and 2
//!
//! This comment is the specification. [`raw::FORMAT_VERSION`] changes with it, in the same
//! commit. Conventions: every integer is **little-endian**; offsets are bytes from the start of
//! the file; CRC-32C is the Castagnoli CRC (`crc32c`, iSCSI polynomial, the one SSE4.2 and ARMv8
//! compute in hardware); "align64(x)" rounds `x` up to a multiple of 64.
//!
//! ## Layout
//!
//! ```text
//! [0, H)                      header (H = header_len, a multiple of 64)
//! [H, H + len0)               section 0
//! zero padding to align64     (0..=63 bytes)
//! [off1, off1 + len1)         section 1, off1 = align64(H + len0)
//! ...
//! [offN, offN + lenN)         last section; the file ends here, unpadded
//! ```
//!
//! Sections are laid out back to back in section-table order, each at the first 64-byte
//! boundary after the previous one. No other layout is valid: readers check
//! `offset[0] == header_len`, `offset[i+1] == align64(offset[i] + length[i])` and
//! `file_len == offset[last] + length[last]`. Because memory maps are page-aligned, every
//! section is 64-byte aligned in memory too, which lets the reader view the hash section as
//! `&[Hash256]` / `&[Hash64]` in place and lets SIMD kernels load whole cache lines.
//!
//! ## Header
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 8 | magic | `89 48 53 4C 0D 0A 1A 0A` (`\x89HSL\r\n\x1a\n`) |
//! | 8  | 4 | format_version | 1 or 2 (below). Readers accept [`raw::MIN_READ_VERSION`]`..=`[`raw::MAX_READ_VERSION`] |
//! | 12 | 4 | header_len | `align64(64 + 32·section_count + name_len + version_len + 4)`, exactly |
//! | 16 | 1 | algorithm | [`HashKind::code`](crate::HashKind::code): 1 pdq, 2 phash, 3 dhash, 4 ahash, 5 whash, 6 phash256, 7 dhash256, 8 ahash256, 9 whash256; from version 2: 10 md5, 11 sha1, 12 sha256 (exact kinds); unknown = error |
//! | 17 | 1 | role | version 1: reserved (written 0, ignored; the list is a block list). Version 2: [`ListRole`] 0 block, 1 allow; unknown = error |
//! | 18 | 2 | bits | hash width, 64 or 256 (perceptual), 128 md5, 160 sha1, 256 sha256; must agree with the algorithm |
//! | 20 | 4 | section_count | at most 256 |
//! | 24 | 8 | hash_count | unique hashes (`n`) |
//! | 32 | 8 | entry_count | entries (`m`); `m >= n`, and `n == 0` exactly when `m == 0` |
//! | 40 | 8 | created | creation time, seconds since the Unix epoch, UTC |
//! | 48 | 8 | file_len | total file length in bytes |
//! | 56 | 2 | name_len | bytes of the list name, at most 4096 |
//! | 58 | 2 | version_len | bytes of the list version string, at most 1024 |
//! | 60 | 4 | flags | reserved: written as 0, ignored by version-1 readers |
//! | 64 | 32·section_count | section table | see below |
//! | … | name_len | name | UTF-8 |
//! | … | version_len | version | UTF-8 (free text: a date, a serial number) |
//! | … | | padding | zeros up to `header_len - 4` |
//! | header_len − 4 | 4 | header_crc | CRC-32C of bytes `[0, header_len − 4)` |
//!
//! **Versions.** Version 2 adds the exact kinds (codes 10..=12) and the role byte; nothing else
//! changes. The writer writes the oldest version that can express the file
//! ([`raw::version_for`]): version 1 for block lists of perceptual hashes, which builds that
//! read only version 1 still open, and version 2 for exact-hash lists and allow-lists, which
//! those builds refuse ("format v2 is newer than this build reads"), as they must: an
//! allow-list read as a block list would report known-good files as matches. A version-1 file
//! with an exact algorithm code is an error.
//!
//! Section-table entry (32 bytes):
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 4 | tag | four bytes naming the section, e.g. `HASH`; unique within a file |
//! | 4  | 4 | flags | bit 0 = **required**: a reader that does not know the tag must refuse the file. Other bits reserved (0, ignored) |
//! | 8  | 8 | offset | start of the section (the layout rule above) |
//! | 16 | 8 | length | bytes of the section, padding excluded |
//! | 24 | 4 | crc | CRC-32C of the section's `length` bytes |
//! | 28 | 4 | reserved | 0 |
//!
//! Unknown optional sections are skipped, so files with sections added later still open in
//! this version; an unknown *required* section is an error.
//!
//! ## Checksum coverage
//!
//! Every byte of a valid file is covered: the header (padding included) by `header_crc`, each
//! section by its `crc`, and the 0..=63 padding bytes between sections by the rule that they are
//! zero. [`HashList::verify`] checks all three, so any corruption of any single byte is
//! detected (CRC-32C detects every error burst up to 32 bits long).
//!
//! ## Sections of version 1
//!
//! Two encodings recur. A **column** is `m` fixed-size values, one per entry, in entry-table
//! order. A **ragged table** holds `count` variable-length items:
//!
//! ```text
//! u64 count
//! u64 offsets[count + 1]       in elements; offsets[0] == 0, non-decreasing,
//!                              offsets[count] == number of elements
//! elements                     item i = elements[offsets[i] .. offsets[i+1]]
//! ```
//!
//! (strings: 1-byte elements, UTF-8; category sets: `u32` elements). The section length is
//! `8 + 8·(count + 1) + width·elements`, exactly.
//!
//! | tag | flags | content |
//! |-----|-------|---------|
//! | `HASH` | required | `n` hashes, strictly ascending by their unsigned integer value (= the order of their lowercase hex), no duplicates. 64-bit hashes are one `u64` each; 256-bit hashes are four `u64` limbs, least significant first (bits 0..64 of the integer first): exactly the in-memory layout of [`Hash256`](crate::Hash256) on little-endian machines. Length `8·n` or `32·n`. **Exact kinds** (md5, sha1, sha256): `n` digests of `w` = 16, 20 or 32 bytes, each its bytes in their usual order (the order of their hex text, the output of `md5sum`), back to back with no padding; strictly ascending in byte (memcmp) order, which is again the order of their hex. Length `w·n`. Searched in place ([`ExactKeys`]) |
//! | `HENT` | required | `n + 1` `u64`: the entries of hash `i` are entry-table rows `HENT[i] .. HENT[i+1]`. `HENT[0] == 0`, `HENT[n] == m`, strictly increasing (every hash has at least one entry) |
//! | `EIDS` | required | ragged table of `m` strings: the entry ids (an NCMEC id, an MD5, a file name). UTF-8, may be empty |
//! | `EQUA` | optional | column of `m` `u8`: PDQ quality 0..=100, or 255 = not recorded |
//! | `ECAT` | optional | column of `m` `u32`: the entry's category set, an index into `CSET` (set 0 is the empty set) |
//! | `CSET` | optional, present with `ECAT` | ragged table of `u32` elements: category sets, each strictly ascending category indices into `CATN`; the sets are distinct and sorted |
//! | `CATN` | optional, present with `ECAT` | ragged table of `2·k` strings: category `j` is (scheme `2j`, code `2j+1`), e.g. (`vics-us`, `1`); sorted by (scheme, code), distinct. Neither part empty or containing whitespace; no `:` in the scheme |
//! | `ESRC` | optional | column of `m` `u32`: the entry's source (the list it came from in a merge), an index into `SRCN`, or `0xFFFF_FFFF` = none |
//! | `SRCN` | optional, present with `ESRC` | ragged table of strings: source names, sorted, distinct |
//! | `EMET` | optional | ragged table of `m` strings: per entry, opaque metadata as one compact JSON object (UTF-8), or empty for none ([`EntryMeta::metadata`], [`Entry::metadata`]) |
//!
//! | `INDX` | optional, derived | a persistent search index over `HASH`: a BK-tree or multi-index hashing tables, told apart by their first 8 bytes (layouts below). Derived from `HASH` alone: dropping it loses no data, only the time to rebuild the index at load |
//!
//! **Entry metadata.** Category-like labels go in `ECAT`/`CSET`/`CATN`, which the matcher
//! reports and filters on: a hash set's category is the category (scheme `vics-us`, `caid`,
//! ... code `1`, `2`, ...), and boolean flags of a record that are set are categories of a
//! second scheme per source (`vics-flag:VictimIdentified`, `vics-flag:OffenderIdentified`,
//! `vics-flag:IsDistributed`). Everything else a record carries that must round-trip but is
//! never matched on (VICS `MediaID`, `Series`, `Tags`, `Comments`, `MediaSize`, opaque `PhotoDNA`
//! values, which this crate never computes or compares) goes in `EMET` as one JSON object per
//! entry with the source's field names as keys. The entry id (`EIDS`) is the record's own id
//! (`MediaID`) where it has one.
//!
//! The entry table is the set of columns indexed by entry row `0..m`. Rows are grouped by hash
//! in hash order; within a hash, rows keep the order in which they were added. The writer emits
//! `HASH`, `HENT`, `EIDS`, then the optional sections it needs in the order above (`INDX` when
//! asked for with [`ListBuilder::index`]), then any extra sections
//! ([`ListBuilder::add_section`]).
//!
//! ## Exact-hash lists
//!
//! An md5, sha1 or sha256 list has the same sections as any other (`HASH`, `HENT`, `EIDS`, the
//! optional entry columns); its `HASH` holds digests (above) and it has no `INDX`: the sorted
//! digests are the index. A lookup is an interpolation search on the digests' first 8 bytes
//! (read as a big-endian integer; digests are uniformly distributed, so it lands within a few
//! keys in `O(log log n)` probes), finished by a binary search, `O(log n)` at worst on any
//! sorted input. Digests match by equality only: there is no threshold.
//!
//! ## The search index section `INDX`
//!
//! [`INDEX_SECTION`]. Optional (flags 0): a reader that does not search with it may ignore it,
//! and a list without it is searched by building an index in memory at load time. The writer
//! builds it from the final, sorted and de-duplicated `HASH` section
//! ([`ListBuilder::index`]); [`update`] and merging re-derive the kind the input lists had
//! ([`HashList::index_kind`]). "List position `i`" below is hash `i` of `HASH`; the index
//! indexes every one of the `n` hashes exactly once. Both layouts are little-endian, count
//! their offsets from the start of the section and start every array at a multiple of 64
//! bytes of the section; since sections are 64-byte aligned in the file, arrays are too.
//!
//! A section whose first 8 bytes are neither magic is an error when it is used (an index kind
//! from a newer writer: upgrade hashsieve, or rebuild the list with `--index`). Each layout
//! carries its own version; a version other than 1 is refused the same way. The reader that
//! uses the section ([`Matcher`](crate::matching::Matcher)) validates it in full before the
//! first query (below), so a damaged index is an error, never a missed match.
//!
//! ### BK-tree, magic `HSIX-BKT`, version 1
//!
//! A 128-byte header, then four arrays:
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 8 | magic | `HSIX-BKT` (`48 53 49 58 2D 42 4B 54`) |
//! | 8  | 4 | version | 1 |
//! | 12 | 4 | bits | hash width, 64 or 256; must equal the list's |
//! | 16 | 8 | count | hashes indexed; must equal `n` (at most `u32::MAX`) |
//! | 24 | 8 | nodes | distinct hash values (`= n`: `HASH` is de-duplicated) |
//! | 32 | 8 | length | the section's length in bytes |
//! | 40 | 8 | id_start offset | `nodes + 1` `u32` |
//! | 48 | 8 | first_child offset | `nodes + 1` `u32` |
//! | 56 | 8 | key offset | `nodes` `u16` |
//! | 64 | 8 | ids offset | `count` `u32` |
//! | 72 | 56 | reserved | 0 |
//!
//! Nodes are numbered breadth-first from the root, node 0. The children of node `i` are nodes
//! `first_child[i] .. first_child[i + 1]`, numbered after `i` and sorted by key; `key[i]` is
//! the Hamming distance from node `i`'s hash to its parent's (0 for the root). Node `i` holds
//! list positions `ids[id_start[i] .. id_start[i + 1]]`, which all have the same hash; the first
//! is the one compared with a query. Validation: every list position appears exactly once,
//! children follow their parents, and every key is the real distance to the parent.
//!
//! ### Multi-index hashing, magic `HSIX-MIH`, version 1
//!
//! The hash is cut into `m` disjoint bit ranges (substrings), one table each; a query within
//! `r` of a hash is within `s_t` of it on some table `t` whenever `Σ (s_t + 1) = r + 1`, so
//! probing every table finds every match (candidates are then checked with the full distance).
//! A 64-byte header:
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 8 | magic | `HSIX-MIH` (`48 53 49 58 2D 4D 49 48`) |
//! | 8  | 4 | version | 1 |
//! | 12 | 4 | bits | hash width, 64 or 256; must equal the list's |
//! | 16 | 8 | count | hashes indexed; must equal `n` (at most `u32::MAX`) |
//! | 24 | 4 | m | number of tables, 1..=32 |
//! | 28 | 4 | reserved | 0 |
//! | 32 | 8 | length | the section's length in bytes |
//! | 40 | 24 | reserved | 0 |
//!
//! then `m` table descriptors of 64 bytes:
//!
//! | offset | size | field | meaning |
//! |-------:|-----:|-------|---------|
//! | 0  | 2 | start | first bit of the substring (bit `k` of the hash is bit `k % 64` of limb `k / 64`) |
//! | 2  | 1 | len | substring length, 1..=32 |
//! | 3  | 1 | b | directory bits, `0..=min(len, 24)` |
//! | 4  | 1 | c1 | inline bits, 0..=8 |
//! | 5  | 1 | c2 | extra bits, 0..=8; `b + c1 + c2 <= len` |
//! | 6  | 1 | L | id low bits, 1..=32 |
//! | 7  | 1 | reserved | 0 |
//! | 8  | 8 | directory offset | `2^b + 1` `u32` |
//! | 16 | 8 | inline offset | `count` bytes when `c1 > 0`, else none |
//! | 24 | 8 | chunks offset | |
//! | 32 | 8 | chunks length | `ceil(bits / 8) + 8` bytes with `bits = count·(1 + c2 + L) + 2^b·H` |
//! | 40 | 24 | reserved | 0 |
//!
//! For a table, `key` is the substring (its bit 0 is hash bit `start`); `bucket = key >> (len
//! − b)`; `inline = (key >> (len − b − c1)) mod 2^c1`; `extra = (key >> (len − b − c1 − c2))
//! mod 2^c2`; `H = ceil(count / 2^L)`. The substrings of the tables are disjoint (a reader
//! refuses overlapping descriptors).
//!
//! - Directory: prefix sums of bucket sizes: bucket `k` holds entries `dir[k] .. dir[k + 1]`,
//!   `dir[0] = 0`, `dir[2^b] = count`; within a bucket, entries ascend by list position (id).
//! - Inline bytes: entry `e` (directory order) has its `inline` value at byte `e`.
//! - Chunks: a little-endian bit stream (bit `i` is bit `i % 8` of byte `i / 8`). Bucket `k`,
//!   with `c` entries starting at entry `lo`, starts at bit `lo·(1 + c2 + L) + k·H`: `c + H`
//!   unary bits in which the bucket's `i`-th entry sets bit `i + (id >> L)` (Elias–Fano high
//!   parts), then `c` records of `c2 + L` bits, record `i` being `(extra << L) | (id mod 2^L)`.
//!
//! Validation: the descriptors tile the hash exactly, every array is in bounds, and every list
//! position is in each table exactly once, in the bucket its bits name, with its inline and
//! extra bits.
//!
//! The writer chooses the layout (tables, `b`, `c2`, `L`) from `n` and the threshold the index
//! is tuned for ([`IndexOptions::threshold`](crate::index::IndexOptions::threshold)); the
//! threshold is not stored, and any threshold is answered exactly.
//!
//! ## What readers check, and when
//!
//! Every constructor of [`HashList`] ([`HashList::read`], [`HashList::open_mmap`],
//! [`HashList::from_bytes`]) checks the whole file before it returns, so no answer is ever
//! given from a byte whose checksum was not checked:
//!
//! 1. in constant time: magic, version range, header length, header CRC, algorithm and width,
//!    section layout and bounds (all arithmetic checked), required sections present, every
//!    length consistent with `n` and `m` (`checked_mul`), the first and last offsets of each
//!    ragged table and of `HENT`, names UTF-8;
//! 2. in one pass over the file ([`HashList::verify`]): the CRC of **every** section, known
//!    or not (a persisted search index `INDX` included), zero padding, hashes (digests) sorted
//!    and unique, every offset monotonic, every string UTF-8 (ids, metadata), qualities in
//!    range, every set, category and source reference in range.
//!
//! A reader that knows a section's meaning may check more when it uses it: the
//! [`Matcher`](crate::matching::Matcher) fully validates a persisted index (every hash
//! present exactly once and where its bits say, BK-tree keys equal to the distances) when
//! the list is added, so a damaged index is an error, never a missed match.
//!
//! [`HashList::from_bytes_unverified`] is the one, explicit, way to skip step 2 (for bytes
//! verified before that cannot have changed since). After it no byte pattern can make an
//! accessor panic; what a corrupt file then reads as is documented on [`HashList`].
//!
//! Paths that are not regular files (FIFOs, sockets, devices) are refused before they are
//! opened, so opening a list never blocks.
//!
//! ## Replacing lists
//!
//! Lists are never edited in place: the builder writes a temporary file in the target
//! directory, `fsync`s it and renames it over the old one. A process that has the old list
//! open keeps reading the old, intact file (a rename does not touch the old inode). Writing
//! over a list file in place (`cp new.hsl live.hsl`, `>`, an editor) is unsafe for any process
//! that has it mapped: truncation raises `SIGBUS`, which kills the process, and changed bytes
//! bypass the checks made at open. That is why mapping is an `unsafe` opt-in
//! ([`HashList::open_mmap`]) and [`HashList::read`] copies the file into memory. To replace
//! a list safely, write the new file next to it (same directory, so the same file system) and
//! `mv` it over the old one.

mod builder;
mod exact;
pub mod export;
pub mod import;
mod import_media;
mod index;
pub mod raw;
mod reader;
pub mod records;
pub mod update;

pub use builder::{BuildReport, EntryMeta, ListBuilder, DEFAULT_MIN_QUALITY_PDQ};

/// The tag of the optional, derived section that holds a persistent search index (a BK-tree or
/// multi-index hashing tables, recognised by their magic bytes); see the
/// [format specification](self#the-search-index-section-indx).
pub const INDEX_SECTION: [u8; 4] = *b"INDX";
pub use exact::ExactKeys;
pub use raw::ListRole;
pub use raw::FORMAT_VERSION;
pub use reader::{Categories, Category, Entries, Entry, HashList, Hashes, Iter};
