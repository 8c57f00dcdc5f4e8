//! A BK-tree (Burkhard and Keller, 1973) over Hamming distance, built in parallel and stored as
//! one flat byte section.
//!
//! Every node holds one distinct hash value and **every** list position with that value
//! (duplicates are kept, unlike the `bk-tree` crate); a child's key is its distance to the
//! parent. A range query at radius `r` that is at distance `d` from a node only descends into
//! children keyed `d - r ..= d + r` (triangle inequality).
//!
//! # Where it wins and where it loses
//!
//! On uniform random hashes the distances from a node concentrate around `bits / 2` with a
//! standard deviation of `sqrt(bits) / 2`, so the window `d ± r` covers most children unless
//! `r` is small next to that spread, and every visited node costs dependent random reads
//! where the scan streams. Measured on 1 million uniform random hashes, one thread of an AMD
//! EPYC Zen 4 VM, against the AVX-512 linear scan (queries per second):
//!
//! | width | r | BK-tree | scan | |
//! |---|---|---|---|---|
//! | 64 | 1 | 68,679 | 10,368 | wins 6.6× |
//! | 64 | 2 | 10,115 | 10,238 | tie |
//! | 64 | 4 | 709 | 10,248 | loses 14× |
//! | 64 | 10 | 56 | 10,478 | loses 190× |
//! | 256 | 4 | 3,934 | 1,332 | wins 3× |
//! | 256 | 8 | 278 | 1,388 | loses 5× |
//! | 256 | 16 | 34 | 1,378 | loses 40× |
//! | 256 | 31 | 19 | 1,437 | loses 74× |
//!
//! At 10 million PDQ hashes and `r = 31` it answers 1.5 queries per second (the scan 78,
//! multi-index hashing 2,664). It beat multi-index hashing nowhere, so
//! [`IndexKind::Auto`] never picks it. It remains useful for metric-space experiments and as
//! an independent oracle. (Still far ahead of `pybktree`: 56 against about 1 query per second
//! on 1M 64-bit hashes at `r = 10`.)
//!
//! # Byte format (version 1)
//!
//! Little-endian; offsets from the section start; arrays 64-byte aligned; read byte-wise, so
//! the section may sit at any alignment.
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0 | `[u8; 8]` | magic `HSIX-BKT` |
//! | 8 | u32 | format version (1) |
//! | 12 | u32 | hash bits (64 or 256) |
//! | 16 | u64 | `count`: hashes indexed (must equal the hashes slice length) |
//! | 24 | u64 | `nodes`: distinct hash values |
//! | 32 | u64 | section length in bytes |
//! | 40 | u64 | offset of `id_start`: `nodes + 1` × u32 |
//! | 48 | u64 | offset of `first_child`: `nodes + 1` × u32 |
//! | 56 | u64 | offset of `key`: `nodes` × u16 |
//! | 64 | u64 | offset of `ids`: `count` × u32 |
//! | 72 | 56 bytes | reserved, 0 |
//!
//! Nodes are numbered in breadth-first order from the root (node 0), so the children of node
//! `i` are the consecutive nodes `first_child[i] .. first_child[i + 1]`, sorted by key, and
//! always numbered after `i`. `key[i]` is node `i`'s distance to its parent (0 for the root).
//! Node `i` holds list positions `ids[id_start[i] .. id_start[i + 1]]`, all with the same hash;
//! the first is the one compared with the query.
//!
//! # Robustness
//!
//! [`BkTree::load`] checks the header and every array bound, then runs the full O(n)
//! [`BkTree::validate`]: the nodes hold every list position exactly once, children follow
//! their parents, and every key is the real distance to the parent. A damaged section is
//! therefore an error, never a missed match.
//!
//! A section is validated once, when it is loaded or opened; queries then read it in place.
//! They still check each range they read, descend only to higher-numbered children
//! and stop after `2 × nodes` node visits plus child pushes (a sound tree needs at most that),
//! so no byte pattern can cause a panic, an endless loop or more than O(nodes) work per
//! query, even over a section that skipped validation (`load_unvalidated`, feature
//! `test-util`, for robustness tests); such a section may give wrong answers.
//!
//! [`IndexKind::Auto`]: super::IndexKind::Auto

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::marker::PhantomData;
use std::ops::Range;

