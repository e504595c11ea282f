//! A run's folder on disk: created whole, replaced only when it is a run, opened again for
//! `--resume`, `sample` and `eval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::spec::{DataSpec, ModelKind};
use gans::data::Split;
use gans::train::Trainer;

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

/// A run's folder: `runs/NAME/`. A folder a command trains into is locked for as long as the
/// command runs (`runs/NAME/.lock`), so that a second command cannot replace or write it.
#[derive(Debug, Clone)]
pub struct RunFolder {
    pub dir: PathBuf,
    /// The lock this command holds on the folder, if it writes it.
    lock: Option<std::sync::Arc<std::fs::File>>,
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
/// What its `checkpoint/` may hold.
const CHECKPOINT_FILES: [&str; 2] = ["checkpoint.safetensors", "checkpoint.json"];
const LOCK: &str = ".lock";

/// A name gans writes in a run folder: one of `known`, the lock, or a temporary file of one of
/// them (`.NAME.tmp-PID-N`, left by a kill mid-write).
fn is_own(name: &str, known: &[&str]) -> bool {
    known.contains(&name)
        || name == LOCK
        || known
            .iter()
            .any(|k| name.starts_with(&format!(".{k}.tmp-")))
}

/// `path` made absolute with its links resolved as far as it exists (the rest appended), and
/// `..` taken back lexically where the path does not exist.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(path) = std::fs::canonicalize(path) {
        return path;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    match (out.parent(), out.file_name()) {
        (Some(parent), Some(name)) if parent.exists() => resolved(parent).join(name),
        _ => out,
    }
}

