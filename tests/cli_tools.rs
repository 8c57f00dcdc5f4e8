//! `completions`, `man`, and the sample set embedded in the binary (`demo`, default `eval`).

#![cfg(feature = "cli")]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{cmd, data, hashsieve};

/// The subcommands as `hashsieve --help` lists them (the oracle the generated files are checked
/// against), without clap's `help`.
fn subcommands() -> Vec<String> {
    let out = cmd(["--help"]).assert_ok();
    let help = String::from_utf8(out.stdout.clone()).unwrap();
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // Entries are indented by two spaces; wrapped descriptions by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    for expected in ["hash", "match", "scan", "build", "completions", "man"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    names
}

fn stdout_of(args: &[&str]) -> String {
    let out = hashsieve(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    let names = subcommands();
    for (shell, marker) in [
        ("bash", "complete -F _hashsieve"),
        ("zsh", "#compdef hashsieve"),
        ("fish", "complete -c hashsieve"),
        ("elvish", "edit:completion:arg-completer[hashsieve]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell}: no {name}");
        }
        // Options of subcommands are completed too, not just the top level.
        assert!(script.contains("threshold"), "{shell}");
    }
    cmd(["completions", "tcsh"]).assert_exit(2);
}

/// Runs the bash completion function as bash calls it for `words` (command name, current word,
/// previous word as arguments), the cursor at the end of the last word.
#[cfg(unix)]
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let n = words.len();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; \
         COMP_POINT=${{#COMP_LINE}}; _hashsieve {} {} {}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        n - 1,
        quoted[0],
        quoted[n - 1],
        quoted[n - 2],
    );
    let out = cmd(["--norc", "--noprofile", "-c", &program])
        .program("bash")
        .assert_ok();
    let mut replies: Vec<String> = out
        .stdout()
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect();
    replies.sort();
    replies
}

#[cfg(unix)]
#[test]
fn bash_completes_subcommands_and_their_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hashsieve.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).unwrap();

    let mut all = subcommands();
    all.push("help".into());
    let mut starting_m: Vec<String> = all.iter().filter(|n| n.starts_with('m')).cloned().collect();
    starting_m.sort();
    assert_eq!(bash_complete(&script, &["hashsieve", "m"]), starting_m);

    let replies = bash_complete(&script, &["hashsieve", "match", "--thr"]);
    assert_eq!(replies, ["--threads", "--threshold"]);
    let replies = bash_complete(&script, &["hashsieve", "completions", "z"]);
    assert_eq!(replies, ["zsh"]);
}

#[test]
fn man_page_is_roff_naming_every_subcommand() {
    let names = subcommands();
    let page = stdout_of(&["man"]);
    assert!(
        page.lines().any(|l| l.starts_with(".TH hashsieve 1")),
        "{page}"
    );
    assert!(page.contains("\n.SH SYNOPSIS\n") && page.contains("\n.SH SUBCOMMANDS\n"));
    for name in &names {
        // roff escapes the hyphen.
        let reference = format!("hashsieve\\-{name}(1)");
        assert!(page.contains(&reference), "no {reference}");
    }
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let names = subcommands();
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(["man", "--dir", dir.path().to_str().unwrap()]).assert_exit(0);
    assert!(out.stdout.is_empty());
    let main = std::fs::read_to_string(dir.path().join("hashsieve.1")).unwrap();
    assert_eq!(main, stdout_of(&["man"]));
    for name in &names {
        let page = std::fs::read_to_string(dir.path().join(format!("hashsieve-{name}.1")))
            .unwrap_or_else(|e| panic!("hashsieve-{name}.1: {e}"));
        let title = format!(".TH hashsieve-{name} 1");
        assert!(
            page.lines().any(|l| l.starts_with(&title)),
            "{name}: {page}"
        );
    }
    // Nested subcommands get their own page; clap's `help` subcommands do not.
    assert!(dir.path().join("hashsieve-eval-robustness.1").is_file());
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(!dir.path().join("hashsieve-help.1").exists());
    assert!(files > names.len());

    let missing = dir.path().join("missing");
    cmd(["man", "--dir", missing.to_str().unwrap()]).assert_exit(2);
    assert!(!missing.exists());
}