use rayon::prelude::*;

use super::{check_len, section_header, HashBits, Index, IndexKind, Match};
use crate::arch::{Isa, Simd, WithSimd};
use crate::bytes::{align64, le_u64, put_u32, put_u64, u16_at, u32_at};
use crate::error::{ErrorKind, Result};

/// The magic bytes that open a BK-tree section.
pub const MAGIC: &[u8; 8] = b"HSIX-BKT";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

const HEADER: usize = 128;
/// Groups at least this large compute their distances to the pivot in parallel.
const PAR_GROUP: usize = 1 << 15;
/// Trees at least this large split one query across subtrees.
const PAR_QUERY: usize = 1 << 16;

/// A BK-tree over Hamming distance; see the [module documentation](self).
///
/// ```
/// use hashsieve::Hash64;
/// use hashsieve::index::{BkTree, Index, Match};
/// let hashes = [0b0000u64, 0b0001, 0b0011, 0b0001].map(Hash64::from_u64);
/// let tree = BkTree::build(&hashes)?;
/// let mut out = Vec::new();
/// tree.range(&Hash64::from_u64(0), 1, &mut out);
/// assert_eq!(out, vec![Match::new(0, 0), Match::new(1, 1), Match::new(3, 1)]);
/// let bytes = tree.as_bytes().to_vec();
/// assert_eq!(BkTree::load(&bytes, &hashes)?.knn(&Hash64::from_u64(0b0111), 1), vec![Match::new(2, 1)]);
/// # Ok::<(), hashsieve::Error>(())
/// ```
///
/// The tree owns its storage: the hashes `S` (anything `AsRef<[H]>`: a borrowed `&[H]`, a
/// `Vec<H>`, a view of a hash list) and its section bytes `D` (`Vec<u8>` when built here,
/// `&[u8]` or a list's section when loaded). Loading parses and validates once; queries then
/// read the bytes in place.
#[derive(Debug)]
pub struct BkTree<H, S, D = Vec<u8>> {
    hashes: S,
    data: D,
    _hash: PhantomData<fn() -> H>,
    nodes: usize,
    id_start: Range<usize>,
    first_child: Range<usize>,
    key: Range<usize>,
    ids: Range<usize>,
    isa: Isa,
}

fn corrupt(detail: impl Into<String>) -> crate::Error {
    crate::Error::corrupt(WHAT, detail)
}

/// What errors name.
const WHAT: &str = "BK-tree section";

/// Stable counting sort of `slice` by distance to its first element; returns the counts per
/// distance (`bits + 1` entries). The pivot stays first.
fn partition<H: HashBits>(hashes: &[H], slice: &mut [u32]) -> Vec<u32> {
    let bits = H::BITS as usize;
    let pivot = hashes[slice[0] as usize];
    let dist: Vec<u16> = if slice.len() >= PAR_GROUP {
        slice
            .par_iter()
            .map(|&id| hashes[id as usize].hamming(&pivot) as u16)
            .collect()
    } else {
        slice
            .iter()
            .map(|&id| hashes[id as usize].hamming(&pivot) as u16)
            .collect()
    };
    let mut counts = vec![0u32; bits + 1];
    for &d in &dist {
        counts[d as usize] += 1;
    }
    let mut start = vec![0usize; bits + 1];
    for d in 1..=bits {
        start[d] = start[d - 1] + counts[d - 1] as usize;
    }
    let mut tmp = vec![0u32; slice.len()];
    for (&id, &d) in slice.iter().zip(&dist) {
        tmp[start[d as usize]] = id;
        start[d as usize] += 1;
    }
    slice.copy_from_slice(&tmp);
    counts
}

