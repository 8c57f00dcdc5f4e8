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

/// The exit code of a run that matched queries: an error anywhere wins, then a match.
pub(crate) fn match_exit_code(errors: u64, matched: u64) -> ExitCode {
    ExitCode::from(if errors > 0 {
        EXIT_ERROR
    } else if matched > 0 {
        EXIT_OK
    } else {
        EXIT_NO_MATCH
    })
}

/// Turns a subcommand's result into the process exit code, printing errors to stderr. A broken
/// pipe (e.g. `| head`) exits quietly.
pub(crate) fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hashsieve: error: {}", error_message(&err));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The error's chain joined by ": ", as anyhow's `{:#}` writes it, but saying each thing once:
/// a library error that names a file already named by an outer context ("cannot write
/// out.hsl") is written without its path, and a source whose text is already in the message
/// (the OS error of [`ErrorKind::Io`](hashsieve::ErrorKind::Io), the decoder's error of
/// [`ErrorKind::Decode`](hashsieve::ErrorKind::Decode)) is left out.
pub(crate) fn error_message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for (i, e) in err.chain().enumerate() {
        let part = match e.downcast_ref::<hashsieve::Error>() {
            Some(he)
                if he
                    .path()
                    .is_some_and(|p| text.contains(&p.display().to_string())) =>
            {
                he.kind().to_string()
            }
            _ => e.to_string(),
        };
        if i > 0 {
            if text.contains(&part) {
                continue;
            }
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<hashsieve::Error>().is_some_and(
                |e| matches!(e.kind(), hashsieve::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
            || e.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
    })
}

/// Output table formats shared by the commands that print rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Tab-separated, with a header row; tab, newline, CR, backslash and bytes that are not
    /// UTF-8 are escaped (`\t`, `\n`, `\r`, `\\`, `\xNN`), so every line is one row.
    Tsv,
    /// Comma-separated (RFC 4180), with a header row; fields quoted as CSV does.
    Csv,
    /// JSON lines: one object per row; the stream ends with a `{"type":"summary", ...}` record
    /// (`export`'s JSON lines are a list to import again, and have none).
    Json,
}

/// One cell of a row: text, or a path kept exact (its bytes, on Unix).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell<'a> {
    /// Text: written as it is (escaped in TSV).
    Text(&'a str),
    /// A path: TSV escapes its bytes that are not UTF-8 as `\xNN`, CSV writes its bytes, JSON
    /// writes a string, or `{"bytes": "<base64>"}` when it is not UTF-8 (as ripgrep does).
    Path(&'a Path),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Cell<'a> {
        Cell::Text(s)
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(s: &'a String) -> Cell<'a> {
        Cell::Text(s)
    }
}

impl<'a> From<&'a Path> for Cell<'a> {
    fn from(p: &'a Path) -> Cell<'a> {
        Cell::Path(p)
    }
}

impl Cell<'_> {
    /// The cell's bytes: a path's own bytes on Unix, its lossy UTF-8 elsewhere.
    fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Cell::Text(s) => s.as_bytes().into(),
            Cell::Path(p) => path_bytes(p),
        }
    }
}

/// A path's bytes, as [`Cell::Path`] writes them: its own bytes on Unix, its lossy UTF-8
/// elsewhere.
pub(crate) fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).into()
    }
    #[cfg(not(unix))]
    match path.to_string_lossy() {
        std::borrow::Cow::Borrowed(s) => s.as_bytes().into(),
        std::borrow::Cow::Owned(s) => s.into_bytes().into(),
    }
}

pub(crate) use hashsieve::list::records::{escape_tsv as tsv_escape, unescape_tsv as tsv_unescape};

/// How JSON output types a column's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColumnType {
    /// A string.
    Text,
    /// A number; an empty cell is `null`.
    Number,
    /// `true` or `false`; an empty cell is `null`.
    Bool,
    /// An array of the cell's space-separated words (`[]` when empty).
    Array,
}

