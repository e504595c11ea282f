//! Image grids: a batch of images tiled into one picture.

use std::path::Path;

use anyhow::{Context, Result};
use tch::{Kind, Tensor};

/// A PNG picture of a batch of images; shows itself inline in a notebook.
///
/// Labels over its columns or beside its rows ([`ImageGrid::column_labels`],
/// [`ImageGrid::row_labels`]) turn the displayed figure into an SVG that holds the PNG and the
/// text, so that the browser draws the letters (no font is needed where the grid is made).
#[derive(Debug, Clone)]
pub struct ImageGrid {
    /// The encoded PNG.
    pub png: Vec<u8>,
    /// Width in pixels (after `scale`).
    pub width: u32,
    /// Height in pixels (after `scale`).
    pub height: u32,
    /// Tiles across and down.
    cols: usize,
    rows: usize,
    column_labels: Vec<String>,
    row_labels: Vec<String>,
}

/// Tiles `images` (`[N, C, H, W]`, values in [-1, 1], C = 1 or 3) into rows of `per_row`, with a
/// 2-pixel border, enlarged `scale` times (nearest neighbour) so small digits stay visible.
pub fn image_grid(images: &Tensor, per_row: usize, scale: u32) -> Result<ImageGrid> {
    let canvas = tile(images, per_row, scale)?;
    let mut png = Vec::new();
    canvas
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .context("encoding the grid as PNG")?;
    let n = images.size()[0] as usize;
    let cols = per_row.min(n);
    Ok(ImageGrid {
        png,
        width: canvas.width(),
        height: canvas.height(),
        cols,
        rows: n.div_ceil(cols),
        column_labels: vec![],
        row_labels: vec![],
    })
}

/// The tiled picture of [`image_grid`], not yet encoded.
pub(crate) fn tile(images: &Tensor, per_row: usize, scale: u32) -> Result<image::RgbImage> {
    let size = images.size();
    anyhow::ensure!(
        size.len() == 4 && (size[1] == 1 || size[1] == 3),
        "image_grid expects images of shape [N, 1 or 3, H, W], got {size:?}"
    );
    anyhow::ensure!(
        per_row > 0 && scale > 0,
        "per_row and scale must be at least 1"
    );
    let (n, c, h, w) = (
        size[0] as usize,
        size[1] as usize,
        size[2] as usize,
        size[3] as usize,
    );
    anyhow::ensure!(n > 0, "image_grid got an empty batch");
    let cols = per_row.min(n);
    let rows = n.div_ceil(cols);
    let pad = 2;
    let (grid_w, grid_h) = (cols * (w + pad) + pad, rows * (h + pad) + pad);

    // [-1, 1] → bytes, channels last, on the CPU: one copy for the whole batch.
    let bytes = super::to_u8(images).permute([0, 2, 3, 1]).contiguous();
    let pixels = Vec::<u8>::try_from(bytes.view([-1])).context("copying the images to the CPU")?;

    let mut canvas =
        image::RgbImage::from_pixel(grid_w as u32, grid_h as u32, image::Rgb([40, 40, 40]));
    for (i, picture) in pixels.chunks_exact(h * w * c).enumerate() {
        let (x0, y0) = ((i % cols) * (w + pad) + pad, (i / cols) * (h + pad) + pad);
        for y in 0..h {
            for x in 0..w {
                let p = &picture[(y * w + x) * c..(y * w + x + 1) * c];
                let rgb = if c == 1 {
                    [p[0]; 3]
                } else {
                    [p[0], p[1], p[2]]
                };
                canvas.put_pixel((x0 + x) as u32, (y0 + y) as u32, image::Rgb(rgb));
            }
        }
    }
    Ok(if scale > 1 {
        image::imageops::resize(
            &canvas,
            canvas.width() * scale,
            canvas.height() * scale,
            image::imageops::FilterType::Nearest,
        )
    } else {
        canvas
    })
}

