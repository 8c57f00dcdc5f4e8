//! `md5sum`/`sha1sum`/`sha256sum` output and hashdeep CSV, line by line.

use std::io::{BufRead, Read};

use super::media::{parse_hex_bytes, MediaItem, MediaRecord};
use super::tsv::escape_bytes;
use crate::error::{Error, Result};
use crate::list::import::MAX_LINE_LEN;

/// The hex digest of a sums line as its record's hash; `Err` with a reason.
fn set_digest(r: &mut MediaRecord, what: &str, hex: &str) -> std::result::Result<(), String> {
    match hex.len() {
        32 => r.md5 = Some(parse_hex_bytes::<16>(what, hex)?),
        40 => r.sha1 = Some(parse_hex_bytes::<20>(what, hex)?),
        64 => r.sha256 = Some(parse_hex_bytes::<32>(what, hex)?),
        n => {
            return Err(format!(
                "{what} has {n} characters: not an MD5, SHA-1 or SHA-256"
            ))
        }
    }
    Ok(())
}

/// Undoes the escapes of GNU `*sum` names (`\\`, `\n`, `\r`).
fn unescape_sum_name(name: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(name.len());
    let mut bytes = name.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            _ => return Err("a bad escape in the file name".into()),
        }
    }
    Ok(out)
}

/// A name's bytes as an id: the text when UTF-8, else the escaped form (`\xNN` for bytes
/// outside UTF-8, `\\` for a backslash), as our TSV ids, so distinct names stay distinct.
fn name_id(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => escape_bytes(bytes),
    }
}

/// Parses one line of `md5sum`-family output (GNU or BSD tag form) into a record at line 0.
pub(super) fn sums_line(line: &[u8]) -> std::result::Result<MediaRecord, String> {
    let mut r = MediaRecord::default();
    // BSD tag form: `MD5 (name) = hex`, also written by `md5sum --tag`.
    for (tag, what) in [("MD5 (", "MD5"), ("SHA1 (", "SHA1"), ("SHA256 (", "SHA256")] {
        if let Some(rest) = line.strip_prefix(tag.as_bytes()) {
            let split = rest
                .windows(4)
                .rposition(|w| w == b") = ")
                .ok_or_else(|| format!("a {what} tag line without ') = '"))?;
            let hex = std::str::from_utf8(&rest[split + 4..])
                .map_err(|_| format!("the {what} is not hex"))?;
            set_digest(&mut r, what, hex.trim_end())?;
            r.id = Some(name_id(&rest[..split]));
            return Ok(r);
        }
    }
    // GNU: `[\]<hex> <space or *><name>`; a leading `\` means the name is escaped.
    let (escaped, rest) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let hex_end = rest
        .iter()
        .position(|c| !c.is_ascii_hexdigit())
        .unwrap_or(rest.len());
    let (hex, tail) = rest.split_at(hex_end);
    let name = tail
        .strip_prefix(b"  ")
        .or_else(|| tail.strip_prefix(b" *"))
        .ok_or_else(|| "not `<hex>  <name>` or `<hex> *<name>`".to_string())?;
    if name.is_empty() {
        return Err("no file name".into());
    }
    // ASCII hex digits only, so this is UTF-8.
    set_digest(
        &mut r,
        "the digest",
        std::str::from_utf8(hex).unwrap_or_default(),
    )?;
    r.id = Some(if escaped {
        name_id(&unescape_sum_name(name)?)
    } else {
        name_id(name)
    });
    Ok(r)
}

/// A hashdeep column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Size,
    Md5,
    Sha1,
    Sha256,
    FileName,
    Other,
}

