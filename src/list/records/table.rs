//! The formats with named columns: CSV, TSV (ours included) and JSON lines.

use super::*;

/// Where each field of a table comes from (column indexes, or JSON keys).
#[derive(Clone, Debug, Default)]
pub(super) struct Columns {
    pub(super) hash: usize,
    pub(super) kind: Option<usize>,
    /// The kind column is pytx's `signal_type` (other types are skipped, not malformed).
    pub(super) signal: bool,
    pub(super) id: Option<usize>,
    /// The id is our `path` (unescaped in TSV).
    pub(super) path: bool,
    pub(super) quality: Option<usize>,
    pub(super) categories: Option<usize>,
    pub(super) pytx_category: Option<usize>,
    pub(super) tags: Option<usize>,
    pub(super) source: Option<usize>,
    pub(super) orientation: Option<usize>,
    pub(super) status: Option<usize>,
    /// Our format: an empty hash is a row without one.
    pub(super) ours: bool,
}

impl Columns {
    pub(super) fn from_header(
        format: InputFormat,
        header: &[String],
        options: &ReadOptions,
        source: &str,
    ) -> Result<Columns> {
        let col = |name: &str| {
            let name = name.to_ascii_lowercase();
            header.iter().position(|h| *h == name)
        };
        let missing = |name: &str, hint: &str| {
            Error::new(ErrorKind::InputFormat(format!(
                "{source}: the header has no column {name:?}{hint}"
            )))
        };
        Ok(match format {
            InputFormat::PytxCsv => Columns {
                hash: col("signal_str").ok_or_else(|| missing("signal_str", ""))?,
                kind: Some(col("signal_type").ok_or_else(|| missing("signal_type", ""))?),
                signal: true,
                source: col("collab"),
                pytx_category: col("category"),
                tags: col("tags"),
                ..Columns::default()
            },
            InputFormat::Hashsieve => Columns {
                hash: col("hash").ok_or_else(|| missing("hash", ""))?,
                id: Some(col("path").ok_or_else(|| missing("path", ""))?),
                path: true,
                kind: Some(col("algorithm").ok_or_else(|| missing("algorithm", ""))?),
                quality: col("quality"),
                orientation: col("orientation"),
                status: col("status"),
                ours: true,
                ..Columns::default()
            },
            _ => {
                let hash_name = options.hash_col.as_deref().unwrap_or("hash");
                let pick = |given: &Option<String>, default: &str| -> Result<Option<usize>> {
                    match given {
                        Some(name) => col(name).map(Some).ok_or_else(|| missing(name, "")),
                        None => Ok(col(default)),
                    }
                };
                Columns {
                    hash: col(hash_name)
                        .ok_or_else(|| missing(hash_name, "; name the hash column"))?,
                    id: pick(&options.id_col, "id")?,
                    categories: pick(&options.category_col, "categories")?,
                    quality: col("quality"),
                    source: col("source"),
                    kind: col("algorithm"),
                    orientation: col("orientation"),
                    ..Columns::default()
                }
            }
        })
    }
}

pub(super) struct CsvState {
    pub(super) reader: csv_core::Reader,
    /// The fields of the record read last, and the ends of each (as csv_core gives them).
    pub(super) out: Vec<u8>,
    pub(super) ends: Vec<usize>,
    pub(super) out_used: usize,
    pub(super) ends_used: usize,
    pub(super) record_line: u64,
}

impl Default for CsvState {
    fn default() -> CsvState {
        CsvState::new(b',', true)
    }
}

impl CsvState {
    pub(super) fn new(delim: u8, quoting: bool) -> CsvState {
        CsvState {
            reader: csv_core::ReaderBuilder::new()
                .delimiter(delim)
                .quoting(quoting)
                .build(),
            out: Vec::new(),
            ends: Vec::new(),
            out_used: 0,
            ends_used: 0,
            record_line: 0,
        }
    }

    pub(super) fn fields_len(&self) -> usize {
        self.ends_used
    }

    pub(super) fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.out[start..self.ends[i]]
    }
}

#[derive(Default)]
pub(super) struct Table {
    pub(super) csv: CsvState,
    pub(super) cols: Columns,
    /// Our TSV: cells are escaped.
    pub(super) escaped: bool,
    /// A JSON input of our format (read by [`JsonState`]).
    pub(super) json: bool,
    /// The header's names, lower case.
    pub(super) header: Vec<String>,
    pub(super) seen: Seen,
}

/// The records of the current path, to drop the repeated rows of a scan.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) path: String,
    pub(super) keys: HashSet<(HashKind, HashValue)>,
}

