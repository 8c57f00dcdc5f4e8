//! Field parsing shared by every format: hashes, qualities, rotations, categories.

use super::*;

pub(crate) fn is_hex_hash(s: &str) -> bool {
    (s.len() == 16 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn is_digits(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The python-threatexchange signal type names (`SignalType.get_name()`) of this and earlier
/// releases, image hashes and others.
pub(super) const PYTX_SIGNAL_TYPES: &[&str] = &[
    "pdq",
    "vpdq",
    "pdq_ocr",
    "video_md5",
    "video_sha256",
    "photo_md5",
    "md5",
    "url",
    "url_md5",
    "raw_text",
    "text_tlsh",
    "trend_query",
];

pub(super) fn is_signal_type(tok: &str) -> bool {
    PYTX_SIGNAL_TYPES.contains(&tok) || tok.parse::<HashKind>().is_ok()
}

/// The kind of a pytx signal type: `Ok(kind)`, or `Err` for a signal that is not an image
/// hash we read.
pub(super) fn signal_kind(tok: &str) -> Option<HashKind> {
    match tok {
        "pdq" => Some(HashKind::Pdq),
        _ if PYTX_SIGNAL_TYPES.contains(&tok) => None,
        _ => tok.parse::<HashKind>().ok(),
    }
}

/// The orientation of a rotation name: ours, the PDQ tools' (`flipp`, `flipm`) and pytx's
/// (`ORIGINAL`, `ROTATE90`, `FLIPPLUS1`, ...).
pub(crate) fn rotation(s: &str) -> Option<Dihedral> {
    match s.to_ascii_lowercase().as_str() {
        "flipp" => Some(Dihedral::FlipPlus1),
        "flipm" => Some(Dihedral::FlipMinus1),
        other => other.parse().ok(),
    }
}

/// Splits off the first whitespace-delimited token; the rest is trimmed.
pub(super) fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

/// Parses a quality field: empty or `-` = none, else an integer 0..=100.
pub(crate) fn parse_quality(field: &str) -> std::result::Result<Option<u8>, &'static str> {
    let f = field.trim();
    if f.is_empty() || f == "-" {
        return Ok(None);
    }
    match f.parse::<u8>() {
        Ok(q) if q <= 100 => Ok(Some(q)),
        _ => Err("quality is not an integer in 0..=100"),
    }
}

/// Parses a hash of `kind`, giving a reason that never echoes the text.
pub(crate) fn parse_hash(kind: HashKind, text: &str) -> std::result::Result<HashValue, String> {
    kind.parse_hex(text.trim())
        .map_err(|e| e.kind().to_string())
}

/// The kind of a hash given as hex in a format that does not name the algorithm: the first of
/// `kinds` of its width, perceptual kinds before exact ones (64 hex digits are a PDQ hash or a
/// SHA-256; the formats that name no algorithm are the perceptual tools'); with no kinds, PDQ
/// for 64 digits and pHash for 16.
pub(super) fn kind_of_hex(options: &ReadOptions, text: &str) -> HashKind {
    let len = text.trim().len();
    let width = |k: &HashKind| (k.width() / 4) as usize == len;
    if options.kinds.is_empty() {
        return if len == 16 {
            HashKind::PHash
        } else {
            HashKind::Pdq
        };
    }
    let perceptual = options.kinds.iter().copied().filter(|k| k.is_perceptual());
    let exact = options.kinds.iter().copied().filter(|k| k.is_exact());
    perceptual
        .chain(exact)
        .find(width)
        .unwrap_or(options.kinds[0])
}

pub(super) const BAD_CATEGORY: &str =
    "malformed category: scheme and code must be non-empty without \
                            whitespace or control characters, and the scheme without ':'";

/// Parses whitespace-separated `scheme:code` items into `out`.
pub(super) fn push_categories(
    field: &str,
    default_scheme: &str,
    out: &mut Vec<String>,
) -> std::result::Result<(), String> {
    for item in field.split_whitespace() {
        let c = Category::parse(item, default_scheme);
        if !c.is_valid() {
            return Err(BAD_CATEGORY.into());
        }
        out.push(c.to_string());
    }
    Ok(())
}