/// The sample set is compiled in: the binary holds no path to the source tree's data, gives the
/// same answers as on the repository's copy, and still honours `--data`.
#[test]
fn demo_runs_on_the_embedded_sample_set() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_hashsieve")).unwrap();
    let data_dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    assert!(
        memchr::memmem::find(&binary, data_dir.as_bytes()).is_none(),
        "the binary refers to {data_dir}"
    );

    let embedded = stdout_of(&["demo"]);
    let corpus = data("corpus");
    let on_disk = stdout_of(&["demo", "--data", corpus.to_str().unwrap()]);
    assert_eq!(embedded, on_disk);
    assert!(
        embedded.contains("5 of 6 edited variants matched their original"),
        "{embedded}"
    );

    // An installed binary: a copy elsewhere, run from elsewhere, without cargo's environment.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("hashsieve");
    std::fs::copy(env!("CARGO_BIN_EXE_hashsieve"), &copy).unwrap();
    // Another test thread that forks while the copy's write handle is open lends the handle to
    // its child until that child's exec: running the copy then fails with "Text file busy"
    // (ETXTBSY) for a moment. Retry, bounded.
    let mut tries = 0;
    let out = loop {
        match Command::new(&copy)
            .arg("demo")
            .current_dir(dir.path())
            .env_clear()
            .output()
        {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => break r.unwrap(),
        }
    };
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), embedded);

    let empty = tempfile::tempdir().unwrap();
    let out = cmd(["demo", "--data", empty.path().to_str().unwrap()]).assert_exit(2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("photo_002.png"));
}

/// `eval robustness` without paths evaluates the embedded photos: the same report as on the
/// repository's copies of them.
#[test]
fn eval_default_originals_are_the_embedded_photos() {
    let args = [
        "eval",
        "robustness",
        "-q",
        "--transforms",
        "jpeg_q70,rotate_90ccw",
        "--algorithms",
        "pdq,phash",
    ];
    let embedded = stdout_of(&args);
    let mut photos: Vec<String> = std::fs::read_dir(data("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("photo_"))
        })
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    photos.sort();
    assert_eq!(photos.len(), 10);
    let mut explicit: Vec<&str> = args.to_vec();
    explicit.extend(photos.iter().map(String::as_str));
    assert_eq!(embedded, stdout_of(&explicit));
    assert!(embedded.starts_with("# Robustness: "), "{embedded}");
}

/// Runs the binary with `args` in a private mount namespace where the source tree's `tests/data`
/// is an empty directory, as on a machine where only the installed binary exists. `None` when
/// this system does not let an unprivileged process make one (`unshare -rm`).
#[cfg(target_os = "linux")]
fn without_source_data(args: &[&str]) -> Option<std::process::Output> {
    let empty = tempfile::tempdir().unwrap();
    let data_dir = data("");
    let run = |tail: &[&str]| {
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg(r#"mount --bind "$1" "$2" && [ -z "$(ls -A "$2")" ] || exit 99; shift 2; exec "$@""#)
            .arg("sh")
            .arg(empty.path())
            .arg(&data_dir)
            .args(tail)
            .output()
    };
    match run(&["true"]) {
        Ok(probe) if probe.status.success() => {}
        _ => {
            eprintln!("no unprivileged mount namespace here: only the binary-contents check ran");
            return None;
        }
    }
    let mut tail = vec![env!("CARGO_BIN_EXE_hashsieve")];
    tail.extend_from_slice(args);
    Some(run(&tail).unwrap())
}

/// The strongest oracle where the system allows it: with the source tree's data hidden, `demo`
/// and the default `eval` give the same output as with it.
#[cfg(target_os = "linux")]
#[test]
fn demo_and_default_eval_need_no_source_data() {
    let eval = [
        "eval",
        "robustness",
        "-q",
        "--transforms",
        "jpeg_q70",
        "--algorithms",
        "pdq",
    ];
    for args in [&["demo"][..], &eval[..]] {
        let Some(hidden) = without_source_data(args) else {
            return;
        };
        assert_eq!(
            hidden.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&hidden.stderr)
        );
        assert_eq!(String::from_utf8(hidden.stdout).unwrap(), stdout_of(args));
    }
}
