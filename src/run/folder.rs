//! A run's folder on disk: created whole, replaced only when it is a run, opened again for
//! `--resume`, `sample` and `eval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};
use tch::Device;

use super::{DataSpec, ModelKind};
use crate::data::Split;
use crate::train::Trainer;

/// What `--resume` needs to load a run again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub format: String,
    pub model: ModelKind,
    pub dataset: DataSpec,
    /// The step training runs to (`--steps`, or `--epochs` converted).
    pub target_steps: usize,
    /// Save a checkpoint every this many steps (and at the end, and on Ctrl-C).
    pub checkpoint_every: usize,
}

const RUN_FORMAT: &str = "gans-run/1";

impl RunInfo {
    pub fn new(
        model: ModelKind,
        dataset: DataSpec,
        target_steps: usize,
        checkpoint_every: usize,
    ) -> RunInfo {
        RunInfo {
            format: RUN_FORMAT.into(),
            model,
            dataset,
            target_steps,
            checkpoint_every,
        }
    }
}

/// A run's folder: `runs/NAME/`.
#[derive(Debug, Clone)]
pub struct RunFolder {
    pub dir: PathBuf,
}

/// What a run folder may hold: `--force` replaces a folder that holds nothing else.
const RUN_FILES: [&str; 8] = [
    "run.json",
    "config.json",
    "checkpoint",
    "losses.svg",
    "d.svg",
    "samples.png",
    "samples.svg",
    "snapshots.gif",
];

/// `path` made absolute with its links resolved as far as it exists (the rest appended).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(path) = std::fs::canonicalize(path) {
        return path;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolved(parent).join(name),
        (_, Some(name)) => std::env::current_dir().unwrap_or_default().join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

impl RunFolder {
    /// Checks, before anything is deleted or written, that a new run may go to `dir`:
    /// - never a file, never a folder that is, holds or lies inside the dataset folder `data`
    ///   (the run's own samples would become training data);
    /// - a folder that holds anything only with `force`, and only when it is a run folder
    ///   written by `gans train` (its `run.json`) holding nothing but a run's files.
    pub fn check_new(dir: &Path, force: bool, data: Option<&Path>) -> Result<()> {
        let shown = dir.display();
        ensure!(
            !dir.is_file() && !dir.is_symlink(),
            "--out {shown} is a file, not a folder: choose another --out (--force replaces only \
             a run folder written by `gans train`, never a file)"
        );
        if let Some(data) = data {
            let (out, data) = (resolved(dir), resolved(data));
            ensure!(
                !out.starts_with(&data),
                "--out {shown} is or lies inside the dataset folder {}: the run's own pictures \
                 would become training data. Choose an --out outside it",
                data.display()
            );
            ensure!(
                !data.starts_with(&out),
                "--out {shown} holds the dataset folder {}: choose another --out (nothing was \
                 deleted)",
                data.display()
            );
        }
        let entries: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => return Ok(()),
        };
        if entries.is_empty() {
            return Ok(());
        }
        ensure!(
            force,
            "{shown} already exists and is not empty{}. Continue that run with `gans train \
             --resume {shown}`, choose another --out, or pass --force to replace it",
            RunFolder::describe_existing(dir)
        );
        ensure!(
            dir.join("run.json").is_file(),
            "{shown} is not a run folder written by `gans train` (it has no run.json): --force \
             replaces only a run folder, so nothing was deleted. Choose another --out"
        );
        let mut foreign: Vec<&String> = entries
            .iter()
            .filter(|name| !RUN_FILES.contains(&name.as_str()) && !name.starts_with('.'))
            .collect();
        foreign.sort();
        ensure!(
            foreign.is_empty(),
            "{shown} is a run folder but also holds {}, which --force would delete: move \
             them out first, or choose another --out (nothing was deleted)",
            foreign
                .iter()
                .take(5)
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(())
    }

