//! The robustness evaluation: how far each edit moves each hash, and how close unrelated images
//! come, measured on a set of benign originals.
//!
//! For every original and every [`Transform`], the variant is made in memory and hashed with every
//! [`Algorithm`]. Each variant is a query against a list holding the originals' hashes:
//!
//! * its **distance** is the Hamming distance to its own original's hash;
//! * its **closest unrelated** distance is the smallest distance to any other original's hash;
//! * every (variant or original, unrelated original) pair is an **unrelated pair**, and the
//!   share of those within a threshold is the **false-match rate** (FMR).
//!
//! With [`Algorithm::PdqDihedral`] the query is the variant's 8 dihedral hashes, and each
//! distance is the smallest over the 8 (as [`Matcher`](crate::matching::Matcher) does).
//!
//! At a threshold `t`, a query **finds its original** if its distance is `<= t` and makes a
//! **false match** if its closest unrelated distance is `<= t` (a query can do both). Recall is
//! the share of queries that find their original; precision is finds / (finds + false matches).
//! [`Stats::threshold_at_precision`] is the largest `t` whose precision is at least the
//! options' minimum (99.9% by default, as Thorn's `perception` reports it).
//!
//! With [`RobustnessOptions::quality_gates`], a query under its algorithm's quality gate finds
//! nothing, as in a [`Matcher`](crate::matching::Matcher) with those gates.
//!
//! Everything is deterministic given the seed: each variant's randomness (noise, the overlay's
//! text pattern) comes from the seed, the original's name and the transform's name. Originals
//! are loaded when needed ([`Originals`]), so memory holds only those being worked on.
//!
//! ```
//! use hashsieve::eval::robustness::{self, Algorithm, Original, RobustnessOptions};
//! use hashsieve::HashKind;
//!
//! // Two synthetic, unrelated textures stand in for photos.
//! let texture = |k: u32| {
//!     image::RgbImage::from_fn(150, 100, move |x, y| {
//!         let v = ((x * x / (7 + k) + y * 13 + (x ^ (y * k)) * 5) % 256) as u8;
//!         image::Rgb([v, v / 2, 255 - v])
//!     })
//! };
//! let (a, b) = (texture(1), texture(4));
//! let originals = vec![Original::new("a", a), Original::new("b", b)];
//! let options = RobustnessOptions::default()
//!     .transforms(vec!["rotate_90ccw".parse()?, "jpeg_q70".parse()?])
//!     .algorithms(vec![Algorithm::Plain(HashKind::Pdq), "pdq+dihedral-exact".parse()?]);
//! let report = robustness::run(&originals, &options, &|| {})?;
//! // Exact dihedral matching finds both rotated originals.
//! assert_eq!(report.stats(1, Some(0)).recall_at_default, 1.0);
//! # Ok::<(), hashsieve::Error>(())
//! ```

use std::borrow::Cow;
use std::path::PathBuf;
use std::str::FromStr;

use image::RgbImage;
use rayon::prelude::*;

use super::transform::Transform;
use crate::algo::pdq::{pdq_dihedral_with, DihedralMode};
use crate::algo::{HashOutput, Hasher};
use crate::error::{Error, ErrorKind, Result};
use crate::hash::{HashKind, HashValue};
use crate::image::{decode_path, DecodeOptions, PixelBuffer, PixelLayout};
use crate::matching::MatcherOptions;

/// A hash algorithm as the evaluation matches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// One hash per image, matched as it is.
    Plain(HashKind),
    /// PDQ, with the query's 8 dihedral hashes matched against the list's plain hashes.
    PdqDihedral(DihedralMode),
}

impl Algorithm {
    /// The default set: PDQ, PDQ with dihedral matching in both modes, and the 64-bit
    /// pHash, dHash, aHash and wHash.
    pub const DEFAULT: [Algorithm; 7] = [
        Algorithm::Plain(HashKind::Pdq),
        Algorithm::PdqDihedral(DihedralMode::Reference),
        Algorithm::PdqDihedral(DihedralMode::Exact),
        Algorithm::Plain(HashKind::PHash),
        Algorithm::Plain(HashKind::DHash),
        Algorithm::Plain(HashKind::AHash),
        Algorithm::Plain(HashKind::WHash),
    ];

