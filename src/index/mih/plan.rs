//! The layout planner of multi-index hashing: the cost model and the choice of tables,
//! directory, inline and extra bits for a list size and threshold.

use super::*;

/// One table's substring split (see the module documentation for the names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Spec {
    pub(super) start: u32,
    pub(super) len: u32,
    pub(super) b: u32,
    pub(super) c1: u32,
    pub(super) c2: u32,
    pub(super) low: u32,
}

impl Spec {
    pub(super) fn rec_bits(&self) -> u32 {
        self.c2 + self.low
    }
    pub(super) fn high_span(&self, n: usize) -> u64 {
        (n as u64).div_ceil(1u64 << self.low)
    }
    pub(super) fn chunk_bits(&self, n: usize) -> Option<u64> {
        (n as u64)
            .checked_mul(u64::from(1 + self.rec_bits()))?
            .checked_add((1u64 << self.b).checked_mul(self.high_span(n))?)
    }
    pub(super) fn chunk_bytes(&self, n: usize) -> Option<u64> {
        self.chunk_bits(n)?.div_ceil(8).checked_add(8)
    }
    /// Shifts of the directory, inline and extra fields within the key.
    pub(super) fn shifts(&self) -> (u32, u32, u32) {
        let top = self.len - self.b;
        (top, top - self.c1, top - self.c1 - self.c2)
    }
}

/// Per-table radii `s_t` with `Σ (s_t + 1) = r + 1`; `-1` means the table is skipped. Longer
/// substrings (listed first) get the larger radii.
pub(super) fn radii(m: usize, r: u32) -> Vec<i64> {
    let total = i64::from(r) + 1;
    let (q, rem) = (total / m as i64, total % m as i64);
    (0..m as i64).map(|t| q - 1 + i64::from(t < rem)).collect()
}

/// Cost model, nanoseconds per operation, fitted with least squares to single-thread
/// measurements of seven layouts on 10 million 256-bit hashes (`DRAM`, residuals about 5%) and
/// set from ten layout/threshold pairs on 1 million 64-bit hashes (`CACHED`: index and list
/// fit in the last-level cache; within 10% for the 3-table layouts the planner picks, and
/// pessimistic for layouts whose survivors are read sequentially) on the reference machine
/// (2-core AMD EPYC Zen 4 VM). Fields: per query, per probe (directory entry and inline line),
/// per inline byte scanned, per inline survivor (chunk read and decode), per candidate (hash
/// read and distance).
#[derive(Clone, Copy)]
pub(super) struct CostModel {
    pub(super) query: f64,
    pub(super) probe: f64,
    pub(super) byte: f64,
    pub(super) hit: f64,
    pub(super) cand: f64,
}

pub(super) const DRAM: CostModel = CostModel {
    query: 1_000.0,
    probe: 24.0,
    byte: 0.055,
    hit: 41.0,
    cand: 58.0,
};
pub(super) const CACHED: CostModel = CostModel {
    query: 500.0,
    probe: 20.0,
    byte: 0.05,
    hit: 20.0,
    cand: 2.0,
};
/// The default memory bound of a section, bytes per hash ([`MihOptions::max_bytes_per_hash`]).
///
/// 40 rather than the 32 of a PDQ hash: at 10 million PDQ hashes and `r = 31` the bound of 32
/// admits at most 8 tables (317 MB), and the 10-table layout that 40 admits (361 MB) answers a
/// query 1.7-2.1 times faster; at 1 million, 11 tables with `b = 15` instead of `b = 13` (2.1
/// times). Lists of 64-bit hashes stay far under either bound.
pub(super) const DEFAULT_BYTES_PER_HASH: f64 = 40.0;

/// Index plus list sizes up to this many bytes count as cache resident.
pub(super) const CACHE_BYTES: f64 = 24.0 * 1024.0 * 1024.0;

pub(super) fn specs_cost(specs: &[Spec], n: usize, r: u32, index_bytes: usize, bits: u32) -> f64 {
    let resident = index_bytes as f64 + n as f64 * f64::from(bits / 8);
    let k = if resident <= CACHE_BYTES {
        CACHED
    } else {
        DRAM
    };
    let nf = n as f64;
    let mut cost = k.query;
    for (spec, s) in specs.iter().zip(radii(specs.len(), r)) {
        if s < 0 {
            continue;
        }
        let frac = |bits: u32| ball(bits, s) / 2f64.powi(bits as i32);
        let probes = ball(spec.b, s);
        let scanned = if spec.c1 > 0 { nf * frac(spec.b) } else { 0.0 };
        let hits = nf * frac(spec.b + spec.c1);
        let cands = nf * frac(spec.b + spec.c1 + spec.c2);
        cost += probes * k.probe + scanned * k.byte + hits * k.hit + cands * k.cand;
    }
    cost
}

