//! The library's error type.

use std::fmt;
use std::path::PathBuf;

/// A `Result` alias whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error type of every fallible operation in this crate.
///
/// Inspect [`Error::kind`] to react to a specific failure. Messages never contain hash values or
/// image bytes: hash lists are sensitive, and errors end up in logs.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
}

impl Error {
    /// Creates an error of the given kind.
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind, path: None }
    }

    /// Returns what went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file the error is about, where there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Attaches the path of the file the error is about (shown in the message).
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Error {
        self.path = Some(path.into());
        self
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.kind),
            None => self.kind.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(err))
    }
}

/// Crate-private constructors: one per kind, so that each message is worded in one place.
impl Error {
    /// A file or section written by a newer hashsieve: [`ErrorKind::Version`].
    pub(crate) fn version(what: &'static str, found: u32, supported: u32) -> Error {
        Error::new(ErrorKind::Version {
            what,
            found,
            supported,
        })
    }

    /// `what` is shorter than its header says: [`ErrorKind::Truncated`].
    pub(crate) fn truncated(what: impl Into<String>, needed: u64, found: u64) -> Error {
        Error::new(ErrorKind::Truncated {
            what: what.into(),
            needed,
            found,
        })
    }

    /// `what` is structurally inconsistent: [`ErrorKind::Corrupt`]. `detail` must not hold
    /// hash values.
    pub(crate) fn corrupt(what: &'static str, detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Corrupt {
            what,
            detail: detail.into(),
        })
    }

    /// Not our format, or a feature of a newer writer or of an image we do not decode:
    /// [`ErrorKind::Unsupported`].
    pub(crate) fn unsupported(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unsupported(msg.into()))
    }

    /// A checksum failed: [`ErrorKind::Checksum`].
    pub(crate) fn checksum(section: impl Into<String>) -> Error {
        Error::new(ErrorKind::Checksum {
            section: section.into(),
        })
    }

    /// A limit was hit: [`ErrorKind::Limit`]. `detail` says what was asked for, what the limit
    /// is and how to ask for less or raise it.
    pub(crate) fn limit(which: Limit, detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Limit {
            which,
            detail: detail.into(),
        })
    }

    /// Malformed text input: [`ErrorKind::Parse`]. `reason` must not hold the line's text.
    pub(crate) fn parse(
        count: u64,
        line: u64,
        column: Option<u64>,
        reason: impl Into<String>,
    ) -> Error {
        Error::new(ErrorKind::Parse {
            count,
            line,
            column,
            reason: reason.into(),
        })
    }

    /// An image cannot be decoded: [`ErrorKind::Decode`], keeping the decoder's error as the
    /// source.
    pub(crate) fn decode(
        reason: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::new(ErrorKind::Decode {
            reason: reason.into(),
            source,
        })
    }
}

