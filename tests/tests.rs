//! The integration tests: one test binary with one module per area, as ripgrep does, so the
//! crate links one test executable instead of one per file.
//!
//! - `common` holds what several modules share: paths under `tests/data`, [`common::cmd`] (a
//!   small DSL that runs the real `hashsieve` binary and checks its exit code and output),
//!   synthetic data, crafted image headers, and the binary's global allocator
//!   (`common::tracking_alloc`, which counts per thread, so parallel tests do not disturb it).
//! - Run one module: `cargo test --test tests cli_match::`; one test: add its name.
//! - A new test file is a module here (`mod name;`): `wiring_is_complete` fails for a file in
//!   `tests/` that neither this list nor a `[[test]]` of Cargo.toml names (`autotests` is off).

mod common;

mod cli_bad_input;
mod cli_dedup;
mod cli_eval;
mod cli_hash;
mod cli_list_corruption;
mod cli_match;
mod cli_no_hash_in_messages;
mod cli_output;
mod cli_quality;
mod cli_safety;
mod cli_scan;
mod cli_tools;
mod decode_limits;
mod dedup;
mod eval_robustness;
mod eval_transforms;
mod exact_lists;
mod formats_in;
mod formats_out;
mod image_input;
mod imagehash_conformance;
mod index_corrupt;
mod index_kernels;
mod index_props;
mod investigators_in;
mod investigators_out;
mod list_cli;
mod list_corruption;
mod list_format;
mod list_fuzz_regressions;
mod list_import;
mod list_update;
mod matching;
mod pdq_conformance;
mod quality;
mod serve;
mod special_files;

/// Every `tests/*.rs` file is compiled: a module of this binary, or a `[[test]]` target of its
/// own. With `autotests = false` a file nobody wires in would otherwise never run.
#[test]
fn wiring_is_complete() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let this = include_str!("tests.rs");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".rs") else {
            continue;
        };
        if name == "tests.rs"
            || this.contains(&format!("\nmod {stem};"))
            || manifest.contains(&format!("path = \"tests/{name}\""))
        {
            continue;
        }
        missing.push(name.to_owned());
    }
    assert!(
        missing.is_empty(),
        "not compiled into any test binary: {missing:?}; add `mod NAME;` to tests/tests.rs"
    );
}