    /// A new run in `dir`: `run.json`, `config.json` and a checkpoint at the trainer's step,
    /// written into a hidden folder beside `dir` and moved into place whole, so that a run folder
    /// always loads. With `force`, an old run there ([`RunFolder::check_new`] says which) is
    /// deleted only once the new one is whole. A refusal or an error leaves `dir` as it was.
    pub fn create(
        dir: impl AsRef<Path>,
        force: bool,
        run: &RunInfo,
        trainer: &Trainer,
    ) -> Result<RunFolder> {
        let dir = dir.as_ref().to_path_buf();
        Self::check_new(&dir, force, run.dataset.folder())?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("--out {} does not name a folder", dir.display()))?;
        let beside =
            |what: &str| dir.with_file_name(format!(".{name}.{what}-{}", std::process::id()));
        // A new run that a kill interrupted before it was moved into place is of no use.
        for stale in hidden_siblings(&dir, "new") {
            let _ = std::fs::remove_dir_all(stale);
        }
        let staging = beside("new");
        let written = (|| -> Result<()> {
            std::fs::create_dir_all(&staging)
                .with_context(|| format!("creating {}", staging.display()))?;
            let folder = RunFolder {
                dir: staging.clone(),
            };
            folder.write_run(run)?;
            folder.save(trainer)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        // An empty folder is simply replaced; an old run is moved aside, then deleted.
        let old = beside("old");
        let had_old = std::fs::remove_dir(&dir).is_err() && dir.exists();
        if had_old {
            std::fs::rename(&dir, &old)
                .with_context(|| format!("moving the old run {} aside", dir.display()))?;
        }
        if let Err(e) = std::fs::rename(&staging, &dir) {
            if had_old {
                let _ = std::fs::rename(&old, &dir);
            }
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e).with_context(|| format!("moving the new run into {}", dir.display()));
        }
        if had_old {
            std::fs::remove_dir_all(&old)
                .with_context(|| format!("deleting the replaced run, now in {}", old.display()))?;
        }
        Ok(RunFolder { dir })
    }

    /// An existing run, for `--resume`, `sample` and `eval`: its folder, or its `checkpoint/`.
    /// A run that `--force` had moved aside when a kill stopped it before the new run took its
    /// place is moved back first.
    pub fn open(path: impl AsRef<Path>) -> Result<RunFolder> {
        let path = path.as_ref();
        if !path.exists()
            && let Some(old) = hidden_siblings(path, "old").into_iter().next()
        {
            std::fs::rename(&old, path).with_context(|| {
                format!(
                    "moving the run in {} back to {}",
                    old.display(),
                    path.display()
                )
            })?;
            eprintln!(
                "gans: {} was being replaced when its command stopped: the old run is back",
                path.display()
            );
        }
        let dir = if has_checkpoint(path) && !path.join("run.json").is_file() {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        ensure!(
            dir.join("run.json").is_file(),
            "{} is not a run folder written by `gans train` (it has no run.json)",
            path.display()
        );
        ensure!(
            has_checkpoint(&dir.join("checkpoint")),
            "{} has no checkpoint/ (a run folder always has one; was it deleted?): start the run \
             again with `gans train … --out {} --force`",
            dir.display(),
            dir.display()
        );
        Ok(RunFolder { dir })
    }

    fn describe_existing(dir: &Path) -> String {
        match crate::train::CheckpointMeta::read(dir.join("checkpoint")) {
            Ok(meta) => format!(
                " (a {} run at step {})",
                ModelKind::of(&meta.config),
                meta.step
            ),
            Err(_) => String::new(),
        }
    }

    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }

