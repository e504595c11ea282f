//! Line charts (loss curves and friends), drawn as SVG by plotters.
//!
//! SVG needs no fonts on the machine that draws it: the browser renders the text.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// A chart of named series over shared axes, drawn as lines or as points; shows itself inline.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    /// Width and height in pixels; (0, 0) means the default 720 × 360.
    size: (u32, u32),
}

#[derive(Debug, Clone)]
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    /// Dots of this radius instead of a line.
    dots: Option<u32>,
}

/// Colours for successive series, readable on white.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];

impl LineChart {
    /// An empty chart with a title.
    pub fn new(title: impl Into<String>) -> Self {
        LineChart {
            title: title.into(),
            ..Default::default()
        }
    }

    /// Names the axes.
    pub fn axes(mut self, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        self.x_label = x_label.into();
        self.y_label = y_label.into();
        self
    }

    /// Appends ` (context)` to the title, e.g. the model and step it shows.
    pub fn title_suffix(mut self, context: &str) -> Self {
        self.title = format!("{} ({context})", self.title);
        self
    }

    /// Sets the drawing's size in pixels (default 720 × 360).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Adds a series of (x, y) points joined by a line. Non-finite points are skipped.
    pub fn series(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            dots: None,
        });
        self
    }

    /// Adds a series drawn as dots of the given radius (a scatter plot).
    pub fn points(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
        radius: u32,
    ) -> Self {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            dots: Some(radius),
        });
        self
    }

    /// Draws the chart as an SVG document.
    pub fn to_svg(&self) -> Result<String> {
        let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
        let points: Vec<&(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(finite)
            .collect();
        anyhow::ensure!(
            !points.is_empty(),
            "chart `{}` has no finite point to draw",
            self.title
        );
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &&(x, y) in &points {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        // Give flat data some height and leave a margin above and below.
        let margin = ((y1 - y0) * 0.05).max(1e-6);
        let (y0, y1) = (y0 - margin, y1 + margin);
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };

        let mut svg = String::new();
        {
            let (width, height) = if self.size.0 == 0 {
                (720, 360)
            } else {
                self.size
            };
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing chart `{}`: {e:?}", self.title);
            root.fill(&WHITE).map_err(err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.title, ("sans-serif", title_size(&self.title, width)))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            for (i, series) in self.series.iter().enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                let data = series.points.iter().filter(finite).copied();
                let drawn = match series.dots {
                    None => chart.draw_series(LineSeries::new(data, colour.stroke_width(2))),
                    Some(r) => {
                        chart.draw_series(data.map(|p| Circle::new(p, r, colour.mix(0.6).filled())))
                    }
                };
                drawn
                    .map_err(err)?
                    .label(series.name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                    });
            }
            if self.series.len() > 1 || !self.series[0].name.is_empty() {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(err)?;
            }
            root.present().map_err(err)?;
        }
        Ok(svg)
    }

    /// Saves the chart as an SVG file (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        super::write_atomic(path.as_ref(), self.to_svg()?.as_bytes())
    }

    /// Shows the chart inline in a notebook; a chart that cannot be drawn says why instead.
    pub fn evcxr_display(&self) {
        match self.to_svg() {
            Ok(svg) => super::display_in_notebook("image/svg+xml", &svg),
            Err(e) => eprintln!("{e:#}"),
        }
    }
}

/// The title's font size: 20 px, smaller for a long title so that it fits the chart's width
/// (a sans-serif glyph is about 0.55 em wide on average), 10 px at the least.
fn title_size(title: &str, width: u32) -> u32 {
    let chars = title.chars().count().max(1) as f64;
    ((width as f64 - 24.0) / (0.55 * chars))
        .floor()
        .clamp(10.0, 20.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_has_every_series() {
        let chart = LineChart::new("losses")
            .axes("step", "loss")
            .series(
                "loss_d",
                (0..10).map(|i| (i as f64, 1.0 / (1.0 + i as f64))),
            )
            .series("loss_g", (0..10).map(|i| (i as f64, f64::from(i).sqrt())));
        let svg = chart.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("loss_d") && svg.contains("loss_g") && svg.contains("losses"));
        assert!(svg.matches("<polyline").count() >= 2);
    }

    #[test]
    fn scatter_draws_one_circle_per_point() {
        let svg = LineChart::new("modes")
            .points("samples", [(0.0, 0.0), (1.0, 1.0), (2.0, 0.5)], 2)
            .to_svg()
            .unwrap();
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    }

    #[test]
    fn empty_or_non_finite_chart_is_an_error() {
        let chart = LineChart::new("nothing").series("nan", [(0.0, f64::NAN)]);
        assert!(
            chart
                .to_svg()
                .unwrap_err()
                .to_string()
                .contains("no finite point")
        );
    }

    /// A long title (a notebook's dataset name can be 60 characters) shrinks to fit instead
    /// of running off both sides; a short one keeps 20 px.
    #[test]
    fn long_titles_shrink_to_fit() {
        assert_eq!(super::title_size("losses", 720), 20);
        let long = "D(x) on real, D(G(z)) on fake (pix2pix on edges→emoji/Smileys & Emotion+People & \
                    Body/train, non-saturating, step 2000)";
        let size = super::title_size(long, 720);
        assert!(size < 20 && size as f64 * 0.55 * long.chars().count() as f64 <= 700.0);
        assert_eq!(super::title_size(&"x".repeat(1000), 720), 10);
    }
}
