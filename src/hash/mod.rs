//! Hash values: [`Hash256`] (PDQ, and the imagehash family at `hash_size` 16) and [`Hash64`]
//! (pHash, dHash, aHash, wHash at their defaults), their Hamming distance and their text forms.
//!
//! # Bit order and hex
//!
//! Both types hold an unsigned integer whose big-endian hexadecimal form is the text every other
//! tool in the field writes:
//!
//! * PDQ (ThreatExchange form): bit `k = 16·i + j` of the integer is DCT coefficient `(i, j)`; the
//!   hex is 64 lowercase characters, most significant 16-bit word first (ALGORITHM.md §2.9).
//! * imagehash `str()` form: the hash's boolean matrix read row-major, first cell = most
//!   significant bit; 16 hex characters for `hash_size` 8, 64 for `hash_size` 16.
//!
//! Parsing accepts upper and lower case and rejects anything else with an error that names the
//! problem but never echoes the input (hash lists are sensitive).

use std::fmt;
use std::str::FromStr;

use bitvec::prelude::{BitSlice, Lsb0};

use crate::error::{Error, ErrorKind, Result};

mod exact;
pub use exact::{Digest, ExactHasher};

/// A 256-bit perceptual hash (PDQ, or an imagehash-family hash with `hash_size` 16).
///
/// Stored as four little-endian 64-bit limbs of the hash integer: `limbs()[0]` holds bits 0..64.
///
/// ```
/// use hashsieve::Hash256;
/// let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/// let h: Hash256 = hex.parse()?;
/// assert_eq!(h.to_hex(), hex);
/// assert_eq!(h.distance(&h), 0);
/// # Ok::<(), hashsieve::Error>(())
/// ```
/// `#[repr(transparent)]` over `[u64; 4]`: a 32-byte aligned slice of little-endian limbs can be
/// viewed as `&[Hash256]` (see the hash-list reader).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct Hash256([u64; 4]);

/// A 64-bit perceptual hash (pHash, dHash, aHash or wHash with imagehash's default `hash_size` 8).
///
/// ```
/// use hashsieve::Hash64;
/// let a: Hash64 = "bff1c1c0434e8cbc".parse()?;
/// let b = Hash64::from_u64(a.to_u64() ^ 0b101);
/// assert_eq!(a.distance(&b), 2);
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct Hash64(u64);

impl Hash256 {
    /// The width in bits (256), named as `u64::BITS` is; [`HashKind::width`] and
    /// [`HashValue::width`] give the same number for a kind or a value.
    pub const BITS: u32 = 256;

    /// Builds a hash from its little-endian limbs (`limbs[0]` = bits 0..64 of the integer).
    pub const fn from_limbs(limbs: [u64; 4]) -> Hash256 {
        Hash256(limbs)
    }

    /// The little-endian limbs of the hash integer.
    pub const fn limbs(&self) -> [u64; 4] {
        self.0
    }

    /// Builds a hash from 32 big-endian bytes: the bytes of the hex form (`bytes.fromhex` in
    /// Python, the layout FAISS and python-threatexchange use).
    pub fn from_be_bytes(bytes: [u8; 32]) -> Hash256 {
        let mut limbs = [0u64; 4];
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            limbs[3 - i] = u64::from_be_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        Hash256(limbs)
    }

