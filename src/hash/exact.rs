//! Exact (cryptographic) digests of file bytes: MD5, SHA-1 and SHA-256, the hashes national hash
//! sets (Project VIC, CAID, NCMEC, NSRL) distribute.
//!
//! [`Digest`] is the value type; [`ExactHasher`] computes any subset of the three over a stream
//! of bytes in one pass, so a file read once for decoding also yields its exact hashes.
//!
//! # Text form
//!
//! Parsing accepts upper and lower case. [`Digest::to_hex`] and `Display` write **lowercase**,
//! as `md5sum`, `sha1sum`, `sha256sum` and hashdeep do (and as every other hash in this crate
//! is written); [`Digest::to_hex_upper`] writes the upper-case form in which hash sets such as
//! VICS distribute them. `Debug` prints the kind only, never the value.

use std::fmt;

use md5::Digest as _;

use super::{decode_hex, HashKind};
use crate::error::{ErrorKind, Result};

/// An exact digest: MD5 (128 bits), SHA-1 (160) or SHA-256 (256), with its kind.
///
/// Ordered by kind, then by the digest bytes (the order of their hex text), which is the order
/// of a list's `HASH` section.
///
/// ```
/// use hashsieve::{hash::Digest, HashKind};
/// let d = Digest::from_hex(HashKind::Md5, "D41D8CD98F00B204E9800998ECF8427E")?;
/// assert_eq!(d, Digest::of(HashKind::Md5, b""));
/// assert_eq!(d.to_hex(), "d41d8cd98f00b204e9800998ecf8427e");
/// assert_eq!(d.to_hex_upper(), "D41D8CD98F00B204E9800998ECF8427E");
/// assert_eq!(d.as_bytes().len(), 16);
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    kind: HashKind,
    bytes: [u8; Digest::MAX_LEN],
}

impl Digest {
    /// The longest digest, in bytes (SHA-256).
    pub const MAX_LEN: usize = 32;

    /// A digest of `kind` from its bytes (in their usual order: the hex text's).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when `kind` is not exact
    /// ([`HashKind::is_exact`]); [`ErrorKind::Mismatch`] when `bytes` is not
    /// `kind.width() / 8` long.
    pub fn new(kind: HashKind, bytes: &[u8]) -> Result<Digest> {
        let len = exact_len(kind)?;
        if bytes.len() != len {
            return Err(ErrorKind::Mismatch(format!(
                "a {kind} digest is {len} bytes, not {}",
                bytes.len()
            ))
            .into());
        }
        let mut out = [0u8; Digest::MAX_LEN];
        out[..len].copy_from_slice(bytes);
        Ok(Digest { kind, bytes: out })
    }

    /// Parses the hex text of a digest of `kind` (either case).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidHex`] naming the problem (the input is never echoed);
    /// [`ErrorKind::InvalidArgument`] when `kind` is not exact.
    pub fn from_hex(kind: HashKind, s: &str) -> Result<Digest> {
        let len = exact_len(kind)?;
        let expected = match kind {
            HashKind::Md5 => "MD5 (32 hex characters)",
            HashKind::Sha1 => "SHA-1 (40 hex characters)",
            _ => "SHA-256 (64 hex characters)",
        };
        let mut bytes = [0u8; Digest::MAX_LEN];
        decode_hex(s.trim().as_bytes(), &mut bytes[..len], expected)?;
        Ok(Digest { kind, bytes })
    }

    /// The digest of `data`.
    ///
    /// # Panics
    ///
    /// Panics if `kind` is not exact ([`HashKind::is_exact`]): a caller bug.
    pub fn of(kind: HashKind, data: &[u8]) -> Digest {
        let mut h = ExactHasher::new(&[kind]);
        h.update(data);
        h.finish()[0]
    }

    /// The kind: [`HashKind::Md5`], [`HashKind::Sha1`] or [`HashKind::Sha256`].
    pub fn kind(&self) -> HashKind {
        self.kind
    }

    /// The digest bytes (16, 20 or 32 of them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.kind.width() as usize / 8]
    }

    /// The width in bits, as [`HashKind::width`].
    pub fn width(&self) -> u32 {
        self.kind.width()
    }

    /// The lowercase hex form (the form of `md5sum` and friends).
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// The upper-case hex form (the form in which VICS and other hash sets distribute digests).
    pub fn to_hex_upper(&self) -> String {
        self.to_string().to_ascii_uppercase()
    }
}

