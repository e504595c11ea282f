//! The trainer: one value that holds a whole run and lives across notebook cells.
//!
//! ```text
//! let mut trainer = Trainer::new(TrainConfig::gan(model), mnist)?;
//! trainer.train(500)?;      // 500 generator steps
//! trainer.train(500)?;      // 500 more: it continues, it does not start over
//! trainer.losses(0.0)?      // the loss curves so far (next cell: trainer.snapshots_gif()?)
//! trainer.reset()?;         // start again from step 0 with the same seed
//! ```
//!
//! The loop itself is short and visible in [`Trainer::step`]: `n_critic` calls of
//! [`update_d`], then one of [`update_g`]. Everything else here is bookkeeping a learner wants:
//! a history of the game's numbers, snapshots of a fixed noise batch, checkpoints.
//!
//! ## Exact resume
//! A run's randomness is a function of `(seed, step)`: every generator step starts by seeding
//! libtorch's generator with a hash of the two, and every epoch's shuffled order is drawn from
//! a hash of `(seed, epoch)`. So the generator state never needs saving: a checkpoint holds
//! the weights, both optimisers' moments, the step counters, the fixed noise, the history and
//! the partly filled history window, and training on from it repeats, bit for bit on a CPU,
//! what the run that never stopped did.

use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tch::{Device, Kind, Tensor, nn};

use super::config::{ModelConfig, TrainConfig};
use super::data::{TrainData, check_data};
use super::history::History;
use super::round::{Round, standard_step};
use super::sample::Statistics;
use super::step::{Discriminator, GanLoss, Generator};
use crate::optim::Optimizer;

/// Training stopped because a loss or a weight stopped being finite (NaN or infinite): the
/// one error whose cure is a smaller learning rate. Find it with `error.downcast_ref`.
#[derive(Debug, Clone)]
pub struct Diverged {
    /// The generator step at which it was seen.
    pub step: usize,
    pub message: String,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diverged {}

/// The generator's output at one step for the fixed noise, on the CPU: images as bytes
/// `[n, C, H, W]`, or points `[n, 2]` as floats for the toy model.
#[derive(Debug)]
pub struct Snapshot {
    pub step: usize,
    pub samples: Tensor,
}

/// A real batch and what conditions it: labels for a cGAN, the input image for Pix2Pix.
pub(crate) struct Real {
    pub(crate) real: Tensor,
    pub(crate) condition: Option<Tensor>,
}

/// Running sums of the step's numbers on the device, emptied into the history every
/// `log_every` steps (one read-back per window instead of one per step).
#[derive(Debug)]
pub(crate) struct Window {
    /// Sums over D updates: loss_d, D(x), D(G(z)) before D's update, ‖∇D‖, Wasserstein estimate.
    pub(crate) d: Tensor,
    /// Sums over G updates: loss_g, D(G(z)) after D's update, ‖∇G‖, L1.
    pub(crate) g: Tensor,
    pub(crate) d_count: usize,
    pub(crate) g_count: usize,
}

impl Window {
    /// The sums read back from the device (one sync): D's, then G's.
    fn read(&self) -> Result<(Vec<f64>, Vec<f64>)> {
        Ok((
            Vec::<f64>::try_from(self.d.to_kind(Kind::Double))?,
            Vec::<f64>::try_from(self.g.to_kind(Kind::Double))?,
        ))
    }