/// The estimated nanoseconds per query of the layout [`Mih::build_with`] would choose for
/// `n` hashes of `bits` bits at threshold `r` (default options), for [`choose_kind`].
///
/// [`choose_kind`]: super::choose_kind
pub(crate) fn predicted_cost(bits: u32, n: usize, r: u32) -> f64 {
    let specs = plan(bits, n, r, &MihOptions::new());
    let bytes = layout(n, &specs).map_or(usize::MAX, |l| l.total);
    specs_cost(&specs, n, r, bytes, bits)
}

pub(super) struct Layout {
    pub(super) total: usize,
    /// Per table: directory, inline and chunk offsets.
    pub(super) tables: Vec<(usize, usize, usize)>,
}

pub(super) fn layout(n: usize, specs: &[Spec]) -> Option<Layout> {
    let mut off = align64(HEADER + DESC * specs.len())?;
    let mut tables = Vec::with_capacity(specs.len());
    for s in specs {
        let dir = off;
        let buckets = 1usize.checked_shl(s.b)?;
        off = align64(off.checked_add(buckets.checked_add(1)?.checked_mul(4)?)?)?;
        let inline = off;
        if s.c1 > 0 {
            off = align64(off.checked_add(n)?)?;
        }
        let chunks = off;
        off = align64(off.checked_add(usize::try_from(s.chunk_bytes(n)?).ok()?)?)?;
        tables.push((dir, inline, chunks));
    }
    Some(Layout { total: off, tables })
}

/// The id low-bit count minimising `L + H / n̄` bits per entry (Elias–Fano's choice).
pub(super) fn best_low_bits(n: usize, b: u32) -> u32 {
    let per_bucket = (n as f64 / (1u64 << b) as f64).max(1.0);
    (1..=32u32)
        .min_by(|&x, &y| {
            let cost = |l: u32| f64::from(l) + (n as f64 / 2f64.powi(l as i32)).ceil() / per_bucket;
            cost(x).total_cmp(&cost(y))
        })
        .unwrap_or(16)
}

pub(super) fn split_specs(bits: u32, m: u32, b: u32, c2: u32, n: usize) -> Vec<Spec> {
    let (base, extra) = (bits / m, bits % m);
    let mut start = 0;
    (0..m)
        .map(|t| {
            let len = base + u32::from(t < extra);
            let b = b.min(len).min(MAX_DIR_BITS);
            let c1 = (len - b).min(8);
            let c2 = c2.min(len - b - c1);
            let spec = Spec {
                start,
                len,
                b,
                c1,
                c2,
                low: best_low_bits(n, b),
            };
            start += len;
            spec
        })
        .collect()
}

/// Chooses the layout for `n` hashes of `bits` bits at threshold `r`: the cheapest under the
/// cost model within the memory bound.
pub(super) fn plan(bits: u32, n: usize, r: u32, opts: &MihOptions) -> Vec<Spec> {
    let min_m = bits.div_ceil(32);
    let max_m = (bits / 2).min(MAX_TABLES as u32);
    let ms: Vec<u32> = match opts.tables {
        Some(m) => vec![m.clamp(min_m, max_m)],
        None => (min_m..=(min_m * 3).min(max_m)).collect(),
    };
    let per_hash = opts.max_bytes_per_hash.unwrap_or(DEFAULT_BYTES_PER_HASH);
    let budget = (per_hash * n as f64).max(65536.0);
    // (fits, cost, size, specs)
    let mut best: Option<(bool, f64, usize, Vec<Spec>)> = None;
    for &m in &ms {
        let len_min = bits / m;
        let bs: Vec<u32> = match opts.dir_bits {
            Some(b) => vec![b.min(len_min).min(MAX_DIR_BITS)],
            None => (0..=len_min.min(MAX_DIR_BITS)).collect(),
        };
        for b in bs {
            for c2 in 0..=8 {
                let specs = split_specs(bits, m, b, c2, n);
                if c2 > 0 && specs.iter().all(|s| s.c2 < c2) {
                    break;
                }
                let Some(lay) = layout(n, &specs) else {
                    continue;
                };
                let fits = lay.total as f64 <= budget;
                let cost = specs_cost(&specs, n, r, lay.total, bits);
                let better = match &best {
                    None => true,
                    Some((bf, bc, bsize, _)) => {
                        if fits != *bf {
                            fits
                        } else if fits {
                            cost < *bc
                        } else {
                            lay.total < *bsize
                        }
                    }
                };
                if better {
                    best = Some((fits, cost, lay.total, specs));
                }
            }
        }
    }
    best.map(|b| b.3)
        .unwrap_or_else(|| split_specs(bits, min_m, 0, 0, n))
}
