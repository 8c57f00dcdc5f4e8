//! What `match` and `scan` share: the lists to load, their thresholds (per algorithm and per
//! list), the category filter, and the check that an input is an image.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hashsieve::index::IndexKind;
use hashsieve::matching::{CategoryFilter, ListOptions, Matcher, MatcherOptions};
use hashsieve::HashKind;

/// `--list`, `--threshold`, `--list-threshold` and the category filters.
#[derive(clap::Args)]
pub(crate) struct ListArgs {
    /// A hash-list file to match against (repeat for several; each list needs its own name).
    #[arg(long = "list", short = 'l', required = true)]
    pub(crate) lists: Vec<PathBuf>,
    /// Inclusive Hamming thresholds, comma separated: ALGO=T for the lists of one algorithm
    /// (`pdq=31,phash=10`), or a bare T when every list holds the same algorithm. Each must fit
    /// the algorithm's bit width. Default: per algorithm (PDQ 31).
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
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) kind: HashKind,
    pub(crate) hashes: usize,
    pub(crate) entries: usize,
    /// CRC-32C of the whole file, as 8 hex digits; empty unless [`ListArgs::load`] was asked
    /// for digests (a second pass over the file, which only `scan`'s records need).
    pub(crate) crc32c: String,
    pub(crate) threshold: u32,
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
        let mut kinds: Vec<HashKind> = Vec::new();
        for (_, list) in &opened {
            if !kinds.contains(&list.kind()) {
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
            let threshold = self
                .list_threshold
                .iter()
                .rev()
                .find(|lt| lt.name == list.name())
                .map(|lt| lt.value)
                .or_else(|| per_kind.get(kind.name()).copied())
                .unwrap_or(kind.default_threshold());
            crate::args::check_threshold(threshold, kind)
                .with_context(|| format!("list {}", path.display()))?;
            let info = LoadedList {
                path: path.clone(),
                name: list.name().to_string(),
                version: list.version().to_string(),
                kind,
                hashes: list.len(),
                entries: list.entry_count(),
                crc32c: if digests {
                    format!("{:08x}", crc32c::crc32c(list.as_bytes()))
                } else {
                    String::new()
                },
                threshold,
            };
            matcher
                .add_list(
                    list,
                    ListOptions::default().index(index).threshold(threshold),
                )
                .with_context(|| format!("cannot load list {}", path.display()))?;
            loaded.push(info);
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
