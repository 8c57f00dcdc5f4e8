//! The served lists ("banks") and their atomic replacement.
//!
//! A [`Snapshot`] is immutable: every request loads the current one once (`arc-swap`, no lock)
//! and answers from it, so a reload in the middle of a request cannot mix two versions of a
//! list. A reload opens and checks the new file in full on a blocking thread, then swaps in a
//! new snapshot that shares every other bank; on any failure the old bank keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use arc_swap::ArcSwap;
use hashsieve::matching::{ListOptions, Matcher, MatcherOptions};
use hashsieve::HashKind;

use crate::lists::LoadedList;

/// The most lists one server holds: bank ordinals live in the top bits of a content id
/// (see [`content_id`]).
pub(crate) const MAX_BANKS: usize = 1 << 12;

/// Bits of a content id that hold the hash's position in its list.
const POSITION_BITS: u32 = 40;

/// HMA's integer `bank_content_id` for hash `position` of the bank at `ordinal` (its place on
/// the command line): `ordinal * 2^40 + position`. It stays below 2^53, so JavaScript clients
/// read it exactly. It names a hash of one version of a list: a rebuilt list may number its
/// hashes differently (`/m/index/status` gives each list's version).
pub(crate) fn content_id(ordinal: usize, position: usize) -> u64 {
    ((ordinal as u64) << POSITION_BITS) | position as u64
}

/// A file's identity for the watch: a replaced inode or a new mtime or size means a new file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileStamp {
    dev: u64,
    ino: u64,
    mtime_ns: i128,
    len: u64,
}

impl FileStamp {
    /// The stamp of the file `path` names now; `None` if it cannot be read.
    pub(crate) fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(FileStamp {
            dev,
            ino,
            mtime_ns,
            len: m.len(),
        })
    }
}

/// One served list.
pub(crate) struct Bank {
    /// What the list is: its name (the HMA bank name), file, kind (the HMA signal type),
    /// version, sizes, the inclusive Hamming threshold matches are reported within, and the
    /// CRC32C of the whole file (which bytes are being served).
    pub(crate) list: LoadedList,
    /// Its place on the command line (the top bits of its content ids).
    pub(crate) ordinal: usize,
    /// The list's creation time (seconds since the epoch, from its header).
    pub(crate) created: u64,
    /// When this server loaded it.
    pub(crate) loaded_at: SystemTime,
    /// The file's identity when it was opened.
    pub(crate) stamp: Option<FileStamp>,
    /// A matcher holding this list alone.
    pub(crate) matcher: Matcher,
}

/// How lists are loaded: the same for the first load and every reload.
#[derive(Clone, Debug)]
pub(crate) struct LoadOptions {
    /// A threshold for every list, instead of each kind's default.
    pub(crate) threshold: Option<u32>,
    /// The matcher's options (quality gates).
    pub(crate) matcher: MatcherOptions,
}

impl Bank {
    /// Opens `path`, checks every byte (checksums, structure, the index section) and builds its
    /// matcher. Blocking: call it off the async threads.
    pub(crate) fn load(path: &Path, ordinal: usize, options: &LoadOptions) -> anyhow::Result<Bank> {
        // The stamp is taken before opening: if the file is replaced in between, the next poll
        // sees a newer stamp and loads it again (harmless), never the other way round.
        let stamp = FileStamp::of(path);
        let list = crate::common::open_list(path)
            .with_context(|| format!("{} is corrupt or cannot be read", path.display()))?;
        hashsieve::matching::verify_index_section(&list)
            .with_context(|| format!("{}: the search index section is corrupt", path.display()))?;
        let kind = list.kind();
        let threshold = options.threshold.unwrap_or(kind.default_threshold());
        if threshold > kind.width() {
            anyhow::bail!(
                "threshold {threshold} exceeds the {}-bit width of {kind} hashes in {}",
                kind.width(),
                path.display()
            );
        }
        let created = list.created();
        let matcher = Matcher::with_options(options.matcher.clone());
        let info = LoadedList::add(
            &matcher,
            path,
            list,
            ListOptions::default().threshold(threshold),
            true,
        )
        .with_context(|| format!("cannot index {}", path.display()))?;
        Ok(Bank {
            list: info,
            ordinal,
            created,
            loaded_at: SystemTime::now(),
            stamp,
            matcher,
        })
    }
}

/// The banks being served, in command-line order.
pub(crate) struct Snapshot {
    pub(crate) banks: Vec<Arc<Bank>>,
}

