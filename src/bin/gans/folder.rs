//! A run's folder on disk: created whole, replaced only when it is a run, opened again for
//! `--resume`, `sample` and `eval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::spec::{DataSpec, ModelKind};
use gans::data::Split;
use gans::train::{TrainConfig, Trainer, lr_of};

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

/// The file that marks a hidden folder beside a run (`.NAME.new-PID`, a new run being written;
/// `.NAME.old-PID`, an old run moved aside by `--force`) as one that gans made: it is written
/// before the folder is used, and gans deletes or moves back only a folder that holds it, with
/// exactly [`MARKER_TEXT`]. A folder of the user's that happens to have such a name is left alone.
const MARKER: &str = ".gans-staging";
const MARKER_TEXT: &str = "gans-staging/1: a run folder that `gans train` is writing, or one it \
                           moved aside to replace it. gans deletes or restores this folder only \
                           while this file is in it.\n";

/// Marks the folder `dir` as one gans made beside a run (see [`MARKER`]), atomically: a kill
/// leaves the whole marker or none.
fn mark(dir: &Path) -> Result<()> {
    gans::files::write_atomic(&dir.join(MARKER), MARKER_TEXT.as_bytes())
}

/// The folder `dir` holds the marker gans writes (see [`MARKER`]).
fn is_marked(dir: &Path) -> bool {
    let path = dir.join(MARKER);
    std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
        && std::fs::read_to_string(&path).is_ok_and(|text| text == MARKER_TEXT)
}

/// Takes the marker out of a run folder that is in place again (best effort: a marker left in a
/// run folder harms nothing, see [`is_own`]). A file of that name that gans did not write stays.
fn unmark(dir: &Path) {
    if is_marked(dir) {
        let _ = std::fs::remove_file(dir.join(MARKER));
    }
}

