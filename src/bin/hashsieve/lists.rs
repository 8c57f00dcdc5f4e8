//! What `match` and `scan` share: the lists to load, their thresholds (per algorithm and per
//! list), the category filter, and the check that an input is an image.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hashsieve::hash::{Digest, ExactHasher};
use hashsieve::index::IndexKind;
use hashsieve::list::ListRole;
use hashsieve::matching::{
    AllowPolicy, CategoryFilter, ListInfo, ListOptions, Matcher, MatcherOptions,
};
use hashsieve::HashKind;

/// `--list`, `--threshold`, `--list-threshold` and the category filters.
#[derive(clap::Args)]
pub(crate) struct ListArgs {
    /// A hash-list file to match against (repeat for several; each list needs its own name).
    #[arg(long = "list", short = 'l', required = true)]
    pub(crate) lists: Vec<PathBuf>,
    /// Inclusive Hamming thresholds of block lists, comma separated: ALGO=T for the lists of one
    /// algorithm (`pdq=31,phash=10`), or a bare T when every perceptual list holds the same
    /// algorithm. Each must fit the algorithm's bit width. Default: per algorithm (PDQ 31).
    /// Exact-hash lists (md5, sha1, sha256) match by equality and take none; allow-lists keep
    /// their own tight default (a third of the algorithm's: PDQ 10) unless --list-threshold
    /// names them.
    #[arg(long, short = 't', value_delimiter = ',', value_name = "[ALGO=]T")]
    threshold: Vec<Threshold>,
    /// The threshold of one list, by its name (repeat for several); wins over --threshold.
    #[arg(long, value_name = "NAME=T")]
    list_threshold: Vec<ListThreshold>,
    /// Report only list entries with one of these categories (SCHEME:CODE, repeat for several),
    /// e.g. `category:POSITIVE_CLASS` or `tag:csam`. Naming a hidden category shows the
    /// entries it hides.
    #[arg(long = "category", value_name = "SCHEME:CODE", value_parser = category)]
    categories: Vec<String>,
    /// Never report list entries with one of these categories (SCHEME:CODE, repeatable).
    #[arg(long = "exclude-category", value_name = "SCHEME:CODE", value_parser = category)]
    exclude_categories: Vec<String>,
    /// Also report entries hidden by default: those with the python-threatexchange opinions
    /// `category:NEGATIVE_CLASS` or `category:DISPUTED`, which `tx match` hides too.
    #[arg(long)]
    show_hidden: bool,
    /// A file that matches an allow-list (built with `build --role allow`) is known good; its
    /// block-list matches are then dropped (`suppress`) or kept and marked (`flag`).
    #[arg(long, value_name = "POLICY", default_value = "suppress")]
    pub(crate) allow_policy: AllowPolicy,
    /// Flag list entries that match more than N distinct files (an entry that is a blank image
    /// or a logo): listed on standard error and counted in the summary, by list and entry id.
    #[arg(long, value_name = "N")]
    pub(crate) over_matching: Option<u64>,
}

/// Lists on standard error the list entries that matched more than `n` distinct files (by list
/// and entry id, never by hash) and returns how many there are.
pub(crate) fn report_over_matching(over: &hashsieve::matching::OverMatching, n: u64) -> u64 {
    let flagged = over.over(n);
    for m in &flagged {
        eprintln!(
            "hashsieve: over-matching: list {:?} entry {} matched {} files (more than {n}); \
             review it",
            m.list,
            m.entry_ids.join(","),
            m.files
        );
    }
    flagged.len() as u64
}

/// One file read once ([`read_once`]): its size, its exact digests and its decoded image, or
/// why it has none.
pub(crate) struct ReadOnce {
    pub(crate) size: u64,
    pub(crate) digests: Vec<Digest>,
    pub(crate) image: Result<hashsieve::image::DecodedImage, String>,
}

