//! Exact-hash lookup: the `HASH` section of an MD5, SHA-1 or SHA-256 list, viewed in place.
//!
//! The keys are the digests' bytes, back to back, strictly ascending in byte order (the order of
//! their hex text). Digests are uniformly distributed, so an interpolation search on the first 8
//! bytes (as a big-endian integer) lands within a few keys of the target in about
//! `log log n` probes; a binary search over the window it narrows finishes the job, so a
//! corrupt or adversarial (non-uniform) list costs at most `O(log n)` probes, never a wrong
//! answer on a sorted list.

use std::cmp::Ordering;
use std::fmt;

use crate::hash::{Digest, HashKind};

/// The sorted keys of an exact-hash list: `len` digests of one kind, zero-copy.
///
/// ```
/// use hashsieve::{hash::Digest, list::EntryMeta, HashKind, HashList, ListBuilder};
/// let mut b = ListBuilder::new(HashKind::Md5);
/// for i in 0..100u32 {
///     b.add(Digest::of(HashKind::Md5, &i.to_le_bytes()), EntryMeta::new("x"))?;
/// }
/// let list = HashList::from_bytes(b.to_vec()?)?;
/// let keys = list.exact_keys().unwrap();
/// let d = Digest::of(HashKind::Md5, &7u32.to_le_bytes());
/// assert_eq!(keys.get(keys.position(&d).unwrap()), Some(d));
/// assert_eq!(keys.position(&Digest::of(HashKind::Md5, b"absent")), None);
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ExactKeys<'a> {
    kind: HashKind,
    width: usize,
    bytes: &'a [u8],
}

// Debug shows the kind and count only: digests stay out of logs.
impl fmt::Debug for ExactKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExactKeys({}, len {})", self.kind, self.len())
    }
}

/// The first 8 bytes of a key as a big-endian integer (shorter keys are zero-padded).
#[inline]
fn prefix(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

impl<'a> ExactKeys<'a> {
    /// Views `bytes` as keys of `kind`; trailing bytes short of a whole key are ignored (the
    /// list reader checks the length at open).
    pub(crate) fn new(kind: HashKind, bytes: &'a [u8]) -> ExactKeys<'a> {
        let width = kind.width() as usize / 8;
        let whole = bytes.len() / width * width;
        ExactKeys {
            kind,
            width,
            bytes: &bytes[..whole],
        }
    }

    /// The kind of every key.
    pub fn kind(&self) -> HashKind {
        self.kind
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.width
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The raw bytes of key `i`, or `None` past the end.
    #[inline]
    pub fn key(&self, i: usize) -> Option<&'a [u8]> {
        self.bytes.get(i * self.width..(i + 1) * self.width)
    }

    /// The digest at `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Digest> {
        self.key(i).and_then(|k| Digest::new(self.kind, k).ok())
    }

    /// The position of `digest`, or `None` when absent or of another kind.
    ///
    /// Interpolation search on the first 8 bytes, then binary search: `O(log log n)` probes
    /// on uniformly distributed digests, `O(log n)` at worst.
    pub fn position(&self, digest: &Digest) -> Option<usize> {
        if digest.kind() != self.kind {
            return None;
        }
        self.position_bytes(digest.as_bytes())
    }

    /// As [`position`](ExactKeys::position), for raw key bytes of this kind's width.
    pub fn position_bytes(&self, target: &[u8]) -> Option<usize> {
        if target.len() != self.width {
            return None;
        }
        let key = |i: usize| &self.bytes[i * self.width..(i + 1) * self.width];
        let t = prefix(target);
        // Invariant: the target, if present, is at a position in [lo, hi).
        let (mut lo, mut hi) = (0usize, self.len());
        // Interpolation phase: a bounded number of rounds, each narrowing [lo, hi) around the
        // estimated position. Prefix values bound the keys: key(lo) >= target is impossible
        // when lo was moved past a smaller key, and so on.
        for _ in 0..8 {
            if hi - lo <= 16 {
                break;
            }
            let (a, b) = (prefix(key(lo)), prefix(key(hi - 1)));
            if t < a || t > b {
                return None;
            }
            let span = u128::from(b - a);
            let guess = lo
                + (u128::from(t - a) * (hi - 1 - lo) as u128)
                    .checked_div(span)
                    .map_or(0, |g| g as usize);
            // Probe a small window around the guess to tighten both bounds.
            const W: usize = 8;
            let g_lo = guess.saturating_sub(W).max(lo);
            let g_hi = (guess + W + 1).min(hi);
            match key(g_lo).cmp(target) {
                Ordering::Greater => {
                    hi = g_lo;
                    continue;
                }
                Ordering::Equal => return Some(g_lo),
                Ordering::Less => lo = g_lo + 1,
            }
            if g_hi > lo {
                match key(g_hi - 1).cmp(target) {
                    Ordering::Less => lo = g_hi,
                    Ordering::Equal => return Some(g_hi - 1),
                    Ordering::Greater => hi = g_hi - 1,
                }
            }
            if lo >= hi {
                return None;
            }
        }
        // Binary search over what is left.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match key(mid).cmp(target) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Whether the keys are strictly ascending (sorted, no duplicates).
    pub(crate) fn is_strictly_sorted(&self) -> bool {
        (1..self.len()).all(|i| self.key(i - 1) < self.key(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Oracle: a linear scan.
    fn linear(keys: &ExactKeys<'_>, t: &[u8]) -> Option<usize> {
        (0..keys.len()).find(|&i| keys.key(i) == Some(t))
    }

    #[test]
    fn position_agrees_with_a_linear_scan() {
        for kind in HashKind::EXACT {
            let w = kind.width() as usize / 8;
            for n in [0usize, 1, 2, 15, 16, 17, 100, 1000] {
                // Uniform digests, plus a skewed set that defeats interpolation (small prefixes
                // crowded together, a few huge ones).
                for skew in [false, true] {
                    let mut keys: Vec<Vec<u8>> = (0..n as u32)
                        .map(|i| {
                            let mut k = Digest::of(kind, &i.to_le_bytes()).as_bytes().to_vec();
                            if skew && i % 10 != 0 {
                                k[..6].fill(0);
                            }
                            k
                        })
                        .collect();
                    keys.sort();
                    keys.dedup();
                    let flat: Vec<u8> = keys.concat();
                    let view = ExactKeys::new(kind, &flat);
                    assert_eq!(view.len(), keys.len());
                    assert!(view.is_strictly_sorted());
                    for (i, k) in keys.iter().enumerate() {
                        assert_eq!(view.position_bytes(k), Some(i), "{kind} n={n} skew={skew}");
                        // Neighbours that are absent: the key +/- 1 in its last byte.
                        for delta in [1u8, 255] {
                            let mut m = k.clone();
                            let last = m.len() - 1;
                            m[last] = m[last].wrapping_add(delta);
                            assert_eq!(view.position_bytes(&m), linear(&view, &m));
                        }
                    }
                    assert_eq!(view.position_bytes(&vec![0; w]), linear(&view, &vec![0; w]));
                    assert_eq!(
                        view.position_bytes(&vec![0xff; w]),
                        linear(&view, &vec![0xff; w])
                    );
                    assert_eq!(view.position_bytes(&[0; 3]), None);
                }
            }
        }
    }
}