    /// The hash kind stored in the list.
    pub fn kind(&self) -> HashKind {
        match self {
            Algorithm::Plain(k) => *k,
            Algorithm::PdqDihedral(_) => HashKind::Pdq,
        }
    }

    /// `pdq`, `pdq+dihedral` (reference mode), `pdq+dihedral-exact`, or the kind's name.
    pub fn name(&self) -> String {
        match self {
            Algorithm::Plain(k) => k.name().to_string(),
            Algorithm::PdqDihedral(DihedralMode::Reference) => "pdq+dihedral".to_string(),
            Algorithm::PdqDihedral(mode) => format!("pdq+dihedral-{mode}"),
        }
    }

    /// The kind's default threshold (PDQ 31, 64-bit imagehash 10, 256-bit imagehash 40).
    pub fn default_threshold(&self) -> u32 {
        self.kind().default_threshold()
    }

    /// The query hashes of one image (1, or 8 for dihedral matching) and their quality.
    fn query(&self, image: &mut ImageHashes<'_, '_>) -> (Vec<HashValue>, u8) {
        match self {
            Algorithm::Plain(k) => {
                let out = image.plain(*k);
                (vec![out.value], out.quality.unwrap_or(0))
            }
            Algorithm::PdqDihedral(mode) => {
                let opts = image.hasher.pdq_options.clone().dihedral(*mode);
                let d = pdq_dihedral_with(&image.px, &opts);
                let hashes = d.hashes.iter().map(|&h| HashValue::Bits256(h)).collect();
                (hashes, d.quality)
            }
        }
    }
}

/// One image's hashes, each plain hash computed once however many algorithms use it (the list
/// side, the PDQ quality gate and the plain queries share them).
struct ImageHashes<'h, 'p> {
    hasher: &'h Hasher,
    px: PixelBuffer<'p>,
    plain: Vec<HashOutput>,
}

impl<'h, 'p> ImageHashes<'h, 'p> {
    fn new(hasher: &'h Hasher, px: PixelBuffer<'p>) -> Self {
        ImageHashes {
            hasher,
            px,
            plain: Vec::new(),
        }
    }