/// Reads the file at `path` once: the bytes stream through the hashers of the exact `kinds`
/// and, up to the decoder's allocation limit, into memory, from which the image is decoded
/// when a perceptual kind is asked for. A file that is not an image gets its digests and the
/// reason in `image`.
pub(crate) fn read_once(
    path: &Path,
    hasher: &hashsieve::algo::Hasher,
    kinds: &[HashKind],
) -> anyhow::Result<ReadOnce> {
    let exact: Vec<HashKind> = kinds.iter().copied().filter(|k| k.is_exact()).collect();
    let perceptual = kinds.iter().any(|k| k.is_perceptual());
    let mut file = hashsieve::fs::open_regular(path).context("cannot read")?;
    let cap = hasher.decode_options.limits.max_alloc;
    let mut digest = ExactHasher::new(&exact);
    let mut kept = Some(Vec::new());
    let mut chunk = vec![0u8; 1 << 18];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(anyhow::Error::new(e).context("cannot read")),
        };
        digest.update(&chunk[..n]);
        if let Some(buf) = &mut kept {
            // Only the first bytes are needed to tell a non-image when no perceptual kind is.
            if digest.len() > cap || (!perceptual && buf.len() >= 32) {
                kept = None;
            } else {
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    let size = digest.len();
    let digests = digest.finish();
    let image = if !perceptual {
        Err("no perceptual hash asked for".to_string())
    } else {
        match kept {
            None => Err(format!(
                "the file is larger than the allocation limit of {cap} bytes"
            )),
            Some(buf) => match image_kind(&buf[..buf.len().min(32)]) {
                Some(why) => Err(why),
                None => hashsieve::image::decode(&buf, &hasher.decode_options)
                    .map_err(|e| e.kind().to_string()),
            },
        }
    };
    Ok(ReadOnce {
        size,
        digests,
        image,
    })
}

/// One `--threshold` item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Threshold {
    kind: Option<HashKind>,
    value: u32,
}

impl std::str::FromStr for Threshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Threshold, String> {
        let (kind, t) = crate::args::per_algorithm(s)?;
        let value = crate::args::threshold(t).map_err(|e| format!("{e} (use T or ALGO=T)"))?;
        Ok(Threshold { kind, value })
    }
}

/// One `--list-threshold` item.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListThreshold {
    name: String,
    value: u32,
}

impl std::str::FromStr for ListThreshold {
    type Err = String;

    fn from_str(s: &str) -> Result<ListThreshold, String> {
        let Some((name, t)) = s.rsplit_once('=') else {
            return Err("use NAME=T, e.g. ncmec=31".into());
        };
        Ok(ListThreshold {
            name: name.to_string(),
            value: crate::args::threshold(t)?,
        })
    }
}

/// A `--category` value: `scheme:code`, both parts non-empty.
fn category(s: &str) -> Result<String, String> {
    match s.trim().split_once(':') {
        Some((scheme, code)) if !scheme.is_empty() && !code.is_empty() => Ok(s.trim().to_string()),
        _ => Err("a category is SCHEME:CODE, e.g. category:POSITIVE_CLASS or tag:csam".into()),
    }
}

/// What a command knows about one loaded list: for reports and scan headers.
pub(crate) struct LoadedList {
    /// As its matcher describes it: name, version, kind, role, hashes and threshold.
    pub(crate) info: ListInfo,
    pub(crate) path: PathBuf,
    pub(crate) entries: usize,
    /// CRC-32C of the whole file, as 8 hex digits; empty unless [`LoadedList::add`] was asked.
    pub(crate) crc32c: String,
}

impl LoadedList {
    /// Adds `list`, read from `path`, to `matcher` and describes it; `digest` asks for
    /// [`LoadedList::crc32c`] (a second pass over the file, which only `scan`'s records and
    /// `serve` need).
    pub(crate) fn add(
        matcher: &Matcher,
        path: &Path,
        list: hashsieve::HashList,
        options: ListOptions,
        digest: bool,
    ) -> hashsieve::Result<LoadedList> {
        let entries = list.entry_count();
        let crc32c = if digest {
            format!("{:08x}", crc32c::crc32c(list.as_bytes()))
        } else {
            String::new()
        };
        let name = list.name().to_owned();
        matcher.add_list(list, options)?;
        let info = matcher
            .lists()
            .into_iter()
            .find(|l| l.name == name)
            .expect("a matcher lists the list just added to it");
        Ok(LoadedList {
            info,
            path: path.to_owned(),
            entries,
            crc32c,
        })
    }
}

impl ListArgs {
    /// The category filter asked for.
    pub(crate) fn category_filter(&self) -> CategoryFilter {
        CategoryFilter::default()
            .show_hidden(self.show_hidden)
            .only(self.categories.iter().cloned())
            .exclude(self.exclude_categories.iter().cloned())
    }