pub(super) struct SumsReader<R: BufRead> {
    input: R,
    source: String,
    hashdeep: bool,
    /// hashdeep's columns, once its `%%%% size,...` line is read.
    columns: Option<Vec<Column>>,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> SumsReader<R> {
    pub(super) fn new(input: R, source: &str, hashdeep: bool) -> SumsReader<R> {
        SumsReader {
            input,
            source: source.to_owned(),
            hashdeep,
            columns: None,
            line: 0,
            buf: Vec::new(),
        }
    }

    /// The next line's bytes without its end, or `None` at the end; a line over
    /// `MAX_LINE_LEN` is read past and comes back as `Err(())`.
    fn next_line(&mut self) -> Result<Option<std::result::Result<(), ()>>> {
        self.buf.clear();
        let mut limited = Read::take(&mut self.input, MAX_LINE_LEN as u64 + 1);
        let n = limited
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::from(e).with_path(&self.source))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() != Some(&b'\n') && self.buf.len() > MAX_LINE_LEN {
            // Skip the rest of the long line without holding it.
            loop {
                let chunk = self
                    .input
                    .fill_buf()
                    .map_err(|e| Error::from(e).with_path(&self.source))?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.input.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = chunk.len();
                        self.input.consume(len);
                    }
                }
            }
            return Ok(Some(Err(())));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        if self.line == 1 && self.buf.starts_with(b"\xef\xbb\xbf") {
            self.buf.drain(..3);
        }
        Ok(Some(Ok(())))
    }

    pub(super) fn next_item(&mut self) -> Result<Option<MediaItem>> {
        loop {
            match self.next_line()? {
                None => return Ok(None),
                Some(Err(())) => {
                    return Ok(Some(MediaItem::Malformed {
                        at: self.line,
                        reason: format!("a line over {MAX_LINE_LEN} bytes"),
                    }))
                }
                Some(Ok(())) => {}
            }
            let at = self.line;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let item = if self.hashdeep {
                match self.hashdeep_line() {
                    Some(item) => item,
                    None => continue,
                }
            } else {
                if self.buf.starts_with(b"#") {
                    continue;
                }
                match sums_line(&self.buf) {
                    Ok(mut r) => {
                        r.at = at;
                        MediaItem::Record(r)
                    }
                    Err(reason) => MediaItem::Malformed { at, reason },
                }
            };
            return Ok(Some(item));
        }
    }

    fn hashdeep_line(&mut self) -> Option<MediaItem> {
        let at = self.line;
        // The file name (the last column) may not be UTF-8; the other columns are ASCII.
        let line = std::mem::take(&mut self.buf);
        let item = self.hashdeep_fields(at, &line);
        self.buf = line;
        item
    }

    fn hashdeep_fields(&mut self, at: u64, line: &[u8]) -> Option<MediaItem> {
        let text = String::from_utf8_lossy(line);
        if let Some(header) = text.strip_prefix("%%%% ") {
            if !header.starts_with("HASHDEEP") {
                let columns = header
                    .split(',')
                    .map(|c| match c.trim().to_ascii_lowercase().as_str() {
                        "size" => Column::Size,
                        "md5" => Column::Md5,
                        "sha1" => Column::Sha1,
                        "sha256" => Column::Sha256,
                        "filename" => Column::FileName,
                        _ => Column::Other,
                    })
                    .collect::<Vec<_>>();
                if columns.last() != Some(&Column::FileName) {
                    return Some(MediaItem::Malformed {
                        at,
                        reason: "a hashdeep header whose last column is not `filename`".into(),
                    });
                }
                self.columns = Some(columns);
            }
            return None;
        }
        if text.starts_with("##") || text.starts_with('#') {
            return None;
        }
        let Some(columns) = &self.columns else {
            return Some(MediaItem::Malformed {
                at,
                reason: "a row before the `%%%% size,...,filename` header".into(),
            });
        };
        // The file name is the last column and is not quoted: it takes the rest of the line.
        let fields: Vec<&[u8]> = line.splitn(columns.len(), |&b| b == b',').collect();
        if fields.len() != columns.len() {
            return Some(MediaItem::Malformed {
                at,
                reason: format!(
                    "{} field(s) where the header names {}",
                    fields.len(),
                    columns.len()
                ),
            });
        }
        let mut r = MediaRecord {
            at,
            ..MediaRecord::default()
        };
        for (column, bytes) in columns.iter().zip(fields) {
            let field = std::str::from_utf8(bytes).unwrap_or("");
            let result = match column {
                Column::Size => field
                    .trim()
                    .parse::<u64>()
                    .map(|n| r.size = Some(n))
                    .map_err(|_| "the size is not a whole number".to_string()),
                Column::Md5 => parse_hex_bytes::<16>("md5", field).map(|h| r.md5 = Some(h)),
                Column::Sha1 => parse_hex_bytes::<20>("sha1", field).map(|h| r.sha1 = Some(h)),
                Column::Sha256 => {
                    parse_hex_bytes::<32>("sha256", field).map(|h| r.sha256 = Some(h))
                }
                Column::FileName => {
                    r.id = Some(name_id(bytes));
                    Ok(())
                }
                Column::Other => Ok(()),
            };
            if let Err(reason) = result {
                return Some(MediaItem::Malformed { at, reason });
            }
        }
        Some(MediaItem::Record(r))
    }
}