fn exact_len(kind: HashKind) -> Result<usize> {
    if kind.is_exact() {
        Ok(kind.width() as usize / 8)
    } else {
        Err(
            ErrorKind::InvalidArgument(format!("{kind} is not an exact (cryptographic) hash"))
                .into(),
        )
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

// Debug prints the kind only: hash values stay out of logs by default.
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({}, ..)", self.kind)
    }
}

/// Computes MD5, SHA-1 and SHA-256 (any subset) over a stream of bytes in one pass.
///
/// Feed the bytes in any chunks with [`update`](ExactHasher::update); [`finish`](ExactHasher::finish)
/// returns one digest per kind asked for, in the order asked. The RustCrypto implementations are
/// used; SHA-1 and SHA-256 use the x86 SHA extensions when the CPU has them (detected at run time).
///
/// ```
/// use hashsieve::{hash::ExactHasher, HashKind};
/// let mut h = ExactHasher::new(&[HashKind::Sha1, HashKind::Md5]);
/// h.update(b"hello ");
/// h.update(b"world");
/// let [sha1, md5] = h.finish()[..] else { unreachable!() };
/// assert_eq!(sha1.to_hex(), "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
/// assert_eq!(md5.to_hex(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
/// ```
#[derive(Clone)]
pub struct ExactHasher {
    kinds: Vec<HashKind>,
    md5: Option<md5::Md5>,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
    len: u64,
}

impl fmt::Debug for ExactHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExactHasher")
            .field("kinds", &self.kinds)
            .field("len", &self.len)
            .finish()
    }
}

impl ExactHasher {
    /// A hasher for these kinds (duplicates are computed once, reported each time asked).
    ///
    /// # Panics
    ///
    /// Panics if a kind is not exact ([`HashKind::is_exact`]): a caller bug.
    pub fn new(kinds: &[HashKind]) -> ExactHasher {
        assert!(
            kinds.iter().all(|k| k.is_exact()),
            "ExactHasher takes exact kinds (md5, sha1, sha256) only"
        );
        let has = |k| kinds.contains(&k);
        ExactHasher {
            kinds: kinds.to_vec(),
            md5: has(HashKind::Md5).then(md5::Md5::new),
            sha1: has(HashKind::Sha1).then(sha1::Sha1::new),
            sha256: has(HashKind::Sha256).then(sha2::Sha256::new),
            len: 0,
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        self.len += data.len() as u64;
    }

    /// How many bytes were fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digests, one per kind given to [`new`](ExactHasher::new), in that order.
    pub fn finish(self) -> Vec<Digest> {
        let mut out = [[0u8; Digest::MAX_LEN]; 3];
        if let Some(h) = self.md5 {
            out[0][..16].copy_from_slice(&h.finalize());
        }
        if let Some(h) = self.sha1 {
            out[1][..20].copy_from_slice(&h.finalize());
        }
        if let Some(h) = self.sha256 {
            out[2][..32].copy_from_slice(&h.finalize());
        }
        self.kinds
            .iter()
            .map(|&kind| Digest {
                kind,
                bytes: match kind {
                    HashKind::Md5 => out[0],
                    HashKind::Sha1 => out[1],
                    _ => out[2],
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180 / RFC 1321 test vectors.
        let abc = |k| Digest::of(k, b"abc").to_hex();
        assert_eq!(abc(HashKind::Md5), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            abc(HashKind::Sha1),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            abc(HashKind::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_round_trips_in_either_case_and_never_echoes() {
        for k in HashKind::EXACT {
            let d = Digest::of(k, b"x");
            assert_eq!(Digest::from_hex(k, &d.to_hex_upper()).unwrap(), d);
            assert_eq!(Digest::from_hex(k, &d.to_hex()).unwrap(), d);
            assert_eq!(Digest::new(k, d.as_bytes()).unwrap(), d);
            assert_eq!(format!("{d:?}"), format!("Digest({k}, ..)"));
        }
        let bad = format!("{}z", "0".repeat(31));
        let err = Digest::from_hex(HashKind::Md5, &bad).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidHex { .. }));
        assert!(!err.to_string().contains(&bad));
        assert!(Digest::from_hex(HashKind::Sha1, &"0".repeat(32)).is_err());
        assert!(Digest::from_hex(HashKind::Pdq, &"0".repeat(64)).is_err());
        assert!(Digest::new(HashKind::Md5, &[0; 20]).is_err());
    }
}
