//! The `hashsieve` Python extension (`hashsieve._hashsieve`): a thin layer over the crate, like the
//! CLI. Hashing, hash lists, the matcher and dedup; every heavy call releases the GIL and every
//! object is frozen (immutable from Python, `Send + Sync` in Rust), so it can be shared by threads.
//!
//! The Python-facing documentation lives in `hashsieve/__init__.pyi` and python/README.md.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use hashsieve::algo::pdq::{DihedralMode, PdqOptions};
use hashsieve::algo::Hasher;
use hashsieve::hash::{Hash256, Hash64, HashKind, HashValue};
use hashsieve::index::IndexKind;
use hashsieve::list::EntryMeta;
use hashsieve::matching::{
    cluster_report, DedupOptions, ListOptions, Matcher, MatcherOptions, Query, QueryResult,
};
use hashsieve::{Error, ErrorKind, HashList, ListBuilder, PixelBuffer, PixelLayout};
use memmap2::Mmap;
use numpy::ndarray::ArrayView2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

// ---------------------------------------------------------------------------------------------
// Errors: one class per `ErrorKind`, all under `HashsieveError`. Messages are the library's,
// which never contain hash values or image bytes.

create_exception!(
    _hashsieve,
    HashsieveError,
    PyException,
    "Base class of every hashsieve error."
);

/// The subclasses of `HashsieveError`, one per `ErrorKind`: this one table creates each class and
/// registers it on the module (`add_exceptions`, after `HashsieveError`).
macro_rules! error_classes {
    ($($name:ident: $doc:literal,)*) => {
        $(create_exception!(_hashsieve, $name, HashsieveError, $doc);)*

        fn add_exceptions(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            m.add("HashsieveError", py.get_type::<HashsieveError>())?;
            $(m.add(stringify!($name), py.get_type::<$name>())?;)*
            Ok(())
        }
    };
}

error_classes! {
    ChecksumError: "A section's checksum does not match: the file is damaged.",
    CorruptError: "A file's structure is invalid.",
    DecodeError: "An image could not be decoded.",
    DuplicateListError: "A list of that name is already loaded.",
    InputFormatError: "Hash text is not in a format that can be read.",
    InvalidArgumentError: "An argument is out of range or inconsistent.",
    InvalidHexError: "A hash's hex text is malformed.",
    InvalidPixelsError: "A pixel buffer's size, shape or layout is invalid.",
    IoError: "Reading or writing a file failed.",
    LimitError: "A size, memory or count limit was exceeded.",
    MismatchError: "Two things that must agree do not (for example hash kinds).",
    ParseError: "Hash text has malformed lines.",
    TruncatedError: "A file is shorter than its header says.",
    UnknownNameError: "A name (algorithm, index, format) is not known.",
    UnsupportedError: "The input is valid but not supported.",
    VersionError: "A file's format version is not supported by this build.",
}

/// Converts a library error into the Python exception of its kind.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::Checksum { .. } => ChecksumError::new_err(msg),
        ErrorKind::Corrupt { .. } => CorruptError::new_err(msg),
        ErrorKind::Decode { .. } => DecodeError::new_err(msg),
        ErrorKind::DuplicateList { .. } => DuplicateListError::new_err(msg),
        ErrorKind::InputFormat(_) => InputFormatError::new_err(msg),
        ErrorKind::InvalidArgument(_) => InvalidArgumentError::new_err(msg),
        ErrorKind::InvalidHex { .. } => InvalidHexError::new_err(msg),
        ErrorKind::InvalidPixels(_) => InvalidPixelsError::new_err(msg),
        ErrorKind::Io(_) => IoError::new_err(msg),
        ErrorKind::Limit { .. } => LimitError::new_err(msg),
        ErrorKind::Mismatch(_) => MismatchError::new_err(msg),
        ErrorKind::Parse { .. } => ParseError::new_err(msg),
        ErrorKind::Truncated { .. } => TruncatedError::new_err(msg),
        ErrorKind::UnknownName { .. } => UnknownNameError::new_err(msg),
        ErrorKind::Unsupported(_) => UnsupportedError::new_err(msg),
        ErrorKind::Version { .. } => VersionError::new_err(msg),
        // `ErrorKind` is non-exhaustive: a kind added later is still a HashsieveError.
        _ => HashsieveError::new_err(msg),
    }
}

fn invalid(msg: impl Into<String>) -> PyErr {
    InvalidArgumentError::new_err(msg.into())
}

trait OrPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> OrPy<T> for hashsieve::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(py_err)
    }
}

// ---------------------------------------------------------------------------------------------
// Hash values.

/// A hash of one kind: `str()` is its hex, `a - b` the Hamming distance, `==` and `hash()` work,
/// as with `imagehash.ImageHash`.
#[pyclass(frozen, module = "hashsieve", name = "Hash")]
#[derive(Clone)]
struct PyHash {
    kind: HashKind,
    value: HashValue,
}

fn be_bytes(value: &HashValue) -> Vec<u8> {
    match value {
        HashValue::Bits256(h) => h.to_be_bytes().to_vec(),
        HashValue::Bits64(h) => h.to_u64().to_be_bytes().to_vec(),
        _ => Vec::new(),
    }
}