impl<'a, H: HashBits> BkTree<H, &'a [H]> {
    /// Builds the tree over `hashes` (borrowed), level by level: every group of a level picks its first
    /// entry as the node and partitions the rest by distance to it, groups in parallel (and
    /// large groups' distances in parallel) on the rayon pool.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes.
    pub fn build(hashes: &'a [H]) -> Result<BkTree<H, &'a [H]>> {
        BkTree::build_over(hashes)
    }

    /// Loads a section written by [`as_bytes`](BkTree::as_bytes) over the same `hashes`,
    /// zero-copy, and checks it fully ([`validate`](BkTree::validate), O(n)), so a damaged
    /// section is an error, never a missed match. [`BkTree::open`] does the same for owned
    /// storage.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Corrupt`] if the section is inconsistent (with itself or with `hashes`),
    /// [`ErrorKind::Truncated`] if it is cut short, [`ErrorKind::Version`] if a newer
    /// hashsieve wrote it, [`ErrorKind::Unsupported`] if it is no BK-tree section;
    /// [`ErrorKind::Mismatch`] if it was built over a list of another width or length.
    pub fn load(section: &'a [u8], hashes: &'a [H]) -> Result<BkTree<H, &'a [H], &'a [u8]>> {
        BkTree::open(section, hashes)
    }

    /// Loads a section like [`load`](BkTree::load) with O(1) checks only (header and array
    /// bounds): the tree itself is **not** validated. For robustness tests of the query
    /// code (feature `test-util`): no byte pattern can make a query over it panic or loop,
    /// but a damaged tree can make queries miss matches.
    ///
    /// # Errors
    ///
    /// As [`load`](BkTree::load), for the checks it makes.
    #[cfg(feature = "test-util")]
    pub fn load_unvalidated(
        section: &'a [u8],
        hashes: &'a [H],
    ) -> Result<BkTree<H, &'a [H], &'a [u8]>> {
        BkTree::parse(section, hashes)
    }
}

impl<H: HashBits, S: AsRef<[H]>> BkTree<H, S> {
    /// Builds the tree over `hashes`, which it keeps (owned storage: a `Vec<H>`, an `Arc`,
    /// a list view); [`BkTree::build`] borrows instead.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes.
    pub fn build_over(storage: S) -> Result<BkTree<H, S>> {
        let hashes = storage.as_ref();
        check_len(hashes.len())?;
        let n = hashes.len();
        let mut work: Vec<u32> = (0..n as u32).collect();
        let mut id_start: Vec<u32> = Vec::new();
        let mut first_child: Vec<u32> = Vec::new();
        let mut keys: Vec<u16> = Vec::new();
        let mut ids: Vec<u32> = Vec::with_capacity(n);
        // The current level: (range in `work`, key) per group, ordered by position.
        let mut level: Vec<(Range<usize>, u16)> = if n > 0 { vec![(0..n, 0)] } else { Vec::new() };
        while !level.is_empty() {
            // Carve disjoint slices of `work`, one per group.
            let mut slices: Vec<&mut [u32]> = Vec::with_capacity(level.len());
            let mut rest: &mut [u32] = &mut work;
            let mut pos = 0;
            for (r, _) in &level {
                let (_, tail) = rest.split_at_mut(r.start - pos);
                let (mine, tail) = tail.split_at_mut(r.len());
                slices.push(mine);
                rest = tail;
                pos = r.end;
            }
            let counts: Vec<Vec<u32>> = slices
                .into_par_iter()
                .map(|s| partition(hashes, s))
                .collect();
            let mut next = Vec::new();
            let level_first = id_start.len() + level.len();
            for ((r, key), c) in level.iter().zip(&counts) {
                id_start.push(ids.len() as u32);
                keys.push(*key);
                first_child.push((level_first + next.len()) as u32);
                let dups = c[0] as usize;
                ids.extend_from_slice(&work[r.start..r.start + dups]);
                let mut at = r.start + dups;
                for (d, &cnt) in c.iter().enumerate().skip(1) {
                    if cnt > 0 {
                        next.push((at..at + cnt as usize, d as u16));
                        at += cnt as usize;
                    }
                }
            }
            level = next;
        }
        let nodes = keys.len();
        id_start.push(ids.len() as u32);
        first_child.push(nodes as u32);

        let lay = |nodes: usize| -> Option<[usize; 5]> {
            let a = HEADER;
            let b = align64(a + (nodes + 1) * 4)?;
            let c = align64(b + (nodes + 1) * 4)?;
            let d = align64(c + nodes * 2)?;
            let e = align64(d + n * 4)?;
            Some([a, b, c, d, e])
        };
        let [o_start, o_child, o_key, o_ids, total] = lay(nodes)
            .ok_or_else(|| ErrorKind::InvalidArgument("index layout overflows memory".into()))?;
        let mut data = vec![0u8; total];
        data[..8].copy_from_slice(MAGIC);
        put_u32(&mut data, 8, VERSION);
        put_u32(&mut data, 12, H::BITS);
        put_u64(&mut data, 16, n as u64);
        put_u64(&mut data, 24, nodes as u64);
        put_u64(&mut data, 32, total as u64);
        put_u64(&mut data, 40, o_start as u64);
        put_u64(&mut data, 48, o_child as u64);
        put_u64(&mut data, 56, o_key as u64);
        put_u64(&mut data, 64, o_ids as u64);
        for (i, v) in id_start.iter().enumerate() {
            put_u32(&mut data, o_start + 4 * i, *v);
        }
        for (i, v) in first_child.iter().enumerate() {
            put_u32(&mut data, o_child + 4 * i, *v);
        }
        for (i, v) in keys.iter().enumerate() {
            data[o_key + 2 * i..o_key + 2 * i + 2].copy_from_slice(&v.to_le_bytes());
        }
        for (i, v) in ids.iter().enumerate() {
            put_u32(&mut data, o_ids + 4 * i, *v);
        }
        // Built here, from these hashes: the O(1) checks suffice.
        BkTree::parse(data, storage)
    }
}

impl<H: HashBits, S: AsRef<[H]>, D: AsRef<[u8]>> BkTree<H, S, D> {
    /// Opens a section written by [`as_bytes`](BkTree::as_bytes) over the same hashes, both
    /// owned by the tree (a list's section and its hashes, a `Vec<u8>` and a `Vec<H>`), and
    /// checks it fully ([`validate`](BkTree::validate), O(n)) once, here: queries then use
    /// it as it is.
    ///
    /// # Errors
    ///
    /// As [`load`](BkTree::load).
    pub fn open(section: D, hashes: S) -> Result<BkTree<H, S, D>> {
        let tree = BkTree::parse(section, hashes)?;
        tree.validate()?;
        Ok(tree)
    }

