//! What a learner looks at: image grids and charts.
//!
//! Each type here displays itself inline in a notebook (evcxr calls a type's `evcxr_display`
//! method to show a value left at the end of a cell) and saves itself to a file for the CLI.
//!
//! One figure per cell: evcxr gathers everything a cell displays into ONE output keyed by MIME
//! type, so a second chart (SVG) in the same cell replaces the first, and a chart beside a grid
//! (SVG + PNG) becomes two renderings of one output of which the browser shows one.

mod animation;
mod chart;
mod grid;

pub use animation::{Animation, animation, captioned};
pub use chart::LineChart;
pub use grid::{ImageGrid, compare, image_grid};

use base64::Engine;

/// Images in [−1, 1] → bytes 0–255 on the CPU (rounded, clamped), shape unchanged. The one
/// conversion every picture, snapshot and exported array uses.
pub fn to_u8(images: &tch::Tensor) -> tch::Tensor {
    ((images
        .detach()
        .to_device(tch::Device::Cpu)
        .to_kind(tch::Kind::Float)
        + 1.0)
        * 127.5)
        .clamp(0.0, 255.0)
        .round()
        .to_kind(tch::Kind::Uint8)
}

/// Columns of a square-ish grid of `n` pictures: ⌈√n⌉ (8 for 64, 6 for 36).
pub fn square_columns(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).max(1)
}

/// `text` safe inside HTML or SVG, as text or as an attribute's value.
pub(crate) fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Sends content of the given MIME type to the notebook (evcxr's display protocol).
pub(crate) fn display_in_notebook(mime: &str, payload: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{payload}\nEVCXR_END_CONTENT");
}

/// Base64 text of binary data, as the notebook protocol carries images.
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
