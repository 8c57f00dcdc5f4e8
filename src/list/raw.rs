//! The low-level view of a hash-list file: the header, the section table, the constants of the
//! format and the constant-time checks every [`HashList`](super::HashList) constructor runs on
//! them.
//!
//! Most code wants [`HashList`](super::HashList). This module is for tools that inspect files
//! (`hashsieve info`), for readers of sections this crate does not interpret, and for tests. The
//! layout itself is specified in the [module documentation of `list`](super).

use std::fmt;

use crate::bytes::{self, Cursor};
use crate::error::{Error, ErrorKind, Result};
use crate::hash::HashKind;

/// The 8 magic bytes every list file starts with: `\x89HSL\r\n\x1a\n`.
///
/// Like PNG's signature, the high-bit first byte, the CR LF pair and the `^Z` catch transfers
/// that mangle binary files as text.
pub const MAGIC: [u8; 8] = *b"\x89HSL\r\n\x1a\n";

/// The newest format version this build writes. The writer writes the oldest version that can
/// express the file: version 1 for block lists of perceptual hashes (so older builds still read
/// them), version 2 for exact-hash kinds and allow-lists (which older builds must refuse: an
/// allow-list read as a block list would report known-good files as matches).
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format version this build reads.
pub const MIN_READ_VERSION: u32 = 1;

/// The newest format version this build reads.
pub const MAX_READ_VERSION: u32 = 2;

/// Size of the fixed part of the header, before the section table.
pub const FIXED_HEADER_LEN: usize = 64;

/// Size of one section-table entry.
pub const SECTION_ENTRY_LEN: usize = 32;

/// Alignment of the header length and of every section offset, in bytes.
pub const ALIGN: usize = bytes::ALIGN;

/// The most sections a file may have.
pub const MAX_SECTIONS: usize = 256;

/// The longest list name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 4096;

/// The longest list version string, in bytes of UTF-8.
pub const MAX_VERSION_LEN: usize = 1024;

/// Section flag: a reader that does not know the section's tag must refuse the file.
pub const FLAG_REQUIRED: u32 = 1;

/// The hashes, sorted ascending and unique (required).
pub const TAG_HASHES: [u8; 4] = *b"HASH";
/// Per hash, the start of its run in the entry table (required).
pub const TAG_HASH_ENTRIES: [u8; 4] = *b"HENT";
/// The entry ids, a string table (required).
pub const TAG_ENTRY_IDS: [u8; 4] = *b"EIDS";
/// Per entry, a PDQ quality byte (optional).
pub const TAG_ENTRY_QUALITY: [u8; 4] = *b"EQUA";
/// Per entry, an index into the category-set table (optional).
pub const TAG_ENTRY_CATEGORIES: [u8; 4] = *b"ECAT";
/// The category-set table (present with `ECAT`).
pub const TAG_CATEGORY_SETS: [u8; 4] = *b"CSET";
/// The category names: scheme and code strings in pairs (present with `ECAT`).
pub const TAG_CATEGORY_NAMES: [u8; 4] = *b"CATN";
/// Per entry, an index into the source-name table (optional).
pub const TAG_ENTRY_SOURCES: [u8; 4] = *b"ESRC";
/// The source names, a string table (present with `ESRC`).
pub const TAG_SOURCE_NAMES: [u8; 4] = *b"SRCN";

/// Every tag this build interprets.
pub const KNOWN_TAGS: [[u8; 4]; 11] = [
    TAG_HASHES,
    TAG_HASH_ENTRIES,
    TAG_ENTRY_IDS,
    TAG_ENTRY_QUALITY,
    TAG_ENTRY_CATEGORIES,
    TAG_CATEGORY_SETS,
    TAG_CATEGORY_NAMES,
    TAG_ENTRY_SOURCES,
    TAG_SOURCE_NAMES,
    super::INDEX_SECTION,
    TAG_ENTRY_METADATA,
];

