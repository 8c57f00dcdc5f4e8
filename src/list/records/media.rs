//! Exact-hash sets as investigators receive them: Project VIC / CAID VICS JSON, NIST NSRL RDS
//! v3 (SQLite), `md5sum`/`sha1sum`/`sha256sum` output and hashdeep CSV.
//!
//! A [`MediaReader`] turns one of these into [`MediaItem`]s, one at a time, with memory that
//! does not grow with the input: a [`MediaRecord`] holds the MD5, SHA-1 and SHA-256 a source
//! gives (any of them may be missing), the file size, an id (the VICS `MediaID`, a file name)
//! and the metadata investigators filter on (category, flags, series, tags).
//!
//! | [`MediaFormat`] | name | shape |
//! |---|---|---|
//! | [`Vics`](MediaFormat::Vics) | `vics` | an OData JSON document (`odata.metadata` or `@odata.context`) whose `value` array holds Media records, or Cases each with a `Media` array (older exports); or a document with a top-level `Media` (or `Cases`) array |
//! | [`Nsrl`](MediaFormat::Nsrl) | `nsrl` | the NSRL RDS v3 SQLite database: every row of its `FILE` table (`sha256`, `sha1`, `md5`, `file_name`, `file_size`) |
//! | [`Sums`](MediaFormat::Sums) | `md5sum` | GNU `md5sum`, `sha1sum`, `sha256sum` output: `<hex>  <name>` or `<hex> *<name>` (binary mode); a line starting with `\` has `\\`, `\n` and `\r` escapes in its name; the BSD tag form `MD5 (<name>) = <hex>` too |
//! | [`Hashdeep`](MediaFormat::Hashdeep) | `hashdeep` | hashdeep / md5deep `-c` CSV: a `%%%% HASHDEEP-1.0` line, a `%%%% size,md5,...,filename` line naming the columns, `##` comment lines, then rows (the file name is the last column and may hold commas) |
//!
//! VICS fields read from each Media record: `MediaID`, `Category`, `MD5`, `SHA1`, `SHA256`,
//! `MediaSize`, `Series`, `VictimIdentified`, `OffenderIdentified`, `IsDistributed`, `Tags`,
//! `Comments`, `PhotoDNA` and `MediaFiles` (the `FileName` of each); other fields are skipped.
//! Booleans may be JSON booleans, strings (`"true"`, `"False"`, `"1"`, `"yes"`) or numbers;
//! `Category` a number, a string or `null`; hex either case. `PhotoDNA` is kept as opaque text
//! and never computed or compared. A string over [`MAX_FIELD_LEN`] bytes is cut there and an
//! array over [`MAX_FIELD_ITEMS`] items keeps the first ones, so one record never needs more
//! memory than that, whatever the document holds.
//!
//! A hash that is not hex of its length makes the record [`MediaItem::Malformed`]; a reason
//! never holds a hash or any other field's text.
//!
//! ```
//! use hashsieve::list::records::{MediaFormat, MediaItem, MediaReader};
//! let doc = r#"{"odata.metadata": "http://x/$metadata#Media", "value": [
//!   {"MediaID": 7, "Category": 1, "MD5": "D41D8CD98F00B204E9800998ECF8427E",
//!    "VictimIdentified": "true", "MediaSize": 0}]}"#;
//! let mut reader = MediaReader::from_reader(doc.as_bytes(), "set.json", None)?;
//! assert_eq!(reader.format(), MediaFormat::Vics);
//! let Some(MediaItem::Record(r)) = reader.next_item()? else { panic!() };
//! assert_eq!(r.id.as_deref(), Some("7"));
//! assert_eq!(r.category.as_deref(), Some("1"));
//! assert_eq!(r.victim_identified, Some(true));
//! assert_eq!(r.md5_hex().as_deref(), Some("D41D8CD98F00B204E9800998ECF8427E"));
//! assert!(reader.next_item()?.is_none());
//! # Ok::<(), hashsieve::Error>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};
use crate::hash::{Digest, HashKind};

/// The most bytes of one string field a [`MediaReader`] keeps (the rest is read and dropped).
pub const MAX_FIELD_LEN: usize = 64 * 1024;

/// The most items of one array field (`Tags`, `MediaFiles`) a [`MediaReader`] keeps.
pub const MAX_FIELD_ITEMS: usize = 256;

/// An exact-hash set format. See the [module documentation](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaFormat {
    /// Project VIC / CAID VICS JSON (OData).
    Vics,
    /// NIST NSRL RDS v3, the SQLite database.
    Nsrl,
    /// `md5sum`, `sha1sum`, `sha256sum` output.
    Sums,
    /// hashdeep / md5deep CSV.
    Hashdeep,
}

