//! Allow-lists (known good, negative banks) and over-matching entries: what a platform applies to
//! one file's matches before it reports them.

use std::collections::{BTreeSet, HashMap};

use super::MatchRecord;
use crate::list::ListRole;

/// What to do with a file's block-list matches when the file is on an allow-list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllowPolicy {
    /// Drop them: the file is reported as known-good only (the default).
    #[default]
    Suppress,
    /// Keep them, marked as overridden by the allow-list, for review.
    Flag,
}

impl std::str::FromStr for AllowPolicy {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<AllowPolicy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "suppress" => Ok(AllowPolicy::Suppress),
            "flag" => Ok(AllowPolicy::Flag),
            _ => Err(crate::ErrorKind::UnknownName {
                what: "allow-list policy",
                name: s.to_string(),
                expected: "suppress, flag",
            }
            .into()),
        }
    }
}

/// One file's matches after the allow-lists are applied ([`apply_allow_lists`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// Whether the file matched an allow-list (exactly, or a perceptual allow-list within its
    /// own threshold): known good.
    pub known_good: bool,
    /// The allow-list matches.
    pub allow: Vec<MatchRecord>,
    /// The block-list matches that stand: all of them when the file is not known good, none
    /// otherwise.
    pub block: Vec<MatchRecord>,
    /// The block-list matches an allow-list overrode, kept under [`AllowPolicy::Flag`] (empty
    /// under [`AllowPolicy::Suppress`]).
    pub overridden: Vec<MatchRecord>,
    /// How many block-list matches the allow-lists overrode (kept or not).
    pub overridden_count: usize,
}

/// Applies allow-lists to the matches of one file (every hash of it: exact and perceptual, from
/// every list): a match on an allow-list ([`ListRole::Allow`]) makes the file known good, and
/// its block-list matches are then dropped or flagged, as `policy` says.
///
/// ```
/// use hashsieve::hash::Digest;
/// use hashsieve::list::{EntryMeta, HashList, ListBuilder, ListRole};
/// use hashsieve::matching::{apply_allow_lists, AllowPolicy, ListOptions, Matcher, Query};
/// use hashsieve::HashKind;
/// let file = Digest::of(HashKind::Md5, b"a known-good file");
/// let matcher = Matcher::new();
/// for (name, role) in [("block", ListRole::Block), ("nsrl", ListRole::Allow)] {
///     let mut b = ListBuilder::new(HashKind::Md5).name(name).role(role);
///     b.add(file, EntryMeta::new("x"))?;
///     matcher.add_list(HashList::from_bytes(b.to_vec()?)?, ListOptions::default())?;
/// }
/// let records = matcher.query(&Query::new(HashKind::Md5, file, None)).matches().to_vec();
/// let v = apply_allow_lists(records, AllowPolicy::Suppress);
/// assert!(v.known_good && v.block.is_empty() && v.overridden_count == 1);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn apply_allow_lists(
    records: impl IntoIterator<Item = MatchRecord>,
    policy: AllowPolicy,
) -> Verdict {
    let (allow, block): (Vec<MatchRecord>, Vec<MatchRecord>) =
        records.into_iter().partition(|r| r.role == ListRole::Allow);
    if allow.is_empty() {
        return Verdict {
            block,
            ..Verdict::default()
        };
    }
    let overridden_count = block.len();
    Verdict {
        known_good: true,
        allow,
        block: Vec::new(),
        overridden: match policy {
            AllowPolicy::Flag => block,
            _ => Vec::new(),
        },
        overridden_count,
    }
}

/// A list entry that matched more files than expected ([`OverMatching::over`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OverMatch {
    /// The list's name.
    pub list: String,
    /// The position of the matched hash in the list.
    pub hash_index: usize,
    /// The ids of the entries under that hash.
    pub entry_ids: Vec<String>,
    /// How many distinct files it matched.
    pub files: u64,
}

/// Counts, per list hash, the distinct files it matched, to flag entries that match far too
/// often (a list entry that is the hash of a blank image, a logo, a stock photo): a platform's
/// defence against a bad entry.
///
/// ```
/// use hashsieve::matching::OverMatching;
/// let mut counter = OverMatching::new();
/// // counter.add_file(&records_of_file) for each file scanned, then:
/// assert!(counter.over(10).is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct OverMatching {
    counts: HashMap<(String, usize), (u64, Vec<String>)>,
}

