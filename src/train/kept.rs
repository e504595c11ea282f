//! [`Trainer::kept`] and what a kept trainer does at each call and every 30 seconds (the folder
//! and the replay of a stopped run are described in `keep`).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use super::checkpoint::{CheckpointMeta, config_differences};
use super::config::TrainConfig;
use super::data::TrainData;
use super::keep::{Keep, OWN_FILES, runs_location};
use super::progress::thousands;
use super::seeds;
use super::trainer::Trainer;

impl Trainer {
    /// A trainer that keeps its progress in the folder `dir` (created if missing): the run
    /// saved there when it was built with the settings `config` and trained on `data`, else a
    /// new one. It prints which, in one line. Training then saves about every 30 seconds and at
    /// the end of every `train` call, and the calls of a Run All after a stop replay the stopped
    /// run (see the `keep` module). [`Trainer::start_afresh`] throws the saved progress away. A
    /// relative `dir` lands under `GANS_RUNS_DIR` when that is set (the headless runner's
    /// clean folder).
    pub fn kept(
        dir: impl AsRef<Path>,
        config: TrainConfig,
        data: impl Into<TrainData>,
    ) -> Result<Trainer> {
        let given = dir.as_ref().to_path_buf();
        let dir = runs_location(&given);
        let built_with = config.clone();
        let mut trainer = Trainer::new(config, data)?;
        let shown = given.display();
        if dir.join(OWN_FILES[0]).exists() {
            match CheckpointMeta::read(&dir) {
                Ok(meta) => {
                    // The line that built the saved run, else (a checkpoint of `save`) its config.
                    let line = meta.kept_from.as_ref().unwrap_or(&meta.config);
                    let differences = config_differences(
                        &serde_json::to_value(line)?,
                        &serde_json::to_value(&built_with)?,
                    );
                    if !differences.is_empty() {
                        println!(
                            "{shown} holds a run with other settings ({}): starting afresh, and \
                             the next save replaces it",
                            differences.join("; ")
                        );
                    } else if meta.data != trainer.data().info() {
                        println!(
                            "{shown} holds a run on other data ({}, {} examples): starting \
                             afresh, and the next save replaces it",
                            meta.data.name, meta.data.len
                        );
                    } else {
                        match trainer.resume_from(&dir, &meta.config) {
                            Ok(()) => println!(
                                "resumed at step {} from {shown} (saved after {:.0} s of training)",
                                thousands(trainer.steps_done as i64),
                                trainer.seconds
                            ),
                            Err(e) => {
                                println!(
                                    "{shown} could not be loaded ({e:#}): starting afresh, and the \
                                     next save replaces it"
                                );
                                trainer.reconfigure(built_with.clone())?;
                            }
                        }
                    }
                }
                Err(e) => println!(
                    "{shown} could not be read ({e:#}): starting afresh, and the next save \
                     replaces it"
                ),
            }
        } else {
            println!("a new run, kept in {shown}");
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the run folder {shown}"))?;
        trainer.keep = Some(Keep::new(dir, given, built_with));
        Ok(trainer)
    }

    /// Loads the checkpoint in `dir`, saved with `saved`, which may differ from this trainer's
    /// config by a `set_lr` or `set_progress` made between cells (and in how often it prints).
    fn resume_from(&mut self, dir: &Path, saved: &TrainConfig) -> Result<()> {
        let mut run = saved.clone();
        run.print_every = self.config.print_every;
        run.print_seconds = self.config.print_seconds;
        if run != self.config {
            self.reconfigure(run)?;
        }
        self.load_checkpoint(dir)
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
                        return Err(e).with_context(|| {
                            format!("removing {}", keep.shown.join(name).display())
                        });
                    }
                    _ => {}
                }
            }
            println!(
                "starting afresh: {} no longer holds a run",
                keep.shown.display()
            );
        }
        Ok(())
    }

    /// The folder this trainer keeps its progress in, if it is kept.
    pub fn kept_in(&self) -> Option<&Path> {
        self.keep.as_ref().map(|k| k.dir.as_path())
    }

    /// How many steps a `train(steps)` call trains: on a kept trainer, up to where a run that
    /// was never stopped would be at the end of this call (see the `keep` module).
    pub(super) fn begin_call(&mut self, steps: usize) -> usize {
        let done = self.steps_done;
        let Some(keep) = self.keep.as_mut() else {
            return steps;
        };
        keep.planned += steps;
        keep.last_save = Instant::now();
        let todo = keep.planned.saturating_sub(done);
        if todo == 0 {
            println!(
                "this call's {} steps were trained earlier: the trainer is at step {} (run the \
                 cell again to train on)",
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
        // Behind this call's start (an earlier call failed or was skipped): this call's steps.
        todo.min(steps)
    }

    /// Saves a kept trainer when its time has come (`at_end`: the call is over). A save that
    /// fails says why once, and training goes on: the last save stays as it was.
    pub(super) fn keep_progress(&mut self, at_end: bool) {
        let Some(keep) = self.keep.as_ref() else {
            return;
        };
        if !at_end && keep.last_save.elapsed().as_secs_f64() < keep.every {
            return;
        }
        let (dir, shown) = (keep.dir.clone(), keep.shown.clone());
        let saved = self.save(&dir);
        let Some(keep) = self.keep.as_mut() else {
            return;
        };
        keep.last_save = Instant::now();
        if let Err(e) = saved {
            if !keep.warned {
                eprintln!(
                    "gans: could not save to {} ({e:#}); training goes on, and the last save \
                     there stays as it was",
                    shown.display()
                );
            }
            keep.warned = true;
        }
    }

    /// After a call of a kept trainer or one with a live view: the global random generator set
    /// from the step alone, so that a cell that samples after it draws the same whether the
    /// call trained, replayed nothing, or drew the view.
    pub(super) fn settle_random(&self) {
        if self.keep.is_some() || self.live.is_some() {
            seeds::seed_torch(self.config.seed, seeds::AFTER_CALL, self.steps_done as u64);
        }
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
