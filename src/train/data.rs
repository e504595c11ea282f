//! What a trainer learns from ([`TrainData`]), what a checkpoint records of it ([`DataInfo`]),
//! and the check that data and model fit, which only asks the model ([`GanModel`]) what it
//! makes and takes.

use anyhow::{Result, bail, ensure};
use serde::{Deserialize, Serialize};
use tch::Device;

use super::config::TrainConfig;
use crate::data::Dataset;
use crate::data::paired::PairedDataset;
use crate::data::toy2d::Toy2d;
use crate::data::unpaired::UnpairedDataset;

/// What the trainer learns from.
#[derive(Debug)]
pub enum TrainData {
    /// Images (and labels, for a conditional model).
    Images(Dataset),
    /// A 2-D mixture, sampled afresh every step.
    Toy(Toy2d),
    /// Input and target images (Pix2Pix).
    Pairs(PairedDataset),
    /// Two sets of images without pairs (CycleGAN), each drawn in its own order.
    Unpaired(UnpairedDataset),
    /// No data, only its description: a trainer loaded from a checkpoint to sample, translate
    /// or score ([`Trainer::load_without_data`]). Training it is refused.
    Absent { info: DataInfo, device: Device },
}

impl From<Dataset> for TrainData {
    fn from(data: Dataset) -> Self {
        TrainData::Images(data)
    }
}
impl From<Toy2d> for TrainData {
    fn from(data: Toy2d) -> Self {
        TrainData::Toy(data)
    }
}
impl From<PairedDataset> for TrainData {
    fn from(data: PairedDataset) -> Self {
        TrainData::Pairs(data)
    }
}
impl From<UnpairedDataset> for TrainData {
    fn from(data: UnpairedDataset) -> Self {
        TrainData::Unpaired(data)
    }
}

/// What a checkpoint records about the data, to refuse resuming on other data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    pub name: String,
    pub len: usize,
    /// `[C, H, W]` of one example (`[2]` for points).
    pub shape: Vec<i64>,
}

impl TrainData {
    pub(crate) fn device(&self) -> Device {
        match self {
            TrainData::Images(d) => d.device(),
            TrainData::Toy(t) => t.centres.device(),
            TrainData::Pairs(p) => p.inputs.device(),
            TrainData::Unpaired(u) => u.a.device(),
            TrainData::Absent { device, .. } => *device,
        }
    }

    /// Examples to draw batches from (0 for the toy mixture, which has no end).
    pub(crate) fn len(&self) -> usize {
        match self {
            TrainData::Images(d) => d.len(),
            TrainData::Toy(_) | TrainData::Absent { .. } => 0,
            TrainData::Pairs(p) => p.len(),
            TrainData::Unpaired(u) => u.len(),
        }
    }

    /// The image dataset of a GAN or cGAN run (e.g. the training split to score against);
    /// an error for the toy mixture and for Pix2Pix pairs.
    pub fn images(&self) -> Result<&Dataset> {
        match self {
            TrainData::Images(d) => Ok(d),
            other => bail!(
                "this run trains on {}, not on an image dataset",
                other.info().name
            ),
        }
    }

    /// Name, size and example shape (recorded in checkpoints).
    pub fn info(&self) -> DataInfo {
        match self {
            TrainData::Images(d) => DataInfo {
                name: d.name.clone(),
                len: d.len(),
                shape: d.image_shape().to_vec(),
            },
            TrainData::Toy(t) => DataInfo {
                name: format!("toy2d/{:?}", t.kind).to_lowercase(),
                len: 0,
                shape: vec![2],
            },
            TrainData::Pairs(p) => DataInfo {
                name: p.name.clone(),
                len: p.len(),
                shape: p.targets.size()[1..].to_vec(),
            },
            TrainData::Unpaired(u) => DataInfo {
                name: u.name.clone(),
                len: u.len(),
                shape: u.b.size()[1..].to_vec(),
            },
            TrainData::Absent { info, .. } => info.clone(),
        }
    }
}

/// Checks that the data fits the model, with what to change.
pub(crate) fn check_data(config: &TrainConfig, data: &TrainData) -> Result<()> {
    check_fit(config, data)?;
    let info = data.info();
    let len = data.len();
    let sampled = matches!(data, TrainData::Toy(_) | TrainData::Absent { .. });
    ensure!(
        sampled || len > 0,
        "{} holds no examples: a GAN needs data to learn from",
        info.name
    );
    ensure!(
        sampled || config.batch_size <= len,
        "batch_size {} is larger than {} ({len} example{}), so not one batch can be drawn: use \
         a batch_size of at most {len} (the papers use 64 or 128)",
        config.batch_size,
        info.name,
        if len == 1 { "" } else { "s" }
    );
    Ok(())
}

