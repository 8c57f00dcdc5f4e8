//! The multi-index hashing query: directory probes, the inline filter, id decoding and
//! verification.

use super::*;

impl<H: HashBits, S: AsRef<[H]>, D: AsRef<[u8]>> Mih<H, S, D> {
    pub(super) fn use_linear(&self, r: u32) -> bool {
        if !self.fallback {
            return false;
        }
        if r >= H::BITS {
            return true;
        }
        let n = self.hashes.as_ref().len();
        let specs: Vec<Spec> = self.tables.iter().map(|t| t.spec).collect();
        specs_cost(&specs, n, r, self.data.as_ref().len(), H::BITS) > linear_cost(H::BITS, n)
    }

    /// Appends the (unsorted, possibly repeated) matches to `out`; `false` if the index turned
    /// out to be corrupt.
    #[inline(always)]
    fn query<V: Simd>(&self, s: V, q: &H, r: u32, sc: &mut Scratch, out: &mut Vec<Match>) -> bool {
        // Resolved once per query: the storage may be a view that costs a call to resolve.
        let (hashes, data) = (self.hashes.as_ref(), self.data.as_ref());
        sc.cands.clear();
        let radii = radii(self.tables.len(), r);
        for (table, &st) in self.tables.iter().zip(&radii) {
            if st >= 0 && !self.probe(s, hashes, data, table, q, st as u32, sc) {
                return false;
            }
        }
        // The hashes were prefetched as their ids were decoded.
        for &id in &sc.cands {
            let d = hashes[id as usize].hamming(q);
            if d <= r {
                out.push(Match::new(id, d));
            }
        }
        true
    }

