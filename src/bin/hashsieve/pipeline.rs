//! The file pipeline of `hash`, `scan` and `match`: reading, decoding and hashing overlap, in
//! bounded memory, and results come out in input order.
//!
//! Three stages run at once:
//! - a read-ahead thread asks the kernel to read the next files into the page cache
//!   (`posix_fadvise(WILLNEED)`), so that storage works while the cores hash;
//! - `--threads` workers (one per core by default) claim files in order, and each reads,
//!   decodes and hashes its file;
//! - the calling thread takes the results, puts them back in input order and writes them.
//!
//! No stage waits for a whole batch: a slow file (a large image) holds up only the output
//! behind it, not the workers. Memory stays bounded: a worker claims a file only while it is
//! fewer than [`WINDOW`] files ahead of the output, so at most that many results wait to be
//! written, and the decode of each worker is bounded by the decoding limits. The read-ahead runs
//! at most [`WINDOW`] files ahead too (and holds no data itself: the page cache does).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

/// How many files the workers and the read-ahead may run ahead of the output.
pub(crate) const WINDOW: usize = 256;

/// The output's position, which the workers and the read-ahead wait on.
struct Progress {
    written: Mutex<usize>,
    moved: Condvar,
    stop: AtomicBool,
}

impl Progress {
    /// Waits until item `i` is within the window of the output; false when the run stops.
    fn wait_for(&self, i: usize) -> bool {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        while i >= *written + WINDOW && !self.stop.load(Ordering::Relaxed) {
            written = self.moved.wait(written).unwrap_or_else(|e| e.into_inner());
        }
        !self.stop.load(Ordering::Relaxed)
    }

    fn advance(&self, written: usize) {
        *self.written.lock().unwrap_or_else(|e| e.into_inner()) = written;
        self.moved.notify_all();
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _guard = self.written.lock().unwrap_or_else(|e| e.into_inner());
        self.moved.notify_all();
    }
}

/// Stops the run when a worker unwinds (a bug), so that the others do not wait for its item
/// forever: the panic then reaches the caller of [`ordered`] instead of a hang.
struct StopOnPanic<'a>(&'a Progress);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Runs `work` on every item on the rayon pool's number of threads, with `read_ahead` called on
/// the items before their turn, and hands each result to `sink` in input order. The first error
/// of `sink` stops the run (workers finish the file they hold) and is returned.
pub(crate) fn ordered<T, R>(
    items: &[T],
    read_ahead: impl Fn(&T) + Sync,
    work: impl Fn(&T) -> R + Sync,
    mut sink: impl FnMut(&T, R) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    T: Sync,
    R: Send,
{
    let threads = rayon::current_num_threads().clamp(1, items.len().max(1));
    let progress = Progress {
        written: Mutex::new(0),
        moved: Condvar::new(),
        stop: AtomicBool::new(false),
    };
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, R)>(WINDOW);
    std::thread::scope(|s| {
        let (progress, next, work, read_ahead) = (&progress, &next, &work, &read_ahead);
        s.spawn(move || {
            for (i, item) in items.iter().enumerate() {
                if !progress.wait_for(i) {
                    break;
                }
                read_ahead(item);
            }
        });
        for _ in 0..threads {
            let tx = tx.clone();
            s.spawn(move || loop {
                let _stop = StopOnPanic(progress);
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() || !progress.wait_for(i) {
                    break;
                }
                if tx.send((i, work(&items[i]))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let result = (|| {
            let mut pending = BTreeMap::new();
            let mut written = 0;
            for (i, r) in &rx {
                pending.insert(i, r);
                while let Some(r) = pending.remove(&written) {
                    sink(&items[written], r)?;
                    written += 1;
                }
                progress.advance(written);
            }
            Ok(())
        })();
        progress.stop();
        drop(rx);
        result
    })
}

/// Asks the kernel to start reading `path` into the page cache, if it is a regular file. Never
/// blocks on special files (opened non-blocking and checked before any advice); errors are
/// ignored here, the worker that reads the file reports them.
pub(crate) fn read_ahead(path: &Path) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        else {
            return;
        };
        if file.metadata().is_ok_and(|m| m.is_file()) {
            // SAFETY: a plain advice call on a descriptor this function owns.
            unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_WILLNEED) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_with_uneven_work() {
        let items: Vec<u64> = (0..2000).collect();
        let mut seen = Vec::new();
        ordered(
            &items,
            |_| {},
            |&i| {
                // Uneven work, so workers finish out of order.
                if i % 97 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                i * 3
            },
            |&i, r| {
                assert_eq!(r, i * 3);
                seen.push(i);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, items);
    }

    #[test]
    fn a_sink_error_stops_the_run_and_is_returned() {
        let items: Vec<u64> = (0..10_000).collect();
        let worked = AtomicUsize::new(0);
        let mut written = 0;
        let err = ordered(
            &items,
            |_| {},
            |&i| {
                worked.fetch_add(1, Ordering::Relaxed);
                i
            },
            |&i, _| {
                if i == 10 {
                    anyhow::bail!("disk full");
                }
                written += 1;
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(written, 10);
        // The window bounds how far the workers ran past the failing item.
        assert!(worked.load(Ordering::Relaxed) <= 11 + WINDOW + rayon::current_num_threads());
    }

    #[test]
    fn a_panicking_worker_reaches_the_caller_instead_of_hanging() {
        let items: Vec<u64> = (0..5_000).collect();
        let run = std::panic::catch_unwind(|| {
            ordered(
                &items,
                |_| {},
                |&i| {
                    assert!(i != 5, "a bug in a worker");
                    i
                },
                |_, _| Ok(()),
            )
        });
        assert!(run.is_err());
    }

    #[test]
    fn no_items_and_special_files_are_fine() {
        ordered(&[] as &[u8], |_| {}, |_| (), |_, _| Ok(())).unwrap();
        read_ahead(Path::new("/nonexistent/file"));
        // A FIFO with no writer: a blocking open would hang this test.
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let dir = tempfile::tempdir().unwrap();
            let fifo = dir.path().join("fifo");
            let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            read_ahead(&fifo);
        }
    }
}