    fn parse(data: D, storage: S) -> Result<BkTree<H, S, D>> {
        super::count_parse();
        let hashes = storage.as_ref();
        let b = data.as_ref();
        let header = section_header::<H>(b, MAGIC, HEADER, VERSION, WHAT, hashes.len())?;
        let (count, total) = (header.count, header.total);
        let nodes = le_u64(b, 24);
        if nodes > count {
            return Err(corrupt("more nodes than hashes"));
        }
        let range = |off_at: usize, len: u64| -> Result<Range<usize>> {
            let off = le_u64(b, off_at);
            match off.checked_add(len).filter(|&e| e <= total) {
                Some(e) => Ok(off as usize..e as usize),
                None => Err(corrupt("an array runs past the section")),
            }
        };
        let id_start = range(40, (nodes + 1) * 4)?;
        let first_child = range(48, (nodes + 1) * 4)?;
        let key = range(56, nodes * 2)?;
        let ids = range(64, count * 4)?;
        let (nodes, isa) = (nodes as usize, Isa::detect());
        Ok(BkTree {
            hashes: storage,
            data,
            _hash: PhantomData,
            nodes,
            id_start,
            first_child,
            key,
            ids,
            isa,
        })
    }

    /// Uses the given kernels (for the distance computations) instead of the detected best
    /// (tests and benchmarks only: feature `test-util`).
    #[cfg(feature = "test-util")]
    pub fn isa(mut self, isa: Isa) -> BkTree<H, S, D> {
        self.isa = isa;
        self
    }

