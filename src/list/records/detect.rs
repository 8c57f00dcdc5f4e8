//! Format detection: the first lines of an input, the header's columns and the shape of its
//! lines decide the format (see [the module documentation](super#detection)).

use super::*;

/// Reads the first chunk of the input: at least the first complete meaningful line (or the
/// end), and whatever else the first reads brought, up to [`DETECT_LINES`] lines.
pub(crate) fn sample(input: &mut dyn BufRead, source: &str) -> Result<Vec<u8>> {
    let mut prefix = Vec::new();
    // The complete lines before this offset are known to be blank or comments: each read
    // looks only at what it brought (a rescan of the whole sample made many small reads
    // of blank lines quadratic).
    let mut scanned = 0;
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from(e).with_path(source)),
        };
        if buf.is_empty() {
            return Ok(prefix);
        }
        let take = buf.len().min(4 * MAX_LINE_LEN);
        prefix.extend_from_slice(&buf[..take]);
        input.consume(take);
        let fresh = &prefix[scanned..];
        if !meaningful_lines(fresh, true, scanned == 0, 1).is_empty()
            || prefix.len() > 4 * MAX_LINE_LEN
        {
            return Ok(prefix);
        }
        // Only complete lines count as scanned; a partial one is looked at again.
        scanned += memchr::memrchr2(b'\n', b'\r', fresh).map_or(0, |i| i + 1);
    }
}

/// The meaningful lines of a sample: after leading blank lines and `#` comments, up to
/// [`DETECT_LINES`], complete lines only (unless `complete` is false: then the last partial
/// line too, for a sample that is the whole input).
pub(crate) fn sample_lines(prefix: &[u8], complete: bool) -> Vec<String> {
    meaningful_lines(prefix, complete, true, DETECT_LINES)
}