impl Snapshot {
    /// The hash kinds served (HMA's enabled signal types), in a fixed order.
    pub(crate) fn kinds(&self) -> Vec<HashKind> {
        let mut kinds: Vec<HashKind> = self.banks.iter().map(|b| b.list.info.kind).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// The shared state: the current snapshot and how to load lists again.
pub(crate) struct Lists {
    current: ArcSwap<Snapshot>,
    paths: Vec<PathBuf>,
    options: LoadOptions,
    /// One reload at a time (a signal, the watch and the admin endpoint may race). It holds,
    /// per bank, the stamp of the last file refused, so that the watch does not check the same
    /// bad file again at every poll.
    reloading: tokio::sync::Mutex<Vec<Option<FileStamp>>>,
}

/// What a reload did, for the log and the admin endpoint.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct ReloadReport {
    /// Banks replaced by a new file.
    pub(crate) reloaded: Vec<String>,
    /// Banks whose new file was refused (the old one keeps serving), with the reason.
    pub(crate) refused: Vec<Refusal>,
}

/// A refused reload.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Refusal {
    pub(crate) bank: String,
    pub(crate) error: String,
}

impl Lists {
    /// Loads every list (all must load, with distinct names).
    pub(crate) fn open(paths: Vec<PathBuf>, options: LoadOptions) -> anyhow::Result<Lists> {
        if paths.len() > MAX_BANKS {
            anyhow::bail!("at most {MAX_BANKS} lists can be served at once");
        }
        let mut banks: Vec<Arc<Bank>> = Vec::with_capacity(paths.len());
        for (ordinal, path) in paths.iter().enumerate() {
            let bank = Bank::load(path, ordinal, &options)?;
            if let Some(other) = banks
                .iter()
                .find(|b| b.list.info.name == bank.list.info.name)
            {
                anyhow::bail!(
                    "{} and {} are both named {:?}; bank names must be distinct",
                    other.list.path.display(),
                    path.display(),
                    bank.list.info.name
                );
            }
            banks.push(Arc::new(bank));
        }
        Ok(Lists {
            current: ArcSwap::from_pointee(Snapshot { banks }),
            reloading: tokio::sync::Mutex::new(vec![None; paths.len()]),
            paths,
            options,
        })
    }

    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Reloads the banks whose file changed (`force`: every bank). Each new file is checked in
    /// full before it is swapped in; a file that fails keeps the old bank serving. A file that
    /// is missing (deleted, or between an unlink and a rename) is skipped: the mapped old file
    /// keeps serving.
    pub(crate) async fn reload(self: &Arc<Self>, force: bool) -> ReloadReport {
        let mut refused_stamps = self.reloading.lock().await;
        let mut report = ReloadReport::default();
        for ordinal in 0..self.paths.len() {
            let old = Arc::clone(&self.snapshot().banks[ordinal]);
            let path = self.paths[ordinal].clone();
            let stamp = FileStamp::of(&path);
            if stamp.is_none() && !force {
                continue;
            }
            if !force && (stamp == old.stamp || stamp == refused_stamps[ordinal]) {
                continue;
            }
            let options = self.options.clone();
            let loaded = tokio::task::spawn_blocking(move || Bank::load(&path, ordinal, &options))
                .await
                .map_err(|e| anyhow::anyhow!("the loading task failed: {e}"))
                .and_then(|r| r);
            refused_stamps[ordinal] = if loaded.is_ok() { None } else { stamp };
            match loaded {
                Ok(bank) if bank.list.info.name != old.list.info.name => {
                    refused_stamps[ordinal] = stamp;
                    report.refused.push(Refusal {
                        bank: old.list.info.name.clone(),
                        error: format!(
                            "the new file names its list {:?}, not {:?}; a bank keeps its name",
                            bank.list.info.name, old.list.info.name
                        ),
                    });
                }
                Ok(bank) => {
                    let bank = Arc::new(bank);
                    self.current.rcu(|snap| {
                        let mut banks = snap.banks.clone();
                        banks[ordinal] = Arc::clone(&bank);
                        Snapshot { banks }
                    });
                    report.reloaded.push(old.list.info.name.clone());
                }
                Err(e) => report.refused.push(Refusal {
                    bank: old.list.info.name.clone(),
                    error: crate::common::error_message(&e),
                }),
            }
        }
        report
    }
}

/// Seconds since the epoch.
pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