/// The data's shapes, channels and labels fit the model: points for a model of points, pairs
/// of the right shapes for a model that translates, images of its shape otherwise.
fn check_fit(config: &TrainConfig, data: &TrainData) -> Result<()> {
    let model = config.model.model();
    let (name, example) = (model.name(), model.example_shape());
    let info = data.info();
    if let TrainData::Absent { .. } = data {
        ensure!(
            info.shape == example,
            "the checkpoint's data {} has examples of shape {:?}, its model makes {example:?}: \
             the checkpoint is damaged",
            info.name,
            info.shape
        );
        return Ok(());
    }
    let points = example.len() == 1;
    match (points, model.input_shape(), data) {
        (true, _, TrainData::Toy(_)) => Ok(()),
        (true, _, _) => bail!(
            "the {name} model learns 2-D points: give it Toy2d::new(Toy2dKind::Ring, device), not \
             {}",
            info.name
        ),
        (false, Some(input), TrainData::Unpaired(u)) if model.unpaired() => {
            let (a, b) = (u.a.size()[1..].to_vec(), u.b.size()[1..].to_vec());
            ensure!(
                a == input && b == example,
                "{}: pictures of A {a:?} and of B {b:?} do not fit the {name} model ({input:?} → \
                 {example:?}): set its config to the data",
                info.name
            );
            let smaller = u.a.size()[0].min(u.b.size()[0]) as usize;
            ensure!(
                config.batch_size <= smaller,
                "{}: batch_size {} is larger than the smaller side ({smaller} pictures): use a \
                 batch_size of at most {smaller}",
                info.name,
                config.batch_size
            );
            Ok(())
        }
        (false, Some(_), _) if model.unpaired() => bail!(
            "the {name} model learns from two sets of pictures without pairs: give it an \
             UnpairedDataset (emoji::vendor_sets, unpaired::load_folders, or \
             UnpairedDataset::from_pairs to forget a PairedDataset's pairing), not {}",
            info.name
        ),
        (false, Some(input), TrainData::Pairs(p)) => {
            let (inputs, targets) = (
                p.inputs.size()[1..].to_vec(),
                p.targets.size()[1..].to_vec(),
            );
            ensure!(
                inputs == input && targets == example,
                "{}: inputs {inputs:?} and targets {targets:?} do not fit the {name} model \
                 ({input:?} → {example:?}): set its config to the data",
                info.name
            );
            Ok(())
        }
        (false, Some(_), _) => bail!(
            "the {name} model learns from pairs of images: give it a PairedDataset \
             (paired::edges_to or paired::load_ab_folder), not {}",
            info.name
        ),
        (false, None, TrainData::Images(d)) => {
            ensure!(
                d.images.is_floating_point(),
                "{}: images must be floats in [-1, 1], got {:?} (convert bytes with \
                 `images.to_kind(Kind::Float) / 127.5 - 1.0`)",
                d.name,
                d.images.kind()
            );
            ensure!(
                d.image_shape().to_vec() == example,
                "{} has images of shape {:?} but the model makes {example:?}: set the model's \
                 image size and channels to the data's",
                d.name,
                d.image_shape()
            );
            let classes = model.n_classes();
            if classes > 0 {
                ensure!(
                    d.labels.is_some(),
                    "the model is conditional (n_classes = {classes}) but {} has no labels",
                    d.name
                );
                ensure!(
                    d.class_names.len() as i64 == classes,
                    "the model has n_classes = {classes} but {} has {} classes",
                    d.name,
                    d.class_names.len()
                );
                if let Some(labels) = d.labels.as_ref().filter(|_| !d.is_empty()) {
                    ensure!(
                        labels.size() == [d.len() as i64] && labels.kind() == tch::Kind::Int64,
                        "{}: labels must be int64 [{}] (one class number per image), got {:?} {:?}",
                        d.name,
                        d.len(),
                        labels.kind(),
                        labels.size()
                    );
                    let (low, high) =
                        (labels.min().int64_value(&[]), labels.max().int64_value(&[]));
                    ensure!(
                        low >= 0 && high < classes,
                        "{}: labels must lie in 0..{classes}, got values from {low} to {high}",
                        d.name
                    );
                }
            }
            Ok(())
        }
        (false, None, _) => bail!(
            "the {name} model learns from images: give it a Dataset, not {}",
            info.name
        ),
    }
}