/// [`sample_lines`] of a part of a sample: `at_start` when it starts the input (a byte-order
/// mark is dropped only there), at most `max` lines.
fn meaningful_lines(prefix: &[u8], complete: bool, at_start: bool, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = prefix;
    let mut first = at_start;
    while let Some(i) = memchr::memchr2(b'\n', b'\r', rest)
        .or((!complete && !rest.is_empty()).then_some(rest.len()))
    {
        let line = &rest[..i];
        rest = &rest[(i + 1).min(rest.len())..];
        if line.len() > MAX_LINE_LEN {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        let mut text = text.trim();
        if first {
            text = text.trim_start_matches('\u{feff}').trim();
        }
        if text.is_empty() {
            continue;
        }
        if out.is_empty() && text.starts_with('#') {
            continue;
        }
        first = false;
        out.push(text.to_owned());
        if out.len() >= max {
            break;
        }
    }
    out
}

pub(super) fn detect_prefix(
    prefix: &[u8],
    source: &str,
    options: &ReadOptions,
) -> Result<Option<InputFormat>> {
    let lines = sample_lines(prefix, false);
    if lines.is_empty() {
        // Only over-long lines (or a line longer than the sample): not an empty input, and
        // no line to tell the format by. Reading on as empty would drop every record.
        if let Some(n) = prefix
            .split(|&b| b == b'\n')
            .position(|l| l.len() > MAX_LINE_LEN)
        {
            return Err(Error::new(ErrorKind::InputFormat(format!(
                "{source}: cannot tell the input format: line {} is longer than 1 MiB and no \
                 line before it tells the format; pass the format explicitly (one of: {})",
                n + 1,
                InputFormat::NAMES
            ))));
        }
        return Ok(None);
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    match detect_lines(source, &refs, options)? {
        Some(f) => Ok(Some(f)),
        None => Err(Error::new(ErrorKind::InputFormat(format!(
            "{source}: cannot tell the input format from its first lines; pass the format \
             explicitly (one of: {})",
            InputFormat::NAMES
        )))),
    }
}

pub(super) const LINE_FORMATS: [InputFormat; 3] = [
    InputFormat::Hex,
    InputFormat::PytxSignals,
    InputFormat::PdqHasher,
];

pub(super) fn ambiguous(source: &str, a: InputFormat, b: InputFormat, why: &str) -> Error {
    Error::new(ErrorKind::InputFormat(format!(
        "{source}: the input fits two formats, {a} and {b} ({why}); pass the format \
         explicitly (--input-format {a} or --input-format {b}; formats: {})",
        InputFormat::NAMES
    )))
}

/// Detects the format from the meaningful lines of a sample.
pub(super) fn detect_lines(
    source: &str,
    lines: &[&str],
    options: &ReadOptions,
) -> Result<Option<InputFormat>> {
    let Some(first) = lines.first() else {
        return Ok(None);
    };
    let first_fits = line_shapes(first);
    if first_fits == 0 {
        if let Some(f) = detect_header(source, first, lines, options)? {
            return Ok(Some(f));
        }
    }
    // Line formats: the one every line that fits any fits.
    let mut all = 0b111u8;
    let mut votes = [0usize; 3];
    let mut any = false;
    for line in lines {
        let s = line_shapes(line);
        if s == 0 {
            continue;
        }
        any = true;
        all &= s;
        for (i, v) in votes.iter_mut().enumerate() {
            if s & (1 << i) != 0 {
                *v += 1;
            }
        }
    }
    if !any {
        return Ok(None);
    }
    if all != 0 {
        let i = all.trailing_zeros() as usize;
        return Ok(Some(LINE_FORMATS[i]));
    }
    let mut ranked: Vec<usize> = (0..3).filter(|&i| votes[i] > 0).collect();
    ranked.sort_by_key(|&i| std::cmp::Reverse(votes[i]));
    let (a, b) = (LINE_FORMATS[ranked[0]], LINE_FORMATS[ranked[1]]);
    Err(ambiguous(
        source,
        a,
        b,
        "some lines fit one, some the other",
    ))
}

/// Which line formats a line fits (bits in [`LINE_FORMATS`] order), by shape.
pub(super) fn line_shapes(line: &str) -> u8 {
    const HEX: u8 = 1;
    const PYTX: u8 = 2;
    const PDQ: u8 = 4;
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("hash=") {
        let hash_part = rest.split(',').next().unwrap_or("");
        if !is_hex_hash(hash_part) {
            return 0;
        }
        if rest.contains(",filename=")
            && (rest.contains(",quality=") || rest.contains(",xform=") || rest.contains(",orig="))
        {
            return PDQ;
        }
        return HEX;
    }
    let (tok, after) = split_token(t);
    if !after.is_empty() {
        // Whitespace-separated: pytx lines.
        if is_hex_hash(tok) {
            return if pytx_meta(after).is_some() { PYTX } else { 0 };
        }
        if is_signal_type(tok) && !after.starts_with(',') {
            return PYTX;
        }
        let (tok2, after2) = split_token(after);
        if rotation(tok).is_some() && is_signal_type(tok2) && !after2.is_empty() {
            return PYTX;
        }
        // A hex line whose metadata has spaces is still a hex line.
    }
    let fields: Vec<&str> = t.split(',').collect();
    if !is_hex_hash(fields[0].trim()) {
        return 0;
    }
    if fields.len() == 1 {
        return HEX | PYTX;
    }
    // `hash,quality,filename`; an empty quality is none (our pdq-hasher export of an entry
    // without one).
    if fields.len() >= 3 && (is_digits(fields[1]) || fields[1].trim().is_empty()) {
        return PDQ;
    }
    if fields.len() >= 10
        && fields[..8].iter().all(|f| is_hex_hash(f.trim()))
        && is_digits(fields[8])
    {
        return PDQ;
    }
    HEX
}

/// Decides a table format from its first line. `None`: not a header.
pub(super) fn detect_header(
    source: &str,
    first: &str,
    lines: &[&str],
    options: &ReadOptions,
) -> Result<Option<InputFormat>> {
    if first.starts_with('{') {
        let mut keys: HashSet<String> = HashSet::new();
        for line in lines {
            if let Ok(serde_json::Value::Object(obj)) = serde_json::from_str(line) {
                if matches!(obj.get("type"), Some(serde_json::Value::String(t)) if t == "summary" || t == "header")
                {
                    continue;
                }
                keys.extend(obj.keys().map(|k| k.to_ascii_lowercase()));
            }
        }
        let has = |k: &str| keys.contains(k);
        let ours = has("path") && has("algorithm") && has("hash");
        return Ok(Some(if ours && options.hash_col.is_none() {
            InputFormat::Hashsieve
        } else {
            InputFormat::JsonLines
        }));
    }
    let tab = first.contains('\t');
    if !tab && !first.contains(',') {
        return Ok(None);
    }
    let cols: Vec<String> = split_header(first, if tab { b'\t' } else { b',' });
    let has = |c: &str| cols.iter().any(|h| h == c);
    let ours = has("path") && has("algorithm") && has("hash");
    let pytx = has("signal_type") && has("signal_str");
    if options.hash_col.is_some() {
        return Ok(Some(if tab {
            InputFormat::Tsv
        } else {
            InputFormat::Csv
        }));
    }
    if ours && pytx {
        return Err(ambiguous(
            source,
            InputFormat::Hashsieve,
            InputFormat::PytxCsv,
            "the header has the columns of both",
        ));
    }
    if ours {
        return Ok(Some(InputFormat::Hashsieve));
    }
    if pytx {
        return Ok(Some(InputFormat::PytxCsv));
    }
    Ok(Some(if tab {
        InputFormat::Tsv
    } else {
        InputFormat::Csv
    }))
}

pub(super) fn split_header(line: &str, delim: u8) -> Vec<String> {
    let mut rdr = csv_core::ReaderBuilder::new().delimiter(delim).build();
    let mut out = vec![0u8; line.len() + 16];
    let mut ends = vec![0usize; line.len() + 2];
    let mut input = line.as_bytes().to_vec();
    input.push(b'\n');
    let (_, _, nout, nend) = rdr.read_record(&input, &mut out, &mut ends);
    let _ = nout;
    let mut cols = Vec::new();
    let mut start = 0;
    for &e in &ends[..nend] {
        cols.push(
            String::from_utf8_lossy(&out[start..e])
                .trim()
                .trim_start_matches('\u{feff}')
                .to_ascii_lowercase(),
        );
        start = e;
    }
    cols
}
