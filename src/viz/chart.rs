//! Line charts (loss curves and friends), drawn as SVG by plotters.
//!
//! SVG needs no fonts on the machine that draws it: the browser renders the text.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A chart of named series over shared axes, drawn as lines or as points; shows itself inline.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    title: String,
    /// A second, smaller line under the title: what the chart shows (model, data, step).
    subtitle: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    /// Width and height in pixels; (0, 0) means the default 720 × 360.
    size: (u32, u32),
    /// The y axis's range, when set (e.g. to draw two charts on the same axes); else the data's.
    y_range: Option<(f64, f64)>,
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

    /// Puts `context` (e.g. the model, data and step the chart shows) on a smaller second line
    /// under the title, so that a long context never shrinks the title itself.
    pub fn title_suffix(mut self, context: &str) -> Self {
        self.subtitle = if self.subtitle.is_empty() {
            context.to_string()
        } else {
            format!("{}; {context}", self.subtitle)
        };
        self
    }

    /// Sets the drawing's size in pixels (default 720 × 360).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Fixes the y axis to `[min, max]` instead of the data's range: points outside it are drawn
    /// at the edge, so choose a range that holds the data ([`LineChart::same_y`] does). A fixed
    /// range gets no headroom for the legend.
    pub fn y_range(mut self, min: f64, max: f64) -> Self {
        self.y_range = (min.is_finite() && max.is_finite() && min < max).then_some((min, max));
        self
    }

    /// The range of the finite y values drawn (`None` for a chart with no finite point).
    pub fn y_bounds(&self) -> Option<(f64, f64)> {
        self.finite_points().fold(None, |b, &(_, y)| match b {
            None => Some((y, y)),
            Some((lo, hi)) => Some((f64::min(lo, y), f64::max(hi, y))),
        })
    }

    /// Puts two charts on the same y axis, so that they can be read side by side: the same
    /// height means the same value in both. The axis spans the central 99 % of both charts'
    /// values, so that one spike does not flatten every curve; the charts then say how many
    /// points lie beyond it.
    pub fn same_y(a: LineChart, b: LineChart) -> (LineChart, LineChart) {
        let mut ys: Vec<f64> = a
            .finite_points()
            .chain(b.finite_points())
            .map(|&(_, y)| y)
            .collect();
        if ys.is_empty() {
            return (a, b);
        }
        ys.sort_by(f64::total_cmp);
        let at = |q: f64| ys[((ys.len() - 1) as f64 * q).round() as usize];
        let (lo, hi) = (at(0.005), at(0.995));
        let margin = ((hi - lo) * 0.05).max(1e-6);
        let (lo, hi) = (lo - margin, hi + margin);
        let beyond = |c: &LineChart| {
            c.finite_points()
                .filter(|&&(_, y)| y < lo || y > hi)
                .count()
        };
        let note = |c: LineChart| match beyond(&c) {
            0 => c.y_range(lo, hi),
            n => c
                .y_range(lo, hi)
                .title_suffix(&format!("{n} point(s) beyond the shared y axis, cut off")),
        };
        (note(a), note(b))
    }

    fn finite_points(&self) -> impl Iterator<Item = &(f64, f64)> {
        self.series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.0.is_finite() && p.1.is_finite())
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
    ///
    /// Tick labels carry as many decimals as the axis's range needs (steps read `1000`, not
    /// `1000.0`), and the legend goes into the corner where it hides the fewest points; when every
    /// corner would hide some, the y axis grows headroom above the data for it.
    pub fn to_svg(&self) -> Result<String> {
        let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
        let Frame {
            x: (x0, x1),
            y: (y0, y1),
            size: (width, height),
            legend,
        } = self.frame()?;
        let (x_span, y_span) = (x1 - x0, y1 - y0);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing chart `{}`: {e:?}", self.title);
            root.fill(&WHITE).map_err(err)?;
            // The title, and the context line under it, drawn above the chart's own area.
            let (title_px, sub_px) = (
                title_size(&self.title, width),
                if self.subtitle.is_empty() {
                    0
                } else {
                    title_size(&self.subtitle, width).min(13)
                },
            );
            let header = 8 + title_px + if sub_px > 0 { 4 + sub_px } else { 0 };
            let (top, plot) = root.split_vertically(header as i32 + 4);
            let (plot, side) = match legend {
                Some(Legend::Beside(band)) => {
                    let (plot, side) = plot.split_horizontally(width as i32 - band as i32);
                    (plot, Some(side))
                }
                _ => (plot, None),
            };
            let centred = |size: u32| {
                TextStyle::from(("sans-serif", size).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Top))
            };
            let middle = width as i32 / 2;
            top.draw_text(&self.title, &centred(title_px), (middle, 6))
                .map_err(err)?;
            if sub_px > 0 {
                let style = centred(sub_px).color(&RGBColor(90, 90, 90));
                top.draw_text(&self.subtitle, &style, (middle, 10 + title_px as i32))
                    .map_err(err)?;
            }
            let mut chart = ChartBuilder::on(&plot)
                .margin(12)
                .margin_top(4)
                // Room for half of the last x tick label ("12000"), centred on the right edge.
                .margin_right(22)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(err)?;
            let (x_top, y_top) = (x0.abs().max(x1.abs()), y0.abs().max(y1.abs()));
            let x_ticks = |v: &f64| tick_label(*v, x_span, x_top);
            let y_ticks = |v: &f64| tick_label(*v, y_span, y_top);
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .x_label_formatter(&x_ticks)
                .y_label_formatter(&y_ticks)
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 13))
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
            match (legend, side) {
                (Some(Legend::Corner(corner)), _) => {
                    chart
                        .configure_series_labels()
                        .position(corner)
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK)
                        .draw()
                        .map_err(err)?;
                }
                (Some(Legend::Beside(band)), Some(side)) => {
                    // The same box as a corner legend, at the top of the band, level with the
                    // plot's top edge (the chart's top margin is 4 px).
                    let n = self.series.len() as i32;
                    let (left, top) = (2, 4);
                    let right = band as i32 - 6;
                    side.draw(&Rectangle::new(
                        [(left, top), (right, top + n * 20 + 12)],
                        BLACK.stroke_width(1),
                    ))
                    .map_err(err)?;
                    let style = TextStyle::from(("sans-serif", 12).into_font())
                        .pos(Pos::new(HPos::Left, VPos::Center));
                    for (i, series) in self.series.iter().enumerate() {
                        let colour = PALETTE[i % PALETTE.len()];
                        let y = top + 16 + i as i32 * 20;
                        side.draw(&PathElement::new(
                            vec![(left + 8, y), (left + 26, y)],
                            colour.stroke_width(3),
                        ))
                        .map_err(err)?;
                        side.draw_text(&series.name, &style, (left + 32, y))
                            .map_err(err)?;
                    }
                }
                _ => {}
            }
            root.present().map_err(err)?;
        }
        Ok(svg)
    }

    /// The axes' ranges, the size and where the legend goes (`None`: no legend).
    fn frame(&self) -> Result<Frame> {
        let points: Vec<&(f64, f64)> = self.finite_points().collect();
        anyhow::ensure!(
            !points.is_empty(),
            "chart `{}` has no finite point to draw",
            self.title
        );
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &&(x, y) in &points {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        let (y0, mut y1) = match self.y_range {
            Some(range) => range,
            None => {
                // Give flat data some height and leave a margin above and below.
                let margin = ((y1 - y0) * 0.05).max(1e-6);
                (y0 - margin, y1 + margin)
            }
        };
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        // A scatter's outermost dots sit inside the frame, not on it.
        let (x0, x1) = if self.series.iter().any(|s| s.dots.is_some()) {
            let margin = (x1 - x0) * 0.04;
            (x0 - margin, x1 + margin)
        } else {
            (x0, x1)
        };
        let size = if self.size.0 == 0 {
            (720, 360)
        } else {
            self.size
        };
        let mut legend = None;
        if self.series.len() > 1 || !self.series[0].name.is_empty() {
            // The plot area: the canvas less margins, caption and label areas.
            let plot = (size.0 as f64 - 106.0, size.1 as f64 - 110.0);
            let names: Vec<&str> = self.series.iter().map(|s| s.name.as_str()).collect();
            let (w, h) = legend_size(&names, plot);
            let shape = LegendShape {
                x: (x0, x1),
                y: (y0, y1),
                w,
                h,
            };
            let (corner, hidden) = shape.best_corner(&self.series);
            legend = Some(if hidden == 0 {
                Legend::Corner(corner)
            } else if self.y_range.is_none() {
                // Every corner covers data: grow the y axis so the data stays below the legend.
                y1 = y0 + (y1 - y0) / (1.0 - h).max(0.5);
                Legend::Corner(SeriesLabelPosition::UpperRight)
            } else {
                // A fixed axis (probabilities end at 1) cannot grow: the legend goes beside
                // the plot, in a band of its own on the right.
                Legend::Beside((w * plot.0).ceil() as u32 + 8)
            });
        }
        Ok(Frame {
            x: (x0, x1),
            y: (y0, y1.max(y0 + 1e-9)),
            size,
            legend,
        })
    }

    /// Saves the chart as an SVG file (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::files::write_atomic(path.as_ref(), self.to_svg()?.as_bytes())
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

/// What [`LineChart::frame`] decides before drawing.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
    size: (u32, u32),
    legend: Option<Legend>,
}

