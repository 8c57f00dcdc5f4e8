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

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing a file failed.
    ///
    /// The message includes the OS error, so it is not also returned as the
    /// [`source`](std::error::Error::source): a reporter that prints the chain would say it twice.
    /// Match on this variant to inspect it.
    #[error("I/O error: {0}")]
    Io(std::io::Error),

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

    /// The image could not be decoded (corrupt, truncated, or an unsupported format).
    #[error("cannot decode image: {0}")]
    Decode(String),

    /// The image is larger than the configured decoding limits allow.
    #[error("image exceeds decoding limits: {0}; raise the limits if the input is trusted")]
    LimitsExceeded(String),

    /// The caller-supplied pixel buffer does not match its declared shape.
    #[error("invalid pixel buffer: {0}")]
    InvalidPixels(String),

    /// An argument is outside its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A hash list file is malformed, truncated or of an unsupported version.
    #[error("invalid hash list: {0}")]
    Format(String),

    /// A text input (hash lines, CSV, JSON lines) whose format cannot be told, fits two
    /// formats, or lacks a required column. The message names the input and the formats to
    /// choose from.
    #[error("{0}")]
    InputFormat(String),

    /// A checksum in a hash list does not match its contents.
    #[error("checksum mismatch in {section}: the file is corrupt; rebuild or re-download it")]
    Checksum {
        /// Which part of the file failed its check.
        section: String,
    },

    /// Text input (a hash file being imported) has malformed lines.
    #[error("{count} malformed line(s) in input; first at {first}")]
    Parse {
        /// How many lines were rejected.
        count: u64,
        /// Where the first one is, as `file:line: reason` (never the hash value).
        first: String,
    },

    /// The work asked for would need more memory (or produce more results) than allowed.
    ///
    /// The message says what the estimate is, what the limit is and how to ask for less, e.g.
    /// "about 2.5e9 pairs within threshold 128 exceed the limit of 50000000; lower the
    /// threshold or raise the pair limit".
    #[error("too much work: {0}")]
    ResourceLimit(String),

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