fn value_from_bytes(kind: HashKind, bytes: &[u8]) -> PyResult<HashValue> {
    match (kind.width(), bytes.len()) {
        (256, 32) => {
            let mut b = [0u8; 32];
            b.copy_from_slice(bytes);
            Ok(HashValue::Bits256(Hash256::from_be_bytes(b)))
        }
        (64, 8) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            Ok(HashValue::Bits64(Hash64::from_u64(u64::from_be_bytes(b))))
        }
        (w, n) => Err(invalid(format!(
            "a {} hash is {} bytes, got {n}",
            kind.name(),
            w / 8
        ))),
    }
}

/// A perceptual hash kind by name. The exact kinds (md5, sha1, sha256) are refused: the package
/// hashes pixels, and its `Hash`, lists and matcher hold perceptual hashes only.
fn parse_kind(name: &str) -> PyResult<HashKind> {
    let kind = name.parse::<HashKind>().py()?;
    if kind.is_exact() {
        return Err(invalid(format!(
            "{} is an exact hash of file bytes; this package handles perceptual hashes \
             (pdq, phash, dhash, ahash, whash and their 256-bit forms)",
            kind.name()
        )));
    }
    Ok(kind)
}

#[pymethods]
impl PyHash {
    /// Parses hex text as a hash of `kind` (default PDQ).
    #[new]
    #[pyo3(signature = (hex, kind = "pdq"))]
    fn new(hex: &str, kind: &str) -> PyResult<Self> {
        let kind = parse_kind(kind)?;
        let value = kind.parse_hex(hex).py()?;
        Ok(PyHash { kind, value })
    }

    /// A hash from its big-endian bytes (32 for 256-bit kinds, 8 for 64-bit ones).
    #[staticmethod]
    #[pyo3(signature = (data, kind = "pdq"))]
    fn from_bytes(data: &[u8], kind: &str) -> PyResult<Self> {
        let kind = parse_kind(kind)?;
        Ok(PyHash {
            kind,
            value: value_from_bytes(kind, data)?,
        })
    }

    /// The algorithm's name (`pdq`, `phash`, ...).
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind.name()
    }

    /// The big-endian bytes, in the order of the hex text.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &be_bytes(&self.value))
    }

    /// The bits as a square boolean array, as `imagehash.ImageHash.hash`.
    #[getter]
    fn hash<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<bool>> {
        let bytes = be_bytes(&self.value);
        let bits: Vec<bool> = bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
            .collect();
        let side = (bits.len() as f64).sqrt() as usize;
        numpy::ndarray::Array2::from_shape_vec((side, side), bits)
            .expect("64 and 256 are squares")
            .into_pyarray(py)
    }

    fn __str__(&self) -> String {
        self.value.to_hex()
    }

    fn __repr__(&self) -> String {
        format!(
            "Hash('{}', kind='{}')",
            self.value.to_hex(),
            self.kind.name()
        )
    }

    fn __len__(&self) -> usize {
        self.value.width() as usize
    }

    fn __sub__(&self, other: &Bound<'_, PyAny>) -> PyResult<u32> {
        let other = other
            .downcast::<PyHash>()
            .map_err(|_| PyTypeError::new_err("a Hash can only be subtracted from a Hash"))?;
        self.value
            .distance(&other.get().value)
            .ok_or_else(|| MismatchError::new_err("the hashes have different widths"))
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyObject {
        let py = other.py();
        let Ok(other) = other.downcast::<PyHash>() else {
            return py.NotImplemented();
        };
        let eq = self.value == other.get().value;
        match op {
            CompareOp::Eq => eq.into_pyobject(py).unwrap().to_owned().into_any().unbind(),
            CompareOp::Ne => (!eq)
                .into_pyobject(py)
                .unwrap()
                .to_owned()
                .into_any()
                .unbind(),
            _ => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        let b = be_bytes(&self.value);
        u64::from_be_bytes(b[..8].try_into().expect("at least 8 bytes"))
    }

    /// Pickles as `Hash(hex, kind)`.
    fn __reduce__(slf: &Bound<'_, Self>) -> (PyObject, (String, &'static str)) {
        let cls = slf.get_type().into_any().unbind();
        let h = slf.get();
        (cls, (h.value.to_hex(), h.kind.name()))
    }
}

// ---------------------------------------------------------------------------------------------
// Image input: numpy pixels (zero-copy when C-contiguous), encoded bytes, or a path. PIL images
// are turned into numpy arrays by the Python layer.

enum Image<'py> {
    Pixels {
        array: PyReadonlyArrayDyn<'py, u8>,
        owned: Option<Vec<u8>>,
        width: u32,
        height: u32,
        layout: PixelLayout,
    },
    Bytes(Bound<'py, PyBytes>),
    Path(PathBuf),
}

fn image_input<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Image<'py>> {
    if let Ok(bytes) = obj.downcast::<PyBytes>() {
        return Ok(Image::Bytes(bytes.clone()));
    }
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        return Ok(Image::Path(obj.extract::<PathBuf>()?));
    }
    let array: PyReadonlyArrayDyn<'py, u8> = obj.extract().map_err(|_| {
        PyTypeError::new_err(
            "an image is a numpy uint8 array (HxW, HxWx3 or HxWx4), bytes of an encoded image, a path or a PIL image",
        )
    })?;
    let shape = array.shape().to_vec();
    let layout = match shape.as_slice() {
        [_, _] | [_, _, 1] => PixelLayout::Luma8,
        [_, _, 3] => PixelLayout::Rgb8,
        [_, _, 4] => PixelLayout::Rgba8,
        _ => {
            return Err(InvalidPixelsError::new_err(format!(
                "a pixel array is HxW, HxWx1, HxWx3 or HxWx4; this one has shape {shape:?}"
            )))
        }
    };
    let dim = |n: usize, what: &str| {
        u32::try_from(n)
            .map_err(|_| InvalidPixelsError::new_err(format!("the image {what} is too large")))
    };
    let height = dim(shape[0], "height")?;
    let width = dim(shape[1], "width")?;
    let owned = if array.is_c_contiguous() {
        None
    } else {
        Some(array.as_array().iter().copied().collect())
    };
    Ok(Image::Pixels {
        array,
        owned,
        width,
        height,
        layout,
    })
}

