//! Progress kept in a folder, so that a notebook survives its stop button.
//!
//! evcxr answers Jupyter's interrupt by killing the process that holds the notebook's variables.
//! A trainer made by [`Trainer::kept`] saves itself into its folder about every 30 seconds of
//! training and at the end of every `train` call (atomically: a kill at any instant leaves the
//! last whole checkpoint), and records each call's start and length in `calls.json`. Built again
//! by the same line after a restart, it loads the folder's checkpoint when the settings and the
//! data are the same, and says so; otherwise it starts afresh, and says that too.
//!
//! Run All after a stop then replays the notebook: the k-th `train` call of the new session
//! stands for the k-th call of the old one, and trains up to where that call was going (nothing,
//! when the trainer got that far before the stop). Calls beyond the recorded ones train their
//! steps on top, as always, so re-running a training cell still continues.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use crate::files;

/// Seconds of training between two saves of a kept trainer.
pub const SAVE_SECONDS: f64 = 30.0;

const CALLS: &str = "calls.json";
/// The files a kept folder holds; [`Trainer::start_afresh`] removes these and nothing else.
pub(super) const OWN_FILES: [&str; 3] = ["checkpoint.safetensors", "checkpoint.json", CALLS];

/// One `train` call: the step it started from and how many it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Call {
    pub(super) start: usize,
    pub(super) steps: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Calls {
    calls: Vec<Call>,
}

/// Where and how often a kept trainer saves, and the calls it has made.
#[derive(Debug)]
pub(super) struct Keep {
    /// Where it saves, and the folder as the notebook named it (what messages show).
    pub(super) dir: PathBuf,
    pub(super) shown: PathBuf,
    pub(super) every: f64,
    pub(super) last_save: Instant,
    pub(super) calls: Vec<Call>,
    pub(super) replay: VecDeque<Call>,
}

impl Keep {
    pub(super) fn new(dir: PathBuf, shown: PathBuf, replay: Vec<Call>) -> Self {
        Keep {
            dir,
            shown,
            every: SAVE_SECONDS,
            last_save: Instant::now(),
            calls: Vec::new(),
            replay: replay.into(),
        }
    }

    /// After a reset: the calls made so far and those of a stopped run no longer apply.
    pub(super) fn forget_calls(&mut self) {
        self.calls.clear();
        self.replay.clear();
    }

    pub(super) fn write_calls(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&Calls {
            calls: self.calls.clone(),
        })?;
        files::write_atomic(&self.dir.join(CALLS), &json)
    }
}

/// The settings that decide what a run computes: everything but how often it prints.
pub(super) fn same_settings(saved: &TrainConfig, new: &TrainConfig) -> bool {
    let mut saved = saved.clone();
    saved.print_every = new.print_every;
    saved.print_seconds = new.print_seconds;
    &saved == new
}

/// The top-level settings that differ, by name.
pub(super) fn differences(saved: &TrainConfig, new: &TrainConfig) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(saved), serde_json::to_value(new))
    else {
        return vec![];
    };
    b.iter()
        .filter(|(k, v)| a.get(k.as_str()) != Some(*v) && !k.starts_with("print_"))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The calls recorded in a kept folder; none when the file is missing or unreadable (the
/// replay then treats every call as new).
pub(super) fn read_calls(dir: &Path) -> Vec<Call> {
    std::fs::read(dir.join(CALLS))
        .ok()
        .and_then(|b| serde_json::from_slice::<Calls>(&b).ok())
        .map(|c| c.calls)
        .unwrap_or_default()
}
