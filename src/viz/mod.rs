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

pub use animation::{Animation, animation};
pub use chart::LineChart;
pub use grid::{ImageGrid, compare, image_grid};

use base64::Engine;

/// Sends content of the given MIME type to the notebook (evcxr's display protocol).
pub(crate) fn display_in_notebook(mime: &str, payload: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{payload}\nEVCXR_END_CONTENT");
}

/// Base64 text of binary data, as the notebook protocol carries images.
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so that a
/// crash never leaves a half-written file in place of a good one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&temp, bytes).with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path)
        .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
}
