//! Grouping near-duplicates: union-find over the pairs a self-join found.

/// A disjoint-set forest with union by size and path halving.
///
/// ```
/// use hashsieve::matching::UnionFind;
/// let mut uf = UnionFind::new(5);
/// uf.union(0, 3);
/// uf.union(3, 4);
/// assert_eq!(uf.find(4), uf.find(0));
/// assert_ne!(uf.find(1), uf.find(0));
/// assert_eq!(uf.components(2), vec![vec![0, 3, 4]]);
/// ```
#[derive(Clone, Debug)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons, `0..n`.
    ///
    /// # Panics
    ///
    /// Panics if `n` exceeds `u32::MAX`.
    pub fn new(n: usize) -> UnionFind {
        let n32 = u32::try_from(n).expect("at most u32::MAX elements");
        UnionFind {
            parent: (0..n32).collect(),
            size: vec![1; n],
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The representative of `x`'s set.
    ///
    /// # Panics
    ///
    /// Panics if `x` is out of range.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    /// Merges the sets of `a` and `b`; returns whether they were separate.
    ///
    /// # Panics
    ///
    /// Panics if `a` or `b` is out of range.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
        true
    }

    /// The sets with at least `min_size` members, each sorted, ordered by their smallest member.
    pub fn components(&mut self, min_size: usize) -> Vec<Vec<u32>> {
        let n = self.parent.len();
        let mut slot = vec![u32::MAX; n];
        let mut out: Vec<Vec<u32>> = Vec::new();
        for x in 0..n as u32 {
            let root = self.find(x) as usize;
            if (self.size[root] as usize) < min_size {
                continue;
            }
            if slot[root] == u32::MAX {
                slot[root] = out.len() as u32;
                out.push(Vec::with_capacity(self.size[root] as usize));
            }
            out[slot[root] as usize].push(x);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Components by repeated graph search: the oracle.
    fn components_by_search(n: usize, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let mut adj = vec![Vec::new(); n];
        for &(a, b) in edges {
            adj[a as usize].push(b);
            adj[b as usize].push(a);
        }
        let mut seen = vec![false; n];
        let mut out = Vec::new();
        for s in 0..n {
            if seen[s] {
                continue;
            }
            let mut stack = vec![s as u32];
            let mut comp = Vec::new();
            seen[s] = true;
            while let Some(x) = stack.pop() {
                comp.push(x);
                for &y in &adj[x as usize] {
                    if !seen[y as usize] {
                        seen[y as usize] = true;
                        stack.push(y);
                    }
                }
            }
            comp.sort_unstable();
            out.push(comp);
        }
        out
    }

    #[test]
    fn matches_graph_search() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % m) as u32
        };
        for n in [1usize, 2, 10, 200] {
            let edges: Vec<(u32, u32)> = (0..n / 2 + 3)
                .map(|_| (next(n as u64), next(n as u64)))
                .collect();
            let mut uf = UnionFind::new(n);
            for &(a, b) in &edges {
                uf.union(a, b);
            }
            assert_eq!(uf.components(1), components_by_search(n, &edges));
        }
    }
}
