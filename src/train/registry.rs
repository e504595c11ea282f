//! The models of the course by name: one list, which the `gans` command reads for its model
//! names, their help, `--preset` and which data each takes, and which anyone can ask for "the
//! course's WGAN-GP for this data, with its paper's settings".
//!
//! | name | notebook | networks ([`ModelConfig`]) | game and settings |
//! | --- | --- | --- | --- |
//! | `vanilla` | 01 | fully connected (toy networks on the 2-D rings) | [`TrainConfig::gan`], batch 64; rings: [`TrainConfig::toy`] |
//! | `dcgan` | 02 | DCGAN | [`TrainConfig::gan`]; fast-EMA: [`TrainConfig::fast_ema`] |
//! | `wgan` | 03 | DCGAN critic, batch norm | [`TrainConfig::wgan`] |
//! | `wgan-gp` | 03 | DCGAN critic, layer norm | [`TrainConfig::wgan_gp`] |
//! | `cgan` | 04 | DCGAN with one-hot labels | [`TrainConfig::gan`] |
//! | `pix2pix` | 05 | U-Net + PatchGAN | [`TrainConfig::pix2pix`] |
//! | `cyclegan` | 07 | two ResNet generators + two PatchGANs | [`TrainConfig::cyclegan`] |
//!
//! ## Adding a model
//! A model of the crate is its networks' file in `src/models/` (a config that implements
//! [`GanModel`](crate::game::GanModel)), its arm in [`ModelConfig`], and one entry here, e.g. a
//! least-squares GAN (Mao et al. 2017) on the DCGAN networks, given a `GanLoss::LeastSquares`:
//!
//! ```text
//! CourseModel {
//!     name: "lsgan",
//!     notebook: "06",
//!     about: "DCGAN networks, least-squares game (Mao et al. 2017)",
//!     takes: Takes::Images,
//!     paper: |data, width| {
//!         let model = dcgan(data, "lsgan", width, Norm::Batch, 0)?;
//!         Ok(TrainConfig::gan(model).loss(GanLoss::LeastSquares))
//!     },
//!     fast_ema: None,
//!     trains: |c| dcgan_playing(c, |loss| loss == GanLoss::LeastSquares),
//! },
//! ```
//!
//! (and `dcgan`'s `trains` would then leave `LeastSquares` out: a config belongs to exactly one
//! entry, which the test `every_model_s_configs_are_its_own` checks). The command then offers
//! `gans train lsgan`, with its line in `gans train --help`.

use anyhow::{Result, bail, ensure};

use super::config::{ModelConfig, TrainConfig};
use super::data::TrainData;
use crate::game::GanLoss;
use crate::models::Norm;
use crate::models::cyclegan::CycleGanConfig;
use crate::models::dcgan::DcganConfig;
use crate::models::mlp::MlpConfig;
use crate::models::patchgan::PatchGanConfig;
use crate::models::toy::ToyConfig;
use crate::models::unet::{UnetConfig, Upsample};

/// Which settings a run starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The model's paper's settings.
    Paper,
    /// The course's fast-EMA settings (notebook 06: Adam 1e-3 for G and D, samples from a moving
    /// average of G's weights), where the model has them.
    FastEma,
}

/// What a model learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// One set of images (or the 2-D points of the rings).
    Images,
    /// One set of images with their class labels.
    LabelledImages,
    /// Pairs of images: an input and its target.
    Pairs,
    /// Two sets of images without pairs.
    Unpaired,
}

/// One model of the course: its name, what it learns from, and how its config is made.
pub struct CourseModel {
    /// The name the command takes (`wgan-gp`).
    pub name: &'static str,
    /// The notebook that teaches it.
    pub notebook: &'static str,
    /// One line for help texts.
    pub about: &'static str,
    pub takes: Takes,
    /// The model sized for the data, with its paper's settings; `width` is the widest layer of
    /// the conv models (64 in the papers).
    paper: fn(&TrainData, i64) -> Result<TrainConfig>,
    /// The course's fast-EMA settings for the networks of a paper config, where there are some.
    fast_ema: Option<fn(&TrainConfig) -> TrainConfig>,
    /// Whether a config is one of this model's (for a run folder that says which model it is).
    trains: fn(&TrainConfig) -> bool,
}