/// A name gans writes in a run folder: one of `known`, the lock, the marker of a folder being
/// written or moved aside (left by a kill), or a temporary file of one of them
/// (`.NAME.tmp-PID-COPY-N`, left by a kill mid-write).
fn is_own(name: &str, known: &[&str]) -> bool {
    known.contains(&name)
        || name == LOCK
        || name == MARKER
        || known
            .iter()
            .chain(&[MARKER])
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
        .map_err(anyhow::Error::from)
        .map_err(|e| match gans::files::advice_for(&e) {
            "" => e.context(format!(
                "opening {}, the lock file gans keeps in a run folder while a command uses it: \
                 if something else has that name, move it away",
                path.display()
            )),
            why => anyhow::anyhow!(
                "gans cannot write in {}{why} (it writes the run's checkpoints and a lock file \
                 there; `gans sample` and `gans eval` only read a run). Nothing was changed",
                dir.display()
            ),
        })?;
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

/// What a path is, in words, from its own metadata (a link is not followed).
fn kind_of(m: &std::fs::Metadata) -> &'static str {
    if m.is_symlink() {
        "a link"
    } else if m.is_dir() {
        "a folder"
    } else if m.is_file() {
        "a file"
    } else {
        "a device, pipe or socket"
    }
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
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => bail!(
                "--out {shown}: a folder above it is a file, so the run cannot be made there: \
                 choose another --out"
            ),
            Err(e) => return Err(e).with_context(|| format!("--out {shown}: cannot read it")),
            Ok(m) if m.is_dir() => true,
            Ok(m) => anyhow::bail!(
                "--out {shown} is {}, not a folder: choose another --out (--force replaces only a \
                 run folder written by `gans train`)",
                kind_of(&m)
            ),
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
        let is_run = dir.join("run.json").is_file();
        // Without --force, advise it only where --force would be taken.
        ensure!(
            force,
            "{shown} already exists and is not empty{}. {}",
            RunFolder::describe_existing(dir),
            match is_run && foreign_entries(dir)?.is_empty() {
                true => format!(
                    "Continue that run with `gans train --resume {shown}`, choose another --out, \
                     or pass --force to replace it"
                ),
                false if is_run => format!(
                    "Continue that run with `gans train --resume {shown}`, or choose another \
                     --out (it holds files of yours, so --force would not replace it)"
                ),
                false => "It is not a run folder written by `gans train`, so --force would not \
                          replace it: choose another --out"
                    .into(),
            }
        );
        ensure!(
            is_run,
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

    /// Checks, before a sample is drawn, that `gans sample` may write the file `out` for this
    /// run:
    /// - never a folder, a link or a device; an existing file only with `force`;
    /// - never inside one of the dataset folders `data` (each with its description, e.g. "the
    ///   dataset folder D of this run": the samples would be read as training data);
    /// - never inside another run's folder (they would be taken for that run's samples), nor
    ///   under this run's `checkpoint/` or in place of a file `gans train` writes in its folder
    ///   (`samples.png`, …): beside them, under a name of its own, is fine.
    pub fn check_sample_out(
        &self,
        out: &Path,
        force: bool,
        data: &[(&Path, String)],
    ) -> Result<()> {
        let shown = out.display();
        let exists = match std::fs::symlink_metadata(out) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e).with_context(|| format!("--out {shown}: cannot read it")),
            Ok(m) if m.is_file() => true,
            Ok(m) => anyhow::bail!(
                "--out {shown} is {}, not a file: choose another --out (--force replaces only a \
                 file; nothing was written)",
                kind_of(&m)
            ),
        };
        let path = resolved(out);
        for (folder, what) in data {
            ensure!(
                !path.starts_with(resolved(folder)),
                "--out {shown} lies inside {what}: the samples would be read as training data. \
                 Choose an --out outside it (nothing was written)"
            );
        }
        if let Some(parent) = path.parent()
            && let Some(run) = parent.ancestors().find(|dir| is_run_folder(dir))
        {
            ensure!(
                run == self.dir,
                "--out {shown} lies inside {}, the folder of another run: the samples of {} would \
                 be taken for that run's. Write them beside this run or outside both (nothing was \
                 written)",
                run.display(),
                self.dir.display()
            );
            // The first name below the run folder: a file or folder of the run's own
            // (`samples.png`, `checkpoint/`, …) is refused, any other name is the user's.
            let first = path
                .strip_prefix(&self.dir)
                .ok()
                .and_then(|below| below.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            ensure!(
                !is_own(&first, &RUN_FILES),
                "--out {shown}: {first} in the run folder {} is written by `gans train` (its next \
                 checkpoint would overwrite the samples, or they would replace the run's own): \
                 choose another name, e.g. {} (nothing was written)",
                self.dir.display(),
                self.dir.join("drawn.png").display()
            );
        }
        ensure!(
            !exists || force,
            "--out {shown} already exists: pass --force to replace it with the new samples, or \
             choose another --out (nothing was written)"
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
        // another command is still writing is locked, and left alone; a folder without gans's
        // marker is not gans's, and is left alone too).
        for stale in made_by_gans(hidden_siblings(&dir, "new")) {
            if lock(&stale).is_ok() {
                let _ = std::fs::remove_dir_all(stale);
            }
        }
        // A name nothing has yet, created here (never a folder that was there): the folder is
        // this command's own.
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the folder {}", parent.display()))?;
        }
        let staging = free_name_beside(&dir, &name, "new")?;
        if let Err(e) = std::fs::create_dir(&staging) {
            bail!(
                "could not create the new run {} (nothing was created){}",
                dir.display(),
                gans::files::why(&e.into())
            );
        }
        let mut new_lock = None;
        let written = (|| -> Result<()> {
            // Marked first, so that a kill at any moment after leaves a folder that the next
            // command knows as gans's and deletes.
            mark(&staging)?;
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
            // The hidden folder is gone: name the run folder the user asked for.
            let was = match dir.exists() {
                true => "it is as it was",
                false => "nothing was created",
            };
            return abandon(anyhow::anyhow!(
                "could not write the new run {} ({was}){}",
                dir.display(),
                gans::files::why(&e)
            ));
        }
        // An empty folder is simply replaced; an old run (locked above) is marked, moved aside,
        // then deleted. A folder that appeared meanwhile is another command's: leave it.
        let _ = std::fs::remove_dir(&dir);
        let had_old = dir.exists();
        if had_old && old_lock.is_none() {
            return abandon(anyhow::anyhow!(
                "{} was created by another command while this run was being prepared: nothing \
                 was changed; choose another --out",
                dir.display()
            ));
        }
        let old = if had_old {
            // Marked before it moves: a kill between the two renames below leaves it hidden with
            // the marker, and the next command that opens `dir` moves it back.
            let old = match free_name_beside(&dir, &name, "old") {
                Ok(old) => old,
                Err(e) => return abandon(e),
            };
            if let Err(e) = mark(&dir) {
                return abandon(e.context(format!(
                    "marking the old run {} before moving it aside",
                    dir.display()
                )));
            }
            if let Err(e) = std::fs::rename(&dir, &old) {
                unmark(&dir);
                return abandon(
                    anyhow::Error::from(e)
                        .context(format!("moving the old run {} aside", dir.display())),
                );
            }
            Some(old)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&staging, &dir) {
            if let Some(old) = &old
                && std::fs::rename(old, &dir).is_ok()
            {
                unmark(&dir);
            }
            return abandon(
                anyhow::Error::from(e)
                    .context(format!("moving the new run into {}", dir.display())),
            );
        }
        unmark(&dir);
        if let Some(old) = &old
            && let Err(e) = std::fs::remove_dir_all(old)
        {
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
            "{} is not a run folder written by `gans train` ({})",
            path.display(),
            match std::fs::metadata(&dir) {
                Ok(m) if !m.is_dir() => "it is a file, not a folder".to_string(),
                Err(e) => format!("it cannot be read: {e}"),
                Ok(_) if dir.join("run.json").exists() => "its run.json is not a file".into(),
                Ok(_) => "it has no run.json".into(),
            }
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
        // A marker there was left by a kill just before `--force` moved this run aside (a
        // command doing that now would hold the lock just taken).
        unmark(&folder.dir);
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
                "{} does not describe a run this version of gans understands (was it edited by \
                 hand? It holds format, model, dataset, target_steps and checkpoint_every): put \
                 back what it held; nothing was changed",
                path.display()
            )
        })?;
        ensure!(
            info.format == RUN_FORMAT,
            "{} has format {:?}; this version of gans reads {RUN_FORMAT:?}",
            path.display(),
            info.format
        );
        let max = gans::train::MAX_STEPS;
        for (field, value) in [
            ("target_steps", info.target_steps),
            ("checkpoint_every", info.checkpoint_every),
        ] {
            ensure!(
                (1..=max).contains(&value),
                "{}: {field} = {value} is outside 1 to {max} (was it edited by hand?); nothing was \
                 changed. Put back a number of steps in that range: `gans train --resume {} \
                 --steps N --checkpoint-every M` sets both",
                path.display(),
                self.dir.display()
            );
        }
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
        self.check_copy(true)?;
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
        self.check_copy(false)?;
        let trainer = Trainer::load_without_data(self.checkpoint(), device)
            .with_context(|| format!("loading the run in {}", self.dir.display()))?;
        self.check_model(&trainer, &info)?;
        Ok((trainer, info))
    }

    /// `checkpoint/checkpoint.json` is a readable copy of the description inside
    /// `checkpoint.safetensors`, which is what loading reads: an edit of the copy is never used.
    /// Training on would overwrite it with the next checkpoint, so `train` refuses (`refuse`);
    /// `sample` and `eval`, which write nothing there, say that the edit is not read.
    fn check_copy(&self, refuse: bool) -> Result<()> {
        let differences = gans::train::CheckpointMeta::edited_copy(self.checkpoint())?;
        if differences.is_empty() {
            return Ok(());
        }
        let copy = self.checkpoint().join("checkpoint.json");
        let listed = differences
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ");
        let what = format!(
            "{} was edited: it differs from the checkpoint's own description (inside \
             checkpoint.safetensors, which is what gans reads) in\n  {listed}\n",
            copy.display()
        );
        ensure!(
            !refuse,
            "{what}checkpoint.json is only a readable copy, written again with every checkpoint, \
             so training on would undo the edit. To change the learning rates, edit {} or pass \
             --lr; to train on as the checkpoint is, delete {} (nothing was changed)",
            self.dir.join("config.json").display(),
            copy.display()
        );
        note!("gans: {what}The edit is not used: the samples come from the checkpoint as saved");
        Ok(())
    }

    /// The checkpoint holds the model `run.json` names. When it does not, `config.json` (written
    /// with every checkpoint) tells which file changed: holding the checkpoint's model too, it
    /// says that `run.json` was edited; otherwise the checkpoint was copied in from another run.
    fn check_model(&self, trainer: &Trainer, info: &RunInfo) -> Result<()> {
        let held = ModelKind::of(trainer.config());
        let held = held.map_or("custom".to_string(), |m| m.to_string());
        if held == info.model.to_string() {
            return Ok(());
        }
        let run_json = self.dir.join("run.json");
        let beside = std::fs::read(self.dir.join("config.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<TrainConfig>(&bytes).ok())
            .and_then(|config| ModelKind::of(&config))
            .map(|model| model.to_string());
        ensure!(
            beside.as_deref() != Some(held.as_str()),
            "{} says \"model\": \"{}\", but this run's checkpoint and its config.json hold a \
             {held} model: run.json was edited. Put back \"model\": \"{held}\" in {} (nothing \
             was changed). A run's model cannot change: to train a {} model, start a new run \
             with `gans train {} … --out NEW`",
            run_json.display(),
            info.model,
            run_json.display(),
            info.model,
            info.model
        );
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

    /// Saves the config as `config.json` (a changed learning rate included), the checkpoint,
    /// then the figures. `config.json` goes first: a kill between the two leaves it with the
    /// learning rates the run was told to use, which the next `--resume` honours (see
    /// [`RunFolder::edited_learning_rates`]), never a stale one that would undo them.
    pub fn save(&self, trainer: &Trainer) -> Result<()> {
        gans::files::write_atomic(
            &self.dir.join("config.json"),
            &serde_json::to_vec_pretty(trainer.config())?,
        )?;
        trainer.save(self.checkpoint())?;
        self.write_figures(trainer)
    }

    /// `config.json`, which a user may edit, against the config of the checkpoint `trainer` was
    /// loaded from. The learning rates (`opt_g.lr`, `opt_d.lr`) may change on `--resume`: new
    /// ones are returned, to be applied as `--lr` and `--lr-d` are. Any other change is refused
    /// by name, with what to do: the weights and the optimisers' moments were made with the
    /// checkpoint's config, and the next checkpoint would overwrite the edit. A missing
    /// `config.json` is written again with the next checkpoint.
    pub fn edited_learning_rates(&self, trainer: &Trainer) -> Result<Option<(f64, f64)>> {
        let path = self.dir.join("config.json");
        let shown = path.display();
        let text = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            read => read.with_context(|| {
                format!(
                    "reading {shown}, the run's config: if it is not the file gans wrote, move it \
                     away (it is written again from the checkpoint, which holds the config)"
                )
            })?,
        };
        let undo = format!(
            "Put back the checkpoint's values, or delete {shown} (it is written again from the \
             checkpoint, which holds the run's config); nothing was changed"
        );
        let edited: TrainConfig = serde_json::from_str(&text).with_context(|| {
            format!("{shown} is not a config this version of gans reads (was it edited?). {undo}")
        })?;
        let saved = trainer.config();
        let (old_g, old_d) = (lr_of(saved.opt_g), lr_of(saved.opt_d));
        let (lr_g, lr_d) = (lr_of(edited.opt_g), lr_of(edited.opt_d));
        // Everything but the learning rates must be the checkpoint's.
        let rest = edited.lr(old_g, old_d);
        let differences = gans::train::json_differences(
            &serde_json::to_value(saved)?,
            &serde_json::to_value(&rest)?,
            "config",
            ("checkpoint", "config.json"),
        );
        ensure!(
            differences.is_empty(),
            "{shown} was edited: it differs from the run's checkpoint in\n  {}\nA run trains on \
             with the config its weights were made with: only the learning rates may change on \
             --resume (opt_g.lr and opt_d.lr in {shown}, or --lr and --lr-d). For any other \
             change start a new run with `gans train … --out NEW`. {undo}",
            differences.join("\n  ")
        );
        Ok(((lr_g, lr_d) != (old_g, old_d)).then_some((lr_g, lr_d)))
    }

    /// What the folder holds for the user to look at, in words: the checkpoint and each figure
    /// that is there (none before the first point of the history, at step `log_every`).
    pub fn written(&self, trainer: &Trainer) -> String {
        let mut names = vec!["checkpoint"];
        names.extend(
            [
                "losses.svg",
                "d.svg",
                "samples.png",
                "samples.svg",
                "snapshots.gif",
            ]
            .into_iter()
            .filter(|name| self.dir.join(name).is_file()),
        );
        match names.len() {
            1 => format!(
                "checkpoint (no figures yet: the loss curves and samples are drawn from step {}, \
                 the first point of the history)",
                trainer.config().log_every
            ),
            n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        }
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
        } else if trainer.shows_triplets() {
            trainer.triplets(2)?.save(out("samples.png"))?;
        } else if model.model().input_shape().is_some() {
            // Translations of the fixed inputs, whose true counterparts are not known.
            trainer.fixed_grid()?.save(out("samples.png"))?;
        } else {
            trainer.sample_grid(64)?.save(out("samples.png"))?;
            if !trainer.snapshots().is_empty() {
                trainer.snapshots_gif(250)?.save(out("snapshots.gif"))?;
            }
        }
        Ok(())
    }
}

