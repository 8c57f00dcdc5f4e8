//! The multi-index hashing section: its layout constants, parsing with every O(1) check,
//! and the full O(n) validation.

use super::*;
use crate::index::section_header;

pub(super) const HEADER: usize = 64;
pub(super) const DESC: usize = 64;
pub(super) const MAX_TABLES: usize = 32;
pub(super) const MAX_DIR_BITS: u32 = 24;

#[derive(Clone, Debug)]
pub(super) struct Table {
    pub(super) spec: Spec,
    pub(super) high_span: u64,
    pub(super) dir: Range<usize>,
    pub(super) inline: Range<usize>,
    pub(super) chunks: Range<usize>,
}

pub(super) fn corrupt(detail: impl Into<String>) -> crate::Error {
    crate::Error::corrupt(WHAT, detail)
}

/// What errors name.
pub(super) const WHAT: &str = "multi-index hashing section";

/// The keyed fingerprint behind [`Mih::validate`].
///
/// The claim to check, per table: the set `T` of entries the table stores, each an `(id,
/// stored)` pair (`stored` being the bucket, inline and extra bits, the top `b + c1 + c2` bits
/// of the key), equals the set `S = {(i, top bits of hashes[i]'s key) : i < n}`. The structural
/// walk already proves that `T` has exactly `n` entries and that no pair repeats (ids strictly
/// ascend within a bucket, and `stored` names the bucket), so `T` and `S` are sets of the same
/// size, and `T = S` exactly when every hash is in the table once, in its bucket, with its
/// bits. Instead of looking each id up at random, both sides are summed in any order:
/// `A = Σ_{x ∈ T} mix(x)` while walking the table, `B = Σ_{x ∈ S} mix(x)` while reading the
/// hashes, both wrapping mod 2^64. If `T ≠ S`, `A - B` is a sum of `±mix(x)` over the non-empty
/// symmetric difference, each `x` with coefficient ±1; for a random function `mix` such a sum
/// is zero with probability 2^-64. `mix` is keyed by 128 bits drawn from the process's random
/// source on every call, so the author of a (crafted) section cannot choose a difference that
/// cancels: they would have to guess the key.
///
/// `mix` is two rounds of the splitmix64 finaliser (a bijection on u64 with full avalanche)
/// with the key mixed in before each round, in the manner of a two-round Even–Mansour cipher:
/// distinct inputs never collide, and outputs under an unknown key look independent. It is not
/// a cryptographic MAC, but the threat here is damage and files crafted without the key, not an
/// attacker who can observe many validations.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fingerprint {
    pub(super) key: [u64; 2],
}

impl Fingerprint {
    /// A key from std's per-process random seed, advanced on every call.
    pub(super) fn random() -> Fingerprint {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        Fingerprint {
            key: [state.hash_one(1u64), state.hash_one(2u64)],
        }
    }

    /// The splitmix64 finaliser.
    #[inline(always)]
    fn fmix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The keyed image of one entry; `stored < 2^32`, so `(stored, id)` packs injectively.
    #[inline(always)]
    fn mix(self, id: u32, stored: u64) -> u64 {
        let v = stored << 32 | u64::from(id);
        Fingerprint::fmix(Fingerprint::fmix(v ^ self.key[0]) ^ self.key[1])
    }
}

/// A bucket of one table, located.
#[derive(Clone, Copy)]
pub(super) struct Bucket {
    pub(super) k: u64,
    pub(super) lo: usize,
    pub(super) hi: usize,
}

impl Table {
    #[inline(always)]
    fn chunk_start(&self, bk: Bucket) -> u64 {
        bk.lo as u64 * u64::from(1 + self.spec.rec_bits()) + bk.k * self.high_span
    }

    /// Record `i` of the bucket: `(extra, low id)`.
    #[inline(always)]
    fn record(&self, chunks: &[u8], bk: Bucket, i: usize) -> Option<(u32, u64)> {
        let rb = self.spec.rec_bits();
        let at = self.chunk_start(bk)
            + (bk.hi - bk.lo) as u64
            + self.high_span
            + i as u64 * u64::from(rb);
        let rec = bits_at(chunks, at, rb)?;
        Some((
            (rec >> self.spec.low) as u32,
            rec & ((1u64 << self.spec.low) - 1),
        ))
    }
}

