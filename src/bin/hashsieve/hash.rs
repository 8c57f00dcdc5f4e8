//! `hashsieve hash`: hash files and directories in parallel.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::{HashOutput, Hasher};
use hashsieve::image::{decode_path, decode_reader};
use hashsieve::HashKind;

use crate::common::{self, Cell, Format, RowWriter};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Algorithms, comma separated: pdq, phash, dhash, ahash, whash (and the 256-bit forms
    /// phash256, dhash256, ahash256, whash256), and the exact hashes of the file bytes md5,
    /// sha1, sha256, computed in the same read. A file that is not an image still gets its
    /// exact hashes (a note on standard error says why it has no perceptual ones).
    #[arg(long, value_delimiter = ',', default_value = "pdq")]
    algo: Vec<HashKind>,
    #[command(flatten)]
    dihedral: common::DihedralArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    #[command(flatten)]
    decoding: common::DecodeArgs,
    #[command(flatten)]
    walk: common::WalkArgs,
    /// Image files or directories (searched recursively); `-` reads one image from standard
    /// input (its path column is `-`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// One file's rows, computed in a worker thread: the hash cells of each row (algorithm, hash,
/// quality, orientation), the path going in front; the file size; a note (why a file that is
/// not an image has only its exact hashes).
type FileRows = (Vec<[String; 4]>, Option<u64>, Option<String>);

/// What to hash: a file, or the image on standard input (`-`).
enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    fn path(&self) -> &Path {
        match self {
            Source::File(p) => p,
            Source::Stdin => Path::new("-"),
        }
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let errors = AtomicU64::new(0);
    let report = |path: &Path, err: &dyn std::fmt::Display| {
        errors.fetch_add(1, Ordering::Relaxed);
        eprintln!("hashsieve: {}: {err}", path.display());
    };
    if args.paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        anyhow::bail!("`-` (standard input, one image) is given more than once");
    }
    let files = common::Files::new().inputs(args.paths.iter().map(PathBuf::as_path));
    files.check()?;
    let outputs = files.output_ids();
    let mut sources = Vec::new();
    let mut skipped = common::Skipped::default();
    for input in &args.paths {
        if input.as_os_str() == "-" {
            sources.push(Source::Stdin);
            continue;
        }
        let (walked, s) =
            common::walk_inputs(std::slice::from_ref(input), args.walk, &outputs, report);
        skipped.add(s);
        sources.extend(walked.into_iter().map(Source::File));
    }
    let hasher = args
        .dihedral
        .hasher()
        .decode_options(args.decoding.apply(common::decode_options(), &args.algo));

    if args.dihedral.enabled() && args.algo.iter().any(|k| k.is_exact()) {
        anyhow::bail!("--dihedral cannot be combined with exact hashes (md5, sha1, sha256) yet");
    }
    let mut header = vec!["path", "algorithm", "hash", "quality"];
    if args.dihedral.enabled() {
        header.push("orientation");
    }
    let width = header.len();
    header.push("size");
    let mut out = RowWriter::stdout(args.format, header)?.numeric(&["quality", "size"]);
    let pb = common::progress(sources.len() as u64, "files");
    let (mut hashed, mut rows_written) = (0u64, 0u64);
    // Files hash in parallel and their rows come out in input order (crate::pipeline).
    crate::pipeline::ordered(
        &sources,
        |source| {
            if let Source::File(path) = source {
                crate::pipeline::read_ahead(path);
            }
        },
        |source| hash_source(source, &args, &hasher),
        |source, result| {
            pb.inc(1);
            match result {
                Ok((rows, size, note)) => {
                    hashed += 1;
                    if let Some(note) = note {
                        eprintln!("hashsieve: {}: {note}", source.path().display());
                    }
                    let size = size.map(|s| s.to_string()).unwrap_or_default();
                    for row in &rows {
                        let mut cells = vec![Cell::Path(source.path())];
                        cells.extend(row[..width - 1].iter().map(Cell::from));
                        cells.push(Cell::from(&size));
                        out.cells(&cells)?;
                        rows_written += 1;
                    }
                }
                Err(err) => report(source.path(), &common::error_message(&err)),
            }
            Ok(())
        },
    )?;
    pb.finish_and_clear();
    out.summary(&[
        ("hashed", hashed),
        ("errors", errors.load(Ordering::Relaxed)),
        ("rows", rows_written),
    ])?;
    if let Some(line) = skipped.summary() {
        eprintln!("hashsieve: {line}");
    }
    Ok(ExitCode::from(if errors.load(Ordering::Relaxed) > 0 {
        common::EXIT_ERROR
    } else {
        common::EXIT_OK
    }))
}

fn hash_source(source: &Source, args: &Args, hasher: &Hasher) -> anyhow::Result<FileRows> {
    if args.dihedral.enabled() {
        return hash_source_dihedral(source, args, hasher);
    }
    // One read: exact digests of the bytes as they stream in, perceptual hashes of the image
    // decoded from the same bytes.
    let out = match source {
        Source::File(path) => hasher.hash_file(path, &args.algo),
        Source::Stdin => hasher.hash_reader(std::io::stdin().lock(), &args.algo),
    }
    .map_err(|e| hashsieve::Error::new(e.into_kind()))
    .context("cannot hash")?;
    let mut note = None;
    if let Some(err) = out.decode_error {
        if !args.algo.iter().any(|k| k.is_exact()) {
            return Err(
                anyhow::Error::new(hashsieve::Error::new(err.into_kind())).context("cannot hash")
            );
        }
        note = Some(format!(
            "exact hashes only, no perceptual hash: {}",
            common::error_message(&anyhow::Error::new(err))
        ));
    }
    let rows = out
        .hashes
        .iter()
        .map(|h| {
            [
                h.kind.name().to_string(),
                h.value.to_hex(),
                h.quality.map(|q| q.to_string()).unwrap_or_default(),
                String::new(),
            ]
        })
        .collect();
    Ok((rows, Some(out.size), note))
}

fn hash_source_dihedral(source: &Source, args: &Args, hasher: &Hasher) -> anyhow::Result<FileRows> {
    let opts = &hasher.decode_options;
    let image = match source {
        Source::File(path) => decode_path(path, opts),
        Source::Stdin => decode_reader(std::io::stdin().lock(), opts),
    }
    // The path goes in front of the message once, by the caller: not again from the error.
    .map_err(|e| hashsieve::Error::new(e.into_kind()))
    .context("cannot hash")?;
    let pixels = image.pixels();
    let mut rows = Vec::new();
    for &kind in &args.algo {
        if kind == HashKind::Pdq && args.dihedral.enabled() {
            let dih = hasher.pdq_dihedral_pixels(&pixels);
            for d in Dihedral::ALL {
                rows.push([
                    kind.name().to_string(),
                    dih.get(d).to_hex(),
                    dih.quality.to_string(),
                    d.name().to_string(),
                ]);
            }
            continue;
        }
        let HashOutput { value, quality, .. } = hasher.hash_pixels(&pixels, kind);
        let quality = quality.map(|q| q.to_string()).unwrap_or_default();
        let orientation = if args.dihedral.enabled() {
            Dihedral::Orig.name()
        } else {
            ""
        };
        rows.push([
            kind.name().to_string(),
            value.to_hex(),
            quality,
            orientation.to_string(),
        ]);
    }
    let size = match source {
        Source::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
        Source::Stdin => None,
    };
    Ok((rows, size, None))
}
