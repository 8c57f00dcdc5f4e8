//! Writing to a path that is not a regular file (a pipe, `/dev/stdout`) writes through it: the
//! atomic temp-file-and-rename must never replace it. Tested with a named pipe, never with a
//! device, so a regression cannot damage the machine running the tests.
#![cfg(unix)]

use crate::common;

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hashsieve::list::EntryMeta;
use hashsieve::{Hash256, HashKind, HashList, ListBuilder};

/// A named pipe in a fresh directory (`mkfifo` is part of every Unix userland).
fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("pipe");
    common::mkfifo(&path);
    path
}

/// Reads the pipe to its end on another thread while `write` runs. Had the writer replaced the
/// pipe, the reader would wait for a writer forever; the timeout turns that into a failure.
fn through_pipe(path: &Path, write: impl FnOnce()) -> Vec<u8> {
    let (tx, rx) = std::sync::mpsc::channel();
    let reader_path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let read = std::fs::File::open(reader_path).and_then(|mut f| f.read_to_end(&mut buf));
        let _ = tx.send(read.map(|_| buf));
    });
    write();
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(meta.file_type().is_fifo(), "the pipe was replaced");
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("nothing was written through the pipe")
        .unwrap()
}

#[test]
fn list_builder_writes_through_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path());
    let mut b = ListBuilder::new(HashKind::Pdq).name("p");
    b.add(Hash256::from_limbs([1, 2, 3, 4]), EntryMeta::new("a"))
        .unwrap();
    let bytes = through_pipe(&pipe, || {
        b.write(&pipe).unwrap();
    });
    let list = HashList::from_bytes(bytes).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn cli_reports_write_through_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path());
    let photos = ["photo_002.png", "photo_003.png"].map(|p| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/corpus")
            .join(p)
    });
    let bytes = through_pipe(&pipe, || {
        let out = Command::new(env!("CARGO_BIN_EXE_hashsieve"))
            .args([
                "eval",
                "robustness",
                "-q",
                "--transforms",
                "jpeg_q70",
                "--markdown",
            ])
            .arg(&pipe)
            .args(&photos)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    assert!(String::from_utf8(bytes)
        .unwrap()
        .starts_with("# Robustness"));
}
