//! Rendering a robustness [`Report`]: the Markdown summary and the CSV tables that
//! `hashsieve eval robustness` writes (the SVG plots are in `plot.rs`). The measurement and the
//! statistics are in [`robustness`](super::robustness).

use std::fmt::Write as _;

use super::robustness::{Report, Stats};

impl Report {
    /// One CSV row per algorithm and distance: `algorithm,distance,pairs,fmr`, where `fmr` is
    /// the share of unrelated pairs at this distance or less (the false-match rate of that
    /// threshold).
    pub fn unrelated_csv(&self) -> String {
        let mut out = String::from("algorithm,distance,pairs,fmr\n");
        for (a, algo) in self.algorithms.iter().enumerate() {
            for (d, &c) in self.unrelated[a].iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{algo},{d},{c},{:.6e}",
                    self.false_match_rate(a, d as u32)
                );
            }
        }
        out
    }

    /// A Markdown report: a summary per algorithm, then recall per transform at the default
    /// threshold and at the precision-keeping threshold, then the median distances.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let pct = |x: f64| format!("{:.1}", 100.0 * x);
        let p = 100.0 * self.min_precision;
        let _ = writeln!(
            out,
            "# Robustness: {} originals x {} edits, seed {}\n",
            self.images.len(),
            self.transforms.len(),
            self.seed
        );
        let _ = writeln!(
            out,
            "Recall is the share of edited copies within the threshold of their original; \
             precision counts a copy within the threshold of an unrelated original as a false \
             match; the false-match rate (FMR) is over all pairs of a copy or original and an \
             unrelated original. `t@{p}%` is the largest threshold that keeps precision >= {p}%.\n"
        );
        let _ = writeln!(
            out,
            "| algorithm | default t | recall | FMR | t@{p}% | recall | FMR | median d | median closest unrelated | nearest unrelated pair | pairs |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for (a, algo) in self.algorithms.iter().enumerate() {
            let s = self.stats(a, None);
            let (t, r, f) = match s.threshold_at_precision {
                Some(t) => (
                    t.to_string(),
                    pct(s.recall_at_precision),
                    rate(self.false_match_rate(a, t)),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            let _ = writeln!(
                out,
                "| {algo} | {} | {} | {} | {t} | {r} | {f} | {} | {} | {} | {} |",
                s.default_threshold,
                pct(s.recall_at_default),
                rate(self.false_match_rate(a, s.default_threshold)),
                s.median_distance,
                s.median_unrelated,
                self.nearest_unrelated_pair(a)
                    .map_or("-".to_string(), |d| d.to_string()),
                self.unrelated_pairs(a),
            );
        }
        if self.gates.iter().any(|&g| g > 0) {
            let _ = write!(
                out,
                "\nQueries under their algorithm's quality gate count as misses without false \
                 matches (gate: gated queries):"
            );
            for (a, algo) in self.algorithms.iter().enumerate() {
                let _ = write!(
                    out,
                    " {algo} {}: {}",
                    self.gates[a],
                    self.stats(a, None).gated
                );
                out.push(if a + 1 < self.algorithms.len() {
                    ';'
                } else {
                    '.'
                });
            }
            out.push('\n');
        }
        if let Some(pairs) = (0..self.algorithms.len())
            .map(|a| self.unrelated_pairs(a))
            .min()
            .filter(|&n| n > 0)
        {
            let _ = writeln!(
                out,
                "\nAn FMR of 0 over {pairs} pairs means below {} at 95% confidence (3/n).",
                rate(3.0 / pairs as f64)
            );
        }
        let header = |out: &mut String, title: &str| {
            let _ = writeln!(out, "\n## {title}\n");
            let _ = write!(out, "| edit |");
            for a in &self.algorithms {
                let _ = write!(out, " {a} |");
            }
            let _ = writeln!(out);
            let _ = write!(out, "|---|");
            for _ in &self.algorithms {
                let _ = write!(out, "--:|");
            }
            let _ = writeln!(out);
        };
        let table = |out: &mut String, title: &str, cell: &dyn Fn(&Stats) -> String| {
            header(out, title);
            for (t, tr) in self.transforms.iter().enumerate() {
                let _ = write!(out, "| {} |", tr.name());
                for a in 0..self.algorithms.len() {
                    let _ = write!(out, " {} |", cell(&self.stats(a, Some(t))));
                }
                let _ = writeln!(out);
            }
        };
        table(&mut out, "Recall (%) at the default threshold", &|s| {
            pct(s.recall_at_default)
        });
        table(
            &mut out,
            &format!("Recall (%) at the threshold keeping precision >= {p}% (the threshold)"),
            &|s| match s.threshold_at_precision {
                Some(t) => format!("{} ({t})", pct(s.recall_at_precision)),
                None => "-".into(),
            },
        );
        table(
            &mut out,
            "Distance to the original: median / 90th percentile / max",
            &|s| {
                format!(
                    "{} / {} / {}",
                    s.median_distance, s.p90_distance, s.max_distance
                )
            },
        );
        if !self.excluded.is_empty() {
            let _ = writeln!(out, "\n## Originals left out\n");
            for e in &self.excluded {
                let _ = writeln!(out, "- {}: {}", e.name, e.reason);
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "\n## Edits that could not be made\n");
            for f in &self.failures {
                let _ = writeln!(
                    out,
                    "- {} / {}: {}",
                    self.images[f.image as usize],
                    self.transforms[f.transform as usize].name(),
                    f.message
                );
            }
        }
        out
    }

    /// One CSV row per (algorithm, edit), plus an `all` row per algorithm.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "algorithm,transform,category,queries,gate,gated,default_threshold,recall_at_default,\
             precision_at_default,fmr_at_default,threshold_at_precision,recall_at_precision,\
             fmr_at_precision,median_distance,p90_distance,max_distance,min_unrelated,\
             median_unrelated\n",
        );
        for (a, algo) in self.algorithms.iter().enumerate() {
            let rows = self
                .transforms
                .iter()
                .enumerate()
                .map(|(t, tr)| (tr.name(), tr.category(), Some(t)))
                .chain([("all".to_string(), "all", None)]);
            for (name, category, t) in rows {
                let s = self.stats(a, t);
                let (tp, rp, fp) = match s.threshold_at_precision {
                    Some(th) => (
                        th.to_string(),
                        format!("{:.4}", s.recall_at_precision),
                        format!("{:.3e}", self.false_match_rate(a, th)),
                    ),
                    None => (String::new(), String::new(), String::new()),
                };
                let _ = writeln!(
                    out,
                    "{algo},{name},{category},{},{},{},{},{:.4},{:.4},{:.3e},{tp},{rp},{fp},{},{},{},{},{}",
                    s.queries,
                    self.gates[a],
                    s.gated,
                    s.default_threshold,
                    s.recall_at_default,
                    s.precision_at_default,
                    self.false_match_rate(a, s.default_threshold),
                    s.median_distance,
                    s.p90_distance,
                    s.max_distance,
                    s.min_unrelated,
                    s.median_unrelated,
                );
            }
        }
        out
    }

    /// One CSV row per sample: `image,transform,algorithm,distance,closest_unrelated,quality`.
    pub fn samples_csv(&self) -> String {
        let mut out =
            String::from("image,transform,algorithm,distance,closest_unrelated,quality\n");
        for s in &self.samples {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{}",
                csv_cell(&self.images[s.image as usize]),
                self.transforms[s.transform as usize].name(),
                self.algorithms[s.algorithm as usize],
                s.distance,
                s.closest_unrelated,
                s.quality
            );
        }
        out
    }
}

/// A rate for humans: `0`, or three significant digits (`1.23e-4`).
fn rate(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x:.2e}")
    }
}

/// Quotes a CSV cell when it needs it.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
