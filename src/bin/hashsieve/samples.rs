//! The sample photos compiled into the binary, so that `demo` and the default `eval robustness`
//! work in an installed binary, away from the source tree.
//!
//! The files are byte-identical copies of `tests/data/corpus/` (sources and licences in
//! `tests/data/corpus/SOURCES.tsv`): the ten photos and the edited variants of `photo_003.png`
//! under `transformed/`. They add about 2.8 MB to the binary. `include_bytes!` takes paths
//! relative to this file, so no path of the build machine ends up in the binary.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hashsieve::image::{DecodeOptions, DecodedImage};

/// One bundled file: its path relative to the sample directory, and its bytes.
pub(crate) struct SampleFile {
    pub(crate) path: &'static str,
    pub(crate) bytes: &'static [u8],
}

macro_rules! sample {
    ($path:literal) => {
        SampleFile {
            path: $path,
            bytes: include_bytes!(concat!("../../../tests/data/corpus/", $path)),
        }
    };
}

/// Every bundled file, in path order.
pub(crate) static FILES: &[SampleFile] = &[
    sample!("photo_002.png"),
    sample!("photo_003.png"),
    sample!("photo_006.png"),
    sample!("photo_007.png"),
    sample!("photo_008.png"),
    sample!("photo_009.jpg"),
    sample!("photo_010.jpg"),
    sample!("photo_011.png"),
    sample!("photo_015.jpg"),
    sample!("photo_018.jpg"),
    sample!("transformed/crop_5each/photo_003.png"),
    sample!("transformed/flip_horizontal/photo_003.png"),
    sample!("transformed/grayscale/photo_003.png"),
    sample!("transformed/jpeg_q70/photo_003.jpg"),
    sample!("transformed/resize_50/photo_003.png"),
    sample!("transformed/rotate_90ccw/photo_003.png"),
];

/// Where the sample set comes from: the bundled copy, or a directory of the same layout given
/// with `--data`.
#[derive(Clone, Debug)]
pub(crate) enum SampleSet {
    Bundled,
    Dir(PathBuf),
}

impl SampleSet {
    /// The bundled set, or `dir` when given.
    pub(crate) fn new(dir: Option<PathBuf>) -> SampleSet {
        dir.map_or(SampleSet::Bundled, SampleSet::Dir)
    }

    /// Decodes the file at `rel` (a path relative to the set, as in [`FILES`]).
    pub(crate) fn decode(
        &self,
        rel: &str,
        options: &DecodeOptions,
    ) -> anyhow::Result<DecodedImage> {
        match self {
            SampleSet::Bundled => {
                let file = FILES
                    .iter()
                    .find(|f| f.path == rel)
                    .with_context(|| format!("{rel} is not in the bundled sample set"))?;
                hashsieve::image::decode(file.bytes, options)
                    .with_context(|| format!("cannot decode {rel} of the bundled sample set"))
            }
            // The error names the file.
            SampleSet::Dir(dir) => Ok(hashsieve::image::decode_path(&dir.join(rel), options)?),
        }
    }

    /// The edited variants: `(edit, path relative to the set)`, sorted by edit, then file name.
    /// A directory set lists `transformed/<edit>/<file>` as it finds them.
    pub(crate) fn variants(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        match self {
            SampleSet::Bundled => {
                for f in FILES {
                    if let Some(rest) = f.path.strip_prefix("transformed/") {
                        if let Some((edit, _)) = rest.split_once('/') {
                            out.push((edit.to_string(), f.path.to_string()));
                        }
                    }
                }
            }
            SampleSet::Dir(dir) => {
                let transformed = dir.join("transformed");
                for edit in read_dir_sorted(&transformed)? {
                    if !edit.is_dir() {
                        continue;
                    }
                    let edit_name = file_name(&edit);
                    for file in read_dir_sorted(&edit)? {
                        out.push((
                            edit_name.clone(),
                            format!("transformed/{edit_name}/{}", file_name(&file)),
                        ));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

fn read_dir_sorted(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The bundled photos (not their edited variants), as originals for `eval robustness`, decoded
/// one at a time when the evaluation asks for them.
pub(crate) struct BundledPhotos {
    files: Vec<&'static SampleFile>,
    decode: DecodeOptions,
}

impl BundledPhotos {
    pub(crate) fn new(decode: DecodeOptions) -> BundledPhotos {
        let files = FILES
            .iter()
            .filter(|f| f.path.starts_with("photo_"))
            .collect();
        BundledPhotos { files, decode }
    }
}

impl hashsieve::eval::robustness::Originals for BundledPhotos {
    fn count(&self) -> usize {
        self.files.len()
    }

    fn name(&self, index: usize) -> String {
        self.files[index].path.to_string()
    }

    fn image(&self, index: usize) -> hashsieve::Result<Cow<'_, image::RgbImage>> {
        let decoded = hashsieve::image::decode(self.files[index].bytes, &self.decode)?;
        Ok(Cow::Owned(
            hashsieve::eval::robustness::Original::from_pixels("", &decoded.pixels()).image,
        ))
    }
}
