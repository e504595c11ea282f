//! Writing files so that nothing a user had is ever half-overwritten.
//!
//! Every file the crate writes (checkpoints, pictures, charts, cached classifiers, the command's
//! run files) goes through [`replace_atomically`]: the new content is written to a temporary
//! file beside the target, flushed to disk, then renamed onto it in one step. A crash, a kill or
//! an error at any instant leaves either the old file or the new one, never a mix, and an error
//! removes the temporary file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The folder holding the installed data files: `$GANS_DATA_DIR` if set (and not empty), else
/// this crate's `data/`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("GANS_DATA_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"),
    }
}

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
    let result = written.and_then(|()| Ok(std::fs::rename(&temp, path)?));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        // The user's file is named, not the hidden temporary one (already removed), with what
        // to do about the usual causes.
        let kept = match path.exists() {
            true => "the file there is unchanged",
            false => "nothing was written there",
        };
        let shown = format!("could not write {} ({kept})", path.display());
        // A cause the user can mend is said in words; the library's own report of it names the
        // temporary file, which is gone.
        return Err(match cause(&e) {
            None => e.context(shown),
            // The error keeps its kind, for the callers' own advice, and says it in words.
            Some(kind) => anyhow::Error::new(std::io::Error::new(
                kind,
                advice(kind).trim_start_matches(": "),
            ))
            .context(shown),
        });
    }
    Ok(())
}

/// What to do about an error writing a file (a full disk, a read-only disk, a permission),
/// beginning with ": ", or "" for a cause a user cannot mend.
pub fn advice_for(e: &anyhow::Error) -> &'static str {
    cause(e).map_or("", advice)
}

/// Why writing failed, to follow a sentence that names the user's file: the advice for a cause
/// a user can mend ([`advice_for`]), or ": " and the error's root cause.
pub fn why(e: &anyhow::Error) -> String {
    match advice_for(e) {
        "" => format!(": {}", e.root_cause()),
        advice => advice.to_string(),
    }
}

/// The cause of `e` when it is one a user can mend (see [`advice`]).
fn cause(e: &anyhow::Error) -> Option<std::io::ErrorKind> {
    use std::io::ErrorKind::*;
    let mendable = |kind| !advice(kind).is_empty();
    match e.chain().find_map(|c| c.downcast_ref::<std::io::Error>()) {
        Some(io) => Some(io.kind()).filter(|&k| mendable(k)),
        // libtorch's writer reports the OS error as text (the C library's wording of `errno`).
        None => {
            let text = format!("{e:#}");
            [
                ("No space left", StorageFull),
                ("Disk quota", QuotaExceeded),
                ("File too large", FileTooLarge),
                ("Read-only file system", ReadOnlyFilesystem),
                ("Permission denied", PermissionDenied),
            ]
            .into_iter()
            .find(|(words, _)| text.contains(words))
            .map(|(_, kind)| kind)
        }
    }
}

fn advice(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind::*;
    match kind {
        StorageFull | QuotaExceeded => {
            ": the disk is full (no space left on the device, or the quota is used up). Free \
             some space and run the command again"
        }
        FileTooLarge => {
            ": the file is larger than this system lets a process write (`ulimit -f`). Raise \
             the limit and run the command again"
        }
        ReadOnlyFilesystem => ": the disk is mounted read-only. Write somewhere else",
        PermissionDenied => {
            ": permission denied. Write to a folder you own, or give yourself write permission"
        }
        _ => "",
    }
}

/// A temporary name beside `path` (`.NAME.tmp-PID-COPY-N.EXT`), unique within this process, its
/// folder created if missing. `COPY` is where this copy of the crate keeps its counter: the evcxr
/// kernel loads one copy of the crate per notebook cell into one process, each with a counter
/// of its own that starts at 0, so the counter alone could repeat a name. It keeps the extension, from which tch picks a file format.
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
    let copy = std::ptr::addr_of!(COUNTER) as usize;
    Ok(path.with_file_name(format!(
        ".{name}.tmp-{}-{copy:x}-{n}{extension}",
        std::process::id()
    )))
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