    /// The 32 big-endian bytes of the hash (the decoded hex form).
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in 0..4 {
            out[i * 8..i * 8 + 8].copy_from_slice(&self.0[3 - i].to_be_bytes());
        }
        out
    }

    /// The Hamming distance: how many bits differ.
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// How many bits are set.
    pub fn count_ones(&self) -> u32 {
        self.0.iter().map(|l| l.count_ones()).sum()
    }

    /// The value of bit `k` of the hash integer.
    ///
    /// # Panics
    ///
    /// Panics if `k >= 256`.
    pub fn bit(&self, k: usize) -> bool {
        assert!(k < 256, "bit index {k} out of range for a 256-bit hash");
        (self.0[k / 64] >> (k % 64)) & 1 == 1
    }

    /// Sets bit `k` of the hash integer.
    ///
    /// # Panics
    ///
    /// Panics if `k >= 256`.
    pub fn set_bit(&mut self, k: usize, value: bool) {
        assert!(k < 256, "bit index {k} out of range for a 256-bit hash");
        let mask = 1u64 << (k % 64);
        if value {
            self.0[k / 64] |= mask;
        } else {
            self.0[k / 64] &= !mask;
        }
    }

    /// The indices of the set bits, in increasing order (bit `k` of the hash integer).
    ///
    /// ```
    /// use hashsieve::Hash256;
    /// let h = Hash256::from_limbs([0b101, 0, 0, 1 << 63]);
    /// assert_eq!(h.ones().collect::<Vec<_>>(), [0, 2, 255]);
    /// ```
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        BitSlice::<u64, Lsb0>::from_slice(&self.0).iter_ones()
    }

    /// Parses 64 hexadecimal characters (either case).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidHex`] naming the problem (length or the position of a bad character);
    /// the input is never echoed.
    pub fn from_hex(s: &str) -> Result<Hash256> {
        let mut bytes = [0u8; 32];
        decode_hex(s.as_bytes(), &mut bytes, "256-bit (64 hex characters)")?;
        Ok(Hash256::from_be_bytes(bytes))
    }

    /// The 64-character lowercase hex form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Whether the hash is all zeros or all ones: the hash of a blank image, never a real match.
    pub fn is_degenerate(&self) -> bool {
        self.0 == [0; 4] || self.0 == [u64::MAX; 4]
    }
}

impl Hash64 {
    /// The width in bits (64), named as `u64::BITS` is.
    pub const BITS: u32 = 64;

    /// Builds a hash from its integer value.
    pub const fn from_u64(value: u64) -> Hash64 {
        Hash64(value)
    }

    /// The hash's integer value (first cell of the imagehash matrix = most significant bit).
    pub const fn to_u64(&self) -> u64 {
        self.0
    }

    /// The Hamming distance: how many bits differ.
    #[inline]
    pub fn distance(&self, other: &Hash64) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// How many bits are set.
    pub fn count_ones(&self) -> u32 {
        self.0.count_ones()
    }

    /// The value of bit `k` of the hash integer.
    ///
    /// # Panics
    ///
    /// Panics if `k >= 64`.
    pub fn bit(&self, k: usize) -> bool {
        assert!(k < 64, "bit index {k} out of range for a 64-bit hash");
        (self.0 >> k) & 1 == 1
    }

    /// Sets bit `k` of the hash integer.
    ///
    /// # Panics
    ///
    /// Panics if `k >= 64`.
    pub fn set_bit(&mut self, k: usize, value: bool) {
        assert!(k < 64, "bit index {k} out of range for a 64-bit hash");
        if value {
            self.0 |= 1 << k;
        } else {
            self.0 &= !(1 << k);
        }
    }

    /// The indices of the set bits, in increasing order (bit `k` of the hash integer).
    ///
    /// ```
    /// use hashsieve::Hash64;
    /// let h = Hash64::from_u64(0b1001);
    /// assert_eq!(h.ones().collect::<Vec<_>>(), [0, 3]);
    /// ```
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        BitSlice::<u64, Lsb0>::from_element(&self.0).iter_ones()
    }

    /// Parses 16 hexadecimal characters (either case).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidHex`] naming the problem; the input is never echoed.
    pub fn from_hex(s: &str) -> Result<Hash64> {
        let mut bytes = [0u8; 8];
        decode_hex(s.as_bytes(), &mut bytes, "64-bit (16 hex characters)")?;
        Ok(Hash64(u64::from_be_bytes(bytes)))
    }

    /// The 16-character lowercase hex form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Whether the hash is all zeros or all ones.
    pub fn is_degenerate(&self) -> bool {
        self.0 == 0 || self.0 == u64::MAX
    }
}