/// The fields of one row, before checks.
#[derive(Default)]
pub(super) struct Raw<'a> {
    pub(super) hash: Option<Cow<'a, str>>,
    pub(super) kind: Option<Cow<'a, str>>,
    pub(super) signal: bool,
    pub(super) id: Option<Cow<'a, str>>,
    pub(super) quality: Option<Cow<'a, str>>,
    pub(super) categories: Vec<String>,
    pub(super) source: Option<Cow<'a, str>>,
    pub(super) orientation: Option<Cow<'a, str>>,
    pub(super) status: Option<Cow<'a, str>>,
    pub(super) ours: bool,
}

pub(super) fn table_raw<'a>(
    cols: &Columns,
    fields: &[&'a [u8]],
    escaped: bool,
) -> std::result::Result<Raw<'a>, String> {
    let get = |i: Option<usize>| -> std::result::Result<Option<&'a str>, String> {
        match i {
            None => Ok(None),
            Some(i) => match fields.get(i) {
                None => Ok(None),
                Some(raw) => std::str::from_utf8(raw)
                    .map(Some)
                    .map_err(|_| format!("column {} is not valid UTF-8", i + 1)),
            },
        }
    };
    let hash = match fields.get(cols.hash) {
        None => return Err(format!("missing column {}", cols.hash + 1)),
        Some(_) => get(Some(cols.hash))?,
    };
    let mut categories = Vec::new();
    if let Some(c) = get(cols.categories)? {
        push_categories(c, "tag", &mut categories)?;
    }
    if let Some(c) = get(cols.pytx_category)? {
        for c in c.split_whitespace() {
            categories.push(format!("category:{c}"));
        }
    }
    if let Some(tags) = get(cols.tags)? {
        for t in tags.split_whitespace() {
            categories.push(format!("tag:{t}"));
        }
    }
    let id = match cols.id.and_then(|i| fields.get(i)) {
        Some(raw) if cols.path => Some(match std::str::from_utf8(raw) {
            Ok(p) if escaped => Cow::Owned(unescape_tsv_text(p)),
            Ok(p) => Cow::Borrowed(p),
            // A path that is not UTF-8 (CSV carries its bytes): its escaped text, the id the
            // same path gets from TSV or JSON.
            Err(_) => Cow::Owned(escape_bytes(raw)),
        }),
        _ => get(cols.id)?.map(Cow::Borrowed),
    };
    Ok(Raw {
        hash: hash.map(Cow::Borrowed),
        kind: get(cols.kind)?.map(Cow::Borrowed),
        signal: cols.signal,
        id,
        quality: get(cols.quality)?.map(Cow::Borrowed),
        categories,
        source: get(cols.source)?.map(Cow::Borrowed),
        orientation: get(cols.orientation)?.map(Cow::Borrowed),
        status: get(cols.status)?.map(Cow::Borrowed),
        ours: cols.ours,
    })
}

/// Turns the fields of a row into an item.
pub(super) fn finish(options: &ReadOptions, seen: &mut Seen, line: u64, raw: Raw<'_>) -> Item {
    let skipped = |reason| Item::Skipped { line, reason };
    let bad = |reason: String| Item::Malformed { line, reason };
    if let Some(status) = raw.status.as_deref() {
        if matches!(status.trim(), "error" | "skipped") {
            return skipped(SkipReason::NoHash);
        }
    }
    let hash_text = raw.hash.as_deref().unwrap_or("").trim();
    let kind = match raw.kind.as_deref().map(str::trim) {
        Some(k) if raw.signal => match signal_kind(k) {
            Some(kind) => kind,
            None => return skipped(SkipReason::OtherSignalType),
        },
        Some(k) if !k.is_empty() || raw.ours => match k.parse::<HashKind>() {
            Ok(kind) => kind,
            Err(_) if raw.ours && hash_text.is_empty() => return skipped(SkipReason::NoHash),
            Err(_) => return bad("unknown algorithm name".into()),
        },
        _ => kind_of_hex(options, hash_text),
    };
    if raw.ours && hash_text.is_empty() {
        return skipped(SkipReason::NoHash);
    }
    if !options.wants(kind) {
        return skipped(SkipReason::OtherKind);
    }
    let hash = match parse_hash(kind, hash_text) {
        Ok(h) => h,
        Err(reason) => return bad(reason),
    };
    let quality = match raw.quality.as_deref().map(parse_quality) {
        None => None,
        Some(Ok(q)) => q,
        Some(Err(reason)) => return bad(reason.into()),
    };
    // Not a dihedral name (older outputs wrote the EXIF orientation code there): none. In scan
    // output the column is the orientation of the match, not of the hash (always the file's).
    let orientation = match raw.status {
        Some(_) => None,
        None => raw.orientation.as_deref().and_then(|o| rotation(o.trim())),
    };
    if raw
        .categories
        .iter()
        .any(|c| !Category::parse(c, "tag").is_valid())
    {
        return bad(BAD_CATEGORY.into());
    }
    let id = raw.id.map(Cow::into_owned);
    if raw.status.is_some() {
        // A scan writes one row per matched entry: one record per (path, kind, hash).
        let path = id.as_deref().unwrap_or("");
        if seen.path != path {
            seen.path = path.to_owned();
            seen.keys.clear();
        }
        if !seen.keys.insert((kind, hash)) {
            return skipped(SkipReason::Duplicate);
        }
    }
    let mut r = Record::new(line, kind, hash);
    r.quality = quality;
    r.id = id;
    r.categories = raw.categories;
    r.source = raw.source.map(Cow::into_owned).filter(|s| !s.is_empty());
    r.orientation = orientation;
    Item::Record(r)
}