    /// Uses the given kernels (the caller picked an available one).
    pub(crate) fn kernels(mut self, isa: Isa) -> BkTree<H, S, D> {
        self.isa = isa;
        self
    }

    /// The serialised section (the format in the [module documentation](self)).
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// The same tree with its section storage changed by `f`, which must hand back the same
    /// bytes: nothing is parsed again.
    pub(crate) fn map_section<D2: AsRef<[u8]>>(self, f: impl FnOnce(D) -> D2) -> BkTree<H, S, D2> {
        BkTree {
            data: f(self.data),
            hashes: self.hashes,
            _hash: PhantomData,
            nodes: self.nodes,
            id_start: self.id_start,
            first_child: self.first_child,
            key: self.key,
            ids: self.ids,
            isa: self.isa,
        }
    }

    /// The section's storage, giving the tree up (a `Vec<u8>` for one built here).
    pub fn into_bytes(self) -> D {
        self.data
    }

    /// The section's storage and the hashes' storage, giving the tree up.
    pub fn into_parts(self) -> (D, S) {
        (self.data, self.hashes)
    }

    /// The number of nodes (distinct hash values).
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The hashes searched.
    pub fn hashes(&self) -> &[H] {
        self.hashes.as_ref()
    }

    /// The full O(n) check: node ranges ascend and partition the ids, which form a permutation
    /// of the list; children follow their parents; duplicates really are equal; every child's
    /// key is its distance to its parent and siblings are sorted by key.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Corrupt`] naming the first inconsistency.
    pub fn validate(&self) -> Result<()> {
        let v = self.view();
        let n = v.hashes.len();
        // Unlike the multi-index hashing check, this one stays random access: whether a node's
        // ids share one hash, and whether a child's key is its distance to the parent, needs
        // the hashes of tree neighbours, so a fingerprint could only replace `seen` (n bytes,
        // touched once per id), not the hash reads that dominate.
        let mut seen = vec![false; n];
        if self.nodes == 0 {
            return if n == 0 {
                Ok(())
            } else {
                Err(corrupt("no nodes for a non-empty list"))
            };
        }
        if v.id_start(0) != Some(0) || v.id_start(self.nodes) != Some(n as u32) {
            return Err(corrupt("node id ranges do not span the list"));
        }
        if v.first_child(self.nodes) != Some(self.nodes as u32) || v.first_child(0) != Some(1) {
            return Err(corrupt("child ranges do not span the nodes"));
        }
        for i in 0..self.nodes {
            let (Some(a), Some(b)) = (v.id_start(i), v.id_start(i + 1)) else {
                return Err(corrupt("node range out of bounds"));
            };
            if a >= b || b as usize > n {
                return Err(corrupt("empty, descending or oversized node id range"));
            }
            let rep = v
                .id(a as usize)
                .filter(|&x| (x as usize) < n)
                .ok_or_else(|| corrupt("bad id"))?;
            for j in a..b {
                let id = v
                    .id(j as usize)
                    .filter(|&x| (x as usize) < n)
                    .ok_or_else(|| corrupt("bad id"))?;
                if std::mem::replace(&mut seen[id as usize], true) {
                    return Err(corrupt("an id appears twice"));
                }
                if v.hashes[id as usize] != v.hashes[rep as usize] {
                    return Err(corrupt("a node holds different hashes"));
                }
            }
            let (Some(c0), Some(c1)) = (v.first_child(i), v.first_child(i + 1)) else {
                return Err(corrupt("child range out of bounds"));
            };
            if (c0 as usize) <= i || c1 < c0 {
                return Err(corrupt(
                    "children must follow their parent in ascending ranges",
                ));
            }
            let mut prev = 0;
            for c in c0..c1 {
                let k = v
                    .key(c as usize)
                    .ok_or_else(|| corrupt("key out of bounds"))?;
                let crep = v
                    .id_start(c as usize)
                    .and_then(|s| v.id(s as usize))
                    .filter(|&x| (x as usize) < n)
                    .ok_or_else(|| corrupt("bad child"))?;
                let d = v.hashes[crep as usize].hamming(&v.hashes[rep as usize]);
                if u32::from(k) != d || k <= prev {
                    return Err(corrupt("child keys are wrong or unsorted"));
                }
                prev = k;
            }
        }
        if seen.iter().any(|s| !s) {
            return Err(corrupt("some ids are missing"));
        }
        Ok(())
    }

