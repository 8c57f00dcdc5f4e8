//! Helpers shared by the integration tests.

#![allow(dead_code)]

#[cfg(feature = "cli")]
pub mod cmd;
pub mod crafted;
pub mod entries;
pub mod fuzz_checks;
pub mod tracking_alloc;
pub mod xorshift;

#[cfg(feature = "cli")]
pub use cmd::{cmd, Run};

use std::path::{Path, PathBuf};

/// A path under `tests/data`.
pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Every (entry id, distance) a query's result holds, sorted: one per id of each match.
pub fn found(result: &hashsieve::matching::QueryResult) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = result
        .matches()
        .iter()
        .flat_map(|m| m.entry_ids.iter().map(move |id| (id.clone(), m.distance)))
        .collect();
    out.sort();
    out
}

/// The names of the entries of `dir` (not recursive), sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let names: std::collections::BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.into_iter().collect()
}

/// The rows of the TSV `text`, split into cells, after checking that its header (the first
/// line that is not a `#` comment) starts with `columns`; `None` when it has no header.
pub fn tsv_rows(text: &str, columns: &[&str]) -> Option<Vec<Vec<String>>> {
    let mut lines = text.lines().skip_while(|l| l.starts_with('#'));
    let header: Vec<&str> = lines.next()?.split('\t').collect();
    assert_eq!(&header[..columns.len()], columns, "the header of\n{text}");
    Some(
        lines
            .map(|l| l.split('\t').map(String::from).collect())
            .collect(),
    )
}

/// The rows of the TSV `text` (a command's output) as maps from column name to cell. Lines
/// starting with `#` (a scan's settings) are skipped; the first other line is the header; no
/// header gives no rows.
pub fn tsv_maps(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header: Vec<&str> = header.split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect()
        })
        .collect()
}

/// A TSV table with a header line, as maps from column name to cell: a path under `tests/data`
/// (an absolute path is read as it is). Lines starting with `#` and blank lines are skipped; a
/// row shorter than the header reads as empty cells.
pub fn read_tsv(path: impl AsRef<Path>) -> Vec<std::collections::HashMap<String, String>> {
    let path = data("").join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("header line").split('\t').collect();
    lines
        .map(|l| {
            let cells = l.split('\t').chain(std::iter::repeat(""));
            header
                .iter()
                .zip(cells)
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect()
        })
        .collect()
}

/// A list `dir/<stem>.hsl` built by the real binary, with `build_args` (its name, algorithm,
/// version), from what `hashsieve hash <hash_args> <images>` prints, which is kept as
/// `dir/<stem>.tsv`. Returns the list's path and that TSV text.
#[cfg(feature = "cli")]
pub fn list_of_images(
    dir: &Path,
    stem: &str,
    hash_args: &[&str],
    images: &[PathBuf],
    build_args: &[&str],
) -> (PathBuf, String) {
    let hashes = cmd(["hash"]).args(hash_args).args(images).assert_ok();
    let tsv = dir.join(format!("{stem}.tsv"));
    std::fs::write(&tsv, &hashes.stdout).unwrap();
    let list = dir.join(format!("{stem}.hsl"));
    cmd(["build"])
        .args(build_args)
        .arg("-o")
        .arg(&list)
        .arg(&tsv)
        .assert_ok();
    (list, hashes.stdout())
}

/// Runs the `hashsieve` binary with `args` and collects its output.
#[cfg(feature = "cli")]
pub fn hashsieve(args: &[&str]) -> std::process::Output {
    cmd(args).output()
}

/// Runs the `hashsieve` binary with `args` in `dir` and collects its output.
#[cfg(feature = "cli")]
pub fn hashsieve_in(dir: &Path, args: &[&str]) -> std::process::Output {
    cmd(args).dir(dir).output()
}

/// Runs the `hashsieve` binary with `args` (in `dir`, when given), `stdin` written to its
/// standard input, and collects its output.
#[cfg(feature = "cli")]
pub fn hashsieve_stdin(dir: Option<&Path>, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut run = cmd(args).stdin(stdin);
    if let Some(dir) = dir {
        run = run.dir(dir);
    }
    run.output()
}

/// A command's standard error as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// SHA-256 (FIPS 180-4), small and slow, enough to compare with the reference table.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// A seeded generator of synthetic hashes (the library's `SplitMix64`).
pub struct Rng(hashsieve::index::bench::SplitMix64);
impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(hashsieve::index::bench::SplitMix64::new(seed))
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0.next()
    }
    /// A uniformly random 256-bit hash.
    pub fn hash256(&mut self) -> hashsieve::Hash256 {
        hashsieve::Hash256::from_limbs([self.next(), self.next(), self.next(), self.next()])
    }
    /// `h` with `flips` random bits flipped (a bit may flip twice).
    pub fn near(&mut self, h: hashsieve::Hash256, flips: u32) -> hashsieve::Hash256 {
        let mut out = h;
        for _ in 0..flips {
            let k = (self.next() % 256) as usize;
            out.set_bit(k, !out.bit(k));
        }
        out
    }
}

/// The 20 PDQ hashes of the reference test data (tests/data/list/needles-20.txt), as hex.
pub fn needles() -> Vec<String> {
    std::fs::read_to_string(data("list/needles-20.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A new scratch directory and, in it, a named pipe called `name`.
pub fn dir_with_fifo(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join(name);
    mkfifo(&fifo);
    (dir, fifo)
}

/// Makes a named pipe at `path` (`mkfifo` is part of every Unix userland).
pub fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo failed");
}

/// Runs `f` on another thread and waits at most `limit` for its answer: `None` when none came,
/// so that a regression that blocks (opening a FIFO, reading a device) fails its test instead
/// of hanging the suite.
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// Checks that `err` is the I/O error (`InvalidInput`) that refuses a path that is not a regular
/// file, and that its message says `says`.
#[track_caller]
pub fn assert_not_a_regular_file(err: &hashsieve::Error, says: &str, what: &str) {
    assert!(
        matches!(err.kind(), hashsieve::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidInput),
        "{what}: {err}"
    );
    assert!(err.to_string().contains(says), "{what}: {err}");
}
