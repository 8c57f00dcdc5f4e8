//! Replays every input the fuzzers found a problem with (tests/data/list/fuzz-regressions/),
//! through the same checks as the fuzz target named by the file's prefix.

use hashsieve::list::import::InputFormat;

use crate::common::fuzz_checks::{delta, import_any, open_list};

#[test]
fn fuzz_regressions_replay() {
    let dir = crate::common::data("list/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let target = name.split('-').next().unwrap();
        match target {
            "list_open" => open_list(&data),
            "import_delta" => delta(&data),
            "import_auto" => import_any(&data, None),
            t => {
                let format = t.strip_prefix("import_").unwrap().replace('_', "-");
                let format = match format.as_str() {
                    "jsonl" => InputFormat::JsonLines,
                    f => f
                        .parse()
                        .unwrap_or_else(|_| panic!("unknown target in {name}")),
                };
                import_any(&data, Some(format));
            }
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs found");
}