    /// The arrays and the hashes, resolved once per query.
    fn view(&self) -> View<'_, H> {
        let data = self.data.as_ref();
        View {
            hashes: self.hashes.as_ref(),
            id_start: &data[self.id_start.clone()],
            first_child: &data[self.first_child.clone()],
            key: &data[self.key.clone()],
            ids: &data[self.ids.clone()],
        }
    }
}

impl<H: HashBits, S: AsRef<[H]> + Sync, D: AsRef<[u8]> + Sync> BkTree<H, S, D> {
    /// Visits the subtree at `root` (depth first); appends matches. At most `budget` visits.
    #[inline(always)]
    fn search_from(
        &self,
        v: &View<'_, H>,
        root: usize,
        q: &H,
        r: u32,
        stack: &mut Vec<u32>,
        out: &mut Vec<Match>,
    ) {
        let n = v.hashes.len();
        stack.clear();
        stack.push(root as u32);
        // A sound tree visits and pushes each node at most once.
        let mut budget = 2 * self.nodes;
        while let Some(i) = stack.pop() {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let Some((d, a, b)) = self.node(v, i as usize, q) else {
                continue;
            };
            if d <= r {
                for j in a..b {
                    if let Some(id) = v.id(j).filter(|&id| (id as usize) < n) {
                        out.push(Match::new(id, d));
                    }
                }
            }
            self.children(
                v,
                i as usize,
                d.saturating_sub(r),
                d + r,
                &mut budget,
                |c, _| stack.push(c),
            );
        }
    }

    /// Node `i`'s distance to `q` and its id range, if its ranges are sound.
    #[inline(always)]
    fn node(&self, v: &View<'_, H>, i: usize, q: &H) -> Option<(u32, usize, usize)> {
        let a = v.id_start(i)? as usize;
        let b = v.id_start(i + 1)? as usize;
        if a >= b || b > v.hashes.len() {
            return None;
        }
        let rep = v.id(a)? as usize;
        let h = v.hashes.get(rep)?;
        Some((h.hamming(q), a, b))
    }