    /// The plain hash of `kind`, as a list would hold it.
    fn plain(&mut self, kind: HashKind) -> HashOutput {
        if let Some(out) = self.plain.iter().find(|o| o.kind == kind) {
            return *out;
        }
        let out = self.hasher.hash_pixels(&self.px, kind);
        self.plain.push(out);
        out
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses [`Algorithm::name`]: a hash kind's name, `pdq+dihedral` or `pdq+dihedral-exact`.
    ///
    /// ```
    /// use hashsieve::eval::robustness::Algorithm;
    /// for a in Algorithm::DEFAULT {
    ///     assert_eq!(a.name().parse::<Algorithm>()?, a);
    /// }
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownName`] for anything else.
    fn from_str(s: &str) -> Result<Algorithm> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.strip_prefix("pdq+dihedral") {
            Some("") | Some("-reference") => Ok(Algorithm::PdqDihedral(DihedralMode::Reference)),
            Some(mode) => match mode.strip_prefix('-').map(DihedralMode::from_str) {
                Some(Ok(m)) => Ok(Algorithm::PdqDihedral(m)),
                _ => Err(unknown_algorithm(s)),
            },
            // Exact hashes (md5, ...) are of file bytes: no edit of the pixels keeps them.
            None => match lower.parse::<HashKind>() {
                Ok(k) if k.is_perceptual() => Ok(Algorithm::Plain(k)),
                _ => Err(unknown_algorithm(s)),
            },
        }
    }
}

fn unknown_algorithm(s: &str) -> Error {
    ErrorKind::UnknownName {
        what: "evaluation algorithm",
        name: s.to_string(),
        expected: "a perceptual hash kind (pdq, phash, ...), pdq+dihedral, pdq+dihedral-exact",
    }
    .into()
}

/// What to evaluate.
///
/// ```
/// use hashsieve::eval::robustness::{Algorithm, RobustnessOptions};
/// use hashsieve::eval::transform::standard_set;
/// let opts = RobustnessOptions::default().seed(7).transforms(standard_set()[..3].to_vec());
/// assert_eq!(opts.algorithm_list(), &Algorithm::DEFAULT);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RobustnessOptions {
    transforms: Vec<Transform>,
    algorithms: Vec<Algorithm>,
    seed: u64,
    min_precision: f64,
    min_original_quality: u8,
    gates: Option<MatcherOptions>,
    hasher: Hasher,
}

impl Default for RobustnessOptions {
    fn default() -> RobustnessOptions {
        RobustnessOptions {
            transforms: super::transform::standard_set(),
            algorithms: Algorithm::DEFAULT.to_vec(),
            seed: 0,
            min_precision: 0.999,
            min_original_quality: 0,
            gates: None,
            hasher: Hasher::new(),
        }
    }
}

impl RobustnessOptions {
    setters! {
        -> Self;
        /// The edits (default [`standard_set`](super::transform::standard_set)).
        transforms(transforms: Vec<Transform>);

        /// The algorithms (default [`Algorithm::DEFAULT`]).
        algorithms(algorithms: Vec<Algorithm>);

        /// The seed of every random edit (default 0).
        seed(seed: u64);

        /// The precision that [`Stats::threshold_at_precision`] keeps (default 0.999).
        min_precision(precision: f64);

        /// Leaves out originals whose PDQ quality is below `quality` (default 0: none), as a
        /// matcher would gate them; they are listed in [`Report::excluded`].
        min_original_quality(quality: u8);

        /// Gates queries as a [`Matcher`](crate::matching::Matcher) with these options would: a
        /// query under its algorithm's quality gate finds nothing (a miss, and no false match), so
        /// recall and precision are those of a deployment with these gates. Distances and the
        /// false-match rate of unrelated pairs stay those of the hashes. Default: no gates.
        quality_gates(gates: MatcherOptions) => gates = Some(gates);

        /// The hasher (its PDQ and imagehash options apply; the dihedral mode comes from each
        /// [`Algorithm`]).
        hasher(hasher: Hasher);
    }

    /// The algorithms in use.
    pub fn algorithm_list(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The edits in use.
    pub fn transform_list(&self) -> &[Transform] {
        &self.transforms
    }
}

/// One original image.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Original {
    /// Its name in reports (a file name, say).
    pub name: String,
    /// The pixels.
    pub image: RgbImage,
}

impl Original {
    /// An original from its name and pixels.
    pub fn new(name: impl Into<String>, image: RgbImage) -> Original {
        Original {
            name: name.into(),
            image,
        }
    }

    /// An original from pixels in any layout (alpha is dropped, grey is spread to RGB, as the
    /// reference tools' `convert("RGB")` does).
    ///
    /// ```
    /// use hashsieve::eval::robustness::Original;
    /// use hashsieve::{PixelBuffer, PixelLayout};
    /// let grey = [7u8, 9, 11, 13];
    /// let o = Original::from_pixels("g", &PixelBuffer::packed(&grey, 2, 2, PixelLayout::Luma8)?);
    /// assert_eq!(o.image.get_pixel(1, 0).0, [9, 9, 9]);
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn from_pixels(name: impl Into<String>, pixels: &PixelBuffer<'_>) -> Original {
        let (w, h) = (pixels.width(), pixels.height());
        let mut data = Vec::with_capacity(w as usize * h as usize * 3);
        let bpp = pixels.layout().bytes_per_pixel();
        for y in 0..h {
            let row = &pixels.row(y)[..w as usize * bpp];
            match pixels.layout().rgb_offsets() {
                None => data.extend(row.iter().flat_map(|&g| [g, g, g])),
                Some([r, g, b]) => {
                    data.extend(row.chunks_exact(bpp).flat_map(|p| [p[r], p[g], p[b]]))
                }
            }
        }
        let image = RgbImage::from_raw(w, h, data).expect("the buffer holds w * h RGB pixels");
        Original::new(name, image)
    }
}

/// Where the originals come from. The evaluation loads each original when it needs it and drops
/// it after, so a large benchmark set never sits decoded in memory at once: slices of
/// [`Original`] are held in memory; [`ImageFiles`] decodes files on demand.
pub trait Originals: Sync {
    /// How many there are.
    fn count(&self) -> usize;