impl MediaFormat {
    /// Every format.
    pub const ALL: [MediaFormat; 4] = [
        MediaFormat::Vics,
        MediaFormat::Nsrl,
        MediaFormat::Sums,
        MediaFormat::Hashdeep,
    ];

    /// The names, for messages and help.
    pub const NAMES: &'static str = "vics, nsrl, md5sum, hashdeep";

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            MediaFormat::Vics => "vics",
            MediaFormat::Nsrl => "nsrl",
            MediaFormat::Sums => "md5sum",
            MediaFormat::Hashdeep => "hashdeep",
        }
    }

    /// The format of an input that starts with `head` (its first bytes, a few KiB), when it is
    /// one of these formats beyond doubt; `None` otherwise (it may be a perceptual-hash format).
    ///
    /// ```
    /// use hashsieve::list::records::MediaFormat;
    /// assert_eq!(MediaFormat::detect(b"SQLite format 3\0..."), Some(MediaFormat::Nsrl));
    /// assert_eq!(MediaFormat::detect(b"%%%% HASHDEEP-1.0\n"), Some(MediaFormat::Hashdeep));
    /// assert_eq!(MediaFormat::detect(b"{\"@odata.context\": \"x\", \"value\": []}"),
    ///            Some(MediaFormat::Vics));
    /// assert_eq!(MediaFormat::detect(b"d41d8cd98f00b204e9800998ecf8427e  empty\n"),
    ///            Some(MediaFormat::Sums));
    /// assert_eq!(MediaFormat::detect(b"{\"hash\": \"00\"}\n"), None);
    /// ```
    pub fn detect(head: &[u8]) -> Option<MediaFormat> {
        if head.starts_with(b"SQLite format 3\0") {
            return Some(MediaFormat::Nsrl);
        }
        let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        let text = String::from_utf8_lossy(head);
        let trimmed = text.trim_start();
        if trimmed.starts_with("%%%% HASHDEEP") {
            return Some(MediaFormat::Hashdeep);
        }
        if trimmed.starts_with('{') {
            // JSON lines are one object per line; a VICS document names OData or Media near
            // its start.
            let vics = [
                "\"odata.metadata\"",
                "\"@odata.context\"",
                "\"Media\"",
                "\"Cases\"",
            ];
            return vics
                .iter()
                .any(|k| trimmed.contains(k))
                .then_some(MediaFormat::Vics);
        }
        // Every complete line that says anything must be a sums line.
        let complete = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => return None,
        };
        let mut lines = complete
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .peekable();
        lines.peek()?;
        lines
            .all(|l| super::sums::sums_line(l.as_bytes()).is_ok())
            .then_some(MediaFormat::Sums)
    }
}

impl fmt::Display for MediaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MediaFormat {
    type Err = Error;

    /// Parses a [name](MediaFormat::name), ignoring case; `sha1sum`, `sha256sum`, `sums`,
    /// `md5deep`, `caid`, `project-vic` and `rds` are taken too.
    fn from_str(s: &str) -> Result<MediaFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vics" | "caid" | "project-vic" | "projectvic" => Ok(MediaFormat::Vics),
            "nsrl" | "rds" => Ok(MediaFormat::Nsrl),
            "md5sum" | "sha1sum" | "sha256sum" | "sums" => Ok(MediaFormat::Sums),
            "hashdeep" | "md5deep" => Ok(MediaFormat::Hashdeep),
            _ => Err(ErrorKind::UnknownName {
                what: "input format",
                name: s.to_string(),
                expected: MediaFormat::NAMES,
            }
            .into()),
        }
    }
}

/// One file's exact hashes and metadata from a hash set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaRecord {
    /// Where it is: the 1-based line (line formats), Media record (VICS) or row (NSRL).
    pub at: u64,
    /// MD5 of the file's bytes.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the file's bytes.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 of the file's bytes.
    pub sha256: Option<[u8; 32]>,
    /// The file size in bytes.
    pub size: Option<u64>,
    /// The id: the VICS `MediaID`, the file name of the line formats and NSRL.
    pub id: Option<String>,
    /// The VICS `Category` as text (`"1"`, `"A"`); `None` for a `null` or missing one.
    pub category: Option<String>,
    /// VICS `Series`.
    pub series: Option<String>,
    /// VICS `VictimIdentified`.
    pub victim_identified: Option<bool>,
    /// VICS `OffenderIdentified`.
    pub offender_identified: Option<bool>,
    /// VICS `IsDistributed`.
    pub is_distributed: Option<bool>,
    /// VICS `Tags`.
    pub tags: Vec<String>,
    /// VICS `Comments`.
    pub comments: Option<String>,
    /// VICS `PhotoDNA`, kept as opaque text: never computed or compared here.
    pub photodna: Option<String>,
    /// The `FileName` of each VICS `MediaFiles` item.
    pub file_names: Vec<String>,
    /// VICS `RelativeFilePath` (in the documents suites export, and ours).
    pub relative_path: Option<String>,
}

