//! What a command line names: datasets and models.
//!
//! - [`DataSpec`]: a dataset named on the command line (`mnist`, `ring`, a folder, …), saved in the
//!   run folder so that `--resume`, `sample` and `eval` load the same data again;
//! - [`ModelKind`]: a model of the course by name, a view of the library's one list
//!   (`gans::train::registry`), which sizes each model for the data with its paper's settings.
//!
//! The run folder itself is `folder.rs`'s, training to a step with checkpoints and Ctrl-C is
//! `drive.rs`'s; there is one training loop in the crate, the trainer's. A run folder:
//!
//! ```text
//! runs/NAME/
//!   run.json            model, dataset, target steps: what `--resume` needs
//!   config.json         every hyperparameter (the TrainConfig; --resume honours edited learning
//!                       rates and refuses any other edit, by name)
//!   checkpoint/         weights, optimiser moments, history: see train::checkpoint
//!   losses.svg  d.svg   the loss curves; D(x) and D(G(z)) (a critic's estimate for a WGAN)
//!   samples.png         new samples (Pix2Pix: input | output | target; the ring: samples.svg)
//!   snapshots.gif       the fixed noise through training
//! ```

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use tch::Device;

use gans::data::emoji::{self, EmojiOptions};
use gans::data::image_folder::{self, FolderOptions};
use gans::data::letters::{self, LetterOptions};
use gans::data::paired::{self, Direction};
use gans::data::toy2d::{Toy2d, Toy2dKind};
use gans::data::unpaired;
use gans::data::{Split, fashion_mnist, mnist};
use gans::train::registry::{self, COURSE, CourseModel, Takes};
use gans::train::{TrainConfig, TrainData};

/// A model of the course, by the name the command takes: an entry of the library's one list
/// ([`gans::train::registry`]), which gives the names, their help lines, the data each takes and
/// its presets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelKind(pub &'static CourseModel);

static KINDS: LazyLock<Vec<ModelKind>> = LazyLock::new(|| COURSE.iter().map(ModelKind).collect());

impl ModelKind {
    /// The course's model of this name (an error lists the names).
    pub fn named(name: &str) -> Result<ModelKind> {
        Ok(ModelKind(registry::course_model(name)?))
    }

    /// The name the command takes (`wgan-gp`, …).
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Which of the course's models a config trains (`None` for a model of one's own).
    pub fn of(config: &TrainConfig) -> Option<ModelKind> {
        registry::course_model_of(config).map(ModelKind)
    }
}

impl clap::ValueEnum for ModelKind {
    fn value_variants<'a>() -> &'a [Self] {
        &KINDS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = format!("notebook {}: {}", self.0.notebook, self.0.about);
        Some(clap::builder::PossibleValue::new(self.0.name).help(help))
    }
}

impl Serialize for ModelKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name)
    }
}

impl<'de> Deserialize<'de> for ModelKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ModelKind::named(&name).map_err(serde::de::Error::custom)
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
    /// CycleGAN's sets: the emoji both vendors draw, Google's as A and Twitter's as B, with
    /// the true counterparts kept for scoring (`faces`: people and faces only); `size` 32 or 64.
    EmojiVendors {
        faces: bool,
        size: u32,
    },
    /// A folder in the CycleGAN datasets' layout: `trainA/`, `trainB/`, `testA/`, `testB/`.
    Unpaired {
        path: PathBuf,
        size: u32,
    },
}

