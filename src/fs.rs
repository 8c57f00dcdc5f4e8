//! Atomic file replacement: the one way this crate (and its command-line tool) writes files.
//!
//! [`AtomicFile`] writes into a temporary file in the target's directory, `fsync`s it, renames it
//! over the target and `fsync`s the directory. Readers see the old file or the whole new one,
//! never a part, even if the writer is killed (`kill -9`, power loss); a process that has the old
//! file mapped keeps its (unlinked) bytes and never sees `SIGBUS`.
//!
//! - **Names.** The temporary file is `.NAME.hashsieve-tmp-PID-RAND` (NAME is the target's file
//!   name, shortened if long), so that a leftover is recognisable. [`is_temp_file_name`] tells.
//! - **Locks.** The writer holds an exclusive lock (`flock`) on its temporary file until it is
//!   renamed or removed. The lock dies with the process, so a leftover whose lock can be taken
//!   belongs to a writer that was killed.
//! - **Clean-up.** A failed or dropped write removes its temporary file. Every
//!   [`AtomicFile::create`] first removes the leftovers of killed writers from the target's
//!   directory: files with the temporary name whose lock it can take (and the unlocked
//!   `.hashsieve-XXXXXX.tmp` files of earlier versions once a day has passed since their last
//!   write). Files it does not recognise, and temporary files still locked by a live writer,
//!   are never touched. On
//!   `SIGINT`/`SIGTERM` a program calls [`remove_temp_files`] (from a signal-handling thread,
//!   not from a signal handler) before it exits; the `hashsieve` tool does.
//! - **Modes.** A new file is created with mode `0666` masked by the process's umask, like any
//!   file a shell redirect creates (`0644` under umask `022`). Replacing a regular file keeps that
//!   file's permission bits.
//! - **Special files.** A target that exists and is not a regular file (a pipe, `/dev/stdout`,
//!   a terminal) is opened and written directly: renaming over it would replace it.
//! - **Links.** A target that is a symbolic link to a regular file is replaced by the new file
//!   (the rename replaces the link; the file it pointed to is left as it was).
//!
//! ```
//! use std::io::Write;
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("report.txt");
//! let mut out = hashsieve::fs::AtomicFile::create(&path)?;
//! out.write_all(b"all or nothing\n")?;
//! out.commit()?;
//! assert_eq!(std::fs::read(&path)?, b"all or nothing\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher as _};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The marker in every temporary file's name.
const MARKER: &str = ".hashsieve-tmp-";

/// At most this many bytes of the target's name go into the temporary name (file names are
/// limited to 255 bytes on most file systems).
const NAME_BYTES: usize = 128;

/// Temporary files being written now, for [`remove_temp_files`].
static LIVE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn live() -> std::sync::MutexGuard<'static, Option<HashSet<PathBuf>>> {
    // A panic while the set is held leaves it consistent (insert and remove are atomic).
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files of every [`AtomicFile`] of this process that is still being
/// written, and returns how many it removed. Later writes to those files fail, and their
/// targets stay as they were.
///
/// Meant for a program about to exit on `SIGINT` or `SIGTERM`: call it from a thread that
/// waits for signals (e.g. `signal_hook::iterator::Signals`), not from inside a signal handler
/// (it takes a lock and allocates).
pub fn remove_temp_files() -> usize {
    let paths: Vec<PathBuf> = live()
        .as_mut()
        .map(|set| set.drain().collect())
        .unwrap_or_default();
    paths
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// Opens `path` for reading if it names a regular file (or a symbolic link to one).
///
/// The type is checked before the file is opened, so a FIFO (whose `open` would wait for a
/// writer), a socket or a device (`/dev/zero` never ends) is refused at once; the open itself
/// never blocks, and the opened file is checked again in case the path was swapped in between.
///
/// ```
/// let err = hashsieve::fs::open_regular("/dev/null".as_ref()).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// assert!(err.to_string().contains("a character device"));
/// ```
///
/// # Errors
///
/// The error of `stat` or `open`, or [`io::ErrorKind::InvalidInput`] naming what the path is
/// when it is not a regular file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    fn refuse(ty: std::fs::FileType) -> io::Result<()> {
        if ty.is_file() {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}, not a regular file", file_kind(&ty)),
        ))
    }
    refuse(std::fs::metadata(path)?.file_type())?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    refuse(file.metadata()?.file_type())?;
    Ok(file)
}