/// Upper-case hex of a digest of `kind`, through [`Digest`] (the crate's one digest formatter).
fn hex_upper(kind: HashKind, bytes: &[u8]) -> Option<String> {
    Digest::new(kind, bytes).ok().map(|d| d.to_hex_upper())
}

/// Parses `N` bytes of hex, either case; `Err` with a reason that does not hold the text.
pub(crate) fn parse_hex_bytes<const N: usize>(
    what: &str,
    text: &str,
) -> std::result::Result<[u8; N], String> {
    let mut out = [0u8; N];
    crate::hash::decode_hex_into(text.trim().as_bytes(), &mut out)
        .map_err(|reason| format!("{what}: {reason}"))?;
    Ok(out)
}

impl MediaRecord {
    /// The MD5 as upper-case hex, as hash sets distribute it.
    pub fn md5_hex(&self) -> Option<String> {
        self.md5.and_then(|h| hex_upper(HashKind::Md5, &h))
    }

    /// The SHA-1 as upper-case hex.
    pub fn sha1_hex(&self) -> Option<String> {
        self.sha1.and_then(|h| hex_upper(HashKind::Sha1, &h))
    }

    /// The SHA-256 as upper-case hex.
    pub fn sha256_hex(&self) -> Option<String> {
        self.sha256.and_then(|h| hex_upper(HashKind::Sha256, &h))
    }

    /// The metadata as `scheme:code` categories, the form list entries keep:
    /// `vics:<Category>` (`vics:uncategorized` for none, in a VICS set), `flag:victim_identified`,
    /// `flag:offender_identified`, `flag:distributed` for each flag that is true,
    /// `series:<Series>` and `tag:<tag>` (whitespace in a code becomes `_`).
    ///
    /// ```
    /// use hashsieve::list::records::{MediaFormat, MediaItem, MediaReader};
    /// let doc = r#"{"Media": [{"MD5": "d41d8cd98f00b204e9800998ecf8427e", "Category": "2",
    ///               "IsDistributed": "True", "Tags": ["a b"]}]}"#;
    /// let mut reader = MediaReader::from_reader(doc.as_bytes(), "set.json", None)?;
    /// let Some(MediaItem::Record(r)) = reader.next_item()? else { panic!() };
    /// assert_eq!(r.categories(), ["vics:2", "flag:distributed", "tag:a_b"]);
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn categories(&self) -> Vec<String> {
        let code = |s: &str| -> String {
            s.trim()
                .chars()
                .map(|c| {
                    if c.is_whitespace() || c.is_control() {
                        '_'
                    } else {
                        c
                    }
                })
                .collect()
        };
        let mut out = Vec::new();
        match self.category.as_deref().map(code) {
            Some(c) if !c.is_empty() => out.push(format!("vics:{c}")),
            _ => {}
        }
        for (flag, name) in [
            (self.victim_identified, "victim_identified"),
            (self.offender_identified, "offender_identified"),
            (self.is_distributed, "distributed"),
        ] {
            if flag == Some(true) {
                out.push(format!("flag:{name}"));
            }
        }
        if let Some(s) = self.series.as_deref().map(code).filter(|s| !s.is_empty()) {
            out.push(format!("series:{s}"));
        }
        for t in &self.tags {
            let t = code(t);
            if !t.is_empty() {
                out.push(format!("tag:{t}"));
            }
        }
        out
    }
}

/// What a [`MediaReader`] made of one record of its input.
// One item per record, handed over once: a box would cost an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaItem {
    /// A file's hashes.
    Record(MediaRecord),
    /// A record that could not be read (a bad hash, a line that fits no row).
    Malformed {
        /// Where (as [`MediaRecord::at`]).
        at: u64,
        /// Why; never a hash or other field text.
        reason: String,
    },
}

enum Inner {
    Vics(Box<super::vics::VicsReader<Box<dyn Read + Send>>>),
    Lines(super::sums::SumsReader<Box<dyn BufRead + Send>>),
    #[cfg(feature = "nsrl")]
    Nsrl(super::nsrl::NsrlReader),
}