    /// The name of original `index` (unique across the set).
    fn name(&self, index: usize) -> String;

    /// The pixels of original `index`.
    ///
    /// # Errors
    ///
    /// Whatever loading fails with; the original is then left out and the reason reported in
    /// [`Report::excluded`].
    fn image(&self, index: usize) -> Result<Cow<'_, RgbImage>>;
}

impl Originals for [Original] {
    fn count(&self) -> usize {
        self.len()
    }

    fn name(&self, index: usize) -> String {
        self[index].name.clone()
    }

    fn image(&self, index: usize) -> Result<Cow<'_, RgbImage>> {
        Ok(Cow::Borrowed(&self[index].image))
    }
}

impl Originals for Vec<Original> {
    fn count(&self) -> usize {
        self.as_slice().count()
    }

    fn name(&self, index: usize) -> String {
        self.as_slice().name(index)
    }

    fn image(&self, index: usize) -> Result<Cow<'_, RgbImage>> {
        self.as_slice().image(index)
    }
}

/// Image files, decoded when the evaluation needs them (with decoding limits), named by their
/// file names.
///
/// ```no_run
/// use hashsieve::eval::robustness::{self, ImageFiles, RobustnessOptions};
/// let files = ImageFiles::new(vec!["a.png".into(), "b.jpg".into()], Default::default());
/// let report = robustness::run(&files, &RobustnessOptions::default(), &|| {})?;
/// println!("{}", report.to_markdown());
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ImageFiles {
    paths: Vec<PathBuf>,
    decode: DecodeOptions,
}

impl ImageFiles {
    /// The files at `paths`, decoded with `decode`.
    pub fn new(paths: Vec<PathBuf>, decode: DecodeOptions) -> ImageFiles {
        ImageFiles { paths, decode }
    }
}

impl Originals for ImageFiles {
    fn count(&self) -> usize {
        self.paths.len()
    }

    fn name(&self, index: usize) -> String {
        let path = &self.paths[index];
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    }

    fn image(&self, index: usize) -> Result<Cow<'_, RgbImage>> {
        let decoded = decode_path(&self.paths[index], &self.decode)?;
        Ok(Cow::Owned(
            Original::from_pixels("", &decoded.pixels()).image,
        ))
    }
}

/// One query's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sample {
    /// Index into [`Report::images`].
    pub image: u32,
    /// Index into [`Report::transforms`].
    pub transform: u32,
    /// Index into [`Report::algorithms`].
    pub algorithm: u32,
    /// Distance to its own original.
    pub distance: u32,
    /// Smallest distance to an unrelated original.
    pub closest_unrelated: u32,
    /// The query's quality for the algorithm (0..=100; see
    /// [`HashOutput::quality`](crate::HashOutput)).
    pub quality: u8,
}

/// An edit that could not be made (for instance, a crop of a tiny image).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Failure {
    /// Index into [`Report::images`].
    pub image: u32,
    /// Index into [`Report::transforms`].
    pub transform: u32,
    /// Why.
    pub message: String,
}

/// An original left out of the evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Excluded {
    /// The original's name.
    pub name: String,
    /// Why: it could not be read, or its quality is under the minimum.
    pub reason: String,
}

/// Everything measured; [`Report::stats`] and the renderers summarise it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// The originals' names.
    pub images: Vec<String>,
    /// The edits.
    pub transforms: Vec<Transform>,
    /// The algorithms.
    pub algorithms: Vec<Algorithm>,
    /// The seed.
    pub seed: u64,
    /// The precision the thresholds keep.
    pub min_precision: f64,
    /// One per (image, transform, algorithm) that was made, in that order.
    pub samples: Vec<Sample>,
    /// Per algorithm: `unrelated[a][d]` counts unrelated pairs at distance `d`.
    pub unrelated: Vec<Vec<u64>>,
    /// Edits that failed.
    pub failures: Vec<Failure>,
    /// Originals left out: unreadable, or under the minimum quality.
    pub excluded: Vec<Excluded>,
    /// Per algorithm: the quality gate applied to queries (0: none).
    pub gates: Vec<u8>,
}