fn hasher() -> &'static Hasher {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    HASHER.get_or_init(Hasher::new)
}

/// Runs `f` on the image's pixels or, for encoded input, decodes and hashes `kinds` in one pass.
fn with_image<T: Send>(
    py: Python<'_>,
    image: &Image<'_>,
    kinds: &[HashKind],
    pixels: impl FnOnce(&PixelBuffer<'_>) -> T + Send,
    decoded: impl FnOnce(Vec<hashsieve::algo::HashOutput>) -> PyResult<T> + Send,
) -> PyResult<T> {
    match image {
        Image::Pixels {
            array,
            owned,
            width,
            height,
            layout,
        } => {
            let data: &[u8] = match owned {
                Some(v) => v,
                None => array
                    .as_slice()
                    .map_err(|e| InvalidPixelsError::new_err(e.to_string()))?,
            };
            let (w, h, l) = (*width, *height, *layout);
            py.allow_threads(|| {
                let buf = PixelBuffer::packed(data, w, h, l).py()?;
                Ok(pixels(&buf))
            })
        }
        Image::Bytes(b) => {
            let data = b.as_bytes();
            let out = py.allow_threads(|| hasher().hash_bytes(data, kinds)).py()?;
            decoded(out)
        }
        Image::Path(p) => {
            let out = py.allow_threads(|| hasher().hash_path(p, kinds)).py()?;
            decoded(out)
        }
    }
}

fn one(outputs: Vec<hashsieve::algo::HashOutput>) -> PyResult<hashsieve::algo::HashOutput> {
    outputs
        .into_iter()
        .next()
        .ok_or_else(|| HashsieveError::new_err("no hash was computed"))
}

/// PDQ of an image: `(hash, quality)`.
#[pyfunction]
fn pdq(py: Python<'_>, image: &Bound<'_, PyAny>) -> PyResult<(PyHash, u8)> {
    let img = image_input(image)?;
    let out = with_image(
        py,
        &img,
        &[HashKind::Pdq],
        |buf| hasher().hash_pixels(buf, HashKind::Pdq),
        one,
    )?;
    Ok((
        PyHash {
            kind: HashKind::Pdq,
            value: out.value,
        },
        out.quality.unwrap_or(0),
    ))
}

/// The eight PDQ dihedral hashes (pdqhash's order) and the quality.
#[pyfunction]
#[pyo3(signature = (image, exact = false))]
fn pdq_dihedral(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    exact: bool,
) -> PyResult<(Vec<PyHash>, u8)> {
    let mode = if exact {
        DihedralMode::Exact
    } else {
        DihedralMode::Reference
    };
    let opts = PdqOptions::default().dihedral(mode);
    let img = match image_input(image)? {
        img @ Image::Pixels { .. } => img,
        // Encoded input: decode here (with the library's limits), then hash the pixels.
        Image::Bytes(b) => {
            let data = b.as_bytes();
            let decoded = py
                .allow_threads(|| hashsieve::image::decode(data, &hasher().decode_options))
                .py()?;
            return dihedral_of_decoded(py, decoded, &opts);
        }
        Image::Path(p) => {
            let decoded = py
                .allow_threads(|| hashsieve::image::decode_path(&p, &hasher().decode_options))
                .py()?;
            return dihedral_of_decoded(py, decoded, &opts);
        }
    };
    let d = with_image(
        py,
        &img,
        &[],
        |buf| hashsieve::algo::pdq::pdq_dihedral_with(buf, &opts),
        |_| Err(HashsieveError::new_err("unreachable")),
    )?;
    Ok((dihedral_list(&d.hashes), d.quality))
}

fn dihedral_of_decoded(
    py: Python<'_>,
    decoded: hashsieve::image::DecodedImage,
    opts: &PdqOptions,
) -> PyResult<(Vec<PyHash>, u8)> {
    let d = py.allow_threads(|| hashsieve::algo::pdq::pdq_dihedral_with(&decoded.pixels(), opts));
    Ok((dihedral_list(&d.hashes), d.quality))
}

fn dihedral_list(hashes: &[Hash256; 8]) -> Vec<PyHash> {
    hashes
        .iter()
        .map(|h| PyHash {
            kind: HashKind::Pdq,
            value: HashValue::Bits256(*h),
        })
        .collect()
}

fn imagehash_kind(base: HashKind, hash_size: u32) -> PyResult<HashKind> {
    match (base, hash_size) {
        (k, 8) => Ok(k),
        (HashKind::PHash, 16) => Ok(HashKind::PHash256),
        (HashKind::DHash, 16) => Ok(HashKind::DHash256),
        (HashKind::AHash, 16) => Ok(HashKind::AHash256),
        (HashKind::WHash, 16) => Ok(HashKind::WHash256),
        (_, n) => Err(invalid(format!(
            "hash_size {n} is not supported; use 8 (64 bits) or 16 (256 bits)"
        ))),
    }
}

fn imagehash_family(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    base: HashKind,
    hash_size: u32,
) -> PyResult<PyHash> {
    let kind = imagehash_kind(base, hash_size)?;
    let img = image_input(image)?;
    let out = with_image(
        py,
        &img,
        &[kind],
        |buf| hasher().hash_pixels(buf, kind),
        one,
    )?;
    Ok(PyHash {
        kind,
        value: out.value,
    })
}

/// The imagehash functions: one signature, `(image, hash_size=8)`, each over one base kind.
macro_rules! imagehash_functions {
    ($($(#[$doc:meta])* $name:ident => $base:ident,)*) => {$(
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (image, hash_size = 8))]
        fn $name(py: Python<'_>, image: &Bound<'_, PyAny>, hash_size: u32) -> PyResult<PyHash> {
            imagehash_family(py, image, HashKind::$base, hash_size)
        }
    )*};
}