    /// Probes one table for every bucket within `st` of the query's substring, appending the
    /// candidate ids to `sc.cands`.
    ///
    /// A software pipeline: probe `i`'s directory entry is prefetched `2 × LOOKAHEAD` probes
    /// before its inline bytes are filtered, and the inline bytes `LOOKAHEAD` probes before; the
    /// survivors' chunk lines are prefetched when they are found and read after the probe loop;
    /// the candidates' hashes are prefetched when decoded and read after every table.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn probe<V: Simd>(
        &self,
        s: V,
        hashes: &[H],
        data: &[u8],
        table: &Table,
        q: &H,
        st: u32,
        sc: &mut Scratch,
    ) -> bool {
        const LOOKAHEAD: usize = 16;
        let n = hashes.len();
        let spec = table.spec;
        let dir = &data[table.dir.clone()];
        let inline = &data[table.inline.clone()];
        let chunks = &data[table.chunks.clone()];
        let key = u64::from(q.key(spec.start, spec.len));
        let (sh_top, sh_in, sh_ex) = spec.shifts();
        let top = (key >> sh_top) as u32;
        let q_in = ((key >> sh_in) & ((1 << spec.c1) - 1)) as u8;
        let q_ex = ((key >> sh_ex) & ((1 << spec.c2) - 1)) as u32;
        let rb = spec.rec_bits();
        let unit = u64::from(1 + rb);
        let hs = table.high_span;

        // Every directory mask within the radius, by popcount (Gosper's hack, division-free).
        sc.masks.clear();
        for j in 0..=st.min(spec.b) {
            let mut mask: u32 = (1u32 << j) - 1;
            loop {
                sc.masks.push(mask);
                if j == 0 {
                    break;
                }
                let c = mask & mask.wrapping_neg();
                let next = mask.wrapping_add(c);
                if next == 0 {
                    break;
                }
                mask = (((next ^ mask) >> 2) >> c.trailing_zeros()) | next;
                if mask >> spec.b != 0 {
                    break;
                }
            }
        }
        let np = sc.masks.len();
        sc.ranges.clear();
        sc.ranges.resize(np, (0, 0));
        sc.hits.clear();
        let mut scanned = 0usize;
        let range_of = |k: usize| -> (usize, usize) {
            match dir.get(4 * k..4 * k + 8) {
                Some(w) => (
                    u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize,
                    u32::from_le_bytes([w[4], w[5], w[6], w[7]]) as usize,
                ),
                None => (0, 0),
            }
        };
        for i in 0..np + 2 * LOOKAHEAD {
            if let Some(&mask) = sc.masks.get(i) {
                prefetch(dir.as_ptr().wrapping_add(4 * (top ^ mask) as usize));
            }
            if let Some(j) = i.checked_sub(LOOKAHEAD).filter(|&j| j < np) {
                let (lo, hi) = range_of((top ^ sc.masks[j]) as usize);
                if hi > lo {
                    scanned += hi - lo;
                    if hi > n || scanned > n {
                        return false;
                    }
                    let at = if spec.c1 > 0 {
                        inline.as_ptr().wrapping_add(lo)
                    } else {
                        chunks.as_ptr().wrapping_add(
                            ((lo as u64 * unit + u64::from(top ^ sc.masks[j]) * hs) / 8) as usize,
                        )
                    };
                    prefetch(at);
                    if (at as usize & 63) + (hi - lo) > 64 {
                        prefetch(at.wrapping_add(64));
                    }
                    sc.ranges[j] = (lo as u32, hi as u32);
                }
            }
            let Some(j) = i.checked_sub(2 * LOOKAHEAD) else {
                continue;
            };
            let (lo, hi) = sc.ranges[j];
            if hi <= lo {
                continue;
            }
            let (lo, hi) = (lo as usize, hi as usize);
            let allowed = st - sc.masks[j].count_ones();
            let k = u64::from(top ^ sc.masks[j]);
            let recs = lo as u64 * unit + k * hs + (hi - lo) as u64 + hs;
            let mut base = lo;
            let mut first = true;
            while base < hi {
                let mut m = if spec.c1 > 0 {
                    s.filter_mask64(&inline[base..hi], q_in, allowed)
                } else {
                    let w = hi - base;
                    if w >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << w) - 1
                    }
                };
                if m != 0 && first {
                    // The bucket's unary code, read when a survivor's id is decoded.
                    prefetch(
                        chunks
                            .as_ptr()
                            .wrapping_add(((lo as u64 * unit + k * hs) / 8) as usize),
                    );
                    first = false;
                }
                while m != 0 {
                    let e = base + m.trailing_zeros() as usize;
                    m &= m - 1;
                    let used = if spec.c1 > 0 {
                        u32::from(inline[e] ^ q_in).count_ones()
                    } else {
                        0
                    };
                    let i_in = (e - lo) as u64;
                    prefetch(
                        chunks
                            .as_ptr()
                            .wrapping_add(((recs + i_in * u64::from(rb)) / 8) as usize),
                    );
                    sc.hits.push(Hit {
                        k: k as u32,
                        lo: lo as u32,
                        hi: hi as u32,
                        pos: i_in as u32,
                        left: allowed - used,
                    });
                }
                base += 64;
            }
        }

        // Decode the survivors: extra bits, then the id from the unary code and the record.
        let low_mask = (1u64 << spec.low) - 1;
        for h in &sc.hits {
            let (lo, nk, i) = (u64::from(h.lo), u64::from(h.hi - h.lo), u64::from(h.pos));
            let start = lo * unit + u64::from(h.k) * hs;
            let Some(rec) = bits_at(chunks, start + nk + hs + i * u64::from(rb), rb) else {
                continue;
            };
            if ((rec >> spec.low) as u32 ^ q_ex).count_ones() > h.left {
                continue;
            }
            let Some(pos) = select(s, chunks, start, start + nk + hs, h.pos) else {
                continue;
            };
            let Some(high) = pos.checked_sub(i) else {
                continue;
            };
            let id = (high << spec.low) | (rec & low_mask);
            if id < n as u64 {
                prefetch(hashes.as_ptr().wrapping_add(id as usize));
                sc.cands.push(id as u32);
            }
        }
        true
    }

    pub(super) fn range_with(
        &self,
        query: &H,
        threshold: u32,
        sc: &mut Scratch,
        out: &mut Vec<Match>,
    ) {
        out.clear();
        let r = threshold.min(H::BITS);
        if self.use_linear(r) {
            linear::range_unsorted(self.isa, self.hashes.as_ref(), query, r, out);
            out.sort_unstable();
            return;
        }
        let ok = self.isa.dispatch(QueryOp {
            mih: self,
            q: query,
            r,
            sc,
            out: &mut *out,
        });
        if !ok {
            out.clear();
            linear::range_unsorted(self.isa, self.hashes.as_ref(), query, r, out);
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// An entry that passed the inline filter: bucket, its range, position and the allowance
/// left for the extra bits.
#[derive(Clone, Copy)]
pub(super) struct Hit {
    pub(super) k: u32,
    pub(super) lo: u32,
    pub(super) hi: u32,
    pub(super) pos: u32,
    pub(super) left: u32,
}

/// Reusable per-query buffers.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) masks: Vec<u32>,
    pub(super) ranges: Vec<(u32, u32)>,
    pub(super) hits: Vec<Hit>,
    pub(super) cands: Vec<u32>,
}

struct QueryOp<'s, H, S, D> {
    mih: &'s Mih<H, S, D>,
    q: &'s H,
    r: u32,
    sc: &'s mut Scratch,
    out: &'s mut Vec<Match>,
}

impl<H: HashBits, S: AsRef<[H]>, D: AsRef<[u8]>> WithSimd for QueryOp<'_, H, S, D> {
    type Output = bool;
    #[inline(always)]
    fn with_simd<V: Simd>(self, s: V) -> bool {
        self.mih.query(s, self.q, self.r, self.sc, self.out)
    }
}
