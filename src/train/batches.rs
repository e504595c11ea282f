//! What goes into the networks: the real batches of each step, in a shuffled order that a
//! resumed run repeats, and the fixed input that every snapshot is drawn from.

use anyhow::{Context, Result, bail, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tch::{Device, Kind, Tensor};

use super::config::TrainConfig;
use super::data::TrainData;
use super::seeds::{self, mix};

/// A real batch and what conditions it: labels for a cGAN, the input image for Pix2Pix.
pub(crate) struct RealBatch {
    pub(crate) real: Tensor,
    pub(crate) condition: Option<Tensor>,
}

/// The training data and where in it the run is.
pub(crate) struct Batches {
    pub(crate) data: TrainData,
    /// Real batches drawn so far (one per discriminator update).
    pub(crate) drawn: usize,
    /// The shuffled order of the current epoch: (epoch, order on the device).
    order: Option<(usize, Tensor)>,
}

impl Batches {
    pub(crate) fn new(data: TrainData) -> Self {
        Batches {
            data,
            drawn: 0,
            order: None,
        }
    }

    /// Back to the first batch of the first epoch.
    pub(crate) fn rewind(&mut self) {
        self.drawn = 0;
        self.order = None;
    }

    /// The next real batch: drawn from the toy mixture, or the next slice of this epoch's
    /// shuffled order (the order of epoch e comes from `(seed, e)`; the incomplete last
    /// batch is dropped).
    pub(crate) fn next(&mut self, config: &TrainConfig) -> Result<RealBatch> {
        let b = config.batch_size;
        let device = self.data.device();
        match &self.data {
            TrainData::Absent { info, .. } => bail!(
                "this trainer was loaded without its data (to sample or score), so it cannot \
                 train: load it with Trainer::load(dir, data), data being {}",
                info.name
            ),
            TrainData::Toy(toy) => {
                return Ok(RealBatch {
                    real: toy.sample(b),
                    condition: None,
                });
            }
            TrainData::Images(_) | TrainData::Pairs(_) => {}
        }
        let n = self.data.len();
        let per_epoch = n / b;
        ensure!(
            per_epoch > 0,
            "batch_size {b} is larger than the data ({n} examples)"
        );
        let (epoch, position) = (self.drawn / per_epoch, self.drawn % per_epoch);
        if self.order.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let mut rng = StdRng::seed_from_u64(mix(config.seed, seeds::SHUFFLE, epoch as u64));
            let mut order: Vec<i64> = (0..n as i64).collect();
            order.shuffle(&mut rng);
            self.order = Some((epoch, Tensor::from_slice(&order).to_device(device)));
        }
        let order = &self.order.as_ref().context("no epoch order")?.1;
        let index = order.narrow(0, (position * b) as i64, b as i64);
        self.drawn += 1;
        let conditional = config.model.n_classes() > 0;
        Ok(match &self.data {
            TrainData::Images(d) => RealBatch {
                real: d.images.index_select(0, &index),
                condition: match (&d.labels, conditional) {
                    (Some(labels), true) => Some(labels.index_select(0, &index)),
                    _ => None,
                },
            },
            TrainData::Pairs(p) => {
                let (input, target) = p.select(&index);
                let (input, target) = if config.jitter {
                    let batch = self.drawn as u64 - 1;
                    let mut rng = StdRng::seed_from_u64(mix(config.seed, seeds::JITTER, batch));
                    crate::data::paired::jitter(&input, &target, &mut rng)?
                } else {
                    (input, target)
                };
                RealBatch {
                    real: target,
                    condition: Some(input),
                }
            }
            TrainData::Toy(_) | TrainData::Absent { .. } => bail!("handled above"),
        })
    }
}

/// What every snapshot is drawn from, the same all run long.
pub(crate) struct FixedInput {
    /// Noise `[n_fixed, latent_dim]`, or input images for a model that translates.
    pub(crate) input: Tensor,
    /// The noise's labels (`i mod n_classes`) for a conditional model; the inputs' targets for
    /// a model that translates; `None` otherwise.
    pub(crate) condition_or_target: Option<Tensor>,
}

impl FixedInput {
    /// Drawn from the run's seed: noise (and cycling labels), or pairs spread evenly over the
    /// data.
    pub(crate) fn draw(config: &TrainConfig, data: &TrainData, device: Device) -> Result<Self> {
        seeds::seed_torch(config.seed, seeds::FIXED, 0);
        let n = config.n_fixed;
        let (input, condition_or_target) = match (config.model.latent_dim(), data) {
            (Some(latent_dim), _) => {
                let z = Tensor::randn([n as i64, latent_dim], (Kind::Float, device));
                let classes = config.model.n_classes();
                let labels = (classes > 0)
                    .then(|| Tensor::arange(n as i64, (Kind::Int64, device)).remainder(classes));
                (z, labels)
            }
            (None, TrainData::Pairs(p)) => {
                // Pairs spread evenly over the data, always the same ones.
                let n = n.min(p.len());
                let step = p.len() as f64 / n as f64;
                let index: Vec<i64> = (0..n).map(|i| (i as f64 * step) as i64).collect();
                let (input, target) = p.select(&Tensor::from_slice(&index));
                (input, Some(target))
            }
            (None, TrainData::Absent { .. }) => {
                // Placeholders of the right shapes: loading the checkpoint replaces them.
                let model = config.model.model();
                let input = model
                    .input_shape()
                    .context("a model without noise takes an input")?;
                let shape = |example: Vec<i64>| [vec![n as i64], example].concat();
                (
                    Tensor::zeros(shape(input), (Kind::Float, device)),
                    Some(Tensor::zeros(
                        shape(model.example_shape()),
                        (Kind::Float, device),
                    )),
                )
            }
            (None, _) => bail!("Pix2Pix needs a PairedDataset"),
        };
        Ok(FixedInput {
            input,
            condition_or_target,
        })
    }

    /// The labels of the fixed noise, for a conditional model (`None` for a model that
    /// translates: its second tensor holds targets).
    pub(crate) fn labels(&self, config: &TrainConfig) -> Option<&Tensor> {
        match config.model.latent_dim() {
            None => None,
            Some(_) => self.condition_or_target.as_ref(),
        }
    }
}