/// What a file is, for messages: "a regular file", "a directory", "a FIFO (named pipe)", "a
/// socket", "a block device", "a character device", "a symbolic link" or "a special file".
pub fn file_kind(ty: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ty.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ty.is_socket() {
            return "a socket";
        }
        if ty.is_block_device() {
            return "a block device";
        }
        if ty.is_char_device() {
            return "a character device";
        }
    }
    if ty.is_file() {
        "a regular file"
    } else if ty.is_dir() {
        "a directory"
    } else if ty.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Whether `name` (a file name, not a path) is that of an [`AtomicFile`]'s temporary file.
///
/// ```
/// use hashsieve::fs::is_temp_file_name;
/// assert!(is_temp_file_name(".list.hsl.hashsieve-tmp-4242-0a1b2c3d4e5f".as_ref()));
/// assert!(!is_temp_file_name("list.hsl".as_ref()));
/// ```
pub fn is_temp_file_name(name: &std::ffi::OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.first() == Some(&b'.') && name.windows(MARKER.len()).any(|w| w == MARKER.as_bytes())
}

/// A file written in full or not at all: see the [module docs](self).
///
/// Write through [`Write`] (buffered internally), then [`commit`](AtomicFile::commit). Dropping
/// it without committing removes the temporary file and leaves the target as it was.
#[derive(Debug)]
pub struct AtomicFile {
    out: Option<BufWriter<File>>,
    target: PathBuf,
    /// The temporary file; `None` when the target is written directly.
    tmp: Option<PathBuf>,
    dir: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path`. Removes the leftovers of killed writers in its directory first.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io), with `path`, when the directory is not writable
    /// or the target cannot be opened.
    pub fn create(path: impl AsRef<Path>) -> Result<AtomicFile> {
        let target = path.as_ref();
        Self::create_inner(target).map_err(|e| Error::from(e).with_path(target))
    }

    fn create_inner(target: &Path) -> io::Result<AtomicFile> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let existing = std::fs::metadata(target).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            let file = OpenOptions::new().write(true).open(target)?;
            return Ok(AtomicFile {
                out: Some(BufWriter::with_capacity(1 << 16, file)),
                target: target.to_path_buf(),
                tmp: None,
                dir,
            });
        }
        remove_stale(&dir);
        let file_name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        let (tmp, file) = create_locked(&dir, file_name)?;
        let guard = AtomicFile {
            out: Some(BufWriter::with_capacity(1 << 16, file)),
            target: target.to_path_buf(),
            tmp: Some(tmp),
            dir,
        };
        if let Some(meta) = existing {
            // Replacing a file: keep its permissions (best effort).
            if let Some(out) = guard.out.as_ref() {
                let _ = out.get_ref().set_permissions(meta.permissions());
            }
        }
        Ok(guard)
    }

    /// The path this writes to.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Flushes, `fsync`s and renames the temporary file over the target, then `fsync`s the
    /// directory. A target written directly is flushed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io), with the target's path; the temporary file is
    /// removed and the target stays as it was.
    pub fn commit(mut self) -> Result<()> {
        self.commit_inner()
            .map_err(|e| Error::from(e).with_path(&self.target))
    }

    fn commit_inner(&mut self) -> io::Result<()> {
        let out = self.out.as_mut().ok_or_else(gone)?;
        out.flush()?;
        let Some(tmp) = self.tmp.as_ref() else {
            self.out = None;
            return Ok(());
        };
        out.get_ref().sync_all()?;
        // Renamed while still locked: a cleaner never sees it unlocked under its temporary name.
        std::fs::rename(tmp, &self.target)?;
        forget(tmp);
        self.tmp = None;
        self.out = None;
        // Make the rename durable. Not every platform can open a directory; ignore failures.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

fn gone() -> io::Error {
    io::Error::other("the temporary file was removed (interrupted)")
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().ok_or_else(gone)?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.as_mut().ok_or_else(gone)?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().ok_or_else(gone)?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(&tmp);
            forget(&tmp);
        }
    }
}

/// Writes `bytes` to `path` through an [`AtomicFile`].
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("notes.txt");
/// hashsieve::fs::write_atomic(&path, b"v1")?;
/// hashsieve::fs::write_atomic(&path, b"v2")?; // replaces v1 whole, by rename
/// assert_eq!(std::fs::read(&path)?, b"v2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`AtomicFile::create`] and [`AtomicFile::commit`].
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path.as_ref())?;
    f.write_all(bytes)
        .map_err(|e| Error::from(e).with_path(path.as_ref()))?;
    f.commit()
}

fn forget(tmp: &Path) {
    if let Some(set) = live().as_mut() {
        set.remove(tmp);
    }
}

/// A random-enough suffix: std's per-process random hash keys, a counter and the time.
fn random_suffix() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    // 48 bits: never a run of 16 hex digits, which messages must not contain.
    h.finish() & 0xffff_ffff_ffff
}

/// Creates, registers and locks a new temporary file in `dir`.
fn create_locked(dir: &Path, file_name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let name = file_name.to_string_lossy();
    let mut cut = name.len().min(NAME_BYTES);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    for _ in 0..100 {
        let mut tmp_name = OsString::from(".");
        tmp_name.push(&name[..cut]);
        tmp_name.push(format!(
            "{MARKER}{}-{:012x}",
            std::process::id(),
            random_suffix()
        ));
        let tmp = dir.join(tmp_name);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o666);
        let file = match opts.open(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        live().get_or_insert_with(HashSet::new).insert(tmp.clone());
        // A cleaner may take the lock between creation and here and remove the file: then the
        // lock fails or the path no longer names our file, and we start again with a new name.
        // Where the file system has no locks, no cleaner can take one either: go on unlocked.
        let ours = match file.try_lock() {
            Ok(()) | Err(std::fs::TryLockError::Error(_)) => same_file(&tmp, &file),
            Err(std::fs::TryLockError::WouldBlock) => false,
        };
        if ours {
            return Ok((tmp, file));
        }
        forget(&tmp);
    }
    Err(io::Error::other("cannot create a temporary file"))
}

#[cfg(unix)]
fn same_file(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::symlink_metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(path: &Path, _file: &File) -> bool {
    path.exists()
}

/// Writers of earlier versions named their temporary files `.hashsieve-XXXXXX.tmp` (six
/// letters or digits) and took no lock.
fn is_legacy_temp_file_name(name: &std::ffi::OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.len() == ".hashsieve-".len() + 6 + ".tmp".len()
        && name.starts_with(b".hashsieve-")
        && name.ends_with(b".tmp")
        && name[11..17].iter().all(u8::is_ascii_alphanumeric)
}

/// A legacy temporary file this much older than its last write belongs to a dead writer.
const LEGACY_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

fn older_than(meta: &std::fs::Metadata, age: std::time::Duration) -> bool {
    meta.modified()
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|e| e > age)
}

/// Removes the temporary files of killed writers from `dir`: names with the marker whose lock
/// can be taken. Best effort: errors leave a file where it is.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let legacy = is_legacy_temp_file_name(&name);
        if !is_temp_file_name(&name) && !legacy {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if legacy && !entry.metadata().is_ok_and(|m| older_than(&m, LEGACY_AGE)) {
            // Earlier builds took no lock: only age tells a dead writer from a live one.
            continue;
        }
        let path = entry.path();
        if live().as_ref().is_some_and(|set| set.contains(&path)) {
            continue;
        }
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && same_file(&path, &file) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn dropped_writer_leaves_nothing_and_keeps_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"new but unfinished").unwrap();
            assert_eq!(names(dir.path()).len(), 2, "a temporary file while writing");
        }
        assert_eq!(names(dir.path()), ["out.txt"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_file_name(
            ".a.hsl.hashsieve-tmp-12-abcdef012345".as_ref()
        ));
        assert!(!is_temp_file_name("a.hsl.hashsieve-tmp-12-abc".as_ref()));
        assert!(!is_temp_file_name(".hashsieve-abc123.tmp".as_ref()));
    }
}