fn decode_hex(s: &[u8], out: &mut [u8], expected: &'static str) -> Result<()> {
    decode_hex_into(s, out).map_err(|reason| Error::new(ErrorKind::InvalidHex { expected, reason }))
}

/// Decodes hex of either case into `out`, which it must fill exactly; the error says what is
/// wrong without echoing the input.
pub(crate) fn decode_hex_into(s: &[u8], out: &mut [u8]) -> std::result::Result<(), String> {
    if s.len() != out.len() * 2 {
        return Err(format!(
            "{} characters, expected {}",
            s.len(),
            out.len() * 2
        ));
    }
    let nibble = |i: usize| -> std::result::Result<u8, String> {
        match s[i] {
            c @ b'0'..=b'9' => Ok(c - b'0'),
            c @ b'a'..=b'f' => Ok(c - b'a' + 10),
            c @ b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(format!("non-hex character at position {}", i + 1)),
        }
    };
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = (nibble(2 * i)? << 4) | nibble(2 * i + 1)?;
    }
    Ok(())
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:016x}{:016x}{:016x}{:016x}",
            self.0[3], self.0[2], self.0[1], self.0[0]
        )
    }
}

impl fmt::Display for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

// Debug prints the type and bit count only: hash values stay out of logs by default.
impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hash256(..)")
    }
}

impl fmt::Debug for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hash64(..)")
    }
}

impl FromStr for Hash256 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Hash256> {
        Hash256::from_hex(s)
    }
}

impl FromStr for Hash64 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Hash64> {
        Hash64::from_hex(s)
    }
}

/// A hash algorithm and its bit width: the identity of every hash downstream (lists, matching).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(u8)]
pub enum HashKind {
    /// PDQ, 256 bits (Meta's reference).
    Pdq = 1,
    /// imagehash `phash`, `hash_size` 8: 64 bits.
    PHash = 2,
    /// imagehash `dhash`, `hash_size` 8: 64 bits.
    DHash = 3,
    /// imagehash `average_hash`, `hash_size` 8: 64 bits.
    AHash = 4,
    /// imagehash `whash` (Haar), `hash_size` 8: 64 bits.
    WHash = 5,
    /// imagehash `phash`, `hash_size` 16: 256 bits.
    PHash256 = 6,
    /// imagehash `dhash`, `hash_size` 16: 256 bits.
    DHash256 = 7,
    /// imagehash `average_hash`, `hash_size` 16: 256 bits.
    AHash256 = 8,
    /// imagehash `whash` (Haar), `hash_size` 16: 256 bits.
    WHash256 = 9,
    /// MD5 of the file bytes, 128 bits: an exact hash ([`Digest`]), matched by equality only.
    Md5 = 10,
    /// SHA-1 of the file bytes, 160 bits: an exact hash ([`Digest`]).
    Sha1 = 11,
    /// SHA-256 of the file bytes, 256 bits: an exact hash ([`Digest`]).
    Sha256 = 12,
}

