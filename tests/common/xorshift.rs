//! xorshift64*: a deterministic generator of test and benchmark data that needs no RNG crate.
//! Shared by the tests (through `common`) and the benchmarks (by `#[path]`), so every fixed
//! seed keeps giving the data it always gave.

#![allow(dead_code)]

/// xorshift64* with its state in the open: `XorShift(seed)` (any seed but 0).
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A random byte (the top bits, the best of xorshift64*).
    pub fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniformly random 256-bit hash.
    pub fn hash256(&mut self) -> hashsieve::Hash256 {
        hashsieve::Hash256::from_limbs([self.next(), self.next(), self.next(), self.next()])
    }
}

/// Marsaglia's xorshift64 (shifts 13, 7, 17) with its state in the open: `Xorshift64(seed)`
/// (any seed but 0). Weaker than [`XorShift`], and kept for the tests and benchmarks whose
/// fixed data was drawn from it.
pub struct Xorshift64(pub u64);

impl Xorshift64 {
    /// The next state, which is also the output.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
