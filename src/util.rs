//! Small crate-private helpers shared across modules.

// `SplitMix64` is re-exported for tests and benchmarks under `test-util` only.
#![cfg_attr(not(feature = "test-util"), allow(unreachable_pub))]

/// A deterministic splitmix64 generator (Steele, Lea and Flood, 2014): reproducible synthetic
/// data and sampling. The one copy in the crate; tests and benchmarks reach it as
/// `hashsieve::index::bench::SplitMix64` (feature `test-util`).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Parses one of `all` by its `name`, ignoring case and surrounding white space, once `aliases`
/// (`(alias, name)` pairs) have mapped former or alternative names: the `FromStr` of the
/// crate's named enums.
///
/// # Errors
///
/// [`ErrorKind::UnknownName`](crate::ErrorKind::UnknownName) for `what`, listing `expected`.
pub(crate) fn parse_name<T: Copy>(
    s: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    aliases: &[(&str, &str)],
    what: &'static str,
    expected: &'static str,
) -> crate::Result<T> {
    let lower = s.trim().to_ascii_lowercase();
    let wanted = aliases
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower.as_str(), |(_, canonical)| canonical);
    all.iter()
        .copied()
        .find(|&t| name(t) == wanted)
        .ok_or_else(|| {
            crate::ErrorKind::UnknownName {
                what,
                name: s.to_string(),
                expected,
            }
            .into()
        })
}
