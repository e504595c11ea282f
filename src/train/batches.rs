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
    /// The order of an unpaired dataset's B side, shuffled on its own.
    order_b: Option<(usize, Tensor)>,
}

impl Batches {
    pub(crate) fn new(data: TrainData) -> Self {
        Batches {
            data,
            drawn: 0,
            order: None,
            order_b: None,
        }
    }

    /// Back to the first batch of the first epoch.
    pub(crate) fn rewind(&mut self) {
        self.drawn = 0;
        self.order = None;
        self.order_b = None;
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
            TrainData::Images(_) | TrainData::Pairs(_) | TrainData::Unpaired(_) => {}
        }
        let n = self.data.len();
        let index = epoch_slice(
            &mut self.order,
            (config.seed, seeds::SHUFFLE),
            n,
            b,
            self.drawn,
            device,
        )?;
        if let TrainData::Unpaired(u) = &self.data {
            // B in an order of its own: which picture of B goes with which of A is never seen.
            let n_b = u.b.size()[0] as usize;
            let stream = (config.seed, seeds::SHUFFLE_B);
            let index_b = epoch_slice(&mut self.order_b, stream, n_b, b, self.drawn, device)?;
            self.drawn += 1;
            return Ok(RealBatch {
                real: u.b.index_select(0, &index_b),
                condition: Some(u.a.index_select(0, &index)),
            });
        }
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
            TrainData::Toy(_) | TrainData::Absent { .. } | TrainData::Unpaired(_) => {
                bail!("handled above")
            }
        })
    }
}

/// The indices of batch number `drawn` among `n` examples in batches of `b`: a slice of its
/// epoch's shuffled order, which comes from `(seed, stream, epoch)` and is kept in `cache` while
/// the epoch lasts, on `device`. The incomplete last batch of an epoch is dropped.
fn epoch_slice(
    cache: &mut Option<(usize, Tensor)>,
    (seed, stream): (u64, u64),
    n: usize,
    b: usize,
    drawn: usize,
    device: Device,
) -> Result<Tensor> {
    let per_epoch = n / b;
    ensure!(
        per_epoch > 0,
        "batch_size {b} is larger than the data ({n} examples)"
    );
    let (epoch, position) = (drawn / per_epoch, drawn % per_epoch);
    if cache.as_ref().map(|(e, _)| *e) != Some(epoch) {
        let mut rng = StdRng::seed_from_u64(mix(seed, stream, epoch as u64));
        let mut order: Vec<i64> = (0..n as i64).collect();
        order.shuffle(&mut rng);
        *cache = Some((epoch, Tensor::from_slice(&order).to_device(device)));
    }
    let order = &cache.as_ref().context("no epoch order")?.1;
    Ok(order.narrow(0, (position * b) as i64, b as i64))
}

/// `n` indices (at most `len`) spread evenly over `0..len`.
fn spread(n: usize, len: usize) -> Tensor {
    let n = n.min(len);
    let step = len as f64 / n as f64;
    let index: Vec<i64> = (0..n).map(|i| (i as f64 * step) as i64).collect();
    Tensor::from_slice(&index)
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
                let (input, target) = p.select(&spread(n, p.len()));
                (input, Some(target))
            }
            (None, TrainData::Unpaired(u)) => {
                // Pictures of A spread evenly, with their true counterparts where known (only
                // to show beside the translations).
                let index = spread(n, u.len()).to_device(device);
                let truth = u.aligned.then(|| u.b.index_select(0, &index));
                (u.a.index_select(0, &index), truth)
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
            (None, _) => {
                bail!("a model that translates needs a PairedDataset or an UnpairedDataset")
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::unpaired::UnpairedDataset;
    use crate::models::cyclegan::CycleGanConfig;

    /// Each side of an unpaired dataset goes through all its pictures once an epoch, in an
    /// order of its own: a batch of A and the batch of B beside it are not the true pairs.
    #[test]
    fn the_sides_of_unpaired_data_are_shuffled_apart() {
        // Picture i of each side is filled with the number i: an aligned pair holds equal numbers.
        let numbered = |n: i64| {
            Tensor::arange(n, (Kind::Float, Device::Cpu))
                .view([n, 1, 1, 1])
                .expand([n, 3, 16, 16], true)
                .contiguous()
        };
        let data = TrainData::Unpaired(UnpairedDataset {
            name: "numbered".into(),
            a: numbered(40),
            b: numbered(40),
            aligned: true,
        });
        let config = TrainConfig::cyclegan(CycleGanConfig::sized(16, 4)).batch_size(4);
        let mut batches = Batches::new(data);
        let (mut seen_a, mut seen_b, mut paired) = (Vec::new(), Vec::new(), 0);
        for _ in 0..10 {
            let batch = batches.next(&config).unwrap();
            let first = |t: &Tensor| {
                Vec::<f32>::try_from(t.select(1, 0).select(1, 0).select(1, 0)).unwrap()
            };
            let (b, a) = (first(&batch.real), first(&batch.condition.unwrap()));
            paired += a.iter().zip(&b).filter(|(x, y)| x == y).count();
            seen_a.extend(a);
            seen_b.extend(b);
        }
        for seen in [&mut seen_a, &mut seen_b] {
            seen.sort_by(f32::total_cmp);
            assert_eq!(*seen, (0..40).map(|i| i as f32).collect::<Vec<_>>());
        }
        assert!(paired < 5, "{paired} of 40 places held true pairs");
    }
}
