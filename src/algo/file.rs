//! One read of a file for every hash asked for: exact digests of its bytes and perceptual hashes
//! of its pixels ([`Hasher::hash_file`]).

use std::io::Read;
use std::path::Path;

use super::{HashOutput, Hasher};
use crate::error::{Error, ErrorKind, Limit, Result};
use crate::hash::{ExactHasher, HashKind, HashValue};
use crate::image::decode;

/// What [`Hasher::hash_file`] computed for one file.
#[derive(Debug)]
#[non_exhaustive]
pub struct FileHashes {
    /// The file's size in bytes (the bytes the exact hashes cover).
    pub size: u64,
    /// The hashes computed, in the order asked for: every exact kind, and the perceptual kinds
    /// when the file decoded as an image.
    pub hashes: Vec<HashOutput>,
    /// Why the perceptual kinds are missing: the file is not an image this build decodes, is
    /// corrupt, or exceeds a decoding limit. `None` when they were computed (or none was asked).
    pub decode_error: Option<Error>,
}

impl FileHashes {
    /// The hash of `kind`, if it was computed.
    pub fn get(&self, kind: HashKind) -> Option<&HashOutput> {
        self.hashes.iter().find(|h| h.kind == kind)
    }
}

/// Bytes read per call.
const CHUNK: usize = 1 << 18;

impl Hasher {
    /// Reads the file at `path` once and computes each of `kinds`: the exact ones (MD5, SHA-1,
    /// SHA-256) over its bytes as they stream in, the perceptual ones over the image decoded
    /// from the same bytes, kept in memory for that (at most [`Limits::max_alloc`] of them: a
    /// larger file still gets its exact hashes, and a decoding-limit error). A file that does
    /// not decode as an image still gets its exact hashes; the decoding error is returned
    /// beside them, not as the result.
    ///
    /// [`Limits::max_alloc`]: crate::Limits::max_alloc
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] (with the path) when the file cannot be opened or read, or is not a
    /// regular file.
    ///
    /// ```no_run
    /// use hashsieve::{algo::Hasher, HashKind};
    /// let out = Hasher::new().hash_file("evidence/clip.mp4".as_ref(), &[HashKind::Md5, HashKind::Pdq])?;
    /// println!("{} bytes, md5 {}", out.size, out.hashes[0].value);
    /// assert!(out.decode_error.is_some()); // a video: no PDQ, but its MD5
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn hash_file(&self, path: &Path, kinds: &[HashKind]) -> Result<FileHashes> {
        let with_path = |e: Error| e.with_path(path);
        let file = crate::fs::open_regular(path).map_err(|e| with_path(e.into()))?;
        self.hash_reader(file, kinds).map_err(with_path)
    }

    /// As [`hash_file`](Hasher::hash_file), for any reader (standard input, an archive member).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when reading fails.
    pub fn hash_reader(&self, mut reader: impl Read, kinds: &[HashKind]) -> Result<FileHashes> {
        let exact: Vec<HashKind> = kinds.iter().copied().filter(|k| k.is_exact()).collect();
        let perceptual = kinds.iter().any(|k| k.is_perceptual());
        let mut hasher = ExactHasher::new(&exact);
        let cap = self.decode_options.limits.max_alloc;
        let mut kept: Option<Vec<u8>> = perceptual.then(Vec::new);
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::new(ErrorKind::Io(e))),
            };
            hasher.update(&chunk[..n]);
            if let Some(buf) = &mut kept {
                if hasher.len() > cap {
                    kept = None;
                } else {
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
        let size = hasher.len();
        let mut digests = hasher.finish().into_iter();
        let (pixels_out, decode_error) = if !perceptual {
            (Vec::new(), None)
        } else {
            match kept {
                None => (
                    Vec::new(),
                    Some(Error::limit(
                        Limit::Input,
                        format!("the file is larger than the allocation limit of {cap} bytes"),
                    )),
                ),
                Some(buf) => match decode(&buf, &self.holding(kinds)) {
                    Ok(image) => {
                        let px = image.pixels();
                        let out = kinds
                            .iter()
                            .filter(|k| k.is_perceptual())
                            .map(|&k| self.hash_pixels(&px, k))
                            .collect();
                        (out, None)
                    }
                    Err(e) => (Vec::new(), Some(e)),
                },
            }
        };
        let mut pixels_out = pixels_out.into_iter();
        let mut hashes = Vec::with_capacity(kinds.len());
        for &k in kinds {
            let next = if k.is_exact() {
                digests.next().map(|d| HashOutput {
                    kind: k,
                    value: HashValue::Exact(d),
                    quality: None,
                })
            } else {
                pixels_out.next()
            };
            hashes.extend(next);
        }
        Ok(FileHashes {
            size,
            hashes,
            decode_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;

    #[test]
    fn a_non_image_gets_its_exact_hashes_and_a_decode_error() {
        let data = b"not an image at all".repeat(30_000); // crosses chunk boundaries
        let kinds = [HashKind::Sha1, HashKind::Pdq, HashKind::Md5];
        let out = Hasher::new().hash_reader(&data[..], &kinds).unwrap();
        assert_eq!(out.size, data.len() as u64);
        assert_eq!(out.hashes.len(), 2);
        assert_eq!(
            out.get(HashKind::Md5).unwrap().value,
            HashValue::Exact(Digest::of(HashKind::Md5, &data))
        );
        assert_eq!(
            out.get(HashKind::Sha1).unwrap().value,
            HashValue::Exact(Digest::of(HashKind::Sha1, &data))
        );
        assert!(out.decode_error.is_some());
    }
}
