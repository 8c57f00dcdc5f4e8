//! The hex format (`[hash=]<hex>[,<metadata>]`) and pdq-photo-hasher output.

use super::*;

/// A line of the hex format: `[hash=]<hex>[,<metadata>]`.
pub(crate) fn hex_item(options: &ReadOptions, n: u64, text: &str) -> Item {
    let (hash_part, id) = match text.split_once(',') {
        Some((h, m)) => (h, Some(m)),
        None => (text, None),
    };
    let hash_part = hash_part.strip_prefix("hash=").unwrap_or(hash_part);
    let kind = kind_of_hex(options, hash_part);
    match parse_hash(kind, hash_part) {
        Ok(hash) => {
            let mut r = Record::new(n, kind, hash);
            r.id = id.map(str::to_owned);
            Item::Record(r)
        }
        Err(reason) => Item::Malformed { line: n, reason },
    }
}

/// What the PDQ hasher's `-d --pdqdih` rows need from the row before: the file's quality row.
#[derive(Default)]
pub(super) struct PdqState {
    /// (file name, hash, quality) of the last `quality=` row.
    pub(super) last: Option<(String, HashValue, Option<u8>)>,
}

/// The records of line `n`'s dihedral hashes (orientation, hex) from file `name`, all or none:
/// one malformed hash makes the whole line one `Malformed` item.
fn dihedral_items<'a>(
    n: u64,
    kind: HashKind,
    quality: Option<u8>,
    name: &str,
    hashes: impl IntoIterator<Item = (Dihedral, &'a str)>,
) -> Vec<Item> {
    let mut items = Vec::new();
    for (d, text) in hashes {
        match parse_hash(kind, text) {
            Ok(hash) => {
                let mut r = Record::new(n, kind, hash);
                r.quality = quality;
                r.id = Some(name.to_owned());
                r.orientation = Some(d);
                items.push(Item::Record(r));
            }
            Err(reason) => return vec![Item::Malformed { line: n, reason }],
        }
    }
    items
}

/// The leading hex field of a pdq-photo-hasher line, its kind told from its length; `None`
/// after pushing the line as [`Item::Malformed`] when it is not a hash.
fn hex_field(
    options: &ReadOptions,
    n: u64,
    text: &str,
    out: &mut VecDeque<Item>,
) -> Option<(HashKind, HashValue)> {
    let kind = kind_of_hex(options, text);
    match parse_hash(kind, text) {
        Ok(hash) => Some((kind, hash)),
        Err(reason) => {
            out.push_back(Item::Malformed { line: n, reason });
            None
        }
    }
}

pub(super) fn pdq_hasher_items(
    options: &ReadOptions,
    state: &mut PdqState,
    n: u64,
    text: &str,
    out: &mut VecDeque<Item>,
) {
    let bad = |reason: &str| Item::Malformed {
        line: n,
        reason: reason.to_owned(),
    };
    let record =
        |kind: HashKind, hash: HashValue, q: Option<u8>, name: &str, o: Option<Dihedral>| {
            let mut r = Record::new(n, kind, hash);
            r.quality = q;
            r.id = Some(name.to_owned());
            r.orientation = o;
            Item::Record(r)
        };
    if let Some(rest) = text.strip_prefix("hash=") {
        // -d forms; the file name is last and may contain commas.
        let Some((fields, name)) = rest.split_once(",filename=") else {
            out.push_back(bad("no filename= field"));
            return;
        };
        let mut parts = fields.split(',');
        let Some((kind, hash)) = hex_field(options, n, parts.next().unwrap_or(""), out) else {
            return;
        };
        let mut quality = None;
        let mut has_quality = false;
        let mut xform = None;
        let mut across: Vec<(Dihedral, &str)> = Vec::new();
        for p in parts {
            let Some((key, value)) = p.split_once('=') else {
                out.push_back(bad("a field is not key=value"));
                return;
            };
            match key {
                "quality" => {
                    has_quality = true;
                    match parse_quality(value) {
                        Ok(q) => quality = q,
                        Err(reason) => {
                            out.push_back(bad(reason));
                            return;
                        }
                    }
                }
                "xform" => match rotation(value) {
                    Some(d) => xform = Some(d),
                    None => {
                        out.push_back(bad("unknown xform name"));
                        return;
                    }
                },
                "norm" | "delta" => {}
                other => {
                    // A field of a newer tool is ignored.
                    if let Some(d) = rotation(other) {
                        across.push((d, value));
                    }
                }
            }
        }
        if !options.wants(kind) {
            out.push_back(Item::Skipped {
                line: n,
                reason: SkipReason::OtherKind,
            });
            return;
        }
        if !across.is_empty() {
            // -d --pdqdih-across: the 8 hashes; `hash=` repeats `orig=`.
            out.extend(dihedral_items(n, kind, quality, name, across));
            return;
        }
        if let Some(d) = xform {
            // -d --pdqdih: the quality is the file's `quality=` row's.
            let last = state.last.as_ref().filter(|(f, _, _)| f == name);
            if d == Dihedral::Orig && last.is_some_and(|(_, h, _)| *h == hash) {
                out.push_back(Item::Skipped {
                    line: n,
                    reason: SkipReason::Duplicate,
                });
                return;
            }
            let q = last.and_then(|(_, _, q)| *q);
            out.push_back(record(kind, hash, q, name, Some(d)));
            return;
        }
        if has_quality {
            state.last = Some((name.to_owned(), hash, quality));
        }
        out.push_back(record(kind, hash, quality, name, None));
        return;
    }
    let fields: Vec<&str> = text.splitn(11, ',').collect();
    if fields.len() >= 10 && fields[..8].iter().all(|f| is_hex_hash(f.trim())) {
        // --pdqdih-across: 8 hashes, quality, file name (which may contain commas).
        let q = match parse_quality(fields[8]) {
            Ok(q) => q,
            Err(reason) => {
                out.push_back(bad(reason));
                return;
            }
        };
        let name = text.splitn(10, ',').nth(9).unwrap_or("");
        let kind = kind_of_hex(options, fields[0]);
        if !options.wants(kind) {
            out.push_back(Item::Skipped {
                line: n,
                reason: SkipReason::OtherKind,
            });
            return;
        }
        let hashes = Dihedral::ALL.into_iter().zip(fields[..8].iter().copied());
        out.extend(dihedral_items(n, kind, q, name, hashes));
        return;
    }
    let mut parts = text.splitn(3, ',');
    let Some((kind, hash)) = hex_field(options, n, parts.next().unwrap_or(""), out) else {
        return;
    };
    let quality = match parts.next().map(parse_quality) {
        Some(Ok(q)) => q,
        Some(Err(reason)) => {
            out.push_back(bad(reason));
            return;
        }
        None => {
            out.push_back(bad("expected hash,quality,filename"));
            return;
        }
    };
    let Some(name) = parts.next() else {
        out.push_back(bad("expected hash,quality,filename"));
        return;
    };
    if !options.wants(kind) {
        out.push_back(Item::Skipped {
            line: n,
            reason: SkipReason::OtherKind,
        });
        return;
    }
    out.push_back(record(kind, hash, quality, name, None));
}