impl OverMatching {
    /// An empty counter.
    pub fn new() -> OverMatching {
        OverMatching::default()
    }

    /// Counts one file's matches: each list hash once, however many of the file's hashes or
    /// variants matched it.
    pub fn add_file<'a>(&mut self, records: impl IntoIterator<Item = &'a MatchRecord>) {
        let mut seen = BTreeSet::new();
        for r in records {
            if !seen.insert((r.list.as_str(), r.hash_index)) {
                continue;
            }
            let e = self
                .counts
                .entry((r.list.clone(), r.hash_index))
                .or_insert_with(|| (0, r.entry_ids.clone()));
            e.0 += 1;
        }
    }

    /// The list hashes that matched more than `n` distinct files, most files first (then by
    /// list and position).
    pub fn over(&self, n: u64) -> Vec<OverMatch> {
        let mut out: Vec<OverMatch> = self
            .counts
            .iter()
            .filter(|(_, (files, _))| *files > n)
            .map(|((list, hash_index), (files, ids))| OverMatch {
                list: list.clone(),
                hash_index: *hash_index,
                entry_ids: ids.clone(),
                files: *files,
            })
            .collect();
        out.sort_by(|a, b| {
            b.files
                .cmp(&a.files)
                .then_with(|| a.list.cmp(&b.list))
                .then(a.hash_index.cmp(&b.hash_index))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;
    use crate::list::{EntryMeta, HashList, ListBuilder};
    use crate::matching::{ListOptions, Matcher, Query};
    use crate::HashKind;

    fn matcher() -> Matcher {
        let m = Matcher::new();
        for (name, role, items) in [
            ("block", ListRole::Block, &[&b"bad"[..], b"both"][..]),
            ("allow", ListRole::Allow, &[&b"both"[..]][..]),
        ] {
            let mut b = ListBuilder::new(HashKind::Md5).name(name).role(role);
            for item in items {
                b.add(Digest::of(HashKind::Md5, item), EntryMeta::new("e"))
                    .unwrap();
            }
            m.add_list(
                HashList::from_bytes(b.to_vec().unwrap()).unwrap(),
                ListOptions::default(),
            )
            .unwrap();
        }
        m
    }

    fn records(m: &Matcher, file: &[u8]) -> Vec<MatchRecord> {
        m.query(&Query::new(
            HashKind::Md5,
            Digest::of(HashKind::Md5, file),
            None,
        ))
        .matches()
        .to_vec()
    }

    #[test]
    fn allow_lists_suppress_or_flag_block_matches() {
        let m = matcher();
        let v = apply_allow_lists(records(&m, b"bad"), AllowPolicy::Suppress);
        assert!(!v.known_good);
        assert_eq!(v.block.len(), 1);
        let v = apply_allow_lists(records(&m, b"both"), AllowPolicy::Suppress);
        assert!(v.known_good && v.block.is_empty() && v.overridden.is_empty());
        assert_eq!((v.allow.len(), v.overridden_count), (1, 1));
        let v = apply_allow_lists(records(&m, b"both"), AllowPolicy::Flag);
        assert_eq!((v.block.len(), v.overridden.len()), (0, 1));
        assert_eq!(v.overridden[0].list, "block");
        let v = apply_allow_lists(records(&m, b"clean"), AllowPolicy::Flag);
        assert_eq!(v, Verdict::default());
    }

    #[test]
    fn over_matching_counts_distinct_files() {
        let m = matcher();
        let mut c = OverMatching::new();
        for _ in 0..3 {
            let r = records(&m, b"bad");
            // The same hash matched twice in one file counts once.
            c.add_file(r.iter().chain(r.iter()));
        }
        assert_eq!(c.over(3), vec![]);
        let over = c.over(2);
        assert_eq!(over.len(), 1);
        assert_eq!((over[0].list.as_str(), over[0].files), ("block", 3));
        assert_eq!(over[0].entry_ids, ["e"]);
    }
}