/// Writes rows as TSV, CSV or JSON lines to stdout (or any writer).
///
/// Cells are text or exact paths ([`Cell`]); JSON types the columns named by
/// [`numeric`](RowWriter::numeric), [`booleans`](RowWriter::booleans) and
/// [`arrays`](RowWriter::arrays) and ends with a [`summary`](RowWriter::summary) record. Write
/// errors come back as [`io::Error`]s, so a closed pipe is seen as one ([`finish`]).
pub(crate) struct RowWriter {
    format: Format,
    header: Vec<&'static str>,
    types: Vec<ColumnType>,
    header_pending: bool,
    csv: Option<csv::Writer<Box<dyn Write>>>,
    out: Box<dyn Write>,
    line: Vec<u8>,
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
        let types = vec![ColumnType::Text; header.len()];
        let (csv, out) = match format {
            Format::Csv => (
                Some(csv::WriterBuilder::new().from_writer(out)),
                Box::new(io::sink()) as Box<dyn Write>,
            ),
            Format::Tsv | Format::Json => (None, out),
        };
        // The header goes out with the first row (or flush), unless `without_header` drops it.
        Ok(RowWriter {
            format,
            header_pending: format != Format::Json,
            header,
            types,
            csv,
            out,
            line: Vec::new(),
        })
    }

    fn typed(mut self, columns: &[&str], t: ColumnType) -> RowWriter {
        for (name, ty) in self.header.iter().zip(self.types.iter_mut()) {
            if columns.contains(name) {
                *ty = t;
            }
        }
        self
    }

    /// Names the columns that JSON output writes as numbers (an empty cell becomes `null`).
    pub(crate) fn numeric(self, columns: &[&str]) -> RowWriter {
        self.typed(columns, ColumnType::Number)
    }

    /// Names the columns that JSON output writes as booleans (cells `true`/`false`; an empty
    /// cell becomes `null`).
    pub(crate) fn booleans(self, columns: &[&str]) -> RowWriter {
        self.typed(columns, ColumnType::Bool)
    }

    /// Names the columns that JSON output writes as arrays of strings: the cell's words,
    /// separated by spaces (categories).
    pub(crate) fn arrays(self, columns: &[&str]) -> RowWriter {
        self.typed(columns, ColumnType::Array)
    }

    /// Omits the header row (appending to a file that already has one).
    pub(crate) fn without_header(mut self) -> RowWriter {
        self.header_pending = false;
        self
    }

    fn write_header(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.header_pending) {
            let cells: Vec<Cell<'_>> = self.header.iter().map(|h| Cell::Text(h)).collect();
            self.write_cells(&cells)?;
        }
        Ok(())
    }

    /// Writes one row of text cells, in header order.
    pub(crate) fn row(&mut self, cells: &[&str]) -> anyhow::Result<()> {
        let cells: Vec<Cell<'_>> = cells.iter().map(|c| Cell::Text(c)).collect();
        self.cells(&cells)
    }

    /// Writes one row, in header order.
    pub(crate) fn cells(&mut self, cells: &[Cell<'_>]) -> anyhow::Result<()> {
        debug_assert_eq!(cells.len(), self.header.len());
        self.write_header()?;
        self.write_cells(cells)?;
        Ok(())
    }

    fn write_cells(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        if let Some(csv) = self.csv.as_mut() {
            return csv
                .write_record(cells.iter().map(|c| c.bytes()))
                .map_err(csv_to_io);
        }
        self.line.clear();
        if self.format == Format::Tsv {
            for (i, c) in cells.iter().enumerate() {
                if i > 0 {
                    self.line.push(b'\t');
                }
                tsv_escape(&c.bytes(), &mut self.line);
            }
        } else {
            self.line.push(b'{');
            for (i, ((name, ty), cell)) in
                self.header.iter().zip(&self.types).zip(cells).enumerate()
            {
                if i > 0 {
                    self.line.push(b',');
                }
                serde_json::to_writer(&mut self.line, name)?;
                self.line.push(b':');
                serde_json::to_writer(&mut self.line, &json_value(*ty, cell))?;
            }
            self.line.push(b'}');
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    /// Ends the output: JSON writes one last record, `{"type":"summary", ...}` with `counts`
    /// (rows carry no `type` key, as in `rg --json`); TSV and CSV write nothing more. Flushes.
    pub(crate) fn summary(&mut self, counts: &[(&str, u64)]) -> anyhow::Result<()> {
        self.write_header()?;
        if self.format == Format::Json {
            let mut line = b"{\"type\":\"summary\"".to_vec();
            for (name, n) in counts {
                line.push(b',');
                serde_json::to_writer(&mut line, name)?;
                line.push(b':');
                line.extend_from_slice(n.to_string().as_bytes());
            }
            line.extend_from_slice(b"}\n");
            self.out.write_all(&line)?;
        }
        self.flush()
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

/// A cell as the JSON value of a column of type `ty`.
fn json_value(ty: ColumnType, cell: &Cell<'_>) -> serde_json::Value {
    use serde_json::Value;
    let text = match cell {
        Cell::Text(s) => *s,
        Cell::Path(p) => {
            return match p.to_str() {
                Some(s) => Value::String(s.to_string()),
                None => {
                    use base64::Engine;
                    let b64 = base64::engine::general_purpose::STANDARD.encode(cell.bytes());
                    serde_json::json!({ "bytes": b64 })
                }
            }
        }
    };
    match ty {
        ColumnType::Text => Value::String(text.to_string()),
        ColumnType::Array => text.split_whitespace().map(Value::from).collect(),
        _ if text.is_empty() => Value::Null,
        ColumnType::Number => {
            if let Ok(n) = text.parse::<u64>() {
                n.into()
            } else if let Ok(n) = text.parse::<i64>() {
                n.into()
            } else {
                // A number that is not one is kept as text, never turned into `null`.
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(text.to_string()), Value::Number)
            }
        }
        ColumnType::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
    }
}

fn csv_to_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("CSV: {other:?}")),
    }
}