pub(super) struct JsonState {
    pub(super) hash_key: String,
    pub(super) id_key: String,
    pub(super) id_given: bool,
    pub(super) cat_key: String,
    pub(super) ours: bool,
    pub(super) seen: Seen,
}

impl JsonState {
    pub(super) fn new(options: &ReadOptions, ours: bool) -> JsonState {
        JsonState {
            hash_key: options.hash_col.clone().unwrap_or_else(|| "hash".into()),
            id_key: options.id_col.clone().unwrap_or_else(|| "id".into()),
            id_given: options.id_col.is_some(),
            cat_key: options
                .category_col
                .clone()
                .unwrap_or_else(|| "categories".into()),
            ours,
            seen: Seen::default(),
        }
    }
}

pub(super) fn json_raw<'a>(
    state: &JsonState,
    obj: &'a serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<Raw<'a>, String> {
    use serde_json::Value;
    let text = |key: &str| -> std::result::Result<Option<Cow<'a, str>>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(Cow::Borrowed(s.as_str()))),
            Some(Value::Number(n)) => Ok(Some(Cow::Owned(n.to_string()))),
            Some(_) => Err(format!("field {key:?} is not a string")),
        }
    };
    let hash = match obj.get(state.hash_key.as_str()) {
        Some(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
        Some(Value::Null) if state.ours => None,
        Some(_) => return Err(format!("field {:?} is not a string", state.hash_key)),
        None if state.ours => None,
        None => return Err(format!("no field {:?}", state.hash_key)),
    };
    let ours = state.ours || obj.contains_key("path") && obj.contains_key("algorithm");
    let id = if obj.contains_key(state.id_key.as_str()) || state.id_given {
        match obj.get(state.id_key.as_str()) {
            Some(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
            Some(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
            None | Some(Value::Null) if !state.id_given => None,
            _ => {
                return Err(format!(
                    "field {:?} is missing or not a string",
                    state.id_key
                ))
            }
        }
    } else if ours {
        match obj.get("path") {
            Some(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
            Some(Value::Object(o)) => match o.get("bytes") {
                Some(Value::String(b64)) => match base64_decode(b64) {
                    Some(bytes) => Some(Cow::Owned(match String::from_utf8(bytes) {
                        Ok(s) => s,
                        Err(e) => escape_bytes(e.as_bytes()),
                    })),
                    None => return Err("field \"path\" has invalid base64 bytes".into()),
                },
                _ => return Err("field \"path\" is not a string or {\"bytes\": …}".into()),
            },
            None | Some(Value::Null) => None,
            Some(_) => return Err("field \"path\" is not a string".into()),
        }
    } else {
        None
    };
    let quality = match obj.get("quality") {
        None | Some(Value::Null) => None,
        Some(Value::Number(q)) => Some(Cow::Owned(q.to_string())),
        Some(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
        Some(_) => return Err("quality is not a number".into()),
    };
    let mut categories = Vec::new();
    match obj.get(state.cat_key.as_str()) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => push_categories(s, "tag", &mut categories)?,
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str() {
                    Some(s) => push_categories(s, "tag", &mut categories)?,
                    None => return Err("a category is not a string".into()),
                }
            }
        }
        Some(_) => return Err("categories are not a string or an array".into()),
    }
    Ok(Raw {
        hash,
        kind: text("algorithm")?,
        signal: false,
        id,
        quality,
        categories,
        source: match obj.get("source") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
            Some(_) => return Err("source is not a string".into()),
        },
        orientation: text("orientation")?,
        status: text("status")?,
        ours,
    })
}

/// Standard base64 (with or without padding, as ripgrep's `--json` writes it); `None` when
/// invalid.
pub(super) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    use base64::Engine;
    const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    STANDARD_ANY_PAD.decode(text).ok()
}