imagehash_functions! {
    /// imagehash.phash.
    phash => PHash,
    /// imagehash.dhash.
    dhash => DHash,
    /// imagehash.average_hash.
    average_hash => AHash,
    /// imagehash.whash (Haar, the default mode).
    whash => WHash,
}

fn kinds_of(kinds: Vec<String>) -> PyResult<Vec<HashKind>> {
    if kinds.is_empty() {
        return Err(invalid("name at least one hash kind"));
    }
    kinds.iter().map(|k| parse_kind(k)).collect()
}

fn outputs_dict<'py>(
    py: Python<'py>,
    outputs: Vec<hashsieve::algo::HashOutput>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for o in outputs {
        let h = PyHash {
            kind: o.kind,
            value: o.value,
        };
        d.set_item(o.kind.name(), (h, o.quality))?;
    }
    Ok(d)
}

/// Decodes a file once and computes each kind: `{kind: (hash, quality or None)}`.
#[pyfunction]
#[pyo3(signature = (path, kinds = vec!["pdq".to_string()]))]
fn hash_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    kinds: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let kinds = kinds_of(kinds)?;
    let out = py
        .allow_threads(|| hasher().hash_path(&path, &kinds))
        .py()?;
    outputs_dict(py, out)
}

/// Decodes encoded image bytes once and computes each kind: `{kind: (hash, quality or None)}`.
#[pyfunction]
#[pyo3(signature = (data, kinds = vec!["pdq".to_string()]))]
fn hash_bytes<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    kinds: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let kinds = kinds_of(kinds)?;
    let bytes = data.as_bytes();
    let out = py
        .allow_threads(|| hasher().hash_bytes(bytes, &kinds))
        .py()?;
    outputs_dict(py, out)
}

// ---------------------------------------------------------------------------------------------
// Hash lists.