/// Takes the lock of the run folder `dir` (created if missing), or says who has it.
fn lock(dir: &Path) -> Result<std::sync::Arc<std::fs::File>> {
    let path = dir.join(LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(std::sync::Arc::new(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "{} is in use by another gans command (training into it, or replacing it): wait for \
             it to end, or stop it first; nothing was changed",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// The entries of the folder `dir` that gans did not write there (`checkpoint/` looked into).
fn foreign_entries(dir: &Path) -> Result<Vec<String>> {
    let names = |dir: &Path| -> Result<Vec<String>> {
        Ok(std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect())
    };
    let mut foreign: Vec<String> = names(dir)?
        .into_iter()
        .filter(|n| !is_own(n, &RUN_FILES))
        .collect();
    let checkpoint = dir.join("checkpoint");
    if checkpoint.is_dir() {
        foreign.extend(
            names(&checkpoint)?
                .into_iter()
                .filter(|n| !is_own(n, &CHECKPOINT_FILES))
                .map(|n| format!("checkpoint/{n}")),
        );
    } else if checkpoint.exists() {
        foreign.push("checkpoint (a file)".into());
    }
    foreign.sort();
    Ok(foreign)
}

impl RunFolder {
    /// Checks, before anything is deleted or written, that a new run may go to `dir`:
    /// - a folder's name (not `.` or `..`), never a file, a link or a device, never a folder that
    ///   is, holds or lies inside the dataset folder `data` (the run's own samples would become
    ///   training data);
    /// - a folder that holds anything only with `force`, and only when it is a run folder
    ///   written by `gans train` (its `run.json`) holding nothing but a run's files.
    pub fn check_new(dir: &Path, force: bool, data: Option<&Path>) -> Result<()> {
        let shown = dir.display();
        ensure!(
            dir.file_name().is_some(),
            "--out {shown} does not name a folder: give the run's own folder, e.g. runs/NAME"
        );
        let exists = match std::fs::symlink_metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e).with_context(|| format!("--out {shown}: cannot read it")),
            Ok(m) if m.is_dir() => true,
            Ok(m) => {
                let kind = if m.is_symlink() {
                    "a link"
                } else if m.is_file() {
                    "a file"
                } else {
                    "not a folder (a device, pipe or socket)"
                };
                anyhow::bail!(
                    "--out {shown} is {kind}, not a folder: choose another --out (--force replaces \
                     only a run folder written by `gans train`)"
                )
            }
        };
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
        if !exists {
            return Ok(());
        }
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("--out {shown}: cannot read it"))?
            .count();
        if entries == 0 {
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
        let foreign = foreign_entries(dir)?;
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
    /// deleted only once the new one is whole, and only if no other command is using it. A
    /// refusal or an error leaves `dir` as it was. The folder stays locked for this command.
    pub fn create(
        dir: impl AsRef<Path>,
        force: bool,
        run: &RunInfo,
        trainer: &Trainer,
    ) -> Result<RunFolder> {
        let dir = dir.as_ref().to_path_buf();
        recover_replaced(&dir)?;
        Self::check_new(&dir, force, run.dataset.folder())?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("--out {} does not name a folder", dir.display()))?;
        let beside =
            |what: &str| dir.with_file_name(format!(".{name}.{what}-{}", std::process::id()));
        // The old run is locked before it is looked at again: a command training into it
        // makes this one stop here.
        let occupied = |dir: &Path| std::fs::read_dir(dir).is_ok_and(|mut e| e.next().is_some());
        let old_lock = if occupied(&dir) {
            let held = lock(&dir)?;
            Self::check_new(&dir, force, run.dataset.folder())?;
            Some(held)
        } else {
            None
        };
        // A new run that a kill stopped before it was moved into place is of no use (one that
        // another command is still writing is locked, and left alone).
        for stale in hidden_siblings(&dir, "new") {
            if lock(&stale).is_ok() {
                let _ = std::fs::remove_dir_all(stale);
            }
        }
        let staging = beside("new");
        let mut new_lock = None;
        let written = (|| -> Result<()> {
            std::fs::create_dir_all(&staging)
                .with_context(|| format!("creating {}", staging.display()))?;
            // The lock moves with the folder: after the rename it locks `dir`.
            new_lock = Some(lock(&staging)?);
            let folder = RunFolder {
                dir: staging.clone(),
                lock: None,
            };
            folder.write_run(run)?;
            folder.save(trainer)
        })();
        let abandon = |e: anyhow::Error| -> Result<RunFolder> {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        };
        if let Err(e) = written {
            return abandon(e);
        }
        // An empty folder is simply replaced; an old run (locked above) is moved aside, then
        // deleted. A folder that appeared meanwhile is another command's: leave it.
        let old = beside("old");
        let _ = std::fs::remove_dir(&dir);
        let had_old = dir.exists();
        if had_old && old_lock.is_none() {
            return abandon(anyhow::anyhow!(
                "{} was created by another command while this run was being prepared: nothing \
                 was changed; choose another --out",
                dir.display()
            ));
        }
        if had_old && let Err(e) = std::fs::rename(&dir, &old) {
            return abandon(
                anyhow::Error::from(e)
                    .context(format!("moving the old run {} aside", dir.display())),
            );
        }
        if let Err(e) = std::fs::rename(&staging, &dir) {
            if had_old {
                let _ = std::fs::rename(&old, &dir);
            }
            return abandon(
                anyhow::Error::from(e)
                    .context(format!("moving the new run into {}", dir.display())),
            );
        }
        if had_old && let Err(e) = std::fs::remove_dir_all(&old) {
            note!(
                "gans: the new run is in place, but the replaced one could not be deleted from {} \
                 ({e}): delete it by hand",
                old.display()
            );
        }
        drop(old_lock);
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Ok(RunFolder {
            dir,
            lock: new_lock,
        })
    }

    /// An existing run, for `--resume`, `sample` and `eval`: its folder, or its `checkpoint/`.
    /// A run that `--force` had moved aside when a kill stopped it before the new run took its
    /// place is moved back first.
    pub fn open(path: impl AsRef<Path>) -> Result<RunFolder> {
        let path = path.as_ref();
        recover_replaced(path)?;
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
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Ok(RunFolder { dir, lock: None })
    }

    /// An existing run to train on: [`RunFolder::open`], and the folder locked for this command
    /// (refused while another command trains into it or replaces it).
    pub fn open_to_train(path: impl AsRef<Path>) -> Result<RunFolder> {
        let mut folder = Self::open(path)?;
        folder.lock = Some(lock(&folder.dir)?);
        Ok(folder)
    }

    fn describe_existing(dir: &Path) -> String {
        match gans::train::CheckpointMeta::read(dir.join("checkpoint")) {
            Ok(meta) => match ModelKind::of(&meta.config) {
                Some(model) => format!(" (a {model} run at step {})", meta.step),
                None => format!(" (a run at step {})", meta.step),
            },
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
        gans::files::write_atomic(
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
        let held = held.map_or("custom".to_string(), |m| m.to_string());
        ensure!(
            held == info.model.to_string(),
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
        gans::files::write_atomic(
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

/// The hidden folders `.NAME.WHAT-PID` that [`RunFolder::create`] makes beside `dir`, newest
/// first.
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
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(parent)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix(&prefix).is_some_and(|pid| {
                        !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
                    })
                })
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| {
                    let modified = e.metadata().and_then(|m| m.modified());
                    (modified.unwrap_or(std::time::UNIX_EPOCH), e.path())
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().rev().map(|(_, p)| p).collect()
}

/// A kill between `--force`'s two renames leaves `dir` missing and the old run hidden beside
/// it: move it back. When `dir` is there, hidden old runs are what is left of finished
/// replacements, and are deleted.
fn recover_replaced(dir: &Path) -> Result<()> {
    let old = hidden_siblings(dir, "old");
    let mut old = old.into_iter();
    if !dir.exists()
        && let Some(newest) = old.next()
    {
        // Locked: a command is replacing it right now, and puts it back itself if it fails.
        let Ok(_held) = lock(&newest) else {
            return Ok(());
        };
        std::fs::rename(&newest, dir).with_context(|| {
            format!(
                "moving the run in {} back to {}",
                newest.display(),
                dir.display()
            )
        })?;
        note!(
            "gans: {} was being replaced when its command stopped: the old run is back",
            dir.display()
        );
    }
    for leftover in old {
        if lock(&leftover).is_ok() {
            let _ = std::fs::remove_dir_all(leftover);
        }
    }
    Ok(())
}

/// A checkpoint folder with a checkpoint in it (its tensor file; or, written by an older
/// version, its JSON).
pub(crate) fn has_checkpoint(dir: &Path) -> bool {
    dir.join("checkpoint.safetensors").is_file() || dir.join("checkpoint.json").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gans::data::toy2d::{Toy2d, Toy2dKind};
    use gans::models::toy::ToyConfig;
    use gans::train::TrainConfig;

    /// A kill between `--force`'s two renames leaves the old run hidden beside its name, and
    /// the next command that opens it moves it back.
    #[test]
    fn a_run_moved_aside_by_an_interrupted_force_comes_back() {
        let dir = crate::test_dir("run-aside");
        let trainer = Trainer::new(
            TrainConfig::toy(ToyConfig::default()),
            Toy2d::new(Toy2dKind::Ring, Device::Cpu),
        )
        .unwrap();
        let info = RunInfo::new(ModelKind::named("vanilla").unwrap(), DataSpec::Ring, 10, 2);
        let run = dir.join("run");
        RunFolder::create(&run, false, &info, &trainer).unwrap();
        std::fs::rename(&run, dir.join(".run.old-12345")).unwrap();
        let folder = RunFolder::open(&run).unwrap();
        assert!(folder.dir.join("run.json").is_file());
        assert!(!dir.join(".run.old-12345").exists());
    }
}