/// Summary statistics of a set of queries for one algorithm.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Queries.
    pub queries: usize,
    /// Queries under the quality gate (counted as misses without false matches).
    pub gated: usize,
    /// The algorithm's default threshold.
    pub default_threshold: u32,
    /// Recall at the default threshold.
    pub recall_at_default: f64,
    /// Precision at the default threshold (1 where nothing matched).
    pub precision_at_default: f64,
    /// The largest threshold whose precision is at least the minimum and that finds at least
    /// one original; `None` if there is none.
    pub threshold_at_precision: Option<u32>,
    /// Recall at [`Stats::threshold_at_precision`] (0 if none).
    pub recall_at_precision: f64,
    /// Median distance to the original.
    pub median_distance: u32,
    /// 90th percentile of the distance to the original.
    pub p90_distance: u32,
    /// Largest distance to the original.
    pub max_distance: u32,
    /// Smallest closest-unrelated distance.
    pub min_unrelated: u32,
    /// Median closest-unrelated distance.
    pub median_unrelated: u32,
}

/// Runs the evaluation. `progress` is called once per finished (original, transform) job, from
/// worker threads, `originals.count() * transforms.len()` times in all (the edits of an original
/// left out count as done). Runs on the current rayon pool.
///
/// Each original is loaded twice (once to hash it, once to edit it) and dropped in between, so
/// memory holds only the originals being worked on.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] when there are no transforms or no algorithms, the minimum
/// precision is outside 0..=1, two originals share a name, or fewer than 2 originals remain to
/// compare. A transform that fails on one image is recorded in [`Report::failures`], an
/// original that cannot be loaded in [`Report::excluded`]; neither is an error.
pub fn run<O: Originals + ?Sized>(
    originals: &O,
    options: &RobustnessOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<Report> {
    let invalid = |what: &str| -> Error { ErrorKind::InvalidArgument(what.to_string()).into() };
    if options.transforms.is_empty() || options.algorithms.is_empty() {
        return Err(invalid("the evaluation needs transforms and algorithms"));
    }
    if !(0.0..=1.0).contains(&options.min_precision) {
        return Err(invalid("the minimum precision must be between 0 and 1"));
    }
    let all_names: Vec<String> = (0..originals.count()).map(|i| originals.name(i)).collect();
    let mut sorted: Vec<&str> = all_names.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid("two originals share a name"));
    }
    let algos = &options.algorithms;
    let hasher = &options.hasher;

    // The list side: each original's plain hash per algorithm, and its own queries (for the
    // unrelated pairs between originals); or why it is left out.
    type Hashed = std::result::Result<(Vec<HashValue>, Vec<Vec<HashValue>>), String>;
    let hashed: Vec<Hashed> = (0..originals.count())
        .into_par_iter()
        .map(|i| {
            let image = originals.image(i).map_err(|e| e.to_string())?;
            let mut hashes = ImageHashes::new(hasher, rgb_pixels(&image));
            let quality = hashes.plain(HashKind::Pdq).quality.unwrap_or(0);
            if quality < options.min_original_quality {
                return Err(format!(
                    "PDQ quality {quality} is below {}",
                    options.min_original_quality
                ));
            }
            let listed = algos.iter().map(|a| hashes.plain(a.kind()).value).collect();
            let queries = algos.iter().map(|a| a.query(&mut hashes).0).collect();
            Ok((listed, queries))
        })
        .collect();
    let mut kept = Vec::new(); // index into `originals` of each kept original
    let mut per_original = Vec::new();
    let mut excluded = Vec::new();
    for (i, h) in hashed.into_iter().enumerate() {
        match h {
            Ok(h) => {
                kept.push(i);
                per_original.push(h);
            }
            Err(reason) => excluded.push(Excluded {
                name: all_names[i].clone(),
                reason,
            }),
        }
    }
    // Their edits will not run: count them done.
    for _ in 0..excluded.len() * options.transforms.len() {
        progress();
    }
    if kept.len() < 2 {
        return Err(invalid(
            "the evaluation needs at least 2 originals to compare (after leaving some out)",
        ));
    }
    let listed: Vec<Vec<HashValue>> = (0..algos.len())
        .map(|a| per_original.iter().map(|(l, _)| l[a]).collect())
        .collect();

    let distances = |a: usize, query: &[HashValue], own: usize, hist: &mut [u64]| {
        let mut closest = u32::MAX;
        let mut mine = u32::MAX;
        for (j, h) in listed[a].iter().enumerate() {
            let d = query
                .iter()
                .filter_map(|q| q.distance(h))
                .min()
                .unwrap_or(u32::MAX);
            if j == own {
                mine = d;
            } else {
                closest = closest.min(d);
                hist[d as usize] += 1;
            }
        }
        (mine, closest)
    };
    let new_hist = || -> Vec<Vec<u64>> {
        algos
            .iter()
            .map(|a| vec![0; a.kind().width() as usize + 1])
            .collect()
    };

    let mut unrelated = new_hist();
    for (i, (_, queries)) in per_original.iter().enumerate() {
        for (a, q) in queries.iter().enumerate() {
            distances(a, q, i, &mut unrelated[a]);
        }
    }

    // Per job: its samples and its unrelated-pair histograms, or why the edit failed. Jobs are
    // grouped by original, which is loaded once for all its edits and then dropped.
    type JobResult = std::result::Result<(Vec<Sample>, Vec<Vec<u64>>), Failure>;
    let results: Vec<Vec<JobResult>> = kept
        .par_iter()
        .enumerate()
        .map(|(i, &source)| {
            let name = &all_names[source];
            let image = match originals.image(source) {
                Ok(image) => image,
                Err(e) => {
                    // It loaded a moment ago; record every edit of it as failed.
                    return (0..options.transforms.len())
                        .map(|t| {
                            progress();
                            Err(Failure {
                                image: i as u32,
                                transform: t as u32,
                                message: e.to_string(),
                            })
                        })
                        .collect();
                }
            };
            options
                .transforms
                .par_iter()
                .enumerate()
                .map(|(t, transform)| {
                    let seed = job_seed(options.seed, name, &transform.name());
                    let out = transform.apply(&image, seed);
                    progress();
                    let variant = out.map_err(|e| Failure {
                        image: i as u32,
                        transform: t as u32,
                        message: e.to_string(),
                    })?;
                    let mut hashes = ImageHashes::new(hasher, rgb_pixels(&variant));
                    let mut hist = new_hist();
                    let samples = algos
                        .iter()
                        .enumerate()
                        .map(|(a, algo)| {
                            let (q, quality) = algo.query(&mut hashes);
                            let (distance, closest_unrelated) = distances(a, &q, i, &mut hist[a]);
                            Sample {
                                image: i as u32,
                                transform: t as u32,
                                algorithm: a as u32,
                                distance,
                                closest_unrelated,
                                quality,
                            }
                        })
                        .collect();
                    Ok((samples, hist))
                })
                .collect()
        })
        .collect();

    let mut samples = Vec::with_capacity(kept.len() * options.transforms.len() * algos.len());
    let mut failures = Vec::new();
    for r in results.into_iter().flatten() {
        match r {
            Ok((s, hist)) => {
                samples.extend(s);
                for (total, h) in unrelated.iter_mut().zip(hist) {
                    for (t, c) in total.iter_mut().zip(h) {
                        *t += c;
                    }
                }
            }
            Err(f) => failures.push(f),
        }
    }
    Ok(Report {
        images: kept.iter().map(|&i| all_names[i].clone()).collect(),
        transforms: options.transforms.clone(),
        algorithms: algos.clone(),
        seed: options.seed,
        min_precision: options.min_precision,
        samples,
        unrelated,
        failures,
        excluded,
        gates: algos
            .iter()
            .map(|a| {
                options
                    .gates
                    .as_ref()
                    .map_or(0, |g| g.min_quality_of(a.kind()))
            })
            .collect(),
    })
}