/// `-L/--follow`, shared by the commands that walk directories.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub(crate) struct WalkArgs {
    /// Follow symbolic links met in directories (default: skip and count them). A file named
    /// on the command line is always read, link or not.
    #[arg(short = 'L', long = "follow")]
    pub(crate) follow: bool,
}

/// What a directory walk left out on purpose, for the end-of-run summary.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Skipped {
    /// Symbolic links in directories, not followed without `-L`.
    pub(crate) links: u64,
    /// The command's own outputs (and temporary files) inside a walked directory.
    pub(crate) outputs: u64,
    /// Pipes, sockets and devices (also reported as errors).
    pub(crate) special: u64,
    /// Entries that could not be read (also reported as errors).
    pub(crate) unreadable: u64,
}

impl Skipped {
    /// Adds the counts of another walk.
    pub(crate) fn add(&mut self, other: Skipped) {
        self.links += other.links;
        self.outputs += other.outputs;
        self.special += other.special;
        self.unreadable += other.unreadable;
    }

    /// A sentence for stderr, or `None` when nothing was skipped.
    pub(crate) fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        let mut part = |n: u64, one: &str, many: &str| {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        part(
            self.links,
            "symbolic link (use -L to follow)",
            "symbolic links (use -L to follow them)",
        );
        part(
            self.outputs,
            "own output or temporary file",
            "own outputs or temporary files",
        );
        part(
            self.special,
            "special file (pipe, socket or device)",
            "special files (pipes, sockets or devices)",
        );
        part(self.unreadable, "unreadable entry", "unreadable entries");
        (!parts.is_empty()).then(|| format!("skipped {}", parts.join(", ")))
    }

    /// The counts as JSON, for reports.
    pub(crate) fn to_json(self) -> serde_json::Value {
        serde_json::json!({"symlinks": self.links, "outputs": self.outputs,
                           "special": self.special, "unreadable": self.unreadable})
    }
}