    fn new(device: Device) -> Self {
        Window {
            d: Tensor::zeros([5], (Kind::Float, device)),
            g: Tensor::zeros([4], (Kind::Float, device)),
            d_count: 0,
            g_count: 0,
        }
    }
}

/// A GAN being trained: networks, optimisers, data, history and snapshots.
pub struct Trainer {
    /// The hyperparameters (change them with [`Trainer::reset`] to apply, or set the learning
    /// rates on the fly with [`Trainer::set_lr`]).
    pub config: TrainConfig,
    pub(crate) data: TrainData,
    pub(crate) device: Device,
    /// All weights: `generator.*` and `discriminator.*`.
    pub(crate) vs: nn::VarStore,
    pub(crate) generator: Box<dyn Generator>,
    pub(crate) discriminator: Box<dyn Discriminator>,
    pub(crate) opt_g: Optimizer,
    pub(crate) opt_d: Optimizer,
    /// Generator steps done.
    pub(crate) step: usize,
    /// Discriminator updates done (= real batches drawn).
    pub(crate) d_steps: usize,
    /// The snapshot input: noise `[n_fixed, latent_dim]`, or input images for Pix2Pix.
    pub(crate) fixed: Tensor,
    /// Labels of the fixed noise (`i mod n_classes`) for a conditional model; targets for Pix2Pix.
    pub(crate) fixed_extra: Option<Tensor>,
    pub(crate) history: History,
    pub(crate) snapshots: Vec<Snapshot>,
    pub(crate) window: Window,
    /// The shuffled order of the current epoch: (epoch, order on the device).
    order: Option<(usize, Tensor)>,
    /// Seconds spent in `train` (all calls, across resumes).
    pub(crate) seconds: f64,
    /// The model and loss the networks were built for (to catch an edit without `reset`).
    built: (ModelConfig, GanLoss),
    /// Which batch-norm statistics `sample`, `generate_from` and `translate` use (not the
    /// training step, nor the snapshots): [`Statistics::Batch`] unless you set it.
    pub statistics: Statistics,
    /// No progress lines whatever the config says (set while `run::drive` shows its own).
    pub(crate) silent: bool,
    /// The step of the last progress line printed (a call's closing line repeats no point).
    printed_step: usize,
    /// With `config.ema`: the moving average of G's weights, which sampling uses.
    pub(crate) ema: Option<Ema>,
    /// With `config.ema`: whether samples, snapshots and scores come from the moving average
    /// (`true`, the default) or from G itself (`false`, to compare the two on one run).
    pub sample_average: bool,
}

/// An exponential moving average of G's weights (Yazıcı et al., 2019): a second generator,
/// in its own VarStore, whose every weight follows G's as `ema ← β_t·ema + (1 − β_t)·G` after
/// step t, with the usual warm-up `β_t = min(β, (1 + t) / (10 + t))` (TensorFlow's
/// `ExponentialMovingAverage` with `num_updates`), so that the starting weights do not linger
/// in a short run. Batch norm's running statistics are copied, not averaged.
pub(crate) struct Ema {
    pub(crate) vs: nn::VarStore,
    pub(crate) generator: Box<dyn Generator>,
    /// (the average, G's own weight), in name order.
    pairs: Vec<(Tensor, Tensor)>,
}

impl Ema {
    /// A copy of the generator of `vs`, built from `config` in a VarStore of its own (the
    /// model builds a D beside it, small and never used: models build their networks as a pair).
    fn new(config: &TrainConfig, vs: &nn::VarStore, device: Device) -> Result<Self> {
        let ema_vs = nn::VarStore::new(device);
        let networks = config.model.model().build(&ema_vs)?;
        if config.channels_last {
            crate::models::to_channels_last(&ema_vs);
        }
        let live = vs.variables();
        let mut names: Vec<(String, Tensor)> = ema_vs
            .variables()
            .into_iter()
            .filter(|(name, _)| name.starts_with("generator."))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let mut pairs = Vec::new();
        for (name, mut average) in names {
            let own = live
                .get(&name)
                .with_context(|| format!("the average has `{name}`, G has not"))?;
            tch::no_grad(|| average.copy_(own));
            // The average is never trained.
            let _ = average.set_requires_grad(false);
            pairs.push((average, own.shallow_clone()));
        }
        Ok(Ema {
            vs: ema_vs,
            generator: networks.generator,
            pairs,
        })
    }

    /// The decay used after step `step` (0 for the first) for a target decay `beta`.
    pub(crate) fn decay(beta: f64, step: usize) -> f64 {
        beta.min((1.0 + step as f64) / (10.0 + step as f64))
    }

    /// One step of the average after step `step`, towards a decay of `beta`.
    fn update(&mut self, beta: f64, step: usize) {
        let beta = Self::decay(beta, step);
        tch::no_grad(|| {
            for (average, own) in &mut self.pairs {
                if own.requires_grad() {
                    let _ = average.lerp_(&*own, 1.0 - beta);
                } else {
                    average.copy_(own);
                }
            }
        });
    }

    /// The average's weights by name (`generator.…`), as a checkpoint stores them.
    pub(crate) fn variables(&self) -> Vec<(String, Tensor)> {
        let mut all: Vec<(String, Tensor)> = self
            .vs
            .variables()
            .into_iter()
            .filter(|(name, _)| name.starts_with("generator."))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Trainer {{ model: {}, data: {}, step: {}, device: {:?} }}",
            self.config.model.name(),
            self.data.info().name,
            self.step,
            self.device
        )
    }
}

/// SplitMix64: a well-mixed 64-bit hash, to derive per-step and per-epoch seeds from the
/// run's seed (neighbouring steps get unrelated seeds).
pub(crate) fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Streams of randomness, so that the weights, the fixed noise, the steps and the shuffling
/// never share a seed.
const INIT: u64 = 1;
const STEP: u64 = 2;
const SHUFFLE: u64 = 3;
const FIXED: u64 = 4;
const JITTER: u64 = 5;

fn torch_seed(seed: u64) {
    // libtorch takes a signed seed; keep 63 bits.
    tch::manual_seed((seed >> 1) as i64);
}

impl Trainer {
    /// A new run at step 0: networks built and initialised from `config.seed`, on the device
    /// the data lives on.
    pub fn new(config: TrainConfig, data: impl Into<TrainData>) -> Result<Self> {
        let data = data.into();
        config.validate()?;
        check_data(&config, &data)?;
        let device = data.device();
        let parts = build(&config, &data, device)?;
        let (config_model, config_loss) = (config.model.clone(), config.loss);
        Ok(Trainer {
            window: Window::new(device),
            config,
            data,
            device,
            vs: parts.vs,
            generator: parts.generator,
            discriminator: parts.discriminator,
            opt_g: parts.opt_g,
            opt_d: parts.opt_d,
            step: 0,
            d_steps: 0,
            fixed: parts.fixed,
            fixed_extra: parts.fixed_extra,
            history: History::default(),
            snapshots: Vec::new(),
            order: None,
            seconds: 0.0,
            statistics: Statistics::Batch,
            built: (config_model, config_loss),
            silent: false,
            printed_step: 0,
            ema: parts.ema,
            sample_average: true,
        })
    }

