//! Cross-checking the in-memory edits against a reference table of edited files (the corpus's
//! `TRANSFORMED.tsv`, made with Pillow): same originals, same edit names, their distances next
//! to ours.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::robustness::{Algorithm, Report};
use crate::error::{Error, Result};
use crate::hash::HashKind;

/// The reference column holding `algorithm`'s distance, and whether it is valid only for
/// variants stored without loss (the PDQ column is measured before storage).
fn reference_column(algorithm: Algorithm) -> Option<(&'static str, bool)> {
    match algorithm {
        Algorithm::Plain(HashKind::Pdq) => Some(("pdq_dist_inmemory", false)),
        Algorithm::Plain(HashKind::PHash) => Some(("phash_dist", true)),
        Algorithm::Plain(HashKind::DHash) => Some(("dhash_dist", true)),
        Algorithm::Plain(HashKind::AHash) => Some(("ahash_dist", true)),
        Algorithm::Plain(HashKind::WHash) => Some(("whash_dist", true)),
        _ => None,
    }
}

impl Report {
    /// A Markdown section comparing our distances with a reference table's, edit by edit: for
    /// each (original, edit) pair present in both (`source_file` is the original's name,
    /// `transform` the edit's name), the median distance to the original by each algorithm in
    /// both, and how many pairs agree within 10% of the hash width.
    ///
    /// The table is tab-separated with a header. Rows with an `error` are skipped; the imagehash
    /// distances of variants stored lossily (`stored_as` other than `PNG` or the edit's own
    /// JPEG) are skipped, as storage moved them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Parse`](crate::ErrorKind::Parse) if the table lacks the `source_file` and `transform` columns.
    pub fn cross_check(&self, table: &str) -> Result<String> {
        let mut lines = table.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(src), Some(tr)) = (col("source_file"), col("transform")) else {
            return Err(Error::parse(
                1,
                1,
                None,
                "the reference table needs source_file and transform columns",
            ));
        };
        let (stored, error) = (col("stored_as"), col("error"));
        let images: HashMap<&str, u32> = self
            .images
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u32))
            .collect();
        let transforms: HashMap<String, u32> = self
            .transforms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name(), i as u32))
            .collect();
        let ours: HashMap<(u32, u32, u32), u32> = self
            .samples
            .iter()
            .map(|s| ((s.image, s.transform, s.algorithm), s.distance))
            .collect();
        let algos: Vec<(usize, usize, bool)> = self
            .algorithms
            .iter()
            .enumerate()
            .filter_map(|(a, algo)| {
                let (name, lossless_only) = reference_column(*algo)?;
                Some((a, col(name)?, lossless_only))
            })
            .collect();

        // pairs[(transform, algorithm)] = (ours, reference) distances.
        let mut pairs: HashMap<(u32, usize), Vec<(u32, u32)>> = HashMap::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let cells: Vec<&str> = line.split('\t').collect();
            let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).copied().unwrap_or("");
            if !cell(error).is_empty() {
                continue;
            }
            let (Some(&i), Some(&t)) =
                (images.get(cell(Some(src))), transforms.get(cell(Some(tr))))
            else {
                continue;
            };
            let lossless = {
                let s = cell(stored);
                s == "PNG" || cell(Some(tr)).starts_with("jpeg_q") && s.starts_with("JPEG")
            };
            for &(a, c, lossless_only) in &algos {
                if lossless_only && !lossless {
                    continue;
                }
                let (Some(&d), Ok(r)) = (ours.get(&(i, t, a as u32)), cell(Some(c)).parse::<u32>())
                else {
                    continue;
                };
                pairs.entry((t, a)).or_default().push((d, r));
            }
        }

        let mut out = String::from("\n## Cross-check against the reference table\n\n");
        if pairs.is_empty() {
            out.push_str("No (original, edit) pair of this run is in the reference table.\n");
            return Ok(out);
        }
        let _ = writeln!(
            out,
            "Median distance to the original, ours / reference's (pairs), per edit both made.\n"
        );
        let _ = write!(out, "| edit |");
        for &(a, _, _) in &algos {
            let _ = write!(out, " {} |", self.algorithms[a]);
        }
        let _ = write!(out, "\n|---|");
        for _ in &algos {
            out.push_str("--:|");
        }
        out.push('\n');
        let (mut agree, mut total) = (0usize, 0usize);
        for (t, transform) in self.transforms.iter().enumerate() {
            let t = t as u32;
            if !algos.iter().any(|&(a, _, _)| pairs.contains_key(&(t, a))) {
                continue;
            }
            let _ = write!(out, "| {} |", transform.name());
            for &(a, _, _) in &algos {
                let Some(v) = pairs.get(&(t, a)) else {
                    out.push_str(" - |");
                    continue;
                };
                let tolerance = self.algorithms[a].kind().bits() / 10;
                agree += v
                    .iter()
                    .filter(|(d, r)| d.abs_diff(*r) <= tolerance)
                    .count();
                total += v.len();
                let median = |f: fn(&(u32, u32)) -> u32| {
                    let mut x: Vec<u32> = v.iter().map(f).collect();
                    x.sort_unstable();
                    x[(x.len() - 1) / 2]
                };
                let _ = write!(
                    out,
                    " {} / {} ({}) |",
                    median(|p| p.0),
                    median(|p| p.1),
                    v.len()
                );
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "\n{agree} of {total} pairs agree within 10% of the hash width ({:.1}%).",
            100.0 * agree as f64 / total as f64
        );
        Ok(out)
    }
}