impl HashKind {
    /// Every kind, in `repr` order: the perceptual kinds, then the exact ones.
    pub const ALL: [HashKind; 12] = {
        let mut all = [HashKind::Pdq; 12];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < Self::PERCEPTUAL.len() {
                Self::PERCEPTUAL[i]
            } else {
                Self::EXACT[i - Self::PERCEPTUAL.len()]
            };
            i += 1;
        }
        all
    };

    /// The perceptual kinds (computed from pixels, matched by Hamming distance), in `repr` order.
    pub const PERCEPTUAL: [HashKind; 9] = [
        HashKind::Pdq,
        HashKind::PHash,
        HashKind::DHash,
        HashKind::AHash,
        HashKind::WHash,
        HashKind::PHash256,
        HashKind::DHash256,
        HashKind::AHash256,
        HashKind::WHash256,
    ];

    /// The exact kinds (cryptographic digests of the file bytes, matched by equality).
    pub const EXACT: [HashKind; 3] = [HashKind::Md5, HashKind::Sha1, HashKind::Sha256];

    const NAMES: &'static str =
        "pdq, phash, dhash, ahash, whash, phash256, dhash256, ahash256, whash256, md5, sha1, sha256";

    /// The hash width in bits: 64 or 256 for the perceptual kinds; 128 (MD5), 160 (SHA-1) or 256
    /// (SHA-256) for the exact ones.
    pub const fn width(self) -> u32 {
        match self {
            HashKind::PHash | HashKind::DHash | HashKind::AHash | HashKind::WHash => 64,
            HashKind::Md5 => 128,
            HashKind::Sha1 => 160,
            _ => 256,
        }
    }

    /// Whether this is an exact kind (MD5, SHA-1, SHA-256): a digest of the file bytes, held
    /// as a [`Digest`] and matched by equality. Every other kind is perceptual.
    pub const fn is_exact(self) -> bool {
        matches!(self, HashKind::Md5 | HashKind::Sha1 | HashKind::Sha256)
    }

    /// Whether this is a perceptual kind (computed from pixels, matched by Hamming distance).
    pub const fn is_perceptual(self) -> bool {
        !self.is_exact()
    }

    /// The name used in files and on the command line (`pdq`, `phash`, `phash256`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            HashKind::Pdq => "pdq",
            HashKind::PHash => "phash",
            HashKind::DHash => "dhash",
            HashKind::AHash => "ahash",
            HashKind::WHash => "whash",
            HashKind::PHash256 => "phash256",
            HashKind::DHash256 => "dhash256",
            HashKind::AHash256 => "ahash256",
            HashKind::WHash256 => "whash256",
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
        }
    }

    /// The stable numeric code stored in files.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The kind with the given stored code.
    pub fn from_code(code: u8) -> Option<HashKind> {
        HashKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The default match threshold (inclusive Hamming distance) for this kind: PDQ 31 (the
    /// reference's), 10 for the 64-bit imagehash family, 40 for their 256-bit forms.
    ///
    /// These are the customary values. Measured with `hashsieve eval robustness` on 65 benign
    /// photos (README, *Recommended thresholds*): PDQ 31 and pHash 10 made no false match in
    /// 153,920 unrelated pairs; dHash needs 8 (its nearest unrelated pair is at 9); aHash and
    /// wHash put unrelated low-contrast photos within 0-4 bits, so they suit deduplication of
    /// near-identical copies, not matching against lists.
    ///
    /// Exact kinds match by equality: 0.
    pub const fn default_threshold(self) -> u32 {
        match self {
            HashKind::Pdq => 31,
            HashKind::Md5 | HashKind::Sha1 | HashKind::Sha256 => 0,
            _ if self.width() == 64 => 10,
            _ => 40,
        }
    }

    /// Parses a hash of this kind from hex.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidHex`] when the text is not a hash of this width.
    pub fn parse_hex(self, s: &str) -> Result<HashValue> {
        if self.is_exact() {
            Digest::from_hex(self, s).map(HashValue::Exact)
        } else if self.width() == 64 {
            Hash64::from_hex(s).map(HashValue::Bits64)
        } else {
            Hash256::from_hex(s).map(HashValue::Bits256)
        }
    }
}

display_by!(HashKind);

from_str_by_name! {
    HashKind: "algorithm", all HashKind::ALL, expected HashKind::NAMES,
    aliases {
        "average_hash" => "ahash",
        "avghash" => "ahash",
        "md-5" => "md5",
        "sha-1" => "sha1",
        "sha-256" => "sha256",
        "sha2-256" => "sha256",
    }
}

/// A hash of any kind, for code that handles every [`HashKind`]: a perceptual hash of either
/// width, or an exact digest.
///
/// Non-exhaustive: later versions may add kinds of hash. Convert to a concrete type with
/// `Hash64::try_from(value)` / `Hash256::try_from(value)` / `Digest::try_from(value)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HashValue {
    /// A 64-bit hash.
    Bits64(Hash64),
    /// A 256-bit hash.
    Bits256(Hash256),
    /// An exact digest (MD5, SHA-1, SHA-256), which carries its kind.
    Exact(Digest),
}