/// What a list is for: flagging files (a block list) or clearing them (an allow-list).
///
/// Stored in header byte 17 from format version 2 on (version-1 files are block lists).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum ListRole {
    /// A block list: a file that matches it is reported (the default).
    #[default]
    Block = 0,
    /// An allow-list (known good, a negative bank, NSRL): a file that matches it is reported
    /// as known-good and its other matches are suppressed or flagged.
    Allow = 1,
}

impl ListRole {
    /// The name used on the command line and in reports: `block` or `allow`.
    pub const fn name(self) -> &'static str {
        match self {
            ListRole::Block => "block",
            ListRole::Allow => "allow",
        }
    }

    /// The stored code (header byte 17).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The role with this stored code.
    pub fn from_code(code: u8) -> Option<ListRole> {
        [ListRole::Block, ListRole::Allow]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

display_by!(ListRole);

from_str_by_name! {
    ListRole: "list role",
    all [ListRole::Block, ListRole::Allow],
    expected "block, allow",
    aliases {
        "deny" => "block",
        "known-good" => "allow",
    }
}

/// The oldest format version that can hold a list of this kind and role (see
/// [`FORMAT_VERSION`]).
pub fn version_for(kind: HashKind, role: ListRole) -> u32 {
    if kind.is_exact() || role != ListRole::Block {
        2
    } else {
        1
    }
}

/// Per entry, opaque metadata: a string table of one compact JSON object (or empty) per entry
/// (optional).
pub const TAG_ENTRY_METADATA: [u8; 4] = *b"EMET";

/// The quality byte that means "no quality recorded".
pub const QUALITY_NONE: u8 = 255;

/// The source index that means "no source recorded".
pub const SOURCE_NONE: u32 = u32::MAX;

/// Rounds `n` up to the next multiple of [`ALIGN`], or `None` on overflow.
pub fn align_up(n: u64) -> Option<u64> {
    bytes::align_up(n)
}

/// The CRC-32C (Castagnoli) of `bytes`, the checksum the format uses everywhere.
pub fn crc32c(bytes: &[u8]) -> u32 {
    ::crc32c::crc32c(bytes)
}

/// Formats a section tag for messages: its ASCII text, or hex bytes if it is not printable.
pub fn tag_name(tag: [u8; 4]) -> String {
    if tag.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        tag.iter().map(|&b| b as char).collect()
    } else {
        format!("0x{:02x}{:02x}{:02x}{:02x}", tag[0], tag[1], tag[2], tag[3])
    }
}

/// One entry of the section table.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SectionEntry {
    /// The four-byte tag naming the section.
    pub tag: [u8; 4],
    /// Flags; bit 0 is [`FLAG_REQUIRED`]. Other bits are reserved, written as zero, ignored.
    pub flags: u32,
    /// Byte offset of the section from the start of the file (a multiple of [`ALIGN`]).
    pub offset: u64,
    /// Length of the section in bytes, padding excluded.
    pub length: u64,
    /// CRC-32C of the section's `length` bytes.
    pub crc: u32,
}

impl SectionEntry {
    /// Whether a reader that does not know this section must refuse the file.
    pub fn is_required(&self) -> bool {
        self.flags & FLAG_REQUIRED != 0
    }

    /// The tag as text, for messages.
    pub fn tag_name(&self) -> String {
        tag_name(self.tag)
    }
}

impl fmt::Debug for SectionEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SectionEntry")
            .field("tag", &self.tag_name())
            .field("flags", &self.flags)
            .field("offset", &self.offset)
            .field("length", &self.length)
            .field("crc", &format_args!("{:#010x}", self.crc))
            .finish()
    }
}