/// Puts images side by side for comparison: for each of the first `n` samples, one image from
/// each of `columns` (e.g. input | target, or input | output | target), `groups_per_row` samples
/// to a row. Grey columns are shown in grey next to colour ones.
pub fn compare(
    columns: &[&Tensor],
    n: usize,
    groups_per_row: usize,
    scale: u32,
) -> Result<ImageGrid> {
    anyhow::ensure!(
        !columns.is_empty(),
        "compare needs at least one column of images"
    );
    let side = |c: &Tensor| c.size().get(2..4).map(<[i64]>::to_vec);
    for (i, column) in columns.iter().enumerate() {
        let size = column.size();
        anyhow::ensure!(
            size.len() == 4 && matches!(size[1], 1 | 3) && side(column) == side(columns[0]),
            "compare: column {i} is {size:?}; every column must be images [n, 1 or 3, H, W] of \
             the same H and W as column 0 ({:?})",
            columns[0].size()
        );
    }
    let n = columns
        .iter()
        .map(|c| c.size()[0] as usize)
        .min()
        .unwrap_or(0)
        .min(n);
    anyhow::ensure!(n > 0, "compare got no image to show");
    let colour = columns.iter().any(|c| c.size().get(1) == Some(&3));
    // One copy per column to the CPU; grey columns repeated to RGB beside colour ones.
    let prepared: Vec<Tensor> = columns
        .iter()
        .map(|column| {
            let images = column
                .narrow(0, 0, n as i64)
                .to_device(tch::Device::Cpu)
                .to_kind(Kind::Float);
            if colour && images.size()[1] == 1 {
                images.repeat([1, 3, 1, 1])
            } else {
                images
            }
        })
        .collect();
    // [n, columns, C, H, W] → [n × columns, C, H, W]: sample after sample, columns side by side.
    let stacked = Tensor::stack(&prepared, 1);
    let size = stacked.size();
    let tiles = stacked.reshape([size[0] * size[1], size[2], size[3], size[4]]);
    image_grid(&tiles, groups_per_row * columns.len(), scale)
}

