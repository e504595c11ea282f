//! Progress kept in a folder, so that a notebook survives its stop button.
//!
//! evcxr answers Jupyter's interrupt by killing the process that holds the notebook's variables.
//! A trainer made by [`Trainer::kept`](super::Trainer::kept) saves itself into its folder about
//! every 30 seconds of training and at the end of every `train` call (atomically: a kill at any
//! instant leaves the last whole checkpoint). The checkpoint also records the config of the line
//! that built it, so that a `set_lr` between cells is not taken for other settings. Built again
//! by the same line after a restart, it loads the folder's checkpoint when those settings and
//! the data are the same, and says so; otherwise it starts afresh, and says that too.
//!
//! Run All then replays the notebook: the trainer counts the steps its `train` calls ask for
//! since it was built, and each call trains up to that count, which is where a run that was never
//! stopped would be at the end of that call: nothing when the saved run got that far, the rest
//! of the call when the stop came inside it, all of it after that. So the notebook ends where the
//! unstopped run ends, even when the learner changed a step count before running it again, and
//! re-running a training cell afterwards continues as always.
//!
//! What a replay cannot restore: a cell that computes its step count from `steps_done()`, or a
//! `train_with` closure that collects numbers as it goes, sees the resumed trainer. And a
//! resumed run is the same bit for bit on the CPU; a GPU's kernels may round differently.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::config::TrainConfig;

/// Seconds of training between two saves of a kept trainer.
pub const SAVE_SECONDS: f64 = 30.0;

/// The files a kept folder holds; [`Trainer::start_afresh`](super::Trainer::start_afresh)
/// removes these and nothing else.
pub(super) const OWN_FILES: [&str; 2] = ["checkpoint.safetensors", "checkpoint.json"];

/// Where and how often a kept trainer saves, and where its calls have taken it.
#[derive(Debug)]
pub(super) struct Keep {
    /// Where it saves, and the folder as the notebook named it (what messages show).
    pub(super) dir: PathBuf,
    pub(super) shown: PathBuf,
    /// The config of the line that built it (saved with each checkpoint).
    pub(super) built_with: TrainConfig,
    pub(super) every: f64,
    pub(super) last_save: Instant,
    /// The step a run that was never stopped would have reached after the calls made since the
    /// trainer was built.
    pub(super) planned: usize,
    /// A save has failed and said so; the next failures stay quiet.
    pub(super) warned: bool,
}

impl Keep {
    pub(super) fn new(dir: PathBuf, shown: PathBuf, built_with: TrainConfig) -> Self {
        Keep {
            dir,
            shown,
            built_with,
            every: SAVE_SECONDS,
            last_save: Instant::now(),
            planned: 0,
            warned: false,
        }
    }
}

/// Where a kept trainer's folder lands: a relative `dir` goes under `GANS_RUNS_DIR` when that is
/// set (the headless notebook runner points it at a clean folder of its own, so that a run it
/// commits never resumes a learner's, nor one of an earlier test), else it stays relative to
/// the notebook's folder. Messages always name `dir` as the notebook gave it.
pub(super) fn runs_location(dir: &Path) -> PathBuf {
    match std::env::var_os("GANS_RUNS_DIR") {
        Some(root) if !root.is_empty() && dir.is_relative() => PathBuf::from(root).join(dir),
        _ => dir.to_path_buf(),
    }
}
