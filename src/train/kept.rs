//! [`Trainer::kept`] and what a kept trainer does at each call and every 30 seconds (the folder's
//! layout and the replay of a stopped run's calls are described in `keep`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use super::checkpoint::CheckpointMeta;
use super::config::TrainConfig;
use super::data::TrainData;
use super::keep::{Call, Keep, OWN_FILES, differences, read_calls, same_settings};
use super::progress::thousands;
use super::trainer::Trainer;

impl Trainer {
    /// A trainer that keeps its progress in the folder `dir` (created if missing): the run
    /// saved there when its settings and data are `config` and `data`, else a new one. It
    /// prints which, in one line. Training then saves about every 30 seconds and at the end of
    /// every `train` call. [`Trainer::start_afresh`] throws the saved progress away. A relative
    /// `dir` lands under `GANS_RUNS_DIR` when that is set (the headless runner's clean folder).
    pub fn kept(
        dir: impl AsRef<Path>,
        config: TrainConfig,
        data: impl Into<TrainData>,
    ) -> Result<Trainer> {
        let given = dir.as_ref().to_path_buf();
        let dir = runs_location(&given);
        let mut trainer = Trainer::new(config, data)?;
        let shown = given.display();
        let mut replay = Vec::new();
        if dir.join(OWN_FILES[0]).exists() {
            match CheckpointMeta::read(&dir) {
                Ok(meta) if !same_settings(&meta.config, &trainer.config) => println!(
                    "{shown} holds a run with other settings ({}): starting afresh, and the \
                     next save replaces it",
                    differences(&meta.config, &trainer.config).join(", ")
                ),
                Ok(meta) if meta.data != trainer.data().info() => println!(
                    "{shown} holds a run on other data ({}, {} examples): starting afresh, and \
                     the next save replaces it",
                    meta.data.name, meta.data.len
                ),
                Ok(meta) => match trainer.load_printing_as(&dir, &meta.config) {
                    Ok(()) => {
                        replay = read_calls(&dir);
                        println!(
                            "resumed at step {} from {shown} (saved after {:.0} s of training)",
                            thousands(trainer.steps_done as i64),
                            trainer.seconds
                        );
                    }
                    Err(e) => println!("{shown} could not be loaded ({e:#}): starting afresh"),
                },
                Err(e) => println!("{shown} could not be read ({e:#}): starting afresh"),
            }
        } else {
            println!("a new run, kept in {shown}");
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the run folder {shown}"))?;
        trainer.keep = Some(Keep::new(dir, given, replay));
        Ok(trainer)
    }

    /// Loads the checkpoint in `dir`, whose config may differ from this trainer's in how often
    /// it prints (which changes nothing the run computes).
    fn load_printing_as(&mut self, dir: &Path, saved: &TrainConfig) -> Result<()> {
        let (every, seconds) = (self.config.print_every, self.config.print_seconds);
        self.config.print_every = saved.print_every;
        self.config.print_seconds = saved.print_seconds;
        let loaded = self.load_checkpoint(dir);
        self.config.print_every = every;
        self.config.print_seconds = seconds;
        loaded
    }

    /// Starts this trainer again from step 0 with its settings, and removes the progress its
    /// folder kept (a kept trainer; other files in the folder stay).
    pub fn start_afresh(&mut self) -> Result<()> {
        self.reset()?;
        if let Some(keep) = &self.keep {
            for name in OWN_FILES {
                let path = keep.dir.join(name);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).with_context(|| format!("removing {}", path.display()));
                    }
                    _ => {}
                }
            }
            println!(
                "starting afresh: {} no longer holds a run",
                keep.dir.display()
            );
        }
        Ok(())
    }

    /// The folder this trainer keeps its progress in, if it is kept.
    pub fn kept_in(&self) -> Option<&Path> {
        self.keep.as_ref().map(|k| k.dir.as_path())
    }

    /// How many steps a `train(steps)` call trains: on a kept trainer replaying the calls of a
    /// run that was stopped, up to where the same call of that run was going.
    pub(super) fn begin_call(&mut self, steps: usize) -> Result<usize> {
        let done = self.steps_done;
        let Some(keep) = self.keep.as_mut() else {
            return Ok(steps);
        };
        let (start, todo) = match keep.replay.pop_front() {
            Some(old) => {
                let todo = (old.start + steps).saturating_sub(done);
                if todo == 0 {
                    println!(
                        "this call's {} steps were trained before the stop (the trainer is at step {})",
                        thousands(steps as i64),
                        thousands(done as i64)
                    );
                } else if todo < steps {
                    println!(
                        "picked up at step {}: {} of this call's {} steps to go",
                        thousands(done as i64),
                        thousands(todo as i64),
                        thousands(steps as i64)
                    );
                }
                (old.start, todo)
            }
            None => (done, steps),
        };
        keep.calls.push(Call { start, steps });
        keep.write_calls()?;
        Ok(todo)
    }

    /// Saves a kept trainer when its time has come (`at_end`: the call is over).
    pub(super) fn keep_progress(&mut self, at_end: bool) -> Result<()> {
        let due = match &self.keep {
            Some(keep) => at_end || keep.last_save.elapsed().as_secs_f64() >= keep.every,
            None => false,
        };
        if due {
            let dir = self
                .keep
                .as_ref()
                .map(|k| k.dir.clone())
                .unwrap_or_default();
            self.save(&dir)?;
            if let Some(keep) = self.keep.as_mut() {
                keep.last_save = Instant::now();
            }
        }
        Ok(())
    }

    /// How many seconds of training a kept trainer lets pass between two saves (30 unless
    /// set; 0 saves after every step). An error on a trainer that keeps no folder.
    pub fn save_every(&mut self, seconds: f64) -> Result<()> {
        anyhow::ensure!(
            seconds.is_finite() && seconds >= 0.0,
            "save_every({seconds}): give the seconds between saves, 0 or more"
        );
        let keep = self.keep.as_mut().context(
            "this trainer keeps no folder: make it with Trainer::kept(dir, config, data)",
        )?;
        keep.every = seconds;
        Ok(())
    }
}

/// Where a kept trainer's folder lands: a relative `dir` goes under `GANS_RUNS_DIR` when that is
/// set (the headless notebook runner points it at a clean folder of its own, so that a run it
/// commits never resumes a learner's, nor one of an earlier test), else it stays relative to
/// the notebook's folder. Messages always name `dir` as the notebook gave it.
fn runs_location(dir: &Path) -> PathBuf {
    match std::env::var_os("GANS_RUNS_DIR") {
        Some(root) if !root.is_empty() && dir.is_relative() => PathBuf::from(root).join(dir),
        _ => dir.to_path_buf(),
    }
}