impl std::fmt::Debug for CourseModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CourseModel({})", self.name)
    }
}

impl PartialEq for CourseModel {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl CourseModel {
    /// The settings a run of this model starts from when none is asked for: the fast-EMA ones
    /// where the model has them (measured better at the same cost, notebook 06), else the paper's.
    pub fn default_preset(&self) -> Preset {
        match self.fast_ema {
            Some(_) => Preset::FastEma,
            None => Preset::Paper,
        }
    }

    /// The model sized for `data` with `preset`'s settings. `width` (default 64) sets the widest
    /// layer of the conv models.
    pub fn config(
        &self,
        data: &TrainData,
        width: Option<i64>,
        preset: Preset,
    ) -> Result<TrainConfig> {
        let width = width.unwrap_or(64);
        ensure!(
            (1..=1024).contains(&width),
            "--width {width} is out of range: use 1 to 1024 (the papers use 64)"
        );
        if let TrainData::Absent { info, .. } = data {
            bail!(
                "{} was not loaded: a model is sized from the data itself",
                info.name
            );
        }
        let paper = (self.paper)(data, width)?;
        match (preset, self.fast_ema) {
            (Preset::Paper, _) => Ok(paper),
            (Preset::FastEma, Some(fast_ema)) => Ok(fast_ema(&paper)),
            (Preset::FastEma, None) => {
                let with: Vec<&str> = COURSE
                    .iter()
                    .filter(|m| m.fast_ema.is_some())
                    .map(|m| m.name)
                    .collect();
                bail!(
                    "{} has no fast-ema preset (the course has one for {}, notebook 06): leave --preset \
                     out for its paper's settings, or switch single remedies on (--ema, --hinge, …)",
                    self.name,
                    with.join(", ")
                )
            }
        }
    }
}

/// The models of the course, in the order of the notebooks.
pub static COURSE: [CourseModel; 7] = [
    CourseModel {
        name: "vanilla",
        notebook: "01",
        about: "fully connected G and D (the toy networks on `ring` and `grid`)",
        takes: Takes::Images,
        paper: |data, _| match data {
            TrainData::Toy(_) => Ok(TrainConfig::toy(ToyConfig::default())),
            data => Ok(TrainConfig::gan(MlpConfig {
                image_shape: images(data, "vanilla")?,
                ..MlpConfig::default()
            })
            .batch_size(64)),
        },
        fast_ema: None,
        trains: |c| matches!(c.model, ModelConfig::Toy(_) | ModelConfig::Mlp(_)),
    },
    CourseModel {
        name: "dcgan",
        notebook: "02",
        about: "DCGAN (default: the course's fast-ema preset of notebook 06; --preset paper)",
        takes: Takes::Images,
        paper: |data, width| {
            Ok(TrainConfig::gan(dcgan(
                data,
                "dcgan",
                width,
                Norm::Batch,
                0,
            )?))
        },
        fast_ema: Some(|paper| {
            TrainConfig::fast_ema(paper.model.clone()).batch_size(paper.batch_size)
        }),
        trains: |c| dcgan_playing(c, |loss| !loss.is_wasserstein()),
    },
    CourseModel {
        name: "wgan",
        notebook: "03",
        about: "WGAN with weight clipping",
        takes: Takes::Images,
        paper: |data, width| {
            Ok(TrainConfig::wgan(dcgan(
                data,
                "wgan",
                width,
                Norm::Batch,
                0,
            )?))
        },
        fast_ema: None,
        trains: |c| dcgan_playing(c, |loss| loss == GanLoss::Wasserstein),
    },
    CourseModel {
        name: "wgan-gp",
        notebook: "03",
        about: "WGAN with gradient penalty",
        takes: Takes::Images,
        paper: |data, width| {
            Ok(TrainConfig::wgan_gp(dcgan(
                data,
                "wgan-gp",
                width,
                Norm::Layer,
                0,
            )?))
        },
        fast_ema: None,
        trains: |c| dcgan_playing(c, |loss| matches!(loss, GanLoss::WassersteinGp { .. })),
    },
    CourseModel {
        name: "cgan",
        notebook: "04",
        about: "conditional DCGAN on one-hot labels",
        takes: Takes::LabelledImages,
        paper: |data, width| {
            // Points and pairs are refused by name, as for the other image models.
            images(data, "cgan")?;
            let TrainData::Images(images) = data else {
                bail!("cgan learns from labelled images");
            };
            let classes = images.class_names.len() as i64;
            ensure!(
                images.labels.is_some() && classes > 1,
                "cgan needs labelled data (mnist, fashion-mnist, letters, emoji); {} has no labels",
                images.name
            );
            Ok(TrainConfig::gan(dcgan(
                data,
                "cgan",
                width,
                Norm::Batch,
                classes,
            )?))
        },
        fast_ema: None,
        trains: |c| matches!(&c.model, ModelConfig::Dcgan(d) if d.n_classes > 0),
    },
    CourseModel {
        name: "pix2pix",
        notebook: "05",
        about: "U-Net + PatchGAN on image pairs",
        takes: Takes::Pairs,
        paper: |data, width| {
            let TrainData::Pairs(pairs) = data else {
                bail!(
                    "pix2pix learns from pairs of images: use --dataset edges2emoji, \
                     edges2fashion, or a folder of A|B pictures such as facades"
                );
            };
            let (c_in, c_out) = (pairs.inputs.size()[1], pairs.targets.size()[1]);
            let image_size = pairs.inputs.size()[2];
            // At 256×256 the paper's networks; at 64×64 notebook 05's: a 16×16 PatchGAN (the
            // paper's 70×70 would see the whole picture) and a resize-convolution decoder (no
            // checkerboard), measured better there by `examples/pix2pix_sweep.rs`.
            let small = image_size < 256;
            let upsample = if small {
                Upsample::Resize
            } else {
                Upsample::Transposed
            };
            Ok(TrainConfig::pix2pix(
                UnetConfig {
                    image_size,
                    in_channels: c_in,
                    out_channels: c_out,
                    width,
                    dropout: 0.5,
                    upsample,
                    skips: true,
                },
                PatchGanConfig {
                    in_channels: c_in + c_out,
                    width,
                    layers: if small { 1 } else { 3 },
                },
            ))
        },
        fast_ema: None,
        trains: |c| matches!(c.model, ModelConfig::Pix2Pix(_)),
    },
    CourseModel {
        name: "cyclegan",
        notebook: "07",
        about: "two ResNet generators + two PatchGANs on unpaired pictures",
        takes: Takes::Unpaired,
        paper: |data, width| {
            let TrainData::Unpaired(sets) = data else {
                bail!(
                    "cyclegan learns from two sets of pictures without pairs: use --dataset \
                     emoji-vendors, or a folder with trainA/ and trainB/ (the CycleGAN datasets)"
                );
            };
            let (a, b) = (sets.a.size(), sets.b.size());
            ensure!(
                a[1..] == b[1..] && a[2] == a[3],
                "{}: cyclegan translates between square pictures of one size and channel count, \
                 got A {:?} and B {:?}",
                sets.name,
                &a[1..],
                &b[1..]
            );
            Ok(TrainConfig::cyclegan(CycleGanConfig {
                channels: a[1],
                ..CycleGanConfig::sized(a[2], width)
            }))
        },
        fast_ema: None,
        trains: |c| matches!(c.model, ModelConfig::CycleGan(_)),
    },
];

/// The course's model of this name; an error listing the names for any other.
pub fn course_model(name: &str) -> Result<&'static CourseModel> {
    match COURSE.iter().find(|m| m.name == name) {
        Some(model) => Ok(model),
        None => bail!(
            "no model `{name}` in the course: use one of {}",
            names().join(", ")
        ),
    }
}