/// The suffix of a hidden folder's name after `.NAME.WHAT-`: the process id of the command
/// that made it, and a counter where that name was taken (`PID` or `PID-N`).
fn is_hidden_suffix(suffix: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match suffix.split_once('-') {
        Some((pid, n)) => digits(pid) && digits(n),
        None => digits(suffix),
    }
}

/// A name beside `dir` for a hidden folder of this command, `.NAME.WHAT-PID`, with `-N` added
/// while the name is taken: never the name of a folder or file already there (a user's folder
/// so named is neither written into nor replaced).
fn free_name_beside(dir: &Path, name: &str, what: &str) -> Result<PathBuf> {
    let pid = std::process::id();
    for n in 0..1000 {
        let suffix = if n == 0 {
            pid.to_string()
        } else {
            format!("{pid}-{n}")
        };
        let path = dir.with_file_name(format!(".{name}.{what}-{suffix}"));
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("looking for a free name at {}", path.display()));
            }
            Ok(_) => {}
        }
    }
    anyhow::bail!(
        "the names .{name}.{what}-{pid} to .{name}.{what}-{pid}-999 beside {} are all taken: \
         move those folders away, then run the command again (nothing was changed)",
        dir.display()
    )
}

/// The hidden folders `.NAME.WHAT-PID` (or `-PID-N`) that [`RunFolder::create`] makes beside
/// `dir`, newest first; whether gans made them is for [`made_by_gans`] to say.
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
                    name.strip_prefix(&prefix).is_some_and(is_hidden_suffix)
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

