//! `hashsieve hash`: hash files and directories in parallel.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use hashsieve::algo::pdq::Dihedral;
use hashsieve::algo::{HashOutput, Hasher};
use hashsieve::image::decode_path;
use hashsieve::HashKind;
use rayon::prelude::*;

use crate::common::{self, Format, RowWriter};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Algorithms, comma separated: pdq, phash, dhash, ahash, whash (and the 256-bit forms
    /// phash256, dhash256, ahash256, whash256).
    #[arg(long, value_delimiter = ',', default_value = "pdq")]
    algo: Vec<HashKind>,
    #[command(flatten)]
    dihedral: common::DihedralArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
    #[command(flatten)]
    exif: common::ExifArgs,
    #[command(flatten)]
    walk: common::WalkArgs,
    /// Image files or directories (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// One file's rows, computed in a worker thread.
type FileRows = Vec<[String; 5]>;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let errored = AtomicBool::new(false);
    let report = |path: &std::path::Path, err: &dyn std::fmt::Display| {
        errored.store(true, Ordering::Relaxed);
        eprintln!("hashsieve: {}: {err}", path.display());
    };
    let files = common::Files::new().inputs(args.paths.iter().map(PathBuf::as_path));
    files.check()?;
    let (files, skipped) = common::walk_inputs(&args.paths, args.walk, &files.output_ids(), report);
    let hasher = args
        .dihedral
        .hasher()
        .with_decode_options(common::decode_options().with_orientation(args.exif.orientation()));

    let mut header = vec!["path", "algorithm", "hash", "quality"];
    if args.dihedral.enabled() {
        header.push("orientation");
    }
    let mut out = RowWriter::stdout(args.format, header)?.numeric(&["quality"]);
    let pb = common::progress(files.len() as u64, "files");
    // Chunks keep the output in input order while the files of a chunk hash in parallel.
    for chunk in files.chunks(256) {
        let results: Vec<anyhow::Result<FileRows>> = chunk
            .par_iter()
            .map(|path| hash_file(path, &args, &hasher))
            .collect();
        for (path, result) in chunk.iter().zip(results) {
            pb.inc(1);
            match result {
                Ok(rows) => {
                    for row in rows {
                        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                        out.row(&cells[..if args.dihedral.enabled() { 5 } else { 4 }])?;
                    }
                }
                Err(err) => report(path, &format!("{err:#}")),
            }
        }
    }
    pb.finish_and_clear();
    out.flush()?;
    if let Some(line) = skipped.summary() {
        eprintln!("hashsieve: {line}");
    }
    Ok(ExitCode::from(if errored.load(Ordering::Relaxed) {
        common::EXIT_ERROR
    } else {
        common::EXIT_OK
    }))
}

fn hash_file(path: &std::path::Path, args: &Args, hasher: &Hasher) -> anyhow::Result<FileRows> {
    let image = decode_path(path, hasher.decode_options()).context("cannot hash")?;
    let pixels = image.pixels();
    let shown = path.display().to_string();
    let mut rows = Vec::new();
    for &kind in &args.algo {
        if kind == HashKind::Pdq && args.dihedral.enabled() {
            let dih = hasher.pdq_dihedral_pixels(&pixels);
            for d in Dihedral::ALL {
                rows.push([
                    shown.clone(),
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
            shown.clone(),
            kind.name().to_string(),
            value.to_hex(),
            quality,
            orientation.to_string(),
        ]);
    }
    Ok(rows)
}