/// Reads an exact-hash set in any [`MediaFormat`]. See the [module documentation](self).
pub struct MediaReader {
    inner: Inner,
    format: MediaFormat,
    source: String,
}

impl fmt::Debug for MediaReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaReader")
            .field("format", &self.format)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Reads up to `n` bytes from the start of `input` into a buffer, for detection.
fn head_of(input: &mut impl BufRead, n: usize) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    input.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

impl MediaReader {
    /// Opens the file at `path`; `format` `None` detects it ([`MediaFormat::detect`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be read, [`ErrorKind::InputFormat`] when its
    /// format is not one of these (or is not the one named), [`ErrorKind::Unsupported`] for an
    /// NSRL database in a build without the `nsrl` feature.
    pub fn open(path: &Path, format: Option<MediaFormat>) -> Result<MediaReader> {
        let source = path.display().to_string();
        let mut file =
            BufReader::new(File::open(path).map_err(|e| Error::from(e).with_path(path))?);
        let format = match format {
            Some(f) => f,
            None => {
                let head = head_of(&mut file, 8192).map_err(|e| Error::from(e).with_path(path))?;
                MediaFormat::detect(&head).ok_or_else(|| not_detected(&source))?
            }
        };
        if format == MediaFormat::Nsrl {
            return open_nsrl(path, source);
        }
        let file = BufReader::new(File::open(path).map_err(|e| Error::from(e).with_path(path))?);
        MediaReader::from_reader(file, &source, Some(format))
    }

    /// A reader over `input`; `source` names it in messages. `format` `None` detects it.
    ///
    /// # Errors
    ///
    /// As [`MediaReader::open`]; an NSRL database must be opened by path.
    pub fn from_reader(
        input: impl BufRead + Send + 'static,
        source: &str,
        format: Option<MediaFormat>,
    ) -> Result<MediaReader> {
        // Detection reads the first few KiB; they are read again, from memory, by the parser.
        let mut input = input;
        let head = match format {
            Some(_) => Vec::new(),
            None => head_of(&mut input, 8192).map_err(|e| Error::from(e).with_path(source))?,
        };
        let format = match format {
            Some(f) => f,
            None => MediaFormat::detect(&head).ok_or_else(|| not_detected(source))?,
        };
        let input = std::io::Cursor::new(head).chain(input);
        let inner = match format {
            MediaFormat::Vics => Inner::Vics(Box::new(super::vics::VicsReader::new(
                Box::new(input),
                source,
            ))),
            MediaFormat::Sums | MediaFormat::Hashdeep => {
                Inner::Lines(super::sums::SumsReader::new(
                    Box::new(input),
                    source,
                    format == MediaFormat::Hashdeep,
                ))
            }
            MediaFormat::Nsrl => {
                return Err(ErrorKind::InvalidArgument(format!(
                    "{source}: an NSRL database is read from its path, not a stream"
                ))
                .into())
            }
        };
        Ok(MediaReader {
            inner,
            format,
            source: source.to_owned(),
        })
    }

    /// The format read.
    pub fn format(&self) -> MediaFormat {
        self.format
    }

    /// The name of the input.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The next item; `None` at the end.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when reading fails; [`ErrorKind::Parse`] when a VICS document is not
    /// JSON, or an NSRL database cannot be queried (neither can be read past such a point).
    /// A bad record is a [`MediaItem::Malformed`], not an error.
    pub fn next_item(&mut self) -> Result<Option<MediaItem>> {
        match &mut self.inner {
            Inner::Vics(r) => r.next_item(),
            Inner::Lines(r) => r.next_item(),
            #[cfg(feature = "nsrl")]
            Inner::Nsrl(r) => r.next_item(),
        }
    }
}

fn not_detected(source: &str) -> Error {
    ErrorKind::InputFormat(format!(
        "{source}: not a hash set this build recognises ({}); name the format with --format",
        MediaFormat::NAMES
    ))
    .into()
}

#[cfg(feature = "nsrl")]
fn open_nsrl(path: &Path, source: String) -> Result<MediaReader> {
    Ok(MediaReader {
        inner: Inner::Nsrl(super::nsrl::NsrlReader::open(path)?),
        format: MediaFormat::Nsrl,
        source,
    })
}

#[cfg(not(feature = "nsrl"))]
fn open_nsrl(_path: &Path, source: String) -> Result<MediaReader> {
    Err(ErrorKind::Unsupported(format!(
        "{source}: this build reads no NSRL databases; build hashsieve with the `nsrl` feature"
    ))
    .into())
}