/// Expands files and directories (recursively, in name order) into the files to process.
///
/// A path named on the command line is always read when it is a regular file once links are
/// followed; a dangling link, a pipe, a socket or a device is reported through `on_error`. In
/// directories, links are followed only with `walk.follow` (else counted in
/// [`Skipped::links`]), the files in `outputs` and temporary files of atomic writes are left
/// out, and special files and unreadable entries are reported through `on_error`.
pub(crate) fn walk_inputs(
    inputs: &[PathBuf],
    walk: WalkArgs,
    outputs: &[FileId],
    mut on_error: impl FnMut(&Path, &dyn std::fmt::Display),
) -> (Vec<PathBuf>, Skipped) {
    let mut files = Vec::new();
    let mut skipped = Skipped::default();
    let is_output =
        |p: &Path| !outputs.is_empty() && FileId::of(p).is_some_and(|id| outputs.contains(&id));
    for input in inputs {
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(err) => {
                if std::fs::symlink_metadata(input).is_ok_and(|m| m.file_type().is_symlink()) {
                    on_error(input, &format!("dangling symbolic link ({err})"));
                } else {
                    on_error(input, &err);
                }
                continue;
            }
        };
        if meta.is_file() {
            files.push(input.clone());
            continue;
        }
        if !meta.is_dir() {
            on_error(
                input,
                &format!(
                    "is {}, not a regular file",
                    hashsieve::fs::file_kind(&meta.file_type())
                ),
            );
            continue;
        }
        for entry in walkdir::WalkDir::new(input)
            .follow_links(walk.follow)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) => {
                    let t = e.file_type();
                    if t.is_dir() {
                        continue;
                    }
                    if t.is_symlink() {
                        skipped.links += 1;
                    } else if hashsieve::fs::is_temp_file_name(e.file_name())
                        || (t.is_file() && is_output(e.path()))
                    {
                        skipped.outputs += 1;
                    } else if t.is_file() {
                        files.push(e.into_path());
                    } else {
                        skipped.special += 1;
                        on_error(
                            e.path(),
                            &format!("is {}, not a regular file", hashsieve::fs::file_kind(&t)),
                        );
                    }
                }
                Err(err) => {
                    skipped.unreadable += 1;
                    let p = err.path().unwrap_or(input).to_path_buf();
                    on_error(&p, &err);
                }
            }
        }
    }
    (files, skipped)
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&progress_template(what))
            .expect("valid template")
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&rate(state.per_sec()));
                },
            ),
    );
    pb
}

/// The progress bar's template: `{rate}` is [`rate`], rounded (indicatif's own `{per_sec}`
/// prints "40.3237/s").
fn progress_template(what: &str) -> String {
    format!("{{spinner}} {{pos}}/{{len}} {what} [{{elapsed_precise}}] {{rate}} ETA {{eta}} {{wide_bar}}")
}

/// A rate for people: "40/s", "2.5/s" (one decimal under 10), "0/s" before the first item.
pub(crate) fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0/s".to_string()
    } else if per_sec < 9.95 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{per_sec:.0}/s")
    }
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

/// Writes `bytes` to `path` atomically ([`hashsieve::fs::AtomicFile`]): `path` holds either its
/// old content or all of the new. A path that exists and is not a regular file (`/dev/stdout`, a
/// pipe) is written directly: renaming over it would replace it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    hashsieve::fs::write_atomic(path, bytes).context("cannot write")
}

/// On `SIGINT` or `SIGTERM`, removes the temporary files being written and exits with
/// 128 + the signal's number (130, 143). A thread that waits for the signal does the work, so
/// it may lock and allocate, which a signal handler may not.
pub(crate) fn remove_temp_files_on_signal() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    hashsieve::fs::remove_temp_files();
                    std::process::exit(128 + sig);
                }
            });
        }
    }
}

/// A file's identity: device and inode number (Unix), or its canonical path elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FileId(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