/// The parsed header of a list file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The format version the file was written with.
    pub format_version: u32,
    /// The length of the header in bytes (a multiple of [`ALIGN`]); the first section starts here.
    pub header_len: u32,
    /// The hash algorithm of every hash in the list.
    pub kind: HashKind,
    /// Block list or allow-list (header byte 17; always [`ListRole::Block`] in version 1).
    pub role: ListRole,
    /// The number of unique hashes.
    pub hash_count: u64,
    /// The number of entries (ids); at least `hash_count`.
    pub entry_count: u64,
    /// Creation time, seconds since the Unix epoch (UTC).
    pub created: u64,
    /// The total length of the file in bytes.
    pub file_len: u64,
    /// Header flags: reserved, written as zero, ignored by readers of version 1.
    pub flags: u32,
    /// The list's name (UTF-8, may be empty).
    pub name: String,
    /// The list's version string (UTF-8, may be empty).
    pub list_version: String,
    /// The section table, in file order.
    pub sections: Vec<SectionEntry>,
    /// The CRC-32C of the header, as stored.
    pub header_crc: u32,
}

/// What list errors name.
const WHAT: &str = "hash list";

/// The exact header length for a file with these counts (the format admits no other).
pub fn header_len_for(section_count: usize, name_len: usize, version_len: usize) -> usize {
    let raw = FIXED_HEADER_LEN + section_count * SECTION_ENTRY_LEN + name_len + version_len + 4;
    raw.div_ceil(ALIGN) * ALIGN
}

impl Header {
    /// Parses and checks the header at the start of `bytes`.
    ///
    /// `bytes` may be the whole file or any prefix that holds the header. This runs every check
    /// that does not depend on the section contents: magic, version range, header length, the
    /// header checksum, the algorithm code and bit width, the section table (unique tags, the
    /// layout rule that places each section at the next 64-byte boundary after the previous
    /// one, no arithmetic overflow) and the UTF-8 of the name and version. Its cost is bounded
    /// by the header size (at most a few tens of KiB), whatever the list's length.
    ///
    /// It does not compare [`Header::file_len`] with the length of `bytes`: the reader does.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`] when `bytes` are not a hash list (empty, bad magic) or use
    ///   a hash algorithm this build does not know;
    /// - [`ErrorKind::Version`] for a format version outside
    ///   [`MIN_READ_VERSION`]`..=`[`MAX_READ_VERSION`];
    /// - [`ErrorKind::Truncated`] when `bytes` end inside the header;
    /// - [`ErrorKind::Checksum`] when the header's CRC does not match;
    /// - [`ErrorKind::Corrupt`] for an inconsistent header or section table.
    ///
    /// ```
    /// use hashsieve::list::{raw::Header, ListBuilder};
    /// use hashsieve::{HashKind, Hash64, list::EntryMeta};
    /// let mut b = ListBuilder::new(HashKind::PHash).name("demo");
    /// b.add(Hash64::from_u64(0x1234), EntryMeta::new("a"))?;
    /// let bytes = b.to_vec()?;
    /// let header = Header::parse(&bytes)?;
    /// assert_eq!(header.name, "demo");
    /// assert_eq!(header.hash_count, 1);
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        if bytes.is_empty() {
            return Err(Error::unsupported(
                "the file is empty; it is not a hash list",
            ));
        }
        // A prefix of the magic is a truncated list; anything else is not a list at all.
        let m = bytes.len().min(MAGIC.len());
        bytes::check_magic(&bytes[..m], &MAGIC[..m], WHAT)?;
        bytes::need_len(bytes, FIXED_HEADER_LEN as u64, WHAT)?;
        let mut c = Cursor::at(bytes, MAGIC.len(), WHAT);
        let format_version = c.u32()?;
        bytes::check_version(format_version, MIN_READ_VERSION, MAX_READ_VERSION, WHAT)?;
        let header_len = c.u32()?;
        let code = c.u8()?;
        let role_code = c.u8()?;
        let bits = c.u16()?;
        let section_count = c.u32()? as usize;
        let hash_count = c.u64()?;
        let entry_count = c.u64()?;
        let created = c.u64()?;
        let file_len = c.u64()?;
        let name_len = usize::from(c.u16()?);
        let version_len = usize::from(c.u16()?);
        let flags = c.u32()?;
        debug_assert_eq!(c.pos(), FIXED_HEADER_LEN);
        if section_count > MAX_SECTIONS {
            return Err(Error::corrupt(
                WHAT,
                format!(
                    "header declares {section_count} sections; at most {MAX_SECTIONS} are allowed"
                ),
            ));
        }
        if name_len > MAX_NAME_LEN || version_len > MAX_VERSION_LEN {
            return Err(Error::corrupt(
                WHAT,
                "header declares an over-long name or version string",
            ));
        }
        let expected_len = header_len_for(section_count, name_len, version_len);
        if header_len as usize != expected_len {
            return Err(Error::corrupt(
                WHAT,
                format!("header length {header_len} does not match its contents ({expected_len} expected)"),
            ));
        }
        bytes::need_len(bytes, expected_len as u64, WHAT)?;
        let header_crc = bytes::le_u32(bytes, expected_len - 4);
        if crc32c(&bytes[..expected_len - 4]) != header_crc {
            return Err(Error::checksum("header"));
        }

