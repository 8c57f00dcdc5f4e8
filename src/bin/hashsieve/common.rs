//! Helpers shared by the subcommands: exit codes, output writers, progress bars, file walking.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

/// Exit code for success (and, for `match`, at least one match).
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code for "ran fine, nothing matched".
pub(crate) const EXIT_NO_MATCH: u8 = 1;
/// Exit code for any error, including one failed file in a batch.
pub(crate) const EXIT_ERROR: u8 = 2;

/// Turns a subcommand's result into the process exit code, printing errors to stderr. A broken
/// pipe (e.g. `| head`) exits quietly.
pub(crate) fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hashsieve: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<hashsieve::Error>().is_some_and(
                |e| matches!(e.kind(), hashsieve::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
            || e.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
    })
}

/// Output table formats shared by the commands that print rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Tab-separated, with a header row.
    Tsv,
    /// Comma-separated (RFC 4180), with a header row.
    Csv,
    /// JSON lines: one object per row.
    Json,
}

/// Writes rows of string cells as TSV, CSV or JSON lines to stdout.
pub(crate) struct RowWriter {
    format: Format,
    header: Vec<&'static str>,
    numeric: &'static [&'static str],
    header_pending: bool,
    csv: Option<csv::Writer<Box<dyn Write>>>,
    out: Box<dyn Write>,
}

impl RowWriter {
    pub(crate) fn stdout(format: Format, header: Vec<&'static str>) -> anyhow::Result<RowWriter> {
        let out: Box<dyn Write> = Box::new(io::BufWriter::new(io::stdout().lock()));
        RowWriter::new(out, format, header)
    }

    pub(crate) fn new(
        out: Box<dyn Write>,
        format: Format,
        header: Vec<&'static str>,
    ) -> anyhow::Result<RowWriter> {
        let w = match format {
            Format::Json => RowWriter {
                format,
                header,
                numeric: &[],
                header_pending: false,
                csv: None,
                out,
            },
            Format::Tsv | Format::Csv => {
                let delim = if format == Format::Tsv { b'\t' } else { b',' };
                let csv = csv::WriterBuilder::new().delimiter(delim).from_writer(out);
                RowWriter {
                    format,
                    header,
                    numeric: &[],
                    header_pending: true,
                    csv: Some(csv),
                    out: Box::new(io::sink()),
                }
            }
        };
        // The header goes out with the first row (or flush), unless `without_header` drops it.
        Ok(w)
    }

    /// Names the columns that JSON output writes as numbers (an empty cell becomes `null`).
    pub(crate) fn numeric(mut self, columns: &'static [&'static str]) -> RowWriter {
        self.numeric = columns;
        self
    }

    /// Omits the header row (appending to a file that already has one).
    pub(crate) fn without_header(mut self) -> RowWriter {
        self.header_pending = false;
        self
    }

    fn write_header(&mut self) -> anyhow::Result<()> {
        if std::mem::take(&mut self.header_pending) {
            if let Some(csv) = self.csv.as_mut() {
                csv.write_record(&self.header)?;
            }
        }
        Ok(())
    }

    /// Writes one row; `cells` are in header order.
    pub(crate) fn row(&mut self, cells: &[&str]) -> anyhow::Result<()> {
        debug_assert_eq!(cells.len(), self.header.len());
        self.write_header()?;
        if let Some(csv) = self.csv.as_mut() {
            csv.write_record(cells)?;
        } else {
            let mut obj = serde_json::Map::new();
            for (k, v) in self.header.iter().zip(cells) {
                let value = if !self.numeric.contains(k) {
                    serde_json::Value::String((*v).to_string())
                } else if let Ok(n) = v.parse::<u64>() {
                    n.into()
                } else {
                    serde_json::Value::Null
                };
                obj.insert((*k).to_string(), value);
            }
            serde_json::to_writer(&mut self.out, &obj)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> anyhow::Result<()> {
        self.write_header()?;
        match self.csv.as_mut() {
            Some(csv) => csv.flush()?,
            None => self.out.flush()?,
        }
        Ok(())
    }

    #[allow(dead_code)]
    pub(crate) fn format(&self) -> Format {
        self.format
    }
}

/// Expands files and directories (recursively, in name order) into the files to process.
/// Unreadable directory entries are reported through `on_error` and skipped.
pub(crate) fn walk_inputs(
    inputs: &[PathBuf],
    mut on_error: impl FnMut(&Path, &dyn std::fmt::Display),
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for input in inputs {
        for entry in walkdir::WalkDir::new(input)
            .follow_links(false)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
                Ok(_) => {}
                Err(err) => {
                    let p = err.path().unwrap_or(input).to_path_buf();
                    on_error(&p, &err);
                }
            }
        }
    }
    files
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{pos}}/{{len}} {what} [{{elapsed_precise}}] {{per_sec}} ETA {{eta}} {{wide_bar}}"
        ))
        .expect("valid template"),
    );
    pb
}