impl FileId {
    /// The identity of the file `path` names, following symbolic links; `None` if there is none.
    pub(crate) fn of(path: &Path) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path)
                .ok()
                .map(|m| FileId((m.dev(), m.ino())))
        }
        #[cfg(not(unix))]
        {
            std::fs::canonicalize(path).ok().map(FileId)
        }
    }

    /// The identity of standard output, where it is a regular file (`> file`, `>> file`).
    pub(crate) fn of_stdout() -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            use std::os::unix::fs::MetadataExt;
            let fd = io::stdout().as_fd().try_clone_to_owned().ok()?;
            let m = std::fs::File::from(fd).metadata().ok()?;
            m.is_file().then(|| FileId((m.dev(), m.ino())))
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

/// The files a command reads and writes, to check before anything is written that no output
/// is an input: writing would destroy it (a list mapped for reading dies with `SIGBUS` when
/// it is cut; a scan output resumed into an image appends text to it).
#[derive(Default)]
pub(crate) struct Files<'a> {
    lists: Vec<&'a Path>,
    inputs: Vec<&'a Path>,
    outputs: Vec<&'a Path>,
}

impl<'a> Files<'a> {
    pub(crate) fn new() -> Files<'a> {
        Files::default()
    }

    /// Hash-list files the command reads: inputs that must be regular files (a list is mapped;
    /// a pipe would block the reader forever).
    pub(crate) fn lists(mut self, paths: impl IntoIterator<Item = &'a Path>) -> Files<'a> {
        let paths: Vec<&Path> = paths.into_iter().collect();
        self.lists.extend(&paths);
        self.inputs.extend(paths);
        self
    }

    /// Files (or directories: only the directory itself is compared) the command reads.
    pub(crate) fn inputs(mut self, paths: impl IntoIterator<Item = &'a Path>) -> Files<'a> {
        self.inputs.extend(paths);
        self
    }

    /// Files the command writes.
    pub(crate) fn outputs(mut self, paths: impl IntoIterator<Item = &'a Path>) -> Files<'a> {
        self.outputs.extend(paths);
        self
    }

    /// Refuses when an output is the same file as an input (through any path or link), or
    /// when standard output is redirected onto an input, or two outputs are one file.
    /// Also refuses a list that is not a regular file.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        for list in &self.lists {
            regular_file(list).context("cannot open the list")?;
        }
        let ins: Vec<(&Path, FileId)> = self
            .inputs
            .iter()
            .filter(|p| p.as_os_str() != "-")
            .filter_map(|p| FileId::of(p).map(|id| (*p, id)))
            .collect();
        let mut outs: Vec<(String, FileId)> = self
            .outputs
            .iter()
            .filter_map(|p| FileId::of(p).map(|id| (p.display().to_string(), id)))
            .collect();
        if let Some(id) = FileId::of_stdout() {
            outs.push(("standard output".to_string(), id));
        }
        for (out, out_id) in &outs {
            if let Some((input, _)) = ins.iter().find(|(_, id)| id == out_id) {
                anyhow::bail!(
                    "the output {out} is the input {}: writing it would destroy the input; \
                     write to another file (and rename it if you want to replace the input)",
                    input.display()
                );
            }
        }
        for (i, (a, a_id)) in outs.iter().enumerate() {
            if let Some((b, _)) = outs[i + 1..].iter().find(|(_, id)| id == a_id) {
                anyhow::bail!("the outputs {a} and {b} are the same file; give each its own");
            }
        }
        Ok(())
    }

    /// The identities of the outputs that exist now: a directory walk skips them, so that a
    /// command never reads what it writes.
    pub(crate) fn output_ids(&self) -> Vec<FileId> {
        let mut ids: Vec<FileId> = self.outputs.iter().filter_map(|p| FileId::of(p)).collect();
        ids.extend(FileId::of_stdout());
        ids
    }
}

/// Refuses a path that is not a regular file once links are followed: a FIFO would block the
/// reader forever, and a device or socket is no list, image or text file.
pub(crate) fn regular_file(path: &Path) -> anyhow::Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?;
    if meta.is_file() {
        return Ok(());
    }
    anyhow::bail!(
        "{} is {}, not a regular file",
        path.display(),
        hashsieve::fs::file_kind(&meta.file_type())
    )
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
        let (kind, q) = crate::args::per_algorithm(s)?;
        if let Some(k) = kind.filter(|k| k.is_exact()) {
            return Err(format!(
                "{k} hashes are exact: they have no quality to gate (use a perceptual algorithm)"
            ));
        }
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

