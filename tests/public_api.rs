//! The library's public API matches the committed listing, `public-api.txt` at the repo root, so
//! that every change to the API is deliberate and shows up in review.
//!
//! The listing is the library as embedders build it (`--no-default-features --features eval`:
//! `cli` adds nothing to the library and `test-util` is not stable API), read from rustdoc's JSON
//! output by the `public-api` crate. rustdoc JSON needs a nightly toolchain whose format matches
//! the pinned `public-api` (format 57: `public-api` 0.52.1, `rustdoc-types` 0.57).
//!
//! After a deliberate change, regenerate the listing and commit it with the change:
//!
//! ```text
//! UPDATE_PUBLIC_API=1 cargo test --test public_api
//! ```
//!
//! Without a nightly toolchain, or with one whose rustdoc JSON format differs, the test says why
//! and passes, unless `HASHSIEVE_REQUIRE_PUBLIC_API` is set: then it fails. `.ci/run` sets it
//! wherever a nightly toolchain is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

const LISTING: &str = "public-api.txt";

#[test]
fn public_api_matches_the_listing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(json) = rustdoc_json(root) else {
        return;
    };
    let api = public_api::Builder::from_rustdoc_json(&json)
        .omit_blanket_impls(true)
        .build()
        .unwrap_or_else(|e| panic!("reading {}: {e}", json.display()));
    let actual = format!("{api}");

    let path = root.join(LISTING);
    if std::env::var_os("UPDATE_PUBLIC_API").is_some() {
        std::fs::write(&path, &actual).unwrap_or_else(|e| panic!("writing {LISTING}: {e}"));
        eprintln!("public_api: wrote {LISTING}");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected == actual {
        return;
    }
    let (old, new) = (lines(&expected), lines(&actual));
    let removed: Vec<&str> = old.difference(&new).copied().collect();
    let added: Vec<&str> = new.difference(&old).copied().collect();
    let mut diff = String::new();
    for line in &removed {
        diff.push_str(&format!("- {line}\n"));
    }
    for line in &added {
        diff.push_str(&format!("+ {line}\n"));
    }
    panic!(
        "the public API differs from {LISTING} ({} removed, {} added):\n{diff}\nIf the change is \
         deliberate, run `UPDATE_PUBLIC_API=1 cargo test --test public_api` and commit {LISTING}.",
        removed.len(),
        added.len()
    );
}

fn lines(s: &str) -> std::collections::BTreeSet<&str> {
    s.lines().collect()
}

/// Builds the rustdoc JSON of the library with the nightly toolchain, or says why it cannot
/// (`None`; a failure where `HASHSIEVE_REQUIRE_PUBLIC_API` is set).
///
/// A plain `cargo +nightly rustdoc` rather than the `rustdoc-json` crate: that one adds
/// `cargo_metadata`, `cargo-manifest` and `toml` to every test build for one command line.
fn rustdoc_json(root: &Path) -> Option<PathBuf> {
    // Our own target directory: the outer `cargo test` may hold the lock on the main one, and
    // the nightly artifacts stay apart from the stable ones.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("public-api");
    let cargo = || {
        let mut c = Command::new("cargo");
        c.arg("+nightly").current_dir(root);
        // Set by the outer cargo/rustup for the stable toolchain; `+nightly` must pick its own.
        for var in [
            "RUSTUP_TOOLCHAIN",
            "RUSTC",
            "RUSTDOC",
            "RUSTC_WRAPPER",
            "CARGO_TARGET_DIR",
        ] {
            c.env_remove(var);
        }
        c
    };
    match cargo().arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            skip("no nightly toolchain (`rustup toolchain install nightly`)");
            return None;
        }
    }
    let out = cargo()
        .args([
            "rustdoc",
            "--lib",
            "--locked",
            "--no-default-features",
            "--features",
            "eval",
        ])
        .arg("--target-dir")
        .arg(&target)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .output()
        .expect("running cargo +nightly rustdoc");
    assert!(
        out.status.success(),
        "cargo +nightly rustdoc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = target.join("doc").join("hashsieve.json");

    #[derive(serde::Deserialize)]
    struct Version {
        format_version: u32,
    }
    let text = std::fs::read_to_string(&json).expect("reading the rustdoc JSON");
    let found = serde_json::from_str::<Version>(&text)
        .expect("rustdoc JSON without a format_version")
        .format_version;
    if found != rustdoc_types::FORMAT_VERSION {
        skip(&format!(
            "this nightly writes rustdoc JSON format {found}; the pinned public-api reads format {}: \
             pin public-api and rustdoc-types to the versions for format {found} in Cargo.toml \
             (https://github.com/cargo-public-api/cargo-public-api#compatibility-matrix), or use \
             a nightly that writes format {}",
            rustdoc_types::FORMAT_VERSION,
            rustdoc_types::FORMAT_VERSION
        ));
        return None;
    }
    Some(json)
}

fn skip(why: &str) {
    if std::env::var_os("HASHSIEVE_REQUIRE_PUBLIC_API").is_some() {
        panic!("the public API check is required here but cannot run: {why}");
    }
    eprintln!("public_api: skipped: {why}");
}
