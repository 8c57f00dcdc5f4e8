//! SVG charts of a [`Report`]: ROC curves (recall against false-match rate, one curve per
//! algorithm, every threshold a point) and the distance distributions behind them.

use plotters::prelude::*;

use super::robustness::Report;
use crate::error::{Error, ErrorKind, Result};

const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn plot_error(e: impl std::fmt::Display) -> Error {
    ErrorKind::InvalidArgument(format!("cannot draw the chart: {e}")).into()
}

/// Draws a chart's series legend at `position`, on a translucent white box.
fn draw_legend<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)
}

/// Sorted distances, for the share within any threshold in `O(log n)`.
struct Within(Vec<u32>);

impl Within {
    fn new(distances: impl Iterator<Item = u32>) -> Within {
        let mut v: Vec<u32> = distances.collect();
        v.sort_unstable();
        Within(v)
    }

    /// The share of distances `<= t` (0 when there are none).
    fn share(&self, t: u32) -> f64 {
        self.0.partition_point(|&d| d <= t) as f64 / self.0.len().max(1) as f64
    }
}

impl Report {
    /// An SVG with two panels: the ROC curve of each algorithm over all edits (recall against
    /// the false-match rate of unrelated pairs, log scale, one point per threshold, the default
    /// threshold marked with a dot, drawn at the left edge when it made no false match), and each
    /// algorithm's distance to the original and to the closest unrelated original as a share of
    /// the hash width (cumulative).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the chart cannot be laid out (an empty report).
    pub fn to_svg(&self) -> Result<String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (1200, 520)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_error)?;
            let (left, right) = root.split_horizontally(620);
            self.draw_roc(&left)?;
            self.draw_distances(&right)?;
            root.present().map_err(plot_error)?;
        }
        Ok(svg)
    }

    fn draw_roc(&self, area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<()> {
        let min_fmr = self
            .unrelated
            .iter()
            .map(|h| 1.0 / (h.iter().sum::<u64>().max(1) as f64))
            .fold(1.0f64, f64::min)
            .max(1e-9);
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "ROC: {} originals x {} edits (dot: default threshold)",
                    self.images.len(),
                    self.transforms.len()
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((min_fmr / 2.0..1.0f64).log_scale(), 0.0..1.0f64)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("false-match rate (unrelated pairs)")
            .y_desc("recall (all edits)")
            .draw()
            .map_err(plot_error)?;
        for (a, algo) in self.algorithms.iter().enumerate() {
            let colour = COLOURS[a % COLOURS.len()];
            let bits = algo.kind().width();
            let within = Within::new(self.samples_of(a, None).map(|s| s.distance));
            let recall = |t: u32| within.share(t);
            // Points at FMR 0 cannot be drawn on a log axis; start at the first positive one.
            let points: Vec<(f64, f64)> = (0..=bits)
                .map(|t| (self.false_match_rate(a, t), recall(t)))
                .filter(|&(f, _)| f > 0.0)
                .collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(plot_error)?
                .label(algo.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
            let t = algo.default_threshold();
            let f = self.false_match_rate(a, t).max(min_fmr / 2.0);
            chart
                .draw_series([Circle::new((f, recall(t)), 4, colour.filled())])
                .map_err(plot_error)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    }

    fn draw_distances(
        &self,
        area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<()> {
        let mut chart = ChartBuilder::on(area)
            .caption(
                "Distance / hash width (thick: to original, thin: closest unrelated)",
                ("sans-serif", 15),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..0.6f64, 0.0..1.0f64)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("normalised Hamming distance")
            .y_desc("share of queries within")
            .draw()
            .map_err(plot_error)?;
        for (a, algo) in self.algorithms.iter().enumerate() {
            let colour = COLOURS[a % COLOURS.len()];
            let bits = f64::from(algo.kind().width());
            let cdf = |f: fn(&super::robustness::Sample) -> u32| -> Vec<(f64, f64)> {
                let within = Within::new(self.samples_of(a, None).map(f));
                (0..=algo.kind().width())
                    .map(|t| (f64::from(t) / bits, within.share(t)))
                    .take_while(|&(x, _)| x <= 0.6)
                    .collect()
            };
            chart
                .draw_series(LineSeries::new(cdf(|s| s.distance), colour.stroke_width(2)))
                .map_err(plot_error)?
                .label(algo.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
            chart
                .draw_series(LineSeries::new(
                    cdf(|s| s.closest_unrelated),
                    colour.mix(0.6).stroke_width(1),
                ))
                .map_err(plot_error)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