    /// Starts over from step 0 with `self.config` (edit it first to change hyperparameters):
    /// new weights from the seed, empty history and snapshots.
    pub fn reset(&mut self) -> Result<()> {
        self.config.validate()?;
        check_data(&self.config, &self.data)?;
        let parts = build(&self.config, &self.data, self.device)?;
        self.vs = parts.vs;
        self.generator = parts.generator;
        self.discriminator = parts.discriminator;
        self.opt_g = parts.opt_g;
        self.opt_d = parts.opt_d;
        self.ema = parts.ema;
        self.fixed = parts.fixed;
        self.fixed_extra = parts.fixed_extra;
        self.step = 0;
        self.d_steps = 0;
        self.printed_step = 0;
        self.history = History::default();
        self.snapshots.clear();
        self.window = Window::new(self.device);
        self.order = None;
        self.seconds = 0.0;
        self.built = (self.config.model.clone(), self.config.loss);
        Ok(())
    }

    /// The hyperparameters of this run.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Generator steps trained so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The recorded numbers of the game.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The fixed-noise snapshots so far.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// The training data.
    pub fn data(&self) -> &TrainData {
        &self.data
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Every weight of both networks by name (`generator.fc1.weight`, …), sorted by name;
    /// batch norm's running statistics included. The tensors share memory with the model.
    pub fn variables(&self) -> Vec<(String, Tensor)> {
        let mut variables: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        variables
    }

    /// Trainable parameters of (generator, discriminator).
    pub fn parameter_counts(&self) -> (i64, i64) {
        let count = |prefix: &str| -> i64 {
            self.variables()
                .iter()
                .filter(|(n, t)| n.starts_with(prefix) && t.requires_grad())
                .map(|(_, t)| t.numel() as i64)
                .sum()
        };
        (count("generator."), count("discriminator."))
    }

    /// One line on what this trainer holds: model, game, data, sizes, device, step.
    pub fn summary(&self) -> String {
        let (g, d) = self.parameter_counts();
        let info = self.data.info();
        let data = if self.config.model.makes_points() {
            info.name
        } else {
            format!(
                "{} ({} × {:?})",
                info.name,
                thousands(info.len as i64),
                info.shape
            )
        };
        let device = match self.device {
            Device::Cuda(i) => format!("CUDA:{i}"),
            _ => "CPU".to_string(),
        };
        format!(
            "{} · {} · {data} · G {} parameters, D {} · batch {} · {device} · step {}",
            self.config.model.name(),
            self.config.loss.describe(),
            thousands(g),
            thousands(d),
            self.config.batch_size,
            self.step
        )
    }

    /// The two networks' shapes for a batch of 2: layer by layer where the model can say (the
    /// DCGAN), input and output otherwise. Runs both in evaluation mode without gradients, so
    /// nothing about the run changes.
    pub fn layers(&self) -> Result<String> {
        let model = self.config.model.model();
        let two = |shape: Vec<i64>| [vec![2], shape].concat();
        let (input, labels) = match model.latent_dim() {
            Some(latent_dim) => (
                Tensor::randn([2, latent_dim], (Kind::Float, self.device)),
                (model.n_classes() > 0).then(|| Tensor::zeros([2], (Kind::Int64, self.device))),
            ),
            None => {
                let shape = model
                    .input_shape()
                    .context("a model without noise takes an input")?;
                (Tensor::zeros(two(shape), (Kind::Float, self.device)), None)
            }
        };
        let (output, scores) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
            let output = self.generator.generate(&input, labels.as_ref(), false);
            let condition = if model.latent_dim().is_some() {
                labels.as_ref()
            } else {
                Some(&input)
            };
            let scores = self.discriminator.score(&output, condition, false)?;
            Ok((output, scores))
        })?;
        let (g, d) = self.parameter_counts();
        let g_layers = self
            .generator
            .layers()
            .unwrap_or_else(|| format!("input {:?} → output {:?}", input.size(), output.size()));
        let d_layers = self.discriminator.layers().unwrap_or_else(|| {
            format!("candidate {:?} → scores {:?}", output.size(), scores.size())
        });
        Ok(format!(
            "G ({} parameters)\n{g_layers}\n\nD ({} parameters)\n{d_layers}",
            thousands(g),
            thousands(d)
        ))
    }

    /// Seconds spent training so far.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// Changes `lr_g` and `lr_d` from now on (the optimisers keep their moments). A value that
    /// is not a learning rate (0, negative, NaN, above 1) is refused and nothing changes.
    pub fn set_lr(&mut self, lr_g: f64, lr_d: f64) -> Result<()> {
        let config = self.config.clone().lr(lr_g, lr_d);
        config.validate()?;
        self.config = config;
        self.opt_g.set_lr(lr_g);
        self.opt_d.set_lr(lr_d);
        Ok(())
    }

    /// Trains for `steps` more generator steps (each after `n_critic` discriminator steps) with
    /// the crate's step, [`standard_step`]. Prints a line of progress about every
    /// `print_seconds` (and every `print_every` steps if set). Stops with an error naming the
    /// step if a loss becomes NaN or infinite.
    pub fn train(&mut self, steps: usize) -> Result<()> {
        self.train_with(steps, standard_step)
    }

    /// Trains for `steps` more generator steps with your own step function (see
    /// [`Round`](super::Round)): everything else is what [`Trainer::train`] does, the same
    /// seeding, batches, history, snapshots, progress and checkpoints.
    pub fn train_with(
        &mut self,
        steps: usize,
        mut step: impl FnMut(&mut Round) -> Result<()>,
    ) -> Result<()> {
        // `config` is a public field: changes other than the learning rates need reset().
        self.config.validate()?;
        ensure!(
            self.config.model == self.built.0
                && self.config.loss == self.built.1
                && self.config.ema.is_some() == self.ema.is_some(),
            "trainer.config.model, .loss or .ema was switched after the networks were built: \
             call trainer.reset()? to rebuild them with the new settings (from step 0)"
        );
        let start = Instant::now();
        let (first, target) = (self.step, self.step + steps);
        let mut printed: Option<Instant> = None;
        let live = self.config.print_seconds > 0.0 && !self.silent;
        if self.step == 0 && self.snapshots.is_empty() && self.config.snapshot_every > 0 {
            self.snapshot()?;
        }
        let result = (|| -> Result<()> {
            for _ in 0..steps {
                self.play(&mut step)?;
                if self.step.is_multiple_of(self.config.log_every) {
                    self.record()?;
                    let every = self.config.print_every;
                    let since = printed.unwrap_or(start).elapsed().as_secs_f64();
                    if (every > 0 && self.step.is_multiple_of(every) && !self.silent)
                        || (live && since >= self.config.print_seconds)
                    {
                        let rate = (self.step - first) as f64 / start.elapsed().as_secs_f64();
                        println!("{}", self.progress(rate, target - self.step));
                        printed = Some(Instant::now());
                        self.printed_step = self.step;
                    }
                }
                if self.config.snapshot_every > 0
                    && self.step.is_multiple_of(self.config.snapshot_every)
                {
                    self.snapshot()?;
                }
            }
            Ok(())
        })();
        self.seconds += start.elapsed().as_secs_f64();
        result?;
        self.check_window()?;
        // The closing line, when the history has a point no line showed yet.
        let newest = self.history.step.last().copied().unwrap_or(0);
        if live && newest > self.printed_step {
            let rate = steps as f64 / start.elapsed().as_secs_f64().max(1e-9);
            println!("{}", self.progress(rate, 0));
            self.printed_step = newest;
        }
        Ok(())
    }

    /// One line: step, the latest history point, speed. (See [`Trainer::progress`] for the
    /// line with time left and the recent trend.)
    pub fn progress_line(&self, steps_per_second: f64) -> String {
        let h = &self.history;
        let last = |v: &Vec<f64>| v.last().copied().unwrap_or(f64::NAN);
        let mut line = format!(
            "step {:>6} | loss_d {:7.4} loss_g {:7.4}",
            self.step,
            last(&h.loss_d),
            last(&h.loss_g)
        );
        if !self.config.adversarial {
            line = format!("step {:>6} | loss_g {:7.4}", self.step, last(&h.loss_g));
        } else if self.config.loss.is_wasserstein() {
            line += &format!(" | W estimate {:7.4}", last(&h.wasserstein));
        } else {
            line += &format!(
                " | D(x) {:.3} D(G(z)) {:.3}",
                last(&h.d_real),
                last(&h.d_fake)
            );
        }
        if !h.l1.is_empty() {
            line += &format!(" | L1 {:.4}", last(&h.l1));
        }
        format!("{line} | {steps_per_second:.1} steps/s")
    }

    /// The live line: [`Trainer::progress_line`], the time the `remaining` steps will take at
    /// this speed, and sparklines of the last 16 history points of loss_d and loss_g (each
    /// scaled to its own range: the shape, not the level).
    pub fn progress(&self, steps_per_second: f64, remaining: usize) -> String {
        let mut line = self.progress_line(steps_per_second);
        if remaining > 0 && steps_per_second > 0.0 {
            line += &format!(", {} left", duration(remaining as f64 / steps_per_second));
        }
        let h = &self.history;
        let recent = |v: &[f64]| v[v.len().saturating_sub(16)..].to_vec();
        line += " |";
        if self.config.adversarial {
            line += &format!(" d {}", sparkline(&recent(&h.loss_d)));
        }
        line + &format!(" g {}", sparkline(&recent(&h.loss_g)))
    }

    /// One round of the game with the crate's step: `n_critic` discriminator updates, then one
    /// generator update (see [`standard_step`]).
    pub fn step(&mut self) -> Result<()> {
        self.play(&mut standard_step)
    }

    /// Seeds this step's random stream, runs `step` on a [`Round`], checks that it reported
    /// its updates, and counts the step.
    fn play(&mut self, step: &mut impl FnMut(&mut Round) -> Result<()>) -> Result<()> {
        torch_seed(mix(self.config.seed, STEP, self.step as u64));
        let mut round = Round {
            trainer: self,
            d_logged: 0,
            g_logged: 0,
        };
        step(&mut round)?;
        round.check_reports()?;
        if let (Some(beta), Some(ema)) = (self.config.ema, self.ema.as_mut()) {
            ema.update(beta, self.step);
        }
        self.step += 1;
        Ok(())
    }

    /// The next real batch: drawn from the toy mixture, or the next slice of this epoch's
    /// shuffled order (the order of epoch e comes from `(seed, e)`; the incomplete last
    /// batch is dropped).
    pub(crate) fn next_batch(&mut self) -> Result<Real> {
        let b = self.config.batch_size;
        if let TrainData::Absent { info, .. } = &self.data {
            bail!(
                "this trainer was loaded without its data (to sample or score), so it cannot \
                 train: load it with Trainer::load(dir, data), data being {}",
                info.name
            );
        }
        if let TrainData::Toy(toy) = &self.data {
            return Ok(Real {
                real: toy.sample(b),
                condition: None,
            });
        }
        let n = self.data.len();
        let per_epoch = n / b;
        ensure!(
            per_epoch > 0,
            "batch_size {b} is larger than the data ({n} examples)"
        );
        let (epoch, position) = (self.d_steps / per_epoch, self.d_steps % per_epoch);
        if self.order.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let mut rng = StdRng::seed_from_u64(mix(self.config.seed, SHUFFLE, epoch as u64));
            let mut order: Vec<i64> = (0..n as i64).collect();
            order.shuffle(&mut rng);
            self.order = Some((epoch, Tensor::from_slice(&order).to_device(self.device)));
        }
        let order = &self.order.as_ref().context("no epoch order")?.1;
        let index = order.narrow(0, (position * b) as i64, b as i64);
        self.d_steps += 1;
        let conditional = self.config.model.n_classes() > 0;
        Ok(match &self.data {
            TrainData::Images(d) => Real {
                real: d.images.index_select(0, &index),
                condition: match (&d.labels, conditional) {
                    (Some(labels), true) => Some(labels.index_select(0, &index)),
                    _ => None,
                },
            },
            TrainData::Pairs(p) => {
                let (input, target) = p.select(&index);
                let (input, target) = if self.config.jitter {
                    let batch = self.d_steps as u64 - 1;
                    let mut rng = StdRng::seed_from_u64(mix(self.config.seed, JITTER, batch));
                    crate::data::paired::jitter(&input, &target, &mut rng)?
                } else {
                    (input, target)
                };
                Real {
                    real: target,
                    condition: Some(input),
                }
            }
            TrainData::Toy(_) | TrainData::Absent { .. } => bail!("handled above"),
        })
    }

    /// Reads the window's sums back (one device sync), appends their means to the history,
    /// and stops on a NaN or infinite value.
    fn record(&mut self) -> Result<()> {
        let (d, g) = self.window.read()?;
        let (dn, gn) = (
            self.window.d_count.max(1) as f64,
            self.window.g_count.max(1) as f64,
        );
        let wasserstein = self.config.loss.is_wasserstein();
        let pix2pix = self.config.model.model().reconstructs();
        self.history.push(
            self.step,
            [d[0] / dn, g[0] / gn, d[1] / dn, d[2] / dn, g[1] / gn],
            (d[3] / dn, g[2] / gn),
            wasserstein.then_some(d[4] / dn),
            pix2pix.then_some(g[3] / gn),
        );
        self.window = Window::new(self.device);
        if let Some((name, value)) = self.history.last_non_finite() {
            return Err(self.diverged(name, value).into());
        }
        Ok(())
    }

    /// The error for a loss or weight that stopped being finite at the current step.
    fn diverged(&self, name: &str, value: f64) -> Diverged {
        Diverged {
            step: self.step,
            message: format!(
                "training diverged at step {}: {name} became {value}. Likely causes: a learning \
                 rate too high (lr_g = {}, lr_d = {}), a critic without clipping or penalty, or \
                 a loss that took log(0). Lower the learning rates and call reset(), or load the \
                 last checkpoint.",
                self.step,
                super::config::lr_of(self.config.opt_g),
                super::config::lr_of(self.config.opt_d)
            ),
        }
    }

    /// Checks the steps trained since the last history point (a `train(n)` whose `n` is not a
    /// multiple of `log_every` ends between two): their summed losses must be finite. The
    /// window stays as it is, so the history is the same however the steps were split.
    fn check_window(&self) -> Result<()> {
        if self.window.d_count + self.window.g_count == 0 {
            return Ok(());
        }
        let (d, g) = self.window.read()?;
        let names = ["loss_d", "D(x)", "D(G(z))", "‖∇D‖", "W estimate"];
        let g_names = ["loss_g", "D(G(z)) after D's step", "‖∇G‖", "L1"];
        let all = names.iter().zip(&d).chain(g_names.iter().zip(&g));
        for (name, value) in all {
            if !value.is_finite() {
                return Err(self.diverged(name, *value).into());
            }
        }
        Ok(())
    }

    /// Every weight of both networks is finite; an error naming the first that is not.
    /// [`Trainer::save`] calls it, so a diverged state is never written over a good checkpoint.
    pub fn check_finite(&self) -> Result<()> {
        let variables: Vec<(String, Tensor)> = self
            .variables()
            .into_iter()
            .filter(|(_, v)| v.is_floating_point())
            .collect();
        // One read-back for all of them; the name is looked for only when one is not finite.
        let each: Vec<Tensor> = variables.iter().map(|(_, v)| v.isfinite().all()).collect();
        if each.is_empty() || bool::try_from(Tensor::stack(&each, 0).all())? {
            return Ok(());
        }
        for ((name, _), finite) in variables.iter().zip(&each) {
            if !bool::try_from(finite)? {
                return Err(self
                    .diverged(&format!("the weight {name}"), f64::NAN)
                    .into());
            }
        }
        Ok(())
    }

    /// Generates from the fixed input and keeps it, on the CPU, as a snapshot.
    fn snapshot(&mut self) -> Result<()> {
        let samples = self.fixed_samples()?;
        let samples = if self.config.model.makes_points() {
            samples.to_device(Device::Cpu)
        } else {
            // Bytes on the CPU: a quarter of the memory of floats.
            crate::viz::to_u8(&samples)
        };
        self.snapshots.push(Snapshot {
            step: self.step,
            samples,
        });
        Ok(())
    }

    /// The generator's output for the fixed noise (or fixed input images), on the device:
    /// the moving average's when `config.ema` is set.
    pub fn fixed_samples(&self) -> Result<Tensor> {
        let generator = self.sampler();
        Ok(tch::no_grad(|| match self.config.model.latent_dim() {
            Some(_) => generator.generate(&self.fixed, self.fixed_labels(), true),
            None => generator.generate(&self.fixed, None, true),
        }))
    }

    /// The generator that makes samples: the moving average of G's weights when `config.ema`
    /// is set (and [`Trainer::sample_average`] is on), G itself otherwise. Training always
    /// uses G.
    pub fn sampler(&self) -> &dyn Generator {
        match &self.ema {
            Some(ema) if self.sample_average => &*ema.generator,
            _ => &*self.generator,
        }
    }

    /// Labels of the fixed noise, for a conditional model.
    pub(crate) fn fixed_labels(&self) -> Option<&Tensor> {
        // For a model that translates, the extra fixed tensor holds the targets, not labels.
        match self.config.model.latent_dim() {
            None => None,
            Some(_) => self.fixed_extra.as_ref(),
        }
    }
}