    /// Calls `f(child, key)` for each child of `i` keyed `lo..=hi`, in key order, while
    /// `budget` lasts (one unit per child).
    #[inline(always)]
    fn children(
        &self,
        v: &View<'_, H>,
        i: usize,
        lo: u32,
        hi: u32,
        budget: &mut usize,
        mut f: impl FnMut(u32, u32),
    ) {
        let (Some(c0), Some(c1)) = (v.first_child(i), v.first_child(i + 1)) else {
            return;
        };
        let (c0, c1) = (c0 as usize, c1 as usize);
        if c0 <= i || c1 < c0 || c1 > self.nodes {
            return;
        }
        // First child with key >= lo (binary search; sound even on unsorted keys).
        let (mut a, mut b) = (c0, c1);
        while a < b {
            let mid = a + (b - a) / 2;
            if u32::from(v.key(mid).unwrap_or(u16::MAX)) < lo {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        for c in a..c1 {
            let k = u32::from(v.key(c).unwrap_or(u16::MAX));
            if k > hi || *budget == 0 {
                break;
            }
            *budget -= 1;
            f(c as u32, k);
        }
    }

    #[inline(always)]
    fn range_simd<V: Simd>(&self, _s: V, q: &H, r: u32, out: &mut Vec<Match>) {
        if self.nodes == 0 {
            return;
        }
        let v = self.view();
        let mut stack = Vec::new();
        if self.nodes < PAR_QUERY || rayon::current_num_threads() < 2 {
            self.search_from(&v, 0, q, r, &mut stack, out);
            return;
        }
        // Expand breadth first until there are enough subtrees to share out.
        let want = 16 * rayon::current_num_threads();
        let mut frontier = vec![0u32];
        let mut budget = 2 * self.nodes;
        while !frontier.is_empty() && frontier.len() < want && budget > 0 {
            let mut next = Vec::new();
            for &i in &frontier {
                if budget == 0 {
                    break;
                }
                budget -= 1;
                let Some((d, a, b)) = self.node(&v, i as usize, q) else {
                    continue;
                };
                if d <= r {
                    for j in a..b {
                        if let Some(id) = v.id(j).filter(|&id| (id as usize) < v.hashes.len()) {
                            out.push(Match::new(id, d));
                        }
                    }
                }
                self.children(
                    &v,
                    i as usize,
                    d.saturating_sub(r),
                    d + r,
                    &mut budget,
                    |c, _| next.push(c),
                );
            }
            frontier = next;
        }
        let isa = self.isa;
        let parts: Vec<Vec<Match>> = frontier
            .par_iter()
            .map_init(Vec::new, |stack, &root| {
                let mut found = Vec::new();
                isa.dispatch(Subtree {
                    tree: self,
                    root: root as usize,
                    q,
                    r,
                    stack,
                    out: &mut found,
                });
                found
            })
            .collect();
        for p in parts {
            out.extend_from_slice(&p);
        }
    }

    #[inline(always)]
    fn knn_simd<V: Simd>(&self, _s: V, q: &H, k: usize) -> Vec<Match> {
        let v = self.view();
        let n = v.hashes.len();
        let mut best: BinaryHeap<Match> = BinaryHeap::with_capacity(k + 1);
        let mut queue: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::new();
        if self.nodes > 0 {
            queue.push(Reverse((0, 0)));
        }
        let mut budget = 2 * self.nodes;
        while let Some(Reverse((bound, i))) = queue.pop() {
            let full = best.len() == k;
            if full && best.peek().is_some_and(|w| bound > w.distance) {
                break;
            }
            if budget == 0 {
                break;
            }
            budget -= 1;
            let Some((d, a, b)) = self.node(&v, i as usize, q) else {
                continue;
            };
            for j in a..b {
                let Some(id) = v.id(j).filter(|&id| (id as usize) < n) else {
                    continue;
                };
                let m = Match::new(id, d);
                if best.len() < k {
                    best.push(m);
                } else if best.peek().is_some_and(|w| m < *w) {
                    best.pop();
                    best.push(m);
                }
            }
            let tau = if best.len() == k {
                best.peek().map_or(H::BITS, |w| w.distance)
            } else {
                H::BITS
            };
            self.children(
                &v,
                i as usize,
                d.saturating_sub(tau),
                d + tau,
                &mut budget,
                |c, key| {
                    queue.push(Reverse((bound.max(key.abs_diff(d)), c)));
                },
            );
        }
        let mut out = best.into_vec();
        out.sort_unstable();
        out
    }
}

/// Bounds-checked readers over the four arrays, and the hashes.
struct View<'d, H> {
    hashes: &'d [H],
    id_start: &'d [u8],
    first_child: &'d [u8],
    key: &'d [u8],
    ids: &'d [u8],
}

impl<H> View<'_, H> {
    #[inline(always)]
    fn id_start(&self, i: usize) -> Option<u32> {
        u32_at(self.id_start, i)
    }
    #[inline(always)]
    fn first_child(&self, i: usize) -> Option<u32> {
        u32_at(self.first_child, i)
    }
    #[inline(always)]
    fn key(&self, i: usize) -> Option<u16> {
        u16_at(self.key, i)
    }
    #[inline(always)]
    fn id(&self, j: usize) -> Option<u32> {
        u32_at(self.ids, j)
    }
}