/// The course's model that a config trains, if it is one of them.
pub fn course_model_of(config: &TrainConfig) -> Option<&'static CourseModel> {
    COURSE.iter().find(|m| (m.trains)(config))
}

/// The models' names, in the order of the notebooks.
pub fn names() -> Vec<&'static str> {
    COURSE.iter().map(|m| m.name).collect()
}

/// The example shape of a set of images (or a refusal that says which data the model takes).
fn images(data: &TrainData, model: &str) -> Result<[i64; 3]> {
    match data {
        TrainData::Images(images) => Ok(images.image_shape()),
        TrainData::Toy(_) => {
            bail!("the 2-D mixtures train the vanilla model: `gans train vanilla --dataset ring`")
        }
        TrainData::Pairs(_) => bail!(
            "{} is a dataset of image pairs, for pix2pix; {model} learns from one set of images \
             (mnist, emoji, a folder, …)",
            data.info().name
        ),
        TrainData::Unpaired(_) => bail!(
            "{} is two sets of pictures without pairs, for cyclegan; {model} learns from one \
             set of images (mnist, emoji, a folder, …)",
            data.info().name
        ),
        TrainData::Absent { info, .. } => bail!("{} was not loaded", info.name),
    }
}

/// The DCGAN networks for `data`'s images (a refusal naming `model` for data of another kind).
fn dcgan(
    data: &TrainData,
    model: &str,
    width: i64,
    norm: Norm,
    n_classes: i64,
) -> Result<ModelConfig> {
    let shape = images(data, model)?;
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
}