impl HashValue {
    /// The width in bits (64 or 256; 128, 160 or 256 for a digest), as [`HashKind::width`].
    pub fn width(&self) -> u32 {
        match self {
            HashValue::Bits64(_) => 64,
            HashValue::Bits256(_) => 256,
            HashValue::Exact(d) => d.width(),
        }
    }

    /// Whether this is an exact digest.
    pub fn is_exact(&self) -> bool {
        matches!(self, HashValue::Exact(_))
    }

    /// The Hamming distance between two perceptual hashes, or `None` when the widths differ or
    /// either is an exact digest (digests match by equality only; a bit distance between
    /// them means nothing).
    pub fn distance(&self, other: &HashValue) -> Option<u32> {
        match (self, other) {
            (HashValue::Bits64(a), HashValue::Bits64(b)) => Some(a.distance(b)),
            (HashValue::Bits256(a), HashValue::Bits256(b)) => Some(a.distance(b)),
            _ => None,
        }
    }

    /// Whether the hash is all zeros or all ones (never, for a digest: such a digest is as
    /// valid as any other).
    pub fn is_degenerate(&self) -> bool {
        match self {
            HashValue::Bits64(h) => h.is_degenerate(),
            HashValue::Bits256(h) => h.is_degenerate(),
            HashValue::Exact(_) => false,
        }
    }

    /// The lowercase hex form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for HashValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashValue::Bits64(h) => h.fmt(f),
            HashValue::Bits256(h) => h.fmt(f),
            HashValue::Exact(d) => d.fmt(f),
        }
    }
}

impl From<Digest> for HashValue {
    fn from(d: Digest) -> HashValue {
        HashValue::Exact(d)
    }
}

impl TryFrom<HashValue> for Digest {
    type Error = Error;
    /// The digest, or [`ErrorKind::Mismatch`] for a perceptual hash.
    fn try_from(value: HashValue) -> Result<Digest> {
        match value {
            HashValue::Exact(d) => Ok(d),
            other => Err(ErrorKind::Mismatch(format!(
                "expected an exact digest, found a {}-bit perceptual hash",
                other.width()
            ))
            .into()),
        }
    }
}

/// `HashValue::$variant(h)` from a hash of one width, and that hash back from a value, or
/// [`ErrorKind::Mismatch`] for a value of another width.
macro_rules! width_conversions {
    ($($hash:ident: $variant:ident, $bits:literal, $doc:literal;)+) => {$(
        impl From<$hash> for HashValue {
            fn from(h: $hash) -> HashValue {
                HashValue::$variant(h)
            }
        }

        impl TryFrom<HashValue> for $hash {
            type Error = Error;
            #[doc = $doc]
            fn try_from(value: HashValue) -> Result<$hash> {
                match value {
                    HashValue::$variant(h) => Ok(h),
                    other => Err(width_mismatch($bits, other.width())),
                }
            }
        }
    )+};
}

width_conversions! {
    Hash64: Bits64, 64, "The 64-bit hash, or [`ErrorKind::Mismatch`] for a hash of another width.";
    Hash256: Bits256, 256, "The 256-bit hash, or [`ErrorKind::Mismatch`] for a hash of another width.";
}