impl<H: HashBits, S: AsRef<[H]>, D: AsRef<[u8]>> Mih<H, S, D> {
    pub(super) fn parse(data: D, storage: S) -> Result<Mih<H, S, D>> {
        crate::index::count_parse();
        let hashes = storage.as_ref();
        let b = data.as_ref();
        let header = section_header::<H>(b, MAGIC, HEADER, VERSION, WHAT, hashes.len())?;
        let total = header.total;
        let n = hashes.len();
        let m = le_u32(b, 24) as usize;
        if m == 0 || m > MAX_TABLES {
            return Err(corrupt(format!("{m} tables (expected 1..={MAX_TABLES})")));
        }
        if (HEADER + DESC * m) as u64 > total {
            return Err(corrupt("table descriptors run past the section"));
        }
        let mut tables = Vec::with_capacity(m);
        let mut covered: Vec<(u32, u32)> = Vec::with_capacity(m);
        for t in 0..m {
            let d = HEADER + DESC * t;
            let spec = Spec {
                start: u32::from(le_u16(b, d)),
                len: u32::from(b[d + 2]),
                b: u32::from(b[d + 3]),
                c1: u32::from(b[d + 4]),
                c2: u32::from(b[d + 5]),
                low: u32::from(b[d + 6]),
            };
            if spec.len == 0
                || spec.len > 32
                || spec.start + spec.len > H::BITS
                || spec.b > spec.len.min(MAX_DIR_BITS)
                || spec.c1 > 8
                || spec.c2 > 8
                || spec.b + spec.c1 + spec.c2 > spec.len
                || spec.low == 0
                || spec.low > 32
            {
                return Err(corrupt(format!(
                    "table {t} has an invalid substring layout"
                )));
            }
            covered.push((spec.start, spec.start + spec.len));
            let range = |off: u64, len: Option<u64>| -> Result<Range<usize>> {
                match len.and_then(|l| off.checked_add(l)).filter(|&e| e <= total) {
                    Some(e) => Ok(off as usize..e as usize),
                    None => Err(corrupt(format!("table {t} arrays run past the section"))),
                }
            };
            let dir = range(le_u64(b, d + 8), ((1u64 << spec.b) + 1).checked_mul(4))?;
            let inline_len = if spec.c1 > 0 { n as u64 } else { 0 };
            let inline = range(le_u64(b, d + 16), Some(inline_len))?;
            let chunk_len = le_u64(b, d + 32);
            if Some(chunk_len) != spec.chunk_bytes(n) {
                return Err(corrupt(format!("table {t} chunk array has the wrong size")));
            }
            let chunks = range(le_u64(b, d + 24), Some(chunk_len))?;
            tables.push(Table {
                spec,
                high_span: spec.high_span(n),
                dir,
                inline,
                chunks,
            });
        }
        covered.sort_unstable();
        if covered.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err(corrupt("table substrings overlap"));
        }
        // The pigeonhole argument behind the search needs every bit in exactly one table: a
        // bit in no table could hide differences and drop matches.
        let tiled = covered.first().is_some_and(|c| c.0 == 0)
            && covered.windows(2).all(|w| w[1].0 == w[0].1)
            && covered.last().is_some_and(|c| c.1 == H::BITS);
        if !tiled {
            return Err(corrupt("table substrings do not cover the hash"));
        }
        Ok(Mih {
            hashes: storage,
            data,
            tables,
            isa: Isa::detect(),
            fallback: true,
            _hash: PhantomData,
        })
    }

    /// The full O(n) consistency check: directories ascend and span the list, every id
    /// decodes and ascends within its bucket, and each table holds every hash of the list
    /// exactly once, in the bucket (with the inline and extra bits) its hash belongs to.
    ///
    /// The check reads the section and the hashes sequentially, never at random: each table
    /// is walked in its stored order and its entries are compared with the hashes through an
    /// order-independent fingerprint under a key drawn afresh for every call (see
    /// `Fingerprint`). A table that passes holds the right entries except with probability
    /// about 2^-64 per table, and a file cannot be crafted to beat the key, which it never
    /// sees.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Corrupt`] naming an inconsistency.
    pub fn validate(&self) -> Result<()> {
        self.validate_with(Fingerprint::random())
    }

    fn validate_with(&self, fp: Fingerprint) -> Result<()> {
        // Both sides are sequential passes: the tables are walked in parallel with each other,
        // and the hashes are read once, in parallel chunks, for every table at once.
        let (hashes, data) = (self.hashes.as_ref(), self.data.as_ref());
        let n = hashes.len();
        let tables = &self.tables;
        let (walked, expected) = rayon::join(
            || {
                tables
                    .par_iter()
                    .enumerate()
                    .map(|(t, table)| table.walk(t, data, n, fp))
                    .collect::<Result<Vec<u64>>>()
            },
            || expected_sums(tables, hashes, fp),
        );
        for (t, (a, b)) in walked?.iter().zip(&expected).enumerate() {
            if a != b {
                return Err(corrupt(format!(
                    "table {t}: its entries do not match the list (an id is missing, repeated, \
                     or in the wrong bucket or with the wrong bits)"
                )));
            }
        }
        Ok(())
    }

    /// Walks one table in its stored order, checking its structure, and returns the sum of
    /// [`Fingerprint::mix`] over its entries: `(id, stored key bits)`.
    #[cfg(test)]
    pub(super) fn walk_table(&self, t: usize, table: &Table, fp: Fingerprint) -> Result<u64> {
        table.walk(t, self.data.as_ref(), self.hashes.as_ref().len(), fp)
    }
}