/// 1510032 → "1,510,032".
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "42 s", "3 min 5 s", "1 h 02 min".
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// The values as a row of block characters, lowest ▁ to highest █ (flat: all ▄).
pub(crate) fn sparkline(values: &[f64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                '!'
            } else if hi - lo < 1e-12 {
                BLOCKS[3]
            } else {
                BLOCKS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// Bytes back to images in [−1, 1].
pub(crate) fn from_bytes(bytes: &Tensor) -> Tensor {
    bytes.to_kind(Kind::Float) / 127.5 - 1.0
}

/// Freshly initialised networks, optimisers and fixed input for a config.
struct Parts {
    vs: nn::VarStore,
    generator: Box<dyn Generator>,
    discriminator: Box<dyn Discriminator>,
    opt_g: Optimizer,
    opt_d: Optimizer,
    fixed: Tensor,
    fixed_extra: Option<Tensor>,
    ema: Option<Ema>,
}

fn build(config: &TrainConfig, data: &TrainData, device: Device) -> Result<Parts> {
    torch_seed(mix(config.seed, INIT, 0));
    let vs = nn::VarStore::new(device);
    let networks = config.model.model().build(&vs)?;
    if config.channels_last {
        crate::models::to_channels_last(&vs);
    }
    let opt_g = Optimizer::new(config.opt_g, &vs, "generator");
    let opt_d = Optimizer::new(config.opt_d, &vs, "discriminator");
    // After G and D are drawn, so that switching the average on changes neither.
    let ema = match config.ema {
        Some(_) => Some(Ema::new(config, &vs, device)?),
        None => None,
    };

    torch_seed(mix(config.seed, FIXED, 0));
    let n = config.n_fixed;
    let (fixed, fixed_extra) = match (config.model.latent_dim(), data) {
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
    Ok(Parts {
        vs,
        generator: networks.generator,
        discriminator: networks.discriminator,
        opt_g,
        opt_d,
        fixed,
        fixed_extra,
        ema,
    })
}

impl GanLoss {
    /// A short description for titles.
    pub fn describe(self) -> String {
        match self {
            GanLoss::Minimax => "minimax (saturating)".into(),
            GanLoss::NonSaturating => "non-saturating".into(),
            GanLoss::Wasserstein => "Wasserstein, clipped".into(),
            GanLoss::WassersteinGp { lambda } => format!("Wasserstein, GP λ = {lambda}"),
            GanLoss::Hinge => "hinge".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::models::mlp::MlpConfig;
    use crate::models::patchgan::PatchGanConfig;
    use crate::models::unet::UnetConfig;

    fn mlp_trainer() -> Trainer {
        let data = Dataset {
            name: "noise".into(),
            images: Tensor::rand([64, 1, 28, 28], (Kind::Float, Device::Cpu)) * 2.0 - 1.0,
            labels: None,
            class_names: vec![],
        };
        let config = TrainConfig::gan(ModelConfig::Mlp(MlpConfig::default()))
            .batch_size(16)
            .quiet();
        let mut trainer = Trainer::new(config, data).unwrap();
        trainer.train(3).unwrap();
        trainer
    }

    /// With `ema = β` the average's weights are `β_t·average + (1 − β_t)·G` after step t (β_t
    /// warming up to β; batch norm's statistics copied), and samples come from it unless
    /// `sample_average` is off. (That G trains the same with and without the average is checked
    /// in tests/determinism.rs, which holds the process's random generator alone.)
    #[test]
    fn the_moving_average_follows_g_and_makes_the_samples() {
        use crate::models::dcgan::DcganConfig;
        let data = Dataset {
            name: "noise".into(),
            images: Tensor::ones([32, 1, 28, 28], (Kind::Float, Device::Cpu)) * 0.5,
            labels: None,
            class_names: vec![],
        };
        let model = DcganConfig {
            width: 4,
            ..DcganConfig::mnist()
        };
        let config = TrainConfig::gan(model)
            .batch_size(8)
            .quiet()
            .ema(Some(0.75));
        let mut averaged = Trainer::new(config, data).unwrap();
        let weight = |t: &Trainer| t.vs.variables()["generator.deconv1.weight"].copy();
        let average = |t: &Trainer| {
            let all = t.ema.as_ref().unwrap().variables();
            let find = |n: &str| all.iter().find(|(name, _)| name == n).unwrap().1.copy();
            (
                find("generator.deconv1.weight"),
                find("generator.bn1.running_mean"),
            )
        };
        assert!(
            average(&averaged).0.equal(&weight(&averaged)),
            "starts as G"
        );
        let mut expected = weight(&averaged);
        for t in 0..3 {
            averaged.train(1).unwrap();
            let beta = [0.1, 2.0 / 11.0, 0.25][t]; // (1 + t) / (10 + t), below 0.75
            assert_eq!(Ema::decay(0.75, t), beta);
            expected = &expected * beta + weight(&averaged) * (1.0 - beta);
            let (w, running) = average(&averaged);
            let gap = (&w - &expected).abs().max().double_value(&[]);
            assert!(gap < 1e-6, "the average is off by {gap}");
            assert!(running.equal(&averaged.vs.variables()["generator.bn1.running_mean"]));
        }
        assert_eq!(Ema::decay(0.75, 100), 0.75, "the warm-up ends");
        // The samples are the average's; with sample_average off, G's own.
        let own = || tch::no_grad(|| averaged.generator.generate(&averaged.fixed, None, true));
        let from_g = own();
        assert!(!averaged.fixed_samples().unwrap().equal(&from_g));
        averaged.sample_average = false;
        assert!(averaged.fixed_samples().unwrap().equal(&own()));
    }

    /// The live line's parts: sparklines scale each series to its own range, times read as
    /// a person says them, counts get thousands separators, and the line names time left.
    #[test]
    fn the_live_line_reads_at_a_glance() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 8.0]), "▁▂▃█");
        assert_eq!(sparkline(&[0.5, 0.5]), "▄▄");
        assert_eq!(sparkline(&[0.0, f64::NAN, 1.0]), "▁!█");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        assert_eq!(duration(3720.0), "1 h 02 min");
        assert_eq!(thousands(1_510_032), "1,510,032");
        assert_eq!(thousands(-999), "-999");
        let trainer = mlp_trainer();
        let line = trainer.progress(10.0, 50);
        assert!(line.contains("5 s left") && line.contains(" g "), "{line}");
        let summary = trainer.summary();
        assert!(
            summary.contains("noise (64 × [1, 28, 28])") && summary.contains("step 3"),
            "{summary}"
        );
    }

    /// `layers` prints both networks without changing the run: layer by layer for the DCGAN,
    /// input → output for the others.
    #[test]
    fn layers_show_shapes_and_change_nothing() {
        let mut trainer = mlp_trainer();
        let before = trainer.variables();
        let text = trainer.layers().unwrap();
        assert!(
            text.contains("input [2, 100] → output [2, 1, 28, 28]"),
            "{text}"
        );
        assert!(text.contains("scores [2"), "{text}");
        for ((name, a), (_, b)) in before.iter().zip(trainer.variables()) {
            assert!(a.equal(&b), "{name} changed");
        }
        trainer.config.model = ModelConfig::Dcgan(crate::models::dcgan::DcganConfig {
            image_size: 28,
            channels: 1,
            width: 4,
            ..Default::default()
        });
        trainer.reset().unwrap();
        let text = trainer.layers().unwrap();
        assert!(
            text.contains("deconv3 tanh") && text.contains("conv3 → score"),
            "{text}"
        );
    }

    /// `recent` averages the points of the last n steps only.
    #[test]
    fn recent_means_cover_the_last_steps() {
        let mut h = History::default();
        for (step, v) in [(10, 1.0), (20, 2.0), (30, 4.0)] {
            h.push(step, [v; 5], (v, v), None, None);
        }
        assert_eq!(h.recent(&h.loss_d, 10), 4.0);
        assert_eq!(h.recent(&h.loss_d, 20), 3.0);
        assert_eq!(h.recent(&h.loss_d, 1000), 7.0 / 3.0);
        assert_eq!(h.around(&h.loss_d, 19, 5), 2.0);
        assert_eq!(h.around(&h.loss_d, 25, 5), 3.0);
        assert!(h.around(&h.loss_d, 100, 5).is_nan());
        assert!(History::default().recent(&[], 10).is_nan());
    }

    /// One noise vector has no batch statistics: batch norm would give every z the same
    /// picture, so `sample(1)` uses the running ones; `Statistics::Running` uses them always.
    #[test]
    fn one_sample_depends_on_its_noise_and_running_statistics_are_an_option() {
        let mut trainer = mlp_trainer();
        let (a, b) = (trainer.sample(1).unwrap(), trainer.sample(1).unwrap());
        assert!(
            !a.equal(&b),
            "two single samples from different z are different"
        );
        let z = Tensor::randn([4, 100], (Kind::Float, Device::Cpu));
        let batch = trainer.generate_from(&z, None).unwrap();
        trainer.statistics = Statistics::Running;
        let running = trainer.generate_from(&z, None).unwrap();
        assert!(!batch.allclose(&running, 1e-4, 1e-4, false));
        // With running statistics, a sample is the same alone or in a batch.
        let alone = trainer.generate_from(&z.narrow(0, 0, 1), None).unwrap();
        assert!(alone.allclose(&running.narrow(0, 0, 1), 1e-5, 1e-5, false));
    }

    #[test]
    fn learning_rates_and_edits_that_do_not_fit_change_nothing() {
        let mut trainer = mlp_trainer();
        let before = trainer.config.clone();
        for lr in [0.0, -1e-4, f64::NAN, f64::INFINITY, 1e9] {
            let err = trainer.set_lr(lr, lr).unwrap_err().to_string();
            assert!(err.contains("lr_g"), "{err}");
            assert_eq!(trainer.config, before, "{lr}");
        }
        trainer.set_lr(1e-4, 1e-4).unwrap();
        assert_eq!(crate::train::lr_of(trainer.config.opt_g), 1e-4);
        // An edit of the model without reset() is refused by name, not by a shape panic.
        trainer.config.model = ModelConfig::Mlp(MlpConfig {
            latent_dim: 64,
            ..MlpConfig::default()
        });
        let err = trainer.train(1).unwrap_err().to_string();
        assert!(err.contains("reset()"), "{err}");
        trainer.reset().unwrap();
        trainer.train(1).unwrap();
        // Wrong shapes for the public sampling functions are errors, not panics.
        assert!(
            trainer
                .generate_from(&Tensor::zeros([0, 64], (Kind::Float, Device::Cpu)), None)
                .is_err()
        );
        assert!(
            trainer
                .interpolation(0, 5, crate::train::Interpolation::Slerp)
                .is_err()
        );
        assert!(trainer.snapshot_rows(0, 4).is_err());
    }

    /// Labels and hand-made datasets of the wrong kind are errors that say what to give, not
    /// libtorch panics in `one_hot` or `index_select`.
    #[test]
    fn labels_of_the_wrong_kind_or_range_are_explained() {
        let cpu = (Kind::Float, Device::Cpu);
        let labelled = |labels: Tensor| Dataset {
            name: "three".into(),
            images: Tensor::rand([12, 1, 28, 28], cpu) * 2.0 - 1.0,
            labels: Some(labels),
            class_names: vec!["a".into(), "b".into(), "c".into()],
        };
        let config = TrainConfig::gan(ModelConfig::Mlp(MlpConfig {
            n_classes: 3,
            ..MlpConfig::default()
        }))
        .batch_size(4)
        .quiet();
        let good = Tensor::arange(12, (Kind::Int64, Device::Cpu)).remainder(3);
        for (labels, said) in [
            (good.to_kind(Kind::Int), "must be int64"),
            (good.narrow(0, 0, 6), "must be int64 [12]"),
            (&good + 1, "must lie in 0..3"),
        ] {
            let err = Trainer::new(config.clone(), labelled(labels))
                .unwrap_err()
                .to_string();
            assert!(err.contains(said), "{err}");
        }
        let bytes = Dataset {
            images: Tensor::zeros([12, 1, 28, 28], (Kind::Uint8, Device::Cpu)),
            ..labelled(good.shallow_clone())
        };
        let err = Trainer::new(config.clone(), bytes).unwrap_err().to_string();
        assert!(err.contains("must be floats"), "{err}");

        let trainer = Trainer::new(config, labelled(good)).unwrap();
        let z = Tensor::randn([2, 100], cpu);
        let int32 = Tensor::from_slice(&[0i32, 2]);
        assert!(
            trainer.generate_from(&z, Some(&int32)).is_ok(),
            "int32 class numbers are fine"
        );
        for (labels, said) in [
            (Tensor::from_slice(&[0i64, 3]), "must lie in 0..3"),
            (Tensor::from_slice(&[0.0f32, 1.0]), "must be class numbers"),
            (Tensor::from_slice(&[0i64, 1, 2]), "one class per row of z"),
        ] {
            let err = trainer
                .generate_from(&z, Some(&labels))
                .unwrap_err()
                .to_string();
            assert!(err.contains(said), "{err}");
        }
    }

    #[test]
    fn a_patchgan_that_cannot_read_the_pairs_is_refused() {
        let unet = UnetConfig {
            image_size: 64,
            in_channels: 1,
            out_channels: 3,
            width: 8,
            dropout: 0.5,
            ..Default::default()
        };
        let config = TrainConfig::pix2pix(unet, PatchGanConfig::default()); // 6 channels
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("in_channels to 4"), "{err}");
    }
}