/// How `match` and `scan` hash their images: dihedral variants, EXIF orientation, quality gates.
#[derive(clap::Args)]
pub(crate) struct ImageQueryArgs {
    #[command(flatten)]
    pub(crate) dihedral: DihedralArgs,
    #[command(flatten)]
    pub(crate) decoding: DecodeArgs,
    /// Quality gates, comma separated: Q for every algorithm or ALGO=Q for one, later items
    /// winning (`0` turns every gate off; `pdq=70,phash=10`). Images (and, in `match`, hashes
    /// read with a quality) below their algorithm's gate are skipped (`match` reports them on
    /// stderr, `scan` records them as `skipped`). Default: pdq=50, and 1 for the others, which
    /// skips only images that are flat on the algorithm's grid.
    #[arg(long, value_delimiter = ',', value_name = "[ALGO=]Q")]
    pub(crate) min_quality: Vec<QualityGate>,
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
            .pdq_options(hashsieve::algo::pdq::PdqOptions::default().dihedral(self.mode()))
    }
}

/// How images are decoded, shared by every command that hashes them: `--exif` and `--decode`.
#[derive(Clone, Copy, clap::Args)]
pub(crate) struct DecodeArgs {
    /// Orientation tags: `reference` does what the reference tools do (EXIF orientation ignored,
    /// TIFF orientation applied, as Pillow does); `apply` turns every image upright first.
    #[arg(long, value_enum, default_value = "reference")]
    exif: ExifArg,
    /// How JPEGs are decoded: `exact` gives Pillow's pixels, so hashes equal the reference
    /// tools' bit for bit; `fast` decodes at 1/2, 1/4 or 1/8 scale in the DCT domain, keeping
    /// the image at least as large as the algorithms need (512 px a side for PDQ), several
    /// times faster on large photos, hashes a few bits off the exact ones (README: "JPEG
    /// decoding"). Other formats decode the same either way.
    #[arg(long, value_enum, default_value = "exact")]
    decode: DecodeArg,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum DecodeArg {
    Exact,
    Fast,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExifArg {
    Reference,
    Apply,
}

impl DecodeArgs {
    /// The decode mode's name, as `--decode` takes it (recorded in scan settings).
    pub(crate) fn decode_name(self) -> String {
        use clap::ValueEnum;
        self.decode
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned())
    }

    /// `base` with the orientation handling and the JPEG decode mode asked for, for hashes of
    /// `kinds` (`fast` keeps what the most demanding of them needs).
    pub(crate) fn apply(
        self,
        base: hashsieve::image::DecodeOptions,
        kinds: &[hashsieve::HashKind],
    ) -> hashsieve::image::DecodeOptions {
        let mode = match self.decode {
            DecodeArg::Exact => hashsieve::image::DecodeMode::Exact,
            DecodeArg::Fast => hashsieve::image::DecodeMode::fast_for(kinds.iter().copied()),
        };
        base.orientation(self.orientation()).mode(mode)
    }

    /// The orientation handling asked for.
    pub(crate) fn orientation(self) -> hashsieve::image::Orientation {
        match self.exif {
            ExifArg::Reference => hashsieve::image::Orientation::Reference,
            ExifArg::Apply => hashsieve::image::Orientation::Apply,
        }
    }
}

/// Opens a list file for a command: memory-mapped, every byte verified before it is used
/// (checksums of every section, structure), special files refused without blocking.
pub(crate) fn open_list(path: &Path) -> hashsieve::Result<hashsieve::HashList> {
    // SAFETY: hashsieve writes lists by atomic rename and the README tells users to replace
    // them the same way, never in place; a list overwritten in place while a command runs is
    // the documented hazard of `open_mmap` (the command may die with SIGBUS). Mapping keeps a
    // 10M-entry list out of the heap.
    unsafe { hashsieve::HashList::open_mmap(path) }
}

/// Opens a list file for `info`: the header and section table only (constant time, section
/// checksums not checked, so a damaged list can still be inspected); special files refused
/// without blocking. Nothing may answer from a list opened this way.
pub(crate) fn open_list_header(path: &Path) -> anyhow::Result<hashsieve::HashList> {
    let inner = || -> anyhow::Result<hashsieve::HashList> {
        let file = hashsieve::fs::open_regular(path)?;
        if file.metadata()?.len() == 0 {
            anyhow::bail!("the file is empty; it is not a hash list");
        }
        // SAFETY: as `open_list`; `info` reads the header and section table only.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(hashsieve::HashList::from_bytes_unverified(map)?)
    };
    inner().with_context(|| path.display().to_string())
}

/// Decoding options for a command whose workers decode one image, hash it and drop it, with
/// nothing in between that waits for other threads (no parallel query): each image counts
/// against the process-wide decode budget until it is dropped, so memory stays bounded whatever
/// the thread count. (`scan` queries the matcher, which runs in parallel, while it holds the
/// image: it keeps the default, where only the decode itself counts.)
pub(crate) fn decode_options() -> hashsieve::image::DecodeOptions {
    hashsieve::image::DecodeOptions::default().keep_reserved(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Library errors now return their OS or decoder error as the source, and that text is
    /// already in their message: the chain says it once.
    #[test]
    fn error_chain_says_each_thing_once() {
        let missing = std::path::Path::new("/nonexistent/dir/list.hsl");
        let lib_err = hashsieve::HashList::read(missing).unwrap_err();
        assert!(std::error::Error::source(&lib_err).is_some());
        let os = std::fs::File::open(missing).unwrap_err().to_string();
        let msg = error_message(&anyhow::Error::new(lib_err).context("cannot open the list"));
        assert_eq!(msg.matches(&os).count(), 1, "{msg}");
        assert_eq!(msg.matches("list.hsl").count(), 1, "{msg}");
        assert!(msg.starts_with("cannot open the list: "), "{msg}");

        let decode =
            hashsieve::image::decode(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", &Default::default())
                .unwrap_err();
        let source = std::error::Error::source(&decode)
            .expect("the decoder's error is kept")
            .to_string();
        let msg = error_message(&anyhow::Error::new(decode).context("cannot hash"));
        assert_eq!(msg.matches(&source).count(), 1, "{msg}");

        // A context with the same words as a source is not dropped by accident: only a source
        // whose whole text is already there is.
        let err = anyhow::anyhow!("disk full").context("cannot write out.hsl");
        assert_eq!(error_message(&err), "cannot write out.hsl: disk full");
    }

    #[test]
    fn rates_are_rounded() {
        assert_eq!(rate(40.3237), "40/s");
        assert_eq!(rate(1234.5678), "1235/s");
        assert_eq!(rate(2.5371), "2.5/s");
        assert_eq!(rate(9.96), "10/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
    }

    #[test]
    fn progress_shows_a_rounded_rate() {
        // The template renders through `rate`, not indicatif's `{per_sec}` ("40.3237/s").
        let t = progress_template("files");
        assert!(t.contains("{rate}") && !t.contains("per_sec"), "{t}");
        progress(10, "files").finish_and_clear();
    }

    #[test]
    fn tsv_escaping_is_exact_and_reversible() {
        let mut out = Vec::new();
        tsv_escape(b"a\tb\\c\n\r\xff\xfe\x80 \"\xc3\xa9", &mut out);
        assert_eq!(out, b"a\\tb\\\\c\\n\\r\\xff\\xfe\\x80 \"\xc3\xa9");
        let raw: &[u8] = b"a\tb\\c\n\r\xff\xfe\x80 \"\xc3\xa9\\x41";
        out.clear();
        tsv_escape(raw, &mut out);
        assert_eq!(tsv_unescape(&out), raw);
    }
}