/// Bytes shared by the Python `HashList` and every matcher it was added to.
#[derive(Clone)]
struct Shared(Arc<Mmap>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A hash-list file, memory-mapped and checked.
#[pyclass(frozen, module = "hashsieve", name = "HashList")]
struct PyHashList {
    bytes: Shared,
    list: HashList<Shared>,
}

fn map_file(path: &std::path::Path) -> hashsieve::Result<Mmap> {
    let file = hashsieve::fs::open_regular(path)?;
    if file.metadata()?.len() == 0 {
        return Err(Error::new(ErrorKind::Unsupported(
            "the file is empty; it is not a hash list".into(),
        )));
    }
    // SAFETY: the file must not be modified or truncated while mapped (documented on
    // `HashList.open`: lists are replaced by atomic rename, never edited in place). Every access
    // to the bytes is bounds-checked by the library against the mapping's length.
    Ok(unsafe { Mmap::map(&file)? })
}

#[pymethods]
impl PyHashList {
    /// Opens and memory-maps a list, checking its header and every section checksum.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.allow_threads(|| {
            let bytes = Shared(Arc::new(map_file(&path)?));
            let list = HashList::from_bytes(bytes.clone())?;
            Ok(PyHashList { bytes, list })
        })
        .py()
    }

    /// Writes a list file atomically and returns the build report as a dict.
    #[staticmethod]
    #[pyo3(signature = (path, hashes, ids = None, *, kind = "pdq", name = None, version = None,
                        qualities = None, min_quality = None, allow_degenerate = false))]
    #[allow(clippy::too_many_arguments)]
    fn build<'py>(
        py: Python<'py>,
        path: PathBuf,
        hashes: &Bound<'py, PyAny>,
        ids: Option<Vec<String>>,
        kind: &str,
        name: Option<String>,
        version: Option<String>,
        qualities: Option<Vec<u8>>,
        min_quality: Option<u8>,
        allow_degenerate: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let kind = parse_kind(kind)?;
        let values = hash_values(hashes, kind)?;
        let n = values.len();
        if let Some(ids) = &ids {
            if ids.len() != n {
                return Err(invalid(format!("{n} hashes but {} ids", ids.len())));
            }
        }
        if let Some(q) = &qualities {
            if q.len() != n {
                return Err(invalid(format!("{n} hashes but {} qualities", q.len())));
            }
        }
        let report = py
            .allow_threads(|| {
                let mut b = ListBuilder::new(kind).allow_degenerate(allow_degenerate);
                if let Some(name) = name {
                    b = b.name(name);
                }
                if let Some(v) = version {
                    b = b.version(v);
                }
                if let Some(q) = min_quality {
                    b = b.min_quality(q);
                }
                for (i, v) in values.into_iter().enumerate() {
                    let default_id;
                    let id: &str = match &ids {
                        Some(ids) => &ids[i],
                        None => {
                            default_id = i.to_string();
                            &default_id
                        }
                    };
                    let mut meta = EntryMeta::new(id);
                    if let Some(q) = &qualities {
                        meta = meta.quality(q[i]);
                    }
                    b.add(v, meta)?;
                }
                b.write(&path)
            })
            .py()?;
        let d = PyDict::new(py);
        d.set_item("offered", report.offered)?;
        d.set_item("hashes", report.hashes)?;
        d.set_item("entries", report.entries)?;
        d.set_item("bytes", report.bytes)?;
        d.set_item("rejected_degenerate", report.rejected_degenerate)?;
        d.set_item("rejected_low_quality", report.rejected_low_quality)?;
        Ok(d)
    }

    /// Checks every section checksum again (the file could have been damaged since `open`).
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.allow_threads(|| self.list.verify()).py()
    }

    /// `name`, `version`, `kind`, `hashes`, `entries`, `created`, `bytes`.
    #[getter]
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("name", self.list.name())?;
        d.set_item("version", self.list.version())?;
        d.set_item("kind", self.list.kind().name())?;
        d.set_item("hashes", self.list.len())?;
        d.set_item("entries", self.list.entry_count())?;
        d.set_item("created", self.list.created())?;
        d.set_item("bytes", self.bytes.as_ref().len())?;
        Ok(d)
    }

    fn __len__(&self) -> usize {
        self.list.len()
    }

    /// The distinct hashes as an `(N, 32)` (or `(N, 8)`) uint8 array of big-endian bytes.
    fn hashes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<u8>> {
        let width = (self.list.kind().width() / 8) as usize;
        let n = self.list.len();
        let flat = py.allow_threads(|| {
            let mut flat = Vec::with_capacity(n * width);
            for (value, _) in &self.list {
                flat.extend_from_slice(&be_bytes(&value));
            }
            flat
        });
        numpy::ndarray::Array2::from_shape_vec((n, width), flat)
            .expect("n * width bytes")
            .into_pyarray(py)
    }

    /// The ids of the entries that share hash `index`.
    fn entry_ids(&self, index: usize) -> PyResult<Vec<String>> {
        if index >= self.list.len() {
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "hash index out of range",
            ));
        }
        Ok(self
            .list
            .entries_of(index)
            .map(|e| e.id().to_string())
            .collect())
    }
}

/// Hash values from an `(N, W)` uint8 array, or a sequence of `Hash` / hex strings.
fn hash_values(obj: &Bound<'_, PyAny>, kind: HashKind) -> PyResult<Vec<HashValue>> {
    if let Ok(arr) = obj.extract::<PyReadonlyArray2<'_, u8>>() {
        let view = arr.as_array();
        return rows_to_values(&view, kind);
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(one_value(&item?, kind)?);
    }
    Ok(out)
}

fn rows_to_values(view: &ArrayView2<'_, u8>, kind: HashKind) -> PyResult<Vec<HashValue>> {
    let width = (kind.width() / 8) as usize;
    if view.ncols() != width {
        return Err(invalid(format!(
            "a {} hash array has {width} columns (bytes), this one has {}",
            kind.name(),
            view.ncols()
        )));
    }
    let mut out = Vec::with_capacity(view.nrows());
    let mut buf = vec![0u8; width];
    for row in view.rows() {
        for (d, s) in buf.iter_mut().zip(row.iter()) {
            *d = *s;
        }
        out.push(value_from_bytes(kind, &buf)?);
    }
    Ok(out)
}

fn one_value(item: &Bound<'_, PyAny>, kind: HashKind) -> PyResult<HashValue> {
    if let Ok(h) = item.downcast::<PyHash>() {
        let h = h.get();
        if h.kind.width() != kind.width() {
            return Err(MismatchError::new_err(format!(
                "a {} hash where a {} hash was expected",
                h.kind.name(),
                kind.name()
            )));
        }
        return Ok(h.value);
    }
    if let Ok(s) = item.downcast::<PyString>() {
        return kind.parse_hex(&s.to_cow()?).py();
    }
    if let Ok(b) = item.downcast::<PyBytes>() {
        return value_from_bytes(kind, b.as_bytes());
    }
    if let Ok(a) = item.extract::<numpy::PyReadonlyArray1<'_, u8>>() {
        let v: Vec<u8> = a.as_array().iter().copied().collect();
        return value_from_bytes(kind, &v);
    }
    Err(PyTypeError::new_err(
        "a hash is a Hash, hex text, big-endian bytes or a 1-D uint8 array",
    ))
}

// ---------------------------------------------------------------------------------------------
// Matching.

/// One match of a query.
#[pyclass(frozen, module = "hashsieve", name = "Match", get_all)]
struct PyMatch {
    /// The list's name.
    list: String,
    /// The list's version.
    list_version: String,
    /// Index of the matched hash in the list.
    entry_index: usize,
    /// Hamming distance.
    distance: u32,
    /// The threshold the match was accepted under.
    threshold: u32,
    /// Ids of the entries that share the matched hash.
    entry_ids: Vec<String>,
    /// Their categories (`scheme:code`).
    categories: Vec<String>,
    /// For a dihedral query, which variant matched (`orig`, `rot90`, ...).
    orientation: Option<&'static str>,
}