    /// Opens every list, settles each one's threshold and loads them into a matcher with
    /// `options` (and the category filter).
    ///
    /// # Errors
    ///
    /// A list that cannot be opened, two lists of one name, and thresholds that do not fit:
    /// a bare threshold with lists of several algorithms, an algorithm or list name that no
    /// loaded list has, a threshold above its algorithm's bit width.
    pub(crate) fn load(
        &self,
        options: MatcherOptions,
        index: IndexKind,
        digests: bool,
    ) -> anyhow::Result<(Matcher, Vec<LoadedList>)> {
        let mut opened = Vec::new();
        for path in &self.lists {
            let list = crate::common::open_list(path)
                .with_context(|| format!("cannot load list {}", path.display()))?;
            opened.push((path, list));
        }
        let mut by_name: BTreeMap<&str, &Path> = BTreeMap::new();
        for (path, list) in &opened {
            if let Some(first) = by_name.insert(list.name(), path) {
                bail!(
                    "the lists {} and {} have the same name {:?}; every list needs its own name \
                     (rebuild one with `build --name`)",
                    first.display(),
                    path.display(),
                    list.name()
                );
            }
        }
        // Thresholds are for perceptual lists: exact ones match by equality.
        let mut kinds: Vec<HashKind> = Vec::new();
        for (_, list) in &opened {
            if list.kind().is_perceptual() && !kinds.contains(&list.kind()) {
                kinds.push(list.kind());
            }
        }
        let mut per_kind: BTreeMap<&'static str, u32> = BTreeMap::new();
        for t in &self.threshold {
            match t.kind {
                Some(kind) => {
                    if !kinds.contains(&kind) {
                        bail!(
                            "--threshold {}={}: no {} list is loaded (the lists hold {})",
                            kind.name(),
                            t.value,
                            kind.name(),
                            names(&kinds)
                        );
                    }
                    per_kind.insert(kind.name(), t.value);
                }
                None if kinds.len() > 1 => bail!(
                    "--threshold {} would apply to every list, but the lists hold {} hashes, \
                     whose bit widths and distances differ; give one per algorithm, e.g. \
                     --threshold {}",
                    t.value,
                    names(&kinds),
                    kinds
                        .iter()
                        .map(|k| format!("{}={}", k.name(), k.default_threshold()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                None => {
                    per_kind.insert(kinds[0].name(), t.value);
                }
            }
        }
        for lt in &self.list_threshold {
            if !by_name.contains_key(lt.name.as_str()) {
                bail!(
                    "--list-threshold: no loaded list is named {:?} (the lists are {})",
                    lt.name,
                    by_name
                        .keys()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let matcher = Matcher::with_options(options.categories(self.category_filter()));
        let mut loaded = Vec::new();
        for (path, list) in opened {
            let kind = list.kind();
            let role = list.role();
            let by_kind = || match role {
                ListRole::Allow => None,
                _ => per_kind.get(kind.name()).copied(),
            };
            let threshold = self
                .list_threshold
                .iter()
                .rev()
                .find(|lt| lt.name == list.name())
                .map(|lt| lt.value)
                .or_else(by_kind)
                .unwrap_or(match role {
                    ListRole::Allow => hashsieve::matching::allow_threshold(kind),
                    _ => kind.default_threshold(),
                });
            crate::args::check_threshold(threshold, kind)
                .with_context(|| format!("list {}", path.display()))?;
            let options = ListOptions::default().index(index).threshold(threshold);
            loaded.push(
                LoadedList::add(&matcher, path, list, options, digests)
                    .with_context(|| format!("cannot load list {}", path.display()))?,
            );
        }
        Ok((matcher, loaded))
    }
}

fn names(kinds: &[HashKind]) -> String {
    kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Why a file is not an image, when its first bytes are not those of a format we decode.
/// Paths given to `match` and `scan` are images, identified by their content, never by their
/// name: a text file that holds a listed hash is not a match.
pub(crate) fn not_an_image(path: &Path) -> Option<String> {
    let mut head = [0u8; 32];
    let read = hashsieve::fs::open_regular(path).and_then(|f| {
        let mut n = 0;
        let mut f = f.take(head.len() as u64);
        loop {
            match f.read(&mut head[n..]) {
                Ok(0) => return Ok(n),
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    });
    match read {
        // Unreadable: the decoder reports why.
        Err(_) => None,
        Ok(0) => Some("not an image: the file is empty".into()),
        Ok(n) => image_kind(&head[..n]),
    }
}

/// `None` when `head` starts like an image format we decode, else why not.
pub(crate) fn image_kind(head: &[u8]) -> Option<String> {
    if head.is_empty() {
        return Some("not an image: the input is empty".into());
    }
    match ::image::guess_format(head) {
        Ok(
            ::image::ImageFormat::Jpeg
            | ::image::ImageFormat::Png
            | ::image::ImageFormat::Gif
            | ::image::ImageFormat::WebP
            | ::image::ImageFormat::Bmp
            | ::image::ImageFormat::Tiff,
        ) => None,
        _ => {
            Some("not an image (by its content it is not JPEG, PNG, GIF, WebP, BMP or TIFF)".into())
        }
    }
}