/// What went wrong.
///
/// Match on the kind to react to a failure: [`Truncated`](ErrorKind::Truncated) (an interrupted
/// copy: fetch the file again), [`Version`](ErrorKind::Version) (upgrade hashsieve),
/// [`Checksum`](ErrorKind::Checksum) and [`Corrupt`](ErrorKind::Corrupt) (rebuild or
/// re-download), [`Limit`](ErrorKind::Limit) (ask for less or raise the limit), and so on. New
/// kinds may be added in minor releases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing a file failed.
    ///
    /// The OS error is both in the message and returned as the
    /// [`source`](std::error::Error::source); a reporter that prints the chain should skip a
    /// source whose text the message already holds (the CLI does).
    #[error("I/O error: {0}")]
    Io(#[source] std::io::Error),

    /// A file or a section of it is in a format version this build does not read: written by a
    /// newer hashsieve (upgrade it, or rebuild the file with this version), or older than the
    /// oldest version still read (rebuild the file).
    #[error("{}", version_message(what, *found, *supported))]
    Version {
        /// What has the version, e.g. "hash list".
        what: &'static str,
        /// The version the file declares.
        found: u32,
        /// The newest version this build reads (the message compares the two).
        supported: u32,
    },

    /// A checksum in a hash list does not match its contents.
    #[error("checksum mismatch in {section}: the file is corrupt; rebuild or re-download it")]
    Checksum {
        /// Which part of the file failed its check.
        section: String,
    },

    /// A file is shorter than its header says: an interrupted write, copy or download.
    #[error(
        "truncated {what}: needs {needed} bytes, found {found}; the file is incomplete \
         (an interrupted copy or download?): copy, re-download or rebuild it"
    )]
    Truncated {
        /// What is cut short, e.g. "hash list".
        what: String,
        /// How many bytes the header says there are (at least).
        needed: u64,
        /// How many bytes there are.
        found: u64,
    },

    /// A file is structurally inconsistent (offsets, sizes or values that cannot be right)
    /// though its checksums may match: a bug in the writer, or deliberate tampering.
    #[error("corrupt {what}: {detail}; rebuild or re-download it")]
    Corrupt {
        /// What is corrupt, e.g. "hash list", "BK-tree section".
        what: &'static str,
        /// What is wrong with it (never hash values).
        detail: String,
    },

    /// Not a format this build reads: not a hash list at all (bad magic), a hash kind, flag or
    /// index kind from a newer writer, or an image format that is not decoded.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// The work asked for is larger than a limit allows: an image's size, memory, the input's
    /// size, the number of pairs or results, a list's length.
    ///
    /// The message says what was asked for, what the limit is and how to ask for less or raise
    /// the limit, e.g. "about 2.5e9 pairs within threshold 128, more than the limit of 50000000
    /// pairs; lower the threshold or raise the pair limit".
    #[error("{which} limit exceeded: {detail}")]
    Limit {
        /// Which limit.
        which: Limit,
        /// What was asked for, the limit, and how to ask for less.
        detail: String,
    },

    /// The image could not be decoded (corrupt, truncated, or not a valid image).
    ///
    /// The decoder's own error, where there is one, is the
    /// [`source`](std::error::Error::source).
    #[error("cannot decode image: {reason}")]
    Decode {
        /// What is wrong, in words (never pixel bytes).
        reason: String,
        /// The decoder's error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A hash's text form could not be parsed. The text itself is not included.
    #[error("invalid {expected} hash: {reason}")]
    InvalidHex {
        /// What was expected, e.g. "256-bit (64 hex characters)".
        expected: &'static str,
        /// What is wrong with the input, without echoing it.
        reason: String,
    },

    /// An algorithm or format name was not recognised.
    ///
    /// The message quotes the name only when it cannot be a hash: at most 32
    /// characters with no run of 8 or more hex digits; otherwise it gives only its length: a name
    /// taken from an input's column may be a misplaced hash value.
    #[error("unknown {what} {}; expected one of: {expected}", shown_name(name))]
    UnknownName {
        /// What kind of name, e.g. "algorithm".
        what: &'static str,
        /// The name given. It may hold anything the input held: show it through the
        /// error's `Display`, which applies that rule, never directly.
        name: String,
        /// The accepted names, comma separated.
        expected: &'static str,
    },

    /// The caller-supplied pixel buffer does not match its declared shape.
    #[error("invalid pixel buffer: {0}")]
    InvalidPixels(String),

    /// An argument is outside its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A text input (hash lines, CSV, JSON lines) whose format cannot be told, fits two
    /// formats, or lacks a required column. The message names the input and the formats to
    /// choose from.
    #[error("{0}")]
    InputFormat(String),

    /// Text input (a hash file being imported) has malformed lines. The input's name is the
    /// error's [`path`](Error::path).
    #[error(
        "{count} malformed line(s) in input; first at line {line}{}: {reason}",
        column.map(|c| format!(", column {c}")).unwrap_or_default()
    )]
    Parse {
        /// How many lines were rejected.
        count: u64,
        /// The line number (from 1) of the first one.
        line: u64,
        /// The column (from 1) in that line, where known.
        column: Option<u64>,
        /// What is wrong with it (never the hash text).
        reason: String,
    },

    /// Two things that must agree do not (for example a list's algorithm and a query's).
    #[error("mismatch: {0}")]
    Mismatch(String),

    /// A list was added to a matcher that already holds a list of the same name.
    #[error("a list named {} is already loaded; give each list its own name (`build --name`), or replace it on purpose", shown_name(name))]
    DuplicateList {
        /// The list's name. Show it through the error's `Display`, which applies
        /// [`UnknownName`](ErrorKind::UnknownName)'s rule for names that may be hashes.
        name: String,
    },
}

/// Which limit an [`ErrorKind::Limit`] error hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// An image's width, height or pixel count (the decode limits).
    ImageSize,
    /// Memory: an allocation limit, or an allocation that failed.
    Memory,
    /// The size of an input (a file larger than allowed).
    Input,
    /// The number of pairs a self-join (dedup) may return.
    Pairs,
    /// The number of matches a search or benchmark may return.
    Matches,
    /// The number of entries a hash list may hold.
    ListLen,
}