/// The seed of one variant: the run's seed mixed with the image's and the transform's names
/// (FNV-1a, then SplitMix64), so a result does not depend on job order or on the other images.
fn job_seed(seed: u64, image: &str, transform: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in image.bytes().chain([0]).chain(transform.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn rgb_pixels(image: &RgbImage) -> PixelBuffer<'_> {
    PixelBuffer::packed(
        image.as_raw(),
        image.width(),
        image.height(),
        PixelLayout::Rgb8,
    )
    .expect("an RgbImage is a valid packed RGB buffer")
}

/// The value at quantile `q` (0..=1) of sorted values (nearest rank); 0 when empty.
fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl Report {
    /// The samples of algorithm `algorithm`, of one transform or (with `None`) of all.
    pub fn samples_of(
        &self,
        algorithm: usize,
        transform: Option<usize>,
    ) -> impl Iterator<Item = &Sample> + '_ {
        self.samples.iter().filter(move |s| {
            s.algorithm as usize == algorithm && transform.is_none_or(|t| s.transform as usize == t)
        })
    }

    /// The statistics of algorithm `algorithm` (an index into [`Report::algorithms`]) over one
    /// transform or, with `None`, over all of them.
    ///
    /// # Panics
    ///
    /// Panics if `algorithm` is out of range.
    pub fn stats(&self, algorithm: usize, transform: Option<usize>) -> Stats {
        let algo = self.algorithms[algorithm];
        let bits = algo.kind().width() as usize;
        // Distances of every query, and as matching sees them: a gated query is at no distance.
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        let (mut found, mut false_found) = (Vec::new(), Vec::new());
        let gate = self.gates.get(algorithm).copied().unwrap_or(0);
        for s in self.samples_of(algorithm, transform) {
            pos.push(s.distance);
            neg.push(s.closest_unrelated);
            if s.quality >= gate {
                found.push(s.distance);
                false_found.push(s.closest_unrelated);
            }
        }
        for v in [&mut pos, &mut neg, &mut found, &mut false_found] {
            v.sort_unstable();
        }
        let n = pos.len();
        // Queries within t.
        let upto = |v: &[u32], t: usize| v.partition_point(|&d| d as usize <= t);
        let precision = |t: usize| {
            let (tp, fp) = (upto(&found, t), upto(&false_found, t));
            if tp + fp == 0 {
                1.0
            } else {
                tp as f64 / (tp + fp) as f64
            }
        };
        let recall = |t: usize| {
            if n == 0 {
                0.0
            } else {
                upto(&found, t) as f64 / n as f64
            }
        };
        let default_t = algo.default_threshold() as usize;
        let threshold_at_precision = (0..=bits)
            .rev()
            .find(|&t| upto(&found, t) > 0 && precision(t) >= self.min_precision)
            .map(|t| t as u32);
        Stats {
            queries: n,
            gated: n - found.len(),
            default_threshold: default_t as u32,
            recall_at_default: recall(default_t),
            precision_at_default: precision(default_t),
            threshold_at_precision,
            recall_at_precision: threshold_at_precision.map_or(0.0, |t| recall(t as usize)),
            median_distance: quantile(&pos, 0.5),
            p90_distance: quantile(&pos, 0.9),
            max_distance: pos.last().copied().unwrap_or(0),
            min_unrelated: neg.first().copied().unwrap_or(0),
            median_unrelated: quantile(&neg, 0.5),
        }
    }

    /// The number of unrelated pairs measured for `algorithm`.
    pub fn unrelated_pairs(&self, algorithm: usize) -> u64 {
        self.unrelated[algorithm].iter().sum()
    }

    /// The smallest distance of any unrelated pair of `algorithm` (`None` if there is none).
    pub fn nearest_unrelated_pair(&self, algorithm: usize) -> Option<u32> {
        self.unrelated[algorithm]
            .iter()
            .position(|&c| c > 0)
            .map(|d| d as u32)
    }

    /// The share of unrelated pairs of `algorithm` within `threshold`.
    pub fn false_match_rate(&self, algorithm: usize, threshold: u32) -> f64 {
        let h = &self.unrelated[algorithm];
        let total: u64 = h.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let within: u64 = h.iter().take(threshold as usize + 1).sum();
        within as f64 / total as f64
    }
}
