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

/// Sends content of the given MIME type to the notebook (evcxr's display protocol).
pub(crate) fn display_in_notebook(mime: &str, payload: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{payload}\nEVCXR_END_CONTENT");
}

/// Base64 text of binary data, as the notebook protocol carries images.
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Writes `bytes` to `path` atomically (see [`replace_atomically`]).
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    replace_atomically(path, |temp| Ok(std::fs::write(temp, bytes)?))
}

/// Replaces `path` in one step with the file `write` makes: `write` writes a temporary file
/// beside it ([`temp_beside`]), which is flushed to disk and then renamed onto `path`. A crash,
/// a kill or an error therefore never leaves a half-written file in place of a good one, and an
/// error removes the temporary file. Every file the crate writes goes through here.
pub fn replace_atomically(
    path: &std::path::Path,
    write: impl FnOnce(&std::path::Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let temp = temp_beside(path)?;
    let written = write(&temp).and_then(|()| Ok(std::fs::File::open(&temp)?.sync_all()?));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e.context(format!("writing {}", temp.display())));
    }
    if let Err(e) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(e)
            .with_context(|| format!("renaming {} to {}", temp.display(), path.display()));
    }
    Ok(())
}

/// A temporary name beside `path` (`.NAME.tmp-PID-N.EXT`), unique within this process, its
/// folder created if missing. It keeps the extension, from which tch picks a file format.
/// Renaming it onto `path` replaces `path` in one step.
pub(crate) fn temp_beside(path: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(path.with_file_name(format!(".{name}.tmp-{}-{n}{extension}", std::process::id())))
}

#[cfg(test)]
mod tests {
    /// Two writers in one process (two tests training the same cached classifier) never share a
    /// temporary file: each name carries the process id and a counter.
    #[test]
    fn temporary_names_are_unique_within_a_process() {
        let path = std::env::temp_dir().join("gans-viz-temp/cache.safetensors");
        let (a, b) = (
            super::temp_beside(&path).unwrap(),
            super::temp_beside(&path).unwrap(),
        );
        assert_ne!(a, b);
        let pid = std::process::id().to_string();
        assert!(a.to_string_lossy().contains(&pid) && a.parent() == path.parent());
    }
}