        let kind = HashKind::from_code(code).ok_or_else(|| {
            Error::unsupported(format!(
                "unknown hash algorithm code {code}; the list was written by a newer hashsieve: \
                 upgrade hashsieve"
            ))
        })?;
        // Version 1 reserved byte 17 (written as 0, ignored); version 2 stores the role there.
        let role = if format_version < 2 {
            ListRole::Block
        } else {
            ListRole::from_code(role_code).ok_or_else(|| {
                Error::unsupported(format!(
                    "unknown list role code {role_code}; the list was written by a newer \
                     hashsieve: upgrade hashsieve"
                ))
            })?
        };
        if format_version < version_for(kind, role) {
            return Err(Error::corrupt(
                WHAT,
                format!("a {kind} list needs format version 2, but the file says {format_version}"),
            ));
        }
        if u32::from(bits) != kind.width() {
            return Err(Error::corrupt(
                WHAT,
                format!(
                    "header says {bits}-bit hashes but algorithm {kind} is {}-bit",
                    kind.width()
                ),
            ));
        }

        let mut sections = Vec::with_capacity(section_count);
        let mut expected_offset = u64::from(header_len);
        for i in 0..section_count {
            let e = SectionEntry {
                tag: c.tag()?,
                flags: c.u32()?,
                offset: c.u64()?,
                length: c.u64()?,
                crc: c.u32()?,
            };
            c.take(SECTION_ENTRY_LEN - 28)?;
            if sections.iter().any(|s: &SectionEntry| s.tag == e.tag) {
                return Err(Error::corrupt(
                    WHAT,
                    format!("section {} appears twice", e.tag_name()),
                ));
            }
            if e.offset != expected_offset {
                return Err(Error::corrupt(
                    WHAT,
                    format!(
                        "section {} starts at byte {}, but the layout puts it at {expected_offset}",
                        e.tag_name(),
                        e.offset
                    ),
                ));
            }
            let overflow =
                || Error::corrupt(WHAT, format!("section {} length overflows", e.tag_name()));
            let end = e.offset.checked_add(e.length).ok_or_else(overflow)?;
            expected_offset = if i + 1 == section_count {
                end
            } else {
                bytes::align_up(end).ok_or_else(overflow)?
            };
            sections.push(e);
        }
        if file_len != expected_offset {
            return Err(Error::corrupt(
                WHAT,
                format!(
                    "header says the file is {file_len} bytes but its sections end at byte \
                     {expected_offset}"
                ),
            ));
        }
        let utf8 = |b: &[u8], what: &str| {
            std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| Error::corrupt(WHAT, format!("the list {what} is not valid UTF-8")))
        };
        let name = utf8(c.take(name_len)?, "name")?;
        let list_version = utf8(c.take(version_len)?, "version")?;
        Ok(Header {
            format_version,
            header_len,
            kind,
            role,
            hash_count,
            entry_count,
            created,
            file_len,
            flags,
            name,
            list_version,
            sections,
            header_crc,
        })
    }

    /// Encodes the header, computing its length and checksum (the `header_len` and
    /// `header_crc` fields are ignored and recomputed).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when the name, version or section count exceed the limits.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.name.len() > MAX_NAME_LEN {
            return Err(Error::new(ErrorKind::InvalidArgument(format!(
                "list name is {} bytes; at most {MAX_NAME_LEN} are allowed",
                self.name.len()
            ))));
        }
        if self.list_version.len() > MAX_VERSION_LEN {
            return Err(Error::new(ErrorKind::InvalidArgument(format!(
                "list version is {} bytes; at most {MAX_VERSION_LEN} are allowed",
                self.list_version.len()
            ))));
        }
        if self.sections.len() > MAX_SECTIONS {
            return Err(Error::new(ErrorKind::InvalidArgument(format!(
                "{} sections; at most {MAX_SECTIONS} are allowed",
                self.sections.len()
            ))));
        }
        let len = header_len_for(
            self.sections.len(),
            self.name.len(),
            self.list_version.len(),
        );
        let mut out = vec![0u8; len];
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&self.format_version.to_le_bytes());
        out[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        out[16] = self.kind.code();
        out[17] = if self.format_version >= 2 {
            self.role.code()
        } else {
            0
        };
        out[18..20].copy_from_slice(&(self.kind.width() as u16).to_le_bytes());
        out[20..24].copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        out[24..32].copy_from_slice(&self.hash_count.to_le_bytes());
        out[32..40].copy_from_slice(&self.entry_count.to_le_bytes());
        out[40..48].copy_from_slice(&self.created.to_le_bytes());
        out[48..56].copy_from_slice(&self.file_len.to_le_bytes());
        out[56..58].copy_from_slice(&(self.name.len() as u16).to_le_bytes());
        out[58..60].copy_from_slice(&(self.list_version.len() as u16).to_le_bytes());
        out[60..64].copy_from_slice(&self.flags.to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            let at = FIXED_HEADER_LEN + i * SECTION_ENTRY_LEN;
            out[at..at + 4].copy_from_slice(&s.tag);
            out[at + 4..at + 8].copy_from_slice(&s.flags.to_le_bytes());
            out[at + 8..at + 16].copy_from_slice(&s.offset.to_le_bytes());
            out[at + 16..at + 24].copy_from_slice(&s.length.to_le_bytes());
            out[at + 24..at + 28].copy_from_slice(&s.crc.to_le_bytes());
        }
        let names_at = FIXED_HEADER_LEN + self.sections.len() * SECTION_ENTRY_LEN;
        out[names_at..names_at + self.name.len()].copy_from_slice(self.name.as_bytes());
        let v_at = names_at + self.name.len();
        out[v_at..v_at + self.list_version.len()].copy_from_slice(self.list_version.as_bytes());
        let crc = crc32c(&out[..len - 4]);
        out[len - 4..].copy_from_slice(&crc.to_le_bytes());
        Ok(out)
    }

    /// The section with this tag, if the file has one.
    pub fn section(&self, tag: [u8; 4]) -> Option<&SectionEntry> {
        self.sections.iter().find(|s| s.tag == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_rounds_to_64() {
        assert_eq!(align_up(0), Some(0));
        assert_eq!(align_up(1), Some(64));
        assert_eq!(align_up(64), Some(64));
        assert_eq!(align_up(65), Some(128));
        assert_eq!(align_up(u64::MAX), None);
    }

    #[test]
    fn header_len_is_aligned_and_fits() {
        for sc in 0..10 {
            for n in [0, 1, 59, 60, 61, 200] {
                let l = header_len_for(sc, n, 3);
                assert_eq!(l % ALIGN, 0);
                assert!(l >= FIXED_HEADER_LEN + sc * SECTION_ENTRY_LEN + n + 3 + 4);
                assert!(l < FIXED_HEADER_LEN + sc * SECTION_ENTRY_LEN + n + 3 + 4 + ALIGN);
            }
        }
    }

    #[test]
    fn tag_names_are_printable() {
        assert_eq!(tag_name(*b"HASH"), "HASH");
        assert_eq!(tag_name([0, 1, 2, 255]), "0x000102ff");
    }
}