impl Table {
    /// Walks this table (number `t`) of a section `data` over `n` hashes in its stored order,
    /// checking its structure, and returns the sum of [`Fingerprint::mix`] over its entries:
    /// `(id, stored key bits)`.
    pub(super) fn walk(&self, t: usize, data: &[u8], n: usize, fp: Fingerprint) -> Result<u64> {
        let table = self;
        let s = table.spec;
        let dir = &data[table.dir.clone()];
        let inline = &data[table.inline.clone()];
        let chunks = &data[table.chunks.clone()];
        let buckets = 1usize << s.b;
        if u32_at(dir, 0) != Some(0) || u32_at(dir, buckets) != Some(n as u32) {
            return Err(corrupt(format!(
                "table {t}: directory does not span the list"
            )));
        }
        let unary_err = || {
            corrupt(format!(
                "table {t}: unary id bits do not match bucket sizes"
            ))
        };
        let mut sum = 0u64;
        let mut lo = 0usize;
        for k in 0..buckets {
            let hi = u32_at(dir, k + 1).unwrap_or(0) as usize;
            if hi < lo || hi > n {
                return Err(corrupt(format!("table {t}: directory is not ascending")));
            }
            let bk = Bucket {
                k: k as u64,
                lo,
                hi,
            };
            // The bits above the extra bits: the bucket, then the inline bits.
            let top = (k as u64) << (s.c1 + s.c2);
            // Walk the bucket's unary-coded high id bits once (the i-th set bit, at offset p,
            // gives high bits p - i), rather than selecting each id's bit from the bucket
            // start, which is quadratic in the bucket size.
            let start = table.chunk_start(bk);
            let end = start + (hi - lo) as u64 + table.high_span;
            let (mut i, mut pos, mut prev) = (0usize, start, None);
            while pos < end {
                let width = (end - pos).min(56) as u32;
                let mut word = bits_at(chunks, pos, width).ok_or_else(unary_err)?;
                while word != 0 {
                    let p = pos - start + u64::from(word.trailing_zeros());
                    word &= word - 1;
                    if i >= hi - lo {
                        return Err(unary_err());
                    }
                    let decoded = table.record(chunks, bk, i).and_then(|(extra, low)| {
                        let id = ((p - i as u64) << s.low) | low;
                        Some((extra, u32::try_from(id).ok()?))
                    });
                    let Some((extra, id)) = decoded.filter(|&(_, id)| (id as usize) < n) else {
                        return Err(corrupt(format!("table {t}: an id does not decode")));
                    };
                    if prev.is_some_and(|p| p >= id) {
                        return Err(corrupt(format!(
                            "table {t}: ids are out of order within a bucket"
                        )));
                    }
                    prev = Some(id);
                    // Stray bits above `c1` would alias another bucket's stored bits in the
                    // fingerprint (and the query filter reads the whole byte).
                    let inl = if s.c1 > 0 { inline[lo + i] } else { 0 };
                    if u32::from(inl) >> s.c1 != 0 {
                        return Err(corrupt(format!(
                            "table {t}: an inline byte has bits beyond its width"
                        )));
                    }
                    let stored = top | u64::from(inl) << s.c2 | u64::from(extra);
                    sum = sum.wrapping_add(fp.mix(id, stored));
                    i += 1;
                }
                pos += u64::from(width);
            }
            if i != hi - lo {
                return Err(unary_err());
            }
            lo = hi;
        }
        Ok(sum)
    }
}

/// Per table, the sum of [`Fingerprint::mix`] over what the table must hold: for each
/// position `i` of the hashes, `(i, the key bits the table stores for hashes[i])`. One
/// sequential pass over the hashes, in parallel chunks (the sums commute).
fn expected_sums<H: HashBits>(tables: &[Table], hashes: &[H], fp: Fingerprint) -> Vec<u64> {
    const CHUNK: usize = 1 << 14;
    let specs: Vec<(Spec, u32)> = tables.iter().map(|t| (t.spec, t.spec.shifts().2)).collect();
    let zero = || vec![0u64; specs.len()];
    hashes
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut sums = zero();
            for (j, h) in chunk.iter().enumerate() {
                // `check_len` in `parse` keeps ids within u32.
                let id = (c * CHUNK + j) as u32;
                for (sum, &(s, sh_ex)) in sums.iter_mut().zip(&specs) {
                    let stored = u64::from(h.key(s.start, s.len)) >> sh_ex;
                    *sum = sum.wrapping_add(fp.mix(id, stored));
                }
            }
            sums
        })
        .reduce(zero, |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x = x.wrapping_add(y);
            }
            a
        })
}