/// The names [`DataSpec::parse`] knows, for help texts and errors.
pub const DATASET_NAMES: &str = "mnist, fashion-mnist, letters, emoji, emoji-faces, ring, grid, \
                                 edges2emoji, edges2fashion, emoji-vendors, emoji-vendors-faces";

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
            "emoji-vendors" => DataSpec::EmojiVendors {
                faces: false,
                size: size(64, &[32, 64])?,
            },
            "emoji-vendors-faces" => DataSpec::EmojiVendors {
                faces: true,
                size: size(64, &[32, 64])?,
            },
            _ => {
                let path = PathBuf::from(text);
                ensure!(
                    path.is_dir(),
                    "unknown dataset `{text}`: use one of {DATASET_NAMES}, or the path of a \
                     folder of images (for pix2pix, a folder of A|B pictures; for cyclegan, one \
                     with trainA/ and trainB/); `{text}` is not a folder"
                );
                // Absolute, so that `--resume` works from another working directory.
                let path = std::fs::canonicalize(&path)
                    .with_context(|| format!("resolving the folder {text}"))?;
                if model.0.takes == Takes::Unpaired {
                    DataSpec::Unpaired {
                        path,
                        size: size(64, &[32, 64, 128, 256])?,
                    }
                } else if model.0.takes == Takes::Pairs {
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
            DataSpec::Folder { path, .. }
            | DataSpec::Pairs { path, .. }
            | DataSpec::Unpaired { path, .. } => Some(path),
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
            DataSpec::EmojiVendors { faces, size } => format!(
                "emoji-vendors{} ({size}×{size})",
                if *faces { "-faces" } else { "" }
            ),
            DataSpec::Folder { path, .. }
            | DataSpec::Pairs { path, .. }
            | DataSpec::Unpaired { path, .. } => path.display().to_string(),
        }
    }

    /// Loads one split onto `device`. A plain folder has no test split; an A|B folder has one
    /// when it holds `val/` or `test/`.
    pub fn load(&self, split: Split, device: Device) -> Result<TrainData> {
        let edges = |data: gans::data::Dataset| -> Result<TrainData> {
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
                    note!("gans: {}: {skipped}", path.display());
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
            DataSpec::EmojiVendors { faces, size } => {
                let options = if *faces {
                    EmojiOptions::faces()
                } else {
                    EmojiOptions::default()
                };
                emoji::vendor_sets(split, &options.size(*size), device)?.into()
            }
            DataSpec::Unpaired { path, size } => {
                let (sets, skipped) = unpaired::load_folders(path, split, *size, device)?;
                if !skipped.0.is_empty() {
                    note!("gans: {}: {skipped}", path.display());
                }
                sets.into()
            }
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

/// Generator steps for `epochs` passes over the data (each step draws `n_critic` batches).
pub fn steps_for_epochs(epochs: usize, config: &TrainConfig, data: &TrainData) -> Result<usize> {
    let len = data.info().len;
    ensure!(
        len > 0,
        "{} is sampled afresh every step and has no epochs: use --steps",
        data.info().name
    );
    config.validate()?;
    let per_step = config
        .batch_size
        .checked_mul(config.n_critic)
        .context("batch_size × n_critic is too large")?;
    let examples = epochs
        .checked_mul(len)
        .with_context(|| format!("--epochs {epochs} is too large"))?;
    Ok(examples.div_ceil(per_step).max(1))
}

/// Snapshots for a run of `target` steps: about 40 frames, on history points.
pub fn snapshot_every(target: usize, log_every: usize) -> usize {
    let log_every = log_every.max(1);
    (target / 40).max(1).div_ceil(log_every) * log_every
}

#[cfg(test)]
mod tests {
    use super::*;
    use gans::models::toy::ToyConfig;
    use gans::train::ModelConfig;
    use gans::train::registry::Preset;

    fn dcgan() -> ModelKind {
        ModelKind::named("dcgan").unwrap()
    }

    fn vanilla() -> ModelKind {
        ModelKind::named("vanilla").unwrap()
    }

    fn pix2pix() -> ModelKind {
        ModelKind::named("pix2pix").unwrap()
    }

    #[test]
    fn parse_names_and_refusals() {
        let spec = DataSpec::parse("fashion-mnist", dcgan(), None).unwrap();
        assert_eq!(spec, DataSpec::FashionMnist);
        let spec = DataSpec::parse("letters", dcgan(), Some(64)).unwrap();
        assert_eq!(spec, DataSpec::Letters { size: 64 });
        let e = DataSpec::parse("mnist", dcgan(), Some(64)).unwrap_err();
        assert!(e.to_string().contains("28×28 only"), "{e}");
        let e = DataSpec::parse("celeba-missing-folder", dcgan(), None).unwrap_err();
        assert!(e.to_string().contains("unknown dataset"), "{e}");
        assert!(e.to_string().contains("edges2emoji"), "{e}");
        let e = DataSpec::parse("ring", vanilla(), Some(64)).unwrap_err();
        assert!(e.to_string().contains("2-D points"), "{e}");
    }

    #[test]
    fn folder_becomes_pairs_for_pix2pix_and_absolute() {
        let dir = std::env::temp_dir().join(format!("gans-run-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = DataSpec::parse(dir.to_str().unwrap(), pix2pix(), Some(64)).unwrap();
        assert!(matches!(spec, DataSpec::Pairs { size: 64, ref path, .. } if path.is_absolute()));
        let spec = DataSpec::parse(dir.to_str().unwrap(), dcgan(), None).unwrap();
        assert!(matches!(spec, DataSpec::Folder { size: 64, .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn configs_fit_the_data_or_say_why_not() {
        let ring: TrainData = Toy2d::new(Toy2dKind::Ring, Device::Cpu).into();
        assert!(matches!(
            vanilla()
                .0
                .config(&ring, None, Preset::Paper)
                .unwrap()
                .model,
            ModelConfig::Toy(_)
        ));
        let e = dcgan().0.config(&ring, None, Preset::Paper).unwrap_err();
        assert!(e.to_string().contains("vanilla"), "{e}");
        let e = steps_for_epochs(1, &TrainConfig::toy(ToyConfig::default()), &ring).unwrap_err();
        assert!(e.to_string().contains("--steps"), "{e}");
    }

    #[test]
    fn snapshots_land_on_history_points() {
        assert_eq!(snapshot_every(1000, 10), 30);
        assert_eq!(snapshot_every(50, 10), 10);
        assert_eq!(snapshot_every(100_000, 10), 2500);
    }
}