/// One row of a hash text file, before its hash is parsed.
pub(crate) struct HashLine {
    /// 1-based line number, for messages (never the hash itself).
    pub(crate) line: usize,
    /// The row's id: the TSV `path` (or `id`) column, or the text after a hex line's comma.
    pub(crate) id: Option<String>,
    /// The TSV `algorithm` column, where there is one.
    pub(crate) algorithm: Option<String>,
    /// The hex text (a hex line's `hash=` prefix removed).
    pub(crate) hex: String,
    /// The TSV `quality` column, where present and not empty.
    pub(crate) quality: Option<String>,
    /// The TSV `orientation` column, where present and not empty.
    pub(crate) orientation: Option<String>,
}

/// Reads our `hashsieve hash` TSV (a header row with a `hash` column; optional `path`/`id`,
/// `algorithm`, `quality`, `orientation`) or hex lines (`[hash=]HEX[,ID]`, `#` comments). Blank
/// lines, a byte-order mark and CR line ends are ignored.
pub(crate) fn read_hash_lines(
    input: impl io::BufRead,
    source: &str,
) -> anyhow::Result<Vec<HashLine>> {
    let mut rows = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut first = true;
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| anyhow::anyhow!("{source}:{}: {e}", n + 1))?;
        let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if std::mem::take(&mut first)
            && line
                .split('\t')
                .any(|c| c.trim().eq_ignore_ascii_case("hash"))
        {
            columns = Some(
                line.split('\t')
                    .map(|c| c.trim().to_ascii_lowercase())
                    .collect(),
            );
            continue;
        }
        let row = match &columns {
            Some(cols) => {
                let cells: Vec<&str> = line.split('\t').collect();
                let cell = |name: &str| {
                    cols.iter()
                        .position(|c| c == name)
                        .and_then(|i| cells.get(i))
                        .map(|c| c.trim())
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                };
                HashLine {
                    line: n + 1,
                    id: cell("path").or_else(|| cell("id")),
                    algorithm: cell("algorithm"),
                    hex: cell("hash").unwrap_or_default(),
                    quality: cell("quality"),
                    orientation: cell("orientation"),
                }
            }
            None => {
                let body = line.trim();
                if body.starts_with('#') {
                    continue;
                }
                let body = body.strip_prefix("hash=").unwrap_or(body);
                let (hex, id) = match body.split_once(',') {
                    Some((h, id)) => (h.trim(), Some(id.trim()).filter(|s| !s.is_empty())),
                    None => (body, None),
                };
                HashLine {
                    line: n + 1,
                    id: id.map(str::to_string),
                    algorithm: None,
                    hex: hex.to_string(),
                    quality: None,
                    orientation: None,
                }
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

/// The hash of `kind` for one decoded image and the query to match it with: PDQ's 8 dihedral
/// variants when `dihedral` is set (computed in the same pass), else the plain hash.
pub(crate) fn image_query(
    hasher: &hashsieve::algo::Hasher,
    pixels: &hashsieve::PixelBuffer<'_>,
    kind: hashsieve::HashKind,
    dihedral: bool,
) -> (hashsieve::HashOutput, hashsieve::matching::Query) {
    use hashsieve::matching::Query;
    if kind == hashsieve::HashKind::Pdq && dihedral {
        let (plain, variants) = hasher.pdq_and_dihedral(pixels);
        (plain, Query::pdq_dihedral(&variants))
    } else {
        let out = hasher.hash_pixels(pixels, kind);
        (out, Query::new(kind, out.value, out.quality))
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed, so
/// `path` holds either its old content or all of the new. A path that exists and is not a
/// regular file (`/dev/stdout`, a pipe) is written directly: renaming over it would replace it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// One item of `--min-quality`: `Q` sets the gate of every algorithm, `ALGO=Q` of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QualityGate {
    kind: Option<hashsieve::HashKind>,
    min: u8,
}

impl std::str::FromStr for QualityGate {
    type Err = String;

    fn from_str(s: &str) -> Result<QualityGate, String> {
        let (kind, q) = match s.split_once('=') {
            Some((k, q)) => (Some(k.trim().parse().map_err(|e| format!("{e}"))?), q),
            None => (None, s),
        };
        match q.trim().parse::<u8>() {
            Ok(min) if min <= 100 => Ok(QualityGate { kind, min }),
            _ => Err(format!(
                "quality gate {q:?} is not a number 0..=100 (use Q or ALGO=Q, e.g. 0 or pdq=50)"
            )),
        }
    }
}

/// The matcher options for the `--min-quality` items, applied in order over the defaults.
pub(crate) fn matcher_options(gates: &[QualityGate]) -> hashsieve::matching::MatcherOptions {
    gates.iter().fold(
        hashsieve::matching::MatcherOptions::default(),
        |opts, g| match g.kind {
            Some(kind) => opts.min_quality(kind, g.min),
            None => opts.min_quality_all(g.min),
        },
    )
}

/// `--dihedral` and `--dihedral-mode`, shared by `hash`, `match` and `scan`.
#[derive(clap::Args)]
pub(crate) struct DihedralArgs {
    /// PDQ's 8 rotations and flips of each image too: `hash` prints one row per orientation
    /// (in the reference's order), `match` and `scan` match all 8 and report the orientation
    /// that matched.
    #[arg(long)]
    dihedral: bool,
    /// How the 8 are computed (implies `--dihedral`): `reference` (the default: from the DCT,
    /// bit-exact with pdqhash and ThreatExchange) or `exact` (the hashes of the rotated and
    /// flipped pixels, which match rotated and flipped copies more reliably).
    #[arg(long)]
    dihedral_mode: Option<hashsieve::algo::pdq::DihedralMode>,
}

impl DihedralArgs {
    /// Whether the dihedral variants are wanted.
    pub(crate) fn enabled(&self) -> bool {
        self.dihedral || self.dihedral_mode.is_some()
    }

    /// The mode asked for (default `reference`).
    pub(crate) fn mode(&self) -> hashsieve::algo::pdq::DihedralMode {
        self.dihedral_mode.unwrap_or_default()
    }

    /// A hasher that computes the variants in that mode.
    pub(crate) fn hasher(&self) -> hashsieve::algo::Hasher {
        hashsieve::algo::Hasher::new()
            .with_pdq_options(hashsieve::algo::pdq::PdqOptions::default().dihedral(self.mode()))
    }
}

/// Decoding options for a command whose workers decode one image, hash it and drop it, with
/// nothing in between that waits for other threads (no parallel query): each image counts
/// against the process-wide decode budget until it is dropped, so memory stays bounded whatever
/// the thread count. (`scan` queries the matcher, which runs in parallel, while it holds the
/// image: it keeps the default, where only the decode itself counts.)
pub(crate) fn decode_options() -> hashsieve::image::DecodeOptions {
    hashsieve::image::DecodeOptions::default().with_keep_reserved(true)
}

/// Makes freed large buffers go straight back to the operating system. glibc raises its mmap
/// threshold (up to 32 MiB) after the first large buffer is freed; from then on freed image
/// buffers stay in per-thread arenas, and with many threads the resident memory rose to 1.6x
/// what was live (422 MB for a 256 MiB decode budget, 32 threads, `benches/decode_memory.sh`).
/// A fixed threshold of 1 MiB keeps it near what is live. Call it before any thread starts.
pub(crate) fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets an allocator parameter, with a valid one; it is called at
    // start-up, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