impl Limit {
    /// A short name for messages, e.g. "image size".
    pub fn name(self) -> &'static str {
        match self {
            Limit::ImageSize => "image size",
            Limit::Memory => "memory",
            Limit::Input => "input size",
            Limit::Pairs => "pair",
            Limit::Matches => "match",
            Limit::ListLen => "list length",
        }
    }
}

display_by!(Limit);

/// The message of [`ErrorKind::Version`]: what to do depends on which side is newer.
fn version_message(what: &str, found: u32, supported: u32) -> String {
    if found > supported {
        format!(
            "{what} format v{found} is newer than this build reads (up to v{supported}); \
             upgrade hashsieve, or rebuild the file with this version"
        )
    } else {
        format!(
            "{what} format v{found} is older than this build reads (v{supported}); rebuild the \
             file with this version"
        )
    }
}

/// The longest name [`shown_name`] quotes.
const MAX_SHOWN_NAME: usize = 32;

/// A name taken from input, made safe to show in a message.
///
/// The name is quoted when it is at most 32 characters long and has no run of 8 or more hex
/// digits; anything else (which could be a hash value or a part of one) is described only by
/// its length. Every message that shows a name read from input goes through this rule.
pub(crate) fn shown_name(name: &str) -> String {
    let mut run = 0usize;
    let mut longest = 0usize;
    for c in name.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let chars = name.chars().count();
    if chars <= MAX_SHOWN_NAME && longest < 8 {
        format!("{name:?}")
    } else {
        format!("name ({chars} characters, not shown)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_and_decode_errors_keep_their_source() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = Error::from(io).with_path("x.hsl");
        assert_eq!(e.to_string(), "x.hsl: I/O error: gone");
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("gone"));

        let inner = std::io::Error::other("bad huffman table");
        let e = Error::decode("corrupt JPEG data", Some(Box::new(inner)));
        assert_eq!(e.to_string(), "cannot decode image: corrupt JPEG data");
        assert_eq!(e.source().unwrap().to_string(), "bad huffman table");
        assert!(Error::decode("empty input", None).source().is_none());
    }

    #[test]
    fn messages_say_what_to_do() {
        let newer = Error::version("hash list", 3, 1).to_string();
        assert!(
            newer.contains("v3 is newer") && newer.contains("upgrade hashsieve"),
            "{newer}"
        );
        let older = Error::version("BK-tree section", 0, 1).to_string();
        assert!(
            older.contains("older") && !older.contains("upgrade"),
            "{older}"
        );
        let t = Error::truncated("hash list", 4096, 100).to_string();
        assert!(
            t.contains("4096") && t.contains("100") && t.contains("re-download"),
            "{t}"
        );
        let c = Error::corrupt("hash list", "offsets go backwards").to_string();
        assert_eq!(
            c,
            "corrupt hash list: offsets go backwards; rebuild or re-download it"
        );
        let l = Error::limit(Limit::Pairs, "lower the threshold");
        assert_eq!(l.to_string(), "pair limit exceeded: lower the threshold");
        assert!(matches!(
            l.kind(),
            ErrorKind::Limit {
                which: Limit::Pairs,
                ..
            }
        ));
        let p = Error::parse(3, 7, Some(12), "odd-length hash").with_path("in.txt");
        assert_eq!(
            p.to_string(),
            "in.txt: 3 malformed line(s) in input; first at line 7, column 12: odd-length hash"
        );
        assert!(!Error::parse(1, 2, None, "r").to_string().contains("column"));
    }

    #[test]
    fn names_that_may_be_hashes_are_not_shown() {
        assert_eq!(shown_name("pdqq"), "\"pdqq\"");
        assert_eq!(shown_name("phash256"), "\"phash256\"");
        assert_eq!(
            shown_name("17e011b7f8102383"),
            "name (16 characters, not shown)"
        );
        assert_eq!(shown_name("x17e011b7"), "name (9 characters, not shown)");
        assert_eq!(
            shown_name(&"z".repeat(40)),
            "name (40 characters, not shown)"
        );
        let e = Error::new(ErrorKind::UnknownName {
            what: "algorithm",
            name: "00112233445566778899aabbccddeeff".into(),
            expected: "pdq",
        });
        assert!(!e.to_string().contains("0011"), "{e}");
    }
}