/// Those of the hidden folders `found` that gans made (they hold its [`MARKER`]), in the same
/// order. Each other one is the user's, whatever its name: it is left alone, and said so.
fn made_by_gans(found: Vec<PathBuf>) -> Vec<PathBuf> {
    found
        .into_iter()
        .filter(|folder| {
            let ours = is_marked(folder);
            if !ours {
                note!(
                    "gans: left {} as it is: it is named like the hidden folders gans makes \
                     beside a run it writes or replaces, but gans did not make it (it holds no \
                     {MARKER} file); rename it and this note goes away",
                    folder.display()
                );
            }
            ours
        })
        .collect()
}

/// A kill between `--force`'s two renames leaves `dir` missing and the old run hidden beside
/// it: move it back. When `dir` is there, hidden old runs are what is left of finished
/// replacements, and are deleted. Only folders that gans marked as its own are moved or deleted.
fn recover_replaced(dir: &Path) -> Result<()> {
    let old = made_by_gans(hidden_siblings(dir, "old"));
    let mut old = old.into_iter();
    // (Not even a link there: a rename would replace it.)
    if std::fs::symlink_metadata(dir).is_err()
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
        unmark(dir);
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

/// A folder that `gans train` wrote: a `run.json` of this version's format, or a `run.json`
/// beside a checkpoint (a run of another version). A `run.json` of some other tool is not one.
fn is_run_folder(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("run.json")) else {
        return false;
    };
    let format = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_string));
    format.as_deref() == Some(RUN_FORMAT) || has_checkpoint(&dir.join("checkpoint"))
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

    /// A ring run of step 0 in `dir/name`, as `gans train` makes it.
    fn ring_run(dir: &Path, name: &str) -> PathBuf {
        let trainer = Trainer::new(
            TrainConfig::toy(ToyConfig::default()),
            Toy2d::new(Toy2dKind::Ring, Device::Cpu),
        )
        .unwrap();
        let run = dir.join(name);
        RunFolder::create(&run, true, &ring_info(), &trainer).unwrap();
        run
    }

    fn ring_info() -> RunInfo {
        RunInfo::new(ModelKind::named("vanilla").unwrap(), DataSpec::Ring, 10, 2)
    }

    /// A folder of the user's holding `mine.txt`.
    fn users_folder(path: &Path) {
        std::fs::create_dir_all(path).unwrap();
        std::fs::write(path.join("mine.txt"), "keep").unwrap();
    }

    fn kept(path: &Path) -> bool {
        std::fs::read_to_string(path.join("mine.txt")).is_ok_and(|t| t == "keep")
            && !path.join(LOCK).exists()
            && !path.join(MARKER).exists()
    }

    /// A kill between `--force`'s two renames leaves the old run hidden beside its name, marked,
    /// and the next command that opens it moves it back (without the marker).
    #[test]
    fn a_run_moved_aside_by_an_interrupted_force_comes_back() {
        let dir = crate::test_dir("run-aside");
        let run = ring_run(&dir, "run");
        mark(&run).unwrap();
        std::fs::rename(&run, dir.join(".run.old-12345")).unwrap();
        let folder = RunFolder::open(&run).unwrap();
        assert!(folder.dir.join("run.json").is_file());
        assert!(!folder.dir.join(MARKER).exists());
        assert!(!dir.join(".run.old-12345").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What a kill leaves of gans's own hidden folders (marked) is still cleaned up: a new run
    /// never moved into place, an old run already replaced.
    #[test]
    fn an_interrupted_staging_is_cleaned_up() {
        let dir = crate::test_dir("run-staging");
        let run = ring_run(&dir, "run");
        let (stale_new, stale_old) = (dir.join(".run.new-99999"), dir.join(".run.old-99998-2"));
        for stale in [&stale_new, &stale_old] {
            users_folder(stale);
            mark(stale).unwrap();
        }
        // Opening the run deletes the replaced one; a new run deletes the abandoned staging.
        RunFolder::open(&run).unwrap();
        assert!(!stale_old.exists());
        assert!(
            stale_new.exists(),
            "opening a run leaves staging folders alone"
        );
        ring_run(&dir, "run");
        assert!(!stale_new.exists());
        assert!(!run.join(MARKER).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A folder of the user's named like gans's hidden folders (`.run.new-123`, `.run.old-123`,
    /// even with this process's own id) is never deleted, moved back or written into: it has no
    /// marker.
    #[test]
    fn hidden_folders_gans_did_not_make_are_left_alone() {
        let dir = crate::test_dir("run-users");
        let run = ring_run(&dir, "run");
        let pid = std::process::id();
        let users: Vec<PathBuf> = [
            ".run.new-123".to_string(),
            ".run.old-123".to_string(),
            ".run.new-123-4".to_string(),
            format!(".run.new-{pid}"),
            format!(".run.old-{pid}"),
        ]
        .iter()
        .map(|name| dir.join(name))
        .collect();
        for folder in &users {
            users_folder(folder);
        }
        // An empty one too: renaming a folder onto an empty one would replace it.
        let empty = dir.join(format!(".run.old-{pid}-1"));
        std::fs::create_dir_all(&empty).unwrap();
        RunFolder::open(&run).unwrap();
        ring_run(&dir, "run"); // --force: replaces the run beside them
        assert!(RunFolder::open(&run).is_ok());
        for folder in &users {
            assert!(kept(folder), "{} was touched", folder.display());
        }
        assert!(empty.is_dir() && std::fs::read_dir(&empty).unwrap().count() == 0);
        // With the run gone, an unmarked `.run.old-…` is not taken for it.
        std::fs::remove_dir_all(&run).unwrap();
        assert!(RunFolder::open(&run).is_err());
        assert!(!run.exists());
        assert!(kept(&dir.join(".run.old-123")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hidden_names_end_in_a_process_id_and_a_counter() {
        for (suffix, ok) in [
            ("123", true),
            ("123-4", true),
            ("", false),
            ("12a", false),
            ("123-", false),
            ("-4", false),
            ("1-2-3", false),
        ] {
            assert_eq!(is_hidden_suffix(suffix), ok, "{suffix:?}");
        }
    }
}