#[pymethods]
impl PyMatch {
    fn __repr__(&self) -> String {
        format!(
            "Match(list={:?}, entry_index={}, distance={}, entry_ids={:?})",
            self.list, self.entry_index, self.distance, self.entry_ids
        )
    }
}

/// The matches of a batch as parallel numpy arrays (one row per match), ids on demand.
#[pyclass(frozen, module = "hashsieve", name = "BatchResult")]
struct PyBatchResult {
    /// Index of the query of each match.
    #[pyo3(get)]
    query: Py<PyArray1<u64>>,
    /// Index into `list_names` of each match's list.
    #[pyo3(get)]
    list: Py<PyArray1<u16>>,
    /// Index of the matched hash in its list.
    #[pyo3(get)]
    entry: Py<PyArray1<u64>>,
    /// Hamming distance of each match.
    #[pyo3(get)]
    distance: Py<PyArray1<u16>>,
    /// Per query: skipped by the quality gate (or no list of its kind).
    #[pyo3(get)]
    skipped: Py<PyArray1<bool>>,
    /// The names of the lists, indexed by `list`.
    #[pyo3(get)]
    list_names: Vec<String>,
    ids: Vec<Vec<String>>,
}

#[pymethods]
impl PyBatchResult {
    /// The entry ids of match `i`.
    fn entry_ids(&self, i: usize) -> PyResult<Vec<String>> {
        self.ids
            .get(i)
            .cloned()
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("match index out of range"))
    }
    fn __len__(&self) -> usize {
        self.ids.len()
    }
}

/// Matches hashes against loaded lists. Lists can be added, replaced (atomically) and removed
/// while other threads query.
#[pyclass(frozen, module = "hashsieve", name = "Matcher")]
struct PyMatcher {
    inner: Matcher,
}

fn list_options(threshold: Option<u32>, index: Option<&str>) -> PyResult<ListOptions> {
    let mut o = ListOptions::default();
    if let Some(t) = threshold {
        o = o.threshold(t);
    }
    if let Some(i) = index {
        o = o.index(i.parse::<IndexKind>().py()?);
    }
    Ok(o)
}

fn reopen(list: &PyHashList) -> hashsieve::Result<HashList<Shared>> {
    // The bytes were verified by `HashList.open` and are the same mapping: the constant-time
    // header checks are enough (`from_bytes_unverified`'s documented use).
    HashList::from_bytes_unverified(list.bytes.clone())
}

impl PyMatcher {
    fn query_of(
        &self,
        hash: &Bound<'_, PyAny>,
        quality: Option<u8>,
        kind: Option<&str>,
    ) -> PyResult<Query> {
        // Eight hashes: a PDQ dihedral query.
        if let Ok(list) = hash.downcast::<PyList>() {
            return self.dihedral_query(list.iter().collect(), quality);
        }
        if let Ok(t) = hash.downcast::<PyTuple>() {
            return self.dihedral_query(t.iter().collect(), quality);
        }
        if let Ok(h) = hash.downcast::<PyHash>() {
            let h = h.get();
            return Ok(Query::new(h.kind, h.value, quality));
        }
        let kind = parse_kind(kind.unwrap_or("pdq"))?;
        Ok(Query::new(kind, one_value(hash, kind)?, quality))
    }

    /// Adds or replaces (`load`) a list with the GIL released.
    fn load(
        &self,
        py: Python<'_>,
        hash_list: &PyHashList,
        opts: ListOptions,
        load: fn(&Matcher, HashList<Shared>, ListOptions) -> hashsieve::Result<()>,
    ) -> PyResult<()> {
        py.allow_threads(|| load(&self.inner, reopen(hash_list)?, opts))
            .py()
    }

    fn dihedral_query(&self, items: Vec<Bound<'_, PyAny>>, quality: Option<u8>) -> PyResult<Query> {
        if items.len() != 8 {
            return Err(invalid(format!(
                "a dihedral query is 8 PDQ hashes, got {}",
                items.len()
            )));
        }
        let mut hashes = [Hash256::default(); 8];
        for (h, item) in hashes.iter_mut().zip(items) {
            match one_value(&item, HashKind::Pdq)? {
                HashValue::Bits256(v) => *h = v,
                _ => return Err(invalid("a dihedral query is 8 PDQ hashes")),
            }
        }
        Ok(Query::pdq_variants(hashes, quality))
    }
}

fn to_match(r: hashsieve::matching::MatchRecord) -> PyMatch {
    PyMatch {
        list: r.list,
        list_version: r.list_version,
        entry_index: r.hash_index,
        distance: r.distance,
        threshold: r.threshold,
        entry_ids: r.entry_ids,
        categories: r.categories,
        orientation: r.orientation.map(|o| o.name()),
    }
}

#[pymethods]
impl PyMatcher {
    /// A matcher with quality gates: queries whose quality is below the gate are skipped.
    #[new]
    #[pyo3(signature = (*, min_pdq_quality = None, min_quality = None))]
    fn new(min_pdq_quality: Option<u8>, min_quality: Option<u8>) -> Self {
        let mut o = MatcherOptions::default();
        if let Some(q) = min_quality {
            o = o.min_quality_all(q);
        }
        if let Some(q) = min_pdq_quality {
            o = o.min_pdq_quality(q);
        }
        PyMatcher {
            inner: Matcher::with_options(o),
        }
    }

