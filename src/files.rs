//! Writing files so that nothing a user had is ever half-overwritten.
//!
//! Every file the crate writes (checkpoints, pictures, charts, cached classifiers, the command's
//! run files) goes through [`replace_atomically`]: the new content is written to a temporary
//! file beside the target, flushed to disk, then renamed onto it in one step. A crash, a kill or
//! an error at any instant leaves either the old file or the new one, never a mix, and an error
//! removes the temporary file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically (see [`replace_atomically`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_atomically(path, |temp| Ok(std::fs::write(temp, bytes)?))
}

/// Replaces `path` in one step with the file `write` makes: `write` writes a temporary file
/// beside it ([`temp_beside`]), which is flushed to disk and then renamed onto `path`. A crash,
/// a kill or an error therefore never leaves a half-written file in place of a good one, and an
/// error removes the temporary file. Every file the crate writes goes through here.
pub fn replace_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
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
pub(crate) fn temp_beside(path: &Path) -> Result<PathBuf> {
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
        let path = std::env::temp_dir().join("gans-files-temp/cache.safetensors");
        let (a, b) = (
            super::temp_beside(&path).unwrap(),
            super::temp_beside(&path).unwrap(),
        );
        assert_ne!(a, b);
        let pid = std::process::id().to_string();
        assert!(a.to_string_lossy().contains(&pid) && a.parent() == path.parent());
    }
}