fn width_mismatch(want: u32, found: u32) -> Error {
    ErrorKind::Mismatch(format!(
        "expected a {want}-bit hash, found a {found}-bit one"
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdq_bit_order_follows_threatexchange() {
        // Bit 0 is the last hex digit's low bit; bit 255 the first digit's high bit.
        let mut h = Hash256::default();
        h.set_bit(0, true);
        assert_eq!(h.to_hex(), format!("{}1", "0".repeat(63)));
        let mut h = Hash256::default();
        h.set_bit(255, true);
        assert_eq!(h.to_hex(), format!("8{}", "0".repeat(63)));
        // Bit 16*i + j is bit j of word i; word 15 is printed first.
        let mut h = Hash256::default();
        h.set_bit(16 * 15 + 4, true);
        assert_eq!(&h.to_hex()[..4], "0010");
    }

    #[test]
    fn bit_access_agrees_with_the_integer() {
        // Oracle: the limbs / u64 value themselves, over a spread of values.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..64 {
            x = x.rotate_left(17).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ 0x94d0_49bb_1331_11eb;
            let limbs = [x, x.rotate_left(7), !x, x >> 3];
            let h = Hash256::from_limbs(limbs);
            let want: Vec<usize> = (0..256)
                .filter(|&k| (limbs[k / 64] >> (k % 64)) & 1 == 1)
                .collect();
            assert_eq!(h.ones().collect::<Vec<_>>(), want);
            assert_eq!(h.count_ones() as usize, want.len());
            let mut rebuilt = Hash256::default();
            for k in 0..256 {
                rebuilt.set_bit(k, h.bit(k));
            }
            assert_eq!(rebuilt, h);
            let mut cleared = h;
            for &k in &want {
                cleared.set_bit(k, false);
            }
            assert_eq!(cleared, Hash256::default());

            let h = Hash64::from_u64(x);
            let want: Vec<usize> = (0..64).filter(|&k| (x >> k) & 1 == 1).collect();
            assert_eq!(h.ones().collect::<Vec<_>>(), want);
            let mut rebuilt = Hash64::default();
            for k in 0..64 {
                rebuilt.set_bit(k, h.bit(k));
            }
            assert_eq!(rebuilt, h);
        }
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn bit_index_past_the_width_panics() {
        Hash64::default().bit(64);
    }

    #[test]
    fn widths_agree() {
        for k in HashKind::ALL {
            let v = k.parse_hex(&"0".repeat(k.width() as usize / 4)).unwrap();
            assert_eq!(v.width(), k.width());
        }
        assert_eq!(HashKind::PHash.width(), Hash64::BITS);
        assert_eq!(HashKind::Pdq.width(), Hash256::BITS);
    }

    #[test]
    fn hex_round_trips_and_accepts_upper_case() {
        let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let h = Hash256::from_hex(&hex.to_uppercase()).unwrap();
        assert_eq!(h.to_hex(), hex);
        assert_eq!(Hash256::from_be_bytes(h.to_be_bytes()), h);
        let h64 = Hash64::from_hex("BFF1C1C0434E8CBC").unwrap();
        assert_eq!(h64.to_string(), "bff1c1c0434e8cbc");
    }

    #[test]
    fn bad_hex_is_named_without_echoing() {
        let err = Hash256::from_hex("abc").unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidHex { .. }));
        assert!(err.to_string().contains("3 characters"));
        let bad = format!("{}g{}", "0".repeat(10), "0".repeat(53));
        let err = Hash256::from_hex(&bad).unwrap_err();
        assert!(err.to_string().contains("position 11"), "{err}");
        assert!(!err.to_string().contains(&bad));
        assert!(Hash64::from_hex("+123456789abcdef").is_err());
        assert!(Hash64::from_hex("é23456789abcde").is_err());
    }

    #[test]
    fn kinds_round_trip_names_and_codes() {
        for k in HashKind::ALL {
            assert_eq!(k.name().parse::<HashKind>().unwrap(), k);
            assert_eq!(HashKind::from_code(k.code()), Some(k));
        }
        assert!(HashKind::from_code(0).is_none());
        assert!("md4".parse::<HashKind>().is_err());
        assert_eq!("SHA-1".parse::<HashKind>().unwrap(), HashKind::Sha1);
        assert_eq!(
            HashKind::ALL.len(),
            HashKind::PERCEPTUAL.len() + HashKind::EXACT.len()
        );
        assert!(HashKind::PERCEPTUAL.iter().all(|k| k.is_perceptual()));
        assert!(HashKind::EXACT.iter().all(|k| k.is_exact()));
    }
}