impl ImageGrid {
    /// Names the columns of tiles, left to right. Fewer labels than columns repeat: three labels
    /// on a [`compare`] grid of input | output | target name every group.
    pub fn column_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.column_labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Names the rows of tiles, top to bottom (a class, a step).
    pub fn row_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.row_labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// The grid with its labels as an SVG document: the PNG embedded, the labels as text.
    pub fn to_svg(&self) -> String {
        const FONT: f64 = 13.0;
        let escape = super::escape_markup;
        let left = self
            .row_labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .map_or(0.0, |chars| chars as f64 * FONT * 0.6 + 10.0)
            .ceil();
        let top = if self.column_labels.is_empty() {
            0.0
        } else {
            FONT + 8.0
        };
        let (w, h) = (self.width as f64, self.height as f64);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{}\" height=\"{}\" \
             font-family=\"sans-serif\" font-size=\"{FONT}\" fill=\"#222\">\n",
            left + w,
            top + h
        );
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
        let pitch = (w / self.cols.max(1) as f64, h / self.rows.max(1) as f64);
        if !self.column_labels.is_empty() {
            // Smaller letters when the longest label would not fit its column (a glyph is about
            // 0.6 em wide), 8 px at the least.
            let longest = self.column_labels.iter().map(|l| l.chars().count()).max();
            let size = (pitch.0 / (0.6 * longest.unwrap_or(1).max(1) as f64)).clamp(8.0, FONT);
            for c in 0..self.cols {
                let label = &self.column_labels[c % self.column_labels.len()];
                svg += &format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                     font-size=\"{size:.1}\">{}</text>\n",
                    left + (c as f64 + 0.5) * pitch.0,
                    FONT + 2.0,
                    escape(label)
                );
            }
        }
        for (r, label) in self.row_labels.iter().take(self.rows).enumerate() {
            svg += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" \
                 dominant-baseline=\"middle\">{}</text>\n",
                left - 6.0,
                top + (r as f64 + 0.5) * pitch.1,
                escape(label)
            );
        }
        svg += &format!(
            "<image x=\"{left}\" y=\"{top}\" width=\"{w}\" height=\"{h}\" \
             xlink:href=\"data:image/png;base64,{png}\"/>\n</svg>\n",
            png = super::base64(&self.png)
        );
        svg
    }

    fn labelled(&self) -> bool {
        !(self.column_labels.is_empty() && self.row_labels.is_empty())
    }

    /// Saves the grid (atomically): the PNG, or with a `.svg` name the labelled SVG.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
        {
            crate::files::write_atomic(path, self.to_svg().as_bytes())
        } else {
            crate::files::write_atomic(path, &self.png)
        }
    }

    /// Shows the grid inline in a notebook (with its labels when it has some).
    pub fn evcxr_display(&self) {
        if self.labelled() {
            super::display_in_notebook("image/svg+xml", &self.to_svg());
        } else {
            super::display_in_notebook("image/png", &super::base64(&self.png));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_layout_and_pixel_values() {
        // Two 2×2 grey images: all -1 (black) and all +1 (white), one per row.
        let images = Tensor::cat(
            &[
                Tensor::full([1, 1, 2, 2], -1.0, (Kind::Float, tch::Device::Cpu)),
                Tensor::full([1, 1, 2, 2], 1.0, (Kind::Float, tch::Device::Cpu)),
            ],
            0,
        );
        let grid = image_grid(&images, 1, 1).unwrap();
        assert_eq!((grid.width, grid.height), (2 + 2 * 2, 2 * (2 + 2) + 2));
        let decoded = image::load_from_memory(&grid.png).unwrap().to_rgb8();
        assert_eq!(decoded.get_pixel(2, 2).0, [0, 0, 0]);
        assert_eq!(decoded.get_pixel(2, 6).0, [255, 255, 255]);
        assert_eq!(decoded.get_pixel(0, 0).0, [40, 40, 40]);
    }

    #[test]
    fn compare_interleaves_columns() {
        let cpu = (Kind::Float, tch::Device::Cpu);
        let grey = Tensor::full([3, 1, 2, 2], -1.0, cpu); // black
        let colour = Tensor::full([3, 3, 2, 2], 1.0, cpu); // white
        let grid = compare(&[&grey, &colour], 2, 2, 1).unwrap();
        // 2 samples × 2 columns in one row of 4 tiles.
        assert_eq!((grid.width, grid.height), (2 + 4 * 4, 2 + 4));
        let decoded = image::load_from_memory(&grid.png).unwrap().to_rgb8();
        let tile = |k: u32| decoded.get_pixel(2 + 4 * k, 2).0;
        assert_eq!(
            [tile(0), tile(1), tile(2), tile(3)],
            [[0; 3], [255; 3], [0; 3], [255; 3]]
        );
    }

    /// Three column labels repeat over two triplets; row labels sit left of each row, and the
    /// labels' text is escaped.
    #[test]
    fn labels_become_svg_text_beside_the_picture() {
        let cpu = (Kind::Float, tch::Device::Cpu);
        let images = Tensor::zeros([12, 1, 4, 4], cpu);
        let grid = image_grid(&images, 6, 1)
            .unwrap()
            .column_labels(["input", "output", "target"])
            .row_labels(["step 0", "<late>"]);
        let svg = grid.to_svg();
        assert_eq!(svg.matches(">output<").count(), 2, "{svg}");
        assert!(
            svg.contains(">step 0<") && svg.contains(">&lt;late&gt;<"),
            "{svg}"
        );
        assert!(svg.contains("data:image/png;base64,"));
        let plain = image_grid(&images, 6, 1).unwrap();
        assert!(!plain.labelled() && grid.labelled());
    }

    #[test]
    fn wrong_shape_is_an_error() {
        let flat = Tensor::zeros([4, 784], (Kind::Float, tch::Device::Cpu));
        let err = image_grid(&flat, 2, 1).unwrap_err().to_string();
        assert!(err.contains("[N, 1 or 3, H, W]"), "{err}");
    }
}
