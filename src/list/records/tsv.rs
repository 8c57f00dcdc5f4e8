//! Backslash escapes of TSV cells, as ripgrep and our own output write them.

/// Undoes our TSV escapes (`\t`, `\n`, `\r`, `\\`, `\xNN`). A cell whose bytes are not UTF-8
/// keeps its escaped form (see the [module documentation](super)).
pub(super) fn unescape_tsv_text(cell: &str) -> String {
    if !cell.contains('\\') {
        return cell.to_owned();
    }
    match String::from_utf8(unescape_tsv(cell.as_bytes())) {
        Ok(s) => s,
        Err(e) => escape_bytes(e.as_bytes()),
    }
}

/// Appends `bytes` to `out` escaped for TSV: `\t`, `\n`, `\r` and `\\` for tab, newline,
/// carriage return and backslash, `\xNN` (two lowercase hex digits) for each byte that is not
/// part of valid UTF-8. Every other byte is copied, so `cut -f` and `awk -F'\t'` see one field.
/// This is how `hashsieve` writes paths and ids in TSV; [`unescape_tsv`] reads them back.
///
/// ```
/// use hashsieve::list::records::{escape_tsv, unescape_tsv};
/// let mut out = Vec::new();
/// escape_tsv(b"a\tb\\c\xff", &mut out);
/// assert_eq!(out, b"a\\tb\\\\c\\xff");
/// assert_eq!(unescape_tsv(&out), b"a\tb\\c\xff");
/// ```
pub fn escape_tsv(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.utf8_chunks() {
        for b in chunk.valid().bytes() {
            match b {
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                _ => out.push(b),
            }
        }
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
}

/// Undoes [`escape_tsv`]. A backslash before anything else (or a bad `\xNN`) is kept as it is.
pub fn unescape_tsv(cell: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cell.len());
    let mut i = 0;
    while i < cell.len() {
        let (byte, used) = match (cell[i], cell.get(i + 1)) {
            (b'\\', Some(b't')) => (b'\t', 2),
            (b'\\', Some(b'n')) => (b'\n', 2),
            (b'\\', Some(b'r')) => (b'\r', 2),
            (b'\\', Some(b'\\')) => (b'\\', 2),
            (b'\\', Some(b'x')) => match cell
                .get(i + 2..i + 4)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => (b, 4),
                None => (b'\\', 1),
            },
            (b, _) => (b, 1),
        };
        out.push(byte);
        i += used;
    }
    out
}

/// The escaped text of bytes that are not UTF-8: `\xNN` for the bytes outside valid UTF-8
/// sequences, `\\` for a backslash, `\t` `\n` `\r` for those.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    escape_tsv(bytes, &mut out);
    // Every byte outside valid UTF-8 became ASCII.
    String::from_utf8(out).unwrap_or_default()
}
