//! Runs outside Jupyter: which data, which model, and the run folder the `gans` command writes.
//!
//! The command is a thin layer over this module, and this module is a thin layer over
//! [`Trainer`]: there is one training loop in the crate, the trainer's. What lives here is what a
//! command line needs and a notebook does not:
//!
//! - [`DataSpec`]: a dataset named on the command line (`mnist`, `ring`, a folder, …), saved in the
//!   run folder so that `--resume`, `sample` and `eval` load the same data again;
//! - [`ModelKind`] and [`train_config`]: the six models of the course with each paper's settings,
//!   sized for the data;
//! - [`RunFolder`]: `runs/NAME/` with `run.json`, `config.json`, the checkpoint and the figures,
//!   never overwritten by accident;
//! - [`drive`]: trains to a target step in short chunks, saving checkpoints on the way, and stops
//!   cleanly when asked (Ctrl-C) or when a loss turns NaN, keeping the last good checkpoint.
//!
//! ```text
//! runs/NAME/
//!   run.json            model, dataset, target steps: what `--resume` needs
//!   config.json         every hyperparameter (the TrainConfig)
//!   checkpoint/         weights, optimiser moments, history: see train::checkpoint
//!   losses.svg  d.svg   the loss curves; D(x) and D(G(z)) (a critic's estimate for a WGAN)
//!   samples.png         new samples (Pix2Pix: input | output | target; the ring: samples.svg)
//!   snapshots.gif       the fixed noise through training
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::data::emoji::{self, EmojiOptions};
use crate::data::image_folder::{self, FolderOptions};
use crate::data::letters::{self, LetterOptions};
use crate::data::paired::{self, Direction};
use crate::data::toy2d::{Toy2d, Toy2dKind};
use crate::data::{Split, fashion_mnist, mnist};
use crate::metrics::Classifier;
use crate::models::Norm;
use crate::models::dcgan::DcganConfig;
use crate::models::mlp::MlpConfig;
use crate::models::patchgan::PatchGanConfig;
use crate::models::toy::ToyConfig;
use crate::models::unet::UnetConfig;
use crate::train::{ModelConfig, TrainConfig, TrainData, Trainer};

/// The models of the course, by the names the command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Notebook 01: fully connected G and D (the toy networks on `ring` and `grid`).
    Vanilla,
    /// Notebook 02: DCGAN.
    Dcgan,
    /// Notebook 03: WGAN with weight clipping.
    Wgan,
    /// Notebook 03: WGAN with gradient penalty.
    WganGp,
    /// Notebook 04: conditional DCGAN on one-hot labels.
    Cgan,
    /// Notebook 05: U-Net + PatchGAN on image pairs.
    Pix2pix,
}