    pub fn read_info(&self) -> Result<RunInfo> {
        let path = self.dir.join("run.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let info: RunInfo = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} does not describe a run this version of gans understands",
                path.display()
            )
        })?;
        ensure!(
            info.format == RUN_FORMAT,
            "{} has format {:?}; this version of gans reads {RUN_FORMAT:?}",
            path.display(),
            info.format
        );
        Ok(info)
    }

    /// Writes `run.json` (atomically).
    pub fn write_run(&self, info: &RunInfo) -> Result<()> {
        crate::viz::write_atomic(
            &self.dir.join("run.json"),
            &serde_json::to_vec_pretty(info)?,
        )
    }

    /// The trainer of this run, rebuilt from its checkpoint with its own data, to train on.
    pub fn load_trainer(&self, device: Device) -> Result<(Trainer, RunInfo)> {
        let info = self.read_info()?;
        let data = info.dataset.load(Split::Train, device).with_context(|| {
            format!(
                "loading the training data of {} to train on (sampling and scoring do not need it)",
                self.dir.display()
            )
        })?;
        let trainer = Trainer::load(self.checkpoint(), data)
            .with_context(|| format!("loading the run in {}", self.dir.display()))?;
        self.check_model(&trainer, &info)?;
        Ok((trainer, info))
    }

    /// The trainer of this run from its checkpoint alone, to sample and score (the 2-D
    /// mixtures, which read no file, come with their data for the mode report).
    pub fn load_for_sampling(&self, device: Device) -> Result<(Trainer, RunInfo)> {
        let info = self.read_info()?;
        if info.dataset.is_generated() {
            return self.load_trainer(device);
        }
        let trainer = Trainer::load_without_data(self.checkpoint(), device)
            .with_context(|| format!("loading the run in {}", self.dir.display()))?;
        self.check_model(&trainer, &info)?;
        Ok((trainer, info))
    }

    /// The checkpoint holds the model `run.json` names (a checkpoint copied in from another
    /// run does not).
    fn check_model(&self, trainer: &Trainer, info: &RunInfo) -> Result<()> {
        let held = ModelKind::of(trainer.config());
        ensure!(
            held == info.model,
            "{} holds a {held} model but {} says {}: the checkpoint was copied in from another \
             run. Put back this run's own checkpoint/, or resume the {held} run from its own folder",
            self.checkpoint().display(),
            self.dir.join("run.json").display(),
            info.model
        );
        Ok(())
    }

    /// Saves the checkpoint, its config as `config.json` (a changed learning rate included),
    /// then the figures.
    pub fn save(&self, trainer: &Trainer) -> Result<()> {
        trainer.save(self.checkpoint())?;
        crate::viz::write_atomic(
            &self.dir.join("config.json"),
            &serde_json::to_vec_pretty(trainer.config())?,
        )?;
        self.write_figures(trainer)
    }

    /// The loss curves, D's (or the critic's) curves, samples and the snapshot GIF.
    pub fn write_figures(&self, trainer: &Trainer) -> Result<()> {
        let out = |name: &str| self.dir.join(name);
        if trainer.history().is_empty() {
            return Ok(());
        }
        trainer.losses(0.6)?.save(out("losses.svg"))?;
        if trainer.config().adversarial {
            trainer.d_chart(0.6)?.save(out("d.svg"))?;
        }
        let model = &trainer.config().model;
        if model.makes_points() {
            trainer.toy_chart(1000)?.save(out("samples.svg"))?;
        } else if model.model().reconstructs() {
            trainer.triplets(2)?.save(out("samples.png"))?;
        } else {
            trainer.sample_grid(64)?.save(out("samples.png"))?;
            if !trainer.snapshots().is_empty() {
                trainer.snapshots_gif(250)?.save(out("snapshots.gif"))?;
            }
        }
        Ok(())
    }
}

/// The hidden folders `.NAME.WHAT-PID` that [`RunFolder::create`] makes beside `dir`.
fn hidden_siblings(dir: &Path, what: &str) -> Vec<PathBuf> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return vec![];
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!(".{}.{what}-", name.to_string_lossy());
    let mut found: Vec<PathBuf> = std::fs::read_dir(parent)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// A checkpoint folder with a checkpoint in it (its tensor file; or, written by an older
/// version, its JSON).
pub(crate) fn has_checkpoint(dir: &Path) -> bool {
    dir.join("checkpoint.safetensors").is_file() || dir.join("checkpoint.json").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy2d::{Toy2d, Toy2dKind};
    use crate::models::toy::ToyConfig;
    use crate::train::TrainConfig;

    /// A kill between `--force`'s two renames leaves the old run hidden beside its name, and
    /// the next command that opens it moves it back.
    #[test]
    fn a_run_moved_aside_by_an_interrupted_force_comes_back() {
        let dir = crate::data::test_dir("run-aside");
        let trainer = Trainer::new(
            TrainConfig::toy(ToyConfig::default()),
            Toy2d::new(Toy2dKind::Ring, Device::Cpu),
        )
        .unwrap();
        let info = RunInfo::new(ModelKind::Vanilla, DataSpec::Ring, 10, 2);
        let run = dir.join("run");
        RunFolder::create(&run, false, &info, &trainer).unwrap();
        std::fs::rename(&run, dir.join(".run.old-12345")).unwrap();
        let folder = RunFolder::open(&run).unwrap();
        assert!(folder.dir.join("run.json").is_file());
        assert!(!dir.join(".run.old-12345").exists());
    }
}