struct Subtree<'s, H, S, D> {
    tree: &'s BkTree<H, S, D>,
    root: usize,
    q: &'s H,
    r: u32,
    stack: &'s mut Vec<u32>,
    out: &'s mut Vec<Match>,
}

impl<H: HashBits, S: AsRef<[H]> + Sync, D: AsRef<[u8]> + Sync> WithSimd for Subtree<'_, H, S, D> {
    type Output = ();
    #[inline(always)]
    fn with_simd<V: Simd>(self, _s: V) {
        let v = self.tree.view();
        self.tree
            .search_from(&v, self.root, self.q, self.r, self.stack, self.out);
    }
}

struct RangeOp<'s, H, S, D> {
    tree: &'s BkTree<H, S, D>,
    q: &'s H,
    r: u32,
    out: &'s mut Vec<Match>,
}

impl<H: HashBits, S: AsRef<[H]> + Sync, D: AsRef<[u8]> + Sync> WithSimd for RangeOp<'_, H, S, D> {
    type Output = ();
    #[inline(always)]
    fn with_simd<V: Simd>(self, s: V) {
        self.tree.range_simd(s, self.q, self.r, self.out)
    }
}

struct KnnOp<'s, H, S, D> {
    tree: &'s BkTree<H, S, D>,
    q: &'s H,
    k: usize,
}

impl<H: HashBits, S: AsRef<[H]> + Sync, D: AsRef<[u8]> + Sync> WithSimd for KnnOp<'_, H, S, D> {
    type Output = Vec<Match>;
    #[inline(always)]
    fn with_simd<V: Simd>(self, s: V) -> Vec<Match> {
        self.tree.knn_simd(s, self.q, self.k)
    }
}

impl<H: HashBits, S: AsRef<[H]> + Send + Sync, D: AsRef<[u8]> + Send + Sync> Index
    for BkTree<H, S, D>
{
    type Hash = H;

    fn kind(&self) -> IndexKind {
        IndexKind::BkTree
    }

    fn len(&self) -> usize {
        self.hashes.as_ref().len()
    }

    fn index_bytes(&self) -> usize {
        self.data.as_ref().len()
    }

    fn range(&self, query: &H, threshold: u32, out: &mut Vec<Match>) {
        out.clear();
        let r = threshold.min(H::BITS);
        self.isa.dispatch(RangeOp {
            tree: self,
            q: query,
            r,
            out: &mut *out,
        });
        out.sort_unstable();
        out.dedup();
    }

    fn knn(&self, query: &H, k: usize) -> Vec<Match> {
        if k == 0 || self.hashes.as_ref().is_empty() {
            return Vec::new();
        }
        self.isa.dispatch(KnnOp {
            tree: self,
            q: query,
            k,
        })
    }

    fn range_batch(&self, queries: &[H], threshold: u32) -> Vec<Vec<Match>> {
        let r = threshold.min(H::BITS);
        queries
            .par_iter()
            .map_init(Vec::new, |stack, q| {
                let mut out = Vec::new();
                let isa = self.isa;
                isa.dispatch(Subtree {
                    tree: self,
                    root: 0,
                    q,
                    r,
                    stack,
                    out: &mut out,
                });
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect()
    }
}