    /// Adds a list (its name must not be loaded yet) and builds its index.
    #[pyo3(signature = (hash_list, threshold = None, index = None))]
    fn add_list(
        &self,
        py: Python<'_>,
        hash_list: &PyHashList,
        threshold: Option<u32>,
        index: Option<&str>,
    ) -> PyResult<()> {
        let opts = list_options(threshold, index)?;
        self.load(py, hash_list, opts, Matcher::add_list)
    }

    /// Replaces the list of the same name atomically: a query sees the old list or the new one.
    #[pyo3(signature = (hash_list, threshold = None, index = None))]
    fn replace_list(
        &self,
        py: Python<'_>,
        hash_list: &PyHashList,
        threshold: Option<u32>,
        index: Option<&str>,
    ) -> PyResult<()> {
        let opts = list_options(threshold, index)?;
        self.load(py, hash_list, opts, Matcher::replace_list)
    }

    /// Removes a list by name; whether it was loaded.
    fn remove_list(&self, name: &str) -> bool {
        self.inner.remove_list(name)
    }

    /// The loaded lists: dicts of `name`, `version`, `kind`, `len`, `threshold`, `index`.
    #[getter]
    fn lists<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner
            .lists()
            .into_iter()
            .map(|l| {
                let d = PyDict::new(py);
                d.set_item("name", l.name)?;
                d.set_item("version", l.version)?;
                d.set_item("kind", l.kind.name())?;
                d.set_item("len", l.len)?;
                d.set_item("threshold", l.threshold)?;
                d.set_item("index", l.index.name())?;
                Ok(d)
            })
            .collect()
    }

    /// Matches one hash (a `Hash`, hex, bytes, a 1-D uint8 array, or a list of 8 PDQ hashes for
    /// a dihedral query). `kind` names the algorithm of hex/bytes input (default PDQ).
    #[pyo3(signature = (hash, quality = None, kind = None))]
    fn query(
        &self,
        py: Python<'_>,
        hash: &Bound<'_, PyAny>,
        quality: Option<u8>,
        kind: Option<&str>,
    ) -> PyResult<Vec<PyMatch>> {
        let q = self.query_of(hash, quality, kind)?;
        let result = py.allow_threads(|| self.inner.query(&q));
        Ok(match result {
            QueryResult::Searched(ms) => ms.into_iter().map(to_match).collect(),
            _ => Vec::new(),
        })
    }

    /// Matches an `(N, 32)` uint8 array of PDQ hashes (or `(N, 8)` for 64-bit kinds).
    #[pyo3(signature = (hashes, qualities = None, kind = "pdq"))]
    fn query_batch(
        &self,
        py: Python<'_>,
        hashes: PyReadonlyArray2<'_, u8>,
        qualities: Option<numpy::PyReadonlyArray1<'_, u8>>,
        kind: &str,
    ) -> PyResult<PyBatchResult> {
        let kind = parse_kind(kind)?;
        let view = hashes.as_array();
        let qs: Option<Vec<u8>> = qualities.map(|q| q.as_array().iter().copied().collect());
        if let Some(q) = &qs {
            if q.len() != view.nrows() {
                return Err(invalid(format!(
                    "{} hashes but {} qualities",
                    view.nrows(),
                    q.len()
                )));
            }
        }
        let (query, list, entry, distance, skipped, names, ids) = py.allow_threads(|| {
            let queries: Vec<Query> = rows_to_values(&view, kind)?
                .into_iter()
                .enumerate()
                .map(|(i, value)| Query::new(kind, value, qs.as_ref().map(|q| q[i])))
                .collect();
            let results = self.inner.query_batch(&queries);
            let mut names: Vec<String> = Vec::new();
            let (mut query, mut list, mut entry, mut distance, mut ids) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut skipped = Vec::with_capacity(results.len());
            for (qi, r) in results.into_iter().enumerate() {
                match r {
                    QueryResult::Searched(ms) => {
                        skipped.push(false);
                        for m in ms {
                            let li = match names.iter().position(|n| *n == m.list) {
                                Some(i) => i,
                                None => {
                                    names.push(m.list.clone());
                                    names.len() - 1
                                }
                            };
                            query.push(qi as u64);
                            list.push(li as u16);
                            entry.push(m.hash_index as u64);
                            distance.push(m.distance as u16);
                            ids.push(m.entry_ids);
                        }
                    }
                    _ => skipped.push(true),
                }
            }
            PyResult::Ok((query, list, entry, distance, skipped, names, ids))
        })?;
        Ok(PyBatchResult {
            query: query.into_pyarray(py).unbind(),
            list: list.into_pyarray(py).unbind(),
            entry: entry.into_pyarray(py).unbind(),
            distance: distance.into_pyarray(py).unbind(),
            skipped: skipped.into_pyarray(py).unbind(),
            list_names: names,
            ids,
        })
    }

    /// Benchmark helper: seconds taken by `n` Rust-side `Matcher::query` calls on one hash,
    /// with no Python in the loop (the baseline for the binding's per-call overhead).
    fn _bench_query(&self, py: Python<'_>, hash: &Bound<'_, PyAny>, n: usize) -> PyResult<f64> {
        let q = self.query_of(hash, None, None)?;
        Ok(py.allow_threads(|| {
            let start = Instant::now();
            let mut total = 0usize;
            for _ in 0..n {
                total += std::hint::black_box(self.inner.query(&q)).matches().len();
            }
            std::hint::black_box(total);
            start.elapsed().as_secs_f64()
        }))
    }

    /// Benchmark helper: seconds taken by one Rust-side `Matcher::query_batch` over the rows
    /// (queries built from the same bytes, results dropped).
    #[pyo3(signature = (hashes, kind = "pdq"))]
    fn _bench_query_batch(
        &self,
        py: Python<'_>,
        hashes: PyReadonlyArray2<'_, u8>,
        kind: &str,
    ) -> PyResult<f64> {
        let kind = parse_kind(kind)?;
        let queries: Vec<Query> = rows_to_values(&hashes.as_array(), kind)?
            .into_iter()
            .map(|value| Query::new(kind, value, None))
            .collect();
        Ok(py.allow_threads(|| {
            let start = Instant::now();
            let r = self.inner.query_batch(&queries);
            std::hint::black_box(r);
            start.elapsed().as_secs_f64()
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Dedup and distances.

/// Clusters near-duplicates (single linkage: connected components of pairs within `threshold`).
/// Returns one label per hash: the index of its cluster's representative, or -1 for hashes left
/// out (degenerate, or below `min_quality`).
#[pyfunction]
#[pyo3(signature = (hashes, threshold = None, qualities = None, min_quality = 0, kind = "pdq"))]
fn dedup<'py>(
    py: Python<'py>,
    hashes: PyReadonlyArray2<'py, u8>,
    threshold: Option<u32>,
    qualities: Option<numpy::PyReadonlyArray1<'py, u8>>,
    min_quality: u8,
    kind: &str,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let kind = parse_kind(kind)?;
    let threshold = threshold.unwrap_or(kind.default_threshold());
    let values = rows_to_values(&hashes.as_array(), kind)?;
    let n = values.len();
    let qs: Vec<Option<u8>> = match qualities {
        Some(q) => {
            let q: Vec<Option<u8>> = q.as_array().iter().map(|&v| Some(v)).collect();
            if q.len() != n {
                return Err(invalid(format!("{n} hashes but {} qualities", q.len())));
            }
            q
        }
        None => vec![None; n],
    };
    let opts = DedupOptions::new(threshold)
        .include_singletons(true)
        .min_quality(min_quality);
    let labels = py
        .allow_threads(|| -> hashsieve::Result<Vec<i64>> {
            let report = if kind.width() == 256 {
                let hs: Vec<Hash256> = values
                    .iter()
                    .map(|v| Hash256::try_from(*v))
                    .collect::<hashsieve::Result<_>>()?;
                cluster_report(&hs, &qs, &opts)?
            } else {
                let hs: Vec<Hash64> = values
                    .iter()
                    .map(|v| Hash64::try_from(*v))
                    .collect::<hashsieve::Result<_>>()?;
                cluster_report(&hs, &qs, &opts)?
            };
            let mut labels = vec![-1i64; n];
            for c in &report.clusters {
                for m in &c.members {
                    labels[m.index as usize] = i64::from(c.representative);
                }
            }
            Ok(labels)
        })
        .py()?;
    Ok(labels.into_pyarray(py))
}

/// Row-wise Hamming distances of two `(N, W)` uint8 arrays (the exact check of candidate pairs).
#[pyfunction]
fn distances<'py>(
    py: Python<'py>,
    a: PyReadonlyArray2<'py, u8>,
    b: PyReadonlyArray2<'py, u8>,
) -> PyResult<Bound<'py, PyArray1<u16>>> {
    let (a, b) = (a.as_array(), b.as_array());
    if a.dim() != b.dim() {
        return Err(invalid(format!(
            "the arrays have different shapes: {:?} and {:?}",
            a.dim(),
            b.dim()
        )));
    }
    let out = py.allow_threads(|| {
        a.rows()
            .into_iter()
            .zip(b.rows())
            .map(|(x, y)| {
                x.iter()
                    .zip(y.iter())
                    .map(|(p, q)| (p ^ q).count_ones() as u16)
                    .sum::<u16>()
            })
            .collect::<Vec<u16>>()
    });
    Ok(out.into_pyarray(py))
}

/// The default inclusive threshold of a hash kind (PDQ 31).
#[pyfunction]
fn default_threshold(kind: &str) -> PyResult<u32> {
    Ok(parse_kind(kind)?.default_threshold())
}

#[pymodule]
fn _hashsieve(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHash>()?;
    m.add_class::<PyHashList>()?;
    m.add_class::<PyMatcher>()?;
    m.add_class::<PyMatch>()?;
    m.add_class::<PyBatchResult>()?;
    m.add_function(wrap_pyfunction!(pdq, m)?)?;
    m.add_function(wrap_pyfunction!(pdq_dihedral, m)?)?;
    m.add_function(wrap_pyfunction!(phash, m)?)?;
    m.add_function(wrap_pyfunction!(dhash, m)?)?;
    m.add_function(wrap_pyfunction!(average_hash, m)?)?;
    m.add_function(wrap_pyfunction!(whash, m)?)?;
    m.add_function(wrap_pyfunction!(hash_file, m)?)?;
    m.add_function(wrap_pyfunction!(hash_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(dedup, m)?)?;
    m.add_function(wrap_pyfunction!(distances, m)?)?;
    m.add_function(wrap_pyfunction!(default_threshold, m)?)?;
    add_exceptions(m)?;
    Ok(())
}