impl ModelKind {
    /// The name the command takes (`wgan-gp`, …).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Vanilla => "vanilla",
            ModelKind::Dcgan => "dcgan",
            ModelKind::Wgan => "wgan",
            ModelKind::WganGp => "wgan-gp",
            ModelKind::Cgan => "cgan",
            ModelKind::Pix2pix => "pix2pix",
        }
    }

    /// Which of the course's models a config trains (the inverse of [`train_config`]).
    pub fn of(config: &TrainConfig) -> ModelKind {
        match &config.model {
            ModelConfig::Toy(_) | ModelConfig::Mlp(_) => ModelKind::Vanilla,
            ModelConfig::Pix2Pix { .. } => ModelKind::Pix2pix,
            ModelConfig::Dcgan(c) if c.n_classes > 0 => ModelKind::Cgan,
            ModelConfig::Dcgan(_) => match config.loss {
                crate::train::GanLoss::Wasserstein => ModelKind::Wgan,
                crate::train::GanLoss::WassersteinGp { .. } => ModelKind::WganGp,
                _ => ModelKind::Dcgan,
            },
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A dataset as the command line names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DataSpec {
    Mnist,
    FashionMnist,
    /// The rendered alphabet, `size` 28, 32 or 64.
    Letters {
        size: u32,
    },
    /// All emoji (`faces`: people and faces only), `size` 32 or 64.
    Emoji {
        faces: bool,
        size: u32,
    },
    /// The 2-D mixtures of notebook 01.
    Ring,
    Grid,
    /// Pix2Pix pairs: the edges of each emoji face → the face (64×64).
    Edges2Emoji,
    /// Pix2Pix pairs: the edges of each Fashion-MNIST item → the item (64×64).
    Edges2Fashion,
    /// Every JPEG/PNG under a folder (e.g. CelebA's `img_align_celeba/`).
    Folder {
        path: PathBuf,
        size: u32,
        grey: bool,
    },
    /// A folder of A|B pictures (pix2pix's datasets): with `train/` and `val/` (or `test/`)
    /// sub-folders, or the pictures themselves.
    Pairs {
        path: PathBuf,
        size: u32,
        b_to_a: bool,
    },
}

/// The names [`DataSpec::parse`] knows, for help texts and errors.
pub const DATASET_NAMES: &str =
    "mnist, fashion-mnist, letters, emoji, emoji-faces, ring, grid, edges2emoji, edges2fashion";

impl DataSpec {
    /// Reads `--dataset`: a name from [`DATASET_NAMES`] or a folder (of images; of A|B pairs for
    /// Pix2Pix). `image_size` overrides the size where the data allows a choice.
    pub fn parse(text: &str, model: ModelKind, image_size: Option<u32>) -> Result<DataSpec> {
        let size = |default: u32, allowed: &[u32]| -> Result<u32> {
            let size = image_size.unwrap_or(default);
            ensure!(
                allowed.contains(&size),
                "--image-size {size} is not available for {text}: use one of {allowed:?}"
            );
            Ok(size)
        };
        let fixed = |spec: DataSpec, native: u32| -> Result<DataSpec> {
            ensure!(
                image_size.is_none_or(|s| s == native),
                "{text} comes at {native}×{native} only: leave out --image-size"
            );
            Ok(spec)
        };
        let spec = match text.to_ascii_lowercase().as_str() {
            "mnist" => fixed(DataSpec::Mnist, 28)?,
            "fashion-mnist" | "fashion_mnist" | "fashion" => fixed(DataSpec::FashionMnist, 28)?,
            "letters" => DataSpec::Letters {
                size: size(28, &[28, 32, 64])?,
            },
            "emoji" => DataSpec::Emoji {
                faces: false,
                size: size(64, &[32, 64])?,
            },
            "emoji-faces" | "faces" => DataSpec::Emoji {
                faces: true,
                size: size(64, &[32, 64])?,
            },
            "ring" => fixed(DataSpec::Ring, 0).or_else(|_| {
                bail!("the ring is made of 2-D points, not images: leave out --image-size")
            })?,
            "grid" => fixed(DataSpec::Grid, 0).or_else(|_| {
                bail!("the grid is made of 2-D points, not images: leave out --image-size")
            })?,
            "edges2emoji" => fixed(DataSpec::Edges2Emoji, 64)?,
            "edges2fashion" => fixed(DataSpec::Edges2Fashion, 64)?,
            _ => {
                let path = PathBuf::from(text);
                ensure!(
                    path.is_dir(),
                    "unknown dataset `{text}`: use one of {DATASET_NAMES}, or the path of a \
                     folder of images (for pix2pix, a folder of A|B pictures); `{text}` is not a \
                     folder"
                );
                // Absolute, so that `--resume` works from another working directory.
                let path = std::fs::canonicalize(&path)
                    .with_context(|| format!("resolving the folder {text}"))?;
                if model == ModelKind::Pix2pix {
                    DataSpec::Pairs {
                        path,
                        // The U-Net's depth is fixed for these two sizes (see UnetConfig).
                        size: size(256, &[64, 256])?,
                        b_to_a: false,
                    }
                } else {
                    DataSpec::Folder {
                        path,
                        size: size(64, &[28, 32, 64])?,
                        grey: false,
                    }
                }
            }
        };
        Ok(spec)
    }

    /// The user's own folder this data is read from, if any.
    pub fn folder(&self) -> Option<&Path> {
        match self {
            DataSpec::Folder { path, .. } | DataSpec::Pairs { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Data the crate generates (the 2-D mixtures): loading it reads no file.
    pub fn is_generated(&self) -> bool {
        matches!(self, DataSpec::Ring | DataSpec::Grid)
    }

    /// A short name for messages.
    pub fn name(&self) -> String {
        match self {
            DataSpec::Mnist => "mnist".into(),
            DataSpec::FashionMnist => "fashion-mnist".into(),
            DataSpec::Letters { size } => format!("letters ({size}×{size})"),
            DataSpec::Emoji { faces, size } => format!(
                "emoji{} ({size}×{size})",
                if *faces { " (people and faces)" } else { "" }
            ),
            DataSpec::Ring => "ring".into(),
            DataSpec::Grid => "grid".into(),
            DataSpec::Edges2Emoji => "edges2emoji".into(),
            DataSpec::Edges2Fashion => "edges2fashion".into(),
            DataSpec::Folder { path, .. } | DataSpec::Pairs { path, .. } => {
                path.display().to_string()
            }
        }
    }

    /// Loads one split onto `device`. A plain folder has no test split; an A|B folder has one
    /// when it holds `val/` or `test/`.
    pub fn load(&self, split: Split, device: Device) -> Result<TrainData> {
        let edges = |data: crate::data::Dataset| -> Result<TrainData> {
            Ok(paired::edges_to(&data, 64)?.into())
        };
        Ok(match self {
            DataSpec::Mnist => mnist::load(split, device)?.into(),
            DataSpec::FashionMnist => fashion_mnist::load(split, device)?.into(),
            DataSpec::Letters { size } => {
                letters::load(split, &LetterOptions::default().size(*size), device)?.into()
            }
            DataSpec::Emoji { faces, size } => {
                let options = if *faces {
                    EmojiOptions::faces()
                } else {
                    EmojiOptions::default()
                };
                emoji::load(split, &options.size(*size), device)?.into()
            }
            DataSpec::Ring => Toy2d::new(Toy2dKind::Ring, device).into(),
            DataSpec::Grid => Toy2d::new(Toy2dKind::Grid, device).into(),
            DataSpec::Edges2Emoji => edges(emoji::load(split, &EmojiOptions::faces(), device)?)?,
            DataSpec::Edges2Fashion => edges(fashion_mnist::load(split, device)?)?,
            DataSpec::Folder { path, size, grey } => {
                ensure!(
                    split == Split::Train,
                    "{} is a plain folder of images: it has no test split. Export samples with \
                     `gans sample --out samples.npy` and score them with your own tools",
                    path.display()
                );
                let options = FolderOptions::default().size(*size).grey(*grey);
                let (data, skipped) = image_folder::load(path, &options, device)?;
                if !skipped.0.is_empty() {
                    eprintln!("gans: {}: {skipped}", path.display());
                }
                data.into()
            }
            DataSpec::Pairs { path, size, b_to_a } => {
                let direction = if *b_to_a {
                    Direction::BtoA
                } else {
                    Direction::AtoB
                };
                paired::load_ab_folder(pairs_folder(path, split)?, direction, *size, device)?.into()
            }
        })
    }

    /// The feature classifier that scores samples of this data (trained and cached on first
    /// use), if there is one.
    pub fn classifier(&self, device: Device) -> Result<Option<Classifier>> {
        use crate::metrics::classifier;
        Ok(match self {
            DataSpec::Mnist => Some(classifier::mnist(device)?),
            DataSpec::FashionMnist => Some(classifier::fashion_mnist(device)?),
            DataSpec::Letters { size: 28 } => Some(classifier::letters(device)?),
            DataSpec::Emoji { size: 64, .. } => Some(classifier::emoji(device)?),
            _ => None,
        })
    }
}

/// The folder of A|B pictures of one split: `train/` and `val/` (or `test/`) when the folder
/// has them, else the folder itself for training.
fn pairs_folder(path: &Path, split: Split) -> Result<PathBuf> {
    let sub = |name: &str| Some(path.join(name)).filter(|p| p.is_dir());
    match split {
        Split::Train => Ok(sub("train").unwrap_or_else(|| path.to_path_buf())),
        Split::Test => sub("val").or_else(|| sub("test")).with_context(|| {
            format!(
                "{} has no val/ or test/ folder of held-out pairs to score on",
                path.display()
            )
        }),
    }
}

/// The model `kind` with its paper's settings, sized for `data`; `width` overrides the feature
/// maps of the conv models (64 in the papers).
pub fn train_config(kind: ModelKind, data: &TrainData, width: Option<i64>) -> Result<TrainConfig> {
    let width = width.unwrap_or(64);
    ensure!(
        (1..=1024).contains(&width),
        "--width {width} is out of range: use 1 to 1024 (the papers use 64)"
    );
    let dcgan = |shape: [i64; 3], norm: Norm, n_classes: i64| -> Result<ModelConfig> {
        ensure!(
            matches!(shape[1], 28 | 32 | 64) && shape[1] == shape[2],
            "the DCGAN networks take 28×28, 32×32 or 64×64 images; this data is {}×{}: pass \
             --image-size 64",
            shape[1],
            shape[2]
        );
        Ok(ModelConfig::Dcgan(DcganConfig {
            image_size: shape[1],
            channels: shape[0],
            width,
            norm,
            n_classes,
            ..DcganConfig::default()
        }))
    };
    let config = match (kind, data) {
        (_, TrainData::Absent { info, .. }) => {
            bail!(
                "{} was not loaded: a model is sized from the data itself",
                info.name
            )
        }
        (ModelKind::Vanilla, TrainData::Toy(_)) => TrainConfig::toy(ToyConfig::default()),
        (_, TrainData::Toy(_)) => {
            bail!("the 2-D mixtures train the vanilla model: `gans train vanilla --dataset ring`")
        }
        (ModelKind::Pix2pix, TrainData::Pairs(pairs)) => {
            let (c_in, c_out) = (pairs.inputs.size()[1], pairs.targets.size()[1]);
            TrainConfig::pix2pix(
                UnetConfig {
                    image_size: pairs.inputs.size()[2],
                    in_channels: c_in,
                    out_channels: c_out,
                    width,
                    dropout: 0.5,
                },
                PatchGanConfig {
                    in_channels: c_in + c_out,
                    width,
                },
            )
        }
        (ModelKind::Pix2pix, _) => bail!(
            "pix2pix learns from pairs of images: use --dataset edges2emoji, edges2fashion, or a \
             folder of A|B pictures such as facades"
        ),
        (_, TrainData::Pairs(_)) => bail!(
            "{} is a dataset of image pairs, for pix2pix; the other models learn from one set of \
             images (mnist, emoji, a folder, …)",
            data.info().name
        ),
        (kind, TrainData::Images(images)) => {
            let shape = images.image_shape();
            match kind {
                ModelKind::Vanilla => TrainConfig::gan(ModelConfig::Mlp(MlpConfig {
                    image_shape: shape,
                    ..MlpConfig::default()
                }))
                .batch_size(64),
                ModelKind::Dcgan => TrainConfig::gan(dcgan(shape, Norm::Batch, 0)?),
                ModelKind::Wgan => TrainConfig::wgan(dcgan(shape, Norm::Batch, 0)?),
                ModelKind::WganGp => TrainConfig::wgan_gp(dcgan(shape, Norm::Layer, 0)?),
                ModelKind::Cgan => {
                    let classes = images.class_names.len() as i64;
                    ensure!(
                        images.labels.is_some() && classes > 1,
                        "cgan needs labelled data (mnist, fashion-mnist, letters, emoji); {} \
                         has no labels",
                        images.name
                    );
                    TrainConfig::gan(dcgan(shape, Norm::Batch, classes)?)
                }
                ModelKind::Pix2pix => unreachable!("matched above"),
            }
        }
    };
    Ok(config)
}

/// Generator steps for `epochs` passes over the data (each step draws `n_critic` batches).
pub fn steps_for_epochs(epochs: usize, config: &TrainConfig, data: &TrainData) -> Result<usize> {
    let len = data.info().len;
    ensure!(
        len > 0,
        "{} is sampled afresh every step and has no epochs: use --steps",
        data.info().name
    );
    config.validate()?;
    let per_step = config.batch_size * config.n_critic;
    let examples = epochs
        .checked_mul(len)
        .with_context(|| format!("--epochs {epochs} is too large"))?;
    Ok(examples.div_ceil(per_step).max(1))
}

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
        match &trainer.config().model {
            ModelConfig::Toy(_) => trainer.toy_chart(1000)?.save(out("samples.svg"))?,
            ModelConfig::Pix2Pix { .. } => trainer.triplets(2)?.save(out("samples.png"))?,
            _ => {
                trainer.sample_grid(64)?.save(out("samples.png"))?;
                if !trainer.snapshots().is_empty() {
                    trainer.snapshots_gif(250)?.save(out("snapshots.gif"))?;
                }
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
fn has_checkpoint(dir: &Path) -> bool {
    dir.join("checkpoint.safetensors").is_file() || dir.join("checkpoint.json").is_file()
}

/// How a [`drive`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The target step was reached.
    Finished,
    /// `stop` was raised (Ctrl-C); the checkpoint holds the step reached.
    Interrupted,
}

/// Trains `trainer` up to step `target` in chunks of `log_every` steps, saving a checkpoint and
/// the figures every `checkpoint_every` steps and at the end. Raising `stop` (the Ctrl-C handler
/// does) ends the run after the current chunk, with a checkpoint. A NaN or infinite loss ends it
/// with an error and leaves the last checkpoint, the last good state, untouched. `progress` is
/// called after every chunk with the trainer and the speed in steps per second.
pub fn drive(
    trainer: &mut Trainer,
    folder: &RunFolder,
    target: usize,
    checkpoint_every: usize,
    stop: &AtomicBool,
    mut progress: impl FnMut(&Trainer, f64),
) -> Result<Ended> {
    ensure!(
        checkpoint_every > 0,
        "--checkpoint-every must be at least 1"
    );
    let chunk = trainer.config().log_every;
    let (start, first) = (Instant::now(), trainer.steps_done());
    let mut last_saved = trainer.steps_done();
    while trainer.steps_done() < target {
        if stop.load(Ordering::SeqCst) {
            folder.save(trainer)?;
            return Ok(Ended::Interrupted);
        }
        let steps = chunk.min(target - trainer.steps_done());
        if let Err(e) = trainer.train(steps) {
            let step = crate::train::CheckpointMeta::read(folder.checkpoint()).map(|m| m.step);
            let kept = match (step, e.downcast_ref::<crate::train::Diverged>()) {
                (Ok(step), Some(_)) => format!(
                    "The last good checkpoint, step {step}, is kept in {}: continue from it with \
                     `gans train --resume {} --lr <smaller>`.",
                    folder.checkpoint().display(),
                    folder.dir.display()
                ),
                (Ok(step), None) => format!(
                    "Training stopped; the checkpoint of step {step} in {} is kept.",
                    folder.checkpoint().display()
                ),
                (Err(_), _) => "Training stopped.".into(),
            };
            return Err(e.context(kept));
        }
        let done = trainer.steps_done();
        progress(
            trainer,
            (done - first) as f64 / start.elapsed().as_secs_f64().max(1e-9),
        );
        if done - last_saved >= checkpoint_every || done == target {
            folder.save(trainer)?;
            last_saved = done;
        }
    }
    if last_saved != trainer.steps_done() || !has_checkpoint(&folder.checkpoint()) {
        folder.save(trainer)?;
    }
    Ok(Ended::Finished)
}

/// Snapshots for a run of `target` steps: about 40 frames, on history points.
pub fn snapshot_every(target: usize, log_every: usize) -> usize {
    let log_every = log_every.max(1);
    (target / 40).max(1).div_ceil(log_every) * log_every
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_and_refusals() {
        let spec = DataSpec::parse("fashion-mnist", ModelKind::Dcgan, None).unwrap();
        assert_eq!(spec, DataSpec::FashionMnist);
        let spec = DataSpec::parse("letters", ModelKind::Dcgan, Some(64)).unwrap();
        assert_eq!(spec, DataSpec::Letters { size: 64 });
        let e = DataSpec::parse("mnist", ModelKind::Dcgan, Some(64)).unwrap_err();
        assert!(e.to_string().contains("28×28 only"), "{e}");
        let e = DataSpec::parse("celeba-missing-folder", ModelKind::Dcgan, None).unwrap_err();
        assert!(e.to_string().contains("unknown dataset"), "{e}");
        assert!(e.to_string().contains("edges2emoji"), "{e}");
        let e = DataSpec::parse("ring", ModelKind::Vanilla, Some(64)).unwrap_err();
        assert!(e.to_string().contains("2-D points"), "{e}");
    }

    #[test]
    fn folder_becomes_pairs_for_pix2pix_and_absolute() {
        let dir = std::env::temp_dir().join(format!("gans-run-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = DataSpec::parse(dir.to_str().unwrap(), ModelKind::Pix2pix, Some(64)).unwrap();
        assert!(matches!(spec, DataSpec::Pairs { size: 64, ref path, .. } if path.is_absolute()));
        let spec = DataSpec::parse(dir.to_str().unwrap(), ModelKind::Dcgan, None).unwrap();
        assert!(matches!(spec, DataSpec::Folder { size: 64, .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn configs_fit_the_data_or_say_why_not() {
        let ring: TrainData = Toy2d::new(Toy2dKind::Ring, Device::Cpu).into();
        assert!(matches!(
            train_config(ModelKind::Vanilla, &ring, None).unwrap().model,
            ModelConfig::Toy(_)
        ));
        let e = train_config(ModelKind::Dcgan, &ring, None).unwrap_err();
        assert!(e.to_string().contains("vanilla"), "{e}");
        let e = steps_for_epochs(1, &TrainConfig::toy(ToyConfig::default()), &ring).unwrap_err();
        assert!(e.to_string().contains("--steps"), "{e}");
    }

    #[test]
    fn drive_gives_divergence_advice_only_for_divergence() {
        let dir = crate::data::test_dir("run-drive");
        let out = dir.join("run");
        let config = TrainConfig::toy(ToyConfig::default())
            .batch_size(32)
            .log_every(2)
            .print_every(0);
        let mut trainer = Trainer::new(config, Toy2d::new(Toy2dKind::Ring, Device::Cpu)).unwrap();
        let info = RunInfo::new(ModelKind::Vanilla, DataSpec::Ring, 10, 2);
        let folder = RunFolder::create(&out, false, &info, &trainer).unwrap();
        let stop = AtomicBool::new(false);
        drive(&mut trainer, &folder, 4, 2, &stop, |_, _| {}).unwrap();
        let (_, mut weight) = trainer.variables().swap_remove(0);
        tch::no_grad(|| {
            let _ = weight.fill_(f64::NAN);
        });
        let err = drive(&mut trainer, &folder, 10, 2, &stop, |_, _| {}).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("last good checkpoint, step 4") && err.contains("--lr <smaller>"),
            "{err}"
        );
        let meta = crate::train::CheckpointMeta::read(folder.checkpoint()).unwrap();
        assert_eq!(meta.step, 4);
        // Another failure (here: a trainer loaded without its data) gets no such advice.
        let mut absent = Trainer::load_without_data(folder.checkpoint(), Device::Cpu).unwrap();
        let err = drive(&mut absent, &folder, 10, 2, &stop, |_, _| {}).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("checkpoint of step 4 in") && !err.contains("--lr"),
            "{err}"
        );
    }

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

    #[test]
    fn snapshots_land_on_history_points() {
        assert_eq!(snapshot_every(1000, 10), 30);
        assert_eq!(snapshot_every(50, 10), 10);
        assert_eq!(snapshot_every(100_000, 10), 2500);
    }
}
