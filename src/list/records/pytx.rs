//! python-threatexchange: `tx hash` signal lines and `tx dataset -P` CSV.

use super::*;

/// pytx metadata after the value: `['<collab>'] <CATEGORY>[ <tags>]`, or nothing.
/// `None` when the text is not that shape.
pub(super) fn pytx_meta(text: &str) -> Option<(Option<String>, Vec<String>)> {
    let mut rest = text.trim();
    let mut collab = None;
    if rest.starts_with('\'') || rest.starts_with('"') {
        let (s, after) = python_str(rest)?;
        collab = Some(s);
        rest = after.trim_start();
    }
    let mut categories = Vec::new();
    if rest.is_empty() {
        return collab.is_some().then_some((collab, categories));
    }
    let (cat, tags) = match rest.split_once(' ') {
        Some((c, t)) => (c, t),
        None => (rest, ""),
    };
    if cat.is_empty() || !cat.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return None;
    }
    categories.push(format!("category:{cat}"));
    // pytx joins tags with `,`; a category holds no whitespace, so a tag with spaces becomes
    // one tag per word, as pytx's CSV (which joins tags with spaces) reads.
    for tag in tags.split(|c: char| c == ',' || c.is_whitespace()) {
        if !tag.is_empty() {
            categories.push(format!("tag:{tag}"));
        }
    }
    Some((collab, categories))
}

/// A Python string literal as `repr` writes it: `'…'` or `"…"` with backslash escapes.
/// Returns the string and the text after it.
pub(super) fn python_str(text: &str) -> Option<(String, &str)> {
    let quote = text.chars().next()?;
    let mut out = String::new();
    let mut chars = text[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some((out, &text[1 + i + 1..]));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let (_, e) = chars.next()?;
        let mut hex = |n: usize| -> Option<char> {
            let mut v = 0u32;
            for _ in 0..n {
                v = v * 16 + chars.next()?.1.to_digit(16)?;
            }
            char::from_u32(v)
        };
        match e {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'x' => out.push(hex(2)?),
            'u' => out.push(hex(4)?),
            'U' => out.push(hex(8)?),
            other => out.push(other),
        }
    }
    None
}

pub(super) fn pytx_item(options: &ReadOptions, n: u64, text: &str) -> Item {
    let skipped = |reason| Item::Skipped { line: n, reason };
    let t = text.trim();
    let (first, after) = split_token(t);
    let (kind, value, rest, orientation) = if is_hex_hash(first) {
        // `-s <type>`: no type column.
        (kind_of_hex(options, first), first, after, None)
    } else if let (Some(d), (ty, after2)) = (rotation(first), split_token(after)) {
        // `tx hash photo --rotations`: `ROTATE90 pdq <hex>`.
        let Some(kind) = signal_kind(ty) else {
            return skipped(SkipReason::OtherSignalType);
        };
        let (value, rest) = split_token(after2);
        (kind, value, rest, Some(d))
    } else if !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        let Some(kind) = signal_kind(first) else {
            return skipped(SkipReason::OtherSignalType);
        };
        let (value, rest) = split_token(after);
        (kind, value, rest, None)
    } else {
        return Item::Malformed {
            line: n,
            reason: "expected `<signal_type> <hash>`".into(),
        };
    };
    if !options.wants(kind) {
        return skipped(SkipReason::OtherKind);
    }
    let hash = match parse_hash(kind, value) {
        Ok(h) => h,
        Err(reason) => return Item::Malformed { line: n, reason },
    };
    let mut r = Record::new(n, kind, hash);
    r.orientation = orientation;
    if !rest.is_empty() {
        match pytx_meta(rest) {
            Some((collab, categories)) => {
                if categories
                    .iter()
                    .any(|c| !Category::parse(c, "tag").is_valid())
                {
                    return Item::Malformed {
                        line: n,
                        reason: BAD_CATEGORY.into(),
                    };
                }
                r.source = collab.filter(|c| !c.is_empty());
                r.categories = categories;
            }
            // Not pytx metadata: the text after the hash is an id.
            None => r.id = Some(rest.to_owned()),
        }
    }
    Item::Record(r)
}