/// Where the legend goes.
#[derive(Debug)]
enum Legend {
    /// In a corner of the plot, over no data (or over headroom the y axis grew for it).
    Corner(SeriesLabelPosition),
    /// In a band this many pixels wide to the right of the plot.
    Beside(u32),
}

/// A tick's text with the decimals that an axis spanning `span` needs: none for a span of 10 or
/// more (`1000`, not `1000.0`), one more for each factor of ten below that (so that a nearly flat
/// curve still gets distinct labels); scientific notation, for the whole axis, when its largest
/// value `top` is very large or very small.
fn tick_label(value: f64, span: f64, top: f64) -> String {
    if top >= 1e6 || (top > 0.0 && top < 1e-4) {
        let digits = ((top / span.max(f64::MIN_POSITIVE)).log10().ceil()).clamp(1.0, 12.0) as usize;
        return format!("{value:.digits$e}");
    }
    let decimals = (-(span / 10.0).log10().floor()).clamp(0.0, 12.0) as usize;
    let text = format!("{value:.decimals$}");
    // "-0" and "-0.00" read as a different number from 0.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// The legend's box as fractions of the plot area `(width, height)` in pixels: a 7-px wide
/// character on average, 30 px for the line sample and padding, 20 px per series.
fn legend_size(names: &[&str], plot: (f64, f64)) -> (f64, f64) {
    let chars = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as f64;
    let w = (chars * 7.0 + 40.0) / plot.0.max(1.0);
    let h = (names.len() as f64 * 20.0 + 12.0) / plot.1.max(1.0);
    (w.min(1.0), h.min(1.0))
}

/// Where a legend of `w × h` (fractions of the plot) would sit over data spanning `x` × `y`.
struct LegendShape {
    x: (f64, f64),
    y: (f64, f64),
    w: f64,
    h: f64,
}

impl LegendShape {
    /// The corner whose legend box hides the fewest points of `series` (lines are sampled
    /// between their points too), preferring upper right, upper left, lower right, lower left;
    /// and how many it hides.
    fn best_corner(&self, series: &[Series]) -> (SeriesLabelPosition, usize) {
        let (sx, sy) = (
            (self.x.1 - self.x.0).max(1e-12),
            (self.y.1 - self.y.0).max(1e-12),
        );
        let mut unit = vec![];
        for s in series {
            let p: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .map(|&(x, y)| ((x - self.x.0) / sx, (y - self.y.0) / sy))
                .collect();
            unit.extend(p.iter().copied());
            if s.dots.is_none() {
                for pair in p.windows(2) {
                    for k in 1..8 {
                        let t = k as f64 / 8.0;
                        unit.push((
                            pair[0].0 + t * (pair[1].0 - pair[0].0),
                            pair[0].1 + t * (pair[1].1 - pair[0].1),
                        ));
                    }
                }
            }
        }
        let corners = [
            (SeriesLabelPosition::UpperRight, 1.0 - self.w, 1.0 - self.h),
            (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - self.h),
            (SeriesLabelPosition::LowerRight, 1.0 - self.w, 0.0),
            (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
        ];
        corners
            .into_iter()
            .map(|(corner, left, bottom)| {
                let hidden = unit
                    .iter()
                    .filter(|&&(x, y)| {
                        x >= left && x <= left + self.w && y >= bottom && y <= bottom + self.h
                    })
                    .count();
                (corner, hidden)
            })
            .min_by_key(|&(_, hidden)| hidden)
            .expect("four corners")
    }
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

    #[test]
    fn tick_labels_carry_the_decimals_the_axis_needs() {
        assert_eq!(tick_label(1000.0, 1200.0, 1200.0), "1000");
        assert_eq!(tick_label(0.5, 1.0, 1.0), "0.5");
        assert_eq!(tick_label(0.25, 0.3, 0.3), "0.25");
        assert_eq!(tick_label(-0.0, 1.0, 1.0), "0.0");
        assert_eq!(tick_label(2e-5, 5e-5, 5e-5), "2.0e-5");
        // A nearly flat curve at 0.69 still gets distinct labels.
        assert_ne!(
            tick_label(0.69, 1e-5, 0.69),
            tick_label(0.690001, 1e-5, 0.69)
        );
        // One format for the whole axis, large values included.
        assert_eq!(tick_label(5e5, 2e6, 2e6), "5.0e5");
        let svg = LineChart::new("steps")
            .series("a", [(0.0, 0.0), (1200.0, 1.0)])
            .to_svg()
            .unwrap();
        assert!(svg.contains("\n1000\n") && !svg.contains("1000.0"), "{svg}");
    }

    /// Curves that fill the upper right put the legend in another corner; curves that cross
    /// every corner get headroom above them instead.
    #[test]
    fn legend_avoids_the_curves() {
        let rising: Vec<(f64, f64)> = (0..100).map(|i| (i as f64, i as f64)).collect();
        let shape = LegendShape {
            x: (0.0, 99.0),
            y: (0.0, 99.0),
            w: 0.3,
            h: 0.2,
        };
        let series = |points: Vec<(f64, f64)>| Series {
            name: "s".into(),
            points,
            dots: None,
        };
        let (corner, hidden) = shape.best_corner(&[series(rising.clone())]);
        assert!(matches!(corner, SeriesLabelPosition::UpperLeft) && hidden == 0);
        // A rising and a falling line and two flat ones at the top and bottom: no corner is free.
        let falling = rising.iter().map(|&(x, y)| (x, 99.0 - y)).collect();
        let top = (0..100).map(|i| (i as f64, 99.0)).collect();
        let bottom = (0..100).map(|i| (i as f64, 0.0)).collect();
        let all = [series(rising), series(falling), series(top), series(bottom)];
        assert!(shape.best_corner(&all).1 > 0);
        let chart = all.iter().fold(LineChart::new("crowded"), |c, s| {
            c.series(s.name.clone(), s.points.clone())
        });
        let frame = chart.frame().unwrap();
        assert!(frame.y.1 > 120.0, "the y axis grew headroom: {:?}", frame.y);
        assert!(matches!(
            frame.legend,
            Some(Legend::Corner(SeriesLabelPosition::UpperRight))
        ));
        let (corner, hidden) = LegendShape {
            y: (0.0, frame.y.1),
            ..shape
        }
        .best_corner(&all);
        assert!(matches!(corner, SeriesLabelPosition::UpperRight) && hidden == 0);
    }

    /// On a fixed axis (D's probabilities, 0 to 1) curves that cross every corner keep the axis,
    /// and the legend moves to a band beside the plot instead of covering them.
    #[test]
    fn legend_on_a_fixed_axis_moves_beside_the_plot() {
        let steps = |f: fn(f64) -> f64| (0..200).map(move |i| (i as f64, f(i as f64)));
        let chart = LineChart::new("D")
            .series("D(x) on real", steps(|i| 0.5 + 0.49 * (i / 20.0).sin()))
            .series("D(G(z)) on fake", steps(|i| 0.5 - 0.49 * (i / 20.0).sin()))
            .y_range(0.0, 1.0);
        let frame = chart.frame().unwrap();
        assert_eq!(frame.y, (0.0, 1.0));
        let Some(Legend::Beside(band)) = frame.legend else {
            panic!("{:?}", frame.legend)
        };
        assert!((100..300).contains(&band), "{band}");
        let svg = chart.to_svg().unwrap();
        assert!(svg.contains("D(G(z)) on fake"), "{svg}");
        // Free corners keep the legend inside.
        let flat = LineChart::new("flat")
            .series("a", steps(|_| 0.5))
            .series("b", steps(|_| 0.45))
            .y_range(0.0, 1.0);
        assert!(matches!(
            flat.frame().unwrap().legend,
            Some(Legend::Corner(_))
        ));
    }

    #[test]
    fn same_y_gives_both_charts_the_joint_range() {
        let a = LineChart::new("a").series("x", [(0.0, -1.0), (1.0, 0.0)]);
        let b = LineChart::new("b").series("x", [(0.0, 1.0), (1.0, 3.0)]);
        let (a, b) = LineChart::same_y(a, b);
        assert_eq!(a.y_range, b.y_range);
        let (lo, hi) = a.y_range.unwrap();
        assert!(lo < -1.0 && hi > 3.0 && hi - lo < 4.5);
    }

    /// One spike among a thousand points does not set the shared axis: it is cut off, and the
    /// chart that holds it says so.
    #[test]
    fn same_y_is_not_flattened_by_one_spike() {
        let wavy = |shift: f64| {
            (0..1000)
                .map(|i| (i as f64, shift + (i as f64 / 50.0).sin()))
                .collect::<Vec<_>>()
        };
        let mut spiky = wavy(0.0);
        spiky[500].1 = -8.0;
        let a = LineChart::new("a").series("x", spiky);
        let b = LineChart::new("b").series("x", wavy(0.5));
        let (a, b) = LineChart::same_y(a, b);
        let (lo, hi) = a.y_range.unwrap();
        assert_eq!(a.y_range, b.y_range);
        assert!(lo > -1.2 && hi < 1.7, "{lo} {hi}");
        assert!(a.subtitle.contains("1 point(s) beyond"), "{}", a.subtitle);
        assert!(!b.subtitle.contains("beyond"));
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