/// An unconditional DCGAN whose game `loss` satisfies `game`.
fn dcgan_playing(config: &TrainConfig, game: fn(GanLoss) -> bool) -> bool {
    matches!(&config.model, ModelConfig::Dcgan(d) if d.n_classes == 0) && game(config.loss)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name finds its model, and an unknown one lists them all.
    #[test]
    fn names_find_their_models() {
        for name in names() {
            assert_eq!(course_model(name).unwrap().name, name);
        }
        let err = course_model("stylegan").unwrap_err().to_string();
        assert!(
            err.contains("vanilla, dcgan, wgan, wgan-gp, cgan, pix2pix, cyclegan"),
            "{err}"
        );
        assert_eq!(
            course_model("dcgan").unwrap().default_preset(),
            Preset::FastEma
        );
        assert_eq!(
            course_model("wgan").unwrap().default_preset(),
            Preset::Paper
        );
    }

    /// Every entry's own configs (paper and fast-EMA) belong to that entry and to no other, so a
    /// run folder's config says which model it is.
    #[test]
    fn every_model_s_configs_are_its_own() {
        use crate::data::Dataset;
        use crate::data::paired::PairedDataset;
        use crate::data::toy2d::{Toy2d, Toy2dKind};
        use tch::{Device, Kind, Tensor};
        let cpu = (Kind::Float, Device::Cpu);
        let digits = TrainData::Images(Dataset {
            name: "digits".into(),
            images: Tensor::zeros([20, 1, 28, 28], cpu),
            labels: Some(Tensor::arange(20, (Kind::Int64, Device::Cpu)).remainder(10)),
            class_names: (0..10).map(|i| i.to_string()).collect(),
        });
        let pairs = TrainData::Pairs(PairedDataset {
            name: "pairs".into(),
            inputs: Tensor::zeros([4, 1, 64, 64], cpu),
            targets: Tensor::zeros([4, 3, 64, 64], cpu),
        });
        let sets = TrainData::Unpaired(crate::data::unpaired::UnpairedDataset {
            name: "sets".into(),
            a: Tensor::zeros([4, 3, 32, 32], cpu),
            b: Tensor::zeros([5, 3, 32, 32], cpu),
            aligned: false,
        });
        let ring = TrainData::Toy(Toy2d::new(Toy2dKind::Ring, Device::Cpu));
        let mut checked = 0;
        for model in COURSE.iter() {
            let mut data: Vec<&TrainData> = match model.takes {
                Takes::Pairs => vec![&pairs],
                Takes::Unpaired => vec![&sets],
                _ => vec![&digits],
            };
            if model.name == "vanilla" {
                data.push(&ring);
            }
            for data in data {
                for preset in [Preset::Paper, Preset::FastEma] {
                    let Ok(config) = model.config(data, Some(8), preset) else {
                        assert!(
                            preset == Preset::FastEma && model.fast_ema.is_none(),
                            "{model:?}"
                        );
                        continue;
                    };
                    let owners: Vec<&str> = COURSE
                        .iter()
                        .filter(|m| (m.trains)(&config))
                        .map(|m| m.name)
                        .collect();
                    assert_eq!(owners, [model.name], "{preset:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(
            checked, 9,
            "7 paper configs, the ring's, dcgan's fast-EMA one"
        );
    }
}
